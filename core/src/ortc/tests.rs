//! Behaviour tests of the ORTC rules against what mediasoup 3.27 returns (`core/testdata/`).

use super::*;
use crate::error::{from_json, Error};
use crate::rtp_parameters::{
    ConsumerLayers, ConsumerType, MediaKind, ProducerType, RtpCapabilities, RtpCodecCapability,
    RtpParameters,
};
use serde_json::{json, Value};

const ROUTER_MEDIA_CODECS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/router-media-codecs.json"
));
const ROUTER_CAPS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/router-rtp-capabilities.mediasoup.json"
));
const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/ortc-vectors.mediasoup.json"
));
const CHROME: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/chrome-mediasoup-client-produce.json"
));

fn parse<T: serde::de::DeserializeOwned>(what: &str, v: &Value) -> T {
    from_json(what, v.clone()).unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn to_value<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).expect("serializable")
}

/// Numbers compared by value (`4` and `4.0` are the same JSON number for JavaScript).
fn normalize(v: Value) -> Value {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(normalize).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        other => other,
    }
}

fn router_caps_from(media_codecs: &Value) -> RtpCapabilities {
    let codecs: Vec<RtpCodecCapability> = parse("mediaCodecs", media_codecs);
    generate_router_rtp_capabilities(&codecs).expect("router capabilities")
}

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vectors JSON")
}

fn kind_of(v: &Value) -> MediaKind {
    parse("kind", v)
}

// ---------------------------------------------------------------------------------------------
// Router capabilities

#[test]
fn router_capabilities_equal_mediasoup_reference_exactly() {
    let media: Value = serde_json::from_str(ROUTER_MEDIA_CODECS).unwrap();
    let expected: Value = serde_json::from_str(ROUTER_CAPS).unwrap();
    let caps = router_caps_from(&media);
    assert_eq!(to_value(&caps), expected);
}

#[test]
fn router_capabilities_of_vectors_equal_mediasoup() {
    let v = vectors();
    assert_eq!(
        to_value(&router_caps_from(&v["mediaCodecs"])),
        v["routerRtpCapabilities"]
    );
}

#[test]
fn router_capabilities_keep_forced_payload_type_and_merge_parameters() {
    // mediasoup's own unit test scenario.
    let media = json!([
        {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2,
         "parameters": {"useinbandfec": 1, "foo": "bar"}},
        {"kind": "video", "mimeType": "video/VP8", "preferredPayloadType": 125, "clockRate": 90000},
        {"kind": "video", "mimeType": "video/H264", "clockRate": 90000,
         "parameters": {"level-asymmetry-allowed": 1, "profile-level-id": "42e01f", "foo": "bar"},
         "rtcpFeedback": []}
    ]);
    let caps = to_value(&router_caps_from(&media));
    let codecs = caps["codecs"].as_array().unwrap();
    assert_eq!(codecs.len(), 5);
    assert_eq!(codecs[0]["preferredPayloadType"], 100);
    assert_eq!(
        codecs[0]["parameters"],
        json!({"useinbandfec": 1, "foo": "bar"})
    );
    assert_eq!(codecs[1]["preferredPayloadType"], 125);
    assert_eq!(
        codecs[2],
        json!({"kind": "video", "mimeType": "video/rtx", "preferredPayloadType": 101,
        "clockRate": 90000, "parameters": {"apt": 125}, "rtcpFeedback": []})
    );
    assert_eq!(codecs[3]["preferredPayloadType"], 102);
    assert_eq!(
        codecs[3]["parameters"],
        json!({"level-asymmetry-allowed": 1, "profile-level-id": "42e01f", "foo": "bar"})
    );
    // The media codec's (empty) feedback is ignored: the supported codec's is used.
    assert_eq!(codecs[3]["rtcpFeedback"].as_array().unwrap().len(), 5);
    assert_eq!(codecs[4]["parameters"], json!({"apt": 102}));
}

#[test]
fn router_capabilities_use_fixed_payload_types_of_static_codecs() {
    let media = json!([
        {"kind": "audio", "mimeType": "audio/PCMU", "clockRate": 8000},
        {"kind": "audio", "mimeType": "audio/PCMA", "clockRate": 8000},
        {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2}
    ]);
    let caps = router_caps_from(&media);
    let pts: Vec<_> = caps
        .codecs
        .iter()
        .map(|c| c.preferred_payload_type)
        .collect();
    assert_eq!(pts, vec![Some(0), Some(8), Some(100)]);
    assert_eq!(caps.codecs[0].channels, Some(1));
}

#[test]
fn supported_capabilities_list_every_mediasoup_codec_and_extension() {
    let s = crate::supported_rtp_capabilities::supported_rtp_capabilities();
    let mimes: Vec<&str> = s.codecs.iter().map(|c| c.mime_type.as_str()).collect();
    for m in [
        "audio/opus",
        "audio/multiopus",
        "audio/PCMU",
        "audio/PCMA",
        "audio/ISAC",
        "audio/G722",
        "audio/iLBC",
        "audio/SILK",
        "audio/CN",
        "audio/telephone-event",
        "video/VP8",
        "video/VP9",
        "video/H264",
        "video/H264-SVC",
        "video/H265",
        "video/AV1",
    ] {
        assert!(mimes.contains(&m), "{m} missing");
    }
    let reference: Value = serde_json::from_str(ROUTER_CAPS).unwrap();
    assert_eq!(
        to_value(&s.header_extensions),
        reference["headerExtensions"]
    );
    // Normalised like mediasoup's validation leaves them.
    let mut copy = s.clone();
    validate_rtp_capabilities(&mut copy).unwrap();
    assert_eq!(copy, s);
}

// ---------------------------------------------------------------------------------------------
// Producers and consumers against the recorded vectors

