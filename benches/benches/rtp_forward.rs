//! Per-packet cost of the forwarding hot path: parse an incoming RTP packet in place and write a
//! consumer's rewritten copy (SSRC, PT, seq/ts, extension-id remap, MID override).
//! Run: `cargo bench -p sfu-benches`. Compare versions with callgrind for stable counts.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sfu_core::rtp::{write_forwarded, ExtensionMap, ForwardHeader, RtpPacket, SeqTsRewriter};

fn video_packet() -> Vec<u8> {
    let mut v = vec![0x90, 96, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef, 0xbe, 0xde, 0, 3];
    // mid (id 4), abs-send-time (id 2), transport-cc (id 3), padded to 3 words.
    v.extend_from_slice(&[0x40, b'1', 0x22, 1, 2, 3, 0x31, 0, 7, 0, 0, 0]);
    v.extend(std::iter::repeat(0xab).take(1200 - v.len()));
    v
}

fn forward(c: &mut Criterion) {
    let pkt = video_packet();
    let mut map = ExtensionMap::default();
    map.insert(4, 1);
    map.insert(2, 4);
    map.insert(3, 5);
    let mut out = Vec::with_capacity(1500);
    let mut g = c.benchmark_group("rtp");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse", |b| b.iter(|| RtpPacket::parse(black_box(&pkt)).unwrap().ssrc()));
    g.bench_function("parse+rewrite+write_1200B", |b| {
        let mut rw = SeqTsRewriter::new(90000, 1, 1);
        let mut seq = 0u16;
        b.iter(|| {
            let p = RtpPacket::parse(black_box(&pkt)).unwrap();
            seq = seq.wrapping_add(1);
            let (s, t) = rw.rewrite(p.ssrc(), seq, p.timestamp(), 0).unwrap();
            let hdr = ForwardHeader { ssrc: 42, payload_type: 101, sequence_number: s, timestamp: t, override_ext: Some((1, b"3")), twcc_ext: 0 };
            write_forwarded(&mut out, &p, &hdr, &map);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, forward);
criterion_main!(benches);
