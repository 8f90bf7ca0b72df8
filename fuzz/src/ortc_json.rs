//! ORTC on arbitrary JSON: what a signalling peer can send to `transport.produce()`,
//! `transport.consume()` / `router.canConsume()` and what an application passes as router media
//! codecs, run through the engine's own sequence of calls against the reference router.
//!
//! Checked beyond "no panic": serde round trips (`from_json(to_value(x)) == x`), validation is
//! idempotent, router capabilities generated from any accepted media codecs validate, every
//! mapping/consumable/consumer output refers only to payload types that exist where it says,
//! and consumer parameters the engine would hand to a client validate themselves.

use std::collections::HashSet;
use std::sync::OnceLock;

use arbitrary::Unstructured;
use serde_json::Value;
use sfu_core::ortc::{self, kind_of_mime};
use sfu_core::{
    from_json, ConsumerLayers, Error, MediaKind, RtpCapabilities, RtpCodecCapability, RtpParameters,
};

const ROUTER_CAPS: &str = include_str!("../../core/testdata/router-rtp-capabilities.mediasoup.json");
const VECTORS: &str = include_str!("../../core/testdata/ortc-vectors.mediasoup.json");
const CHROME: &str = include_str!("../../core/testdata/chrome-mediasoup-client-produce.json");

struct Reference {
    router_caps: RtpCapabilities,
    consumer_caps: RtpCapabilities,
    /// Chrome's produce() calls: (kind, rtpParameters).
    producers: Vec<(MediaKind, RtpParameters)>,
    /// Their consumable parameters in the reference router.
    consumables: Vec<RtpParameters>,
}

fn reference() -> &'static Reference {
    static R: OnceLock<Reference> = OnceLock::new();
    R.get_or_init(|| {
        let router_caps: RtpCapabilities = serde_json::from_str(ROUTER_CAPS).expect("router caps");
        let vectors: Value = serde_json::from_str(VECTORS).expect("vectors");
        let consumer_caps: RtpCapabilities =
            from_json("consumerRtpCapabilities", vectors["consumerRtpCapabilities"].clone()).expect("consumer caps");
        let chrome: Value = serde_json::from_str(CHROME).expect("chrome");
        let mut producers = Vec::new();
        let mut consumables = Vec::new();
        for p in chrome["produce"].as_array().expect("produce") {
            let kind: MediaKind = from_json("kind", p["kind"].clone()).expect("kind");
            let mut params: RtpParameters = from_json("rtpParameters", p["rtpParameters"].clone()).expect("params");
            ortc::validate_rtp_parameters(&mut params).expect("reference params validate");
            params.rtcp.cname.get_or_insert_with(|| "cname".into());
            let mapping = ortc::get_producer_rtp_parameters_mapping_mut(&mut params, &router_caps).expect("mapping");
            consumables.push(ortc::get_consumable_rtp_parameters(kind, &params, &router_caps, &mapping));
            producers.push((kind, params));
        }
        Reference { router_caps, consumer_caps, producers, consumables }
    })
}

/// The input is one JSON document, tried as every ORTC input whose shape it has. Input that is
/// not JSON is an edit script instead: a reference document (Chrome's produce() parameters,
/// capabilities, media codecs) with a few values replaced, removed or added (see [`edited`]),
/// which reaches the ORTC semantics far more often than byte mutations of JSON text do.
pub fn ortc_json(data: &[u8]) {
    let v = match serde_json::from_slice::<Value>(data) {
        Ok(v) => v,
        Err(_) => match edited(data) {
            Some(v) => v,
            None => return,
        },
    };
    let r = reference();
    let mut candidates = vec![&v];
    for key in ["rtpParameters", "rtpCapabilities", "routerRtpCapabilities", "consumerRtpCapabilities", "mediaCodecs", "deviceRtpCapabilities"] {
        if let Some(x) = v.get(key) {
            candidates.push(x);
        }
    }
    if let Some(a) = v.as_array() {
        candidates.extend(a.iter().take(8));
    }
    if let Some(a) = v.get("produce").and_then(Value::as_array) {
        candidates.extend(a.iter().filter_map(|p| p.get("rtpParameters")).take(4));
    }
    for c in candidates {
        if let Ok(p) = from_json::<RtpParameters>("rtpParameters", c.clone()) {
            check_rtp_parameters(r, p);
        }
        if let Ok(caps) = from_json::<RtpCapabilities>("rtpCapabilities", c.clone()) {
            check_rtp_capabilities(r, caps);
        }
        if let Ok(codecs) = from_json::<Vec<RtpCodecCapability>>("mediaCodecs", c.clone()) {
            check_media_codecs(r, &codecs);
        } else if let Ok(codec) = from_json::<RtpCodecCapability>("mediaCodec", c.clone()) {
            check_media_codecs(r, &[codec]);
        }
    }
}

