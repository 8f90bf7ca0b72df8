//! `trace` events (mediasoup's `enableTraceEvent()`): per-object opt-in reports of individual
//! packets and RTCP feedback, for debugging. Disabled by default; when disabled the media path
//! pays one bit test per packet.

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::rtp::RtpPacket;

/// What a trace event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceEventType {
    /// Every RTP packet (producer: received; consumer: sent).
    Rtp,
    /// RTP packets of key frames.
    Keyframe,
    /// NACKs (producer: sent upstream; consumer: received from the remote).
    Nack,
    /// PLIs (producer: sent; consumer: received).
    Pli,
    /// FIRs (producer: sent; consumer: received).
    Fir,
    /// Sender reports received by a producer.
    Sr,
    /// Bandwidth-estimation probes (transports).
    Probation,
    /// Bandwidth-estimation updates (transports).
    Bwe,
}

const ALL: [(TraceEventType, &str); 8] = [
    (TraceEventType::Rtp, "rtp"),
    (TraceEventType::Keyframe, "keyframe"),
    (TraceEventType::Nack, "nack"),
    (TraceEventType::Pli, "pli"),
    (TraceEventType::Fir, "fir"),
    (TraceEventType::Sr, "sr"),
    (TraceEventType::Probation, "probation"),
    (TraceEventType::Bwe, "bwe"),
];

/// Trace types a producer accepts.
pub(crate) const PRODUCER_TYPES: &[TraceEventType] =
    &[TraceEventType::Rtp, TraceEventType::Keyframe, TraceEventType::Nack, TraceEventType::Pli, TraceEventType::Fir, TraceEventType::Sr];
/// Trace types a consumer accepts.
pub(crate) const CONSUMER_TYPES: &[TraceEventType] =
    &[TraceEventType::Rtp, TraceEventType::Keyframe, TraceEventType::Nack, TraceEventType::Pli, TraceEventType::Fir];
/// Trace types a transport accepts.
pub(crate) const TRANSPORT_TYPES: &[TraceEventType] = &[TraceEventType::Probation, TraceEventType::Bwe];

impl TraceEventType {
    /// mediasoup's name (`rtp`, `keyframe`, …).
    pub fn as_str(self) -> &'static str {
        ALL.iter().find(|(t, _)| *t == self).map(|(_, n)| *n).unwrap_or("")
    }

    /// Parses `names` (as passed to `enableTraceEvent`) against the types `what` accepts.
    pub(crate) fn parse_list(names: &[String], allowed: &[TraceEventType], what: &str) -> Result<Vec<TraceEventType>> {
        names
            .iter()
            .map(|n| {
                ALL.iter()
                    .find(|(t, name)| name == n && allowed.contains(t))
                    .map(|(t, _)| *t)
                    .ok_or_else(|| Error::type_err(format!("invalid {what} trace event type: {n:?}")))
            })
            .collect()
    }
}

/// Which trace types an object has enabled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TraceMask(u8);

impl TraceMask {
    pub(crate) fn from_types(types: &[TraceEventType]) -> Self {
        TraceMask(types.iter().fold(0, |m, t| m | (1 << *t as u8)))
    }

    #[inline]
    pub(crate) fn has(self, t: TraceEventType) -> bool {
        self.0 & (1 << t as u8) != 0
    }

    #[inline]
    pub(crate) fn any(self) -> bool {
        self.0 != 0
    }

    /// The enabled types' names, for `dump().traceEventTypes`.
    pub(crate) fn names(self) -> Vec<&'static str> {
        ALL.iter().filter(|(t, _)| self.has(*t)).map(|(_, n)| *n).collect()
    }
}

/// Direction of a traced packet relative to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceDirection {
    /// Received by the engine.
    In,
    /// Sent by the engine.
    Out,
}

/// One trace event: mediasoup's `{type, timestamp, direction, info}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceEvent {
    /// What is traced.
    #[serde(rename = "type")]
    pub typ: TraceEventType,
    /// Unix time in ms.
    pub timestamp: u64,
    /// In or out.
    pub direction: TraceDirection,
    /// Type-specific details.
    pub info: Value,
}

impl TraceEvent {
    pub(crate) fn new(typ: TraceEventType, direction: TraceDirection, info: Value) -> Self {
        TraceEvent { typ, timestamp: crate::producer::unix_ms(), direction, info }
    }
}

/// Layer and identification details of a traced RTP packet.
#[derive(Default)]
pub(crate) struct RtpTraceContext<'a> {
    pub(crate) key_frame: bool,
    pub(crate) is_rtx: bool,
    pub(crate) spatial_layer: Option<u8>,
    pub(crate) temporal_layer: Option<u8>,
    pub(crate) rid: Option<&'a str>,
    pub(crate) mid: Option<&'a str>,
}

/// mediasoup's `{rtpPacket: {…}, isRtx}` info of an `rtp` or `keyframe` trace.
pub(crate) fn rtp_info(pkt: &RtpPacket<'_>, c: &RtpTraceContext<'_>) -> Value {
    let mut p = json!({
        "payloadType": pkt.payload_type(),
        "sequenceNumber": pkt.sequence_number(),
        "timestamp": pkt.timestamp(),
        "marker": pkt.marker(),
        "ssrc": pkt.ssrc(),
        "isKeyFrame": c.key_frame,
        "size": pkt.data().len(),
        "payloadSize": pkt.payload().len(),
    });
    if let Some(s) = c.spatial_layer {
        p["spatialLayer"] = json!(s);
    }
    if let Some(t) = c.temporal_layer {
        p["temporalLayer"] = json!(t);
    }
    if let Some(m) = c.mid {
        p["mid"] = json!(m);
    }
    if let Some(r) = c.rid {
        p["rid"] = json!(r);
    }
    json!({ "rtpPacket": p, "isRtx": c.is_rtx })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_per_object_and_name_the_bad_one() {
        let names = ["rtp".to_owned(), "pli".to_owned()];
        let t = TraceEventType::parse_list(&names, CONSUMER_TYPES, "consumer").unwrap();
        let m = TraceMask::from_types(&t);
        assert!(m.has(TraceEventType::Rtp) && m.has(TraceEventType::Pli) && !m.has(TraceEventType::Fir));
        assert_eq!(m.names(), vec!["rtp", "pli"]);
        let e = TraceEventType::parse_list(&["sr".to_owned()], CONSUMER_TYPES, "consumer").unwrap_err();
        assert_eq!(e.js_name(), "TypeError");
        assert!(e.message().contains("\"sr\""), "{}", e.message());
        assert!(TraceEventType::parse_list(&["bwe".to_owned()], TRANSPORT_TYPES, "transport").is_ok());
        assert!(!TraceMask::default().any());
    }
}
