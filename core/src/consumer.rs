//! Consumers: one router producer's media sent to one transport's remote, rewritten into the
//! consumer's own SSRC, payload types, extension ids and continuous sequence/timestamps.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::events::{CloseReason, EventKind, ObjectKind};
use crate::ids::new_uuid;
use crate::ortc;
use crate::producer::{unix_ms, NO_PT};
use crate::rate::RateCalculator;
use crate::rtp::retransmission::{SendHistory, SentRecord};
use crate::rtp::layers::{self, Decision, DescriptorIds, LayerCodec, LayerFilter, PacketInfo};
use crate::rtp::{write_forwarded, ExtensionMap, ForwardHeader, RtpPacket, SeqTsRewriter};
use crate::trace::{self, TraceDirection, TraceEvent, TraceEventType, TraceMask};
use crate::rtp_parameters::{ConsumerLayers, ConsumerType, MediaKind, RtpCapabilities, RtpParameters};
use crate::worker::{Key, WorkerInner, WorkerState};

const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";

/// Options of `transport.consume()`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerOptions {
    /// The producer to consume.
    pub producer_id: String,
    /// What the consuming remote can receive.
    pub rtp_capabilities: RtpCapabilities,
    /// Start paused (recommended for video: resume once the remote is ready).
    #[serde(default)]
    pub paused: bool,
    /// MID to use (default: the transport's next one).
    #[serde(default)]
    pub mid: Option<String>,
    /// Preferred spatial/temporal layers (simulcast/SVC); clamped to what exists.
    #[serde(default)]
    pub preferred_layers: Option<ConsumerLayers>,
    /// Forward DTX packets too.
    #[serde(default)]
    pub ignore_dtx: bool,
    /// Offer NACK/RTX (default: video yes, audio no).
    #[serde(default)]
    pub enable_rtx: Option<bool>,
    /// A pipe consumer (all layers, original SSRCs mapping).
    #[serde(default)]
    pub pipe: bool,
    /// The application's own data, kept on the handle (`appData`).
    #[serde(default, skip_serializing)]
    pub app_data: serde_json::Value,
}

pub(crate) struct ConsumerState {
    pub(crate) id: String,
    pub(crate) transport: Key,
    pub(crate) producer: Key,
    pub(crate) kind: MediaKind,
    pub(crate) rtp_parameters: RtpParameters,
    pub(crate) consumer_type: ConsumerType,
    pub(crate) paused: bool,
    pub(crate) producer_paused: bool,
    pub(crate) ssrc: u32,
    /// Producer payload type → consumer payload type (`NO_PT`: not forwarded).
    pt_map: [u8; 128],
    /// Producer extension id → consumer extension id.
    ext_map: ExtensionMap,
    mid_ext: Option<(u8, Vec<u8>)>,
    rewriter: SeqTsRewriter,
    /// The producer encoding this consumer forwards (`None` until a key frame of the target).
    pub(crate) source_encoding: Option<usize>,
    /// The encoding it wants to forward (switched to at its next key frame).
    pub(crate) target_encoding: usize,
    /// Number of producer encodings (simulcast layers).
    num_encodings: usize,
    /// The video codec's layer structure, as the payload descriptors tell it.
    layer_codec: LayerCodec,
    /// Temporal (simulcast) or spatial + temporal (SVC) layer dropping and payload-descriptor
    /// continuity; `None` for simple and pipe consumers, which forward everything.
    filter: Option<LayerFilter>,
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
    rate: RateCalculator,
    pub(crate) priority: u8,
    pub(crate) preferred_layers: Option<ConsumerLayers>,
    /// The highest spatial layer the transport's bandwidth allows (`None`: no limit).
    pub(crate) allocated_spatial: Option<u8>,
    mime_type: String,
    clock_rate: u32,
    flags: Arc<ConsumerFlags>,
    /// What was sent recently, to answer NACKs (only when the remote negotiated NACK).
    pub(crate) history: SendHistory,
    /// `(ssrc, payload type)` of the RTX stream, when negotiated.
    pub(crate) rtx: Option<(u32, u8)>,
    pub(crate) rtx_seq: u16,
    pub(crate) nack_count: u64,
    pub(crate) nack_packet_count: u64,
    pub(crate) packets_retransmitted: u64,
    /// Set when the forwarded layer changed; the worker reports it as `layerschange`.
    pub(crate) layers_changed: bool,
    last_switch_request_ms: u64,
    /// Score from the remote's receiver reports (10 until one says otherwise).
    pub(crate) score: u8,
    pub(crate) packets_lost: i64,
    pub(crate) fraction_lost: u8,
    /// What the last `score` event reported: (score, producer encoding scores).
    pub(crate) reported_score: Option<(u8, Vec<u8>)>,
    /// PLIs / FIRs received from the remote.
    pub(crate) pli_count: u64,
    pub(crate) fir_count: u64,
    /// Enabled `trace` event types.
    pub(crate) trace: TraceMask,
    /// Pipe consumers: `(ssrc, rtx ssrc)` per producer encoding; every encoding is forwarded
    /// on its own stream with the source's sequence numbers and timestamps.
    pub(crate) pipe_streams: Vec<(u32, Option<u32>)>,
    /// Pipe consumers: what each of `pipe_streams` sent, for its sender reports.
    pipe_sent: Vec<PipeStreamSent>,
    /// Id of the transport-wide sequence number extension this consumer's packets carry (0:
    /// none), so the remote's transport-cc feedback drives bandwidth estimation.
    pub(crate) twcc_ext_id: u8,
}

/// How often a consumer waiting to switch layers asks again for a key frame of the target.
const SWITCH_RETRY_MS: u64 = 500;

