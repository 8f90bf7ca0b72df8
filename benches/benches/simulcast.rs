//! Per-packet cost of layer selection with 3 spatial layers, steady and with a switch (target
//! change + key frame arrival), on the engine's real types:
//!
//! * `simulcast_engine/*`: a VP8 simulcast producer (3 encodings, L1T3) and one consumer in a
//!   worker state built by `sfu_core::bench::Fanout`, fed through `WorkerState::on_rtp` (producer
//!   receive and layer parsing, `Consumer::forward`: encoding choice, temporal `LayerFilter`,
//!   picture id / TL0PICIDX rewrite, seq/ts rewrite, send to an in-memory sink). One "frame" is
//!   one 1200 B packet per encoding; the consumer forwards the one of its encoding and drops the
//!   others. `steady`: delta frames. `switch_every_frame`: before each frame, `setPreferredLayers`
//!   alternates between spatial layer 0 and 2 (with the tick's layer choice and the key frame
//!   request to the producer), and the frame is a key frame on every encoding, so the consumer
//!   switches encodings on every frame (worst case). Criterion's time is per frame (3 packets),
//!   its throughput in packets.
//! * `svc_filter/*`: VP9 L3T1 (3 spatial layers in one stream) through `layers::parse` and a
//!   consumer's `LayerFilter::process` alone (32 B payloads: no packet copy), one packet per layer frame.
//!   `steady`: delta pictures at target (2, 0). `switch_every_picture`: `set_target` alternates
//!   between spatial layer 0 and 2 and each picture is a key picture. Time per picture (3 packets).
//!
//! Run: `cargo bench -p sfu-benches --bench simulcast`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sfu_core::bench::Fanout;
use sfu_core::rtp::layers::{self, Av1Structure, Decision, LayerCodec, LayerFilter};

/// A 1200 B VP8 packet of encoding `e` (SSRC 1111 + e).
fn vp8_packet(e: u32, seq: u16, key: bool) -> Vec<u8> {
    sfu_benches::vp8_packet(1111 + e, seq, key, 1200)
}

/// Writes sequence number `seq`, its timestamp and picture id into a packet of [`vp8_packet`].
fn renumber(v: &mut [u8], seq: u16) {
    v[2..4].copy_from_slice(&seq.to_be_bytes());
    v[4..8].copy_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    let pid = seq & 0x7fff;
    v[14] = 0x80 | (pid >> 8) as u8;
    v[15] = pid as u8;
    v[16] = seq as u8;
}

/// Sends one frame (a packet per encoding) and returns the next sequence number.
fn frame(f: &Fanout, seq: u16, key: bool, bufs: &mut [Vec<u8>; 3]) -> u16 {
    for (e, b) in bufs.iter_mut().enumerate() {
        *b = vp8_packet(e as u32, seq, key);
    }
    for b in bufs.iter() {
        f.on_rtp(black_box(b));
    }
    seq.wrapping_add(1)
}

fn engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulcast_engine");
    g.throughput(Throughput::Elements(3));
    for switch in [false, true] {
        let f = Fanout::new(1, 3, |_| false).expect("fanout");
        let mut bufs = [vec![], vec![], vec![]];
        let mut seq = frame(&f, 0, true, &mut bufs);
        assert_eq!(f.consumer_encoding(0), Some(2), "starts on the highest encoding");
        let mut spatial = 0u8;
        if switch {
            f.set_preferred_spatial(0, 0);
            seq = frame(&f, seq, true, &mut bufs);
            assert_eq!(f.consumer_encoding(0), Some(0), "switched down at the key frame");
            f.set_preferred_spatial(0, 2);
            seq = frame(&f, seq, true, &mut bufs);
            assert_eq!(f.consumer_encoding(0), Some(2), "switched up at the key frame");
        }
        // One frame's packets, built once; each round writes its sequence number, timestamp and
        // picture id in place (a few bytes, as a real packet arrives with them).
        let mut pkts = [0, 1, 2].map(|e| vp8_packet(e, 0, switch));
        let name = if switch { "switch_every_frame" } else { "steady" };
        g.bench_function(name, |b| {
            b.iter(|| {
                if switch {
                    f.set_preferred_spatial(0, spatial);
                    spatial = 2 - spatial;
                }
                for p in pkts.iter_mut() {
                    renumber(p, seq);
                    f.on_rtp(black_box(p));
                }
                seq = seq.wrapping_add(1);
            })
        });
    }
    g.finish();
}

/// A VP9 packet of spatial layer `sid` (one packet per layer frame, non-flexible mode with a
/// 15-bit picture id, layer indices and TL0PICIDX); `key`: part of a key picture (P=0).
fn vp9_payload(pid: u16, sid: u8, key: bool) -> Vec<u8> {
    let b0 = 0x80 | if key { 0 } else { 0x40 } | 0x20 | 0x08 | 0x04;
    let d = u8::from(sid > 0);
    let mut v = vec![b0, 0x80 | (pid >> 8) as u8 & 0x7f, pid as u8, (sid << 1) | d, pid as u8];
    v.resize(32, 0xab);
    v
}

fn svc_filter(c: &mut Criterion) {
    let mut g = c.benchmark_group("svc_filter");
    g.throughput(Throughput::Elements(3));
    for switch in [false, true] {
        let pictures: Vec<[Vec<u8>; 3]> = (0..1024u16).map(|p| [0, 1, 2].map(|s| vp9_payload(p, s, switch))).collect();
        let mut filter = LayerFilter::new(LayerCodec::Vp9, 3, 1);
        let mut av1 = Av1Structure::new();
        let mut spatial = 0u8;
        let mut i = 0usize;
        let mut forwarded = 0u64;
        let mut payload = [0u8; 32];
        let name = if switch { "switch_every_picture" } else { "steady" };
        g.bench_function(name, |b| {
            b.iter(|| {
                if switch {
                    filter.set_target(spatial, 0);
                    spatial = 2 - spatial;
                }
                for p in pictures[i % pictures.len()].iter() {
                    // The consumer's copy of the payload (the filter rewrites it in place).
                    payload.copy_from_slice(black_box(p));
                    let info = layers::parse(LayerCodec::Vp9, &payload, None, None, &mut av1).unwrap_or_default();
                    if let Decision::Forward { .. } = filter.process(&info, &mut payload, false) {
                        forwarded += 1;
                    }
                }
                i += 1;
            })
        });
        black_box(forwarded);
    }
    g.finish();
}

criterion_group!(benches, engine, svc_filter);
criterion_main!(benches);
