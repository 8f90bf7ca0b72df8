//! Producers: one incoming media source (a track) on a transport.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::events::{CloseReason, EventKind, ObjectKind};
use crate::ids::new_uuid;
use crate::ortc;
use crate::rate::RateCalculator;
use crate::rtp::layers::{self, Av1Structure, LayerCodec, PacketInfo};
use crate::rtp::nack::{write_nack, NackGenerator};
use crate::rtp::receive_stats::{write_rr, ReceiveStats};
use crate::rtp::retransmission::PacketCache;
use crate::rtp::{rtcp, ExtensionMap, RtpPacket};
use crate::trace::{self, TraceDirection, TraceEvent, TraceEventType, TraceMask};
use crate::rtp_parameters::{MediaKind, ProducerType, RtpCapabilities, RtpMapping, RtpParameters};
use crate::worker::{Key, WorkerInner, WorkerState};

/// Options of `transport.produce()`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerOptions {
    /// Producer id to use (mediasoup allows the app to pick it, e.g. for pipe producers).
    #[serde(default)]
    pub id: Option<String>,
    /// `audio` or `video`.
    pub kind: MediaKind,
    /// What the remote sends.
    pub rtp_parameters: RtpParameters,
    /// Start paused.
    #[serde(default)]
    pub paused: bool,
    /// Minimum time between key-frame requests sent upstream, in ms (0: engine default).
    #[serde(default)]
    pub key_frame_request_delay: u32,
    /// The application's own data, kept on the handle (`appData`).
    #[serde(default, skip_serializing)]
    pub app_data: serde_json::Value,
}

/// URI of the frame-marking header extension (H264 temporal layers).
const FRAMEMARKING_URI: &str = "urn:ietf:params:rtp-hdrext:framemarking";

/// Minimum spacing of key-frame requests when the app sets none.
const DEFAULT_KEY_FRAME_REQUEST_DELAY_MS: u64 = 100;

/// One incoming RTP stream (one encoding) of a producer.
pub(crate) struct RecvStream {
    pub(crate) ssrc: Option<u32>,
    pub(crate) rid: Option<String>,
    pub(crate) rtx_ssrc: Option<u32>,
    pub(crate) packets: u64,
    pub(crate) bytes: u64,
    pub(crate) rate: RateCalculator,
    pub(crate) last_packet_ms: Option<u64>,
    pub(crate) pli_count: u64,
    pub(crate) fir_count: u64,
    pub(crate) last_key_frame_request_ms: Option<u64>,
    pub(crate) fir_seq: u8,
    pub(crate) mime_type: String,
    pub(crate) codec: LayerCodec,
    /// The AV1 dependency structure last announced on this stream.
    av1: Av1Structure,
    /// `(spatial, temporal)` layers of this encoding (from its scalabilityMode) and a rate per
    /// layer, row-major (empty for single-layer streams).
    layers: (u8, u8),
    layer_rates: Vec<RateCalculator>,
    /// Gaps to ask the publisher to resend (when it negotiated NACK).
    pub(crate) nack: Option<NackGenerator>,
    /// Recent packets, to answer consumers' NACKs (video).
    pub(crate) cache: Option<PacketCache>,
    pub(crate) nack_count: u64,
    pub(crate) nack_packet_count: u64,
    pub(crate) packets_repaired: u64,
    /// RTX packets that filled no requested gap (probes, duplicates).
    pub(crate) rtx_packets_discarded: u64,
    pub(crate) packets_retransmitted: u64,
    /// Loss, jitter and score of what arrives (RFC 3550).
    pub(crate) recv_stats: ReceiveStats,
    pub(crate) clock_rate: u32,
}

/// Packets kept per video stream for retransmission (about 2 s of 2.5 Mbit/s video).
const PACKET_CACHE: usize = 512;
/// Round-trip time assumed for NACK spacing until RTCP measures it.
pub(crate) const DEFAULT_RTT_MS: u64 = 50;

impl RecvStream {
    /// Bitrate (bps) to forward up to each spatial layer of this (SVC) stream at its top
    /// temporal layer: every lower spatial layer plus this one.
    fn spatial_bitrates(&mut self, now: u64) -> Vec<u64> {
        let (sl, tl) = (self.layers.0 as usize, self.layers.1 as usize);
        let rates: Vec<u64> = self.layer_rates.iter_mut().map(|r| r.rate(now)).collect();
        if rates.len() != sl * tl {
            return vec![self.rate.rate(now)];
        }
        (0..sl).map(|s| rates[..(s + 1) * tl].iter().sum()).collect()
    }

