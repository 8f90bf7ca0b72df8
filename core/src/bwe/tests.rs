//! Simulated-time tests: a sender driven by the estimate, a bottleneck link with a drop-tail
//! FIFO, propagation delay, jitter and random loss, and a receiver sending transport-cc
//! feedback. Run with `--nocapture` to see the measured numbers.

use super::*;
use std::collections::VecDeque;

/// xorshift64*: deterministic, seeded.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What the application wants to send.
#[derive(Clone, Copy)]
enum Media {
    /// Up to this rate: sends `min(estimate, rate)`.
    Greedy(f64),
    /// Simulcast-like layers: sends the highest layer within the estimate (the lowest at least).
    Layers(&'static [f64]),
}

#[derive(Clone, Copy)]
struct Link {
    rate_bps: f64,
    prop_ms: f64,
    max_queue_ms: f64,
    loss: f64,
    jitter_ms: f64,
}

impl Link {
    fn new(rate_bps: f64) -> Self {
        Self { rate_bps, prop_ms: 25.0, max_queue_ms: 400.0, loss: 0.0, jitter_ms: 1.0 }
    }
}

struct ActiveProbe {
    cluster: ProbeCluster,
    packets: u32,
    bytes: u64,
    next_us: f64,
}

struct Feedback {
    deliver_us: i64,
    results: Vec<(u16, Option<i64>)>,
    rtt_us: i64,
}

const PACKET: usize = 1200;
const FEEDBACK_INTERVAL_US: i64 = 50_000;
/// Receiver clock offset: only deltas may matter.
const RECEIVER_CLOCK_OFFSET_US: i64 = 987_654_321_000;

struct Sim {
    bwe: SendSideBwe,
    rng: Rng,
    now_us: i64,
    link: Link,
    media: Media,
    frames: bool,
    next_seq: i64,
    send_times: VecDeque<(i64, i64)>,
    busy_until_us: f64,
    last_arrival_us: i64,
    in_flight: VecDeque<(i64, i64)>,
    unreported: VecDeque<(i64, i64)>,
    next_report_seq: Option<i64>,
    next_feedback_us: i64,
    feedback_interval_us: i64,
    feedback: VecDeque<Feedback>,
    next_rtt_us: i64,
    probe: Option<ActiveProbe>,
    credit: f64,
    next_frame_us: i64,
    trace: Vec<(f64, u32)>,
    probes: Vec<(f64, ProbeCluster)>,
    alr_trace: Vec<(f64, bool)>,
    /// (time s, bottleneck queue delay ms), every 100 ms.
    queue_trace: Vec<(f64, f64)>,
    /// Whether the engine sends the probes it is asked for.
    probing: bool,
}

impl Sim {
    fn new(link: Link, media: Media, frames: bool, seed: u64) -> Self {
        Self {
            bwe: SendSideBwe::new(BweConfig::default(), 0),
            rng: Rng(seed.max(1)),
            now_us: 0,
            link,
            media,
            frames,
            next_seq: 65_000,
            send_times: VecDeque::new(),
            busy_until_us: 0.0,
            last_arrival_us: 0,
            in_flight: VecDeque::new(),
            unreported: VecDeque::new(),
            next_report_seq: None,
            next_feedback_us: FEEDBACK_INTERVAL_US,
            feedback_interval_us: FEEDBACK_INTERVAL_US,
            feedback: VecDeque::new(),
            next_rtt_us: 0,
            probe: None,
            credit: 0.0,
            next_frame_us: 0,
            trace: Vec::new(),
            probes: Vec::new(),
            alr_trace: Vec::new(),
            queue_trace: Vec::new(),
            probing: true,
        }
    }

    fn now_ms(&self) -> u64 {
        (self.now_us / 1000) as u64
    }

    fn send(&mut self, size: usize, probe: Option<u32>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bwe.on_packet_sent(seq as u16, size, self.now_ms(), probe);
        self.send_times.push_back((seq, self.now_us));
        if self.send_times.len() > 20_000 {
            self.send_times.pop_front();
        }
        let now = self.now_us as f64;
        let start = self.busy_until_us.max(now);
        if start - now > self.link.max_queue_ms * 1000.0 {
            return; // drop-tail
        }
        self.busy_until_us = start + size as f64 * 8e6 / self.link.rate_bps;
        if self.rng.f64() < self.link.loss {
            return; // random loss on the wire
        }
        let jitter = self.rng.f64() * self.link.jitter_ms * 1000.0;
        let arrival = (self.busy_until_us + self.link.prop_ms * 1000.0 + jitter) as i64;
        let arrival = arrival.max(self.last_arrival_us);
        self.last_arrival_us = arrival;
        self.in_flight.push_back((seq, arrival));
    }

