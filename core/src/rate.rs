//! Sliding-window bitrate measurement, driven by the caller's clock.

/// Bits per second over the last `window_ms`, in 100 ms buckets; time is passed in, never read.
#[derive(Debug, Clone)]
pub struct RateCalculator {
    window_ms: u64,
    buckets: Vec<u64>,
    bucket_ms: u64,
    newest: u64,
    started: bool,
    first_ms: u64,
}

impl Default for RateCalculator {
    fn default() -> Self {
        Self::new(1000)
    }
}

impl RateCalculator {
    /// A calculator over a window of `window_ms` milliseconds.
    pub fn new(window_ms: u64) -> Self {
        let bucket_ms = 100.min(window_ms.max(1));
        let n = (window_ms.max(1)).div_ceil(bucket_ms) as usize;
        RateCalculator { window_ms, buckets: vec![0; n], bucket_ms, newest: 0, started: false, first_ms: 0 }
    }

    fn advance(&mut self, now_ms: u64) {
        let slot = now_ms / self.bucket_ms;
        if !self.started {
            self.started = true;
            self.newest = slot;
            self.first_ms = now_ms;
            return;
        }
        if slot <= self.newest {
            return;
        }
        let n = self.buckets.len() as u64;
        let gap = (slot - self.newest).min(n);
        for i in 1..=gap {
            let idx = ((self.newest + i) % n) as usize;
            self.buckets[idx] = 0;
        }
        self.newest = slot;
    }

    /// Records `bytes` at `now_ms`.
    pub fn update(&mut self, bytes: usize, now_ms: u64) {
        self.advance(now_ms);
        let slot = now_ms / self.bucket_ms;
        let n = self.buckets.len() as u64;
        if slot + n <= self.newest {
            return; // older than the window
        }
        let idx = (slot % n) as usize;
        self.buckets[idx] += bytes as u64;
    }

    /// The rate in bits per second at `now_ms`.
    pub fn rate(&mut self, now_ms: u64) -> u64 {
        if !self.started {
            return 0;
        }
        self.advance(now_ms);
        let total: u64 = self.buckets.iter().sum();
        // The newest bucket is only partly elapsed: divide by the time the buckets really cover.
        let n = self.buckets.len() as u64;
        let covered = ((n - 1) * self.bucket_ms + now_ms % self.bucket_ms + 1).min(self.window_ms);
        let covered = covered.min(now_ms - self.first_ms + 1).max(1);
        total * 8 * 1000 / covered
    }
}

#[cfg(test)]
mod tests {
    use super::RateCalculator;

    #[test]
    fn steady_stream_reports_its_bitrate() {
        let mut r = RateCalculator::new(1000);
        // 125 bytes every 10 ms = 100 kbit/s.
        for t in (0..3000).step_by(10) {
            r.update(125, t);
        }
        let bps = r.rate(3000);
        assert!((95_000..=105_000).contains(&bps), "bps {bps}");
    }

    #[test]
    fn rate_decays_to_zero_after_silence() {
        let mut r = RateCalculator::new(1000);
        r.update(10_000, 0);
        assert!(r.rate(50) > 0);
        assert_eq!(r.rate(2000), 0);
    }
}