    /// mediasoup's `bitrateByLayer`: for each `"S.T"`, what decoding that layer takes — every
    /// layer of the lower spatial layers plus this spatial layer up to temporal layer T — or 0
    /// when layer S.T itself is not arriving.
    fn bitrate_by_layer(&mut self, now: u64) -> Value {
        let (sl, tl) = (self.layers.0 as usize, self.layers.1 as usize);
        let rates: Vec<u64> = self.layer_rates.iter_mut().map(|r| r.rate(now) as u64).collect();
        let mut out = serde_json::Map::new();
        if rates.len() != sl * tl {
            return Value::Object(out);
        }
        for s in 0..sl {
            let below: u64 = rates[..s * tl].iter().sum();
            for t in 0..tl {
                let own = rates[s * tl + t];
                let v = if own == 0 { 0 } else { below + rates[s * tl..=s * tl + t].iter().sum::<u64>() };
                out.insert(format!("{s}.{t}"), json!(v));
            }
        }
        Value::Object(out)
    }
}

pub(crate) struct ProducerState {
    pub(crate) id: String,
    pub(crate) transport: Key,
    pub(crate) router: Key,
    pub(crate) kind: MediaKind,
    pub(crate) rtp_parameters: RtpParameters,
    pub(crate) producer_type: ProducerType,
    pub(crate) rtp_mapping: RtpMapping,
    pub(crate) consumable_rtp_parameters: Arc<RtpParameters>,
    /// Producer payload type → router payload type (`NO_PT` when not a media codec).
    pub(crate) pt_map: [u8; 128],
    /// Producer extension id → router extension id.
    pub(crate) ext_map: ExtensionMap,
    pub(crate) streams: Vec<RecvStream>,
    pub(crate) paused: bool,
    paused_flag: Arc<AtomicBool>,
    pub(crate) consumers: Vec<Key>,
    /// The consumers not paused by their own `pause()`, in creation order: the list the fan-out
    /// walks, so a paused consumer costs the media path nothing (a paused producer fans out to
    /// no one).
    pub(crate) unpaused: Vec<Key>,
    /// Audio level / active speaker observers fed by this producer.
    pub(crate) observers: Vec<Key>,
    /// The producer's own id of the ssrc-audio-level extension (0: not negotiated).
    pub(crate) audio_level_ext_id: u8,
    pub(crate) rid_ext_id: u8,
    pub(crate) rrid_ext_id: u8,
    /// AV1 dependency descriptor / H264 frame-marking extension ids (0: not negotiated).
    dd_ext_id: u8,
    framemarking_ext_id: u8,
    /// RTX payload type → media payload type.
    rtx_pt_map: [u8; 128],
    key_frame_request_delay: u64,
    use_fir: bool,
    /// Enabled `trace` event types.
    pub(crate) trace: TraceMask,
    closed: Arc<AtomicBool>,
}

/// Marks a payload type the producer does not send as media.
pub(crate) const NO_PT: u8 = 0xff;

impl ProducerState {
    /// Accounts for one packet; returns its encoding index and its layer information (key frame,
    /// spatial/temporal layer from the payload descriptor) when it is media to forward.
    /// `is_rtx`: a retransmission restored from RTX, forwarded only when it fills a gap we asked
    /// for (others are probes or duplicates: counted as discarded).
    pub(crate) fn receive(&mut self, pkt: &RtpPacket<'_>, now: u64, is_rtx: bool) -> Option<(usize, PacketInfo)> {
        let ssrc = pkt.ssrc();
        let idx = match self.streams.iter().position(|s| s.ssrc == Some(ssrc)) {
            Some(i) => i,
            None => self.bind_ssrc(pkt)?,
        };
        if self.pt_map[(pkt.payload_type() & 0x7f) as usize] == NO_PT {
            return None;
        }
        let s = &mut self.streams[idx];
        if is_rtx && s.nack.as_ref().is_some_and(|n| !n.is_missing(pkt.sequence_number())) {
            s.rtx_packets_discarded += 1;
            return None;
        }
        s.packets += 1;
        s.bytes += pkt.data().len() as u64;
        s.rate.update(pkt.data().len(), now);
        s.last_packet_ms = Some(now);
        let info = if self.kind == MediaKind::Video {
            let ext = |id: u8| (id != 0).then(|| pkt.extension(id)).flatten();
            let dd = ext(self.dd_ext_id);
            let fm = ext(self.framemarking_ext_id);
            // A packet whose descriptor does not parse is forwarded as a plain delta packet.
            layers::parse(s.codec, pkt.payload(), dd, fm, &mut s.av1).unwrap_or_default()
        } else {
            PacketInfo::default()
        };
        let key_frame = info.key_frame;
        if !s.layer_rates.is_empty() && info.spatial < s.layers.0 && info.temporal < s.layers.1 {
            let i = info.spatial as usize * s.layers.1 as usize + info.temporal as usize;
            if let Some(r) = s.layer_rates.get_mut(i) {
                r.update(pkt.data().len(), now);
            }
        }
        let seq = pkt.sequence_number();
        s.recv_stats.on_packet(seq, pkt.timestamp(), now * s.clock_rate as u64 / 1000);
        if let Some(n) = s.nack.as_mut() {
            if n.on_packet(seq, now, key_frame) && is_rtx {
                s.packets_repaired += 1;
            }
        }
        if let Some(c) = s.cache.as_mut() {
            c.store(seq, pkt.data());
        }
        Some((idx, info))
    }

