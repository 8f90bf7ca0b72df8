//! Payload inspection the router needs: is this packet the start of a key frame?
//! (VP8 RFC 7741, VP9 draft-ietf-payload-vp9, H264 RFC 6184.) Never panics on any input.

/// Codecs whose key frames we can recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFrameCodec {
    /// VP8.
    Vp8,
    /// VP9.
    Vp9,
    /// H264 (and H264-SVC base layer).
    H264,
    /// Anything else: never reported as a key frame.
    Other,
}

impl KeyFrameCodec {
    /// From a mime type such as `video/VP8`.
    pub fn from_mime(mime: &str) -> Self {
        let m = mime.to_ascii_lowercase();
        match m.as_str() {
            "video/vp8" => KeyFrameCodec::Vp8,
            "video/vp9" => KeyFrameCodec::Vp9,
            "video/h264" | "video/h264-svc" => KeyFrameCodec::H264,
            _ => KeyFrameCodec::Other,
        }
    }

    /// True when `payload` starts a key frame.
    pub fn is_key_frame(self, payload: &[u8]) -> bool {
        match self {
            KeyFrameCodec::Vp8 => vp8_key_frame(payload),
            KeyFrameCodec::Vp9 => vp9_key_frame(payload),
            KeyFrameCodec::H264 => h264_key_frame(payload),
            KeyFrameCodec::Other => false,
        }
    }
}

fn vp8_key_frame(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    let (x, s, pid) = (b0 & 0x80 != 0, b0 & 0x10 != 0, b0 & 0x07);
    if !s || pid != 0 {
        return false;
    }
    let mut i = 1;
    if x {
        let Some(&ext) = p.get(i) else { return false };
        i += 1;
        if ext & 0x80 != 0 {
            // picture id: 7 or 15 bits
            let Some(&pid) = p.get(i) else { return false };
            i += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if ext & 0x30 != 0 {
            i += 1; // TID/Y/KEYIDX
        }
    }
    p.get(i).is_some_and(|h| h & 0x01 == 0)
}

fn vp9_key_frame(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    // I P L F B E V Z: not inter-predicted, start of frame.
    let (pbit, b) = (b0 & 0x40 != 0, b0 & 0x08 != 0);
    if pbit || !b {
        return false;
    }
    if b0 & 0x20 != 0 {
        // L: layer indices follow the picture id; spatial id must be 0.
        let mut i = 1;
        if b0 & 0x80 != 0 {
            let Some(&pid) = p.get(i) else { return false };
            i += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        return p.get(i).is_some_and(|l| (l >> 1) & 0x07 == 0);
    }
    true
}

fn h264_key_frame(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    match b0 & 0x1f {
        5 | 7 => true,
        24 => {
            // STAP-A: 16-bit sizes then NALs.
            let mut i = 1;
            while i + 2 < p.len() {
                let n = u16::from_be_bytes([p[i], p[i + 1]]) as usize;
                if let Some(&h) = p.get(i + 2) {
                    if matches!(h & 0x1f, 5 | 7) {
                        return true;
                    }
                }
                i += 2 + n;
            }
            false
        }
        28 => p.get(1).is_some_and(|fu| fu & 0x80 != 0 && matches!(fu & 0x1f, 5 | 7)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::KeyFrameCodec::*;

    #[test]
    fn vp8_key_and_delta_frames_are_told_apart() {
        // X=1 S=1 PID=0, I=1 (15-bit picture id), then VP8 header with P=0 (key).
        assert!(Vp8.is_key_frame(&[0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00]));
        assert!(!Vp8.is_key_frame(&[0x90, 0x80, 0x81, 0x23, 0x11, 0x02, 0x00]), "P=1: interframe");
        assert!(!Vp8.is_key_frame(&[0x80, 0x80, 0x81, 0x23, 0x10]), "S=0: not the frame start");
        assert!(Vp8.is_key_frame(&[0x10, 0x9c]), "no extension");
    }

    #[test]
    fn h264_idr_sps_stap_and_fu_are_key_frames() {
        assert!(H264.is_key_frame(&[0x65, 0]));
        assert!(H264.is_key_frame(&[0x67, 0]));
        assert!(!H264.is_key_frame(&[0x41, 0]));
        assert!(H264.is_key_frame(&[0x78, 0, 2, 0x67, 0, 0, 2, 0x68, 0]));
        assert!(H264.is_key_frame(&[0x7c, 0x85, 0]));
        assert!(!H264.is_key_frame(&[0x7c, 0x05, 0]), "FU-A continuation");
    }

    #[test]
    fn vp9_key_frame_needs_start_and_no_inter_prediction() {
        assert!(Vp9.is_key_frame(&[0x08]));
        assert!(!Vp9.is_key_frame(&[0x48]));
        assert!(!Vp9.is_key_frame(&[0x00]));
    }

    #[test]
    fn truncated_payloads_never_panic() {
        let samples: [&[u8]; 4] = [&[0x90, 0x80, 0x81, 0x23, 0x10, 0x02], &[0x78, 0, 200, 0x67], &[0xa8, 0x80], &[0x7c]];
        for s in samples {
            for n in 0..=s.len() {
                for c in [Vp8, Vp9, H264, Other] {
                    let _ = c.is_key_frame(&s[..n]);
                }
            }
        }
    }
}