/// Sent packets remembered per consumer for retransmission (16 bytes each).
/// Whether a consumer of one stream drops what comes before a key frame: video with a codec whose
/// key frames the layer parser recognises, except on pipes (which carry everything as is).
fn waits_for_key_frame(consumer_type: ConsumerType, kind: MediaKind, codec: LayerCodec) -> bool {
    kind == MediaKind::Video && codec != LayerCodec::Other && consumer_type != ConsumerType::Pipe
}

const SEND_HISTORY: usize = 512;

/// State the handle reads without a round trip.
#[derive(Default)]
pub(crate) struct ConsumerFlags {
    closed: AtomicBool,
    paused: AtomicBool,
    producer_paused: AtomicBool,
    priority: AtomicU8,
    preferred_layers: Mutex<Option<ConsumerLayers>>,
    current_layers: Mutex<Option<ConsumerLayers>>,
}

/// The payload of `out`, a forwarded copy of `pkt` (it sits before any padding at the end).
fn payload_of_copy<'a>(pkt: &RtpPacket<'_>, out: &'a mut [u8]) -> Option<&'a mut [u8]> {
    let payload_offset = pkt.payload().as_ptr() as usize - pkt.data().as_ptr() as usize;
    let start = out.len().checked_sub(pkt.data().len() - payload_offset)?;
    out.get_mut(start..start + pkt.payload().len())
}

/// What one stream of a pipe consumer sent: its latest RTP timestamp (the source's, as relayed)
/// and when, and its packet and byte counts.
#[derive(Debug, Clone, Copy, Default)]
struct PipeStreamSent {
    last_ts: u32,
    last_ms: u64,
    packets: u64,
    bytes: u64,
}

impl PipeStreamSent {
    fn on_sent(&mut self, ts: u32, len: usize, now: u64) {
        // The newest timestamp: a late (reordered) packet must not move the mapping back.
        if self.packets == 0 || (ts.wrapping_sub(self.last_ts) as i32) >= 0 {
            self.last_ts = ts;
            self.last_ms = now;
        }
        self.packets += 1;
        self.bytes += len as u64;
    }
}

impl ConsumerState {
    /// The sequence number of the last packet sent (what a NACK from the remote refers to).
    pub(crate) fn last_sent_seq(&self) -> u16 {
        self.rewriter.last_seq()
    }

    pub(crate) fn active(&self) -> bool {
        !self.paused && !self.producer_paused
    }

    /// Whether a packet of `encoding` can be for this consumer now: its source encoding, or
    /// its target's (where it switches at a key frame); a pipe consumer takes every encoding.
    /// The deferred fan-out skips the rest of a turn's packets without parsing them.
    #[inline]
    pub(crate) fn takes_encoding(&self, encoding: usize) -> bool {
        self.consumer_type == ConsumerType::Pipe || self.source_encoding == Some(encoding) || self.target_encoding == encoding
    }

    /// Whether this consumer's packets may be padded to leave in longer GSO runs (see
    /// [`crate::rtp::gso_padding`]): video (a frame is several packets; audio is one per turn),
    /// not a pipe consumer (the far router gets the producer's packets as they were).
    pub(crate) fn pads_for_gso(&self) -> bool {
        self.kind == MediaKind::Video && self.consumer_type != ConsumerType::Pipe
    }

    /// Writes this consumer's copy of `pkt` into `out`; false when the packet is not for it.
    pub(crate) fn forward(&mut self, pkt: &RtpPacket<'_>, encoding: usize, info: &PacketInfo, now: u64, out: &mut Vec<u8>) -> bool {
        if !self.active() {
            return false;
        }
        if self.consumer_type == ConsumerType::Pipe {
            return self.forward_pipe(pkt, encoding, now, out);
        }
        // A decodable entry point: the first packet of a key frame (H264 descriptors carry no
        // frame boundaries, its key-frame NAL units are the entry).
        let entry = info.key_frame && (info.start_of_frame || self.layer_codec == LayerCodec::H264);
        if encoding == self.target_encoding && self.source_encoding != Some(encoding) && entry {
            // Switch layers only at a key frame of the target; the output stays continuous.
            self.source_encoding = Some(encoding);
            self.rewriter.request_sync();
            if let Some(f) = &mut self.filter {
                f.resync();
            }
            self.layers_changed = true;
        }
        if self.source_encoding != Some(encoding) {
            return false;
        }
        let pt = self.pt_map[(pkt.payload_type() & 0x7f) as usize];
        if pt == NO_PT {
            return false;
        }
        // Copy first (sequence number and timestamp are filled in below), so the layer filter can
        // rewrite the payload descriptor in this consumer's copy.
        let hdr = ForwardHeader {
            ssrc: self.ssrc,
            payload_type: pt,
            sequence_number: 0,
            timestamp: 0,
            override_ext: self.mid_ext.as_ref().map(|(id, v)| (*id, v.as_slice())),
            twcc_ext: self.twcc_ext_id,
        };
        write_forwarded(out, pkt, &hdr, &self.ext_map);
        let mut marker = pkt.marker();
        let mut descriptor = DescriptorIds::default();
        if let Some(f) = &mut self.filter {
            let before = f.current();
            let Some(payload) = payload_of_copy(pkt, out) else { return false };
            let decision = f.process(info, payload, marker);
            descriptor = layers::descriptor_ids(self.layer_codec, payload);
            // (A switch down happens on a packet the new layers drop.)
            self.layers_changed |= f.current() != before;
            match decision {
                Decision::Drop => {
                    self.rewriter.drop_packet(pkt.ssrc(), pkt.sequence_number());
                    return false;
                }
                Decision::Forward { marker: m } => marker = m,
            }
        }
        let Some((seq, ts)) = self.rewriter.rewrite(pkt.ssrc(), pkt.sequence_number(), pkt.timestamp(), now) else { return false };
        out[1] = (out[1] & 0x7f) | if marker { 0x80 } else { 0 };
        out[2..4].copy_from_slice(&seq.to_be_bytes());
        out[4..8].copy_from_slice(&ts.to_be_bytes());
        if self.history.capacity() > 0 {
            self.history.record(SentRecord { out_seq: seq, out_ts: ts, source_seq: pkt.sequence_number(), encoding: encoding as u8, sent_ms: now, descriptor, marker });
        }
        self.packets += 1;
        self.bytes += out.len() as u64;
        self.rate.update(out.len(), now);
        true
    }

