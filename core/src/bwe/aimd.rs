//! AIMD rate controller of the delay-based estimate (draft-ietf-rmcat-gcc-02 §5.5).
//!
//! States hold / increase / decrease, driven by the over-use detector. Far from convergence the
//! rate grows multiplicatively (8 %/s); once an over-use has located the link capacity it grows
//! additively (about one packet per response time) while the acknowledged throughput stays
//! within three standard deviations of that capacity. On over-use the rate drops to 0.85 x the
//! acknowledged bitrate. Increases are capped at 1.5 x the acknowledged bitrate so an
//! application-limited sender does not inflate the estimate blindly.

use super::trendline::BandwidthUsage;

/// Multiplicative decrease factor applied to the acknowledged bitrate on over-use.
const BETA: f64 = 0.85;
/// Multiplicative increase per second far from convergence.
const MULTIPLICATIVE_INCREASE: f64 = 1.08;
/// Smallest multiplicative step, bps.
const MIN_MULTIPLICATIVE_STEP: f64 = 1_000.0;
/// Smallest additive increase rate, bps per second.
const MIN_ADDITIVE_RATE: f64 = 4_000.0;
/// Frame rate and packet size assumed for the additive increase rate.
const ASSUMED_FPS: f64 = 30.0;
const ASSUMED_PACKET_BITS: f64 = 1_200.0 * 8.0;
/// Added to the RTT to get the response time of the control loop, ms.
const RESPONSE_TIME_EXTRA_MS: f64 = 100.0;
/// Longest time step applied at once to an increase, s.
const MAX_INCREASE_STEP_S: f64 = 1.0;
/// Increase cap relative to the acknowledged bitrate: `1.5 x acked + 10 kbps`.
const ACKED_CAP_FACTOR: f64 = 1.5;
const ACKED_CAP_OFFSET: f64 = 10_000.0;
/// Before any acknowledged bitrate is known, over-use halves the rate at most this often, µs.
const INITIAL_DECREASE_INTERVAL_US: i64 = 200_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RcState {
    Hold,
    Increase,
    Decrease,
}

/// Running estimate of the link capacity (in kbps, as the deviation is normalised by it):
/// an average of the acknowledged bitrate at over-use, with its variance.
#[derive(Debug, Clone, Copy)]
struct LinkCapacity {
    estimate_kbps: Option<f64>,
    deviation: f64,
}

impl LinkCapacity {
    const ALPHA: f64 = 0.05;
    const MIN_DEVIATION: f64 = 0.4;
    const MAX_DEVIATION: f64 = 2.5;

    fn new() -> Self {
        Self { estimate_kbps: None, deviation: Self::MIN_DEVIATION }
    }

    fn spread_kbps(&self, estimate: f64) -> f64 {
        3.0 * (estimate * self.deviation).max(0.0).sqrt()
    }

    fn upper_bps(&self) -> Option<f64> {
        self.estimate_kbps.map(|e| (e + self.spread_kbps(e)) * 1000.0)
    }

    fn lower_bps(&self) -> Option<f64> {
        self.estimate_kbps.map(|e| (e - self.spread_kbps(e)).max(0.0) * 1000.0)
    }

    fn on_overuse(&mut self, acked_bps: f64) {
        let sample = acked_bps / 1000.0;
        let estimate = match self.estimate_kbps {
            None => sample,
            Some(e) => (1.0 - Self::ALPHA) * e + Self::ALPHA * sample,
        };
        let error = estimate - sample;
        let deviation = (1.0 - Self::ALPHA) * self.deviation + Self::ALPHA * error * error / estimate.max(1.0);
        if estimate.is_finite() && deviation.is_finite() {
            self.estimate_kbps = Some(estimate);
            self.deviation = deviation.clamp(Self::MIN_DEVIATION, Self::MAX_DEVIATION);
        }
    }
}