    /// Emits the `rtp` / `keyframe` trace events enabled for a received packet.
    pub(crate) fn trace_rtp(&self, bus: &crate::events::EventBus, pkt: &RtpPacket<'_>, encoding: usize, info: &PacketInfo, is_rtx: bool) {
        let key_frame = info.key_frame;
        let rtp = self.trace.has(TraceEventType::Rtp);
        let key = key_frame && self.trace.has(TraceEventType::Keyframe);
        if !rtp && !key {
            return;
        }
        let video = self.kind == MediaKind::Video;
        let ctx = trace::RtpTraceContext {
            key_frame,
            is_rtx,
            rid: self.streams.get(encoding).and_then(|s| s.rid.as_deref()),
            spatial_layer: video.then_some(info.spatial),
            temporal_layer: video.then_some(info.temporal),
            ..Default::default()
        };
        let info = trace::rtp_info(pkt, &ctx);
        if key {
            bus.emit(&self.id, EventKind::Trace { trace: TraceEvent::new(TraceEventType::Keyframe, TraceDirection::In, info.clone()) });
        }
        if rtp {
            bus.emit(&self.id, EventKind::Trace { trace: TraceEvent::new(TraceEventType::Rtp, TraceDirection::In, info) });
        }
    }

    /// For an RTX packet of this producer: the media SSRC and payload type to restore it to.
    /// Binds the RTX SSRC of a RID-identified stream from its repaired-rid extension.
    pub(crate) fn rtx_target(&mut self, pkt: &RtpPacket<'_>) -> Option<(u32, u8)> {
        let media_pt = self.rtx_pt_map[(pkt.payload_type() & 0x7f) as usize];
        if media_pt == NO_PT {
            return None;
        }
        let ssrc = pkt.ssrc();
        let idx = match self.streams.iter().position(|s| s.rtx_ssrc == Some(ssrc)) {
            Some(i) => i,
            None => {
                let rrid = (self.rrid_ext_id != 0).then(|| pkt.extension(self.rrid_ext_id)).flatten().and_then(|r| std::str::from_utf8(r).ok())?;
                let i = self.streams.iter().position(|s| s.rid.as_deref() == Some(rrid) && s.rtx_ssrc.is_none())?;
                self.streams[i].rtx_ssrc = Some(ssrc);
                i
            }
        };
        let s = &mut self.streams[idx];
        s.packets_retransmitted += 1;
        Some((s.ssrc?, media_pt))
    }

    /// NACK packets to send upstream now (one RTCP packet per stream with gaps).
    pub(crate) fn poll_nacks(&mut self, now: u64, rtt_ms: u64, sender_ssrc: u32, out: &mut Vec<Vec<u8>>) {
        let mut seqs = vec![];
        for s in &mut self.streams {
            let (Some(n), Some(ssrc)) = (s.nack.as_mut(), s.ssrc) else { continue };
            if n.pending_len() == 0 {
                continue;
            }
            seqs.clear();
            n.poll_nacks(now, rtt_ms, &mut seqs);
            if !seqs.is_empty() {
                s.nack_count += 1;
                s.nack_packet_count += seqs.len() as u64;
                write_nack(out, sender_ssrc, ssrc, &seqs, 1200);
            }
        }
    }

    /// Whether any stream waits for retransmissions.
    pub(crate) fn has_pending_nacks(&self) -> bool {
        self.streams.iter().any(|s| s.nack.as_ref().is_some_and(|n| n.pending_len() > 0))
    }

    /// Which encodings had a packet within `window_ms`, into `out` (cleared first; reused by the
    /// tick, which asks once per simulcast consumer).
    pub(crate) fn active_encodings(&self, now: u64, window_ms: u64, out: &mut Vec<bool>) {
        out.clear();
        out.extend(self.streams.iter().map(|s| s.last_packet_ms.is_some_and(|t| now.saturating_sub(t) <= window_ms)));
    }

    /// Binds an unknown SSRC to an encoding: by RID, or to the only encoding without SSRC.
    fn bind_ssrc(&mut self, pkt: &RtpPacket<'_>) -> Option<usize> {
        let rid = (self.rid_ext_id != 0).then(|| pkt.extension(self.rid_ext_id)).flatten().and_then(|r| std::str::from_utf8(r).ok());
        let idx = match rid {
            Some(rid) => self.streams.iter().position(|s| s.rid.as_deref() == Some(rid))?,
            None => {
                // RID-identified encodings are only ever bound by their RID (RTX and padding
                // carry the repaired RID instead and must not take a media slot).
                if self.streams.iter().any(|s| s.rid.is_some()) {
                    return None;
                }
                let free: Vec<usize> = self.streams.iter().enumerate().filter(|(_, s)| s.ssrc.is_none()).map(|(i, _)| i).collect();
                if free.len() != 1 {
                    return None;
                }
                free[0]
            }
        };
        if self.streams[idx].ssrc.is_some() {
            return None;
        }
        self.streams[idx].ssrc = Some(pkt.ssrc());
        Some(idx)
    }

    pub(crate) fn on_tick(&mut self, _now: u64) {}

