//! Trendline filter and over-use detector.
//!
//! The one-way delay variation between packet groups is accumulated, smoothed, and a line is
//! fitted through the last [`WINDOW`] (arrival time, smoothed delay) points: its slope is the
//! delay gradient (queue growth in ms per ms). The gradient, scaled by the number of deltas
//! seen and a gain, is compared against an adaptive threshold (draft-ietf-rmcat-gcc-02 §5.4:
//! the threshold tracks the signal slowly upwards and faster downwards, so it neither starves
//! against loss-based flows nor misses real queue build-up).

/// Regression window, in group deltas.
const WINDOW: usize = 20;
/// Fewer points give no slope. (libwebrtc waits for a full window; fitting earlier catches
/// the queue that start-up probes build on a slow path, and the scaling of the slope by the
/// number of deltas seen keeps early fits from over-reacting.)
const MIN_POINTS: usize = 4;
/// Exponential smoothing of the accumulated delay.
const SMOOTHING: f64 = 0.9;
/// Gain applied to the slope before comparing it against the threshold.
const THRESHOLD_GAIN: f64 = 4.0;
/// The slope is scaled by the number of deltas seen, up to this many.
const MAX_DELTAS_SCALE: u32 = 60;
/// Threshold at start, ms.
const INITIAL_THRESHOLD: f64 = 12.5;
/// Threshold bounds, ms.
const MIN_THRESHOLD: f64 = 6.0;
const MAX_THRESHOLD: f64 = 600.0;
/// Threshold adaptation gains when the signal is above (up) / below (down) it.
const K_UP: f64 = 0.0087;
const K_DOWN: f64 = 0.039;
/// Signals further than this above the threshold (spikes) do not adapt it.
const MAX_ADAPT_OFFSET: f64 = 15.0;
/// Longest time step used for threshold adaptation, ms.
const MAX_ADAPT_STEP_MS: f64 = 100.0;
/// Over-use must last this long (in send time), ms, before it is signalled.
const OVERUSE_TIME_MS: f64 = 10.0;

/// The detector's view of the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BandwidthUsage {
    /// Delay stable: the path is not congested.
    Normal,
    /// Delay growing: a queue builds up, send less.
    Overusing,
    /// Delay shrinking: a queue drains.
    Underusing,
}

/// Trendline estimator with its over-use detector.
#[derive(Debug)]
pub(super) struct Trendline {
    /// Ring of (arrival ms since first, smoothed delay ms).
    points: [(f64, f64); WINDOW],
    head: usize,
    len: usize,
    num_deltas: u32,
    first_arrival_ms: Option<f64>,
    accumulated_delay: f64,
    smoothed_delay: f64,
    prev_trend: f64,
    threshold: f64,
    last_threshold_update_ms: Option<f64>,
    time_over_using: Option<f64>,
    overuse_count: u32,
    state: BandwidthUsage,
    rising: bool,
}

impl Default for Trendline {
    fn default() -> Self {
        Self {
            points: [(0.0, 0.0); WINDOW],
            head: 0,
            len: 0,
            num_deltas: 0,
            first_arrival_ms: None,
            accumulated_delay: 0.0,
            smoothed_delay: 0.0,
            prev_trend: 0.0,
            threshold: INITIAL_THRESHOLD,
            last_threshold_update_ms: None,
            time_over_using: None,
            overuse_count: 0,
            state: BandwidthUsage::Normal,
            rising: false,
        }
    }
}

impl Trendline {
    /// Current detector state.
    pub fn state(&self) -> BandwidthUsage {
        self.state
    }

    /// Whether the delay gradient was still growing at the last update. While over-using
    /// with a falling gradient, the previous decrease is taking effect (the queue drains).
    pub fn rising(&self) -> bool {
        self.rising
    }

    /// Feeds the deltas between two packet groups.
    pub fn update(&mut self, recv_delta_ms: f64, send_delta_ms: f64, arrival_ms: f64) {
        let delta = recv_delta_ms - send_delta_ms;
        if !(delta.is_finite() && arrival_ms.is_finite() && send_delta_ms.is_finite()) {
            return;
        }
        self.num_deltas = (self.num_deltas + 1).min(1000);
        let first = *self.first_arrival_ms.get_or_insert(arrival_ms);
        self.accumulated_delay += delta;
        self.smoothed_delay = SMOOTHING * self.smoothed_delay + (1.0 - SMOOTHING) * self.accumulated_delay;
        self.points[self.head] = (arrival_ms - first, self.smoothed_delay);
        self.head = (self.head + 1) % WINDOW;
        self.len = (self.len + 1).min(WINDOW);
        let mut trend = self.prev_trend;
        if self.len >= MIN_POINTS {
            if let Some(slope) = self.slope() {
                trend = slope;
            }
        }
        self.detect(trend, send_delta_ms, arrival_ms);
    }