    fn send_time(&self, seq: i64) -> i64 {
        let first = self.send_times.front().map_or(0, |f| f.0);
        self.send_times.get((seq - first) as usize).map_or(0, |s| s.1)
    }

    fn media_rate(&self) -> f64 {
        let estimate = f64::from(self.bwe.available_bitrate());
        match self.media {
            Media::Greedy(rate) => rate.min(estimate),
            Media::Layers(layers) => {
                layers.iter().copied().filter(|&l| l <= estimate).fold(layers[0], f64::max)
            }
        }
    }

    fn step(&mut self) {
        self.now_us += 1000;
        let now = self.now_us;
        let now_ms = self.now_ms();
        while self.feedback.front().is_some_and(|f| f.deliver_us <= now) {
            let Some(fb) = self.feedback.pop_front() else { break };
            self.bwe.on_feedback(&fb.results, now_ms);
            if now >= self.next_rtt_us {
                self.next_rtt_us = now + 1_000_000;
                self.bwe.on_rtt((fb.rtt_us / 1000) as u32, now_ms);
            }
        }
        while self.in_flight.front().is_some_and(|p| p.1 <= now) {
            if let Some(p) = self.in_flight.pop_front() {
                self.unreported.push_back(p);
            }
        }
        if now >= self.next_feedback_us {
            self.next_feedback_us += self.feedback_interval_us;
            if let Some(&(high, high_arrival)) = self.unreported.back() {
                let from = self.next_report_seq.unwrap_or(self.unreported[0].0);
                let mut results = Vec::new();
                let mut received = self.unreported.iter().peekable();
                for seq in from..=high {
                    let arrival = match received.peek() {
                        Some(&&(s, a)) if s == seq => {
                            received.next();
                            Some(a + RECEIVER_CLOCK_OFFSET_US)
                        }
                        _ => None,
                    };
                    results.push((seq as u16, arrival));
                }
                self.next_report_seq = Some(high + 1);
                self.unreported.clear();
                let prop = (self.link.prop_ms * 1000.0) as i64;
                let rtt_us = high_arrival - self.send_time(high) + prop;
                self.feedback.push_back(Feedback { deliver_us: now + prop, results, rtt_us });
            }
        }
        if now % 25_000 == 0 {
            self.bwe.handle_timeout(now_ms);
        }
        if self.probe.is_none() && self.probing {
            if let Some(cluster) = self.bwe.poll_probe(now_ms) {
                self.probes.push((now as f64 / 1e6, cluster));
                self.probe = Some(ActiveProbe { cluster, packets: 0, bytes: 0, next_us: now as f64 });
            }
        }
        if let Some(mut p) = self.probe.take() {
            while p.next_us <= now as f64 {
                self.send(PACKET, Some(p.cluster.id));
                p.packets += 1;
                p.bytes += PACKET as u64;
                p.next_us += PACKET as f64 * 8e6 / f64::from(p.cluster.bitrate.max(1));
            }
            let done = p.packets >= p.cluster.min_packets && p.bytes >= u64::from(p.cluster.min_bytes);
            if !done {
                self.probe = Some(p);
            }
            if now >= self.next_frame_us {
                self.next_frame_us += 33_333; // this frame rode on the probe
            }
        } else {
            let rate = self.media_rate();
            if self.frames {
                if now >= self.next_frame_us {
                    self.next_frame_us += 33_333;
                    let bytes = (rate / 30.0 / 8.0) * (0.8 + 0.4 * self.rng.f64());
                    let packets = (bytes / PACKET as f64).ceil().max(1.0);
                    let size = (bytes / packets) as usize;
                    for _ in 0..packets as usize {
                        self.send(size.max(50), None);
                    }
                }
            } else {
                self.credit = (self.credit + rate / 8000.0).min(2.0 * PACKET as f64);
                while self.credit >= PACKET as f64 {
                    self.credit -= PACKET as f64;
                    self.send(PACKET, None);
                }
            }
        }
        if now % 100_000 == 0 {
            assert!(self.bwe.is_sane(), "insane state at {now}");
            self.trace.push((now as f64 / 1e6, self.bwe.available_bitrate()));
            self.alr_trace.push((now as f64 / 1e6, self.bwe.in_alr()));
            let queue_ms = (self.busy_until_us - now as f64).max(0.0) / 1000.0;
            self.queue_trace.push((now as f64 / 1e6, queue_ms));
        }
    }