    /// Closes a reporting interval: the receiver report to send upstream (if any stream has
    /// media), and whether any stream's score changed.
    pub(crate) fn report(&mut self, now: u64, sender_ssrc: u32, out: &mut Vec<u8>) -> bool {
        let mut blocks = vec![];
        let mut changed = false;
        for s in &mut self.streams {
            let Some(ssrc) = s.ssrc else { continue };
            let before = s.recv_stats.score;
            blocks.push(s.recv_stats.report(ssrc, now));
            changed |= before != s.recv_stats.score;
        }
        if !blocks.is_empty() {
            write_rr(out, sender_ssrc, &blocks);
        }
        changed
    }

    /// A sender report from the publisher about stream `ssrc`.
    pub(crate) fn on_sender_report(&mut self, ssrc: u32, ntp: u64, now: u64) {
        if let Some(s) = self.streams.iter_mut().find(|s| s.ssrc == Some(ssrc)) {
            s.recv_stats.on_sender_report(ntp, now);
        }
    }

    /// What forwarding each spatial layer costs (bps): per simulcast encoding, or cumulative per
    /// SVC spatial layer. Used by bandwidth allocation.
    pub(crate) fn spatial_bitrates(&mut self, now: u64) -> Vec<u64> {
        if self.streams.len() > 1 {
            self.streams.iter_mut().map(|s| s.rate.rate(now)).collect()
        } else {
            self.streams.first_mut().map_or_else(Vec::new, |s| s.spatial_bitrates(now))
        }
    }

    /// Per-encoding scores (0 for encodings not received yet), for consumers' `producerScores`.
    pub(crate) fn encoding_scores(&self) -> Vec<u8> {
        self.streams.iter().map(|s| if s.ssrc.is_some() { s.recv_stats.score } else { 0 }).collect()
    }

    pub(crate) fn stats_value(&mut self, now: u64) -> Value {
        let ts = unix_ms();
        let kind = self.kind.as_str();
        let out: Vec<Value> = self
            .streams
            .iter_mut()
            .filter(|s| s.ssrc.is_some())
            .map(|s| {
                let mut v = json!({
                    "type": "inbound-rtp",
                    "timestamp": ts,
                    "ssrc": s.ssrc,
                    "kind": kind,
                    "mimeType": s.mime_type,
                    "packetsLost": s.recv_stats.lost().max(0),
                    "fractionLost": s.recv_stats.fraction_lost,
                    "packetsDiscarded": 0,
                    "packetsRetransmitted": s.packets_retransmitted,
                    "packetsRepaired": s.packets_repaired,
                    "nackCount": s.nack_count,
                    "nackPacketCount": s.nack_packet_count,
                    "pliCount": s.pli_count,
                    "firCount": s.fir_count,
                    "score": s.recv_stats.score,
                    "packetCount": s.packets,
                    "byteCount": s.bytes,
                    "bitrate": s.rate.rate(now),
                    "jitter": s.recv_stats.jitter(),
                    "bitrateByLayer": s.bitrate_by_layer(now),
                    "rtxPacketsDiscarded": s.rtx_packets_discarded,
                });
                if let Some(r) = &s.rid {
                    v["rid"] = json!(r);
                }
                if let Some(r) = s.rtx_ssrc {
                    v["rtxSsrc"] = json!(r);
                }
                v
            })
            .collect();
        Value::Array(out)
    }

    /// mediasoup's `producer.score`: one entry per known stream.
    pub(crate) fn score(&self) -> Value {
        Value::Array(
            self.streams
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let ssrc = s.ssrc?;
                    let mut v = json!({ "encodingIdx": i, "ssrc": ssrc, "score": s.recv_stats.score });
                    if let Some(r) = &s.rid {
                        v["rid"] = json!(r);
                    }
                    Some(v)
                })
                .collect(),
        )
    }
}

pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

pub(crate) struct ProducerData {
    app_data: serde_json::Value,
    key: Key,
    id: String,
    kind: MediaKind,
    rtp_parameters: RtpParameters,
    consumable_rtp_parameters: Arc<RtpParameters>,
    producer_type: ProducerType,
    paused: Arc<AtomicBool>,
    closed: Arc<AtomicBool>,
    direct: bool,
}

