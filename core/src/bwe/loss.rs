//! Loss-based controller (draft-ietf-rmcat-gcc-02 §6).
//!
//! Loss is measured over windows of at least [`WINDOW_US`] and [`MIN_WINDOW_PACKETS`]
//! packets. Below 2 % loss the cap relaxes by 8 % per second (from the lowest target since
//! the last step); above the tolerated loss (10 %) it drops to `rate x (1 - 0.5 x loss)`,
//! at most once per window and once per 300 ms + RTT; in between it holds. `rate` is the
//! target, or the rate actually sent (acknowledged / (1 - loss)) when that is lower: cutting
//! the target of an application-limited sender leaves its loss unchanged.
//!
//! Loss that does not respond to a decrease is not congestion: behind a drop-tail queue or a
//! policer, cutting the rate by `f` brings the loss from `L` down to about `1 - (1 - L) / f`,
//! while random (wireless-like) loss stays where it was. When a high-loss window follows a
//! decrease and its loss is closer to the loss before the decrease than to the loss
//! congestion would leave, the decrease is not repeated: the tolerated loss is raised to what
//! is measured plus 2.5 standard deviations of the measurement (binomial, from the window's
//! packet count), until a window shows low loss again. With a fixed 10 % threshold, random
//! loss around 10 % drives the classic controller down without end, since every other window
//! measures a little above 10 %.
//!
//! The cap is `None` until loss first forces a decrease, and is lifted again once it has
//! relaxed above the delay-based estimate.

/// Below this loss fraction the cap relaxes.
const LOW_LOSS: f64 = 0.02;
/// Loss tolerated before decreasing, unless raised for unresponsive loss.
const HIGH_LOSS: f64 = 0.10;
/// Tolerated loss never exceeds this.
const MAX_TOLERATED_LOSS: f64 = 0.5;
/// Standard deviations of margin over unresponsive loss.
const TOLERANCE_SIGMAS: f64 = 2.5;
/// A decrease is judged once the sending rate fell at least this much below the rate cut.
const SENT_LESS: f64 = 0.98;
/// Minimum loss measurement window, µs.
const WINDOW_US: i64 = 1_000_000;
/// Minimum packets in a loss measurement window.
const MIN_WINDOW_PACKETS: u32 = 20;
/// Relax at most this often, µs.
const INCREASE_INTERVAL_US: i64 = 1_000_000;
/// Relax by this factor plus [`INCREASE_OFFSET`] bps.
const INCREASE_FACTOR: f64 = 1.08;
const INCREASE_OFFSET: f64 = 1_000.0;
/// Decrease at most every this + RTT, µs.
const DECREASE_INTERVAL_US: i64 = 300_000;

/// A completed loss window.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LossReport {
    loss: f64,
    /// Standard deviation of `loss` as a binomial estimate.
    sigma: f64,
}

/// The loss-based controller.
#[derive(Debug)]
pub(super) struct LossController {
    /// Cap on the target from loss, bps; `None` while loss has not constrained it.
    cap: Option<f64>,
    window_start_us: Option<i64>,
    window_expected: u32,
    window_lost: u32,
    last: Option<LossReport>,
    /// The last report has not been acted on yet.
    fresh: bool,
    tolerated: f64,
    /// Loss and target at the last decrease, until the next report judges it.
    last_cut: Option<(f64, f64)>,
    last_increase_us: Option<i64>,
    last_decrease_us: Option<i64>,
    /// Lowest target seen since the last increase step.
    min_target: Option<f64>,
    /// Packets sent before this are not counted.
    epoch_us: i64,
}

impl Default for LossController {
    fn default() -> Self {
        Self {
            cap: None,
            window_start_us: None,
            window_expected: 0,
            window_lost: 0,
            last: None,
            fresh: false,
            tolerated: HIGH_LOSS,
            last_cut: None,
            last_increase_us: None,
            last_decrease_us: None,
            min_target: None,
            epoch_us: i64::MIN,
        }
    }
}

impl LossController {
    /// Counts a feedback's newly reported packets: `received` and `lost` first reports, and
    /// `recovered` packets earlier reported lost and now received.
    pub fn on_feedback(&mut self, received: u32, lost: u32, recovered: u32, now_us: i64) {
        let start = *self.window_start_us.get_or_insert(now_us);
        self.window_expected = self.window_expected.saturating_add(received).saturating_add(lost);
        self.window_lost = self.window_lost.saturating_add(lost).saturating_sub(recovered);
        if self.window_expected >= MIN_WINDOW_PACKETS && now_us.saturating_sub(start) >= WINDOW_US {
            let n = f64::from(self.window_expected);
            let loss = f64::from(self.window_lost.min(self.window_expected)) / n;
            self.last = Some(LossReport { loss, sigma: (loss * (1.0 - loss) / n).sqrt() });
            self.fresh = true;
            self.window_start_us = Some(now_us);
            self.window_expected = 0;
            self.window_lost = 0;
            if loss <= LOW_LOSS {
                self.tolerated = HIGH_LOSS;
                self.last_cut = None;
            }
        }
    }

    /// The delay-based controller just cut the rate: loss of packets sent before now was at
    /// the old rate (typically the overflow of the queue it reacted to), so start a new
    /// window that counts only packets sent from now on.
    pub fn restart_window(&mut self, now_us: i64) {
        self.window_start_us = Some(now_us);
        self.window_expected = 0;
        self.window_lost = 0;
        self.epoch_us = now_us;
    }

    /// Whether a packet sent at `send_us` counts towards the loss measurement.
    pub fn counts(&self, send_us: i64) -> bool {
        send_us >= self.epoch_us
    }

