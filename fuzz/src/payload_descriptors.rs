//! Key-frame detection on VP8, VP9 and H264 payload descriptors.

use sfu_core::rtp::codecs::KeyFrameCodec;

/// The whole input is one RTP payload, tried as every codec.
pub fn payload_descriptors(data: &[u8]) {
    let vp8 = KeyFrameCodec::Vp8.is_key_frame(data);
    let vp9 = KeyFrameCodec::Vp9.is_key_frame(data);
    let h264 = KeyFrameCodec::H264.is_key_frame(data);
    assert!(!KeyFrameCodec::Other.is_key_frame(data));
    let Some(&b0) = data.first() else {
        assert!(!vp8 && !vp9 && !h264, "an empty payload is no key frame");
        return;
    };
    if vp8 {
        // RFC 7741: S=1, PID=0 and a VP8 payload header whose P bit is 0.
        assert!(b0 & 0x10 != 0 && b0 & 0x07 == 0, "VP8 key frame without S=1/PID=0: {data:02x?}");
        assert!(data.len() >= 2, "VP8 key frame without a payload header");
    }
    if vp9 {
        // Not inter-predicted (P=0) and the start of a frame (B=1).
        assert!(b0 & 0x40 == 0 && b0 & 0x08 != 0, "VP9 key frame with P=1 or B=0: {data:02x?}");
    }
    if h264 {
        // IDR slice, SPS, or a STAP-A / FU-A carrying one.
        assert!(matches!(b0 & 0x1f, 5 | 7 | 24 | 28), "H264 key frame of NAL type {}", b0 & 0x1f);
        if b0 & 0x1f == 28 {
            assert!(data.len() >= 2 && data[1] & 0x80 != 0, "FU-A key frame without the start bit");
        }
    }
    // The mime dispatch never panics, whatever the string.
    if let Ok(s) = std::str::from_utf8(data) {
        let c = KeyFrameCodec::from_mime(s);
        assert_eq!(c == KeyFrameCodec::Other, !matches!(s.to_ascii_lowercase().as_str(), "video/vp8" | "video/vp9" | "video/h264" | "video/h264-svc"));
    }
}