    /// A pipe consumer's copy: the encoding's own SSRC, everything else as the producer sent it
    /// (the far end's producer sees the same streams, layers and sequence numbers).
    fn forward_pipe(&mut self, pkt: &RtpPacket<'_>, encoding: usize, now: u64, out: &mut Vec<u8>) -> bool {
        let Some(&(ssrc, _)) = self.pipe_streams.get(encoding) else { return false };
        let pt = self.pt_map[(pkt.payload_type() & 0x7f) as usize];
        if pt == NO_PT {
            return false;
        }
        let hdr = ForwardHeader { ssrc, payload_type: pt, sequence_number: pkt.sequence_number(), timestamp: pkt.timestamp(), override_ext: None, twcc_ext: 0 };
        write_forwarded(out, pkt, &hdr, &self.ext_map);
        self.packets += 1;
        self.bytes += out.len() as u64;
        self.rate.update(out.len(), now);
        if let Some(sent) = self.pipe_sent.get_mut(encoding) {
            sent.on_sent(pkt.timestamp(), out.len(), now);
        }
        true
    }

    /// The retransmission of the rebuilt packet in `packet`: wrapped as RTX on `rtx` (ssrc,
    /// payload type) into `rtx_buf`, or `packet` itself without RTX; None when it cannot be wrapped.
    pub(crate) fn as_retransmission<'a>(&mut self, rtx: Option<(u32, u8)>, packet: &'a mut Vec<u8>, rtx_buf: &'a mut Vec<u8>) -> Option<&'a mut Vec<u8>> {
        let Some((rtx_ssrc, rtx_pt)) = rtx else { return Some(packet) };
        self.rtx_seq = self.rtx_seq.wrapping_add(1);
        crate::rtp::retransmission::write_rtx(rtx_buf, packet, rtx_ssrc, rtx_pt, self.rtx_seq).then_some(rtx_buf)
    }

    /// A pipe consumer's encoding sent as `ssrc` (or its RTX stream).
    pub(crate) fn pipe_encoding_of(&self, ssrc: u32) -> Option<usize> {
        self.pipe_streams.iter().position(|(s, r)| *s == ssrc || *r == Some(ssrc))
    }

    /// Rebuilds a cached source packet for a pipe consumer's retransmission.
    pub(crate) fn rebuild_pipe(&self, pkt: &RtpPacket<'_>, encoding: usize, out: &mut Vec<u8>) -> Option<Option<(u32, u8)>> {
        let &(ssrc, rtx_ssrc) = self.pipe_streams.get(encoding)?;
        let pt = self.pt_map[(pkt.payload_type() & 0x7f) as usize];
        if pt == NO_PT {
            return None;
        }
        let hdr = ForwardHeader { ssrc, payload_type: pt, sequence_number: pkt.sequence_number(), timestamp: pkt.timestamp(), override_ext: None, twcc_ext: 0 };
        write_forwarded(out, pkt, &hdr, &self.ext_map);
        Some(rtx_ssrc.zip(self.rtx.map(|(_, pt)| pt)))
    }

    /// Emits the `rtp` / `keyframe` trace events enabled for a packet just written to `out`.
    pub(crate) fn trace_rtp(&self, bus: &crate::events::EventBus, out: &[u8], key_frame: bool) {
        let rtp = self.trace.has(TraceEventType::Rtp);
        let key = key_frame && self.trace.has(TraceEventType::Keyframe);
        let Some(pkt) = RtpPacket::parse(out).filter(|_| rtp || key) else { return };
        let ctx = trace::RtpTraceContext { key_frame, mid: self.rtp_parameters.mid.as_deref(), ..Default::default() };
        let info = trace::rtp_info(&pkt, &ctx);
        if key {
            bus.emit(&self.id, EventKind::Trace { trace: TraceEvent::new(TraceEventType::Keyframe, TraceDirection::Out, info.clone()) });
        }
        if rtp {
            bus.emit(&self.id, EventKind::Trace { trace: TraceEvent::new(TraceEventType::Rtp, TraceDirection::Out, info) });
        }
    }

    /// A receiver report block from the remote about this consumer's stream.
    pub(crate) fn on_receiver_report(&mut self, b: &crate::rtp::receive_stats::ReportBlock) {
        self.packets_lost = b.cumulative_lost as i64;
        self.fraction_lost = b.fraction_lost;
        self.score = crate::rtp::receive_stats::score_from_delivery(1.0 - b.fraction_lost as f64 / 256.0);
    }

    /// mediasoup's consumer `score`: own score, the forwarded stream's score, all encodings'.
    pub(crate) fn score_value(&self, producer_scores: &[u8]) -> Value {
        let enc = self.source_encoding.unwrap_or(self.target_encoding);
        let producer_score = producer_scores.get(enc).copied().unwrap_or(0);
        json!({ "score": self.score, "producerScore": producer_score, "producerScores": producer_scores })
    }

    /// The layers currently forwarded (simulcast: spatial = encoding index; SVC: what the layer
    /// filter lets through). `None` for simple consumers and before anything was forwarded.
    pub(crate) fn current_layers(&self) -> Option<ConsumerLayers> {
        let filter = self.filter.as_ref().and_then(|f| f.current());
        match self.consumer_type {
            ConsumerType::Simulcast => {
                let temporal = filter.map(|(_, t)| t).or(self.preferred_layers.and_then(|l| l.temporal_layer)).unwrap_or(0);
                self.source_encoding.map(|e| ConsumerLayers { spatial_layer: e as u8, temporal_layer: Some(temporal) })
            }
            ConsumerType::Svc => filter.map(|(s, t)| ConsumerLayers { spatial_layer: s, temporal_layer: Some(t) }),
            _ => None,
        }
    }

