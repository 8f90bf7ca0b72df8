//! The retransmission buffers and the handling of one NACK:
//!
//! * `nack_buffers/*`: lookups in a consumer's `SendHistory` (what was sent, by outgoing sequence
//!   number) and a producer stream's `PacketCache` (the packets themselves, by source sequence
//!   number), both of capacity 1024 holding the last 1000 packets (the engine sizes both at
//!   512): a hit, a miss inside the window (a sequence number never sent), a miss outside it
//!   (too old), a history record past the retransmission age limit, and storing a 1200 B packet.
//!   `parse_nack_17` parses a Generic NACK of 17 packets (PID + BLP 0xffff).
//! * `nack_engine/nack_17`: one such NACK from a consumer's remote through the worker's real path
//!   (`WorkerState::on_rtcp`: compound parsing, NACK parsing, the consumer lookup by SSRC, then per
//!   packet the send history, the producer's packet cache, the rebuild with the sequence number,
//!   timestamp and picture ids it was sent with, the RTX wrap and the send to an in-memory sink),
//!   in a worker state built by `sfu_core::bench::Fanout` (1 VP8 consumer with NACK and RTX).
//!   Before each NACK, 17 fresh packets are forwarded outside the timed part, so all 17 are
//!   retransmitted (checked). Time per NACK; throughput in retransmitted packets. Excludes the
//!   `sendto` of the 17 retransmissions (see the `fanout` bench's reference) and SRTP.
//!
//! Run: `cargo bench -p sfu-benches --bench nack`.

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sfu_core::bench::Fanout;
use sfu_core::rtp::layers::DescriptorIds;
use sfu_core::rtp::nack::parse_nack;
use sfu_core::rtp::retransmission::{PacketCache, SendHistory, SentRecord};

const FILL: u16 = 1000;

/// A Generic NACK (RFC 4585 §6.2.1) for `pid` and the 16 packets after it, about `media_ssrc`.
fn nack_17(media_ssrc: u32, pid: u16) -> Vec<u8> {
    let mut v = vec![0x81, 205, 0, 3, 0, 0, 0, 1];
    v.extend_from_slice(&media_ssrc.to_be_bytes());
    v.extend_from_slice(&pid.to_be_bytes());
    v.extend_from_slice(&[0xff, 0xff]);
    v
}

fn buffers(c: &mut Criterion) {
    let mut g = c.benchmark_group("nack_buffers");
    g.throughput(Throughput::Elements(1));
    // Outgoing seqs 60000.. wrap past 65535, as a long-running stream does.
    let first = 60000u16;
    let mut history = SendHistory::new(1024);
    for i in 0..FILL {
        let s = first.wrapping_add(i);
        let descriptor = DescriptorIds { picture_id: Some(i), tl0_pic_idx: Some(i as u8) };
        history.record(SentRecord { out_seq: s, out_ts: u32::from(s) * 3000, source_seq: s ^ 0x5555, encoding: 0, sent_ms: 10_000 + u64::from(i), descriptor, marker: false });
    }
    let newest = first.wrapping_add(FILL - 1);
    let now = 10_000 + u64::from(FILL);
    let hit = first.wrapping_add(FILL / 2);
    g.bench_function("send_history_get_hit", |b| b.iter(|| history.get(black_box(hit), now, 1000)));
    g.bench_function("send_history_get_miss_unsent", |b| b.iter(|| history.get(black_box(newest.wrapping_add(10)), now, 1000)));
    g.bench_function("send_history_get_miss_too_old", |b| b.iter(|| history.get(black_box(first.wrapping_sub(100)), now, 1000)));
    g.bench_function("send_history_get_miss_aged_out", |b| b.iter(|| history.get(black_box(hit), now + 2000, 1000)));
    let mut cache = PacketCache::new(1024);
    let pkt = vec![0xab; 1200];
    for i in 0..FILL {
        cache.store(first.wrapping_add(i), &pkt);
    }
    g.bench_function("packet_cache_get_hit", |b| b.iter(|| cache.get(black_box(hit)).map(<[u8]>::len)));
    g.bench_function("packet_cache_get_miss", |b| b.iter(|| cache.get(black_box(first.wrapping_sub(100))).map(<[u8]>::len)));
    let mut s = newest;
    g.bench_function("packet_cache_store_1200B", |b| {
        b.iter(|| {
            s = s.wrapping_add(1);
            cache.store(s, black_box(&pkt));
        })
    });
    let nack = nack_17(1234, hit);
    let mut seqs = Vec::with_capacity(17);
    g.throughput(Throughput::Elements(17));
    g.bench_function("parse_nack_17", |b| {
        b.iter(|| {
            seqs.clear();
            parse_nack(black_box(&nack), &mut seqs)
        })
    });
    assert_eq!(seqs.len(), 17);
    g.finish();
}

/// A 1200 B VP8 packet of SSRC 1111; a key frame when `key`.
fn packet(seq: u16, key: bool) -> Vec<u8> {
    sfu_benches::vp8_packet(1111, seq, key, 1200)
}

fn engine(c: &mut Criterion) {
    let f = Fanout::new(1, 1, |_| false).expect("fanout");
    let ssrc = f.consumer_ssrc(0);
    let mut seq = 0u16;
    let mut feed17 = |f: &Fanout| {
        for _ in 0..17 {
            f.on_rtp(&packet(seq, seq == 0));
            seq = seq.wrapping_add(1);
        }
        nack_17(ssrc, f.consumer_last_seq(0).wrapping_sub(16))
    };
    let nack = feed17(&f);
    let before = f.consumer_retransmitted(0);
    f.on_consumer_rtcp(0, &nack);
    assert_eq!(f.consumer_retransmitted(0) - before, 17, "all 17 packets retransmitted");
    let mut g = c.benchmark_group("nack_engine");
    g.throughput(Throughput::Elements(17));
    g.bench_function("nack_17", |b| {
        b.iter_custom(|iters| {
            let mut t = Duration::ZERO;
            for _ in 0..iters {
                let nack = feed17(&f);
                let start = Instant::now();
                f.on_consumer_rtcp(0, black_box(&nack));
                t += start.elapsed();
            }
            t
        })
    });
    g.finish();
    let before = f.consumer_retransmitted(0);
    f.on_consumer_rtcp(0, &feed17(&f));
    assert_eq!(f.consumer_retransmitted(0) - before, 17, "still all 17 retransmitted");
}

criterion_group!(benches, buffers, engine);
criterion_main!(benches);
