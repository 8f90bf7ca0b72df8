//! Send-side bandwidth estimation (Google Congestion Control), sans-IO.
//!
//! [`SendSideBwe`] estimates the bitrate available for what this transport sends (mediasoup's
//! `availableOutgoingBitrate`) from transport-wide-cc feedback
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01), following draft-ietf-rmcat-gcc-02
//! and the structure of libwebrtc's send-side estimator:
//!
//! - **inter-arrival** (`inter_arrival.rs`): received packets, in arrival order, are grouped
//!   into 5 ms send bursts; consecutive groups give send and arrival time deltas;
//! - **trendline + over-use detector** (`trendline.rs`): the slope of the smoothed (0.9)
//!   accumulated delay over the last 20 group deltas, times min(deltas, 60) x 4, against an
//!   adaptive threshold (12.5 ms at start, 6–600, k_up 0.0087 / k_down 0.039), says normal /
//!   over-using (above it for > 10 ms of send time and still growing) / under-using;
//! - **AIMD** (`aimd.rs`): the delay-based estimate; multiplicative increase (8 %/s) far from
//!   convergence, additive (one packet per RTT + 100 ms) near the link capacity learnt at
//!   over-use; 0.85 x acknowledged bitrate on over-use (0.85 x the estimate in ALR); increases
//!   capped at 1.5 x acknowledged + 10 kbit/s;
//! - **loss-based** (`loss.rs`): relaxes 8 %/s below 2 % loss, cuts by `1 - 0.5 x loss` above
//!   10 %, tolerates loss that did not respond to a cut (random loss);
//! - **acknowledged bitrate** (`acked.rs`): receive rate over a 500 ms arrival-time window;
//! - **probing** (`probe.rs`): start-up probes at 3x / 6x the initial rate, exponential
//!   probing (2x) while results reach 70 % of the probe, probes at 2x every 5 s in ALR or when
//!   the throughput outgrew the learnt link capacity; a cluster's result is its receive rate
//!   (0.95 x when it saturated the path);
//! - **ALR** (`alr.rs`): application limited when sending under 65 % of the estimate.
//!
//! The estimate is `min(delay-based, loss-based, REMB)` clamped to `[min, max]`.
//!
//! # Feeding it
//!
//! All times are passed in; nothing reads a clock. `now_ms` is the engine's monotonic local
//! clock (any origin; a value going backwards is treated as "no time passed"). Arrival times
//! in feedback are the receiver's clock in µs, as decoded from the feedback's reference time
//! and deltas; only their differences are used.
//!
//! - [`SendSideBwe::on_packet_sent`] for every RTP packet sent with the transport-wide
//!   sequence number extension (media, RTX, padding), when it leaves the socket, with its
//!   size on the wire (RTP header + payload + padding, SRTP overhead included if at hand);
//! - [`SendSideBwe::on_feedback`] for every received transport-cc feedback packet, with one
//!   entry per reported sequence number (received with its arrival time, or lost);
//! - [`SendSideBwe::on_rtt`] with each RTT from RTCP (RR/XR);
//! - [`SendSideBwe::on_remb`] when the peer sends REMB (without transport-cc it *is* the
//!   estimate; with it, it caps the estimate);
//! - [`SendSideBwe::handle_timeout`] every 25–100 ms;
//! - [`SendSideBwe::poll_probe`] from the same timer, until it returns `None`, when the peer
//!   negotiated transport-cc: each [`ProbeCluster`] is sent as padding / RTX at its bitrate,
//!   paced (not as a single burst), until at least `min_packets` packets and `min_bytes`
//!   bytes were sent, each packet passed to `on_packet_sent` with the cluster's id. Media
//!   sent during a cluster may be tagged with the id and count towards it.
//!
//! The layer allocator reads [`SendSideBwe::available_bitrate`] after feedback or timeouts.
//! An application-limited SFU (its layers below the estimate) should still call
//! `poll_probe`: ALR probes are how its estimate learns that more bandwidth is there. A
//! transport with nothing to send may skip them.
//!
//! Without feedback the estimate stays where it is (initial, or the last REMB).

mod acked;
mod aimd;
mod alr;
mod history;
mod inter_arrival;
mod loss;
mod pacer;
mod probe;
mod receive;
mod trendline;

#[cfg(test)]
mod tests;

