//! Writes the seed corpus `fuzz/corpus/<target>/<name>`: real-looking packets (Chrome-like RTP
//! with one-byte header extensions, RTX, RTCP SR+SDES, RR, PLI, FIR, NACK, transport-cc
//! feedback, REMB, VP8/VP9/H264 payloads) and the ORTC JSON of core/testdata.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example make-seeds` (deterministic; rerun after
//! changing it and commit the result).

use std::path::{Path, PathBuf};

use serde_json::Value;
use sfu_core::rtp::nack::write_nack;
use sfu_core::rtp::rtcp::{write_fir, write_pli, write_sr};
use sfu_core::rtp::twcc::{write_remb, TwccRecorder};

const AUDIO_SSRC: u32 = 2_991_000_373;
const VP8_SSRCS: [u32; 3] = [0x2222_0001, 0x2222_0002, 0x2222_0003];
const VP8_RTX_SSRC: u32 = 0x2222_1001;
const H264_SSRC: u32 = 2_156_627_207;
const H264_RTX_SSRC: u32 = 2_140_493_675;
/// Placeholders the engine target replaces with consumer SSRCs: 2·consumer + (0 media, 1 RTX);
/// consumers: 0 audio, 1 VP8, 2 H264.
const C_AUDIO: u32 = 0xCCCC_CC00;
const C_VP8: u32 = 0xCCCC_CC02;
const C_VP8_RTX: u32 = 0xCCCC_CC03;
const C_H264: u32 = 0xCCCC_CC04;

// Chrome's extension ids (core/testdata/chrome-mediasoup-client-produce.json).
const EXT_AUDIO_LEVEL: u8 = 1;
const EXT_ABS_SEND_TIME: u8 = 2;
const EXT_TWCC: u8 = 3;
const EXT_MID: u8 = 4;
const EXT_RID: u8 = 10;
const EXT_RRID: u8 = 11;

/// An RTP packet with one-byte header extensions, optional CSRCs and padding.
fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, csrcs: &[u32], exts: &[(u8, &[u8])], payload: &[u8], padding: u8) -> Vec<u8> {
    let mut v = vec![0x80 | csrcs.len() as u8, pt | if marker { 0x80 } else { 0 }];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ts.to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    for c in csrcs {
        v.extend_from_slice(&c.to_be_bytes());
    }
    if !exts.is_empty() {
        v[0] |= 0x10;
        let mut body = vec![];
        for (id, d) in exts {
            body.push((id << 4) | (d.len() as u8 - 1));
            body.extend_from_slice(d);
        }
        while body.len() % 4 != 0 {
            body.push(0);
        }
        v.extend_from_slice(&[0xbe, 0xde]);
        v.extend_from_slice(&((body.len() / 4) as u16).to_be_bytes());
        v.extend_from_slice(&body);
    }
    v.extend_from_slice(payload);
    if padding > 0 {
        v[0] |= 0x20;
        v.extend(std::iter::repeat_n(0, usize::from(padding) - 1));
        v.push(padding);
    }
    v
}

/// The same with RFC 8285 two-byte header extensions.
fn rtp_two_byte(seq: u16, ssrc: u32, exts: &[(u8, &[u8])], payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x90, 96];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&1234u32.to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    let mut body = vec![];
    for (id, d) in exts {
        body.push(*id);
        body.push(d.len() as u8);
        body.extend_from_slice(d);
    }
    while body.len() % 4 != 0 {
        body.push(0);
    }
    v.extend_from_slice(&[0x10, 0x00]);
    v.extend_from_slice(&((body.len() / 4) as u16).to_be_bytes());
    v.extend_from_slice(&body);
    v.extend_from_slice(payload);
    v
}

