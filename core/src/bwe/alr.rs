//! Application-limited-region (ALR) detector.
//!
//! A byte budget fills at [`USAGE_RATIO`] x the estimate and drains with every byte sent
//! (probes excluded), bounded to ± [`BUDGET_WINDOW_US`] worth of that rate. A sender below
//! the usage ratio fills the budget: above [`START_LEVEL`] of it the sender is in ALR; it
//! leaves ALR when the level falls below [`STOP_LEVEL`].

/// Fraction of the estimate a sender must use to not be application limited.
const USAGE_RATIO: f64 = 0.65;
/// Budget level (fraction of the maximum) that starts ALR.
const START_LEVEL: f64 = 0.80;
/// Budget level that ends it.
const STOP_LEVEL: f64 = 0.50;
/// Budget bound, in time at the budget's rate, µs.
const BUDGET_WINDOW_US: f64 = 500_000.0;
/// Longest time step credited at once, µs.
const MAX_STEP_US: i64 = 1_000_000;

/// The detector.
#[derive(Debug, Default)]
pub(super) struct AlrDetector {
    budget_bytes: f64,
    rate_bps: f64,
    last_us: Option<i64>,
    alr_start_us: Option<i64>,
}

impl AlrDetector {
    fn max_budget(&self) -> f64 {
        (self.rate_bps * BUDGET_WINDOW_US / 8e6).max(1.0)
    }

    /// Credits the time elapsed up to `now_us` at the rate for `estimate_bps`.
    pub fn elapse(&mut self, now_us: i64, estimate_bps: f64) {
        self.rate_bps = (estimate_bps * USAGE_RATIO).max(0.0);
        let last = *self.last_us.get_or_insert(now_us);
        let step = now_us.saturating_sub(last).clamp(0, MAX_STEP_US);
        self.last_us = Some(now_us.max(last));
        let max = self.max_budget();
        self.budget_bytes = (self.budget_bytes + self.rate_bps * step as f64 / 8e6).clamp(-max, max);
        self.check(now_us);
    }

    /// Debits sent application bytes.
    pub fn on_sent(&mut self, bytes: u32, now_us: i64) {
        let max = self.max_budget();
        self.budget_bytes = (self.budget_bytes - f64::from(bytes)).clamp(-max, max);
        self.check(now_us);
    }

    fn check(&mut self, now_us: i64) {
        let level = self.budget_bytes / self.max_budget();
        match self.alr_start_us {
            None if level > START_LEVEL => self.alr_start_us = Some(now_us),
            Some(_) if level < STOP_LEVEL => self.alr_start_us = None,
            _ => {}
        }
    }

    /// When the current ALR started, if the sender is in one.
    pub fn alr_start(&self) -> Option<i64> {
        self.alr_start_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_low_usage_and_leaves_it() {
        let mut a = AlrDetector::default();
        // 1 Mbit/s estimate, sending 1200 bytes every 40 ms = 240 kbit/s.
        for i in 0..100 {
            let t = i * 40_000;
            a.elapse(t, 1_000_000.0);
            a.on_sent(1200, t);
        }
        assert!(a.alr_start().is_some());
        // Now 1200 bytes every 10 ms = 960 kbit/s.
        for i in 100..200 {
            let t = 4_000_000 + i * 10_000;
            a.elapse(t, 1_000_000.0);
            a.on_sent(1200, t);
        }
        assert!(a.alr_start().is_none());
    }
}
