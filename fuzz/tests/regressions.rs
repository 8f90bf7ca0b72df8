//! Runs every saved crash input (`regressions/<target>/*`) and every seed (`corpus/<target>/*`)
//! through the same check function its fuzz target uses, without libFuzzer:
//! `cargo test --manifest-path fuzz/Cargo.toml`.
//!
//! A regression file stays here after its bug is fixed; the test then passes. One test per
//! target so a failure names it; each test reports every failing file, not just the first.

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else { return vec![] };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    v.sort();
    v
}

fn run(target: &str) {
    let check = sfu_fuzz::TARGETS.iter().find(|(n, _)| *n == target).expect("known target").1;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failed = vec![];
    let mut count = 0;
    for kind in ["regressions", "corpus"] {
        for f in files(&root.join(kind).join(target)) {
            let data = std::fs::read(&f).unwrap();
            count += 1;
            if let Err(p) = std::panic::catch_unwind(|| check(&data)) {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failed.push(format!("{}: {msg}", f.strip_prefix(root).unwrap_or(&f).display()));
            }
        }
    }
    assert!(failed.is_empty(), "{target}: {} of {count} inputs fail:\n{}", failed.len(), failed.join("\n"));
}

#[test]
fn rtp_packet() {
    run("rtp_packet");
}
#[test]
fn rtcp_compound() {
    run("rtcp_compound");
}
#[test]
fn payload_descriptors() {
    run("payload_descriptors");
}
#[test]
fn rtx() {
    run("rtx");
}
#[test]
fn twcc() {
    run("twcc");
}
#[test]
fn nack_generator() {
    run("nack_generator");
}
#[test]
fn ortc_json() {
    run("ortc_json");
}
#[test]
fn engine_datagrams() {
    run("engine_datagrams");
}
#[test]
fn webrtc_datagrams() {
    run("webrtc_datagrams");
}
#[test]
fn sctp_packets() {
    run("sctp_packets");
}
#[test]
fn tcp_framing() {
    run("tcp_framing");
}
#[test]
fn c_face_json() {
    run("c_face_json");
}
#[test]
fn layer_sequences() {
    run("layer_sequences");
}
#[test]
fn dtls_handshake() {
    run("dtls_handshake");
}