/// What the engine does around the ORTC calls in `transport.produce()`.
fn produce(
    input: &Value,
    cname_for_producers: &mut Option<String>,
    caps: &RtpCapabilities,
) -> (RtpParameters, RtpMapping_, RtpParameters) {
    let mut params: RtpParameters = parse("rtpParameters", &input["rtpParameters"]);
    validate_rtp_parameters(&mut params).expect("valid producer parameters");
    // Transport behaviour (not ORTC): first CNAME seen becomes the transport's producer CNAME.
    let given = params.rtcp.cname.clone().filter(|c| !c.is_empty());
    let cname = cname_for_producers
        .get_or_insert_with(|| given.unwrap_or_else(|| "random".into()))
        .clone();
    params.rtcp.cname = Some(cname);
    let mapping = get_producer_rtp_parameters_mapping_mut(&mut params, caps).expect("mapping");
    let consumable =
        get_consumable_rtp_parameters(kind_of(&input["kind"]), &params, caps, &mapping);
    (params, mapping, consumable)
}

type RtpMapping_ = crate::rtp_parameters::RtpMapping;

fn strip_active(mut v: Value) -> Value {
    // `active` is a mediasoup-client field mediasoup passes through untouched; the engine's
    // `RtpEncodingParameters` does not model it.
    if let Some(encodings) = v["encodings"].as_array_mut() {
        for e in encodings {
            if let Some(o) = e.as_object_mut() {
                o.remove("active");
            }
        }
    }
    v
}

/// Checks the random SSRCs of a consumer's encodings and replaces them by fixed values.
fn check_and_blank_ssrcs(mut v: Value, rtx_expected: bool) -> Value {
    for e in v["encodings"].as_array_mut().expect("encodings") {
        let ssrc = e["ssrc"].as_u64().expect("encoding.ssrc");
        assert!(
            (100_000_000..=999_999_999).contains(&ssrc),
            "ssrc {ssrc} out of mediasoup's range"
        );
        e["ssrc"] = json!(1);
        if rtx_expected {
            assert_eq!(
                e["rtx"]["ssrc"].as_u64(),
                Some(ssrc + 1),
                "rtx.ssrc must be ssrc + 1"
            );
            e["rtx"]["ssrc"] = json!(2);
        } else {
            assert!(e.get("rtx").is_none());
        }
    }
    v
}