use acked::AckedBitrate;
use aimd::Aimd;
use alr::AlrDetector;
use history::{PacketState, SendHistory};
use inter_arrival::InterArrival;
use loss::LossController;
use probe::{ProbeController, ProbeEstimator};
use trendline::{BandwidthUsage, Trendline};

pub use pacer::{Pacer, PacerPoll, RetransmissionLimiter};
pub use receive::ReceiveSideBwe;

/// No bound or estimate goes below this, bps.
const FLOOR_BPS: u32 = 1_000;
/// RTT assumed until one is reported, ms.
const DEFAULT_RTT_MS: f64 = 200.0;
/// A probe result may lower the estimate only down to this fraction of the acknowledged
/// bitrate (a probe that lost packets or met cross traffic under-reads).
const PROBE_FLOOR_OF_ACKED: f64 = 0.85;

/// Bounds and start value of the estimate, bps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BweConfig {
    /// Estimate before any feedback (mediasoup's `initialAvailableOutgoingBitrate`,
    /// default 600 kbit/s).
    pub initial_bitrate: u32,
    /// Lowest estimate (mediasoup's `minimumAvailableOutgoingBitrate`, default 30 kbit/s).
    pub min_bitrate: u32,
    /// Highest estimate, and highest probe rate (default 10 Mbit/s).
    pub max_bitrate: u32,
}

impl Default for BweConfig {
    fn default() -> Self {
        Self { initial_bitrate: 600_000, min_bitrate: 30_000, max_bitrate: 10_000_000 }
    }
}

/// A burst the engine should send to probe for more bandwidth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeCluster {
    /// Cluster id: pass it to [`SendSideBwe::on_packet_sent`] for every packet of the burst.
    pub id: u32,
    /// Rate to send the burst at, bps.
    pub bitrate: u32,
    /// The burst lasts at least this long at `bitrate`, ms.
    pub min_duration_ms: u32,
    /// The burst has at least this many packets.
    pub min_packets: u32,
    /// The burst has at least this many bytes (`bitrate x min_duration_ms`).
    pub min_bytes: u32,
}

/// A packet reported received, as the estimators consume it.
#[derive(Debug, Clone, Copy)]
struct AckedPacket {
    send_us: i64,
    arrival_us: i64,
    size: u32,
    probe: Option<u32>,
}

/// Send-side bandwidth estimator of one transport. See the [module docs](self).
#[derive(Debug)]
pub struct SendSideBwe {
    min: f64,
    max: f64,
    initial: f64,
    now_us: i64,
    history: SendHistory,
    /// Per-feedback scratch, reused.
    scratch: Vec<AckedPacket>,
    inter_arrival: InterArrival,
    trendline: Trendline,
    aimd: Aimd,
    loss: LossController,
    acked: AckedBitrate,
    alr: AlrDetector,
    probe_ctl: ProbeController,
    probe_est: ProbeEstimator,
    remb: Option<f64>,
    feedback_seen: bool,
    rtt_ms: f64,
    /// When the delay-based controller last saw the throughput exceed its link capacity.
    capacity_exceeded_at: Option<i64>,
    estimate: u32,
}

/// Milliseconds of the engine clock as µs, saturating.
pub(crate) fn ms_to_us(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX).saturating_mul(1000)
}

fn bounds(min: u32, max: u32) -> (f64, f64) {
    let min = min.max(FLOOR_BPS);
    (f64::from(min), f64::from(max.max(min)))
}

impl SendSideBwe {
    /// An estimator starting at `cfg.initial_bitrate` (clamped to the bounds; a maximum
    /// below the minimum is raised to it).
    pub fn new(cfg: BweConfig, now_ms: u64) -> Self {
        let (min, max) = bounds(cfg.min_bitrate, cfg.max_bitrate);
        let initial = f64::from(cfg.initial_bitrate).clamp(min, max);
        let now_us = ms_to_us(now_ms);
        let mut alr = AlrDetector::default();
        alr.elapse(now_us, initial);
        Self {
            min,
            max,
            initial,
            now_us,
            history: SendHistory::default(),
            scratch: Vec::new(),
            inter_arrival: InterArrival::default(),
            trendline: Trendline::default(),
            aimd: Aimd::new(initial, min, max),
            loss: LossController::default(),
            acked: AckedBitrate::default(),
            alr,
            probe_ctl: ProbeController::new(),
            probe_est: ProbeEstimator::default(),
            remb: None,
            feedback_seen: false,
            rtt_ms: DEFAULT_RTT_MS,
            capacity_exceeded_at: None,
            estimate: initial as u32,
        }
    }