impl WorkerState {
    pub(crate) fn create_producer(&mut self, tkey: Key, router: Key, caps: &RtpCapabilities, o: ProducerOptions) -> Result<ProducerData> {
        self.check_per_transport_limit(tkey, crate::transport::Held::Producers)?;
        let mut params = o.rtp_parameters;
        ortc::validate_rtp_parameters(&mut params)?;
        // Every producer of a transport shares one CNAME: the first one given, else a random one.
        let t = self.transport_mut(tkey)?;
        let cname = t
            .cname_for_producers
            .get_or_insert_with(|| match params.rtcp.cname.as_deref() {
                Some(c) if !c.is_empty() => c.to_owned(),
                _ => format!("{:x}", rand::random::<u64>()),
            })
            .clone();
        params.rtcp.cname = Some(cname);
        if params.encodings.is_empty() {
            params.encodings.push(Default::default());
        }
        let id = match o.id {
            Some(id) => {
                if self.router(router)?.producers.contains_key(&id) {
                    return Err(Error::InvalidState(format!("a Producer with same id \"{id}\" already exists")));
                }
                id
            }
            None => new_uuid(),
        };
        let mapping = ortc::get_producer_rtp_parameters_mapping_mut(&mut params, caps)?;
        // Shared with the handle (`Producer::can_consume` answers from it without the worker).
        let consumable = Arc::new(ortc::get_consumable_rtp_parameters(o.kind, &params, caps, &mapping));
        let producer_type = ortc::producer_type(&params);

        // Extension ids the transport's RTP listener needs.
        let ext_id = |uri: &str| params.header_extensions.iter().find(|e| e.uri == uri).map(|e| e.id).unwrap_or(0);
        let mid_id = ext_id("urn:ietf:params:rtp-hdrext:sdes:mid");
        let rid_id = ext_id("urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id");
        let rrid_id = ext_id("urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id");
        let twcc_id = ext_id(ortc::TRANSPORT_WIDE_CC_URI);
        let abs_id = ext_id(ortc::ABS_SEND_TIME_URI);
        let dd_ext_id = ext_id(ortc::DEPENDENCY_DESCRIPTOR_URI);
        let framemarking_ext_id = ext_id(FRAMEMARKING_URI);

        let t = self.transport(tkey)?;
        for e in &params.encodings {
            for s in [e.ssrc, e.rtx.map(|r| r.ssrc)].into_iter().flatten() {
                if t.listener.ssrc.contains_key(&(s as u64)) {
                    return Err(Error::InvalidState(format!("ssrc already exists in RTP listener [ssrc:{s}]")));
                }
            }
            if let Some(rid) = &e.rid {
                if t.listener.rid.contains_key(rid) && params.mid.is_none() {
                    return Err(Error::InvalidState(format!("RID already exists in RTP listener [rid:{rid}]")));
                }
            }
        }
        if let Some(mid) = &params.mid {
            if t.listener.mid.contains_key(mid) {
                return Err(Error::InvalidState(format!("MID already exists in RTP listener [mid:{mid}]")));
            }
        }

        let mut pt_map = [NO_PT; 128];
        for c in &mapping.codecs {
            pt_map[(c.payload_type & 0x7f) as usize] = c.mapped_payload_type;
        }
        let mut ext_map = ExtensionMap::default();
        for e in &params.header_extensions {
            if let Some(r) = consumable.header_extensions.iter().find(|r| r.uri == e.uri) {
                ext_map.insert(e.id, r.id);
            }
        }
        let nack_enabled = params
            .codecs
            .iter()
            .find(|c| !ortc::is_rtx_mime(&c.mime_type))
            .is_some_and(|c| c.rtcp_feedback.iter().any(|f| f.typ == "nack" && f.parameter.is_empty()));
        let mut rtx_pt_map = [NO_PT; 128];
        for c in params.codecs.iter().filter(|c| ortc::is_rtx_mime(&c.mime_type)) {
            if let Some(apt) = ortc::apt_of(c) {
                rtx_pt_map[(c.payload_type & 0x7f) as usize] = apt as u8;
            }
        }
        let layer_mode = |e: &crate::rtp_parameters::RtpEncodingParameters| ortc::parse_scalability_mode(e.scalability_mode.as_deref());
        let clock_of = |pt: Option<u8>| -> u32 {
            let c = match pt {
                Some(pt) => params.codecs.iter().find(|c| c.payload_type == pt),
                None => params.codecs.iter().find(|c| !ortc::is_rtx_mime(&c.mime_type)),
            };
            c.map(|c| c.clock_rate).unwrap_or(90000)
        };
        let mime_of = |pt: Option<u8>| -> String {
            let c = match pt {
                Some(pt) => params.codecs.iter().find(|c| c.payload_type == pt),
                None => params.codecs.iter().find(|c| !ortc::is_rtx_mime(&c.mime_type)),
            };
            c.map(|c| c.mime_type.clone()).unwrap_or_default()
        };
        let streams = params
            .encodings
            .iter()
            .map(|e| RecvStream {
                ssrc: e.ssrc,
                rid: e.rid.clone(),
                rtx_ssrc: e.rtx.map(|r| r.ssrc),
                packets: 0,
                bytes: 0,
                rate: RateCalculator::default(),
                last_packet_ms: None,
                pli_count: 0,
                fir_count: 0,
                last_key_frame_request_ms: None,
                fir_seq: 0,
                codec: LayerCodec::from_mime(&mime_of(e.codec_payload_type)),
                av1: Av1Structure::new(),
                layers: (layer_mode(e).spatial_layers.max(1), layer_mode(e).temporal_layers.max(1)),
                layer_rates: {
                    let m = layer_mode(e);
                    let n = m.spatial_layers.max(1) as usize * m.temporal_layers.max(1) as usize;
                    if o.kind == MediaKind::Video && n > 1 { (0..n).map(|_| RateCalculator::default()).collect() } else { vec![] }
                },
                nack: nack_enabled.then(NackGenerator::new),
                cache: (o.kind == MediaKind::Video).then(|| PacketCache::new(PACKET_CACHE)),
                nack_count: 0,
                nack_packet_count: 0,
                packets_repaired: 0,
                rtx_packets_discarded: 0,
                packets_retransmitted: 0,
                recv_stats: ReceiveStats::new(),
                clock_rate: clock_of(e.codec_payload_type),
                mime_type: mime_of(e.codec_payload_type),
            })
            .collect();
        let media_codec = params.codecs.iter().find(|c| !ortc::is_rtx_mime(&c.mime_type));
        let fb = |t: &str, p: &str| media_codec.is_some_and(|c| c.rtcp_feedback.iter().any(|f| f.typ == t && f.parameter == p));
        let use_fir = !fb("nack", "pli") && fb("ccm", "fir");

        let key = self.next_key();
        let closed = Arc::new(AtomicBool::new(false));
        let paused_flag = Arc::new(AtomicBool::new(o.paused));
        let t = self.transport_mut(tkey)?;
        for e in &params.encodings {
            for s in [e.ssrc, e.rtx.map(|r| r.ssrc)].into_iter().flatten() {
                t.listener.ssrc.insert(s as u64, key);
            }
            if let Some(rid) = &e.rid {
                t.listener.rid.insert(rid.clone(), key);
            }
        }
        if let Some(mid) = &params.mid {
            t.listener.mid.insert(mid.clone(), key);
        }
        if t.mid_ext_id == 0 {
            t.mid_ext_id = mid_id;
        }
        if t.rid_ext_id == 0 {
            t.rid_ext_id = rid_id;
        }
        if t.rrid_ext_id == 0 {
            t.rrid_ext_id = rrid_id;
        }
        if t.twcc_ext_id == 0 {
            t.twcc_ext_id = twcc_id;
        }
        if t.abs_send_time_ext_id == 0 {
            t.abs_send_time_ext_id = abs_id;
        }
        if t.abs_send_time_ext_id != 0 && t.recv_bwe.is_none() && matches!(t.kind, crate::transport::TransportKind::WebRtc(_)) {
            t.recv_bwe = Some(Box::default());
        }
        t.producers.push(key);
        self.routers.get_mut(&router).ok_or_else(|| Error::InvalidState("router closed".into()))?.producers.insert(id.clone(), key);
        self.producers.insert(
            key,
            Box::new(ProducerState {
                id: id.clone(),
                transport: tkey,
                router,
                kind: o.kind,
                rtp_parameters: params.clone(),
                producer_type,
                rtp_mapping: mapping,
                consumable_rtp_parameters: consumable.clone(),
                pt_map,
                ext_map,
                streams,
                paused: o.paused,
                paused_flag: paused_flag.clone(),
                consumers: vec![],
                unpaused: vec![],
                observers: vec![],
                audio_level_ext_id: ext_id(crate::rtp_observer::AUDIO_LEVEL_URI),
                rid_ext_id: rid_id,
                rrid_ext_id: rrid_id,
                dd_ext_id,
                framemarking_ext_id,
                rtx_pt_map,
                key_frame_request_delay: if o.key_frame_request_delay > 0 { o.key_frame_request_delay as u64 } else { DEFAULT_KEY_FRAME_REQUEST_DELAY_MS },
                use_fir,
                trace: TraceMask::default(),
                closed: closed.clone(),
            }),
        );
        let direct = matches!(self.transport(tkey)?.kind, crate::transport::TransportKind::Direct(_));
        Ok(ProducerData {
            app_data: o.app_data,
            key,
            id,
            kind: o.kind,
            rtp_parameters: params,
            consumable_rtp_parameters: consumable,
            producer_type,
            paused: paused_flag,
            closed,
            direct,
        })
    }

