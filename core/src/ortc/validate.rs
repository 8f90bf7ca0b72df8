//! Validation of RTP capabilities and parameters: mediasoup's Node-side checks (`ortc.ts`) plus
//! the ones its worker makes when a producer is created. Validation also normalises, as mediasoup
//! does: a codec's `kind` follows its mime type, audio codecs get `channels: 1` when missing,
//! video codecs lose `channels`, encodings get `dtx: false`, `rtcp.reducedSize` becomes `true`.
//!
//! Missing required fields and wrong JSON types are caught earlier, by serde (see
//! [`crate::error::from_json`]); this module checks the semantics.

use super::{apt_of, is_feature_mime, is_rtx_mime, kind_of_mime, parse_scalability_mode};
use crate::error::{Error, Result};
use crate::rtp_parameters::{
    CodecParameters, MediaKind, RtcpFeedback, RtpCapabilities, RtpCodecCapability,
    RtpCodecParameters, RtpEncodingParameters, RtpHeaderExtension, RtpHeaderExtensionParameters,
    RtpParameters,
};
use serde_json::Value;
use std::collections::HashSet;

/// Highest RTP payload type (7 bits).
const MAX_PAYLOAD_TYPE: u8 = 127;

fn type_err(msg: impl Into<String>) -> Error {
    Error::Type(msg.into())
}

/// Checks a mime type and returns its kind.
fn check_mime_type(mime: &str) -> Result<MediaKind> {
    if mime.is_empty() {
        return Err(type_err("missing codec.mimeType"));
    }
    kind_of_mime(mime).ok_or_else(|| type_err("invalid codec.mimeType"))
}

fn check_codec_parameters(params: &CodecParameters) -> Result<()> {
    for (key, value) in params {
        match value {
            Value::String(_) | Value::Number(_) => {}
            other => {
                return Err(type_err(format!(
                    "invalid codec parameter [key:{key}, value:{other}]"
                )));
            }
        }
        if key == "apt" && !value.is_number() {
            return Err(type_err("invalid codec.parameters.apt (must be a number)"));
        }
    }
    Ok(())
}

fn check_rtcp_feedback(feedback: &[RtcpFeedback]) -> Result<()> {
    if feedback.iter().any(|fb| fb.typ.is_empty()) {
        return Err(type_err("missing fb.type"));
    }
    Ok(())
}

fn normalize_channels(kind: MediaKind, channels: &mut Option<u8>) {
    match kind {
        MediaKind::Audio => {
            channels.get_or_insert(1);
        }
        MediaKind::Video => *channels = None,
    }
}

/// Validates one codec capability (a router media codec or a remote capability).
pub(crate) fn validate_rtp_codec_capability(codec: &mut RtpCodecCapability) -> Result<()> {
    // The kind is whatever the mime type says.
    codec.kind = check_mime_type(&codec.mime_type)?;
    if codec
        .preferred_payload_type
        .is_some_and(|pt| pt > MAX_PAYLOAD_TYPE)
    {
        return Err(type_err(
            "invalid codec.preferredPayloadType (must be 0-127)",
        ));
    }
    if codec.clock_rate == 0 {
        return Err(type_err("invalid codec.clockRate (must be positive)"));
    }
    normalize_channels(codec.kind, &mut codec.channels);
    check_codec_parameters(&codec.parameters)?;
    check_rtcp_feedback(&codec.rtcp_feedback)
}

fn validate_rtp_header_extension(ext: &RtpHeaderExtension) -> Result<()> {
    if ext.uri.is_empty() {
        return Err(type_err("missing ext.uri"));
    }
    if ext.preferred_id == 0 {
        return Err(type_err("invalid ext.preferredId (must be 1-255)"));
    }
    Ok(())
}

/// Validates (and normalises in place) RTP capabilities: a router's media codecs or a remote
/// endpoint's capabilities (`consume()`, `canConsume()`).
///
/// Errors are [`Error::Type`] naming the field, e.g. `invalid codec.mimeType`,
/// `missing fb.type`, `missing ext.uri`.
pub fn validate_rtp_capabilities(caps: &mut RtpCapabilities) -> Result<()> {
    for codec in &mut caps.codecs {
        validate_rtp_codec_capability(codec)?;
    }
    for ext in &caps.header_extensions {
        validate_rtp_header_extension(ext)?;
    }
    Ok(())
}

