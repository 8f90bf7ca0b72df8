//! Probing: when to probe and at which rate ([`ProbeController`]), and what a probe cluster
//! measured at the receiver ([`ProbeEstimator`]).
//!
//! Probes are short bursts (padding / RTX, tagged with a cluster id) sent above the estimate.
//! The receive rate of a cluster that the path could not carry is the path's capacity; a
//! cluster that arrives as fast as it was sent shows the capacity is at least that.
//!
//! When to probe (after libwebrtc's probe controller):
//! - at start-up, two clusters at 3x and 6x the initial rate;
//! - exponentially: while a probe's result reaches 70 % of its rate, probe again at 2x;
//! - in ALR, every [`ALR_PROBE_INTERVAL_US`], at 2x the estimate (an application-limited
//!   sender never shows the path's capacity by itself);
//! - when the delay-based controller sees the throughput exceed its link-capacity bound (the
//!   path changed), at 2x the estimate, at most every [`ALR_PROBE_INTERVAL_US`];
//! - when the maximum is raised while the estimate sat at the old one, at the new maximum.

use super::ProbeCluster;

/// Start-up probe rates, relative to the initial rate.
const INITIAL_SCALES: [f64; 2] = [3.0, 6.0];
/// A result reaching this fraction of the probed rate probes further.
const FURTHER_FRACTION: f64 = 0.7;
/// Further / ALR probes go to this multiple of the estimate.
const STEP_SCALE: f64 = 2.0;
/// Wait this long for a probe's result before giving up probing further, µs.
const RESULT_TIMEOUT_US: i64 = 1_000_000;
/// Periodic ALR probing interval, µs.
const ALR_PROBE_INTERVAL_US: i64 = 5_000_000;
/// Cluster shape: at least this long and this many packets.
const CLUSTER_DURATION_MS: u32 = 15;
const CLUSTER_MIN_PACKETS: u32 = 5;
/// A probe must exceed the estimate (or the previous cluster) by this factor.
const MIN_PROBE_GAIN: f64 = 1.1;
/// Clusters handed out but not polled yet.
const MAX_PENDING: usize = 4;

/// Decides when to probe.
#[derive(Debug)]
pub(super) struct ProbeController {
    next_id: u32,
    pending: [Option<(ProbeCluster, bool)>; MAX_PENDING],
    /// While probing exponentially: (estimate that probes further, give-up time).
    waiting: Option<(f64, i64)>,
    last_probe_us: Option<i64>,
    /// The maximum was raised while the estimate sat at the old one.
    max_raised: bool,
    initial_queued: bool,
}

impl ProbeController {
    /// A controller; the start-up clusters are queued on the first poll.
    pub fn new() -> Self {
        Self {
            next_id: 1,
            pending: [None; MAX_PENDING],
            waiting: None,
            last_probe_us: None,
            max_raised: false,
            initial_queued: false,
        }
    }

    fn has_pending(&self) -> bool {
        self.pending.iter().any(Option::is_some)
    }