    pub(crate) fn producer(&self, key: Key) -> Result<&ProducerState> {
        self.producers.get(&key).map(|p| &**p).ok_or_else(|| Error::InvalidState("producer closed".into()))
    }

    pub(crate) fn close_producer(&mut self, key: Key, reason: CloseReason) {
        let Some(p) = self.producers.get(&key) else { return };
        let (consumers, observers) = (p.consumers.clone(), p.observers.clone());
        for c in consumers {
            self.close_consumer(c, CloseReason::ProducerClosed);
        }
        for o in observers {
            self.rtp_observer_remove_producer(o, key);
        }
        let Some(p) = self.producers.remove(&key) else { return };
        if let Some(t) = self.transports.get_mut(&p.transport) {
            t.producers.retain(|k| *k != key);
            t.listener.ssrc.retain(|_, k| *k != key);
            t.listener.mid.retain(|_, k| *k != key);
            t.listener.rid.retain(|_, k| *k != key);
        }
        if let Some(r) = self.routers.get_mut(&p.router) {
            r.producers.remove(&p.id);
        }
        p.closed.store(true, Ordering::Release);
        self.bus.emit(&p.id, EventKind::Closed { object: ObjectKind::Producer, reason });
    }

    fn set_producer_paused(&mut self, key: Key, paused: bool) -> Result<()> {
        let p = self.producers.get_mut(&key).ok_or_else(|| Error::InvalidState("producer closed".into()))?;
        let was = p.paused;
        p.paused = paused;
        p.paused_flag.store(paused, Ordering::Release);
        if was == paused {
            return Ok(());
        }
        let consumers = p.consumers.clone();
        self.rtp_observers_producer_paused(key, paused);
        let now = self.now_ms();
        let mut wants_key_frame = false;
        for c in consumers {
            if let Some(c) = self.consumers.get_mut(&c) {
                wants_key_frame |= c.set_producer_paused(paused);
                let ev = if paused { EventKind::ProducerPause } else { EventKind::ProducerResume };
                let id = c.id.clone();
                self.bus.emit(&id, ev);
            }
        }
        if wants_key_frame {
            self.request_key_frame(key, now);
        }
        Ok(())
    }

