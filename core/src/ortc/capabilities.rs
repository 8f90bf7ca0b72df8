//! A router's RTP capabilities, built from the application's media codecs.

use super::matching::match_codecs;
use super::validate::validate_rtp_codec_capability;
use crate::error::{Error, Result};
use crate::rtp_parameters::{MediaKind, RtpCapabilities, RtpCodecCapability};
use crate::supported_rtp_capabilities::supported_rtp_capabilities;
use serde_json::Value;

/// Dynamic payload types in the order mediasoup hands them out.
const DYNAMIC_PAYLOAD_TYPES: [u8; 32] = [
    100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118,
    119, 120, 121, 122, 123, 124, 125, 126, 127, 96, 97, 98, 99,
];

/// Builds a router's RTP capabilities from its media codecs, as mediasoup's
/// `generateRouterRtpCapabilities()`:
///
/// * each media codec is validated and must match a supported codec (mime type, clock rate,
///   channels), else [`Error::Unsupported`] `media codec not supported [mimeType:…]`;
/// * the result is the supported codec (its mime type spelling and RTCP feedback) with the media
///   codec's parameters merged over the supported ones;
/// * its payload type is the media codec's `preferredPayloadType`, else the supported codec's
///   fixed one (PCMU 0, PCMA 8, G722 9, CN 13), else the next free dynamic one (100…127, then
///   96…99); a payload type used twice is [`Error::Type`] `duplicated codec.preferredPayloadType`;
/// * every video codec is followed by its `video/rtx` codec (next dynamic payload type,
///   `apt` = the codec's);
/// * header extensions are all the supported ones.
pub fn generate_router_rtp_capabilities(
    media_codecs: &[RtpCodecCapability],
) -> Result<RtpCapabilities> {
    let supported = supported_rtp_capabilities();
    let mut dynamic: Vec<u8> = DYNAMIC_PAYLOAD_TYPES.to_vec();
    let mut codecs: Vec<RtpCodecCapability> = Vec::new();
    let no_more_pts = || Error::Type("cannot allocate more dynamic codec payload types".into());

    for media_codec in media_codecs {
        let mut media_codec = media_codec.clone();
        validate_rtp_codec_capability(&mut media_codec)?;

        let Some(supported_codec) = supported
            .codecs
            .iter()
            .find(|s| match_codecs(&media_codec, *s, false).is_some())
        else {
            return Err(Error::Unsupported(format!(
                "media codec not supported [mimeType:{}]",
                media_codec.mime_type
            )));
        };
        let mut codec = supported_codec.clone();

        if let Some(pt) = media_codec.preferred_payload_type {
            codec.preferred_payload_type = Some(pt);
            dynamic.retain(|d| *d != pt);
        } else if codec.preferred_payload_type.is_none() {
            if dynamic.is_empty() {
                return Err(no_more_pts());
            }
            codec.preferred_payload_type = Some(dynamic.remove(0));
        }

        if codecs
            .iter()
            .any(|c| c.preferred_payload_type == codec.preferred_payload_type)
        {
            return Err(Error::Type("duplicated codec.preferredPayloadType".into()));
        }

        // Media codec parameters override the supported ones.
        for (key, value) in media_codec.parameters {
            codec.parameters.insert(key, value);
        }

        let is_video = codec.kind == MediaKind::Video;
        let (clock_rate, apt) = (codec.clock_rate, codec.preferred_payload_type);
        codecs.push(codec);

        if is_video {
            if dynamic.is_empty() {
                return Err(no_more_pts());
            }
            let pt = dynamic.remove(0);
            let mut parameters = serde_json::Map::new();
            parameters.insert("apt".into(), Value::from(apt.unwrap_or_default()));
            codecs.push(RtpCodecCapability {
                kind: MediaKind::Video,
                mime_type: "video/rtx".into(),
                preferred_payload_type: Some(pt),
                clock_rate,
                channels: None,
                parameters,
                rtcp_feedback: Vec::new(),
            });
        }
    }

    Ok(RtpCapabilities {
        codecs,
        header_extensions: supported.header_extensions,
    })
}