    fn run_until(&mut self, t_s: f64) {
        while (self.now_us as f64) < t_s * 1e6 {
            self.step();
        }
    }

    /// (min, max) of the estimate over [from, to) s.
    fn range(&self, from: f64, to: f64) -> (f64, f64) {
        self.trace
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .fold((f64::MAX, 0.0), |(lo, hi), &(_, e)| (lo.min(f64::from(e)), hi.max(f64::from(e))))
    }

    /// Convergence time: the first time the estimate is within ±`enter` of `target` and
    /// after which it stays within ±`stay` until `until` s.
    fn settle_time(&self, target: f64, enter: f64, stay: f64, until: f64) -> f64 {
        let within = |e: u32, tol: f64| (f64::from(e) - target).abs() <= tol * target;
        let trace: Vec<(f64, u32)> = self.trace.iter().copied().filter(|(t, _)| *t < until).collect();
        let last_out = trace.iter().rposition(|&(_, e)| !within(e, stay)).map_or(0, |i| i + 1);
        trace[last_out..].iter().find(|&&(_, e)| within(e, enter)).map_or(f64::INFINITY, |(t, _)| *t)
    }

    /// Mean and maximum bottleneck queue delay over [from, to) s, ms.
    fn queue(&self, from: f64, to: f64) -> (f64, f64) {
        let samples: Vec<f64> = self.queue_trace.iter().filter(|(t, _)| *t >= from && *t < to).map(|q| q.1).collect();
        let mean = samples.iter().sum::<f64>() / samples.len().max(1) as f64;
        (mean, samples.iter().copied().fold(0.0, f64::max))
    }