    /// Applies the preferred layers to the layer filter (simulcast: the temporal layer within
    /// the chosen encoding; SVC: both).
    pub(crate) fn apply_preferred_layers(&mut self) {
        let wanted = self.wanted_spatial() as u8;
        let (Some(f), Some(l)) = (&mut self.filter, self.preferred_layers) else { return };
        let temporal = l.temporal_layer.unwrap_or(u8::MAX);
        let spatial = if self.consumer_type == ConsumerType::Svc { wanted } else { 0 };
        f.set_target(spatial, temporal);
    }

    /// The spatial layer to aim at: the preferred one, within what bandwidth allows.
    pub(crate) fn wanted_spatial(&self) -> usize {
        let preferred = self.preferred_layers.map_or(usize::MAX, |l| l.spatial_layer as usize);
        preferred.min(self.allocated_spatial.map_or(usize::MAX, usize::from))
    }

    /// How many spatial layers this consumer can choose from (simulcast encodings or SVC layers;
    /// 0 when bandwidth allocation does not apply to it).
    pub(crate) fn spatial_layers(&self) -> usize {
        match self.consumer_type {
            ConsumerType::Simulcast => self.num_encodings,
            ConsumerType::Svc => self.filter.as_ref().map_or(0, |f| f.max_spatial() as usize + 1),
            _ => 0,
        }
    }

    /// Whether the consumer takes part in bandwidth allocation (active video with layers).
    pub(crate) fn allocatable(&self) -> bool {
        self.active() && self.kind == MediaKind::Video && self.spatial_layers() > 1
    }

    /// An SVC consumer that wants a higher spatial layer than it forwards needs a key frame
    /// (upper layers of `L*T*` and `L*T*_KEY` streams only become decodable there); asks again
    /// every `SWITCH_RETRY_MS` until the switch happened.
    pub(crate) fn wants_svc_key_frame(&mut self, now: u64) -> bool {
        if self.consumer_type != ConsumerType::Svc || !self.active() {
            return false;
        }
        let Some(f) = &self.filter else { return false };
        let below = f.current().is_some_and(|(s, _)| s < f.target().0);
        if below && now >= self.last_switch_request_ms + SWITCH_RETRY_MS {
            self.last_switch_request_ms = now;
            return true;
        }
        false
    }

    /// Rewrites a cached source packet exactly as it was first sent (for a retransmission):
    /// sequence number, timestamp, marker and payload-descriptor ids from the send record.
    pub(crate) fn rebuild(&self, pkt: &RtpPacket<'_>, rec: &SentRecord, out: &mut Vec<u8>) -> bool {
        let pt = self.pt_map[(pkt.payload_type() & 0x7f) as usize];
        if pt == NO_PT {
            return false;
        }
        let hdr = ForwardHeader {
            ssrc: self.ssrc,
            payload_type: pt,
            sequence_number: rec.out_seq,
            timestamp: rec.out_ts,
            override_ext: self.mid_ext.as_ref().map(|(id, v)| (*id, v.as_slice())),
            twcc_ext: self.twcc_ext_id,
        };
        write_forwarded(out, pkt, &hdr, &self.ext_map);
        if self.filter.is_some() {
            out[1] = (out[1] & 0x7f) | if rec.marker { 0x80 } else { 0 };
            if let Some(payload) = payload_of_copy(pkt, out) {
                layers::write_descriptor_ids(self.layer_codec, payload, rec.descriptor);
            }
        }
        true
    }

    /// Picks the encoding to forward from the layers that are receiving media: the preferred
    /// spatial layer if active, else the best active one below it, else the lowest active one.
    /// Returns the encoding that needs a key frame: a new target, and again every
    /// `SWITCH_RETRY_MS` until the switch happened (a request can be lost or throttled).
    pub(crate) fn choose_layer(&mut self, active: &[bool], now: u64) -> Option<usize> {
        if self.num_encodings < 2 || !self.active() || self.consumer_type == ConsumerType::Pipe {
            return None;
        }
        let preferred = self.wanted_spatial().min(self.num_encodings - 1);
        let target = (0..=preferred).rev().find(|i| active.get(*i).copied().unwrap_or(false)).or_else(|| active.iter().position(|a| *a));
        let target = target?;
        let changed = target != self.target_encoding;
        self.target_encoding = target;
        if self.source_encoding == Some(target) {
            return None;
        }
        if changed || now >= self.last_switch_request_ms + SWITCH_RETRY_MS {
            self.last_switch_request_ms = now;
            return Some(target);
        }
        None
    }

