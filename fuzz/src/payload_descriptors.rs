//! Layer parsing (VP8, VP9, H264 payload descriptors; AV1 dependency descriptors) and the
//! per-consumer layer filter that rewrites descriptors in place.

use sfu_core::rtp::layers::{parse, Av1Structure, Decision, LayerCodec, LayerFilter};

/// The input is split into an RTP payload and an extension value, tried as every codec through
/// a filter at several targets.
pub fn payload_descriptors(data: &[u8]) {
    let (ext, payload) = match data.split_first() {
        Some((&n, rest)) => rest.split_at((n as usize).min(rest.len())),
        None => (&[][..], data),
    };
    for codec in [LayerCodec::Vp8, LayerCodec::Vp9, LayerCodec::H264, LayerCodec::Av1, LayerCodec::Other] {
        let mut av1 = Av1Structure::new();
        let info = parse(codec, payload, Some(ext), Some(ext), &mut av1);
        let Some(info) = info else { continue };
        if codec == LayerCodec::Other {
            assert_eq!(info, Default::default());
        }
        for (s, t) in [(0, 0), (1, 2), (2, 2)] {
            let mut f = LayerFilter::new(codec, 3, 3);
            f.set_target(s, t);
            let mut copy = payload.to_vec();
            if let Decision::Forward { .. } = f.process(&info, &mut copy, false) {
                assert_eq!(copy.len(), payload.len(), "the filter rewrites in place");
            }
            if let Some((cs, ct)) = f.current() {
                assert!(cs <= 2 && ct <= 2, "current layers within what exists");
            }
        }
    }
    // The mime dispatch never panics, whatever the string.
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = LayerCodec::from_mime(s);
    }
}