/// `from_json(to_value(x)) == x`: what the engine serialises back to its faces parses again.
fn round_trip<T>(what: &str, x: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let v = serde_json::to_value(x).unwrap_or_else(|e| panic!("{what} does not serialise: {e}"));
    let back: T = from_json(what, v.clone()).unwrap_or_else(|e| panic!("{what} serialised as {v} does not parse back: {e}"));
    assert_eq!(&back, x, "{what} serde round trip via {v}");
}

fn no_panic_error(e: &Error) {
    let _ = e.to_string();
}

/// A producer's rtpParameters from the network, through `transport.produce()`'s steps.
fn check_rtp_parameters(r: &Reference, mut params: RtpParameters) {
    round_trip("rtpParameters", &params);
    if let Err(e) = ortc::validate_rtp_parameters(&mut params) {
        return no_panic_error(&e);
    }
    let mut again = params.clone();
    ortc::validate_rtp_parameters(&mut again).expect("validated rtpParameters validate again");
    assert_eq!(again, params, "validate_rtp_parameters is not idempotent");
    round_trip("validated rtpParameters", &params);

    // What create_producer does next.
    params.rtcp.cname.get_or_insert_with(|| "fuzzcname".into());
    if params.encodings.is_empty() {
        params.encodings.push(Default::default());
    }
    let kind = params.codecs.iter().find_map(|c| kind_of_mime(&c.mime_type)).unwrap_or(MediaKind::Audio);
    let mapping = match ortc::get_producer_rtp_parameters_mapping_mut(&mut params, &r.router_caps) {
        Ok(m) => m,
        Err(e) => return no_panic_error(&e),
    };
    round_trip("rtpMapping", &mapping);
    let pts: HashSet<u8> = params.codecs.iter().map(|c| c.payload_type).collect();
    let router_pts: HashSet<u8> = r.router_caps.codecs.iter().filter_map(|c| c.preferred_payload_type).collect();
    for c in &mapping.codecs {
        assert!(pts.contains(&c.payload_type), "mapping of a payload type the producer lacks: {c:?}");
        assert!(router_pts.contains(&c.mapped_payload_type), "mapping to a payload type the router lacks: {c:?}");
    }
    assert_eq!(mapping.encodings.len(), params.encodings.len());
    let ssrcs: HashSet<u32> = mapping.encodings.iter().map(|e| e.mapped_ssrc).collect();
    assert_eq!(ssrcs.len(), mapping.encodings.len(), "mapped SSRCs are distinct");

    let consumable = ortc::get_consumable_rtp_parameters(kind, &params, &r.router_caps, &mapping);
    for c in &consumable.codecs {
        assert!(router_pts.contains(&c.payload_type), "consumable codec with a payload type the router lacks: {c:?}");
    }
    assert_eq!(consumable.encodings.len(), params.encodings.len());
    let _ = ortc::producer_type(&params);
    check_consume(r, &consumable, &r.consumer_caps, ortc::producer_type(&params));
}

/// A remote peer's rtpCapabilities from the network, through `transport.consume()`'s steps
/// against each reference producer.
fn check_rtp_capabilities(r: &Reference, mut caps: RtpCapabilities) {
    round_trip("rtpCapabilities", &caps);
    if let Err(e) = ortc::validate_rtp_capabilities(&mut caps) {
        return no_panic_error(&e);
    }
    let mut again = caps.clone();
    ortc::validate_rtp_capabilities(&mut again).expect("validated rtpCapabilities validate again");
    assert_eq!(again, caps, "validate_rtp_capabilities is not idempotent");
    round_trip("validated rtpCapabilities", &caps);
    for ((_, params), consumable) in r.producers.iter().zip(&r.consumables) {
        check_consume(r, consumable, &caps, ortc::producer_type(params));
    }
}

