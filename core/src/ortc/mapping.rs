//! Producer side: mapping a producer's RTP parameters into the router's space, and the
//! "consumable" parameters consumers are derived from.

use super::matching::{match_codecs, Matched};
use super::{apt_of, generate_ssrc, is_rtx_mime};
use crate::error::{Error, Result};
use crate::rtp_parameters::{
    CodecParameters, MediaKind, RtcpParameters, RtpCapabilities, RtpCodecCapability,
    RtpCodecParameters, RtpHeaderExtensionDirection, RtpHeaderExtensionParameters, RtpMapping,
    RtpMappingCodec, RtpMappingEncoding, RtpParameters,
};

/// Which router codec each producer codec maps to, in mediasoup's order (media codecs first, then
/// RTX codecs), with how each media codec's parameters must be rewritten (H264 answer level).
fn map_codecs<'c>(
    params: &RtpParameters,
    caps: &'c RtpCapabilities,
) -> Result<Vec<(usize, &'c RtpCodecCapability, Matched)>> {
    let mut mapped: Vec<(usize, &RtpCodecCapability, Matched)> = Vec::new();

    for (idx, codec) in params.codecs.iter().enumerate() {
        if is_rtx_mime(&codec.mime_type) {
            continue;
        }
        let found = caps
            .codecs
            .iter()
            .find_map(|cap| match_codecs(codec, cap, true).map(|m| (cap, m)));
        let Some((cap, matched)) = found else {
            return Err(Error::Unsupported(format!(
                "unsupported codec [mimeType:{}, payloadType:{}]",
                codec.mime_type, codec.payload_type
            )));
        };
        mapped.push((idx, cap, matched));
    }

    for (idx, codec) in params.codecs.iter().enumerate() {
        if !is_rtx_mime(&codec.mime_type) {
            continue;
        }
        let apt = apt_of(codec);
        let media = mapped
            .iter()
            .find(|(i, _, _)| apt == Some(u64::from(params.codecs[*i].payload_type)))
            .map(|(_, cap, _)| *cap);
        let Some(cap_media) = media else {
            return Err(Error::Type(format!(
                "missing media codec found for RTX PT {}",
                codec.payload_type
            )));
        };
        let cap_pt = cap_media.preferred_payload_type.map(u64::from);
        let cap_rtx = caps.codecs.iter().find(|c| {
            is_rtx_mime(&c.mime_type)
                && c.parameters
                    .get("apt")
                    .and_then(super::matching::value_as_u64)
                    == cap_pt
        });
        let Some(cap_rtx) = cap_rtx else {
            return Err(Error::Unsupported(format!(
                "no RTX codec for capability codec PT {}",
                cap_media.preferred_payload_type.unwrap_or_default()
            )));
        };
        mapped.push((idx, cap_rtx, Matched::default()));
    }
    Ok(mapped)
}

/// Maps a producer's payload types and encodings to the router's, as mediasoup's
/// `getProducerRtpParametersMapping()`:
///
/// * every media codec must match a router codec strictly (H264 packetization mode and profile,
///   VP9 profile), else [`Error::Unsupported`] `unsupported codec [mimeType:…, payloadType:…]`;
/// * every RTX codec must point (`apt`) to one of the producer's media codecs, else
///   [`Error::Type`], and the router must have an RTX codec for it, else [`Error::Unsupported`];
/// * each encoding gets a mapped SSRC: a random base ([`generate_ssrc`]) then +1 per encoding, so
///   the mapped SSRCs of one producer are distinct.
///
/// mediasoup also rewrites the producer's H264 `profile-level-id` to the negotiated answer; this
/// function leaves `params` untouched (see [`get_producer_rtp_parameters_mapping_mut`]), and
/// [`get_consumable_rtp_parameters`] applies that rewrite to the consumable codecs either way.
pub fn get_producer_rtp_parameters_mapping(
    params: &RtpParameters,
    caps: &RtpCapabilities,
) -> Result<RtpMapping> {
    let mapped = map_codecs(params, caps)?;
    let codecs = mapped
        .iter()
        .map(|(idx, cap, _)| RtpMappingCodec {
            payload_type: params.codecs[*idx].payload_type,
            mapped_payload_type: cap.preferred_payload_type.unwrap_or_default(),
        })
        .collect();

    let base = generate_ssrc();
    let encodings = params
        .encodings
        .iter()
        .enumerate()
        .map(|(i, encoding)| RtpMappingEncoding {
            ssrc: encoding.ssrc.filter(|s| *s != 0),
            rid: encoding.rid.clone().filter(|r| !r.is_empty()),
            scalability_mode: encoding.scalability_mode.clone().filter(|m| !m.is_empty()),
            mapped_ssrc: base.wrapping_add(i as u32),
        })
        .collect();

    Ok(RtpMapping { codecs, encodings })
}

/// Like [`get_producer_rtp_parameters_mapping`], and also rewrites the producer's H264
/// `profile-level-id` parameters to the answer negotiated with the router codec, exactly as
/// mediasoup does to the producer's `rtpParameters` (visible in `producer.rtpParameters`).
pub fn get_producer_rtp_parameters_mapping_mut(
    params: &mut RtpParameters,
    caps: &RtpCapabilities,
) -> Result<RtpMapping> {
    let mapping = get_producer_rtp_parameters_mapping(params, caps)?;
    apply_h264_answers(params, caps, &mapping);
    Ok(mapping)
}

