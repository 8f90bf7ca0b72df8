//! Bandwidth allocation on WebRTC transports: the send-side estimate is shared among the
//! transport's simulcast/SVC consumers by priority (every consumer first gets its lowest spatial
//! layer, then layers go up in turn while the estimate allows), and probation packets let the
//! estimate grow while the consumers send less than it (padding-only RTP on mediasoup's probator
//! SSRC 1234, which mediasoup-client announces on every receiving transport).

use serde_json::json;

use super::{TransportKind, TransportState};
use crate::events::EventKind;
use crate::trace::{TraceDirection, TraceEvent, TraceEventType};
use crate::bwe::ProbeCluster;
use crate::rtp_parameters::MediaKind;
use crate::worker::{Key, WorkerState};

/// mediasoup's probator SSRC (mediasoup-client's receiving transports expect it).
const PROBATOR_SSRC: u32 = 1234;
/// Padding bytes per probation packet (the RTP maximum).
const PROBE_PADDING: usize = 255;
/// How often layers are reallocated.
pub(crate) const ALLOCATION_INTERVAL_MS: u64 = 500;

impl WorkerState {
    /// Reallocates the layers of transport `tkey`'s consumers within its estimate.
    pub(crate) fn allocate_layers(&mut self, tkey: Key, now: u64) {
        let Some(t) = self.transports.get(&tkey) else { return };
        let Some(bwe) = t.bwe.as_ref() else { return };
        let estimate = u64::from(bwe.available_bitrate());
        // Application-limited (sending well below the estimate, nothing congested): layers may
        // climb up to 1.5x the estimate; the media itself then probes, and the estimate falls
        // back (and with it the layers) if the path cannot carry it.
        let budget_for_allocation = if bwe.in_alr() { estimate * 3 / 2 } else { estimate };
        if t.trace.has(TraceEventType::Bwe) {
            let (min, max) = bwe.min_max();
            let info = json!({ "availableBitrate": estimate, "minBitrate": min, "maxBitrate": max, "inAlr": bwe.in_alr() });
            self.bus.emit(&t.id, EventKind::Trace { trace: TraceEvent::new(TraceEventType::Bwe, TraceDirection::Out, info) });
        }
        let consumer_keys = t.consumers.clone();
        // (consumer, priority, cost per spatial layer, wanted layer)
        let mut entries: Vec<(Key, u8, Vec<u64>, usize)> = vec![];
        let mut budget = budget_for_allocation;
        for ck in consumer_keys {
            let Some(c) = self.consumers.get(&ck) else { continue };
            if !c.active() {
                continue;
            }
            if !c.allocatable() {
                // Audio and single-layer video take what they take.
                if let Some(p) = self.producers.get_mut(&c.producer) {
                    let sent: u64 = p.spatial_bitrates(now).iter().copied().max().unwrap_or(0);
                    budget = budget.saturating_sub(if c.kind == MediaKind::Audio { sent.min(64_000) } else { sent });
                }
                continue;
            }
            let preferred = c.preferred_layers.map_or(usize::MAX, |l| l.spatial_layer as usize).min(c.spatial_layers() - 1);
            let (priority, producer) = (c.priority, c.producer);
            let Some(p) = self.producers.get_mut(&producer) else { continue };
            let costs = p.spatial_bitrates(now);
            entries.push((ck, priority, costs, preferred));
        }
        entries.sort_by(|a, b| b.1.cmp(&a.1));
        // Everyone gets the lowest layer first.
        let mut chosen: Vec<usize> = vec![0; entries.len()];
        for (i, (_, _, costs, _)) in entries.iter().enumerate() {
            let c0 = costs.first().copied().unwrap_or(0);
            budget = budget.saturating_sub(c0);
            chosen[i] = 0;
        }
        // Then up one layer at a time, in priority order, while the budget allows.
        loop {
            let mut changed = false;
            for (i, (_, _, costs, preferred)) in entries.iter().enumerate() {
                let next = chosen[i] + 1;
                if next > *preferred || next >= costs.len().max(1) {
                    continue;
                }
                // A layer not arriving costs nothing now: allow it, the layer choice skips it.
                let step = costs.get(next).copied().unwrap_or(0).saturating_sub(costs.get(chosen[i]).copied().unwrap_or(0));
                if step <= budget {
                    budget -= step;
                    chosen[i] = next;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        for ((ck, ..), layer) in entries.iter().zip(chosen) {
            if let Some(c) = self.consumers.get_mut(ck) {
                let layer = layer as u8;
                if c.allocated_spatial != Some(layer) {
                    c.allocated_spatial = Some(layer);
                    c.apply_preferred_layers();
                }
            }
        }
    }

    /// Sends the probation bursts the estimator asks for.
    pub(crate) fn send_probes(&mut self, tkey: Key, now: u64) {
        let Some(t) = self.transports.get_mut(&tkey) else { return };
        // Nothing leaves before DTLS-SRTP is up: polling earlier would spend the start-up probes
        // (queued at the first poll) on a transport that cannot send them.
        if !matches!(&t.kind, TransportKind::WebRtc(w) if w.srtp.is_some()) {
            return;
        }
        // The probator stream uses a video consumer's first codec and transport-cc id; without
        // one there is nothing to probe for (and the start-up probes wait for it).
        let Some((pt, twcc)) = t.consumers.iter().filter_map(|k| self.consumers.get(k)).find(|c| c.kind == MediaKind::Video && c.twcc_ext_id != 0).and_then(|c| {
            let pt = c.rtp_parameters.codecs.first()?.payload_type;
            Some((pt, c.twcc_ext_id))
        }) else {
            return;
        };
        let Some(bwe) = t.bwe.as_mut() else { return };
        let mut clusters: Vec<ProbeCluster> = vec![];
        while let Some(c) = bwe.poll_probe(now) {
            clusters.push(c);
        }
        if clusters.is_empty() {
            return;
        }
        if t.trace.has(TraceEventType::Probation) {
            for c in &clusters {
                let info = json!({ "clusterId": c.id, "bitrate": c.bitrate, "minDurationMs": c.min_duration_ms, "minPackets": c.min_packets });
                self.bus.emit(&t.id, EventKind::Trace { trace: TraceEvent::new(TraceEventType::Probation, TraceDirection::Out, info) });
            }
        }
        let packet_size = 12 + 8 + PROBE_PADDING;
        for c in clusters {
            let n = (c.min_packets as usize).max((c.min_bytes as usize).div_ceil(packet_size));
            let duration = u64::from(c.min_duration_ms.max(1));
            let state = self.self_ref.clone();
            // Paced over the cluster's duration; a late timer is caught up at once, so the burst
            // keeps the probed rate (what the estimator compares the arrival rate with).
            tokio::task::spawn_local(async move {
                let mut sent = 0usize;
                let mut start = None;
                while sent < n {
                    let Some(st) = state.upgrade() else { return };
                    {
                        let mut s = st.borrow_mut();
                        let now = s.now_ms();
                        let start = *start.get_or_insert(now);
                        let elapsed = now.saturating_sub(start) + 1;
                        let due = ((elapsed as usize) * n).div_ceil(duration as usize).min(n);
                        let Some(t) = s.transports.get_mut(&tkey) else { return };
                        while sent < due {
                            t.send_probe(pt, twcc, c.id, now);
                            sent += 1;
                        }
                    }
                    drop(st);
                    if sent < n {
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    }
                }
            });
        }
    }
}

impl TransportState {
    /// One padding-only probation packet, counted by bandwidth estimation as part of `cluster`.
    fn send_probe(&mut self, pt: u8, twcc: u8, cluster: u32, now: u64) {
        let TransportKind::WebRtc(w) = &mut self.kind else { return };
        let seq = self.probe_seq;
        self.probe_seq = seq.wrapping_add(1);
        let twcc_seq = self.twcc_send_seq;
        self.twcc_send_seq = twcc_seq.wrapping_add(1);
        let mut pkt = Vec::with_capacity(12 + 8 + PROBE_PADDING);
        pkt.extend_from_slice(&[0xb0, pt & 0x7f]); // V=2, P=1, X=1
        pkt.extend_from_slice(&seq.to_be_bytes());
        pkt.extend_from_slice(&((now as u32).wrapping_mul(90)).to_be_bytes());
        pkt.extend_from_slice(&PROBATOR_SSRC.to_be_bytes());
        pkt.extend_from_slice(&[0xbe, 0xde, 0, 1, (twcc << 4) | 1]);
        pkt.extend_from_slice(&twcc_seq.to_be_bytes());
        pkt.push(0);
        pkt.resize(pkt.len() + PROBE_PADDING - 1, 0);
        pkt.push(PROBE_PADDING as u8);
        if w.send_rtp(&pkt) {
            self.stats.bytes_sent += pkt.len() as u64;
            self.stats.probation_bytes_sent += pkt.len() as u64;
            self.stats.probation_send_rate.update(pkt.len(), now);
        }
        if let Some(b) = self.bwe.as_mut() {
            b.on_packet_sent(twcc_seq, pkt.len(), now, Some(cluster));
        }
    }
}