#[test]
fn every_vector_case_reproduces_mediasoup() {
    let v = vectors();
    let caps = router_caps_from(&v["mediaCodecs"]);
    let remote: RtpCapabilities = parse("consumerRtpCapabilities", &v["consumerRtpCapabilities"]);
    let mut cname = None;
    let mut checked = 0;

    for (n, case) in v["cases"].as_array().unwrap().iter().enumerate() {
        let input = &case["producerInput"];
        let kind = kind_of(&input["kind"]);
        let (params, mapping, consumable) = produce(input, &mut cname, &caps);

        // Producer.
        let ptype = producer_type(&params);
        assert_eq!(
            to_value(&ptype),
            case["producerType"],
            "case {n}: producerType"
        );
        assert_eq!(
            normalize(to_value(&params)),
            normalize(strip_active(case["producerRtpParameters"].clone())),
            "case {n}: producer rtpParameters"
        );
        assert_eq!(mapping.encodings.len(), params.encodings.len());

        // Consumers.
        for (m, c) in case["consumers"].as_array().unwrap().iter().enumerate() {
            let opts = &c["options"];
            // mediasoup's default: RTX on for video, off for audio.
            let enable_rtx = opts["enableRtx"]
                .as_bool()
                .unwrap_or(kind == MediaKind::Video);
            let requested: Option<ConsumerLayers> = opts
                .get("preferredLayers")
                .map(|l| parse("preferredLayers", l));

            assert!(
                can_consume(&consumable, &remote).unwrap(),
                "case {n}/{m}: canConsume"
            );
            let rtp = get_consumer_rtp_parameters(&consumable, &remote, false, enable_rtx)
                .expect("consumer params");
            assert!(rtp.mid.is_none(), "the transport assigns the mid");
            let ctype = consumer_type(ptype, false);
            assert_eq!(to_value(&ctype), c["type"], "case {n}/{m}: consumer type");

            let mut expected = c["rtpParameters"].clone();
            expected.as_object_mut().unwrap().remove("mid");
            let has_rtx = expected["encodings"][0].get("rtx").is_some();
            let expected = check_and_blank_ssrcs(expected, has_rtx);
            let got = check_and_blank_ssrcs(to_value(&rtp), has_rtx);
            assert_eq!(
                normalize(got),
                normalize(expected),
                "case {n}/{m}: consumer rtpParameters"
            );

            let layers = consumer_preferred_layers(ctype, &rtp, requested);
            assert_eq!(
                to_value(&layers),
                c["preferredLayers"],
                "case {n}/{m}: preferredLayers"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 10, "every recorded consumer was checked");
}

#[test]
fn single_l1t3_encoding_is_svc_and_simulcast_rewrites_scalability_mode() {
    let v = vectors();
    let cases = v["cases"].as_array().unwrap();
    let simulcast: RtpParameters = parse("p", &cases[1]["producerRtpParameters"]);
    assert_eq!(producer_type(&simulcast), ProducerType::Simulcast);
    let svc: RtpParameters = parse("p", &cases[3]["producerRtpParameters"]);
    assert_eq!(producer_type(&svc), ProducerType::Svc);
    let audio: RtpParameters = parse("p", &cases[0]["producerRtpParameters"]);
    assert_eq!(producer_type(&audio), ProducerType::Simple);
}

#[test]
fn audio_consumer_has_nack_only_with_enable_rtx() {
    let v = vectors();
    let caps = router_caps_from(&v["mediaCodecs"]);
    let remote: RtpCapabilities = parse("caps", &v["consumerRtpCapabilities"]);
    let (_, _, consumable) = produce(&v["cases"][0]["producerInput"], &mut None, &caps);
    let off = get_consumer_rtp_parameters(&consumable, &remote, false, false).unwrap();
    assert!(off.codecs[0].rtcp_feedback.is_empty());
    let on = get_consumer_rtp_parameters(&consumable, &remote, false, true).unwrap();
    assert_eq!(
        to_value(&on.codecs[0].rtcp_feedback),
        json!([{"type": "nack", "parameter": ""}])
    );
}

#[test]
fn video_consumer_without_rtx_drops_rtx_codec_and_plain_nack() {
    let v = vectors();
    let caps = router_caps_from(&v["mediaCodecs"]);
    let remote: RtpCapabilities = parse("caps", &v["consumerRtpCapabilities"]);
    let (_, _, consumable) = produce(&v["cases"][2]["producerInput"], &mut None, &caps);
    let rtp = get_consumer_rtp_parameters(&consumable, &remote, false, false).unwrap();
    assert_eq!(rtp.codecs.len(), 1);
    assert!(rtp.encodings[0].rtx.is_none());
    assert_eq!(
        to_value(&rtp.codecs[0].rtcp_feedback),
        json!([{"type": "transport-cc", "parameter": ""}, {"type": "ccm", "parameter": "fir"},
               {"type": "nack", "parameter": "pli"}])
    );
}

#[test]
fn consumer_feedback_falls_back_to_remb_then_to_none() {
    let v = vectors();
    let caps = router_caps_from(&v["mediaCodecs"]);
    let (_, _, consumable) = produce(&v["cases"][2]["producerInput"], &mut None, &caps);
    let mut remote: RtpCapabilities = parse("caps", &v["consumerRtpCapabilities"]);
    remote
        .header_extensions
        .retain(|e| e.uri != TRANSPORT_WIDE_CC_URI);
    let rtp = get_consumer_rtp_parameters(&consumable, &remote, false, true).unwrap();
    let types: Vec<_> = rtp.codecs[0]
        .rtcp_feedback
        .iter()
        .map(|f| f.typ.as_str())
        .collect();
    assert!(types.contains(&"goog-remb") && !types.contains(&"transport-cc"));
    remote
        .header_extensions
        .retain(|e| e.uri != ABS_SEND_TIME_URI);
    let rtp = get_consumer_rtp_parameters(&consumable, &remote, false, true).unwrap();
    let types: Vec<_> = rtp.codecs[0]
        .rtcp_feedback
        .iter()
        .map(|f| f.typ.as_str())
        .collect();
    assert!(!types.contains(&"goog-remb") && !types.contains(&"transport-cc"));
}

#[test]
fn mediasoup_unit_scenario_mapping_consumable_consumer_and_pipe() {
    let caps = router_caps_from(&json!([
        {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
        {"kind": "video", "mimeType": "video/H264", "clockRate": 90000,
         "parameters": {"level-asymmetry-allowed": 1, "packetization-mode": 1, "profile-level-id": "4d0032", "bar": "lalala"}}
    ]));
    let mut params: RtpParameters = parse(
        "rtpParameters",
        &json!({
            "codecs": [
                {"mimeType": "video/H264", "payloadType": 111, "clockRate": 90000,
                 "parameters": {"foo": 1234, "packetization-mode": 1, "profile-level-id": "4d0032"},
                 "rtcpFeedback": [{"type": "nack", "parameter": ""}, {"type": "nack", "parameter": "pli"},
                                  {"type": "goog-remb", "parameter": ""}]},
                {"mimeType": "video/rtx", "payloadType": 112, "clockRate": 90000, "parameters": {"apt": 111}, "rtcpFeedback": []}
            ],
            "headerExtensions": [{"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 1},
                                 {"uri": "urn:3gpp:video-orientation", "id": 2}],
            "encodings": [
                {"ssrc": 11111111, "rtx": {"ssrc": 11111112}, "maxBitrate": 111111, "scalabilityMode": "L1T3"},
                {"ssrc": 21111111, "rtx": {"ssrc": 21111112}, "maxBitrate": 222222, "scalabilityMode": "L1T3"},
                {"rid": "high", "maxBitrate": 333333, "scalabilityMode": "L1T3"}
            ],
            "rtcp": {"cname": "qwerty1234"}
        }),
    );
    validate_rtp_parameters(&mut params).unwrap();
    let mapping = get_producer_rtp_parameters_mapping(&params, &caps).unwrap();
    assert_eq!(
        to_value(&mapping.codecs),
        json!([
        {"payloadType": 111, "mappedPayloadType": 101}, {"payloadType": 112, "mappedPayloadType": 102}])
    );
    assert_eq!(mapping.encodings[0].ssrc, Some(11111111));
    assert_eq!(mapping.encodings[2].rid.as_deref(), Some("high"));
    assert_eq!(mapping.encodings[2].ssrc, None);
    assert_eq!(
        mapping.encodings[1].mapped_ssrc,
        mapping.encodings[0].mapped_ssrc.wrapping_add(1)
    );

    let consumable = get_consumable_rtp_parameters(MediaKind::Video, &params, &caps, &mapping);
    assert_eq!(consumable.codecs[0].payload_type, 101);
    assert_eq!(
        to_value(&consumable.codecs[0].parameters),
        json!({"foo": 1234, "packetization-mode": 1, "profile-level-id": "4d0032"})
    );
    assert_eq!(
        to_value(&consumable.codecs[1].parameters),
        json!({"apt": 101})
    );
    assert_eq!(
        to_value(&consumable.encodings[2]),
        json!({
        "ssrc": mapping.encodings[2].mapped_ssrc, "maxBitrate": 333333, "scalabilityMode": "L1T3", "dtx": false})
    );
    assert_eq!(
        to_value(&consumable.rtcp),
        json!({"cname": "qwerty1234", "reducedSize": true})
    );

    let remote: RtpCapabilities = parse(
        "caps",
        &json!({
            "codecs": [
                {"kind": "audio", "mimeType": "audio/opus", "preferredPayloadType": 100, "clockRate": 48000, "channels": 2},
                {"kind": "video", "mimeType": "video/H264", "preferredPayloadType": 101, "clockRate": 90000,
                 "parameters": {"packetization-mode": 1, "profile-level-id": "4d0032", "baz": "LOLOLO"},
                 "rtcpFeedback": [{"type": "nack", "parameter": ""}, {"type": "nack", "parameter": "pli"},
                                  {"type": "foo", "parameter": "FOO"}]},
                {"kind": "video", "mimeType": "video/rtx", "preferredPayloadType": 102, "clockRate": 90000, "parameters": {"apt": 101}}
            ],
            "headerExtensions": [
                {"kind": "audio", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1},
                {"kind": "video", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1},
                {"kind": "video", "uri": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", "preferredId": 2},
                {"kind": "audio", "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "preferredId": 8},
                {"kind": "video", "uri": "urn:3gpp:video-orientation", "preferredId": 8},
                {"kind": "video", "uri": "urn:ietf:params:rtp-hdrext:toffset", "preferredId": 9}
            ]
        }),
    );
    let rtp = get_consumer_rtp_parameters(&consumable, &remote, false, true).unwrap();
    assert_eq!(rtp.codecs.len(), 2);
    assert_eq!(
        to_value(&rtp.codecs[0].rtcp_feedback),
        json!([
        {"type": "nack", "parameter": ""}, {"type": "nack", "parameter": "pli"}, {"type": "foo", "parameter": "FOO"}])
    );
    assert_eq!(rtp.encodings.len(), 1);
    assert_eq!(rtp.encodings[0].scalability_mode.as_deref(), Some("L3T3"));
    assert_eq!(rtp.encodings[0].max_bitrate, Some(333333));
    let uris: Vec<_> = rtp
        .header_extensions
        .iter()
        .map(|e| (e.uri.as_str(), e.id))
        .collect();
    assert_eq!(
        uris,
        vec![
            (MID_URI, 1),
            ("urn:3gpp:video-orientation", 8),
            ("urn:ietf:params:rtp-hdrext:toffset", 9)
        ]
    );

    // "pipe" consume option on a normal transport: all encodings, RTX ssrcs from another base.
    let piped = get_consumer_rtp_parameters(&consumable, &remote, true, true).unwrap();
    assert_eq!(piped.encodings.len(), 3);
    assert!(piped
        .encodings
        .iter()
        .all(|e| e.rtx.is_some() && e.scalability_mode.as_deref() == Some("L1T3")));

    let pipe = get_pipe_consumer_rtp_parameters(&consumable, false);
    assert_eq!(pipe.codecs.len(), 1);
    assert_eq!(
        to_value(&pipe.codecs[0].rtcp_feedback),
        json!([
        {"type": "nack", "parameter": "pli"}, {"type": "ccm", "parameter": "fir"}])
    );
    assert_eq!(pipe.encodings.len(), 3);
    assert!(pipe
        .encodings
        .iter()
        .all(|e| e.rtx.is_none() && e.max_bitrate.is_some()));
    assert_eq!(
        pipe.encodings[1].ssrc.unwrap(),
        pipe.encodings[0].ssrc.unwrap().wrapping_add(1)
    );
    assert_eq!(
        to_value(&pipe.rtcp),
        json!({"cname": "qwerty1234", "reducedSize": true})
    );
    // MID and BWE extensions removed, dependency descriptor added, sorted by id.
    let ids: Vec<_> = pipe.header_extensions.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![7, 8, 9, 10, 11, 12]);
    assert!(pipe
        .header_extensions
        .iter()
        .all(|e| e.uri != MID_URI && e.uri != ABS_SEND_TIME_URI && e.uri != TRANSPORT_WIDE_CC_URI));
    assert_eq!(
        consumer_type(ProducerType::Simulcast, true),
        ConsumerType::Pipe
    );
    assert_eq!(
        consumer_preferred_layers(ConsumerType::Pipe, &pipe, None),
        None
    );

    let pipe_rtx = get_pipe_consumer_rtp_parameters(&consumable, true);
    assert_eq!(pipe_rtx.codecs.len(), 2);
    assert!(pipe_rtx.encodings.iter().all(|e| e.rtx.is_some()));
    assert!(pipe_rtx.codecs[0]
        .rtcp_feedback
        .iter()
        .any(|f| f.typ == "nack" && f.parameter.is_empty()));
}

#[test]
fn h264_mapping_rewrites_profile_level_id_to_the_answer() {
    let caps = router_caps_from(
        &json!([{"kind": "video", "mimeType": "video/H264", "clockRate": 90000,
        "parameters": {"packetization-mode": 1, "profile-level-id": "4d0032"}}]),
    );
    // No level asymmetry on the producer: the answer takes the lower level; the Main profile
    // written with other iop bits becomes the canonical form.
    let mut params: RtpParameters = parse(
        "p",
        &json!({
        "codecs": [{"mimeType": "video/H264", "payloadType": 96, "clockRate": 90000,
                    "parameters": {"packetization-mode": 1, "profile-level-id": "4d4033"}}],
        "encodings": [{"ssrc": 1}]}),
    );
    validate_rtp_parameters(&mut params).unwrap();
    let unchanged = params.clone();
    let mapping = get_producer_rtp_parameters_mapping(&params, &caps).unwrap();
    let consumable = get_consumable_rtp_parameters(MediaKind::Video, &params, &caps, &mapping);
    assert_eq!(
        consumable.codecs[0].parameters["profile-level-id"],
        "4d0032"
    );
    get_producer_rtp_parameters_mapping_mut(&mut params, &caps).unwrap();
    assert_eq!(params.codecs[0].parameters["profile-level-id"], "4d0032");
    assert_ne!(params, unchanged);
}

// ---------------------------------------------------------------------------------------------
// canConsume

#[test]
fn can_consume_true_and_false_cases() {
    let v = vectors();
    let caps = router_caps_from(&v["mediaCodecs"]);
    let remote: RtpCapabilities = parse("caps", &v["consumerRtpCapabilities"]);
    let (_, _, audio) = produce(&v["cases"][0]["producerInput"], &mut None, &caps);
    let (_, _, h264) = produce(&v["cases"][2]["producerInput"], &mut None, &caps);
    assert!(can_consume(&audio, &remote).unwrap());
    assert!(can_consume(&h264, &remote).unwrap());

    // No codecs at all.
    assert!(!can_consume(&h264, &RtpCapabilities::default()).unwrap());
    // Only the RTX codec matches: false.
    let only_rtx: RtpCapabilities = parse(
        "caps",
        &json!({"codecs": [
        {"kind": "video", "mimeType": "video/rtx", "preferredPayloadType": 104, "clockRate": 90000, "parameters": {"apt": 103}}]}),
    );
    assert!(!can_consume(&h264, &only_rtx).unwrap());
    // Same mime, other H264 profile (High): false.
    let high: RtpCapabilities = parse(
        "caps",
        &json!({"codecs": [
        {"kind": "video", "mimeType": "video/H264", "preferredPayloadType": 103, "clockRate": 90000,
         "parameters": {"packetization-mode": 1, "profile-level-id": "640032"}}]}),
    );
    assert!(!can_consume(&h264, &high).unwrap());
    // Other packetization mode: false.
    let mode0: RtpCapabilities = parse(
        "caps",
        &json!({"codecs": [
        {"kind": "video", "mimeType": "video/H264", "preferredPayloadType": 103, "clockRate": 90000,
         "parameters": {"profile-level-id": "42e01f"}}]}),
    );
    assert!(!can_consume(&h264, &mode0).unwrap());
    // Opus with another channel count: false.
    let mono: RtpCapabilities = parse(
        "caps",
        &json!({"codecs": [
        {"kind": "audio", "mimeType": "audio/opus", "preferredPayloadType": 100, "clockRate": 48000}]}),
    );
    assert!(!can_consume(&audio, &mono).unwrap());
    // Invalid capabilities: an error.
    let bad: RtpCapabilities = parse(
        "caps",
        &json!({"codecs": [
        {"kind": "audio", "mimeType": "opus", "preferredPayloadType": 100, "clockRate": 48000}]}),
    );
    assert_eq!(
        can_consume(&audio, &bad),
        Err(Error::Type("invalid codec.mimeType".into()))
    );
}

// ---------------------------------------------------------------------------------------------
// Chrome + mediasoup-client

#[test]
fn chrome_mediasoup_client_producers_validate_and_map_on_router_caps() {
    let chrome: Value = serde_json::from_str(CHROME).unwrap();
    let caps: RtpCapabilities = serde_json::from_str(ROUTER_CAPS).unwrap();
    let device: RtpCapabilities = parse("deviceRtpCapabilities", &chrome["deviceRtpCapabilities"]);
    let produced = chrome["produce"].as_array().unwrap();
    assert_eq!(produced.len(), 3);
    for input in produced {
        let kind = kind_of(&input["kind"]);
        let mut params: RtpParameters = parse("rtpParameters", &input["rtpParameters"]);
        validate_rtp_parameters(&mut params).expect("Chrome parameters are valid");
        let mapping =
            get_producer_rtp_parameters_mapping(&params, &caps).expect("Chrome parameters map");
        assert_eq!(mapping.encodings.len(), params.encodings.len());
        for m in &mapping.codecs {
            assert!(caps
                .codecs
                .iter()
                .any(|c| c.preferred_payload_type == Some(m.mapped_payload_type)));
        }
        let consumable = get_consumable_rtp_parameters(kind, &params, &caps, &mapping);
        assert!(consumable.header_extensions.iter().all(|e| caps
            .header_extensions
            .iter()
            .any(|c| c.kind == kind && c.uri == e.uri && c.preferred_id == e.id)));
        let mut device = device.clone();
        validate_rtp_capabilities(&mut device).unwrap();
        assert!(can_consume(&consumable, &device).unwrap());
    }
}

// ---------------------------------------------------------------------------------------------
// Scalability modes and layers

#[test]
fn scalability_modes_parse_like_mediasoup() {
    let cases = [
        (None, (1, 1, false)),
        (Some(""), (1, 1, false)),
        (Some("L1T3"), (1, 3, false)),
        (Some("L3T3_KEY"), (3, 3, true)),
        (Some("S2T3"), (2, 3, false)),
        (Some("L3T3h"), (3, 3, false)),
        (Some("L12T15_KEY_SHIFT"), (12, 15, true)),
        (Some("L0T3"), (1, 1, false)),
        (Some("l1t3"), (1, 1, false)),
        (Some("L123T3"), (1, 1, false)),
        (Some("foo"), (1, 1, false)),
    ];
    for (mode, (s, t, k)) in cases {
        assert_eq!(
            parse_scalability_mode(mode),
            ScalabilityMode {
                spatial_layers: s,
                temporal_layers: t,
                ksvc: k
            },
            "{mode:?}"
        );
    }
}

#[test]
fn preferred_layers_default_to_highest_and_clamp() {
    let params = |mode: &str| RtpParameters {
        encodings: vec![crate::rtp_parameters::RtpEncodingParameters {
            scalability_mode: Some(mode.into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let l = |s, t| {
        Some(ConsumerLayers {
            spatial_layer: s,
            temporal_layer: t,
        })
    };
    assert_eq!(
        consumer_preferred_layers(ConsumerType::Simulcast, &params("L3T3"), None),
        l(2, Some(2))
    );
    assert_eq!(
        consumer_preferred_layers(ConsumerType::Simulcast, &params("L3T3"), l(5, Some(5))),
        l(2, Some(2))
    );
    assert_eq!(
        consumer_preferred_layers(ConsumerType::Simulcast, &params("L3T3"), l(1, None)),
        l(1, Some(2))
    );
    assert_eq!(
        consumer_preferred_layers(ConsumerType::Svc, &params("L1T3"), l(0, Some(1))),
        l(0, Some(1))
    );
    assert_eq!(
        consumer_preferred_layers(ConsumerType::Simple, &params("L1T3"), l(0, Some(1))),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Bad inputs

enum Target {
    Params,
    Caps,
    Router,
}

#[test]
fn bad_inputs_give_mediasoup_error_kinds_and_messages() {
    use Target::*;
    let opus =
        json!({"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2});
    let vp8 = json!({"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000});
    let enc = json!([{"ssrc": 1111}]);
    let table: Vec<(&str, Target, Value, Error)> = vec![
        (
            "empty mime",
            Params,
            json!({"codecs": [{"mimeType": "", "payloadType": 1, "clockRate": 8000}]}),
            Error::Type("missing codec.mimeType".into()),
        ),
        (
            "mime without kind",
            Params,
            json!({"codecs": [{"mimeType": "opus", "payloadType": 1, "clockRate": 8000}]}),
            Error::Type("invalid codec.mimeType".into()),
        ),
        (
            "mime of unknown kind",
            Params,
            json!({"codecs": [{"mimeType": "text/plain", "payloadType": 1, "clockRate": 8000}]}),
            Error::Type("invalid codec.mimeType".into()),
        ),
        (
            "payload type > 127",
            Params,
            json!({"codecs": [{"mimeType": "audio/opus", "payloadType": 200, "clockRate": 48000}]}),
            Error::Type("invalid codec.payloadType (must be 0-127)".into()),
        ),
        (
            "zero clock rate",
            Params,
            json!({"codecs": [{"mimeType": "audio/opus", "payloadType": 100, "clockRate": 0}]}),
            Error::Type("invalid codec.clockRate (must be positive)".into()),
        ),
        (
            "object parameter",
            Params,
            json!({"codecs": [{"mimeType": "audio/opus", "payloadType": 100, "clockRate": 48000,
            "parameters": {"foo": {"a": 1}}}]}),
            Error::Type("invalid codec parameter [key:foo, value:{\"a\":1}]".into()),
        ),
        (
            "boolean parameter",
            Params,
            json!({"codecs": [{"mimeType": "audio/opus", "payloadType": 100, "clockRate": 48000,
            "parameters": {"stereo": true}}]}),
            Error::Type("invalid codec parameter [key:stereo, value:true]".into()),
        ),
        (
            "string apt",
            Params,
            json!({"codecs": [vp8, {"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000,
            "parameters": {"apt": "96"}}], "encodings": enc}),
            Error::Type("invalid codec.parameters.apt (must be a number)".into()),
        ),
        (
            "rtx without apt",
            Params,
            json!({"codecs": [vp8, {"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000}],
            "encodings": enc}),
            Error::Type("missing codec.parameters.apt in RTX codec".into()),
        ),
        (
            "rtx apt to nowhere",
            Params,
            json!({"codecs": [vp8, {"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000,
            "parameters": {"apt": 98}}], "encodings": enc}),
            Error::Type(
                "codec.parameters.apt in RTX codec points to a non existing codec [payloadType:97]"
                    .into(),
            ),
        ),
        (
            "rtx apt to rtx",
            Params,
            json!({"codecs": [vp8, {"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000,
            "parameters": {"apt": 97}}], "encodings": enc}),
            Error::Type(
                "codec.parameters.apt in RTX codec points to a non media codec [payloadType:97]"
                    .into(),
            ),
        ),
        (
            "empty feedback type",
            Params,
            json!({"codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000,
            "rtcpFeedback": [{"type": ""}]}]}),
            Error::Type("missing fb.type".into()),
        ),
        (
            "duplicated payload type",
            Params,
            json!({"codecs": [opus, opus], "encodings": enc}),
            Error::Type("duplicated codec.payloadType [payloadType:111]".into()),
        ),
        (
            "no codecs",
            Params,
            json!({"codecs": [], "encodings": enc}),
            Error::Type("missing params.codecs (empty)".into()),
        ),
        (
            "only rtx codecs",
            Params,
            json!({"codecs": [{"mimeType": "video/red", "payloadType": 96, "clockRate": 90000},
            {"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000, "parameters": {"apt": 96}}]}),
            Error::Type(
                "codec.parameters.apt in RTX codec points to a non media codec [payloadType:97]"
                    .into(),
            ),
        ),
        (
            "only feature codecs",
            Params,
            json!({"codecs": [{"mimeType": "video/ulpfec", "payloadType": 96, "clockRate": 90000}]}),
            Error::Type("no media codec in params.codecs".into()),
        ),
        (
            "empty mid",
            Params,
            json!({"mid": "", "codecs": [opus]}),
            Error::Type("invalid params.mid (empty string)".into()),
        ),
        (
            "extension id 0",
            Params,
            json!({"codecs": [opus], "headerExtensions": [{"uri": MID_URI, "id": 0}]}),
            Error::Type("invalid ext.id (must be 1-255)".into()),
        ),
        (
            "extension without uri",
            Params,
            json!({"codecs": [opus], "headerExtensions": [{"uri": "", "id": 1}]}),
            Error::Type("missing ext.uri".into()),
        ),
        (
            "extension parameter of bad type",
            Params,
            json!({"codecs": [opus],
            "headerExtensions": [{"uri": MID_URI, "id": 1, "parameters": {"x": [1]}}]}),
            Error::Type("invalid header extension parameter [key:x]".into()),
        ),
        (
            "unknown codecPayloadType",
            Params,
            json!({"codecs": [opus], "encodings": [{"ssrc": 1, "codecPayloadType": 100}]}),
            Error::Type("unknown encoding.codecPayloadType [payloadType:100]".into()),
        ),
        (
            "codecPayloadType of rtx",
            Params,
            json!({"codecs": [vp8, {"mimeType": "video/rtx", "payloadType": 97,
            "clockRate": 90000, "parameters": {"apt": 96}}], "encodings": [{"ssrc": 1, "codecPayloadType": 97}]}),
            Error::Type(
                "invalid encoding.codecPayloadType, not a media codec [payloadType:97]".into(),
            ),
        ),
        (
            "simulcast of SVC encodings",
            Params,
            json!({"codecs": [vp8],
            "encodings": [{"rid": "a", "scalabilityMode": "L3T3"}, {"rid": "b", "scalabilityMode": "L3T3"}]}),
            Error::Type(
                "cannot use both simulcast and encodings with multiple SVC spatial layers".into(),
            ),
        ),
        (
            "caps mime",
            Caps,
            json!({"codecs": [{"kind": "audio", "mimeType": "audio", "clockRate": 48000}]}),
            Error::Type("invalid codec.mimeType".into()),
        ),
        (
            "caps preferred payload type > 127",
            Caps,
            json!({"codecs": [{"kind": "audio", "mimeType": "audio/opus",
            "clockRate": 48000, "preferredPayloadType": 128}]}),
            Error::Type("invalid codec.preferredPayloadType (must be 0-127)".into()),
        ),
        (
            "caps extension id 0",
            Caps,
            json!({"headerExtensions": [{"kind": "audio", "uri": MID_URI, "preferredId": 0}]}),
            Error::Type("invalid ext.preferredId (must be 1-255)".into()),
        ),
        (
            "caps extension without uri",
            Caps,
            json!({"headerExtensions": [{"kind": "audio", "uri": "", "preferredId": 1}]}),
            Error::Type("missing ext.uri".into()),
        ),
        (
            "caps apt not a number",
            Caps,
            json!({"codecs": [{"kind": "video", "mimeType": "video/rtx", "clockRate": 90000,
            "parameters": {"apt": "x"}}]}),
            Error::Type("invalid codec.parameters.apt (must be a number)".into()),
        ),
        (
            "unsupported media codec",
            Router,
            json!([{"kind": "audio", "mimeType": "audio/chicken", "clockRate": 8000, "channels": 4}]),
            Error::Unsupported("media codec not supported [mimeType:audio/chicken]".into()),
        ),
        (
            "mono opus",
            Router,
            json!([{"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 1}]),
            Error::Unsupported("media codec not supported [mimeType:audio/opus]".into()),
        ),
        (
            "VP8 at another clock rate",
            Router,
            json!([{"kind": "video", "mimeType": "video/VP8", "clockRate": 48000}]),
            Error::Unsupported("media codec not supported [mimeType:video/VP8]".into()),
        ),
        (
            "duplicated preferred payload type",
            Router,
            json!([
            {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2, "preferredPayloadType": 101},
            {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000, "preferredPayloadType": 101}]),
            Error::Type("duplicated codec.preferredPayloadType".into()),
        ),
        (
            "PCMU twice",
            Router,
            json!([{"kind": "audio", "mimeType": "audio/PCMU", "clockRate": 8000},
            {"kind": "audio", "mimeType": "audio/PCMU", "clockRate": 8000}]),
            Error::Type("duplicated codec.preferredPayloadType".into()),
        ),
        (
            "router codec mime",
            Router,
            json!([{"kind": "audio", "mimeType": "opus", "clockRate": 48000}]),
            Error::Type("invalid codec.mimeType".into()),
        ),
    ];

    for (name, target, input, expected) in table {
        let got = match target {
            Params => {
                let mut p: RtpParameters = parse(name, &input);
                validate_rtp_parameters(&mut p)
            }
            Caps => {
                let mut c: RtpCapabilities = parse(name, &input);
                validate_rtp_capabilities(&mut c)
            }
            Router => {
                let codecs: Vec<RtpCodecCapability> = parse(name, &input);
                generate_router_rtp_capabilities(&codecs).map(|_| ())
            }
        };
        assert_eq!(got, Err(expected), "{name}");
    }
}

#[test]
fn too_many_codecs_cannot_allocate_payload_types() {
    let codecs: Vec<RtpCodecCapability> = parse(
        "c",
        &Value::Array(vec![
            json!({"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2});
            40
        ]),
    );
    match generate_router_rtp_capabilities(&codecs) {
        Err(Error::Type(m)) => assert!(m.starts_with("cannot allocate"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn missing_required_fields_are_type_errors_naming_the_field() {
    let err = from_json::<RtpParameters>(
        "rtpParameters",
        json!({"codecs": [{"mimeType": "audio/opus", "payloadType": 100}]}),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Type(m) if m.contains("codecs[0]") && m.contains("clockRate")),
        "{err}"
    );
    let err = from_json::<RtpCapabilities>(
        "rtpCapabilities",
        json!({"codecs": [{"mimeType": "audio/opus", "clockRate": 1}]}),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Type(m) if m.contains("kind")),
        "{err}"
    );
}

#[test]
fn unknown_fields_are_ignored() {
    let mut p: RtpParameters = parse(
        "p",
        &json!({
        "codecs": [{"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "whatever": 1}],
        "encodings": [{"ssrc": 5, "active": true, "foo": "bar"}], "extra": {}}),
    );
    validate_rtp_parameters(&mut p).unwrap();
}

#[test]
fn validation_normalises_like_mediasoup() {
    let mut p: RtpParameters = parse(
        "p",
        &json!({
        "codecs": [{"mimeType": "audio/PCMU", "payloadType": 0, "clockRate": 8000},
                   {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "channels": 2}],
        "encodings": [{"ssrc": 5}], "rtcp": {"reducedSize": false}}),
    );
    validate_rtp_parameters(&mut p).unwrap();
    assert_eq!(p.codecs[0].channels, Some(1));
    assert_eq!(p.codecs[1].channels, None);
    assert_eq!(p.encodings[0].dtx, Some(false));
    assert!(p.rtcp.reduced_size);

    let mut c: RtpCapabilities = parse(
        "c",
        &json!({"codecs": [
        {"kind": "audio", "mimeType": "video/VP8", "clockRate": 90000, "channels": 2}]}),
    );
    validate_rtp_capabilities(&mut c).unwrap();
    assert_eq!(c.codecs[0].kind, MediaKind::Video);
    assert_eq!(c.codecs[0].channels, None);
}

#[test]
fn mapping_errors_are_unsupported_or_type() {
    let caps = router_caps_from(&json!([
        {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
        {"kind": "video", "mimeType": "video/H264", "clockRate": 90000,
         "parameters": {"packetization-mode": 1, "profile-level-id": "640032"}}]));
    let p: RtpParameters = parse(
        "p",
        &json!({"codecs": [{"mimeType": "video/VP8", "payloadType": 120, "clockRate": 90000}],
        "encodings": [{"ssrc": 1}]}),
    );
    assert_eq!(
        get_producer_rtp_parameters_mapping(&p, &caps),
        Err(Error::Unsupported(
            "unsupported codec [mimeType:video/VP8, payloadType:120]".into()
        ))
    );
    // Baseline H264 cannot map to the router's High profile codec.
    let p: RtpParameters = parse(
        "p",
        &json!({"codecs": [{"mimeType": "video/H264", "payloadType": 102, "clockRate": 90000,
        "parameters": {"packetization-mode": 1, "profile-level-id": "42e01f"}}], "encodings": [{"ssrc": 1}]}),
    );
    assert!(matches!(
        get_producer_rtp_parameters_mapping(&p, &caps),
        Err(Error::Unsupported(_))
    ));
    // RTX pointing to nothing (unvalidated input).
    let p: RtpParameters = parse(
        "p",
        &json!({"codecs": [{"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2},
        {"mimeType": "audio/rtx", "payloadType": 112, "clockRate": 48000, "parameters": {"apt": 99}}]}),
    );
    assert_eq!(
        get_producer_rtp_parameters_mapping(&p, &caps),
        Err(Error::Type(
            "missing media codec found for RTX PT 112".into()
        ))
    );
    // RTX for a router codec that has none (audio).
    let p: RtpParameters = parse(
        "p",
        &json!({"codecs": [{"mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2},
        {"mimeType": "audio/rtx", "payloadType": 112, "clockRate": 48000, "parameters": {"apt": 111}}]}),
    );
    assert_eq!(
        get_producer_rtp_parameters_mapping(&p, &caps),
        Err(Error::Unsupported(
            "no RTX codec for capability codec PT 100".into()
        ))
    );
}

#[test]
fn consumer_without_common_codec_is_unsupported() {
    let v = vectors();
    let caps = router_caps_from(&v["mediaCodecs"]);
    let (_, _, consumable) = produce(&v["cases"][2]["producerInput"], &mut None, &caps);
    let vp8_only: RtpCapabilities = parse(
        "c",
        &json!({"codecs": [
        {"kind": "video", "mimeType": "video/VP8", "preferredPayloadType": 101, "clockRate": 90000}]}),
    );
    assert_eq!(
        get_consumer_rtp_parameters(&consumable, &vp8_only, false, true),
        Err(Error::Unsupported("no compatible media codecs".into()))
    );
    let bad: RtpCapabilities = parse(
        "c",
        &json!({"codecs": [
        {"kind": "video", "mimeType": "VP8", "preferredPayloadType": 101, "clockRate": 90000}]}),
    );
    assert_eq!(
        get_consumer_rtp_parameters(&consumable, &bad, false, true),
        Err(Error::Type("invalid codec.mimeType".into()))
    );
}

#[test]
fn forwarding_helpers_find_codecs() {
    let p: RtpParameters = parse(
        "p",
        &json!({"codecs": [
        {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000},
        {"mimeType": "video/RTX", "payloadType": 97, "clockRate": 90000, "parameters": {"apt": 96}}],
        "encodings": [{"ssrc": 1}]}),
    );
    assert_eq!(
        find_codec_for_payload_type(&p, 97).map(|c| c.payload_type),
        Some(97)
    );
    assert!(find_codec_for_payload_type(&p, 98).is_none());
    assert_eq!(find_rtx_codec_for(&p, 96).map(|c| c.payload_type), Some(97));
    assert_eq!(
        codec_for_encoding(&p, &p.encodings[0]).map(|c| c.payload_type),
        Some(96)
    );
    assert!(
        is_rtx_mime("video/RTX")
            && is_rtx_mime("audio/rtx")
            && !is_rtx_mime("video/VP8")
            && !is_rtx_mime("rtx")
    );
    assert!(is_feature_mime("video/ulpfec") && !is_feature_mime("audio/opus"));
    assert_eq!(kind_of_mime("Video/VP8"), Some(MediaKind::Video));
    assert_eq!(kind_of_mime("video/"), None);
    for _ in 0..1000 {
        assert!((100_000_000..=999_999_999).contains(&generate_ssrc()));
    }
}

#[test]
fn odd_inputs_never_panic() {
    let weird = [
        "",
        "L",
        "LT",
        "L9",
        "L9T",
        "L99T99_KEY",
        "S1T0",
        "\u{e9}\u{e9}",
        "L1T3\u{e9}",
    ];
    for w in weird {
        let _ = parse_scalability_mode(Some(w));
    }
    let caps = RtpCapabilities::default();
    let empty = RtpParameters::default();
    assert!(get_producer_rtp_parameters_mapping(&empty, &caps)
        .unwrap()
        .codecs
        .is_empty());
    let consumable =
        get_consumable_rtp_parameters(MediaKind::Audio, &empty, &caps, &RtpMapping_::default());
    assert!(!can_consume(&consumable, &caps).unwrap());
    assert!(get_consumer_rtp_parameters(&consumable, &caps, false, true).is_err());
    let _ = get_pipe_consumer_rtp_parameters(&consumable, true);
    assert_eq!(producer_type(&empty), ProducerType::Simple);
    assert_eq!(
        consumer_preferred_layers(ConsumerType::Svc, &empty, None),
        Some(ConsumerLayers {
            spatial_layer: 0,
            temporal_layer: Some(0)
        })
    );
    // H264 with odd parameter types.
    let odd: RtpCapabilities = parse(
        "c",
        &json!({"codecs": [{"kind": "video", "mimeType": "video/H264", "clockRate": 90000,
        "parameters": {"profile-level-id": 42, "packetization-mode": "1", "level-asymmetry-allowed": "1"}}]}),
    );
    let _ = generate_router_rtp_capabilities(&odd.codecs);
}

#[test]
fn two_producer_codecs_mapping_to_one_router_codec_give_consumers_it_once() {
    // Regression from the `ortc_json` fuzz target: VP8 twice (different case, different PTs).
    let caps = generate_router_rtp_capabilities(
        &serde_json::from_value::<Vec<crate::rtp_parameters::RtpCodecCapability>>(serde_json::json!([
            { "kind": "video", "mimeType": "video/VP8", "clockRate": 90000 }
        ]))
        .unwrap(),
    )
    .unwrap();
    let mut params: RtpParameters = serde_json::from_value(serde_json::json!({
        "codecs": [
            { "mimeType": "video/VP8", "payloadType": 9, "clockRate": 90000 },
            { "mimeType": "video/vp8", "payloadType": 7, "clockRate": 90000 }
        ],
        "encodings": [{ "ssrc": 1 }]
    }))
    .unwrap();
    validate_rtp_parameters(&mut params).unwrap();
    let mapping = get_producer_rtp_parameters_mapping(&params, &caps).unwrap();
    let consumable = get_consumable_rtp_parameters(MediaKind::Video, &params, &caps, &mapping);
    let media: Vec<u8> = consumable.codecs.iter().filter(|c| !is_rtx_mime(&c.mime_type)).map(|c| c.payload_type).collect();
    assert_eq!(media.len(), 1, "one VP8 for consumers: {:?}", consumable.codecs);
    let consumer = get_consumer_rtp_parameters(&consumable, &caps, false, true).unwrap();
    let mut pts: Vec<u8> = consumer.codecs.iter().map(|c| c.payload_type).collect();
    pts.sort_unstable();
    pts.dedup();
    assert_eq!(pts.len(), consumer.codecs.len(), "no payload type twice: {:?}", consumer.codecs);
}