/// `can_consume` then `get_consumer_rtp_parameters` (and the pipe variant) as create_consumer
/// calls them; `caps` is already validated.
fn check_consume(r: &Reference, consumable: &RtpParameters, caps: &RtpCapabilities, ptype: sfu_core::ProducerType) {
    let _ = r;
    let can = ortc::can_consume(consumable, caps).expect("can_consume fails only on invalid caps, and these validated");
    let consumable_pts: HashSet<u8> = consumable.codecs.iter().map(|c| c.payload_type).collect();
    for enable_rtx in [true, false] {
        let pipe = ortc::get_pipe_consumer_rtp_parameters(consumable, enable_rtx);
        check_consumer_params("pipe consumer", &pipe, &consumable_pts);
        if !can {
            continue;
        }
        let params = match ortc::get_consumer_rtp_parameters(consumable, caps, false, enable_rtx) {
            Ok(p) => p,
            Err(e) => {
                no_panic_error(&e);
                continue;
            }
        };
        check_consumer_params("consumer", &params, &consumable_pts);
        assert!(params.codecs.iter().any(|c| !ortc::is_feature_mime(&c.mime_type)), "consumer without a media codec: {params:?}");
        let ctype = ortc::consumer_type(ptype, false);
        let _ = ortc::consumer_preferred_layers(ctype, &params, None);
        for (s, t) in [(0, None), (1, Some(0)), (255, Some(255))] {
            let req = ConsumerLayers { spatial_layer: s, temporal_layer: t };
            let _ = ortc::consumer_preferred_layers(ctype, &params, Some(req));
        }
    }
}

fn check_consumer_params(what: &str, params: &RtpParameters, consumable_pts: &HashSet<u8>) {
    for c in &params.codecs {
        assert!(consumable_pts.contains(&c.payload_type), "{what} codec not in the consumable parameters: {c:?}");
    }
    round_trip(what, params);
    // A client validates what it is given to consume (mediasoup-client does).
    let mut p = params.clone();
    if let Err(e) = ortc::validate_rtp_parameters(&mut p) {
        if !params.codecs.is_empty() {
            panic!("{what} rtpParameters do not validate: {e}\n{}", serde_json::to_string(params).unwrap_or_default());
        }
    }
}

/// An application's router media codecs through `generate_router_rtp_capabilities`, and the
/// reference producers mapped into the resulting router.
fn check_media_codecs(r: &Reference, codecs: &[RtpCodecCapability]) {
    for c in codecs {
        round_trip("mediaCodec", c);
    }
    let caps = match ortc::generate_router_rtp_capabilities(codecs) {
        Ok(c) => c,
        Err(e) => return no_panic_error(&e),
    };
    round_trip("routerRtpCapabilities", &caps);
    let mut v = caps.clone();
    ortc::validate_rtp_capabilities(&mut v).unwrap_or_else(|e| panic!("generated router capabilities do not validate: {e}"));
    assert_eq!(v, caps, "generated router capabilities change when validated");
    let mut pts = HashSet::new();
    for c in &caps.codecs {
        let pt = c.preferred_payload_type.expect("router codec without preferredPayloadType");
        assert!(pt <= 127, "router payload type {pt}");
        assert!(pts.insert(pt), "router payload type {pt} used twice");
    }
    for (kind, params) in &r.producers {
        let mut params = params.clone();
        let Ok(mapping) = ortc::get_producer_rtp_parameters_mapping_mut(&mut params, &caps) else {
            continue;
        };
        let consumable = ortc::get_consumable_rtp_parameters(*kind, &params, &caps, &mapping);
        for c in &consumable.codecs {
            assert!(pts.contains(&c.payload_type), "consumable payload type not in the router");
        }
        check_consume(r, &consumable, &r.consumer_caps, ortc::producer_type(&params));
    }
}

/// Reference documents the edit scripts start from.
fn documents() -> &'static [Value] {
    static D: OnceLock<Vec<Value>> = OnceLock::new();
    D.get_or_init(|| {
        let chrome: Value = serde_json::from_str(CHROME).unwrap();
        let vectors: Value = serde_json::from_str(VECTORS).unwrap();
        let mut d: Vec<Value> = chrome["produce"].as_array().unwrap().iter().map(|p| p["rtpParameters"].clone()).collect();
        for c in vectors["cases"].as_array().unwrap() {
            if let Some(p) = c.get("producerInput").and_then(|p| p.get("rtpParameters")) {
                d.push(p.clone());
            }
        }
        d.push(chrome["deviceRtpCapabilities"].clone());
        d.push(vectors["consumerRtpCapabilities"].clone());
        d.push(vectors["mediaCodecs"].clone());
        d.push(serde_json::from_str(ROUTER_CAPS).unwrap());
        d
    })
}