    /// Asks the producer's remote for a key frame on every stream (PLI, or FIR when only FIR is
    /// negotiated), at most once per `keyFrameRequestDelay` per stream.
    pub(crate) fn request_key_frame(&mut self, key: Key, now: u64) {
        self.request_key_frame_on(key, None, now);
    }

    /// Like [`WorkerState::request_key_frame`], for one encoding only when `encoding` is given.
    pub(crate) fn request_key_frame_on(&mut self, key: Key, encoding: Option<usize>, now: u64) {
        let Some(p) = self.producers.get_mut(&key) else { return };
        if p.kind != MediaKind::Video {
            return;
        }
        let Some(t) = self.transports.get_mut(&p.transport) else { return };
        for (i, s) in p.streams.iter_mut().enumerate() {
            if encoding.is_some_and(|e| e != i) {
                continue;
            }
            let Some(ssrc) = s.ssrc else { continue };
            if s.last_key_frame_request_ms.is_some_and(|last| now < last + p.key_frame_request_delay) {
                continue;
            }
            s.last_key_frame_request_ms = Some(now);
            let mut buf = Vec::with_capacity(20);
            let typ = if p.use_fir {
                s.fir_seq = s.fir_seq.wrapping_add(1);
                rtcp::write_fir(&mut buf, t.rtcp_ssrc, ssrc, s.fir_seq);
                s.fir_count += 1;
                TraceEventType::Fir
            } else {
                rtcp::write_pli(&mut buf, t.rtcp_ssrc, ssrc);
                s.pli_count += 1;
                TraceEventType::Pli
            };
            t.send_rtcp(&buf, now);
            if p.trace.has(typ) {
                self.bus.emit(&p.id, EventKind::Trace { trace: TraceEvent::new(typ, TraceDirection::Out, json!({ "ssrc": ssrc })) });
            }
        }
    }

    fn producer_dump(&self, key: Key) -> Result<Value> {
        let p = self.producer(key)?;
        let streams: Vec<Value> = p
            .streams
            .iter()
            .filter(|s| s.ssrc.is_some())
            .map(|s| json!({ "params": { "ssrc": s.ssrc, "rid": s.rid, "rtxSsrc": s.rtx_ssrc, "mimeType": s.mime_type } }))
            .collect();
        Ok(json!({
            "id": p.id,
            "kind": p.kind,
            "type": p.producer_type,
            "rtpParameters": p.rtp_parameters,
            "rtpMapping": p.rtp_mapping,
            "rtpStreams": streams,
            "traceEventTypes": p.trace.names(),
            "paused": p.paused,
        }))
    }

    fn producer_enable_trace(&mut self, key: Key, types: Vec<String>) -> Result<()> {
        let types = TraceEventType::parse_list(&types, trace::PRODUCER_TYPES, "producer")?;
        let p = self.producers.get_mut(&key).ok_or_else(|| Error::InvalidState("producer closed".into()))?;
        p.trace = TraceMask::from_types(&types);
        Ok(())
    }

    fn producer_stats(&mut self, key: Key) -> Result<Value> {
        let now = self.now_ms();
        let p = self.producers.get_mut(&key).ok_or_else(|| Error::InvalidState("producer closed".into()))?;
        let mut v = p.stats_value(now);
        // The publisher's RTT, as this transport measures it from the remote's reports.
        if let (Some(rtt), Value::Array(streams)) = (self.transports.get(&p.transport).and_then(|t| t.rtt_ms), &mut v) {
            for s in streams {
                s["roundTripTime"] = json!(rtt);
            }
        }
        Ok(v)
    }
}

/// A producer handle.
#[derive(Clone)]
pub struct Producer {
    app_data: crate::AppData,
    worker: Arc<WorkerInner>,
    key: Key,
    id: Arc<str>,
    kind: MediaKind,
    rtp_parameters: Arc<RtpParameters>,
    /// What consumers of it are built from (shared with the worker's state, so `can_consume`
    /// needs no worker).
    consumable_rtp_parameters: Arc<RtpParameters>,
    producer_type: ProducerType,
    paused: Arc<AtomicBool>,
    closed: Arc<AtomicBool>,
    /// Produced on a DirectTransport (the application sends its RTP with `send()`).
    direct: bool,
}

