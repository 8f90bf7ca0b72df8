//! Receive-side bandwidth estimation from abs-send-time, sans-IO: what this transport can
//! receive from its remote (mediasoup's `availableIncomingBitrate`), and the REMB
//! (draft-alvestrand-rmcat-remb) a publisher that does not use transport-cc ramps up by.
//!
//! The same delay-based machinery as the send side ([`super::SendSideBwe`]), fed locally:
//! every received packet carrying the abs-send-time extension (24-bit, 6.18 fixed-point
//! seconds, wrapping every 64 s) gives a send time on the remote's clock and an arrival time
//! on ours; [`InterArrival`] groups them into 5 ms send bursts, [`Trendline`] detects over-use
//! from the delay gradient, and [`Aimd`] moves the estimate with the incoming bitrate (over a
//! 500 ms arrival window, [`AckedBitrate`]) as its throughput: 0.85 x incoming on over-use,
//! +8 %/s (then additive near the learnt capacity) otherwise, never above 1.5 x incoming.
//!
//! There is no estimate until the incoming bitrate has been measured for a second; it then
//! starts at what arrives. [`ReceiveSideBwe::poll_remb`] says when to announce it: at once
//! when it fell by 3 % or more (at most every 200 ms), else every second.

use super::acked::AckedBitrate;
use super::aimd::Aimd;
use super::inter_arrival::InterArrival;
use super::trendline::{BandwidthUsage, Trendline};

/// abs-send-time units per second (6.18 fixed point).
const ABS_UNITS_PER_S: i64 = 1 << 18;
/// abs-send-time wraps at 2^24 units (64 s).
const ABS_WRAP: i64 = 1 << 24;
/// The estimate starts once the incoming bitrate has been measured this long, µs.
const INIT_US: i64 = 1_000_000;
/// REMB refresh interval, µs.
const REMB_INTERVAL_US: i64 = 1_000_000;
/// A decrease to below this fraction of the last REMB is announced at once ...
const REMB_DECREASE: f64 = 0.97;
/// ... but not more often than this, µs.
const REMB_MIN_INTERVAL_US: i64 = 200_000;
/// No packet for this long: the remote stopped; the next packet starts grouping afresh, µs.
const STREAM_TIMEOUT_US: i64 = 2_000_000;
/// Lowest and highest estimate, bps.
const MIN_BPS: f64 = 10_000.0;
const MAX_BPS: f64 = 100_000_000.0;

/// Receive-side estimator of one transport. See the [module docs](self).
#[derive(Debug)]
pub struct ReceiveSideBwe {
    inter_arrival: InterArrival,
    trendline: Trendline,
    aimd: Option<Aimd>,
    incoming: AckedBitrate,
    rtt_ms: f64,
    /// Last raw abs-send-time and its unwrapped value, µs.
    last_abs: Option<(u32, i64)>,
    last_arrival_us: Option<i64>,
    /// Arrival of the first packet since (re)start.
    first_arrival_us: Option<i64>,
    /// When and what the last REMB announced.
    last_remb: Option<(i64, u32)>,
}

impl Default for ReceiveSideBwe {
    fn default() -> Self {
        Self::new()
    }
}

impl ReceiveSideBwe {
    /// An estimator that has seen nothing.
    pub fn new() -> Self {
        Self {
            inter_arrival: InterArrival::default(),
            trendline: Trendline::default(),
            aimd: None,
            incoming: AckedBitrate::default(),
            rtt_ms: 200.0,
            last_abs: None,
            last_arrival_us: None,
            first_arrival_us: None,
            last_remb: None,
        }
    }

    /// A received RTP packet: its abs-send-time extension value (the low 24 bits count),
    /// its arrival time on the local clock in µs, and its size on the wire.
    pub fn on_packet(&mut self, abs_send_time: u32, arrival_us: i64, size: usize) {
        let raw = abs_send_time & 0x00ff_ffff;
        let stale = self.last_arrival_us.is_some_and(|t| arrival_us.saturating_sub(t) > STREAM_TIMEOUT_US);
        if stale {
            self.inter_arrival.reset();
            self.last_abs = None;
        }
        let send_us = match self.last_abs {
            None => i64::from(raw) * 1_000_000 / ABS_UNITS_PER_S,
            Some((last_raw, last_us)) => {
                // The shortest way round the 24-bit circle (a packet may be older).
                let mut delta = (i64::from(raw) - i64::from(last_raw)).rem_euclid(ABS_WRAP);
                if delta >= ABS_WRAP / 2 {
                    delta -= ABS_WRAP;
                }
                last_us.saturating_add(delta * 1_000_000 / ABS_UNITS_PER_S)
            }
        };
        if self.last_abs.map_or(true, |(_, last_us)| send_us >= last_us) {
            self.last_abs = Some((raw, send_us));
        }
        let arrival_us = arrival_us.max(self.last_arrival_us.unwrap_or(i64::MIN));
        self.last_arrival_us = Some(arrival_us);
        self.first_arrival_us.get_or_insert(arrival_us);
        self.incoming.on_packet(arrival_us, u32::try_from(size).unwrap_or(u32::MAX));
        if let Some(d) = self.inter_arrival.on_packet(send_us, arrival_us, arrival_us) {
            self.trendline.update(d.recv_ms, d.send_ms, d.arrival_ms);
            self.update(arrival_us);
        }
    }

