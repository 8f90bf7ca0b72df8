//! Acknowledged-bitrate estimator: the rate at which packets reach the receiver, from the
//! arrival times in transport-wide-cc feedback.
//!
//! Bytes received over a sliding window of arrival time ([`WINDOW_US`]): long enough to
//! average frame bursts and packet quantisation at low rates, short enough that a decrease
//! to `0.85 x acked` after over-use follows a capacity drop within half a second. (A
//! Bayesian filter over 150 ms windows, as libwebrtc has, rejects large jumps as outliers and
//! so lags badly after probes and capacity drops; with a standing queue that lag makes the
//! delay-based controller blind.)

use std::collections::VecDeque;

/// Averaging window, µs.
const WINDOW_US: i64 = 500_000;
/// No estimate until the window has seen this much time, µs.
const MIN_SPAN_US: i64 = 250_000;
/// Packets arriving this much before the newest one are taken as arriving with it; further
/// back, the receiver clock jumped and the window starts over, µs.
const MAX_BACKSTEP_US: i64 = 100_000;
/// Bound on remembered packets, whatever the arrival times.
const MAX_PACKETS: usize = 1 << 13;

/// The estimator.
#[derive(Debug, Default)]
pub(super) struct AckedBitrate {
    /// (arrival µs, bytes) within the window.
    packets: VecDeque<(i64, u32)>,
    bytes: u64,
    /// Arrival time of the first packet since the window (re)started.
    start_us: Option<i64>,
    newest_us: i64,
    estimate: Option<f64>,
}

impl AckedBitrate {
    /// Feeds one received packet, in arrival order (receiver clock, µs).
    pub fn on_packet(&mut self, arrival_us: i64, bytes: u32) {
        let arrival_us = match self.start_us {
            Some(_) if arrival_us < self.newest_us.saturating_sub(MAX_BACKSTEP_US) => {
                self.restart(arrival_us);
                arrival_us
            }
            Some(_) if arrival_us.saturating_sub(self.newest_us) > WINDOW_US => {
                // A gap longer than the window: nothing in it is recent.
                self.restart(arrival_us);
                arrival_us
            }
            Some(_) => arrival_us.max(self.newest_us),
            None => {
                self.restart(arrival_us);
                arrival_us
            }
        };
        self.newest_us = arrival_us;
        self.packets.push_back((arrival_us, bytes));
        self.bytes += u64::from(bytes);
        let horizon = arrival_us.saturating_sub(WINDOW_US);
        while let Some(&(t, b)) = self.packets.front() {
            if t > horizon && self.packets.len() <= MAX_PACKETS {
                break;
            }
            self.packets.pop_front();
            self.bytes = self.bytes.saturating_sub(u64::from(b));
        }
        let span = arrival_us.saturating_sub(self.start_us.unwrap_or(arrival_us)).min(WINDOW_US);
        if span >= MIN_SPAN_US {
            // The packet that opened the window arrived at its start: its bytes were sent
            // before the span began.
            let bytes = if span < WINDOW_US {
                self.bytes.saturating_sub(self.packets.front().map_or(0, |p| u64::from(p.1)))
            } else {
                self.bytes
            };
            let rate = bytes as f64 * 8e6 / span as f64;
            if rate.is_finite() {
                self.estimate = Some(rate);
            }
        }
    }

    fn restart(&mut self, arrival_us: i64) {
        self.packets.clear();
        self.bytes = 0;
        self.start_us = Some(arrival_us);
        self.newest_us = arrival_us;
    }

    /// The estimate, bps.
    pub fn bitrate(&self) -> Option<f64> {
        self.estimate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_constant_rate_and_steps() {
        let mut a = AckedBitrate::default();
        // 1200-byte packets every 4 ms = 2.4 Mbit/s.
        for i in 0..1000 {
            a.on_packet(i * 4_000, 1200);
        }
        let rate = a.bitrate().unwrap_or(0.0);
        assert!((rate - 2_400_000.0).abs() < 50_000.0, "{rate}");
        // Then every 32 ms = 300 kbit/s: within a window.
        for i in 0..20 {
            a.on_packet(4_000_000 + i * 32_000, 1200);
        }
        let rate = a.bitrate().unwrap_or(0.0);
        assert!((rate - 300_000.0).abs() < 30_000.0, "{rate}");
    }

    #[test]
    fn survives_garbage_times() {
        let mut a = AckedBitrate::default();
        for t in [0, i64::MAX, i64::MIN, -5, 1_000_000_000_000, 3, i64::MAX, 0] {
            a.on_packet(t, 1200);
            a.on_packet(t, 0);
        }
        for _ in 0..20_000 {
            a.on_packet(7, u32::MAX);
        }
        assert!(a.packets.len() <= MAX_PACKETS);
        assert!(a.bitrate().map_or(true, f64::is_finite));
    }
}