fn validate_rtp_codec_parameters(codec: &mut RtpCodecParameters) -> Result<()> {
    let kind = check_mime_type(&codec.mime_type)?;
    if codec.payload_type > MAX_PAYLOAD_TYPE {
        return Err(type_err("invalid codec.payloadType (must be 0-127)"));
    }
    if codec.clock_rate == 0 {
        return Err(type_err("invalid codec.clockRate (must be positive)"));
    }
    normalize_channels(kind, &mut codec.channels);
    check_codec_parameters(&codec.parameters)?;
    check_rtcp_feedback(&codec.rtcp_feedback)?;
    if is_rtx_mime(&codec.mime_type) && apt_of(codec).is_none() {
        return Err(type_err("missing codec.parameters.apt in RTX codec"));
    }
    Ok(())
}

fn validate_rtp_header_extension_parameters(ext: &RtpHeaderExtensionParameters) -> Result<()> {
    if ext.uri.is_empty() {
        return Err(type_err("missing ext.uri"));
    }
    if ext.id == 0 {
        return Err(type_err("invalid ext.id (must be 1-255)"));
    }
    for (key, value) in &ext.parameters {
        if !(value.is_string() || value.is_number()) {
            return Err(type_err(format!(
                "invalid header extension parameter [key:{key}]"
            )));
        }
    }
    Ok(())
}

/// The worker's codec list rules: unique payload types, RTX `apt` pointing to a media codec.
fn check_codec_list(codecs: &[RtpCodecParameters]) -> Result<()> {
    if codecs.is_empty() {
        return Err(type_err("missing params.codecs (empty)"));
    }
    let mut seen = HashSet::new();
    for codec in codecs {
        if !seen.insert(codec.payload_type) {
            return Err(type_err(format!(
                "duplicated codec.payloadType [payloadType:{}]",
                codec.payload_type
            )));
        }
    }
    for codec in codecs.iter().filter(|c| is_rtx_mime(&c.mime_type)) {
        let apt = apt_of(codec);
        match codecs
            .iter()
            .find(|c| apt == Some(u64::from(c.payload_type)))
        {
            None => return Err(type_err(format!(
                "codec.parameters.apt in RTX codec points to a non existing codec [payloadType:{}]",
                codec.payload_type
            ))),
            Some(target) if is_feature_mime(&target.mime_type) => return Err(type_err(format!(
                "codec.parameters.apt in RTX codec points to a non media codec [payloadType:{}]",
                codec.payload_type
            ))),
            Some(_) => {}
        }
    }
    if codecs.iter().all(|c| is_feature_mime(&c.mime_type)) {
        return Err(type_err("no media codec in params.codecs"));
    }
    Ok(())
}

/// The worker's encoding rules: `codecPayloadType` names a media codec; no simulcast of
/// encodings that have several spatial layers each.
fn check_encodings(
    encodings: &[RtpEncodingParameters],
    codecs: &[RtpCodecParameters],
) -> Result<()> {
    for encoding in encodings {
        if encodings.len() > 1
            && parse_scalability_mode(encoding.scalability_mode.as_deref()).spatial_layers > 1
        {
            return Err(type_err(
                "cannot use both simulcast and encodings with multiple SVC spatial layers",
            ));
        }
        if let Some(pt) = encoding.codec_payload_type {
            match codecs.iter().find(|c| c.payload_type == pt) {
                None => {
                    return Err(type_err(format!(
                        "unknown encoding.codecPayloadType [payloadType:{pt}]"
                    )))
                }
                Some(c) if is_feature_mime(&c.mime_type) => {
                    return Err(type_err(format!(
                        "invalid encoding.codecPayloadType, not a media codec [payloadType:{pt}]"
                    )))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// Validates (and normalises in place) a producer's RTP parameters: mediasoup's
/// `validateRtpParameters()` plus the checks its worker makes when a producer is created.
///
/// Normalisation: audio codecs get `channels: 1` when missing, video codecs lose `channels`,
/// every encoding gets `dtx: false` when missing, `rtcp.reducedSize` is forced to `true` (as
/// mediasoup does). Like mediasoup's `transport.produce()`, the caller adds one empty encoding
/// when `encodings` is empty, and sets `rtcp.cname` to the transport's CNAME.
///
/// Errors are [`Error::Type`] naming the field, e.g. `invalid codec.mimeType`,
/// `duplicated codec.payloadType [payloadType:96]`, `invalid ext.id (must be 1-255)`.
pub fn validate_rtp_parameters(params: &mut RtpParameters) -> Result<()> {
    if params.mid.as_deref() == Some("") {
        return Err(type_err("invalid params.mid (empty string)"));
    }
    for codec in &mut params.codecs {
        validate_rtp_codec_parameters(codec)?;
    }
    for ext in &params.header_extensions {
        validate_rtp_header_extension_parameters(ext)?;
    }
    for encoding in &mut params.encodings {
        encoding.dtx.get_or_insert(false);
    }
    params.rtcp.reduced_size = true;
    check_codec_list(&params.codecs)?;
    check_encodings(&params.encodings, &params.codecs)
}