/// Rewrites the parameters of each producer media codec as its strict match with the router
/// codec it maps to dictates (idempotent).
fn apply_h264_answers(params: &mut RtpParameters, caps: &RtpCapabilities, mapping: &RtpMapping) {
    for codec in &mut params.codecs {
        if is_rtx_mime(&codec.mime_type) {
            continue;
        }
        if let Some(cap) = mapped_cap_codec(caps, mapping, codec.payload_type) {
            if let Some(matched) = match_codecs(codec, cap, true) {
                matched.apply(&mut codec.parameters);
            }
        }
    }
}

fn mapped_cap_codec<'c>(
    caps: &'c RtpCapabilities,
    mapping: &RtpMapping,
    pt: u8,
) -> Option<&'c RtpCodecCapability> {
    let mapped_pt = mapping
        .codecs
        .iter()
        .find(|m| m.payload_type == pt)?
        .mapped_payload_type;
    caps.codecs
        .iter()
        .find(|c| c.preferred_payload_type == Some(mapped_pt))
}

/// The RTP parameters a producer has inside the router, from which every consumer's are derived
/// (mediasoup's `getConsumableRtpParameters()`):
///
/// * codecs: each producer media codec as the router codec it maps to (router payload type, mime
///   type, clock rate, channels and RTCP feedback, the producer's codec parameters), followed by
///   the router's RTX codec for it when there is one;
/// * header extensions: the router's of this `kind` whose direction is `sendrecv` or `sendonly`,
///   with their preferred ids;
/// * encodings: the producer's, with `ssrc` replaced by the mapped SSRC and `rid`, `rtx` and
///   `codecPayloadType` removed;
/// * `rtcp`: the producer's CNAME, reduced size; `msid` carried.
///
/// Producer codecs without a mapping (impossible after a successful mapping) are skipped.
pub fn get_consumable_rtp_parameters(
    kind: MediaKind,
    params: &RtpParameters,
    caps: &RtpCapabilities,
    mapping: &RtpMapping,
) -> RtpParameters {
    let mut consumable = RtpParameters {
        rtcp: RtcpParameters {
            cname: params.rtcp.cname.clone(),
            reduced_size: true,
            mux: None,
        },
        msid: params.msid.clone(),
        ..Default::default()
    };

    for codec in params.codecs.iter().filter(|c| !is_rtx_mime(&c.mime_type)) {
        let Some(cap) = mapped_cap_codec(caps, mapping, codec.payload_type) else {
            continue;
        };
        // Keep the producer's codec parameters (with the negotiated H264 level).
        let mut parameters: CodecParameters = codec.parameters.clone();
        if let Some(matched) = match_codecs(codec, cap, true) {
            matched.apply(&mut parameters);
        }
        let payload_type = cap.preferred_payload_type.unwrap_or_default();
        // Two producer codecs can map to the same router codec (e.g. `video/VP8` twice with
        // different payload types): consumers get it once, or their SDP would repeat a payload
        // type. (Found by the `ortc_json` fuzz target.)
        if consumable.codecs.iter().any(|c| c.payload_type == payload_type) {
            continue;
        }
        consumable.codecs.push(RtpCodecParameters {
            mime_type: cap.mime_type.clone(),
            payload_type,
            clock_rate: cap.clock_rate,
            channels: cap.channels,
            parameters,
            rtcp_feedback: cap.rtcp_feedback.clone(),
        });

        let cap_rtx = caps.codecs.iter().find(|c| {
            is_rtx_mime(&c.mime_type)
                && c.parameters
                    .get("apt")
                    .and_then(super::matching::value_as_u64)
                    == Some(u64::from(payload_type))
        });
        if let Some(rtx) = cap_rtx {
            consumable.codecs.push(RtpCodecParameters {
                mime_type: rtx.mime_type.clone(),
                payload_type: rtx.preferred_payload_type.unwrap_or_default(),
                clock_rate: rtx.clock_rate,
                channels: None,
                parameters: rtx.parameters.clone(),
                rtcp_feedback: rtx.rtcp_feedback.clone(),
            });
        }
    }

    consumable.header_extensions = caps
        .header_extensions
        .iter()
        .filter(|ext| {
            ext.kind == kind
                && matches!(
                    ext.direction,
                    RtpHeaderExtensionDirection::Sendrecv | RtpHeaderExtensionDirection::Sendonly
                )
        })
        .map(|ext| RtpHeaderExtensionParameters {
            uri: ext.uri.clone(),
            id: ext.preferred_id,
            encrypt: ext.preferred_encrypt,
            parameters: CodecParameters::new(),
        })
        .collect();

    consumable.encodings = params
        .encodings
        .iter()
        .zip(&mapping.encodings)
        .map(|(encoding, mapped)| {
            let mut encoding = encoding.clone();
            encoding.rid = None;
            encoding.rtx = None;
            encoding.codec_payload_type = None;
            encoding.ssrc = Some(mapped.mapped_ssrc);
            encoding
        })
        .collect();

    consumable
}