    /// Advances the local clock (never backwards).
    fn tick(&mut self, now_ms: u64) -> i64 {
        self.now_us = self.now_us.max(ms_to_us(now_ms));
        self.now_us
    }

    /// A packet carrying transport-wide sequence number `twcc_seq` and `size` bytes left at
    /// `now_ms`; `probe_cluster` is the [`ProbeCluster::id`] for probe packets.
    pub fn on_packet_sent(&mut self, twcc_seq: u16, size: usize, now_ms: u64, probe_cluster: Option<u32>) {
        let now = self.tick(now_ms);
        let size = u32::try_from(size).unwrap_or(u32::MAX);
        self.history.on_sent(twcc_seq, size, now, probe_cluster);
        self.alr.elapse(now, f64::from(self.estimate));
        if probe_cluster.is_none() {
            self.alr.on_sent(size, now);
        }
    }

    /// Transport-cc feedback: per reported sequence number, `Some(arrival_us)` (receiver
    /// clock) or `None` when reported lost. Unknown, duplicate and out-of-window entries are
    /// ignored; a packet reported lost and later received counts as received.
    pub fn on_feedback(&mut self, results: &[(u16, Option<i64>)], now_ms: u64) {
        let now = self.tick(now_ms);
        self.scratch.clear();
        let (mut received, mut lost, mut recovered) = (0u32, 0u32, 0u32);
        for &(seq, arrival) in results {
            let Some(packet) = self.history.get_mut(seq) else { continue };
            if packet.state != PacketState::Unsent {
                self.feedback_seen = true;
            }
            let counts = u32::from(self.loss.counts(packet.send_us));
            match (packet.state, arrival) {
                (PacketState::InFlight, None) => {
                    packet.state = PacketState::Lost;
                    lost = lost.saturating_add(counts);
                }
                (PacketState::InFlight | PacketState::Lost, Some(arrival_us)) => {
                    if packet.state == PacketState::Lost {
                        recovered = recovered.saturating_add(counts);
                    } else {
                        received = received.saturating_add(counts);
                    }
                    packet.state = PacketState::Received;
                    self.scratch.push(AckedPacket {
                        send_us: packet.send_us,
                        arrival_us,
                        size: packet.size,
                        probe: packet.probe,
                    });
                }
                _ => {}
            }
        }
        self.loss.on_feedback(received, lost, recovered, now);
        if !self.scratch.is_empty() {
            self.scratch.sort_unstable_by_key(|p| (p.arrival_us, p.send_us));
            for p in &self.scratch {
                self.acked.on_packet(p.arrival_us, p.size);
                if let Some(id) = p.probe {
                    self.probe_est.on_packet(id, p.send_us, p.arrival_us, p.size, now);
                }
                if let Some(d) = self.inter_arrival.on_packet(p.send_us, p.arrival_us, now) {
                    self.trendline.update(d.recv_ms, d.send_ms, d.arrival_ms);
                }
            }
            self.update_delay_based(now);
        }
        self.update_estimate(now);
        self.probe_ctl.on_estimate(f64::from(self.estimate), self.max, now);
    }

    fn update_delay_based(&mut self, now: i64) {
        let usage = self.trendline.state();
        let acked = self.acked.bitrate();
        let probe = self.probe_est.take_result();
        if usage == BandwidthUsage::Overusing {
            if !self.trendline.rising() {
                // Still above the threshold but the queue drains: the last decrease works.
                return;
            }
            let before = self.aimd.estimate();
            let in_alr = self.in_alr();
            match acked {
                Some(a) if self.aimd.time_to_reduce_further(now, a, in_alr) => {
                    self.aimd.update(usage, acked, in_alr, now);
                }
                Some(_) => {}
                None => self.aimd.initial_decrease(now),
            }
            if self.aimd.estimate() < before {
                self.loss.restart_window(now);
            }
        } else if let Some(result) = probe {
            let floor = acked.map(|a| (PROBE_FLOOR_OF_ACKED * a).min(self.aimd.estimate()));
            let result = floor.map_or(result, |f| result.max(f));
            self.aimd.set_estimate(result, now);
            self.loss.on_probe(result);
        } else {
            self.aimd.update(usage, acked, self.in_alr(), now);
        }
        if self.aimd.take_capacity_exceeded() {
            self.capacity_exceeded_at = Some(now);
        }
    }

