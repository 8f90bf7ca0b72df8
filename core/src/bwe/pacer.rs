//! A pacer for what a transport sends, sans-IO: a leaky bucket at a multiple of the bandwidth
//! estimate that lets ordinary frames through at once and spreads bursts (key frames, layer
//! switches, several consumers' frames at the same instant) over time, so a shallow
//! bottleneck queue does not drop their tail.
//!
//! - The budget fills at the pacing rate (the caller sets it, `2.5 x estimate` as in
//!   libwebrtc) up to [`BURST_MS`] worth of bytes; a packet may leave when the budget is
//!   positive and nothing waits before it, and takes its size off the budget.
//! - Otherwise the caller [`Pacer::enqueue`]s it (one copy into a pooled buffer) and sends
//!   what [`Pacer::poll`] hands back from a timer, in order.
//! - Urgent packets (audio, retransmissions) never wait; they still spend budget.
//! - Nothing is dropped: when the queue would take longer than [`MAX_QUEUE_MS`] (counted from
//!   when its oldest packet arrived) to drain at the pacing rate, the drain speeds up to
//!   empty it in time; past [`MAX_QUEUE_PACKETS`] packets go straight out.
//!
//! Times are the engine's monotonic clock in ms, passed in.

use std::collections::VecDeque;

/// Budget cap: bursts up to this much time at the pacing rate leave at once, ms.
pub const BURST_MS: u64 = 40;
/// Smallest budget cap, bytes (two full packets, whatever the rate).
const MIN_BURST_BYTES: f64 = 3_000.0;
/// Longest a packet waits: the drain speeds up to keep the queue under it, ms. Short, because
/// an SFU cannot make a frame smaller: a key frame of a low layer held back at 2.5 x a low
/// estimate (loss and jitter make it low) would reach the viewer late enough to count as a
/// freeze. With 100 ms the browser loss test saw no more freezes than without a pacer.
pub const MAX_QUEUE_MS: u64 = 100;
/// Packets held at most; more go out unpaced.
pub const MAX_QUEUE_PACKETS: usize = 4_096;
/// Budget debt at most (urgent packets sent above the rate), in ms at the pacing rate.
const MAX_DEBT_MS: f64 = 500.0;
/// Lowest pacing rate, bps.
const MIN_RATE_BPS: f64 = 50_000.0;
/// Pooled buffers kept for reuse.
const POOL: usize = 64;

/// A packet waiting, with the caller's tag (e.g. its transport-wide-cc extension id).
#[derive(Debug)]
struct Queued<T> {
    buf: Vec<u8>,
    tag: T,
    at_ms: u64,
}

/// What [`Pacer::poll`] says.
#[derive(Debug, PartialEq, Eq)]
pub enum PacerPoll<T> {
    /// Send this packet now (then give the buffer back with [`Pacer::recycle`]).
    Send(Vec<u8>, T),
    /// The next packet may leave in this many ms.
    Wait(u64),
    /// Nothing waits.
    Empty,
}

/// The pacer of one transport. See the [module docs](self).
#[derive(Debug)]
pub struct Pacer<T> {
    rate_bps: f64,
    budget: f64,
    last_ms: Option<u64>,
    queue: VecDeque<Queued<T>>,
    queued_bytes: usize,
    pool: Vec<Vec<u8>>,
    /// Packets that waited, and the longest wait (stats), ms.
    paced_packets: u64,
}

impl<T> Pacer<T> {
    /// A pacer at `rate_bps`, with a full budget.
    pub fn new(rate_bps: u32) -> Self {
        let rate_bps = f64::from(rate_bps).max(MIN_RATE_BPS);
        Self { rate_bps, budget: burst_bytes(rate_bps), last_ms: None, queue: VecDeque::new(), queued_bytes: 0, pool: Vec::new(), paced_packets: 0 }
    }

    /// Sets the pacing rate, bps.
    pub fn set_rate(&mut self, rate_bps: u32) {
        self.rate_bps = f64::from(rate_bps).max(MIN_RATE_BPS);
    }

