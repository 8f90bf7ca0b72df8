//! RTP capabilities and parameters, with mediasoup v3's JSON shapes (camelCase, optional fields
//! omitted when absent).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Codec-specific parameters (`a=fmtp` keys); values are numbers or strings.
pub type CodecParameters = Map<String, Value>;

/// Media kind of a codec, header extension, producer or consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// Audio media.
    Audio,
    /// Video media.
    Video,
}

impl MediaKind {
    /// The lowercase name used in JSON and mime types.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }
}

/// What an endpoint (router or remote peer) can receive or send.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpCapabilities {
    /// Supported codecs, in preference order.
    #[serde(default)]
    pub codecs: Vec<RtpCodecCapability>,
    /// Supported RTP header extensions.
    #[serde(default)]
    pub header_extensions: Vec<RtpHeaderExtension>,
}

/// One codec an endpoint supports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpCodecCapability {
    /// Media kind.
    pub kind: MediaKind,
    /// Mime type, e.g. `video/VP8`.
    pub mime_type: String,
    /// Payload type the endpoint prefers for this codec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_payload_type: Option<u8>,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Audio channels (audio only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u8>,
    /// Codec-specific parameters.
    #[serde(default)]
    pub parameters: CodecParameters,
    /// Supported RTCP feedback messages.
    #[serde(default)]
    pub rtcp_feedback: Vec<RtcpFeedback>,
}

/// Direction of an RTP header extension as seen by the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RtpHeaderExtensionDirection {
    /// Sent and received.
    Sendrecv,
    /// Only sent.
    Sendonly,
    /// Only received.
    Recvonly,
    /// Neither.
    Inactive,
}

/// One RTP header extension an endpoint supports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpHeaderExtension {
    /// Media kind this entry applies to.
    pub kind: MediaKind,
    /// Extension URI.
    pub uri: String,
    /// Preferred extension id.
    pub preferred_id: u8,
    /// Whether the extension should be encrypted.
    #[serde(default)]
    pub preferred_encrypt: bool,
    /// Direction.
    #[serde(default = "default_direction")]
    pub direction: RtpHeaderExtensionDirection,
}

fn default_direction() -> RtpHeaderExtensionDirection {
    RtpHeaderExtensionDirection::Sendrecv
}

/// The RTP parameters of a producer or consumer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpParameters {
    /// MID (RTP stream identification) value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// Codecs in use (media codecs and their RTX codecs).
    #[serde(default)]
    pub codecs: Vec<RtpCodecParameters>,
    /// Header extensions in use.
    #[serde(default)]
    pub header_extensions: Vec<RtpHeaderExtensionParameters>,
    /// Encodings (one per simulcast stream).
    #[serde(default)]
    pub encodings: Vec<RtpEncodingParameters>,
    /// RTCP parameters.
    #[serde(default)]
    pub rtcp: RtcpParameters,
    /// WebRTC MediaStream and track ids, as signalled in `a=msid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msid: Option<String>,
}

/// One codec in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpCodecParameters {
    /// Mime type, e.g. `audio/opus`.
    pub mime_type: String,
    /// Payload type.
    pub payload_type: u8,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Audio channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u8>,
    /// Codec-specific parameters.
    #[serde(default)]
    pub parameters: CodecParameters,
    /// RTCP feedback in use.
    #[serde(default)]
    pub rtcp_feedback: Vec<RtcpFeedback>,
}

/// An RTCP feedback message type, e.g. `{type: "nack", parameter: "pli"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtcpFeedback {
    /// Feedback type.
    #[serde(rename = "type")]
    pub typ: String,
    /// Feedback parameter (empty when none).
    #[serde(default)]
    pub parameter: String,
}

impl RtcpFeedback {
    /// Builds a feedback entry.
    pub fn new(typ: &str, parameter: &str) -> Self {
        RtcpFeedback { typ: typ.into(), parameter: parameter.into() }
    }
}

/// RTX stream of an encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtpEncodingRtx {
    /// SSRC of the RTX stream.
    pub ssrc: u32,
}

/// One encoding (RTP stream) of a producer or consumer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpEncodingParameters {
    /// SSRC of the media stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssrc: Option<u32>,
    /// RID (RTP stream id) of the media stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// Payload type of the codec this encoding uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec_payload_type: Option<u8>,
    /// RTX stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtx: Option<RtpEncodingRtx>,
    /// Discontinuous transmission (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtx: Option<bool>,
    /// Scalability mode, e.g. `L1T3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalability_mode: Option<String>,
    /// Resolution scale-down factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_resolution_down_by: Option<f64>,
    /// Maximum bitrate in bps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bitrate: Option<u32>,
    /// Maximum frame rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_framerate: Option<f64>,
    /// Adaptive packet time (audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive_ptime: Option<bool>,
    /// Sender priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Network priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_priority: Option<String>,
}

/// One header extension in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpHeaderExtensionParameters {
    /// Extension URI.
    pub uri: String,
    /// Extension id in the packets.
    pub id: u8,
    /// Whether it is encrypted.
    #[serde(default)]
    pub encrypt: bool,
    /// Extension-specific parameters.
    #[serde(default)]
    pub parameters: CodecParameters,
}

/// RTCP parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcpParameters {
    /// CNAME of the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// Reduced-size RTCP (RFC 5506).
    #[serde(default = "default_true")]
    pub reduced_size: bool,
    /// RTCP multiplexed on the RTP port (only reported when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mux: Option<bool>,
}

fn default_true() -> bool {
    true
}

/// Producer type, as mediasoup reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProducerType {
    /// One stream, one layer.
    Simple,
    /// Several encodings.
    Simulcast,
    /// One encoding with several spatial/temporal layers.
    Svc,
}

/// Consumer type, as mediasoup reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsumerType {
    /// One stream, one layer.
    Simple,
    /// Of a simulcast producer.
    Simulcast,
    /// Of an SVC producer.
    Svc,
    /// Of a pipe transport (all layers).
    Pipe,
}

/// Spatial and temporal layer pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerLayers {
    /// Spatial layer index.
    pub spatial_layer: u8,
    /// Temporal layer index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporal_layer: Option<u8>,
}

/// How the router maps a producer's payload types, ssrcs and extension ids to its own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpMapping {
    /// Producer payload type → router payload type.
    pub codecs: Vec<RtpMappingCodec>,
    /// Producer encodings → router (mapped) ssrcs.
    pub encodings: Vec<RtpMappingEncoding>,
}

/// One codec mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpMappingCodec {
    /// Payload type used by the producer.
    pub payload_type: u8,
    /// Payload type in the router.
    pub mapped_payload_type: u8,
}

/// One encoding mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpMappingEncoding {
    /// Producer ssrc (if signalled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssrc: Option<u32>,
    /// Producer rid (if signalled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// Scalability mode of the encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalability_mode: Option<String>,
    /// SSRC the router uses for this encoding.
    pub mapped_ssrc: u32,
}
