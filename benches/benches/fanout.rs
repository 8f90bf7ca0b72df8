//! Router fan-out in memory: the engine's cost of one incoming 1200 B VP8 packet forwarded to
//! N = 1 / 10 / 100 / 500 consumers, through the worker's real forwarding path
//! (`WorkerState::on_rtp`: transport stats, RTP listener, producer receive with layer parsing and
//! the NACK packet cache, then per consumer `Consumer::forward` — copy, header rewrite, MID
//! extension, seq/ts rewrite, send history — and the transport's send with its stats).
//! The router is built by `sfu_core::bench::Fanout` on the bench thread: consumers sit on
//! PlainTransports (one each) whose datagrams go to an in-memory sink.
//!
//! Included: everything the worker does between `recv_from` and `sendto` for a plain transport.
//! Not included: the receive loop and `on_plain_datagram` (comedia/SRTP checks), SRTP protect
//! (WebRtcTransports; see the `srtp` bench: ~0.4 µs per 1200 B packet with AES-128-GCM), the
//! pacer (WebRtcTransports with bandwidth estimation) and the `sendto` syscall per consumer,
//! measured here for reference as `reference/udp_sendto_1200B` (loopback, no receiver reading).
//!
//! `fanout/N` reports time per incoming packet and throughput in forwarded packets (N per
//! incoming one); `fanout_90pct_paused/N` has 9 consumers out of 10 paused (throughput still
//! counts all N consumers, so compare the times per incoming packet).
//! `fanout_turn/N` feeds a frame's 6 packets per receive turn, the way the worker's receive loops
//! do: the fan-out is deferred to the turn's end and done consumer by consumer.
//! Run: `cargo bench -p sfu-benches --bench fanout`.

use std::net::UdpSocket;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sfu_core::bench::Fanout;

/// A 1200 B VP8 packet of SSRC 1111; a key frame when `key`.
fn packet(seq: u16, key: bool) -> Vec<u8> {
    sfu_benches::vp8_packet(1111, seq, key, 1200)
}

struct Feed {
    f: Fanout,
    seq: u16,
    pkts: Vec<Vec<u8>>,
}

impl Feed {
    fn new(n: usize, paused: impl Fn(usize) -> bool) -> Feed {
        let f = Fanout::new(n, 1, paused).expect("fanout");
        // Delta packets for every sequence number, built once (the bench measures the engine).
        let pkts = (0..=u16::MAX).map(|s| packet(s, false)).collect();
        let mut feed = Feed { f, seq: 0, pkts };
        feed.f.on_rtp(&packet(0, true)); // the key frame consumers wait for
        feed.seq = 1;
        feed
    }

    fn next(&mut self) {
        self.f.on_rtp(black_box(&self.pkts[self.seq as usize]));
        self.seq = self.seq.wrapping_add(1);
    }

    /// The next `TURN` packets in one receive turn (fan-out deferred, consumer by consumer).
    fn next_turn(&mut self) {
        let at = self.seq as usize;
        if at + TURN > self.pkts.len() {
            self.seq = 1; // (wraps early: a turn never straddles the end)
        }
        let at = self.seq as usize;
        self.f.on_rtp_turn(black_box(&self.pkts[at..at + TURN]));
        self.seq = self.seq.wrapping_add(TURN as u16);
    }
}

/// Packets per receive turn in `fanout_turn`: one video frame's.
const TURN: usize = 6;

fn fanout(c: &mut Criterion) {
    for (group, every) in [("fanout", None), ("fanout_90pct_paused", Some(10))] {
        let mut g = c.benchmark_group(group);
        for n in [1usize, 10, 100, 500] {
            let paused = move |i: usize| every.is_some_and(|e| !i.is_multiple_of(e));
            let active = (0..n).filter(|i| !paused(*i)).count() as u64;
            let mut feed = Feed::new(n, paused);
            let before = feed.f.bytes_sent();
            feed.next();
            assert!(feed.f.bytes_sent() - before >= 1200 * active, "every active consumer sends");
            g.throughput(Throughput::Elements(n as u64));
            g.bench_function(n.to_string(), |b| b.iter(|| feed.next()));
        }
        g.finish();
    }
}

fn reference(c: &mut Criterion) {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = rx.local_addr().unwrap();
    let pkt = packet(1, false);
    let mut g = c.benchmark_group("reference");
    g.throughput(Throughput::Elements(1));
    g.bench_function("udp_sendto_1200B", |b| b.iter(|| tx.send_to(black_box(&pkt), to)));
    g.finish();
}

/// `fanout_turn/N`: a frame's 6 packets per receive turn, as the worker's receive loops feed
/// them — fanned out at the turn's end, each consumer taking its 6 in a row. Time per turn;
/// throughput in forwarded packets (6 × N). Compare with `fanout/N` × 6.
fn fanout_turn(c: &mut Criterion) {
    let mut g = c.benchmark_group("fanout_turn");
    for n in [10usize, 100, 500] {
        let mut feed = Feed::new(n, |_| false);
        let before = feed.f.bytes_sent();
        feed.next_turn();
        assert!(feed.f.bytes_sent() - before >= 1200 * (TURN * n) as u64, "every consumer sends the turn's packets");
        g.throughput(Throughput::Elements((TURN * n) as u64));
        g.bench_function(n.to_string(), |b| b.iter(|| feed.next_turn()));
    }
    g.finish();
}

criterion_group!(benches, fanout, fanout_turn, reference);
criterion_main!(benches);