    pub(crate) fn flags_layers(&self) -> parking_lot::MutexGuard<'_, Option<ConsumerLayers>> {
        self.flags.current_layers.lock()
    }

    /// A video consumer that is active wants a key frame once its transport connects.
    pub(crate) fn wants_key_frame_on_connect(&self) -> bool {
        self.active() && self.kind == MediaKind::Video
    }

    /// Writes an RTCP sender report (NTP ↔ RTP mapping for lip sync); false before any packet.
    /// A pipe consumer writes one per stream that sent something (as many streams as the
    /// producer has encodings), so the far router's producer gets each stream's mapping and
    /// its receiver reports carry LSR/DLSR back (the pipe's round-trip time).
    pub(crate) fn write_sender_report(&self, out: &mut Vec<u8>, now: u64, ntp: u64) -> bool {
        if self.consumer_type == ConsumerType::Pipe {
            let mut wrote = false;
            for (&(ssrc, _), sent) in self.pipe_streams.iter().zip(&self.pipe_sent).filter(|(_, s)| s.packets > 0) {
                let ts = crate::rtp::rtcp::sr_rtp_timestamp(sent.last_ts, sent.last_ms, now, self.clock_rate);
                crate::rtp::rtcp::write_sr(out, ssrc, ntp, ts, sent.packets as u32, sent.bytes as u32);
                wrote = true;
            }
            return wrote;
        }
        if self.packets == 0 {
            return false;
        }
        let ts = crate::rtp::rtcp::sr_rtp_timestamp(self.rewriter.last_timestamp(), self.rewriter.last_sent_ms(), now, self.clock_rate);
        crate::rtp::rtcp::write_sr(out, self.ssrc, ntp, ts, self.packets as u32, self.bytes as u32);
        true
    }

    /// Returns true when the change makes the consumer active (it then wants a key frame).
    pub(crate) fn set_producer_paused(&mut self, paused: bool) -> bool {
        let was_active = self.active();
        self.producer_paused = paused;
        self.flags.producer_paused.store(paused, Ordering::Release);
        if !paused {
            self.rewriter.request_sync();
        }
        let woke = !was_active && self.active();
        if woke {
            self.resync_at_key_frame();
        }
        woke && self.kind == MediaKind::Video
    }

    /// Which of the producer's encodings a key frame request of this consumer is for: a simulcast
    /// consumer needs only the one it forwards (or is about to), not all of them (`None`: every
    /// stream, e.g. a single stream or a pipe).
    pub(crate) fn key_frame_encoding(&self) -> Option<usize> {
        (self.consumer_type == ConsumerType::Simulcast && self.num_encodings > 1).then(|| self.source_encoding.unwrap_or(self.target_encoding))
    }

    /// After a pause, a single video stream resumes at a key frame (what it would forward
    /// before one would not decode). Simulcast and SVC consumers switch at key frames anyway.
    pub(crate) fn resync_at_key_frame(&mut self) {
        if self.num_encodings < 2 && waits_for_key_frame(self.consumer_type, self.kind, self.layer_codec) {
            self.source_encoding = None;
        }
    }

    fn stats(&mut self, now: u64) -> Value {
        let mut v = json!({
            "type": "outbound-rtp",
            "timestamp": unix_ms(),
            "ssrc": self.ssrc,
            "kind": self.kind,
            "mimeType": self.mime_type,
            "packetsLost": self.packets_lost,
            "fractionLost": self.fraction_lost,
            "packetsDiscarded": 0,
            "packetsRetransmitted": self.packets_retransmitted,
            "packetsRepaired": 0,
            "nackCount": self.nack_count,
            "nackPacketCount": self.nack_packet_count,
            "pliCount": self.pli_count,
            "firCount": self.fir_count,
            "score": self.score,
            "packetCount": self.packets,
            "byteCount": self.bytes,
            "bitrate": self.rate.rate(now),
        });
        if let Some(rtx) = self.rtp_parameters.encodings.first().and_then(|e| e.rtx) {
            v["rtxSsrc"] = json!(rtx.ssrc);
        }
        v
    }
}

pub(crate) struct ConsumerData {
    app_data: serde_json::Value,
    key: Key,
    id: String,
    producer_id: String,
    kind: MediaKind,
    rtp_parameters: RtpParameters,
    consumer_type: ConsumerType,
    flags: Arc<ConsumerFlags>,
}