    /// Queues clusters at `rates` (bps, capped at `max`); `further` probes on exponentially.
    fn initiate(&mut self, rates: &[f64], estimate: f64, max: f64, further: bool, now_us: i64) {
        let mut last_rate = estimate * MIN_PROBE_GAIN;
        for &rate in rates {
            // A probe capped at the maximum has nothing further to find.
            let further = further && rate < max;
            let rate = rate.min(max);
            if !(rate.is_finite() && rate > last_rate) {
                continue;
            }
            let Some(slot) = self.pending.iter_mut().find(|p| p.is_none()) else { break };
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1).max(1);
            let bitrate = rate as u32;
            let cluster = ProbeCluster {
                id,
                bitrate,
                min_duration_ms: CLUSTER_DURATION_MS,
                min_packets: CLUSTER_MIN_PACKETS,
                min_bytes: (u64::from(bitrate) * u64::from(CLUSTER_DURATION_MS) / 8000) as u32,
            };
            *slot = Some((cluster, further));
            last_rate = rate;
            self.last_probe_us = Some(now_us);
        }
    }

    /// The maximum was raised from `old_max` while the estimate was `estimate`.
    pub fn on_max_raised(&mut self, estimate: f64, old_max: f64) {
        if estimate >= 0.9 * old_max {
            self.max_raised = true;
        }
    }

    /// Called after every estimate update: continues exponential probing.
    pub fn on_estimate(&mut self, estimate: f64, max: f64, now_us: i64) {
        let Some((threshold, deadline)) = self.waiting else { return };
        if now_us > deadline {
            self.waiting = None;
        } else if estimate > threshold && !self.has_pending() {
            self.waiting = None;
            self.initiate(&[STEP_SCALE * estimate], estimate, max, true, now_us);
        }
    }

    /// Periodic decisions; then hands out the next cluster, if any.
    /// `alr_start` is when the current ALR began; `capacity_exceeded` when the delay-based
    /// controller saw the throughput exceed its link capacity (cleared once acted upon or
    /// stale).
    pub fn poll(
        &mut self,
        now_us: i64,
        estimate: f64,
        initial: f64,
        max: f64,
        alr_start: Option<i64>,
        capacity_exceeded: &mut Option<i64>,
    ) -> Option<ProbeCluster> {
        if !self.initial_queued {
            self.initial_queued = true;
            let rates = INITIAL_SCALES.map(|s| s * initial);
            self.initiate(&rates, estimate, max, true, now_us);
        }
        if self.max_raised {
            self.max_raised = false;
            self.initiate(&[max], estimate, max, true, now_us);
        }
        let idle = !self.has_pending() && self.waiting.is_none();
        let since_last = self.last_probe_us.map_or(i64::MAX, |t| now_us.saturating_sub(t));
        if idle && estimate < max {
            if let Some(start) = alr_start {
                let since_start = now_us.saturating_sub(start);
                if since_start >= ALR_PROBE_INTERVAL_US && since_last >= ALR_PROBE_INTERVAL_US {
                    self.initiate(&[STEP_SCALE * estimate], estimate, max, true, now_us);
                }
            } else if capacity_exceeded.is_some() && since_last >= ALR_PROBE_INTERVAL_US {
                *capacity_exceeded = None;
                self.initiate(&[STEP_SCALE * estimate], estimate, max, true, now_us);
            }
        }
        if capacity_exceeded.is_some_and(|t| now_us.saturating_sub(t) > ALR_PROBE_INTERVAL_US) {
            *capacity_exceeded = None;
        }
        // Queued clusters are kept at the front, in order.
        let first = self.pending.iter().position(Option::is_some)?;
        let (cluster, further) = self.pending[first].take()?;
        self.pending[first..].rotate_left(1);
        if further {
            self.waiting = Some((FURTHER_FRACTION * f64::from(cluster.bitrate), now_us.saturating_add(RESULT_TIMEOUT_US)));
        }
        Some(cluster)
    }
}

/// Measurements of one cluster.
#[derive(Debug, Clone, Copy)]
struct ClusterStats {
    id: u32,
    min_packets: u32,
    min_bytes: u32,
    touched_us: i64,
    packets: u32,
    bytes: u64,
    first_send_us: i64,
    last_send_us: i64,
    last_send_size: u32,
    first_recv_us: i64,
    first_recv_size: u32,
    last_recv_us: i64,
    /// Received packets since the last estimate.
    fresh: bool,
}

impl ClusterStats {
    fn new(id: u32, min_packets: u32, min_bytes: u32, now_us: i64) -> Self {
        Self {
            id,
            min_packets,
            min_bytes,
            touched_us: now_us,
            packets: 0,
            bytes: 0,
            first_send_us: i64::MAX,
            last_send_us: i64::MIN,
            last_send_size: 0,
            first_recv_us: i64::MAX,
            first_recv_size: 0,
            last_recv_us: i64::MIN,
            fresh: false,
        }
    }

    /// Send-side and receive-side rates of the cluster, and the estimate from them.
    fn estimate(&self) -> Option<f64> {
        let min_packets = (self.min_packets * 4 / 5).max(2);
        if self.packets < min_packets || self.bytes * 5 < u64::from(self.min_bytes) * 4 {
            return None;
        }
        let send_interval = self.last_send_us.saturating_sub(self.first_send_us);
        let recv_interval = self.last_recv_us.saturating_sub(self.first_recv_us);
        if !(1..=MAX_INTERVAL_US).contains(&send_interval) || !(1..=MAX_INTERVAL_US).contains(&recv_interval) {
            return None;
        }
        let send_bytes = self.bytes.saturating_sub(u64::from(self.last_send_size));
        let recv_bytes = self.bytes.saturating_sub(u64::from(self.first_recv_size));
        let send_rate = send_bytes as f64 * 8e6 / send_interval as f64;
        let recv_rate = recv_bytes as f64 * 8e6 / recv_interval as f64;
        if !(send_rate > 0.0 && recv_rate > 0.0) || recv_rate > MAX_RECV_SEND_RATIO * send_rate {
            return None;
        }
        let rate = if recv_rate < SATURATED_RATIO * send_rate { TARGET_UTILIZATION * recv_rate } else { send_rate.min(recv_rate) };
        rate.is_finite().then_some(rate)
    }
}

/// Send or receive spread of a valid cluster, µs.
const MAX_INTERVAL_US: i64 = 1_000_000;
/// A cluster received faster than this multiple of its send rate is bogus.
const MAX_RECV_SEND_RATIO: f64 = 2.0;
/// Received below this fraction of the send rate, the cluster saturated the path ...
const SATURATED_RATIO: f64 = 0.9;
/// ... and the estimate is this fraction of the receive rate.
const TARGET_UTILIZATION: f64 = 0.95;
/// Clusters tracked at once.
const MAX_CLUSTERS: usize = 8;
/// A cluster untouched this long is forgotten, µs.
const CLUSTER_TIMEOUT_US: i64 = 3_000_000;