/// The AIMD controller.
#[derive(Debug)]
pub(super) struct Aimd {
    min: f64,
    max: f64,
    estimate: f64,
    state: RcState,
    last_change_us: Option<i64>,
    rtt_ms: f64,
    link: LinkCapacity,
    /// Set when an increase found the acknowledged throughput above the link capacity bound:
    /// the path changed and probing would find the new capacity faster.
    capacity_exceeded: bool,
}

impl Aimd {
    /// A controller starting at `initial` bps.
    pub fn new(initial: f64, min: f64, max: f64) -> Self {
        Self {
            min,
            max,
            estimate: initial.clamp(min, max),
            state: RcState::Hold,
            last_change_us: None,
            rtt_ms: 200.0,
            link: LinkCapacity::new(),
            capacity_exceeded: false,
        }
    }

    /// The delay-based estimate, bps.
    pub fn estimate(&self) -> f64 {
        self.estimate
    }

    /// Sets the bounds (already sanitised).
    pub fn set_bounds(&mut self, min: f64, max: f64) {
        self.min = min;
        self.max = max;
        self.estimate = self.estimate.clamp(min, max);
    }

    /// Sets the round-trip time used for the response time.
    pub fn set_rtt(&mut self, rtt_ms: f64) {
        self.rtt_ms = rtt_ms;
    }

    /// Overrides the estimate (probe result, initial halving).
    pub fn set_estimate(&mut self, bps: f64, now_us: i64) {
        if bps.is_finite() {
            self.estimate = bps.clamp(self.min, self.max);
            self.last_change_us = Some(now_us);
        }
    }

    /// Whether the link capacity bound was exceeded since the last call.
    pub fn take_capacity_exceeded(&mut self) -> bool {
        std::mem::take(&mut self.capacity_exceeded)
    }

    /// Whether an over-use may reduce the rate again: one RTT (10–200 ms) after the previous
    /// change, or at once when the throughput collapsed below half the estimate (which says
    /// nothing in ALR, where the sender chose to send less).
    pub fn time_to_reduce_further(&self, now_us: i64, acked_bps: f64, in_alr: bool) -> bool {
        let interval_us = (self.rtt_ms.clamp(10.0, 200.0) * 1000.0) as i64;
        match self.last_change_us {
            None => true,
            Some(t) => {
                now_us.saturating_sub(t) >= interval_us || (!in_alr && acked_bps < 0.5 * self.estimate)
            }
        }
    }

    /// Over-use before any throughput is known: halve the rate, at most every 200 ms.
    pub fn initial_decrease(&mut self, now_us: i64) {
        let due = self.last_change_us.map_or(true, |t| now_us.saturating_sub(t) >= INITIAL_DECREASE_INTERVAL_US);
        if due {
            self.set_estimate(self.estimate / 2.0, now_us);
        }
    }