    /// A round-trip time to the remote (from RTCP), ms: the additive increase's response time.
    pub fn on_rtt(&mut self, rtt_ms: f64) {
        if rtt_ms.is_finite() {
            self.rtt_ms = rtt_ms.clamp(1.0, 60_000.0);
            if let Some(a) = self.aimd.as_mut() {
                a.set_rtt(self.rtt_ms);
            }
        }
    }

    fn update(&mut self, now_us: i64) {
        let incoming = self.incoming.bitrate();
        let usage = self.trendline.state();
        if self.aimd.is_none() {
            let (Some(first), Some(rate)) = (self.first_arrival_us, incoming) else { return };
            if now_us.saturating_sub(first) < INIT_US {
                return;
            }
            let mut aimd = Aimd::new(rate.max(MIN_BPS), MIN_BPS, MAX_BPS);
            aimd.set_rtt(self.rtt_ms);
            self.aimd = Some(aimd);
        }
        let Some(aimd) = self.aimd.as_mut() else { return };
        if usage == BandwidthUsage::Overusing && !self.trendline.rising() {
            return; // the queue drains: the last decrease works
        }
        if usage == BandwidthUsage::Overusing {
            if let Some(rate) = incoming {
                if !aimd.time_to_reduce_further(now_us, rate, false) {
                    return;
                }
            }
        }
        aimd.update(usage, incoming, false, now_us);
        let _ = aimd.take_capacity_exceeded();
    }

    /// Periodic update (any interval up to a second), with the local clock in µs: lets the
    /// estimate grow while packets arrive steadily, and starts over when they stopped.
    pub fn handle_timeout(&mut self, now_us: i64) {
        if self.last_arrival_us.is_some_and(|t| now_us.saturating_sub(t) > STREAM_TIMEOUT_US) {
            self.incoming = AckedBitrate::default();
            self.first_arrival_us = None;
            self.trendline = Trendline::default();
            self.aimd = None;
            self.last_arrival_us = None;
        }
    }

    /// The estimate, bps, once there is one.
    pub fn estimate(&self) -> Option<u32> {
        self.aimd.as_ref().map(|a| a.estimate() as u32)
    }

    /// The bitrate arriving lately, bps, once measured.
    pub fn incoming_bitrate(&self) -> Option<u32> {
        self.incoming.bitrate().map(|b| b as u32)
    }

