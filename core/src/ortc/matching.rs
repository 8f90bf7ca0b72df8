//! Codec matching (mediasoup's `matchCodecs`) and the JavaScript value semantics it relies on.

use super::h264;
use crate::rtp_parameters::{CodecParameters, MediaKind, RtpCodecCapability, RtpCodecParameters};
use serde_json::Value;

/// What codec matching needs from a codec, capability or parameters alike.
pub(crate) trait CodecView {
    fn mime_type(&self) -> &str;
    fn clock_rate(&self) -> u32;
    fn channels(&self) -> Option<u8>;
    fn parameters(&self) -> &CodecParameters;
}

impl CodecView for RtpCodecCapability {
    fn mime_type(&self) -> &str {
        &self.mime_type
    }
    fn clock_rate(&self) -> u32 {
        self.clock_rate
    }
    fn channels(&self) -> Option<u8> {
        self.channels
    }
    fn parameters(&self) -> &CodecParameters {
        &self.parameters
    }
}

impl CodecView for RtpCodecParameters {
    fn mime_type(&self) -> &str {
        &self.mime_type
    }
    fn clock_rate(&self) -> u32 {
        self.clock_rate
    }
    fn channels(&self) -> Option<u8> {
        self.channels
    }
    fn parameters(&self) -> &CodecParameters {
        &self.parameters
    }
}

/// The outcome of a successful match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Matched {
    /// For a strict H264 match: the `profile-level-id` the answer uses (`Some(None)`: remove it).
    pub h264_profile_level_id: Option<Option<String>>,
}

impl Matched {
    /// Rewrites `params` the way mediasoup's `matchCodecs(..., { modify: true })` does.
    pub fn apply(&self, params: &mut CodecParameters) {
        match &self.h264_profile_level_id {
            Some(Some(id)) => {
                params.insert("profile-level-id".to_owned(), Value::from(id.as_str()));
            }
            Some(None) => {
                params.remove("profile-level-id");
            }
            None => {}
        }
    }
}

/// Channels as validation leaves them: audio defaults to 1, video has none.
fn normalized_channels(codec: &impl CodecView) -> Option<u8> {
    match super::kind_of_mime(codec.mime_type()) {
        Some(MediaKind::Audio) => Some(codec.channels().unwrap_or(1)),
        _ => None,
    }
}

/// Whether `a` and `b` are the same codec. `strict` also compares the parameters that make two
/// codecs of one mime type incompatible (H264 packetization mode and profile, VP9 profile). Returns
/// how `a` must be rewritten when it is the side that adopts the answer (H264 level).
pub(crate) fn match_codecs(
    a: &impl CodecView,
    b: &impl CodecView,
    strict: bool,
) -> Option<Matched> {
    let mime = a.mime_type().to_ascii_lowercase();
    if mime != b.mime_type().to_ascii_lowercase() {
        return None;
    }
    if a.clock_rate() != b.clock_rate() {
        return None;
    }
    if normalized_channels(a) != normalized_channels(b) {
        return None;
    }
    let (ap, bp) = (a.parameters(), b.parameters());
    let mut matched = Matched::default();
    match mime.as_str() {
        "audio/multiopus"
            if !js_strict_eq(ap.get("num_streams"), bp.get("num_streams"))
                || !js_strict_eq(ap.get("coupled_streams"), bp.get("coupled_streams")) =>
        {
            return None;
        }
        "video/h264" | "video/h264-svc" if strict => {
            let a_mode = js_or_zero(ap.get("packetization-mode"));
            let b_mode = js_or_zero(bp.get("packetization-mode"));
            if !js_strict_eq(Some(&a_mode), Some(&b_mode)) {
                return None;
            }
            if !h264::is_same_profile(ap, bp) {
                return None;
            }
            match h264::generate_profile_level_id_for_answer(ap, bp) {
                Ok(answer) => matched.h264_profile_level_id = Some(answer),
                Err(_) => return None,
            }
        }
        "video/vp9" if strict => {
            let a_profile = js_or_zero(ap.get("profile-id"));
            let b_profile = js_or_zero(bp.get("profile-id"));
            if !js_strict_eq(Some(&a_profile), Some(&b_profile)) {
                return None;
            }
        }
        _ => {}
    }
    Some(matched)
}

/// JavaScript truthiness of an optional value (`undefined` is `None`).
pub(crate) fn js_truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_)) | Some(Value::Object(_)) => true,
    }
}

/// JavaScript `v || 0`.
pub(crate) fn js_or_zero(v: Option<&Value>) -> Value {
    match v {
        Some(v) if js_truthy(Some(v)) => v.clone(),
        _ => Value::from(0),
    }
}

/// JavaScript `a === b` for JSON values (numbers compare by value; objects and arrays never equal,
/// as distinct JS objects never are).
pub(crate) fn js_strict_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(Value::Null), Some(Value::Null)) => true,
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x == y,
        (Some(Value::Number(x)), Some(Value::Number(y))) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        (Some(Value::String(x)), Some(Value::String(y))) => x == y,
        _ => false,
    }
}

/// A JSON number that is a non-negative integer (`96`, `96.0`), as `u64`.
pub(crate) fn value_as_u64(v: &Value) -> Option<u64> {
    let n = v.as_number()?;
    if let Some(u) = n.as_u64() {
        return Some(u);
    }
    let f = n.as_f64()?;
    if f >= 0.0 && f.fract() == 0.0 && f <= u64::MAX as f64 {
        Some(f as u64)
    } else {
        None
    }
}