    /// The pacing rate, bps.
    pub fn rate(&self) -> u32 {
        self.rate_bps as u32
    }

    /// Packets waiting.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Bytes waiting.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Packets that had to wait since the pacer was created.
    pub fn paced_packets(&self) -> u64 {
        self.paced_packets
    }

    /// The rate the queue drains at: the pacing rate, or faster when that would keep its
    /// oldest packet longer than [`MAX_QUEUE_MS`].
    fn drain_rate(&self, now_ms: u64) -> f64 {
        let Some(head) = self.queue.front() else { return self.rate_bps };
        let left_ms = MAX_QUEUE_MS.saturating_sub(now_ms.saturating_sub(head.at_ms)).max(10);
        let backlog = self.queued_bytes as f64 * 8.0 * 1000.0 / left_ms as f64;
        self.rate_bps.max(backlog)
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed = match self.last_ms {
            Some(last) => now_ms.saturating_sub(last),
            None => 0,
        };
        if self.last_ms.is_none() || now_ms > self.last_ms.unwrap_or(0) {
            self.last_ms = Some(now_ms);
        }
        if elapsed > 0 {
            let rate = self.drain_rate(now_ms);
            self.budget = (self.budget + rate / 8.0 * elapsed as f64 / 1000.0).min(burst_bytes(rate));
        }
    }

    fn spend(&mut self, size: usize) {
        let floor = -self.rate_bps / 8.0 * MAX_DEBT_MS / 1000.0;
        self.budget = (self.budget - size as f64).max(floor);
    }

    /// Whether a packet of `size` bytes may leave now (and if so, its size is spent): always
    /// for `urgent` ones, else when the budget is positive and nothing waits.
    pub fn admit(&mut self, now_ms: u64, size: usize, urgent: bool) -> bool {
        self.refill(now_ms);
        let go = urgent || (self.queue.is_empty() && self.budget > 0.0) || self.queue.len() >= MAX_QUEUE_PACKETS;
        if go {
            self.spend(size);
        }
        go
    }

    /// Holds a copy of `data` until [`Pacer::poll`] lets it go.
    pub fn enqueue(&mut self, now_ms: u64, data: &[u8], tag: T) {
        let mut buf = self.pool.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(data);
        self.queued_bytes += buf.len();
        self.paced_packets += 1;
        self.queue.push_back(Queued { buf, tag, at_ms: now_ms });
    }

    /// The next packet due at `now_ms`, or how long until one is.
    pub fn poll(&mut self, now_ms: u64) -> PacerPoll<T> {
        self.refill(now_ms);
        if self.queue.is_empty() {
            return PacerPoll::Empty;
        }
        if self.budget <= 0.0 {
            let ms = (-self.budget * 8.0 * 1000.0 / self.drain_rate(now_ms)).ceil().max(1.0);
            return PacerPoll::Wait(ms.min(1000.0) as u64);
        }
        let Some(q) = self.queue.pop_front() else { return PacerPoll::Empty };
        self.queued_bytes = self.queued_bytes.saturating_sub(q.buf.len());
        self.spend(q.buf.len());
        PacerPoll::Send(q.buf, q.tag)
    }

    /// Gives a sent packet's buffer back for reuse.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if self.pool.len() < POOL && buf.capacity() <= 2048 {
            self.pool.push(buf);
        }
    }
}

/// Window of the [`RetransmissionLimiter`], ms, in [`RTX_BUCKETS`] buckets.
const RTX_WINDOW_MS: u64 = 1_000;
const RTX_BUCKETS: usize = 10;

/// Caps what a transport resends at its bandwidth estimate over the last second (libwebrtc's
/// retransmission rate limiter does the same). A receiver behind a bottleneck NACKs every
/// packet the bottleneck dropped; retransmissions skip the pacer's queue (they are late
/// already), and answering all of them on top of the media is what overflows the bottleneck
/// next, until the estimate collapses. Refused retransmissions are not sent: the receiver asks
/// again, or a key frame repairs the stream.
#[derive(Debug, Default)]
pub struct RetransmissionLimiter {
    /// Bytes resent per bucket of `RTX_WINDOW_MS / RTX_BUCKETS` ms, the current one at
    /// `newest % RTX_BUCKETS`.
    buckets: [u32; RTX_BUCKETS],
    /// Index (time / bucket length) of the newest bucket, once started.
    newest: Option<u64>,
}