    /// Recomputes the final estimate.
    fn update_estimate(&mut self, now: i64) {
        let delay_based = self.aimd.estimate();
        let target = self.combine(delay_based);
        self.loss.update(target, delay_based, self.acked.bitrate(), self.rtt_ms, now);
        let target = self.combine(delay_based);
        self.estimate = (target as u32).max(FLOOR_BPS);
        self.alr.elapse(now, f64::from(self.estimate));
    }

    fn combine(&self, delay_based: f64) -> f64 {
        let mut target = match self.loss.cap() {
            Some(cap) => delay_based.min(cap),
            None => delay_based,
        };
        if let Some(remb) = self.remb {
            target = if self.feedback_seen { target.min(remb) } else { remb };
        }
        if target.is_finite() {
            target.clamp(self.min, self.max)
        } else {
            self.min
        }
    }

    /// A round-trip time measured from RTCP.
    pub fn on_rtt(&mut self, rtt_ms: u32, now_ms: u64) {
        self.tick(now_ms);
        self.rtt_ms = f64::from(rtt_ms.clamp(1, 60_000));
        self.aimd.set_rtt(self.rtt_ms);
    }

    /// A REMB from the peer: the estimate when the peer gives no transport-cc feedback, a cap
    /// on it otherwise.
    pub fn on_remb(&mut self, bitrate: u32, now_ms: u64) {
        let now = self.tick(now_ms);
        self.remb = Some(f64::from(bitrate.max(FLOOR_BPS)));
        self.update_estimate(now);
    }

    /// The current `(min, max)` bounds (bps).
    pub fn min_max(&self) -> (u32, u32) {
        (self.min as u32, self.max as u32)
    }

    /// Changes the bounds (a maximum below the minimum is raised to it). Raising the maximum
    /// while the estimate sits at the old one probes for the new one.
    pub fn set_min_max(&mut self, min: u32, max: u32) {
        let (min, max) = bounds(min, max);
        if max > self.max {
            self.probe_ctl.on_max_raised(f64::from(self.estimate), self.max);
        }
        self.min = min;
        self.max = max;
        self.initial = self.initial.clamp(min, max);
        self.aimd.set_bounds(min, max);
        self.update_estimate(self.now_us);
    }

    /// The current estimate, bps: never below the minimum nor above the maximum.
    pub fn available_bitrate(&self) -> u32 {
        self.estimate
    }

    /// The rate at which the receiver got our packets lately, bps, once measured.
    pub fn acked_bitrate(&self) -> Option<u32> {
        self.acked.bitrate().map(|b| b as u32)
    }

    /// Periodic update; call every 25–100 ms.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let now = self.tick(now_ms);
        self.update_estimate(now);
        self.probe_ctl.on_estimate(f64::from(self.estimate), self.max, now);
    }

    /// The next probe cluster to send, if probing is due: call until `None`. Only useful
    /// when the peer sends transport-cc feedback (probe results are measured from it).
    pub fn poll_probe(&mut self, now_ms: u64) -> Option<ProbeCluster> {
        let now = self.tick(now_ms);
        if self.remb.is_some() && !self.feedback_seen {
            return None;
        }
        self.alr.elapse(now, f64::from(self.estimate));
        let cluster = self.probe_ctl.poll(
            now,
            f64::from(self.estimate),
            self.initial,
            self.max,
            self.alr.alr_start(),
            &mut self.capacity_exceeded_at,
        )?;
        self.probe_est.register(&cluster, now);
        Some(cluster)
    }

    /// Whether the sender is application limited: sending well below (under 65 % of) the
    /// estimate for a while.
    pub fn in_alr(&self) -> bool {
        self.alr.alr_start().is_some()
    }

    /// Whether all internal values are finite and in bounds (tests).
    #[cfg(test)]
    fn is_sane(&self) -> bool {
        let e = f64::from(self.estimate);
        self.aimd.is_sane()
            && self.trendline.is_sane()
            && e >= self.min
            && e <= self.max
            && self.estimate > 0
            && self.acked.bitrate().map_or(true, f64::is_finite)
            && self.loss.cap().map_or(true, f64::is_finite)
    }
}