const STRINGS: &[&str] = &[
    "", "audio/opus", "video/VP8", "video/VP9", "video/H264", "video/h264-svc", "video/AV1", "video/rtx", "audio/rtx",
    "video/red", "video/ulpfec", "video/flexfec-03", "audio/PCMU", "audio/G722", "audio/CN", "audio/telephone-event",
    "audio/multiopus", "video", "/rtx", "video/", "L1T1", "L1T3", "L3T3", "L3T3_KEY", "S3T3", "L2T2h", "L9T9", "S0T0",
    "42e01f", "42001f", "640c1f", "4d0032", "f4001f", "42e0ff", "zzzzzz", "r0", "r1", "r2", "0", "1",
    "urn:ietf:params:rtp-hdrext:sdes:mid", "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension",
    "urn:3gpp:video-orientation", "urn:ietf:params:rtp-hdrext:toffset", "nack", "pli", "ccm", "fir", "goog-remb",
    "transport-cc", "sendrecv", "sendonly", "recvonly", "inactive", "audio", "video",
];
const KEYS: &[&str] = &[
    "apt", "profile-level-id", "packetization-mode", "level-asymmetry-allowed", "profile-id", "profile", "level-idx",
    "tier", "useinbandfec", "usedtx", "ssrc", "rid", "rtx", "scalabilityMode", "codecPayloadType", "dtx", "mid",
    "preferredPayloadType", "payloadType", "clockRate", "channels", "mimeType", "kind", "direction", "preferredId",
    "preferredEncrypt", "id", "uri", "encrypt", "maxBitrate", "cname", "reducedSize", "mux", "parameters",
    "rtcpFeedback", "type", "parameter", "encodings", "codecs", "headerExtensions", "rtcp", "msid",
];
const NUMBERS: &[f64] = &[0.0, 1.0, -1.0, 2.0, 15.0, 16.0, 96.0, 100.0, 127.0, 128.0, 255.0, 256.0, 65535.0, 65536.0, 90000.0, 4294967295.0, 4294967296.0, 1.5, 1e300, -1e300];

fn interesting(u: &mut Unstructured<'_>) -> Option<Value> {
    Some(match u.int_in_range(0..=9u8).ok()? {
        0..=3 => Value::from(*u.choose(STRINGS).ok()?),
        4..=6 => {
            let n = *u.choose(NUMBERS).ok()?;
            if n.fract() == 0.0 && n.abs() < 1e19 { if n < 0.0 { Value::from(n as i64) } else { Value::from(n as u64) } } else { Value::from(n) }
        }
        7 => Value::from(u.arbitrary::<u32>().ok()?),
        8 => [Value::Null, Value::Bool(true), Value::Bool(false), json_empty_array(), Value::Object(Default::default())][u.choose_index(5).ok()?].clone(),
        _ => Value::from(u.arbitrary::<String>().ok()?),
    })
}

fn json_empty_array() -> Value {
    Value::Array(vec![])
}

/// One edit somewhere in `v`: descend to a random node, then replace it, or remove / duplicate
/// / insert a child.
fn edit(v: &mut Value, u: &mut Unstructured<'_>, depth: usize) -> Option<()> {
    let descend = depth < 8 && u.ratio(3u8, 4u8).ok()?;
    match v {
        Value::Object(m) if !m.is_empty() => {
            if descend {
                let i = u.choose_index(m.len()).ok()?;
                let child = m.values_mut().nth(i)?;
                return edit(child, u, depth + 1);
            }
            match u.int_in_range(0..=2u8).ok()? {
                0 => {
                    let i = u.choose_index(m.len()).ok()?;
                    let k = m.keys().nth(i)?.clone();
                    m.remove(&k);
                }
                1 => {
                    let k = u.choose(KEYS).ok()?.to_string();
                    let val = interesting(u)?;
                    m.insert(k, val);
                }
                _ => *v = interesting(u)?,
            }
        }
        Value::Array(a) if !a.is_empty() => {
            if descend {
                let i = u.choose_index(a.len()).ok()?;
                return edit(&mut a[i], u, depth + 1);
            }
            match u.int_in_range(0..=2u8).ok()? {
                0 => {
                    let i = u.choose_index(a.len()).ok()?;
                    a.remove(i);
                }
                1 => {
                    let i = u.choose_index(a.len()).ok()?;
                    let dup = a[i].clone();
                    a.insert(i, dup);
                }
                _ => *v = interesting(u)?,
            }
        }
        _ => *v = interesting(u)?,
    }
    Some(())
}

/// A reference document with 1–8 edits read from `data`.
pub fn edited(data: &[u8]) -> Option<Value> {
    let mut u = Unstructured::new(data);
    let docs = documents();
    let mut v = docs[u.choose_index(docs.len()).ok()?].clone();
    let n = u.int_in_range(1..=8u8).ok()?;
    for _ in 0..n {
        if edit(&mut v, &mut u, 0).is_none() {
            break;
        }
    }
    Some(v)
}
