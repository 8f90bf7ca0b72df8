//! Consumer side: whether a remote endpoint can consume a producer, the consumer's RTP
//! parameters, its type and its preferred layers.

use super::matching::match_codecs;
use super::validate::validate_rtp_codec_capability;
use super::{
    apt_of, codec_for_encoding, generate_ssrc, is_rtx_mime, kind_of_mime, parse_scalability_mode,
    validate_rtp_capabilities, ABS_SEND_TIME_URI, DEPENDENCY_DESCRIPTOR_URI, MID_URI,
    TRANSPORT_WIDE_CC_URI,
};
use crate::error::{Error, Result};
use crate::rtp_parameters::{
    CodecParameters, ConsumerLayers, ConsumerType, MediaKind, ProducerType, RtcpFeedback,
    RtpCapabilities, RtpCodecParameters, RtpEncodingParameters, RtpEncodingRtx,
    RtpHeaderExtensionParameters, RtpParameters,
};
use crate::supported_rtp_capabilities::supported_rtp_capabilities;

/// Whether an endpoint with capabilities `caps` can consume a producer whose consumable
/// parameters are `consumable` (mediasoup's `canConsume()`): true when the first consumable codec
/// the endpoint supports (strict match) is a media codec.
///
/// `caps` is validated on a copy; only invalid capabilities give an error ([`Error::Type`]).
pub fn can_consume(consumable: &RtpParameters, caps: &RtpCapabilities) -> Result<bool> {
    let mut caps = caps.clone();
    validate_rtp_capabilities(&mut caps)?;
    Ok(can_consume_validated(consumable, &caps))
}

/// [`can_consume`] with capabilities that [`validate_rtp_capabilities`] already normalised.
pub(crate) fn can_consume_validated(consumable: &RtpParameters, caps: &RtpCapabilities) -> bool {
    let first = consumable.codecs.iter().find(|codec| {
        caps.codecs
            .iter()
            .any(|cap| match_codecs(cap, *codec, true).is_some())
    });
    first.is_some_and(|codec| !is_rtx_mime(&codec.mime_type))
}

/// A consumer's RTP parameters (mediasoup's `getConsumerRtpParameters()`), from the producer's
/// consumable parameters and the remote endpoint's capabilities:
///
/// * codecs: the consumable codecs the remote supports (strict match), keeping the router's
///   payload types and the producer's codec parameters, with the RTCP feedback of the remote's
///   matching codec; RTX codecs and plain `nack` feedback only when `enable_rtx`; RTX codecs
///   whose media codec did not survive are dropped. No media codec left is
///   [`Error::Unsupported`] `no compatible media codecs`;
/// * header extensions: the consumable ones the remote lists with the same URI and id;
/// * RTCP feedback reduced to one bandwidth estimation: `transport-cc` when the transport-cc
///   extension remains (`goog-remb` removed), else `goog-remb` when abs-send-time remains
///   (`transport-cc` removed), else neither;
/// * encodings (`pipe == false`): one, with a random SSRC, `rtx.ssrc = ssrc + 1` when an RTX codec
///   remains, the producer's `scalabilityMode` (rewritten `L{encodings}T{temporal layers}` for
///   simulcast) and the highest `maxBitrate` of the producer's encodings;
/// * encodings (`pipe == true`): all consumable encodings, with consecutive SSRCs from a random
///   base (RTX SSRCs from another random base when an RTX codec remains);
/// * `rtcp` and `msid` from the consumable parameters. No `mid`: the transport assigns it.
///
/// `remote_caps` is validated on a copy ([`Error::Type`] when invalid).
pub fn get_consumer_rtp_parameters(
    consumable: &RtpParameters,
    remote_caps: &RtpCapabilities,
    pipe: bool,
    enable_rtx: bool,
) -> Result<RtpParameters> {
    let mut caps = remote_caps.clone();
    for cap in &mut caps.codecs {
        validate_rtp_codec_capability(cap)?;
    }
    consumer_rtp_parameters_validated(consumable, &caps, pipe, enable_rtx)
}