    /// Runs the state machine on the detector's state and the acknowledged bitrate.
    ///
    /// In ALR the sender's own rate is below the estimate by choice, so an over-use there
    /// (cross traffic, a jitter spike) backs off from the estimate rather than from the
    /// acknowledged bitrate, and says nothing about the link capacity: backing off to 0.85 x
    /// what an application-limited SFU sends would force its layers down at once.
    pub fn update(&mut self, usage: BandwidthUsage, acked_bps: Option<f64>, in_alr: bool, now_us: i64) {
        match usage {
            BandwidthUsage::Normal => {
                if self.state == RcState::Hold {
                    self.state = RcState::Increase;
                    self.last_change_us = Some(now_us);
                }
            }
            BandwidthUsage::Overusing => self.state = RcState::Decrease,
            BandwidthUsage::Underusing => self.state = RcState::Hold,
        }
        let mut next = self.estimate;
        match self.state {
            RcState::Hold => {}
            RcState::Increase => {
                if let (Some(acked), Some(upper)) = (acked_bps, self.link.upper_bps()) {
                    if acked > upper {
                        self.link = LinkCapacity::new();
                        self.capacity_exceeded = true;
                    }
                }
                let elapsed_s = self.last_change_us.map_or(0.0, |t| now_us.saturating_sub(t) as f64 / 1e6);
                let elapsed_s = elapsed_s.clamp(0.0, MAX_INCREASE_STEP_S);
                next += if self.link.estimate_kbps.is_some() {
                    self.additive_rate() * elapsed_s
                } else {
                    let factor = MULTIPLICATIVE_INCREASE.powf(elapsed_s);
                    (self.estimate * (factor - 1.0)).max(MIN_MULTIPLICATIVE_STEP)
                };
                self.last_change_us = Some(now_us);
            }
            RcState::Decrease => {
                if let Some(acked) = acked_bps {
                    if in_alr {
                        next = BETA * self.estimate.max(acked);
                    } else {
                        let mut decreased = BETA * acked;
                        if decreased > self.estimate {
                            if let Some(capacity) = self.link.estimate_kbps {
                                decreased = BETA * capacity * 1000.0;
                            }
                        }
                        if decreased < self.estimate {
                            next = decreased;
                        }
                        if self.link.lower_bps().is_some_and(|lower| acked < lower) {
                            self.link = LinkCapacity::new();
                        }
                        self.link.on_overuse(acked);
                    }
                }
                self.state = RcState::Hold;
                self.last_change_us = Some(now_us);
            }
        }
        if let Some(acked) = acked_bps {
            let cap = ACKED_CAP_FACTOR * acked + ACKED_CAP_OFFSET;
            if next > self.estimate && next > cap {
                next = self.estimate.max(cap);
            }
        }
        if next.is_finite() {
            self.estimate = next.clamp(self.min, self.max);
        }
    }

    /// Additive increase rate near convergence: one average packet per response time.
    fn additive_rate(&self) -> f64 {
        let bits_per_frame = self.estimate / ASSUMED_FPS;
        let packets_per_frame = (bits_per_frame / ASSUMED_PACKET_BITS).ceil().max(1.0);
        let packet_bits = bits_per_frame / packets_per_frame;
        let response_s = (self.rtt_ms + RESPONSE_TIME_EXTRA_MS) / 1000.0;
        (packet_bits / response_s).max(MIN_ADDITIVE_RATE)
    }

    /// Whether all internal values are finite (tests).
    #[cfg(test)]
    pub fn is_sane(&self) -> bool {
        self.estimate.is_finite()
            && self.estimate >= self.min
            && self.link.deviation.is_finite()
            && self.link.estimate_kbps.map_or(true, f64::is_finite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplicative_then_decrease_then_additive() {
        let mut a = Aimd::new(1_000_000.0, 30_000.0, 10_000_000.0);
        a.update(BandwidthUsage::Normal, None, false, 0);
        a.update(BandwidthUsage::Normal, None, false, 1_000_000);
        // The first update already steps by the minimum 1 kbps.
        assert!((a.estimate() - 1_001_000.0 * 1.08).abs() < 1.0, "{}", a.estimate());
        a.update(BandwidthUsage::Overusing, Some(900_000.0), false, 1_100_000);
        assert!((a.estimate() - 765_000.0).abs() < 1.0, "{}", a.estimate());
        a.update(BandwidthUsage::Normal, Some(760_000.0), false, 1_200_000);
        a.update(BandwidthUsage::Normal, Some(760_000.0), false, 2_200_000);
        let gained = a.estimate() - 765_000.0;
        assert!(gained > 4_000.0 && gained < 60_000.0, "additive gain {gained}");
    }

    #[test]
    fn increase_capped_by_acked() {
        let mut a = Aimd::new(1_000_000.0, 30_000.0, 10_000_000.0);
        a.update(BandwidthUsage::Normal, Some(100_000.0), false, 0);
        a.update(BandwidthUsage::Normal, Some(100_000.0), false, 1_000_000);
        assert_eq!(a.estimate(), 1_000_000.0);
        // Over-use in ALR backs off from the estimate, not from the small throughput.
        a.update(BandwidthUsage::Overusing, Some(100_000.0), true, 2_000_000);
        assert_eq!(a.estimate(), 850_000.0);
    }
}