    /// Least-squares slope through the window, if defined.
    fn slope(&self) -> Option<f64> {
        let n = self.len as f64;
        let (sx, sy) = self.points[..self.len].iter().fold((0.0, 0.0), |(a, b), &(x, y)| (a + x, b + y));
        let (mx, my) = (sx / n, sy / n);
        let (mut num, mut den) = (0.0, 0.0);
        for &(x, y) in &self.points[..self.len] {
            num += (x - mx) * (y - my);
            den += (x - mx) * (x - mx);
        }
        let slope = num / den;
        (den > 0.0 && slope.is_finite()).then_some(slope)
    }

    fn detect(&mut self, trend: f64, send_delta_ms: f64, now_ms: f64) {
        if self.num_deltas < 2 {
            self.state = BandwidthUsage::Normal;
            return;
        }
        let modified = f64::from(self.num_deltas.min(MAX_DELTAS_SCALE)) * trend * THRESHOLD_GAIN;
        if modified > self.threshold {
            let over = match self.time_over_using {
                None => send_delta_ms / 2.0,
                Some(t) => t + send_delta_ms,
            };
            self.time_over_using = Some(over);
            self.overuse_count += 1;
            if over > OVERUSE_TIME_MS && self.overuse_count > 1 && trend >= self.prev_trend {
                self.time_over_using = Some(0.0);
                self.overuse_count = 0;
                self.state = BandwidthUsage::Overusing;
            }
        } else if modified < -self.threshold {
            self.time_over_using = None;
            self.overuse_count = 0;
            self.state = BandwidthUsage::Underusing;
        } else {
            self.time_over_using = None;
            self.overuse_count = 0;
            self.state = BandwidthUsage::Normal;
        }
        self.rising = trend >= self.prev_trend;
        self.prev_trend = trend;
        self.adapt_threshold(modified, now_ms);
    }

    fn adapt_threshold(&mut self, modified: f64, now_ms: f64) {
        let last = *self.last_threshold_update_ms.get_or_insert(now_ms);
        self.last_threshold_update_ms = Some(now_ms);
        let magnitude = modified.abs();
        if magnitude > self.threshold + MAX_ADAPT_OFFSET {
            return;
        }
        let k = if magnitude < self.threshold { K_DOWN } else { K_UP };
        let step = (now_ms - last).clamp(0.0, MAX_ADAPT_STEP_MS);
        let next = self.threshold + k * (magnitude - self.threshold) * step;
        if next.is_finite() {
            self.threshold = next.clamp(MIN_THRESHOLD, MAX_THRESHOLD);
        }
    }

    /// Whether all internal values are finite (tests).
    #[cfg(test)]
    pub fn is_sane(&self) -> bool {
        self.threshold.is_finite() && self.smoothed_delay.is_finite() && self.prev_trend.is_finite()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(t: &mut Trendline, clock: &mut f64, n: usize, excess_ms: f64) {
        for _ in 0..n {
            *clock += 20.0 + excess_ms;
            t.update(20.0 + excess_ms, 20.0, *clock);
        }
    }

    #[test]
    fn steady_is_normal() {
        let (mut t, mut clock) = (Trendline::default(), 0.0);
        feed(&mut t, &mut clock, 100, 0.0);
        assert_eq!(t.state(), BandwidthUsage::Normal);
    }

    #[test]
    fn growing_delay_is_overuse_then_drain_is_underuse() {
        let (mut t, mut clock) = (Trendline::default(), 0.0);
        feed(&mut t, &mut clock, 40, 0.0);
        feed(&mut t, &mut clock, 30, 2.0);
        assert_eq!(t.state(), BandwidthUsage::Overusing);
        feed(&mut t, &mut clock, 30, -2.0);
        assert_eq!(t.state(), BandwidthUsage::Underusing);
    }

    #[test]
    fn slope_of_line() {
        let mut t = Trendline::default();
        for i in 0..WINDOW {
            t.points[i] = (i as f64, 3.0 * i as f64 + 1.0);
        }
        t.len = WINDOW;
        assert!((t.slope().unwrap_or(0.0) - 3.0).abs() < 1e-9);
    }
}
