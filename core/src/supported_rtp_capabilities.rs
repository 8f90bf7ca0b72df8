//! Every codec and RTP header extension the engine can route, as mediasoup v3 lists them.
//!
//! A router's capabilities are built from this list by
//! [`generate_router_rtp_capabilities`](crate::ortc::generate_router_rtp_capabilities): each media
//! codec the application asks for must match one entry here (mime type, clock rate, channels and,
//! for `audio/multiopus`, the stream layout). The entries are already normalised the way
//! mediasoup's validation leaves them (audio codecs carry `channels`, every codec has
//! `parameters` and `rtcpFeedback`, every feedback has a `parameter`).

use crate::rtp_parameters::{
    CodecParameters, MediaKind, RtcpFeedback, RtpCapabilities, RtpCodecCapability,
    RtpHeaderExtension, RtpHeaderExtensionDirection,
};
use serde_json::Value;

/// The RTCP feedback every video codec supports.
fn video_feedback() -> Vec<RtcpFeedback> {
    vec![
        RtcpFeedback::new("nack", ""),
        RtcpFeedback::new("nack", "pli"),
        RtcpFeedback::new("ccm", "fir"),
        RtcpFeedback::new("goog-remb", ""),
        RtcpFeedback::new("transport-cc", ""),
    ]
}

fn params(entries: &[(&str, Value)]) -> CodecParameters {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn audio(
    mime_type: &str,
    clock_rate: u32,
    channels: u8,
    preferred_payload_type: Option<u8>,
    parameters: CodecParameters,
    rtcp_feedback: Vec<RtcpFeedback>,
) -> RtpCodecCapability {
    RtpCodecCapability {
        kind: MediaKind::Audio,
        mime_type: mime_type.to_owned(),
        preferred_payload_type,
        clock_rate,
        channels: Some(channels),
        parameters,
        rtcp_feedback,
    }
}

fn video(mime_type: &str, parameters: CodecParameters) -> RtpCodecCapability {
    RtpCodecCapability {
        kind: MediaKind::Video,
        mime_type: mime_type.to_owned(),
        preferred_payload_type: None,
        clock_rate: 90000,
        channels: None,
        parameters,
        rtcp_feedback: video_feedback(),
    }
}

fn ext(
    kind: MediaKind,
    uri: &str,
    preferred_id: u8,
    direction: RtpHeaderExtensionDirection,
) -> RtpHeaderExtension {
    RtpHeaderExtension {
        kind,
        uri: uri.to_owned(),
        preferred_id,
        preferred_encrypt: false,
        direction,
    }
}

/// mediasoup's full list of supported codecs and header extensions (its
/// `supportedRtpCapabilities`), in mediasoup's order.
///
/// These are *not* a router's capabilities (no payload types are assigned and no RTX codecs are
/// listed); use [`crate::ortc::generate_router_rtp_capabilities`] for those.
pub fn supported_rtp_capabilities() -> RtpCapabilities {
    use MediaKind::{Audio, Video};
    use RtpHeaderExtensionDirection::{Recvonly, Sendrecv};

    let nack_tcc = || {
        vec![
            RtcpFeedback::new("nack", ""),
            RtcpFeedback::new("transport-cc", ""),
        ]
    };
    let tcc = || vec![RtcpFeedback::new("transport-cc", "")];
    let none = CodecParameters::new;
    let multiopus = |channels: u8, mapping: &str, streams: u32, coupled: u32| {
        audio(
            "audio/multiopus",
            48000,
            channels,
            None,
            params(&[
                ("channel_mapping", Value::from(mapping)),
                ("num_streams", Value::from(streams)),
                ("coupled_streams", Value::from(coupled)),
            ]),
            nack_tcc(),
        )
    };
    let level_asymmetry = || params(&[("level-asymmetry-allowed", Value::from(1))]);

    let codecs = vec![
        audio("audio/opus", 48000, 2, None, none(), nack_tcc()),
        // Quad channel.
        multiopus(4, "0,1,2,3", 2, 2),
        // 5.1.
        multiopus(6, "0,4,1,2,3,5", 4, 2),
        // 7.1.
        multiopus(8, "0,6,1,2,3,4,5,7", 5, 3),
        audio("audio/PCMU", 8000, 1, Some(0), none(), tcc()),
        audio("audio/PCMA", 8000, 1, Some(8), none(), tcc()),
        audio("audio/ISAC", 32000, 1, None, none(), tcc()),
        audio("audio/ISAC", 16000, 1, None, none(), tcc()),
        audio("audio/G722", 8000, 1, Some(9), none(), tcc()),
        audio("audio/iLBC", 8000, 1, None, none(), tcc()),
        audio("audio/SILK", 24000, 1, None, none(), tcc()),
        audio("audio/SILK", 16000, 1, None, none(), tcc()),
        audio("audio/SILK", 12000, 1, None, none(), tcc()),
        audio("audio/SILK", 8000, 1, None, none(), tcc()),
        audio("audio/CN", 32000, 1, Some(13), none(), vec![]),
        audio("audio/CN", 16000, 1, Some(13), none(), vec![]),
        audio("audio/CN", 8000, 1, Some(13), none(), vec![]),
        audio("audio/telephone-event", 48000, 1, None, none(), vec![]),
        audio("audio/telephone-event", 32000, 1, None, none(), vec![]),
        audio("audio/telephone-event", 16000, 1, None, none(), vec![]),
        audio("audio/telephone-event", 8000, 1, None, none(), vec![]),
        video("video/VP8", none()),
        video("video/VP9", none()),
        video("video/H264", level_asymmetry()),
        video("video/H264-SVC", level_asymmetry()),
        video("video/H265", level_asymmetry()),
        video("video/AV1", none()),
    ];

    let header_extensions = vec![
        ext(Audio, "urn:ietf:params:rtp-hdrext:sdes:mid", 1, Sendrecv),
        ext(Video, "urn:ietf:params:rtp-hdrext:sdes:mid", 1, Sendrecv),
        ext(Video, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", 2, Recvonly),
        ext(Video, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", 3, Recvonly),
        ext(Audio, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", 4, Sendrecv),
        ext(Video, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", 4, Sendrecv),
        // For audio, transport-wide-cc-01 is only used when receiving media.
        ext(Audio, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", 5, Recvonly),
        ext(Video, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", 5, Sendrecv),
        ext(Audio, "urn:ietf:params:rtp-hdrext:ssrc-audio-level", 6, Sendrecv),
        // Received only, but forwarded between pipe transports (see
        // `ortc::get_pipe_consumer_rtp_parameters`).
        ext(
            Video,
            "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension",
            7,
            Recvonly,
        ),
        ext(Video, "urn:3gpp:video-orientation", 8, Sendrecv),
        ext(Video, "urn:ietf:params:rtp-hdrext:toffset", 9, Sendrecv),
        ext(Audio, "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time", 10, Sendrecv),
        ext(Video, "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time", 10, Sendrecv),
        ext(Audio, "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", 11, Sendrecv),
        ext(Video, "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", 11, Sendrecv),
        ext(Audio, "urn:mediasoup:params:rtp-hdrext:packet-id", 12, Sendrecv),
        ext(Video, "urn:mediasoup:params:rtp-hdrext:packet-id", 12, Sendrecv),
    ];

    RtpCapabilities {
        codecs,
        header_extensions,
    }
}