impl Producer {
    /// The application's data (`appData`).
    pub fn app_data(&self) -> &crate::AppData {
        &self.app_data
    }

    pub(crate) fn from_data(worker: Arc<WorkerInner>, d: ProducerData) -> Self {
        Producer {
            app_data: crate::AppData::new(d.app_data),
            worker,
            key: d.key,
            id: d.id.into(),
            kind: d.kind,
            rtp_parameters: Arc::new(d.rtp_parameters),
            consumable_rtp_parameters: d.consumable_rtp_parameters,
            producer_type: d.producer_type,
            paused: d.paused,
            closed: d.closed,
            direct: d.direct,
        }
    }

    /// The producer's id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// `audio` or `video`.
    pub fn kind(&self) -> MediaKind {
        self.kind
    }
    /// The RTP parameters the remote sends with (validated and normalized).
    pub fn rtp_parameters(&self) -> &RtpParameters {
        &self.rtp_parameters
    }
    /// Whether an endpoint with `rtp_capabilities` can consume this producer (mediasoup's
    /// `router.canConsume()`, which answers false where this gives the `Type` error of invalid
    /// capabilities). Answered on the calling thread from the producer's consumable parameters,
    /// without a round trip to the worker, so apps can ask before every `consume()` as
    /// mediasoup's examples do.
    pub fn can_consume(&self, rtp_capabilities: &crate::RtpCapabilities) -> Result<bool> {
        crate::ortc::can_consume(&self.consumable_rtp_parameters, rtp_capabilities)
    }
    /// `simple`, `simulcast` or `svc`.
    pub fn producer_type(&self) -> ProducerType {
        self.producer_type
    }
    /// Whether the producer is paused.
    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }
    /// Whether the producer is closed (directly or by a cascade).
    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.worker.is_closed()
    }

    /// Stops forwarding; consumers get `producerpause`.
    pub fn pause_blocking(&self) -> Result<()> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.set_producer_paused(key, true))
    }
    /// Resumes forwarding; consumers get `producerresume` (video asks for a key frame).
    pub fn resume_blocking(&self) -> Result<()> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.set_producer_paused(key, false))
    }
    /// Async twin of [`Producer::pause_blocking`].
    pub async fn pause(&self) -> Result<()> {
        let key = self.key;
        self.worker.call(move |st| st.set_producer_paused(key, true)).await
    }
    /// Async twin of [`Producer::resume_blocking`].
    pub async fn resume(&self) -> Result<()> {
        let key = self.key;
        self.worker.call(move |st| st.set_producer_paused(key, false)).await
    }
    /// mediasoup's `producer.score`.
    pub fn score_blocking(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call_blocking(move |st| Ok(st.producer(key)?.score()))
    }
    /// mediasoup's `producer.getStats()`.
    pub fn get_stats_blocking(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.producer_stats(key))
    }
    /// Async twin of [`Producer::get_stats_blocking`].
    pub async fn get_stats(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call(move |st| st.producer_stats(key)).await
    }
    /// Injects an RTP packet (producers of a DirectTransport only): routed to the consumers as if
    /// a remote had sent it. Does not wait for the engine; malformed packets are dropped and
    /// counted like any other.
    pub fn send(&self, packet: Vec<u8>) -> Result<()> {
        if !self.direct {
            return Err(Error::unsupported("send() is only available on producers of a DirectTransport"));
        }
        if self.closed() {
            return Err(Error::InvalidState("producer closed".into()));
        }
        if crate::rtp::RtpPacket::parse(&packet).is_none() {
            return Err(Error::type_err("rtpPacket is not an RTP packet"));
        }
        let key = self.key;
        self.worker.post(move |st| {
            if let Err(e) = st.direct_producer_send(key, &packet) {
                tracing::warn!("producer.send(): {e}");
            }
        });
        Ok(())
    }

    /// mediasoup's `producer.enableTraceEvent(types)`: `rtp`, `keyframe`, `nack`, `pli`, `fir`,
    /// `sr` (an empty list disables tracing); events arrive as [`EventKind::Trace`].
    pub fn enable_trace_event_blocking(&self, types: Vec<String>) -> Result<()> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.producer_enable_trace(key, types))
    }
    /// Async twin of [`Producer::enable_trace_event_blocking`].
    pub async fn enable_trace_event(&self, types: Vec<String>) -> Result<()> {
        let key = self.key;
        self.worker.call(move |st| st.producer_enable_trace(key, types)).await
    }
    /// mediasoup's `producer.dump()`.
    pub fn dump_blocking(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.producer_dump(key))
    }
    /// Async twin of [`Producer::dump_blocking`].
    pub async fn dump(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call(move |st| st.producer_dump(key)).await
    }
    /// Closes the producer; its consumers close with `producerclose`. Idempotent.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let key = self.key;
        self.worker.post(move |st| st.close_producer(key, CloseReason::Closed));
    }
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer").field("id", &self.id).field("kind", &self.kind).finish()
    }
}