impl RetransmissionLimiter {
    /// True (and `size` counted) when resending `size` bytes at `now_ms` keeps what was resent
    /// over the last second within `max_bps`.
    pub fn try_use(&mut self, now_ms: u64, size: usize, max_bps: u32) -> bool {
        let bucket_ms = RTX_WINDOW_MS / RTX_BUCKETS as u64;
        let slot = now_ms / bucket_ms;
        match self.newest {
            Some(n) if slot > n => {
                for k in (n + 1..=slot).take(RTX_BUCKETS) {
                    self.buckets[(k % RTX_BUCKETS as u64) as usize] = 0;
                }
                self.newest = Some(slot);
            }
            Some(_) => {} // same bucket (or a clock step back: counted in the newest one)
            None => self.newest = Some(slot),
        }
        let used: u64 = self.buckets.iter().map(|&b| u64::from(b)).sum();
        let allowed = u64::from(max_bps) * RTX_WINDOW_MS / 1000 / 8;
        if used + size as u64 > allowed {
            return false;
        }
        let i = (self.newest.unwrap_or(slot) % RTX_BUCKETS as u64) as usize;
        self.buckets[i] = self.buckets[i].saturating_add(size.min(u32::MAX as usize) as u32);
        true
    }
}

fn burst_bytes(rate_bps: f64) -> f64 {
    (rate_bps / 8.0 * BURST_MS as f64 / 1000.0).max(MIN_BURST_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Offers `frames` (each `(at_ms, packets)` of 1200 bytes) and drains every ms; returns
    /// the send time of every packet.
    fn simulate(p: &mut Pacer<u32>, frames: &[(u64, usize)], until_ms: u64) -> Vec<u64> {
        let mut sent = vec![];
        let mut id = 0u32;
        for now in 0..until_ms {
            for &(at, n) in frames.iter().filter(|f| f.0 == now) {
                let _ = at;
                for _ in 0..n {
                    id += 1;
                    if p.admit(now, 1200, false) {
                        sent.push(now);
                    } else {
                        p.enqueue(now, &[0u8; 1200], id);
                    }
                }
            }
            loop {
                match p.poll(now) {
                    PacerPoll::Send(buf, _) => {
                        sent.push(now);
                        p.recycle(buf);
                    }
                    PacerPoll::Wait(ms) => {
                        assert!(ms >= 1);
                        break;
                    }
                    PacerPoll::Empty => break,
                }
            }
        }
        sent
    }

    #[test]
    fn small_frames_go_at_once_and_a_key_frame_is_spread_at_the_rate() {
        // 2.4 Mbps: the 40 ms burst is 12 000 bytes = 10 packets.
        let mut p = Pacer::new(2_400_000);
        // Delta frames of 3 packets every 33 ms leave the instant they are offered.
        let frames: Vec<(u64, usize)> = (0..10).map(|i| (i * 33, 3)).collect();
        let sent = simulate(&mut p, &frames, 400);
        for (i, t) in sent.iter().enumerate() {
            assert_eq!(*t, (i as u64 / 3) * 33, "delta frame packet {i} delayed");
        }
        // A 30-packet key frame (36 kB) at 2.4 Mbps: 10 at once, the rest at 4 ms each.
        let mut p = Pacer::new(2_400_000);
        let sent = simulate(&mut p, &[(0, 30)], 1_000);
        assert_eq!(sent.len(), 30);
        assert_eq!(sent.iter().filter(|t| **t == 0).count(), 10, "the burst allowance");
        let last = *sent.last().unwrap_or(&0);
        assert!((70..=90).contains(&last), "20 packets at 2.4 Mbps take ~80 ms, took {last}");
        // Spread evenly: never more than 2 packets in one ms after the burst.
        for ms in 1..last {
            assert!(sent.iter().filter(|t| **t == ms).count() <= 2, "burst at {ms} ms");
        }
        assert_eq!(p.queued(), 0);
        assert_eq!(p.paced_packets(), 20);
    }

    #[test]
    fn retransmissions_stay_within_the_rate_over_the_last_second() {
        let mut l = RetransmissionLimiter::default();
        // 400 kbit/s: 50,000 bytes a second.
        let sent = (0..100).filter(|_| l.try_use(1_000, 1_200, 400_000)).count();
        assert_eq!(sent, 41, "41 x 1200 B fit in 50 kB");
        assert!(l.try_use(1_050, 800, 400_000), "what is left still fits");
        assert!(!l.try_use(1_999, 1_200, 400_000), "the same second");
        // A bucket (100 ms) later the first one has left the window.
        assert!(l.try_use(2_000, 1_200, 400_000));
        // Ten seconds of silence empty it; a higher estimate allows more.
        let sent = (0..100).filter(|_| l.try_use(12_000, 1_200, 800_000)).count();
        assert_eq!(sent, 83);
        // A clock step back counts in the newest bucket instead of reopening old ones.
        assert!(!l.try_use(11_000, 1_200, 800_000));
        // No estimate room at all: nothing is resent.
        let mut z = RetransmissionLimiter::default();
        assert!(!z.try_use(0, 100, 0));
    }

    #[test]
    fn order_is_kept_and_urgent_packets_pass() {
        let mut p: Pacer<u32> = Pacer::new(100_000);
        // Use up the budget, then queue three packets.
        assert!(p.admit(0, 3_000, false));
        assert!(!p.admit(0, 1200, false));
        for i in 1..=3 {
            p.enqueue(0, &[i as u8; 1200], i);
        }
        // Audio or a retransmission goes at once even with a queue, and spends budget.
        assert!(p.admit(0, 200, true));
        // While a queue exists a normal packet must queue behind it, whatever the budget.
        assert!(!p.admit(10_000, 1200, false));
        p.enqueue(10_000, &[4; 1200], 4);
        let mut order = vec![];
        let mut now = 10_000;
        while order.len() < 4 {
            match p.poll(now) {
                PacerPoll::Send(buf, tag) => {
                    assert_eq!(buf[0] as u32, tag);
                    order.push(tag);
                    p.recycle(buf);
                }
                PacerPoll::Wait(ms) => now += ms,
                PacerPoll::Empty => break,
            }
        }
        assert_eq!(order, vec![1, 2, 3, 4]);
        assert_eq!(p.poll(now), PacerPoll::Empty);
    }

    #[test]
    fn a_big_backlog_drains_within_the_queue_limit() {
        // 500 packets (600 kB) at 200 kbps would take 24 s; the drain speeds up instead, and no
        // packet waits much longer than the limit.
        let mut p = Pacer::new(200_000);
        let sent = simulate(&mut p, &[(0, 500)], 3_000);
        assert_eq!(sent.len(), 500);
        let last = *sent.last().unwrap_or(&0);
        assert!(last <= MAX_QUEUE_MS + 50, "drained in {last} ms");
    }

    #[test]
    fn the_queue_is_bounded() {
        let mut p = Pacer::new(50_000);
        assert!(p.admit(0, 100_000, false));
        for i in 0..MAX_QUEUE_PACKETS {
            assert!(!p.admit(0, 1200, false));
            p.enqueue(0, &[0; 1200], i);
        }
        assert!(p.admit(0, 1200, false), "a full queue lets packets through unpaced");
        assert_eq!(p.queued(), MAX_QUEUE_PACKETS);
    }

    #[test]
    fn time_going_backwards_is_no_time() {
        let mut p: Pacer<()> = Pacer::new(1_000_000);
        assert!(p.admit(1_000, 5_000, false));
        assert!(!p.admit(500, 1_200, false));
        p.enqueue(500, &[0; 1200], ());
        assert!(matches!(p.poll(0), PacerPoll::Wait(_)));
        assert!(matches!(p.poll(1_100), PacerPoll::Send(..)));
    }
}