impl WorkerState {
    pub(crate) fn create_consumer(&mut self, tkey: Key, pkey: Key, o: ConsumerOptions, mid: Option<String>) -> Result<ConsumerData> {
        self.check_per_transport_limit(tkey, crate::transport::Held::Consumers)?;
        let mut caps = o.rtp_capabilities;
        ortc::validate_rtp_capabilities(&mut caps)?;
        let p = self.producer(pkey)?;
        let enable_rtx = o.enable_rtx.unwrap_or(p.kind == MediaKind::Video);
        let mut params = if o.pipe {
            ortc::get_pipe_consumer_rtp_parameters(&p.consumable_rtp_parameters, enable_rtx)
        } else {
            if !ortc::can_consume_validated(&p.consumable_rtp_parameters, &caps) {
                return Err(Error::unsupported("cannot consume this Producer with the given rtpCapabilities"));
            }
            ortc::consumer_rtp_parameters_validated(&p.consumable_rtp_parameters, &caps, false, enable_rtx)?
        };
        params.mid = mid;
        let consumer_type = ortc::consumer_type(p.producer_type, o.pipe);
        let preferred_layers = ortc::consumer_preferred_layers(consumer_type, &params, o.preferred_layers);

        // Compose producer → router → consumer maps once, so forwarding is one table lookup.
        let mut pt_map = [NO_PT; 128];
        for (in_pt, router_pt) in p.pt_map.iter().enumerate() {
            if *router_pt != NO_PT && params.codecs.iter().any(|c| c.payload_type == *router_pt) {
                pt_map[in_pt] = *router_pt;
            }
        }
        let mut ext_map = ExtensionMap::default();
        for e in &p.rtp_parameters.header_extensions {
            let router_id = p.ext_map.get(e.id);
            // Transport-wide sequence numbers belong to the sending transport, never forwarded.
            if e.uri == ortc::TRANSPORT_WIDE_CC_URI {
                continue;
            }
            if router_id != 0 && params.header_extensions.iter().any(|c| c.id == router_id && c.uri == e.uri) {
                ext_map.insert(e.id, router_id);
            }
        }
        let mid_ext = match (&params.mid, params.header_extensions.iter().find(|e| e.uri == MID_URI)) {
            (Some(m), Some(e)) if !m.is_empty() && m.len() <= 16 => Some((e.id, m.as_bytes().to_vec())),
            _ => None,
        };
        let ssrc = params.encodings.first().and_then(|e| e.ssrc).unwrap_or_else(ortc::generate_ssrc);
        let media_codec = params.codecs.iter().find(|c| !ortc::is_rtx_mime(&c.mime_type));
        let clock_rate = media_codec.map(|c| c.clock_rate).unwrap_or(90000);
        let mime_type = media_codec.map(|c| c.mime_type.clone()).unwrap_or_default();
        let (producer_id, kind, producer_paused) = (p.id.clone(), p.kind, p.paused);
        let nack_negotiated = media_codec.is_some_and(|c| c.rtcp_feedback.iter().any(|f| f.typ == "nack" && f.parameter.is_empty()));
        let rtx = match (params.encodings.first().and_then(|e| e.rtx), media_codec.and_then(|c| ortc::find_rtx_codec_for(&params, c.payload_type))) {
            (Some(r), Some(codec)) => Some((r.ssrc, codec.payload_type)),
            _ => None,
        };
        let num_encodings = p.streams.len();
        let twcc_ext_id = match self.transports.get(&tkey).map(|t| &t.kind) {
            Some(crate::transport::TransportKind::WebRtc(_)) => {
                params.header_extensions.iter().find(|e| e.uri == ortc::TRANSPORT_WIDE_CC_URI).map_or(0, |e| e.id)
            }
            _ => 0,
        };
        let pipe_streams: Vec<(u32, Option<u32>)> =
            if o.pipe { params.encodings.iter().map(|e| (e.ssrc.unwrap_or_else(ortc::generate_ssrc), e.rtx.map(|r| r.ssrc))).collect() } else { vec![] };
        let layer_codec = LayerCodec::from_mime(&mime_type);
        let filter = match consumer_type {
            ConsumerType::Simulcast | ConsumerType::Svc if kind == MediaKind::Video && layer_codec != LayerCodec::Other => {
                let mode = ortc::parse_scalability_mode(params.encodings.first().and_then(|e| e.scalability_mode.as_deref()));
                let spatial = if consumer_type == ConsumerType::Svc { mode.spatial_layers } else { 1 };
                Some(LayerFilter::new(layer_codec, spatial, mode.temporal_layers))
            }
            _ => None,
        };

        let mut rng = rand::thread_rng();
        let key = self.next_key();
        let id = new_uuid();
        let flags = Arc::new(ConsumerFlags::default());
        flags.paused.store(o.paused, Ordering::Release);
        flags.producer_paused.store(producer_paused, Ordering::Release);
        flags.priority.store(1, Ordering::Release);
        *flags.preferred_layers.lock() = preferred_layers;
        let mut state = ConsumerState {
            id: id.clone(),
            transport: tkey,
            producer: pkey,
            kind,
            rtp_parameters: params.clone(),
            consumer_type,
            paused: o.paused,
            producer_paused,
            ssrc,
            pt_map,
            ext_map,
            mid_ext,
            rewriter: SeqTsRewriter::new(clock_rate, rng.gen(), rng.gen()),
            // A single video stream whose key frames we can see starts at one (like mediasoup's
            // SimpleConsumer); other single streams start at once.
            source_encoding: if num_encodings < 2 && !waits_for_key_frame(consumer_type, kind, layer_codec) { Some(0) } else { None },
            // Until the layer choice runs, aim at the preferred spatial layer (default: the top).
            target_encoding: preferred_layers.map_or(num_encodings.saturating_sub(1), |l| (l.spatial_layer as usize).min(num_encodings.saturating_sub(1))),
            num_encodings,
            layer_codec,
            filter,
            packets: 0,
            bytes: 0,
            rate: RateCalculator::default(),
            priority: 1,
            preferred_layers,
            allocated_spatial: None,
            mime_type,
            clock_rate,
            flags: flags.clone(),
            history: SendHistory::new(if nack_negotiated { SEND_HISTORY } else { 0 }),
            rtx,
            rtx_seq: rng.gen(),
            nack_count: 0,
            nack_packet_count: 0,
            packets_retransmitted: 0,
            layers_changed: false,
            last_switch_request_ms: 0,
            score: 10,
            packets_lost: 0,
            fraction_lost: 0,
            reported_score: None,
            pli_count: 0,
            fir_count: 0,
            trace: TraceMask::default(),
            pipe_sent: vec![PipeStreamSent::default(); pipe_streams.len()],
            pipe_streams: pipe_streams.clone(),
            twcc_ext_id,
        };
        state.apply_preferred_layers();
        let active = state.active();
        let unpaused = !state.paused;
        self.consumers.insert(key, Box::new(state));
        if let Some(p) = self.producers.get_mut(&pkey) {
            p.consumers.push(key);
            if unpaused {
                p.unpaused.push(key);
            }
        }
        if let Some(t) = self.transports.get_mut(&tkey) {
            t.consumers.push(key);
            t.consumer_ssrcs.insert(ssrc as u64, key);
            for (s, rtx) in &pipe_streams {
                t.consumer_ssrcs.insert(*s as u64, key);
                if let Some(r) = rtx {
                    t.consumer_ssrcs.insert(*r as u64, key);
                }
            }
        }
        if active && kind == MediaKind::Video {
            let now = self.now_ms();
            let encoding = self.consumers.get(&key).and_then(|c| c.key_frame_encoding());
            self.request_key_frame_on(pkey, encoding, now);
        }
        Ok(ConsumerData { app_data: o.app_data, key, id, producer_id, kind, rtp_parameters: params, consumer_type, flags })
    }

    pub(crate) fn close_consumer(&mut self, key: Key, reason: CloseReason) {
        let Some(c) = self.consumers.remove(&key) else { return };
        if let Some(p) = self.producers.get_mut(&c.producer) {
            p.consumers.retain(|k| *k != key);
            p.unpaused.retain(|k| *k != key);
        }
        if let Some(t) = self.transports.get_mut(&c.transport) {
            t.consumers.retain(|k| *k != key);
            t.consumer_ssrcs.remove(&(c.ssrc as u64));
            for (s, rtx) in &c.pipe_streams {
                t.consumer_ssrcs.remove(&(*s as u64));
                if let Some(r) = rtx {
                    t.consumer_ssrcs.remove(&(*r as u64));
                }
            }
        }
        c.flags.closed.store(true, Ordering::Release);
        self.bus.emit(&c.id, EventKind::Closed { object: ObjectKind::Consumer, reason });
    }