    /// First time the estimate reaches `level` after `from` s.
    fn time_to_reach(&self, level: f64, from: f64) -> Option<f64> {
        self.trace.iter().find(|(t, e)| *t >= from && f64::from(*e) >= level).map(|(t, _)| t - from)
    }
}

/// Convergence time and the extreme estimates over 10 s windows after it.
fn convergence(sim: &Sim, capacity: f64, end: f64) -> (f64, (f64, f64)) {
    let settle = sim.settle_time(capacity, 0.20, 0.25, end);
    let mut worst: (f64, f64) = (f64::MAX, 0.0);
    let mut from = settle.max(8.0);
    while from + 10.0 <= end {
        let (lo, hi) = sim.range(from, from + 10.0);
        worst = (worst.0.min(lo), worst.1.max(hi));
        from += 1.0;
    }
    (settle, worst)
}

#[test]
#[ignore]
fn convergence_matrix() {
    for capacity in [300_000.0, 1_000_000.0, 3_000_000.0] {
        for frames in [true, false] {
            for prop_ms in [10.0, 25.0, 50.0, 100.0] {
                for fb_ms in [50, 100] {
                    let mut line = String::new();
                    for seed in 1..=4u64 {
                        let mut link = Link::new(capacity);
                        link.prop_ms = prop_ms;
                        let mut sim = Sim::new(link, Media::Greedy(5_000_000.0), frames, seed);
                        sim.feedback_interval_us = fb_ms * 1000;
                        sim.run_until(40.0);
                        let (settle, (lo, hi)) = convergence(&sim, capacity, 40.0);
                        line += &format!(" {settle:4.1}s {:+3.0}%..{:+3.0}%", (lo / capacity - 1.0) * 100.0, (hi / capacity - 1.0) * 100.0);
                    }
                    eprintln!("{:>5}k {} prop {prop_ms:>3} fb {fb_ms:>3}:{line}", capacity / 1000.0, if frames { "F" } else { "P" });
                }
            }
        }
    }
}

fn converge(capacity: f64, frames: bool) {
    let mut sim = Sim::new(Link::new(capacity), Media::Greedy(5_000_000.0), frames, 0x5eed + capacity as u64);
    sim.run_until(40.0);
    if std::env::var_os("BWE_TRACE").is_some() {
        eprintln!("trace {capacity} {frames}: {:?}", sim.trace);
    }
    let (settle, worst) = convergence(&sim, capacity, 40.0);
    let (queue_mean, queue_max) = sim.queue(10.0, 40.0);
    let late_probes = sim.probes.iter().filter(|(t, _)| *t > 2.0).count();
    eprintln!(
        "converge {:>5} kbit/s ({}): within ±20% (staying within ±25%) after {:.1} s; 10 s windows afterwards: \
         {:.0}..{:.0} kbit/s ({:+.0}%..{:+.0}%); queue 10-40 s mean {:.0} ms max {:.0} ms; probes after 2 s: {}",
        capacity / 1000.0,
        if frames { "frames" } else { "paced" },
        settle,
        worst.0 / 1000.0,
        worst.1 / 1000.0,
        (worst.0 / capacity - 1.0) * 100.0,
        (worst.1 / capacity - 1.0) * 100.0,
        queue_mean,
        queue_max,
        late_probes,
    );
    assert!(settle <= 8.0, "settled after {settle} s");
    assert!(worst.0 >= 0.75 * capacity && worst.1 <= 1.25 * capacity, "oscillates {worst:?}");

    // Without probing (an engine that cannot send padding): AIMD alone, from 600 kbit/s.
    let mut sim = Sim::new(Link::new(capacity), Media::Greedy(5_000_000.0), frames, 0x5eed + capacity as u64);
    sim.probing = false;
    sim.run_until(60.0);
    let (settle, worst) = convergence(&sim, capacity, 60.0);
    eprintln!(
        "  without probing: within ±20% (staying within ±25%) after {:.1} s; afterwards {:+.0}%..{:+.0}%",
        settle,
        (worst.0 / capacity - 1.0) * 100.0,
        (worst.1 / capacity - 1.0) * 100.0,
    );
    assert!(worst.0 >= 0.75 * capacity && worst.1 <= 1.25 * capacity, "oscillates {worst:?}");
}

#[test]
fn capacity_drop_is_followed() {
    let mut sim = Sim::new(Link::new(3_000_000.0), Media::Greedy(5_000_000.0), true, 21);
    sim.run_until(20.0);
    sim.link.rate_bps = 1_000_000.0;
    sim.run_until(40.0);
    let within = sim.settle_time(1_000_000.0, 0.20, 0.25, 40.0) - 20.0;
    let (lo, hi) = sim.range(25.0, 40.0);
    let (queue_mean, queue_max) = sim.queue(25.0, 40.0);
    eprintln!(
        "capacity 3M -> 1M at 20 s: within ±20% after {within:.1} s; 25-40 s {:.0}..{:.0} kbit/s; queue mean {queue_mean:.0} ms max {queue_max:.0} ms",
        lo / 1000.0,
        hi / 1000.0
    );
    assert!(within <= 3.0, "{within}");
    assert!(queue_mean < 100.0, "standing queue {queue_mean} ms");
}

#[test]
fn converges_300k() {
    converge(300_000.0, true);
    converge(300_000.0, false);
}

#[test]
fn converges_1m() {
    converge(1_000_000.0, true);
    converge(1_000_000.0, false);
}

#[test]
fn converges_3m() {
    converge(3_000_000.0, true);
    converge(3_000_000.0, false);
}

const LAYERS: &[f64] = &[150_000.0, 500_000.0, 1_200_000.0, 2_500_000.0, 4_000_000.0];

fn lift(media: Media, label: &str) -> Option<f64> {
    let mut sim = Sim::new(Link::new(400_000.0), media, true, 77);
    sim.run_until(20.0);
    let before = sim.bwe.available_bitrate();
    sim.link.rate_bps = 5_000_000.0;
    sim.run_until(40.0);
    if std::env::var_os("BWE_TRACE").is_some() {
        eprintln!("trace {label}: {:?}", &sim.trace[190..]);
    }
    let reached = sim.time_to_reach(3_000_000.0, 20.0);
    let (lo, hi) = sim.range(30.0, 40.0);
    let probes: Vec<(f64, u32)> = sim.probes.iter().filter(|(t, _)| *t > 1.0).map(|(t, c)| ((t * 10.0).round() / 10.0, c.bitrate / 1000)).collect();
    eprintln!("  probes after 1 s (s, kbit/s): {probes:?}");
    eprintln!(
        "lift 400k -> 5M ({label}): before {} kbit/s, >= 3 Mbit/s after {:?} s, 30-40 s: {:.0}..{:.0} kbit/s",
        before / 1000,
        reached,
        lo / 1000.0,
        hi / 1000.0
    );
    reached
}

#[test]
fn bottleneck_lift_app_limited() {
    let reached = lift(Media::Layers(LAYERS), "simulcast layers, app-limited");
    assert!(reached.is_some_and(|t| t <= 10.0), "{reached:?}");
}

#[test]
fn bottleneck_lift_greedy() {
    let reached = lift(Media::Greedy(8_000_000.0), "greedy 8 Mbit/s");
    assert!(reached.is_some_and(|t| t <= 10.0), "{reached:?}");
}

#[test]
fn random_loss_lowers_and_settles() {
    let mut link = Link::new(100_000_000.0);
    link.max_queue_ms = 1000.0;
    let mut sim = Sim::new(link, Media::Greedy(5_000_000.0), true, 1234);
    sim.run_until(15.0);
    let (before, _) = sim.range(10.0, 15.0);
    sim.link.loss = 0.10;
    sim.run_until(135.0);
    let ranges: Vec<(f64, f64)> = (0..6).map(|i| sim.range(15.0 + 20.0 * f64::from(i), 35.0 + 20.0 * f64::from(i))).collect();
    eprintln!(
        "10% random loss from 15 s: before {:.0} kbit/s; per 20 s: {}",
        before / 1000.0,
        ranges.iter().map(|(lo, hi)| format!("{:.0}..{:.0}", lo / 1000.0, hi / 1000.0)).collect::<Vec<_>>().join(", ")
    );
    let (lo, hi) = sim.range(55.0, 135.0);
    assert!(hi < 0.8 * before, "did not drop");
    assert!(lo >= 0.8 * hi, "not settled: {lo}..{hi} over the last 80 s");
    assert!(lo >= 1_000_000.0, "collapsed to {lo}");
}

#[test]
fn startup_probes() {
    let mut bwe = SendSideBwe::new(BweConfig::default(), 1000);
    let a = bwe.poll_probe(1000).map(|c| c.bitrate);
    let b = bwe.poll_probe(1000).map(|c| c.bitrate);
    assert_eq!((a, b), (Some(1_800_000), Some(3_600_000)));
    assert_eq!(bwe.poll_probe(1000), None);

    // In the simulator: both start-up clusters within the first 100 ms, then exponential
    // probing on an unconstrained path.
    let mut sim = Sim::new(Link::new(50_000_000.0), Media::Greedy(5_000_000.0), true, 9);
    sim.run_until(3.0);
    let early: Vec<u32> = sim.probes.iter().filter(|(t, _)| *t < 0.1).map(|(_, c)| c.bitrate).collect();
    let all: Vec<(f64, u32)> = sim.probes.iter().map(|(t, c)| (*t, c.bitrate)).collect();
    eprintln!("probes on a 50 Mbit/s path: {all:?}; estimate at 3 s {}", sim.bwe.available_bitrate());
    assert_eq!(early, vec![1_800_000, 3_600_000]);
    assert!(sim.bwe.available_bitrate() >= 5_000_000);

    // Capped at the maximum.
    let cfg = BweConfig { initial_bitrate: 600_000, min_bitrate: 30_000, max_bitrate: 2_000_000 };
    let mut bwe = SendSideBwe::new(cfg, 0);
    assert_eq!(bwe.poll_probe(0).map(|c| c.bitrate), Some(1_800_000));
    assert_eq!(bwe.poll_probe(0).map(|c| c.bitrate), Some(2_000_000));
    assert_eq!(bwe.poll_probe(0), None);
}

#[test]
fn alr_detection() {
    let mut sim = Sim::new(Link::new(20_000_000.0), Media::Layers(&[400_000.0]), true, 5);
    sim.run_until(10.0);
    let estimate = sim.bwe.available_bitrate();
    let alr_since = sim.alr_trace.iter().rev().take_while(|(_, a)| *a).last().map(|(t, _)| *t);
    eprintln!("app-limited 400 kbit/s: estimate {estimate}, in ALR since {alr_since:?} s");
    assert!(estimate > 1_000_000);
    assert!(sim.bwe.in_alr());

    let mut sim = Sim::new(Link::new(3_000_000.0), Media::Greedy(5_000_000.0), true, 6);
    sim.run_until(20.0);
    let alr_share = sim.alr_trace.iter().filter(|(t, a)| *t > 10.0 && *a).count();
    assert!(!sim.bwe.in_alr());
    assert_eq!(alr_share, 0, "greedy sender seen in ALR");
}

#[test]
fn spurious_overuse_in_alr_backs_off_gently() {
    // An SFU sending a 2.5 Mbit/s layer on a 10 Mbit/s path; for 0.5 s, cross traffic
    // overloads the bottleneck (its queue grows by 10 ms every 25 ms).
    let mut sim = Sim::new(Link::new(10_000_000.0), Media::Layers(&[2_500_000.0]), true, 8);
    sim.run_until(10.0);
    let before = sim.bwe.available_bitrate();
    for i in 0..20 {
        sim.run_until(10.0 + f64::from(i) * 0.025);
        sim.busy_until_us = sim.busy_until_us.max(sim.now_us as f64) + 35_000.0;
    }
    sim.run_until(20.0);
    let (lo, _) = sim.range(10.0, 20.0);
    eprintln!("ALR, 2.5 Mbit/s sent, 0.5 s of cross traffic: estimate {before} -> min {lo:.0}");
    assert!(sim.bwe.in_alr());
    assert!(lo > 2_500_000.0, "estimate fell below what is sent: {lo}");
}

#[test]
fn remb_only_and_cap() {
    let mut bwe = SendSideBwe::new(BweConfig::default(), 0);
    bwe.on_remb(2_000_000, 10);
    assert_eq!(bwe.available_bitrate(), 2_000_000);
    assert_eq!(bwe.poll_probe(10), None);
    bwe.on_remb(0, 20);
    assert_eq!(bwe.available_bitrate(), 30_000);
    bwe.on_remb(u32::MAX, 30);
    assert_eq!(bwe.available_bitrate(), 10_000_000);

    // With transport-cc, REMB only caps.
    let mut sim = Sim::new(Link::new(50_000_000.0), Media::Greedy(5_000_000.0), true, 3);
    sim.run_until(3.0);
    sim.bwe.on_remb(700_000, sim.now_ms());
    assert_eq!(sim.bwe.available_bitrate(), 700_000);
}

#[test]
fn min_max_bounds() {
    let mut bwe = SendSideBwe::new(BweConfig { initial_bitrate: 0, min_bitrate: 0, max_bitrate: 0 }, 0);
    assert!(bwe.available_bitrate() >= FLOOR_BPS);
    bwe.set_min_max(500_000, 100_000);
    assert_eq!(bwe.available_bitrate(), 500_000);
    bwe.set_min_max(30_000, 10_000_000);
    assert_eq!(bwe.available_bitrate(), 500_000);
    // The estimate sat at the old maximum: raising it probes.
    let _ = bwe.poll_probe(0);
    while bwe.poll_probe(0).is_some() {}
    let mut bwe = SendSideBwe::new(BweConfig { initial_bitrate: 1_000_000, min_bitrate: 30_000, max_bitrate: 1_000_000 }, 0);
    while bwe.poll_probe(0).is_some() {}
    bwe.set_min_max(30_000, 5_000_000);
    assert_eq!(bwe.poll_probe(10).map(|c| c.bitrate), Some(5_000_000));
}

#[test]
fn history_unwraps_and_bounds() {
    let mut h = history::SendHistory::default();
    for i in 0..100_000u32 {
        h.on_sent(i as u16, 100, i64::from(i) * 100, None);
    }
    assert!(h.len() <= 1 << 14);
    assert!(h.get_mut(99_999u32 as u16).is_some());
    assert!(h.get_mut((99_999u32 - 20_000) as u16).is_none());
}

#[test]
fn garbage_never_panics() {
    let rounds = std::env::var("BWE_FUZZ_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(200u64);
    let mut rng = Rng(42 + rounds);
    for round in 0..rounds {
        let cfg = BweConfig {
            initial_bitrate: rng.next_u64() as u32 >> (rng.next_u64() % 32),
            min_bitrate: rng.next_u64() as u32 >> (rng.next_u64() % 32),
            max_bitrate: rng.next_u64() as u32 >> (rng.next_u64() % 32),
        };
        let mut bwe = SendSideBwe::new(cfg, rng.next_u64() >> (rng.next_u64() % 64));
        let mut now: u64 = rng.next_u64() % 1_000_000;
        let mut seq: u16 = rng.next_u64() as u16;
        let mut results = Vec::new();
        for _ in 0..2_000 {
            match rng.next_u64() % 10 {
                0..=3 => {
                    let jump = match rng.next_u64() % 20 {
                        0 => rng.next_u64() as u16,
                        1 => 0,
                        _ => 1,
                    };
                    seq = seq.wrapping_add(jump);
                    let size = match rng.next_u64() % 10 {
                        0 => 0,
                        1 => usize::MAX,
                        _ => (rng.next_u64() % 1500) as usize,
                    };
                    let probe = (rng.next_u64() % 5 == 0).then(|| (rng.next_u64() % 4) as u32);
                    bwe.on_packet_sent(seq, size, now, probe);
                }
                4..=6 => {
                    results.clear();
                    let base = seq.wrapping_sub((rng.next_u64() % 300) as u16);
                    let mut arrival = (rng.next_u64() as i64) >> (rng.next_u64() % 64);
                    for k in 0..(rng.next_u64() % 200) {
                        let s = match rng.next_u64() % 10 {
                            0 => rng.next_u64() as u16,
                            1 => base,
                            _ => base.wrapping_add(k as u16),
                        };
                        arrival = match rng.next_u64() % 10 {
                            0 => i64::MIN,
                            1 => i64::MAX,
                            2 => arrival.wrapping_sub(rng.next_u64() as i64 % 1_000_000),
                            3 => rng.next_u64() as i64,
                            _ => arrival.wrapping_add((rng.next_u64() % 20_000) as i64),
                        };
                        let r = (rng.next_u64() % 8 != 0).then_some(arrival);
                        results.push((s, r));
                    }
                    bwe.on_feedback(&results, now);
                }
                7 => bwe.on_rtt(rng.next_u64() as u32 >> (rng.next_u64() % 32), now),
                8 => match rng.next_u64() % 4 {
                    0 => bwe.on_remb(rng.next_u64() as u32, now),
                    1 => bwe.set_min_max(rng.next_u64() as u32 >> 8, rng.next_u64() as u32 >> 4),
                    _ => while bwe.poll_probe(now).is_some() {},
                },
                _ => bwe.handle_timeout(now),
            }
            now = match rng.next_u64() % 50 {
                0 => now.saturating_sub(rng.next_u64() % 10_000),
                1 => now.saturating_add(rng.next_u64() >> (rng.next_u64() % 64)),
                2 => u64::MAX,
                _ => now.saturating_add(rng.next_u64() % 30),
            };
            let e = bwe.available_bitrate();
            assert!(e > 0, "round {round}: zero estimate");
            assert!(bwe.is_sane(), "round {round}: insane state {bwe:?}");
            let _ = bwe.in_alr();
            let _ = bwe.acked_bitrate();
        }
    }
}

#[test]
fn duplicate_and_reordered_feedback_is_harmless() {
    let mut sim = Sim::new(Link::new(1_000_000.0), Media::Greedy(5_000_000.0), true, 11);
    sim.run_until(10.0);
    let before = sim.bwe.available_bitrate();
    // Replay old feedback, out of order, twice: all entries are duplicates now.
    let seq = sim.next_seq;
    let stale: Vec<(u16, Option<i64>)> =
        (0..300).rev().map(|k| ((seq - 150 - k) as u16, Some(k * 1000 + RECEIVER_CLOCK_OFFSET_US))).collect();
    let now = sim.now_ms();
    sim.bwe.on_feedback(&stale, now);
    sim.bwe.on_feedback(&stale, now);
    assert!(sim.bwe.is_sane());
    let after = sim.bwe.available_bitrate();
    assert!(f64::from(after) >= 0.8 * f64::from(before), "{before} -> {after}");
}