/// [`get_consumer_rtp_parameters`] with capabilities that [`validate_rtp_capabilities`] already
/// normalised (what `consume()` has: it validates once, not once per step).
pub(crate) fn consumer_rtp_parameters_validated(
    consumable: &RtpParameters,
    remote_caps: &RtpCapabilities,
    pipe: bool,
    enable_rtx: bool,
) -> Result<RtpParameters> {
    let remote_codecs = &remote_caps.codecs;
    let mut codecs: Vec<RtpCodecParameters> = Vec::new();
    for codec in &consumable.codecs {
        if !enable_rtx && is_rtx_mime(&codec.mime_type) {
            continue;
        }
        let Some(cap) = remote_codecs
            .iter()
            .find(|cap| match_codecs(*cap, codec, true).is_some())
        else {
            continue;
        };
        let mut codec = codec.clone();
        codec.rtcp_feedback = cap
            .rtcp_feedback
            .iter()
            .filter(|fb| enable_rtx || fb.typ != "nack" || !fb.parameter.is_empty())
            .cloned()
            .collect();
        codecs.push(codec);
    }

    // Drop RTX codecs whose media codec is gone.
    let media_pts: Vec<u64> = codecs
        .iter()
        .filter(|c| !is_rtx_mime(&c.mime_type))
        .map(|c| u64::from(c.payload_type))
        .collect();
    codecs.retain(|c| {
        !is_rtx_mime(&c.mime_type) || apt_of(c).is_some_and(|apt| media_pts.contains(&apt))
    });
    let rtx_supported = codecs.iter().any(|c| is_rtx_mime(&c.mime_type));

    if codecs.first().is_none_or(|c| is_rtx_mime(&c.mime_type)) {
        return Err(Error::Unsupported("no compatible media codecs".into()));
    }

    let header_extensions: Vec<RtpHeaderExtensionParameters> = consumable
        .header_extensions
        .iter()
        .filter(|ext| {
            remote_caps
                .header_extensions
                .iter()
                .any(|cap| cap.preferred_id == ext.id && cap.uri == ext.uri)
        })
        .cloned()
        .collect();

    let has_ext = |uri: &str| header_extensions.iter().any(|e| e.uri == uri);
    let drop_types: &[&str] = if has_ext(TRANSPORT_WIDE_CC_URI) {
        &["goog-remb"]
    } else if has_ext(ABS_SEND_TIME_URI) {
        &["transport-cc"]
    } else {
        &["transport-cc", "goog-remb"]
    };
    for codec in &mut codecs {
        codec
            .rtcp_feedback
            .retain(|fb| !drop_types.contains(&fb.typ.as_str()));
    }

    let encodings = if pipe {
        let base = generate_ssrc();
        let rtx_base = generate_ssrc();
        consumable
            .encodings
            .iter()
            .enumerate()
            .map(|(i, encoding)| {
                let mut encoding = encoding.clone();
                encoding.ssrc = Some(base.wrapping_add(i as u32));
                encoding.rtx = rtx_supported.then(|| RtpEncodingRtx {
                    ssrc: rtx_base.wrapping_add(i as u32),
                });
                encoding
            })
            .collect()
    } else {
        let ssrc = generate_ssrc();
        let mut scalability_mode = consumable
            .encodings
            .iter()
            .find_map(|e| e.scalability_mode.clone().filter(|m| !m.is_empty()));
        if consumable.encodings.len() > 1 {
            let temporal = parse_scalability_mode(scalability_mode.as_deref()).temporal_layers;
            scalability_mode = Some(format!("L{}T{}", consumable.encodings.len(), temporal));
        }
        let max_bitrate = consumable
            .encodings
            .iter()
            .filter_map(|e| e.max_bitrate)
            .max()
            .filter(|b| *b > 0);
        vec![RtpEncodingParameters {
            ssrc: Some(ssrc),
            rtx: rtx_supported.then(|| RtpEncodingRtx {
                ssrc: ssrc.wrapping_add(1),
            }),
            scalability_mode,
            max_bitrate,
            ..Default::default()
        }]
    };

    Ok(RtpParameters {
        mid: None,
        codecs,
        header_extensions,
        encodings,
        rtcp: consumable.rtcp.clone(),
        msid: consumable.msid.clone(),
    })
}