    /// What to announce now as REMB, when one is due: `bound` clamps the estimate (the
    /// transport's min/max incoming bitrate) and the clamped value is what is compared with
    /// the last announcement.
    pub fn poll_remb(&mut self, now_us: i64, bound: impl Fn(u32) -> u32) -> Option<u32> {
        let value = bound(self.estimate()?);
        let due = match self.last_remb {
            None => true,
            Some((at, last)) => {
                let since = now_us.saturating_sub(at);
                since >= REMB_INTERVAL_US || (since >= REMB_MIN_INTERVAL_US && f64::from(value) < REMB_DECREASE * f64::from(last))
            }
        };
        if due {
            self.last_remb = Some((now_us, value));
            Some(value)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// abs-send-time of `us` microseconds.
    fn abs(us: i64) -> u32 {
        ((us * ABS_UNITS_PER_S / 1_000_000) & (ABS_WRAP - 1)) as u32
    }

    /// A publisher sending `want(t)` bps (capped by the estimate it was last told, as a REMB
    /// sender does) in 1200-byte packets through a link of `capacity(t)` bps with a drop-tail
    /// queue of 300 ms and 20 ms propagation; every 100 ms the receiver announces its REMB.
    /// Returns (time s, remb) samples.
    fn run(seconds: i64, start_bps: f64, capacity: impl Fn(i64) -> f64, start_abs_us: i64) -> Vec<(f64, u32)> {
        let mut bwe = ReceiveSideBwe::new();
        let mut sender_rate = start_bps;
        let mut out = vec![];
        let mut link_free_us = 0i64;
        let mut next_send_us = 0i64;
        let mut next_tick_us = 100_000i64;
        let end = seconds * 1_000_000;
        while next_send_us < end {
            let t = next_send_us;
            while next_tick_us <= t {
                bwe.handle_timeout(next_tick_us);
                if let Some(r) = bwe.poll_remb(next_tick_us, |v| v) {
                    sender_rate = f64::from(r);
                    out.push((next_tick_us as f64 / 1e6, r));
                }
                next_tick_us += 100_000;
            }
            let cap = capacity(t);
            let service_us = (1200.0 * 8.0 * 1e6 / cap) as i64;
            let start = link_free_us.max(t);
            if start - t <= 300_000 {
                link_free_us = start + service_us;
                bwe.on_packet(abs(t + start_abs_us), link_free_us + 20_000, 1200);
            }
            next_send_us += (1200.0 * 8.0 * 1e6 / sender_rate.max(50_000.0)) as i64;
        }
        out
    }

    fn last(samples: &[(f64, u32)]) -> u32 {
        samples.last().map_or(0, |s| s.1)
    }

    #[test]
    fn ramps_up_on_a_free_link_and_stays_under_a_bottleneck() {
        // Free link: REMB grows from what arrives (300 kbps) by 8 %/s or more.
        let free = run(20, 300_000.0, |_| 50_000_000.0, 0);
        let first = free.first().map_or(0, |s| s.1);
        assert!((250_000..=400_000).contains(&first), "starts at what arrives: {first}");
        assert!(last(&free) > 1_000_000, "grows on a free link: {free:?}");
        // A 1 Mbps bottleneck: the REMB ends near it, not far above.
        let limited = run(40, 300_000.0, |_| 1_000_000.0, 0);
        let tail: Vec<u32> = limited.iter().filter(|s| s.0 > 30.0).map(|s| s.1).collect();
        assert!(!tail.is_empty());
        for r in &tail {
            assert!((500_000..=1_300_000).contains(r), "under a 1 Mbps bottleneck: {r} ({limited:?})");
        }
    }

    #[test]
    fn drops_when_capacity_drops_and_announces_it_at_once() {
        // 3 Mbps, then 500 kbps from t = 25 s.
        let samples = run(35, 2_500_000.0, |t| if t < 25_000_000 { 3_000_000.0 } else { 500_000.0 }, 0);
        let before: Vec<u32> = samples.iter().filter(|s| s.0 > 20.0 && s.0 < 25.0).map(|s| s.1).collect();
        assert!(before.iter().all(|r| *r > 1_500_000), "before the drop: {before:?}");
        let after: Vec<u32> = samples.iter().filter(|s| s.0 > 27.0).map(|s| s.1).collect();
        assert!(!after.is_empty() && after.iter().all(|r| *r < 700_000), "after the drop: {samples:?}");
        // Decreases were announced faster than once a second.
        let drops: Vec<&(f64, u32)> = samples.iter().filter(|s| s.0 > 25.0 && s.0 < 27.0).collect();
        assert!(drops.len() >= 3, "decreases announced at once: {drops:?}");
    }

    #[test]
    fn abs_send_time_wraps_every_64_s() {
        // Start 2 s before the wrap: crossing it must not look like a jump of 64 s.
        let samples = run(10, 1_000_000.0, |_| 20_000_000.0, 62_000_000);
        assert!(last(&samples) >= 1_000_000, "{samples:?}");
    }

    #[test]
    fn remb_throttle_and_bound() {
        let mut bwe = ReceiveSideBwe::new();
        assert_eq!(bwe.poll_remb(0, |v| v), None, "no estimate yet");
        for i in 0..200i64 {
            bwe.on_packet(abs(i * 10_000), i * 10_000, 1200);
        }
        let est = bwe.estimate().expect("estimate after 2 s");
        assert_eq!(bwe.poll_remb(2_000_000, |v| v.min(100_000)), Some(100_000.min(est)));
        assert_eq!(bwe.poll_remb(2_500_000, |v| v.min(100_000)), None, "not again within a second");
        assert!(bwe.poll_remb(3_000_000, |v| v.min(100_000)).is_some());
        // The stream stops: the estimate goes away and comes back from scratch.
        bwe.handle_timeout(10_000_000);
        assert_eq!(bwe.estimate(), None);
    }

    #[test]
    fn garbage_never_panics() {
        let mut bwe = ReceiveSideBwe::new();
        for (i, t) in [0i64, i64::MAX, i64::MIN, -5, 3, 1 << 40, 7].into_iter().enumerate() {
            bwe.on_packet(u32::MAX - i as u32, t, usize::MAX);
            bwe.on_packet(0, t, 0);
            bwe.handle_timeout(t);
            let _ = bwe.poll_remb(t, |v| v);
        }
        bwe.on_rtt(f64::NAN);
        assert!(bwe.estimate().map_or(true, |e| e >= 10_000));
    }
}