/// Measures probe clusters from feedback.
#[derive(Debug, Default)]
pub(super) struct ProbeEstimator {
    clusters: [Option<ClusterStats>; MAX_CLUSTERS],
}

impl ProbeEstimator {
    /// Registers a cluster handed out by the controller (its size requirements).
    pub fn register(&mut self, cluster: &ProbeCluster, now_us: i64) {
        let stats = ClusterStats::new(cluster.id, cluster.min_packets, cluster.min_bytes, now_us);
        *self.slot_for(cluster.id, now_us) = Some(stats);
    }

    /// The slot holding `id`, else a free or the least recently touched one.
    fn slot_for(&mut self, id: u32, now_us: i64) -> &mut Option<ClusterStats> {
        let mut pick = 0;
        let mut pick_key = (2u8, i64::MAX);
        for (i, slot) in self.clusters.iter().enumerate() {
            let key = match slot {
                Some(c) if c.id == id => (0, 0),
                None => (1, 0),
                Some(c) if now_us.saturating_sub(c.touched_us) > CLUSTER_TIMEOUT_US => (1, 0),
                Some(c) => (2, c.touched_us),
            };
            if key < pick_key {
                pick = i;
                pick_key = key;
            }
        }
        if pick_key.0 != 0 {
            self.clusters[pick] = None;
        }
        &mut self.clusters[pick]
    }

    /// A received probe packet.
    pub fn on_packet(&mut self, id: u32, send_us: i64, arrival_us: i64, size: u32, now_us: i64) {
        let slot = self.slot_for(id, now_us);
        let c = slot.get_or_insert_with(|| ClusterStats::new(id, CLUSTER_MIN_PACKETS, 0, now_us));
        c.touched_us = now_us;
        c.packets = c.packets.saturating_add(1);
        c.bytes = c.bytes.saturating_add(u64::from(size));
        c.fresh = true;
        if send_us < c.first_send_us {
            c.first_send_us = send_us;
        }
        if send_us >= c.last_send_us {
            c.last_send_us = send_us;
            c.last_send_size = size;
        }
        if arrival_us < c.first_recv_us {
            c.first_recv_us = arrival_us;
            c.first_recv_size = size;
        }
        c.last_recv_us = c.last_recv_us.max(arrival_us);
    }

    /// The best estimate among clusters that received packets since the last call.
    pub fn take_result(&mut self) -> Option<f64> {
        let mut best: Option<f64> = None;
        for c in self.clusters.iter_mut().flatten() {
            if std::mem::take(&mut c.fresh) {
                if let Some(rate) = c.estimate() {
                    best = Some(best.map_or(rate, |b| b.max(rate)));
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturated_cluster_measures_receive_rate() {
        let mut e = ProbeEstimator::default();
        // 10 packets of 1000 bytes sent every 1 ms (8 Mbit/s), received every 4 ms (2 Mbit/s).
        for i in 0..10 {
            e.on_packet(7, i * 1_000, 50_000 + i * 4_000, 1000, 0);
        }
        let rate = e.take_result().unwrap_or(0.0);
        assert!((rate - 0.95 * 2_000_000.0).abs() < 1_000.0, "{rate}");
        assert_eq!(e.take_result(), None);
    }

    #[test]
    fn unsaturated_cluster_measures_send_rate() {
        let mut e = ProbeEstimator::default();
        for i in 0..10 {
            e.on_packet(3, i * 2_000, 50_000 + i * 2_000, 1000, 0);
        }
        let rate = e.take_result().unwrap_or(0.0);
        assert!((rate - 4_000_000.0).abs() < 1_000.0, "{rate}");
    }

    #[test]
    fn too_few_packets_no_result() {
        let mut e = ProbeEstimator::default();
        e.on_packet(3, 0, 0, 1000, 0);
        e.on_packet(3, 1000, 1000, 1000, 0);
        assert_eq!(e.take_result(), None);
    }

    #[test]
    fn startup_then_exponential() {
        let mut p = ProbeController::new();
        let first = p.poll(0, 600_000.0, 600_000.0, 10_000_000.0, None, &mut None);
        let second = p.poll(0, 600_000.0, 600_000.0, 10_000_000.0, None, &mut None);
        assert_eq!(first.map(|c| c.bitrate), Some(1_800_000));
        assert_eq!(second.map(|c| c.bitrate), Some(3_600_000));
        assert!(p.poll(0, 600_000.0, 600_000.0, 10_000_000.0, None, &mut None).is_none());
        p.on_estimate(3_500_000.0, 10_000_000.0, 100_000);
        let third = p.poll(100_000, 3_500_000.0, 600_000.0, 10_000_000.0, None, &mut None);
        assert_eq!(third.map(|c| c.bitrate), Some(7_000_000));
    }
}