    /// The cap, bps.
    pub fn cap(&self) -> Option<f64> {
        self.cap
    }

    /// A probe measured `bps`: once loss is low, the cap need not stay below it.
    pub fn on_probe(&mut self, bps: f64) {
        if let (Some(cap), Some(last)) = (self.cap, self.last) {
            if last.loss <= LOW_LOSS && bps > cap {
                self.cap = Some(bps);
            }
        }
    }

    /// Applies the loss rules. `target` is the current final estimate, `delay_based` the
    /// delay-based one (the cap is lifted once above it), `acked` the acknowledged bitrate.
    pub fn update(&mut self, target: f64, delay_based: f64, acked: Option<f64>, rtt_ms: f64, now_us: i64) {
        self.min_target = Some(self.min_target.map_or(target, |m| m.min(target)));
        let Some(report) = self.last else { return };
        if report.loss <= LOW_LOSS {
            let due = self.last_increase_us.map_or(true, |t| now_us.saturating_sub(t) >= INCREASE_INTERVAL_US);
            if due {
                self.last_increase_us = Some(now_us);
                let base = self.min_target.unwrap_or(target);
                self.min_target = None;
                if let Some(cap) = self.cap {
                    let relaxed = cap.max(base * INCREASE_FACTOR + INCREASE_OFFSET);
                    self.cap = (relaxed < delay_based).then_some(relaxed);
                }
            }
            return;
        }
        if !(self.fresh && report.loss > self.tolerated) {
            return;
        }
        let interval = DECREASE_INTERVAL_US + (rtt_ms.max(0.0) * 1000.0) as i64;
        if self.last_decrease_us.is_some_and(|t| now_us.saturating_sub(t) < interval) {
            return;
        }
        self.fresh = false;
        // What is actually sent: an application-limited sender sends less than the target,
        // and cutting the target down to its rate would change nothing.
        let sending = acked.map_or(target, |a| (a / (1.0 - report.loss).max(0.05)).min(target));
        if let Some((cut_loss, cut_rate)) = self.last_cut.take() {
            // Loss congestion would leave after the rate went from cut_rate to sending.
            let congestive = (1.0 - (1.0 - cut_loss) * cut_rate / sending.max(1.0)).max(0.0);
            if sending < SENT_LESS * cut_rate && report.loss > 0.5 * (cut_loss + congestive) {
                let tolerated = report.loss + TOLERANCE_SIGMAS * report.sigma;
                if tolerated.is_finite() {
                    self.tolerated = tolerated.clamp(HIGH_LOSS, MAX_TOLERATED_LOSS);
                }
                return;
            }
        }
        self.last_decrease_us = Some(now_us);
        let next = sending * (1.0 - 0.5 * report.loss);
        if next.is_finite() {
            self.cap = Some(next);
            self.last_cut = Some((report.loss, sending));
        }
    }

    /// Tolerated loss fraction (tests).
    #[cfg(test)]
    pub fn tolerated(&self) -> f64 {
        self.tolerated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(l: &mut LossController, t: &mut i64, received: u32, lost: u32, target: f64) {
        *t += 1_000_000;
        l.on_feedback(received, lost, 0, *t);
        l.update(target, 10_000_000.0, None, 100.0, *t);
    }

    #[test]
    fn decreases_on_high_loss_and_relaxes_without() {
        let mut l = LossController::default();
        l.on_feedback(0, 0, 0, 0);
        l.on_feedback(80, 20, 0, 1_000_000);
        assert_eq!(l.last.map(|r| r.loss), Some(0.2));
        l.update(2_000_000.0, 2_000_000.0, None, 100.0, 1_000_000);
        assert_eq!(l.cap(), Some(1_800_000.0));
        // Loss gone: relax 8 %/s until above the delay-based estimate, then lift.
        let mut t = 1_000_000;
        for _ in 0..5 {
            t += 1_000_000;
            l.on_feedback(100, 0, 0, t);
            l.update(l.cap().unwrap_or(2_000_000.0), 2_000_000.0, None, 100.0, t);
        }
        assert_eq!(l.cap(), None);
    }

    #[test]
    fn congestive_loss_keeps_cutting() {
        // A policer at 1 Mbit/s: loss = 1 - 1M / rate.
        let mut l = LossController::default();
        let mut t = 0;
        let mut rate: f64 = 2_000_000.0;
        l.on_feedback(0, 0, 0, t);
        for _ in 0..30 {
            let loss = (1.0 - 1_000_000.0 / rate).max(0.0);
            let lost = (1000.0 * loss) as u32;
            window(&mut l, &mut t, 1000 - lost, lost, rate);
            rate = l.cap().unwrap_or(rate).min(rate);
        }
        assert!(rate < 1_120_000.0, "{rate}");
        assert_eq!(l.tolerated(), HIGH_LOSS);
    }

    #[test]
    fn random_loss_is_tolerated_after_a_cut() {
        let mut l = LossController::default();
        let mut t = 0;
        l.on_feedback(0, 0, 0, t);
        let rate = 5_000_000.0;
        window(&mut l, &mut t, 890, 110, rate);
        let after_cut = l.cap().unwrap_or(0.0);
        assert!(after_cut < rate);
        window(&mut l, &mut t, 892, 108, after_cut);
        assert_eq!(l.cap(), Some(after_cut));
        assert!(l.tolerated() > 0.12);
        window(&mut l, &mut t, 885, 115, after_cut);
        assert_eq!(l.cap(), Some(after_cut));
        // Loss clears: back to the normal threshold.
        window(&mut l, &mut t, 1000, 0, after_cut);
        assert_eq!(l.tolerated(), HIGH_LOSS);
    }
}
