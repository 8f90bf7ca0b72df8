//! ORTC rules: how RTP capabilities and parameters are validated, negotiated and rewritten, with
//! mediasoup v3's exact behaviour (mediasoup 3.27 is the reference; the test vectors in
//! `core/testdata/` record what it returns).
//!
//! The flow the engine follows:
//!
//! 1. Router creation: [`generate_router_rtp_capabilities`] turns the application's media codecs
//!    into the router's capabilities (payload types assigned, an RTX codec after each video codec,
//!    every supported header extension).
//! 2. `transport.produce()`: [`validate_rtp_parameters`] (normalises in place), then
//!    [`get_producer_rtp_parameters_mapping`] (producer payload types → router payload types,
//!    producer encodings → fresh mapped SSRCs), then [`get_consumable_rtp_parameters`] (what the
//!    producer looks like inside the router) and [`producer_type`].
//! 3. `router.canConsume()`: [`can_consume`].
//! 4. `transport.consume()`: [`validate_rtp_capabilities`] on the remote capabilities, then
//!    [`get_consumer_rtp_parameters`] (or [`get_pipe_consumer_rtp_parameters`] on a pipe
//!    transport), [`consumer_type`] and [`consumer_preferred_layers`].
//!    mediasoup's `enableRtx` default is `true` for video and `false` for audio producers.
//!
//! Errors use mediasoup's kinds: [`Error::Type`](crate::error::Error::Type) for malformed input
//! (the message names the field), [`Error::Unsupported`](crate::error::Error::Unsupported) when
//! capabilities do not match. No function panics on any input.

mod capabilities;
mod consumer;
mod h264;
mod mapping;
mod matching;
mod scalability;
mod validate;

#[cfg(test)]
mod tests;

pub use capabilities::generate_router_rtp_capabilities;
pub(crate) use consumer::{can_consume_validated, consumer_rtp_parameters_validated};
pub use consumer::{
    can_consume, consumer_preferred_layers, consumer_type, get_consumer_rtp_parameters,
    get_pipe_consumer_rtp_parameters, producer_type,
};
pub use mapping::{
    get_consumable_rtp_parameters, get_producer_rtp_parameters_mapping,
    get_producer_rtp_parameters_mapping_mut,
};
pub use scalability::{parse_scalability_mode, ScalabilityMode};
pub use validate::{validate_rtp_capabilities, validate_rtp_parameters};

use crate::rtp_parameters::{MediaKind, RtpCodecParameters, RtpEncodingParameters, RtpParameters};
use rand::Rng;

/// URI of the MID header extension.
pub const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
/// URI of the RID (RTP stream id) header extension.
pub const RID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
/// URI of the repaired RID header extension (RID of an RTX stream).
pub const REPAIRED_RID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
/// URI of the abs-send-time header extension (REMB bandwidth estimation).
pub const ABS_SEND_TIME_URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
/// URI of the transport-wide congestion control header extension.
pub const TRANSPORT_WIDE_CC_URI: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
/// URI of the AV1 dependency descriptor header extension.
pub const DEPENDENCY_DESCRIPTOR_URI: &str =
    "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension";

/// Whether `mime` is an RTX (retransmission, RFC 4588) codec: `<kind>/rtx`, case-insensitive.
pub fn is_rtx_mime(mime: &str) -> bool {
    match mime.rsplit_once('/') {
        Some((kind, sub)) => !kind.is_empty() && sub.eq_ignore_ascii_case("rtx"),
        None => false,
    }
}

/// Whether `mime` is a "feature" codec rather than a media codec: RTX, RED, ULPFEC or FlexFEC.
/// Encodings can only point to media codecs.
pub fn is_feature_mime(mime: &str) -> bool {
    match mime.split_once('/') {
        Some((_, sub)) => {
            let sub = sub.to_ascii_lowercase();
            matches!(
                sub.as_str(),
                "rtx" | "red" | "ulpfec" | "flexfec" | "flexfec-03" | "x-ulpfecuc"
            )
        }
        None => false,
    }
}

/// The media kind a mime type names (`audio/…` or `video/…`, case-insensitive), if any.
pub fn kind_of_mime(mime: &str) -> Option<MediaKind> {
    let (kind, sub) = mime.split_once('/')?;
    if sub.is_empty() {
        return None;
    }
    if kind.eq_ignore_ascii_case("audio") {
        Some(MediaKind::Audio)
    } else if kind.eq_ignore_ascii_case("video") {
        Some(MediaKind::Video)
    } else {
        None
    }
}

/// The codec of `params` that uses payload type `pt` (media or RTX), if any. Used while forwarding
/// to classify an incoming packet.
pub fn find_codec_for_payload_type(params: &RtpParameters, pt: u8) -> Option<&RtpCodecParameters> {
    params.codecs.iter().find(|c| c.payload_type == pt)
}

/// The media codec an encoding uses: the one named by its `codecPayloadType`, else the first media
/// codec of `params` (the worker's rule).
pub fn codec_for_encoding<'a>(
    params: &'a RtpParameters,
    encoding: &RtpEncodingParameters,
) -> Option<&'a RtpCodecParameters> {
    match encoding.codec_payload_type {
        Some(pt) => find_codec_for_payload_type(params, pt),
        None => params
            .codecs
            .iter()
            .find(|c| !is_feature_mime(&c.mime_type)),
    }
}

/// The RTX codec of `params` associated (by its `apt` parameter) with media payload type
/// `media_pt`, if any.
pub fn find_rtx_codec_for(params: &RtpParameters, media_pt: u8) -> Option<&RtpCodecParameters> {
    params
        .codecs
        .iter()
        .find(|c| is_rtx_mime(&c.mime_type) && apt_of(c) == Some(u64::from(media_pt)))
}

/// The `apt` (associated payload type) parameter of an RTX codec, when it is a non-negative
/// integer number.
pub fn apt_of(codec: &RtpCodecParameters) -> Option<u64> {
    codec.parameters.get("apt").and_then(matching::value_as_u64)
}

/// A random SSRC in mediasoup's range (`100000000..=999999999`).
pub fn generate_ssrc() -> u32 {
    rand::thread_rng().gen_range(100_000_000..=999_999_999)
}