fn rtx_payload(osn: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = osn.to_be_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

/// VP8 payload descriptor (X=1, S=1, PID=0, I=1 with a 15-bit picture id) + key frame header.
const VP8_KEY: &[u8] = &[0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0x00, 0x47, 0x08];
/// The same picture's next packet: interframe (P=1).
const VP8_DELTA: &[u8] = &[0x90, 0x80, 0x81, 0x24, 0x11, 0x02, 0x00, 0x55, 0x66];
/// VP8 with TL0PICIDX and TID/KEYIDX (L=1, T=1, K=1).
const VP8_TEMPORAL: &[u8] = &[0x90, 0xf0, 0x81, 0x25, 0x07, 0x40, 0x10, 0x02, 0x00];
/// VP9 flexible mode: I=1, L=1, B=1, 15-bit picture id, layer indices SID=0.
const VP9_KEY: &[u8] = &[0xa8, 0x80, 0x01, 0x00, 0x83, 0x49, 0x83, 0x42];
/// H264 STAP-A: SPS, PPS, then an IDR slice.
const H264_STAP_A: &[u8] = &[
    0x78, 0x00, 0x0b, 0x67, 0x42, 0xe0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8, 0x06, 0xd0, 0x00, 0x04, 0x68, 0xce, 0x3c, 0x80,
    0x00, 0x05, 0x65, 0x88, 0x84, 0x00, 0x33,
];
/// H264 FU-A, start of an IDR slice.
const H264_FU_A_IDR: &[u8] = &[0x7c, 0x85, 0x88, 0x84, 0x00, 0x33, 0xff, 0xfe];
/// H264 non-IDR slice.
const H264_SLICE: &[u8] = &[0x41, 0x9a, 0x02, 0x0c, 0x05];

fn opus(seq: u16) -> Vec<u8> {
    let exts: [(u8, &[u8]); 4] = [(EXT_MID, b"0"), (EXT_ABS_SEND_TIME, &[0x12, 0x34, 0x56]), (EXT_TWCC, &seq.to_be_bytes()), (EXT_AUDIO_LEVEL, &[0x80 | 40])];
    rtp(111, false, seq, u32::from(seq) * 960, AUDIO_SSRC, &[], &exts, &[0x78, 0x0b, 0xe4, 0xc1, 0x36, 0xec, 0xc5, 0x8d, 0x8c, 0x49, 0x46, 0x99], 0)
}

fn vp8(layer: usize, seq: u16, payload: &[u8], marker: bool) -> Vec<u8> {
    let rid = format!("r{layer}");
    let tcc = (seq ^ 0x100).to_be_bytes();
    let exts: [(u8, &[u8]); 4] = [(EXT_MID, b"1"), (EXT_RID, rid.as_bytes()), (EXT_ABS_SEND_TIME, &[0x12, 0x34, 0x57]), (EXT_TWCC, &tcc)];
    rtp(96, marker, seq, 90_000 + u32::from(seq) * 3000, VP8_SSRCS[layer], &[], &exts, payload, 0)
}

fn rtp_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let rtx_vp8 = rtp(97, false, 500, 93_000, VP8_RTX_SSRC, &[], &[(EXT_MID, b"1"), (EXT_RRID, b"r0")], &rtx_payload(1001, VP8_DELTA), 0);
    vec![
        ("opus", opus(1000)),
        ("opus-next", opus(1001)),
        ("vp8-r0-key", vp8(0, 1000, VP8_KEY, false)),
        ("vp8-r0-delta", vp8(0, 1001, VP8_DELTA, true)),
        ("vp8-r1-key", vp8(1, 2000, VP8_KEY, true)),
        ("vp8-r2-temporal", vp8(2, 3000, VP8_TEMPORAL, true)),
        ("vp8-rtx-rrid", rtx_vp8),
        ("rtx-padding-probe", rtp(97, false, 501, 93_000, VP8_RTX_SSRC, &[], &[(EXT_MID, b"1"), (EXT_RRID, b"r0")], &[], 224)),
        ("h264-stap-a", rtp(108, false, 7000, 1000, H264_SSRC, &[], &[(EXT_MID, b"2"), (EXT_TWCC, &[0, 9])], H264_STAP_A, 0)),
        ("h264-fu-a-idr", rtp(108, true, 7001, 1000, H264_SSRC, &[], &[(EXT_MID, b"2")], H264_FU_A_IDR, 0)),
        ("h264-slice", rtp(108, true, 7003, 4000, H264_SSRC, &[], &[], H264_SLICE, 0)),
        ("h264-rtx", rtp(109, true, 50, 4000, H264_RTX_SSRC, &[], &[(EXT_MID, b"2")], &rtx_payload(7002, H264_SLICE), 0)),
        ("vp9-csrc-padding", rtp(103, true, 9, 77, 0x0909_0909, &[0x1111_1111, 0x2222_2222], &[(5, &[1, 2, 3, 4])], VP9_KEY, 3)),
        ("two-byte-ext", rtp_two_byte(42, H264_SSRC, &[(20, &[]), (4, b"2"), (200, &[7; 20])], H264_SLICE)),
    ]
}