/// The RTP parameters of a consumer on a pipe transport (mediasoup's
/// `getPipeConsumerRtpParameters()`): every consumable codec (RTX ones only when `enable_rtx`)
/// with RTCP feedback reduced to `nack pli`, `ccm fir` and (when `enable_rtx`) `nack`; every
/// consumable header extension except MID, abs-send-time and transport-cc, plus the dependency
/// descriptor (received-only in the router, but forwarded between routers), sorted by id; all
/// consumable encodings with consecutive SSRCs from a random base (RTX SSRCs from another random
/// base when `enable_rtx`).
pub fn get_pipe_consumer_rtp_parameters(
    consumable: &RtpParameters,
    enable_rtx: bool,
) -> RtpParameters {
    let keep_fb = |fb: &RtcpFeedback| {
        (fb.typ == "nack" && fb.parameter == "pli")
            || (fb.typ == "ccm" && fb.parameter == "fir")
            || (enable_rtx && fb.typ == "nack" && fb.parameter.is_empty())
    };
    let codecs = consumable
        .codecs
        .iter()
        .filter(|c| enable_rtx || !is_rtx_mime(&c.mime_type))
        .map(|c| {
            let mut c = c.clone();
            c.rtcp_feedback.retain(keep_fb);
            c
        })
        .collect();

    let mut header_extensions: Vec<RtpHeaderExtensionParameters> = consumable
        .header_extensions
        .iter()
        .filter(|e| {
            e.uri != MID_URI && e.uri != ABS_SEND_TIME_URI && e.uri != TRANSPORT_WIDE_CC_URI
        })
        .cloned()
        .collect();
    if let Some(dd) = supported_rtp_capabilities()
        .header_extensions
        .into_iter()
        .find(|e| e.uri == DEPENDENCY_DESCRIPTOR_URI)
    {
        if !header_extensions
            .iter()
            .any(|e| e.uri == DEPENDENCY_DESCRIPTOR_URI)
        {
            header_extensions.push(RtpHeaderExtensionParameters {
                uri: dd.uri,
                id: dd.preferred_id,
                encrypt: dd.preferred_encrypt,
                parameters: CodecParameters::new(),
            });
            header_extensions.sort_by_key(|e| e.id);
        }
    }

    let base = generate_ssrc();
    let rtx_base = generate_ssrc();
    let encodings = consumable
        .encodings
        .iter()
        .enumerate()
        .map(|(i, encoding)| {
            let mut encoding = encoding.clone();
            encoding.ssrc = Some(base.wrapping_add(i as u32));
            encoding.rtx = enable_rtx.then(|| RtpEncodingRtx {
                ssrc: rtx_base.wrapping_add(i as u32),
            });
            encoding
        })
        .collect();

    RtpParameters {
        mid: None,
        codecs,
        header_extensions,
        encodings,
        rtcp: consumable.rtcp.clone(),
        msid: consumable.msid.clone(),
    }
}

/// A producer's type (mediasoup 3.27): `simulcast` with several encodings; with one encoding,
/// `svc` when its `scalabilityMode` has more than one spatial or temporal layer and the codec is
/// video (so a single `L1T3` VP8 stream is `svc`), else `simple`.
pub fn producer_type(params: &RtpParameters) -> ProducerType {
    match params.encodings.as_slice() {
        [] => ProducerType::Simple,
        [encoding] => {
            let mode = parse_scalability_mode(encoding.scalability_mode.as_deref());
            let is_video = codec_for_encoding(params, encoding)
                .or_else(|| params.codecs.first())
                .and_then(|c| kind_of_mime(&c.mime_type))
                == Some(MediaKind::Video);
            if (mode.spatial_layers > 1 || mode.temporal_layers > 1) && is_video {
                ProducerType::Svc
            } else {
                ProducerType::Simple
            }
        }
        _ => ProducerType::Simulcast,
    }
}

/// A consumer's type: `pipe` for pipe consumers, else the producer's type.
pub fn consumer_type(producer_type: ProducerType, pipe: bool) -> ConsumerType {
    if pipe {
        return ConsumerType::Pipe;
    }
    match producer_type {
        ProducerType::Simple => ConsumerType::Simple,
        ProducerType::Simulcast => ConsumerType::Simulcast,
        ProducerType::Svc => ConsumerType::Svc,
    }
}

/// A consumer's preferred layers, as mediasoup's worker sets them: `None` for simple and pipe
/// consumers; otherwise the highest layers of the consumer's (single) encoding
/// (`scalabilityMode`, e.g. `L3T3` → spatial 2, temporal 2) unless `requested`, which is clamped
/// to them (a requested layer without temporal layer gets the highest one).
pub fn consumer_preferred_layers(
    consumer_type: ConsumerType,
    consumer_params: &RtpParameters,
    requested: Option<ConsumerLayers>,
) -> Option<ConsumerLayers> {
    if matches!(consumer_type, ConsumerType::Simple | ConsumerType::Pipe) {
        return None;
    }
    let mode = parse_scalability_mode(
        consumer_params
            .encodings
            .first()
            .and_then(|e| e.scalability_mode.as_deref()),
    );
    let max_spatial = mode.spatial_layers.saturating_sub(1);
    let max_temporal = mode.temporal_layers.saturating_sub(1);
    Some(match requested {
        None => ConsumerLayers {
            spatial_layer: max_spatial,
            temporal_layer: Some(max_temporal),
        },
        Some(req) => ConsumerLayers {
            spatial_layer: req.spatial_layer.min(max_spatial),
            temporal_layer: Some(
                req.temporal_layer
                    .map_or(max_temporal, |t| t.min(max_temporal)),
            ),
        },
    })
}