    fn consumer_mut(&mut self, key: Key) -> Result<&mut ConsumerState> {
        self.consumers.get_mut(&key).map(|c| &mut **c).ok_or_else(|| Error::InvalidState("consumer closed".into()))
    }

    pub(crate) fn set_consumer_paused(&mut self, key: Key, paused: bool) -> Result<()> {
        let c = self.consumer_mut(key)?;
        let was_active = c.active();
        let was_paused = std::mem::replace(&mut c.paused, paused);
        c.flags.paused.store(paused, Ordering::Release);
        if !paused {
            c.rewriter.request_sync();
        }
        let woke = !was_active && c.active();
        if woke {
            c.resync_at_key_frame();
        }
        let wants_key_frame = woke && c.kind == MediaKind::Video;
        let (pkey, encoding) = (c.producer, c.key_frame_encoding());
        if was_paused != paused {
            if let Some(p) = self.producers.get_mut(&pkey) {
                p.unpaused.retain(|k| *k != key);
                if !paused {
                    p.unpaused.push(key);
                }
            }
        }
        if wants_key_frame {
            let now = self.now_ms();
            self.request_key_frame_on(pkey, encoding, now);
        }
        Ok(())
    }

    fn consumer_request_key_frame(&mut self, key: Key) -> Result<()> {
        let c = self.consumer_mut(key)?;
        let (pkey, encoding) = (c.producer, c.key_frame_encoding());
        let now = self.now_ms();
        self.request_key_frame_on(pkey, encoding, now);
        Ok(())
    }

    fn consumer_set_priority(&mut self, key: Key, priority: Option<u8>) -> Result<()> {
        let priority = priority.unwrap_or(1);
        if priority < 1 {
            return Err(Error::type_err("invalid priority: must be 1..=255"));
        }
        let c = self.consumer_mut(key)?;
        c.priority = priority;
        c.flags.priority.store(priority, Ordering::Release);
        Ok(())
    }

    fn consumer_set_preferred_layers(&mut self, key: Key, layers: ConsumerLayers) -> Result<()> {
        let c = self.consumer_mut(key)?;
        let clamped = ortc::consumer_preferred_layers(c.consumer_type, &c.rtp_parameters, Some(layers));
        c.preferred_layers = clamped;
        *c.flags.preferred_layers.lock() = clamped;
        c.apply_preferred_layers();
        Ok(())
    }

    fn consumer_stats(&mut self, key: Key) -> Result<Value> {
        let now = self.now_ms();
        let c = self.consumers.get_mut(&key).ok_or_else(|| Error::InvalidState("consumer closed".into()))?;
        let mut mine = c.stats(now);
        if let Some(rtt) = self.transports.get(&c.transport).and_then(|t| t.rtt_ms) {
            mine["roundTripTime"] = json!(rtt);
        }
        let (pkey, enc) = (c.producer, c.source_encoding.unwrap_or(c.target_encoding));
        let mut out = vec![mine];
        if let Some(Value::Array(ps)) = self.producers.get_mut(&pkey).map(|p| p.stats_for_consumer(now, enc)) {
            out.extend(ps);
        }
        Ok(Value::Array(out))
    }

    fn consumer_enable_trace(&mut self, key: Key, types: Vec<String>) -> Result<()> {
        let types = TraceEventType::parse_list(&types, trace::CONSUMER_TYPES, "consumer")?;
        self.consumer_mut(key)?.trace = TraceMask::from_types(&types);
        Ok(())
    }

    fn consumer_dump(&self, key: Key) -> Result<Value> {
        let c = self.consumers.get(&key).ok_or_else(|| Error::InvalidState("consumer closed".into()))?;
        let p = self.producers.get(&c.producer);
        let producer_id = p.map(|p| p.id.clone());
        let consumable = p.map(|p| p.consumable_rtp_parameters.encodings.clone()).unwrap_or_default();
        let supported: Vec<u8> = c.rtp_parameters.codecs.iter().filter(|x| !ortc::is_rtx_mime(&x.mime_type)).map(|x| x.payload_type).collect();
        Ok(json!({
            "id": c.id,
            "producerId": producer_id,
            "kind": c.kind,
            "type": c.consumer_type,
            "rtpParameters": c.rtp_parameters,
            "consumableRtpEncodings": consumable,
            "supportedCodecPayloadTypes": supported,
            "traceEventTypes": c.trace.names(),
            "paused": c.paused,
            "producerPaused": c.producer_paused,
            "priority": c.priority,
            "preferredLayers": c.preferred_layers,
        }))
    }
}

impl crate::producer::ProducerState {
    /// The inbound stats of the stream a consumer forwards (mediasoup appends them to
    /// `consumer.getStats()`).
    pub(crate) fn stats_for_consumer(&mut self, now: u64, encoding: usize) -> Value {
        let ssrc = self.streams.get(encoding).and_then(|s| s.ssrc);
        match self.stats_value(now) {
            Value::Array(v) => Value::Array(v.into_iter().filter(|s| s["ssrc"].as_u64() == ssrc.map(u64::from)).collect()),
            other => other,
        }
    }
}

/// A consumer handle.
#[derive(Clone)]
pub struct Consumer {
    app_data: crate::AppData,
    worker: Arc<WorkerInner>,
    key: Key,
    id: Arc<str>,
    producer_id: Arc<str>,
    kind: MediaKind,
    rtp_parameters: Arc<RtpParameters>,
    consumer_type: ConsumerType,
    flags: Arc<ConsumerFlags>,
}

impl Consumer {
    /// The application's data (`appData`).
    pub fn app_data(&self) -> &crate::AppData {
        &self.app_data
    }