/// A report block about `ssrc`.
fn report_block(out: &mut Vec<u8>, ssrc: u32) {
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&[0x05, 0x00, 0x00, 0x02]); // fraction lost, cumulative lost
    out.extend_from_slice(&0x0001_03e8u32.to_be_bytes()); // extended highest seq
    out.extend_from_slice(&20u32.to_be_bytes()); // jitter
    out.extend_from_slice(&0x1234_5678u32.to_be_bytes()); // LSR
    out.extend_from_slice(&0x0000_0800u32.to_be_bytes()); // DLSR
}

fn sdes(out: &mut Vec<u8>, ssrc: u32, cname: &str) {
    let mut chunk = ssrc.to_be_bytes().to_vec();
    chunk.push(1);
    chunk.push(cname.len() as u8);
    chunk.extend_from_slice(cname.as_bytes());
    chunk.push(0);
    while chunk.len() % 4 != 0 {
        chunk.push(0);
    }
    out.extend_from_slice(&[0x81, 202]);
    out.extend_from_slice(&((chunk.len() / 4) as u16).to_be_bytes());
    out.extend_from_slice(&chunk);
}

fn rtcp_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut seeds = vec![];

    // SR (with one report block) + SDES, from the audio publisher.
    let mut sr = vec![];
    write_sr(&mut sr, AUDIO_SSRC, 0xe5a1_b2c3_d4e5_f607, 960_000, 1000, 120_000);
    sr[0] |= 1;
    sr[3] += 6;
    report_block(&mut sr, 0x0101_0101);
    sdes(&mut sr, AUDIO_SSRC, "lQBisAhtiaQOhKgM");
    seeds.push(("sr-sdes", sr));

    // RR about the consumers + SDES, from the receiver.
    let mut rr = vec![0x82, 201, 0, 13];
    rr.extend_from_slice(&0x0505_0505u32.to_be_bytes());
    report_block(&mut rr, C_AUDIO);
    report_block(&mut rr, C_VP8);
    sdes(&mut rr, 0x0505_0505, "receiver");
    seeds.push(("rr-sdes", rr));

    let mut pli = vec![];
    write_pli(&mut pli, 0x0505_0505, C_VP8);
    seeds.push(("pli", pli));

    let mut fir = vec![];
    write_fir(&mut fir, 0x0505_0505, C_H264, 3);
    seeds.push(("fir", fir));

    let mut nacks = vec![];
    write_nack(&mut nacks, 0x0505_0505, C_VP8, &[1, 2, 3, 5, 8, 13, 21, 40, 41], 1200);
    seeds.push(("nack", nacks.remove(0)));

    // A NACK with RTCP padding.
    let mut padded = vec![0xa1, 205, 0, 3];
    padded.extend_from_slice(&0x0505_0505u32.to_be_bytes());
    padded.extend_from_slice(&C_VP8_RTX.to_be_bytes());
    padded.extend_from_slice(&[0x00, 0x07, 0x80, 0x01]);
    padded.extend_from_slice(&[0, 0, 0, 4]);
    padded[3] = 4;
    seeds.push(("nack-padded", padded));

    // transport-cc feedback as the engine writes it, with losses.
    let mut rec = TwccRecorder::new(0x0505_0505);
    for (i, seq) in [1u16, 2, 3, 5, 6, 9, 10, 11, 12, 20].iter().enumerate() {
        rec.on_packet(*seq, 1_000_000 + i as u64 * 5_000 + u64::from(*seq % 3) * 777, C_VP8);
    }
    let mut fb = vec![];
    rec.build_feedback(&mut fb, 1200);
    seeds.push(("transport-cc", fb.remove(0)));

    let mut remb = vec![];
    write_remb(&mut remb, 0x0505_0505, 1_500_000, &[C_VP8, C_H264]);
    seeds.push(("remb", remb));

    let mut bye = vec![0x81, 203, 0, 1];
    bye.extend_from_slice(&AUDIO_SSRC.to_be_bytes());
    seeds.push(("bye", bye));

    // A compound of everything a receiver sends at once.
    let mut compound = vec![];
    for name in ["rr-sdes", "pli", "nack", "transport-cc", "remb"] {
        compound.extend_from_slice(&seeds.iter().find(|(n, _)| *n == name).unwrap().1);
    }
    seeds.push(("receiver-compound", compound));
    seeds
}