    pub(crate) fn from_data(worker: Arc<WorkerInner>, d: ConsumerData) -> Self {
        Consumer {
            app_data: crate::AppData::new(d.app_data),
            worker,
            key: d.key,
            id: d.id.into(),
            producer_id: d.producer_id.into(),
            kind: d.kind,
            rtp_parameters: Arc::new(d.rtp_parameters),
            consumer_type: d.consumer_type,
            flags: d.flags,
        }
    }

    /// The consumer's id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The consumed producer's id.
    pub fn producer_id(&self) -> &str {
        &self.producer_id
    }
    /// `audio` or `video`.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }
    /// What the remote receives: the router's payload types and ext ids, the consumer's SSRC.
    pub fn rtp_parameters(&self) -> &RtpParameters {
        &self.rtp_parameters
    }
    /// `simple`, `simulcast`, `svc` or `pipe`.
    pub fn consumer_type(&self) -> ConsumerType {
        self.consumer_type
    }
    /// Whether the consumer itself is paused.
    pub fn paused(&self) -> bool {
        self.flags.paused.load(Ordering::Acquire)
    }
    /// Whether its producer is paused.
    pub fn producer_paused(&self) -> bool {
        self.flags.producer_paused.load(Ordering::Acquire)
    }
    /// Sending priority (1..=255).
    pub fn priority(&self) -> u8 {
        self.flags.priority.load(Ordering::Acquire)
    }
    /// Preferred layers (simulcast/SVC), after clamping.
    pub fn preferred_layers(&self) -> Option<ConsumerLayers> {
        *self.flags.preferred_layers.lock()
    }
    /// The layers being forwarded now (simulcast/SVC), as last reported by `layerschange`.
    pub fn current_layers(&self) -> Option<ConsumerLayers> {
        *self.flags.current_layers.lock()
    }
    /// Whether the consumer is closed (directly or by a cascade).
    pub fn closed(&self) -> bool {
        self.flags.closed.load(Ordering::Acquire) || self.worker.is_closed()
    }

    fn call<T: Send + 'static>(&self, f: impl FnOnce(&mut WorkerState, Key) -> Result<T> + Send + 'static) -> Result<T> {
        let key = self.key;
        self.worker.call_blocking(move |st| f(st, key))
    }

    /// mediasoup's `consumer.enableTraceEvent(types)`: `rtp`, `keyframe`, `nack`, `pli`, `fir`
    /// (an empty list disables tracing); events arrive as [`EventKind::Trace`].
    pub fn enable_trace_event_blocking(&self, types: Vec<String>) -> Result<()> {
        self.call(move |st, k| st.consumer_enable_trace(k, types))
    }

    /// Stops sending to the remote.
    pub fn pause_blocking(&self) -> Result<()> {
        self.call(|st, k| st.set_consumer_paused(k, true))
    }
    /// Resumes sending (video asks the producer for a key frame).
    pub fn resume_blocking(&self) -> Result<()> {
        self.call(|st, k| st.set_consumer_paused(k, false))
    }
    /// Callback twin of [`Consumer::pause`] / [`Consumer::resume`]: returns at once and calls
    /// `done` on the worker thread (see [`crate::Router::create_webrtc_transport_then`]).
    pub fn set_paused_then(&self, paused: bool, done: impl FnOnce(Result<()>) + Send + 'static) {
        let key = self.key;
        self.worker.call_then(move |st| st.set_consumer_paused(key, paused), done);
    }
    /// Async twin of [`Consumer::pause_blocking`].
    pub async fn pause(&self) -> Result<()> {
        let key = self.key;
        self.worker.call(move |st| st.set_consumer_paused(key, true)).await
    }
    /// Async twin of [`Consumer::resume_blocking`].
    pub async fn resume(&self) -> Result<()> {
        let key = self.key;
        self.worker.call(move |st| st.set_consumer_paused(key, false)).await
    }
    /// Asks the producer for a key frame.
    pub fn request_key_frame_blocking(&self) -> Result<()> {
        self.call(|st, k| st.consumer_request_key_frame(k))
    }
    /// Sets the priority (`None`: back to 1).
    pub fn set_priority_blocking(&self, priority: Option<u8>) -> Result<()> {
        self.call(move |st, k| st.consumer_set_priority(k, priority))
    }
    /// Sets preferred layers (clamped to what the producer has).
    pub fn set_preferred_layers_blocking(&self, layers: ConsumerLayers) -> Result<()> {
        self.call(move |st, k| st.consumer_set_preferred_layers(k, layers))
    }
    /// mediasoup's `consumer.getStats()`: the consumer's outbound stats and the producer stream's.
    pub fn get_stats_blocking(&self) -> Result<Value> {
        self.call(|st, k| st.consumer_stats(k))
    }
    /// Async twin of [`Consumer::get_stats_blocking`].
    pub async fn get_stats(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call(move |st| st.consumer_stats(key)).await
    }
    /// mediasoup's `consumer.dump()`.
    pub fn dump_blocking(&self) -> Result<Value> {
        self.call(|st, k| st.consumer_dump(k))
    }
    /// Closes the consumer. Idempotent; returns at once.
    pub fn close(&self) {
        if self.flags.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let key = self.key;
        self.worker.post(move |st| st.close_consumer(key, CloseReason::Closed));
    }
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer").field("id", &self.id).field("kind", &self.kind).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::PipeStreamSent;

    /// A pipe stream's report maps the newest timestamp it relayed: a reordered (older) packet
    /// counts but does not move the mapping back, across the 32-bit wrap too.
    #[test]
    fn pipe_stream_reports_keep_the_newest_timestamp() {
        let mut s = PipeStreamSent::default();
        s.on_sent(u32::MAX - 10, 100, 1_000);
        s.on_sent(5, 120, 1_010); // after the wrap: newer
        s.on_sent(u32::MAX - 5, 90, 1_020); // reordered: older
        assert_eq!((s.last_ts, s.last_ms, s.packets, s.bytes), (5, 1_010, 3, 310));
    }
}