fn payload_seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("vp8-key", VP8_KEY.to_vec()),
        ("vp8-delta", VP8_DELTA.to_vec()),
        ("vp8-temporal", VP8_TEMPORAL.to_vec()),
        ("vp9-key", VP9_KEY.to_vec()),
        ("h264-stap-a", H264_STAP_A.to_vec()),
        ("h264-fu-a-idr", H264_FU_A_IDR.to_vec()),
        ("h264-slice", H264_SLICE.to_vec()),
        ("mime", b"video/H264-SVC".to_vec()),
    ]
}

/// Deterministic filler for the Unstructured-driven targets.
fn pseudo_random(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn json_seeds(testdata: &Path) -> Vec<(String, Vec<u8>)> {
    let mut seeds = vec![];
    for f in ["chrome-mediasoup-client-produce.json", "ortc-vectors.mediasoup.json", "router-media-codecs.json", "router-rtp-capabilities.mediasoup.json"] {
        let text = std::fs::read(testdata.join(f)).unwrap();
        let v: Value = serde_json::from_slice(&text).unwrap();
        // Compact: libFuzzer's default max_len is 4096 bytes.
        seeds.push((f.replace(".json", ""), serde_json::to_vec(&v).unwrap()));
        if f.starts_with("chrome") {
            for (i, p) in v["produce"].as_array().unwrap().iter().enumerate() {
                seeds.push((format!("produce-{i}"), serde_json::to_vec(&p["rtpParameters"]).unwrap()));
            }
            seeds.push(("device-caps".into(), serde_json::to_vec(&v["deviceRtpCapabilities"]).unwrap()));
        }
        if f.starts_with("ortc-vectors") {
            seeds.push(("consumer-caps".into(), serde_json::to_vec(&v["consumerRtpCapabilities"]).unwrap()));
            seeds.push(("media-codecs".into(), serde_json::to_vec(&v["mediaCodecs"]).unwrap()));
            for (i, c) in v["cases"].as_array().unwrap().iter().enumerate() {
                if let Some(p) = c.get("producerInput").and_then(|p| p.get("rtpParameters")) {
                    seeds.push((format!("case-{i}-producer"), serde_json::to_vec(p).unwrap()));
                }
            }
        }
    }
    seeds.push(("single-codec".into(), br#"{"kind":"video","mimeType":"video/VP9","clockRate":90000,"parameters":{"profile-id":2}}"#.to_vec()));
    seeds
}

/// A STUN message: type, transaction id, attributes (4-byte aligned, length set).
fn stun(typ: u16, txid: &[u8; 12], attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut m = typ.to_be_bytes().to_vec();
    m.extend_from_slice(&[0, 0, 0x21, 0x12, 0xa4, 0x42]);
    m.extend_from_slice(txid);
    for (t, v) in attrs {
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&(v.len() as u16).to_be_bytes());
        m.extend_from_slice(v);
        while m.len() % 4 != 0 {
            m.push(0);
        }
    }
    let n = (m.len() - 20) as u16;
    m[2..4].copy_from_slice(&n.to_be_bytes());
    m
}

/// STUN datagrams for the webrtc target. A MESSAGE-INTEGRITY of 20 zero bytes asks the harness
/// to sign the message with the transport's ICE credentials (see fuzz/src/webrtc.rs).
fn stun_seeds() -> Vec<(&'static str, Vec<u8>)> {
    const USERNAME: u16 = 0x0006;
    const MI: u16 = 0x0008;
    const FP: u16 = 0x8028;
    const PRIORITY: u16 = 0x0024;
    const USE_CANDIDATE: u16 = 0x0025;
    const CONTROLLING: u16 = 0x802a;
    const CONTROLLED: u16 = 0x8029;
    const NOMINATION: u16 = 0xc001;
    let zero = [0u8; 20];
    let prio = 1_853_824_767u32.to_be_bytes();
    let tie = 0x1122_3344_5566_7788u64.to_be_bytes();
    vec![
        ("stun-binding-use-candidate", stun(0x0001, b"chrome-tx-01", &[(USERNAME, b"ufrag:peer"), (CONTROLLING, &tie), (USE_CANDIDATE, &[]), (PRIORITY, &prio), (MI, &zero), (FP, &[0; 4])])),
        ("stun-binding-no-nomination", stun(0x0001, b"chrome-tx-02", &[(USERNAME, b"ufrag:peer"), (CONTROLLING, &tie), (PRIORITY, &prio), (MI, &zero)])),
        ("stun-binding-nomination", stun(0x0001, b"chrome-tx-03", &[(USERNAME, b"ufrag:peer"), (CONTROLLING, &tie), (NOMINATION, &[0, 0, 0, 7]), (PRIORITY, &prio), (MI, &zero), (FP, &[0; 4])])),
        ("stun-binding-role-conflict", stun(0x0001, b"chrome-tx-04", &[(USERNAME, b"ufrag:peer"), (CONTROLLED, &tie), (PRIORITY, &prio), (MI, &zero), (FP, &[0; 4])])),
        ("stun-binding-bad-integrity", stun(0x0001, b"chrome-tx-05", &[(USERNAME, b"ufrag:peer"), (PRIORITY, &prio), (MI, &[0x55; 20]), (FP, &[0; 4])])),
        ("stun-binding-success", stun(0x0101, b"chrome-tx-06", &[(0x0020, &[0, 1, 0x31, 0x33, 0x5e, 0x12, 0xa4, 0x43])])),
        ("stun-indication", stun(0x0011, b"chrome-tx-07", &[])),
    ]
}

/// DTLS records for the webrtc target: a DTLS 1.2 ClientHello as a WebRTC client sends it,
/// the same with a cookie, an alert and a ChangeCipherSpec.
fn dtls_seeds() -> Vec<(&'static str, Vec<u8>)> {
    fn record(typ: u8, epoch: u16, seq: u64, body: &[u8]) -> Vec<u8> {
        let mut r = vec![typ, 0xfe, 0xfd];
        r.extend_from_slice(&epoch.to_be_bytes());
        r.extend_from_slice(&seq.to_be_bytes()[2..]);
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }
    fn client_hello(cookie: &[u8]) -> Vec<u8> {
        let mut b = vec![0xfe, 0xfd];
        b.extend((0..32u8).map(|i| i.wrapping_mul(37)));
        b.push(0); // session id
        b.push(cookie.len() as u8);
        b.extend_from_slice(cookie);
        b.extend_from_slice(&[0, 4, 0xc0, 0x2b, 0xc0, 0x2f]); // ECDHE-ECDSA/RSA-AES128-GCM
        b.extend_from_slice(&[1, 0]); // null compression
        let exts: &[(u16, &[u8])] = &[
            (0x000a, &[0, 4, 0, 0x1d, 0, 0x17]),       // supported_groups: x25519, secp256r1
            (0x000b, &[1, 0]),                         // ec_point_formats: uncompressed
            (0x000d, &[0, 6, 4, 3, 8, 4, 4, 1]),       // signature_algorithms
            (0x000e, &[0, 4, 0, 7, 0, 1, 0]),          // use_srtp: AEAD_AES_128_GCM, AES128_CM_SHA1_80
            (0x0017, &[]),                             // extended_master_secret
            (0xff01, &[0]),                            // renegotiation_info
        ];
        let mut e = vec![];
        for (t, v) in exts {
            e.extend_from_slice(&t.to_be_bytes());
            e.extend_from_slice(&(v.len() as u16).to_be_bytes());
            e.extend_from_slice(v);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend_from_slice(&e);
        let mut h = vec![1]; // client_hello
        h.extend_from_slice(&(b.len() as u32).to_be_bytes()[1..]);
        h.extend_from_slice(&[0, 0, 0, 0, 0]); // message_seq, fragment_offset
        h.extend_from_slice(&(b.len() as u32).to_be_bytes()[1..]);
        h.extend_from_slice(&b);
        record(22, 0, 0, &h)
    }
    vec![
        ("dtls-client-hello", client_hello(&[])),
        ("dtls-client-hello-cookie", client_hello(&[0xab; 32])),
        ("dtls-alert", record(21, 0, 1, &[2, 40])),
        ("dtls-change-cipher-spec", record(20, 0, 2, &[1])),
        ("dtls-app-data-epoch1", record(23, 1, 0, &[0x42; 40])),
    ]
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), data).unwrap();
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("corpus");
    let rtp = rtp_seeds();
    let rtcp = rtcp_seeds();
    for (name, data) in &rtp {
        write(&corpus.join("rtp_packet"), name, data);
        write(&corpus.join("rtx"), name, data);
        write(&corpus.join("engine_datagrams"), &format!("rtp-{name}"), data);
    }
    for (name, data) in &rtcp {
        write(&corpus.join("rtcp_compound"), name, data);
        write(&corpus.join("engine_datagrams"), &format!("rtcp-{name}"), data);
    }
    for (name, data) in payload_seeds() {
        write(&corpus.join("payload_descriptors"), name, &data);
    }
    for (i, n) in [64usize, 256, 1024, 4096].iter().enumerate() {
        write(&corpus.join("twcc"), &format!("random-{n}"), &pseudo_random(0x9E37_79B9_7F4A_7C15 + i as u64, *n));
        write(&corpus.join("nack_generator"), &format!("random-{n}"), &pseudo_random(0xD1B5_4A32_D192_ED03 + i as u64, *n));
    }
    for (name, data) in json_seeds(&root.join("../core/testdata")) {
        write(&corpus.join("ortc_json"), &name, &data);
    }
    // Not JSON: edit scripts over the reference documents (fuzz/src/ortc_json.rs, `edited`).
    for (i, n) in [16usize, 64, 256].iter().enumerate() {
        let mut script = pseudo_random(0x0E0E_0E0E + i as u64, *n);
        script[0] = b'#'; // never valid JSON
        write(&corpus.join("ortc_json"), &format!("edit-script-{n}"), &script);
    }
    // Not RTP or RTCP: a STUN binding request and a DTLS record header reach a plain transport too.
    let mut stun = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(b"fuzztxid0123");
    write(&corpus.join("engine_datagrams"), "stun-binding", &stun);
    write(&corpus.join("engine_datagrams"), "dtls-record", &[0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01]);
    for (name, data) in stun_seeds().into_iter().chain(dtls_seeds()) {
        write(&corpus.join("webrtc_datagrams"), name, &data);
    }
    for (name, data) in rtp.iter().take(2).chain(rtcp.iter().take(1)) {
        write(&corpus.join("webrtc_datagrams"), &format!("unencrypted-{name}"), data);
    }
    println!("seeds written under {}", corpus.display());
}
