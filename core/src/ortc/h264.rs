//! H264 `profile-level-id` handling (RFC 6184), as libwebrtc and mediasoup's
//! `h264-profile-level-id` dependency implement it: which profile a `profile-level-id` names, and
//! which one an answer uses.

use super::matching::js_strict_eq;
use crate::rtp_parameters::CodecParameters;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    ConstrainedBaseline,
    Baseline,
    Main,
    ConstrainedHigh,
    High,
    PredictiveHigh444,
}

/// Level 1b (it has no `level_idc` of its own: 11 with the constraint_set3 flag).
const LEVEL_1B: u8 = 0;
const LEVEL_1: u8 = 10;
const LEVEL_1_1: u8 = 11;
const LEVEL_3_1: u8 = 31;

/// Every `level_idc` accepted besides 1b/1.1.
const LEVELS: [u8; 15] = [10, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProfileLevelId {
    profile: Profile,
    level: u8,
}

/// `(profile_idc, profile_iop bit pattern MSB first, profile)`; `x` bits are ignored.
const PROFILE_PATTERNS: [(u8, &str, Profile); 9] = [
    (0x42, "x1xx0000", Profile::ConstrainedBaseline),
    (0x4D, "1xxx0000", Profile::ConstrainedBaseline),
    (0x58, "11xx0000", Profile::ConstrainedBaseline),
    (0x42, "x0xx0000", Profile::Baseline),
    (0x58, "10xx0000", Profile::Baseline),
    (0x4D, "0x0x0000", Profile::Main),
    (0x64, "00000000", Profile::High),
    (0x64, "00001100", Profile::ConstrainedHigh),
    (0xF4, "00000000", Profile::PredictiveHigh444),
];

fn bit_pattern_matches(pattern: &str, value: u8) -> bool {
    pattern.bytes().enumerate().all(|(i, c)| {
        let bit = (value >> (7 - i)) & 1;
        match c {
            b'1' => bit == 1,
            b'0' => bit == 0,
            _ => true,
        }
    })
}

fn parse_profile_level_id(s: &str) -> Option<ProfileLevelId> {
    const CONSTRAINT_SET3_FLAG: u8 = 0x10;
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let numeric = u32::from_str_radix(s, 16).ok()?;
    if numeric == 0 {
        return None;
    }
    let level_idc = (numeric & 0xff) as u8;
    let profile_iop = ((numeric >> 8) & 0xff) as u8;
    let profile_idc = ((numeric >> 16) & 0xff) as u8;
    let level = if level_idc == LEVEL_1_1 {
        if profile_iop & CONSTRAINT_SET3_FLAG != 0 {
            LEVEL_1B
        } else {
            LEVEL_1_1
        }
    } else if LEVELS.contains(&level_idc) {
        level_idc
    } else {
        return None;
    };
    PROFILE_PATTERNS
        .iter()
        .find(|(idc, pattern, _)| *idc == profile_idc && bit_pattern_matches(pattern, profile_iop))
        .map(|(_, _, profile)| ProfileLevelId {
            profile: *profile,
            level,
        })
}

/// The profile/level of SDP codec parameters: absent (or empty) `profile-level-id` means
/// Constrained Baseline level 3.1; an unparsable one gives `None`.
fn parse_sdp_profile_level_id(params: &CodecParameters) -> Option<ProfileLevelId> {
    let value = params.get("profile-level-id");
    if !super::matching::js_truthy(value) {
        return Some(ProfileLevelId {
            profile: Profile::ConstrainedBaseline,
            level: LEVEL_3_1,
        });
    }
    match value {
        Some(Value::String(s)) => parse_profile_level_id(s),
        _ => None,
    }
}

fn profile_level_id_to_string(id: ProfileLevelId) -> Option<String> {
    if id.level == LEVEL_1B {
        return match id.profile {
            Profile::ConstrainedBaseline => Some("42f00b".into()),
            Profile::Baseline => Some("42100b".into()),
            Profile::Main => Some("4d100b".into()),
            _ => None,
        };
    }
    let prefix = match id.profile {
        Profile::ConstrainedBaseline => "42e0",
        Profile::Baseline => "4200",
        Profile::Main => "4d00",
        Profile::ConstrainedHigh => "640c",
        Profile::High => "6400",
        Profile::PredictiveHigh444 => "f400",
    };
    Some(format!("{prefix}{:02x}", id.level))
}

fn is_level_asymmetry_allowed(params: &CodecParameters) -> bool {
    match params.get("level-asymmetry-allowed") {
        Some(Value::Bool(true)) => true,
        v @ Some(Value::Number(_)) => js_strict_eq(v, Some(&Value::from(1))),
        Some(Value::String(s)) => s == "1",
        _ => false,
    }
}

fn is_less_level(a: u8, b: u8) -> bool {
    if a == LEVEL_1B {
        return b != LEVEL_1 && b != LEVEL_1B;
    }
    if b == LEVEL_1B {
        return a != LEVEL_1;
    }
    a < b
}

fn min_level(a: u8, b: u8) -> u8 {
    if is_less_level(a, b) {
        a
    } else {
        b
    }
}

/// Whether both parameter sets name the same H264 profile (both must parse).
pub(crate) fn is_same_profile(a: &CodecParameters, b: &CodecParameters) -> bool {
    match (parse_sdp_profile_level_id(a), parse_sdp_profile_level_id(b)) {
        (Some(a), Some(b)) => a.profile == b.profile,
        _ => false,
    }
}

/// The `profile-level-id` an answer uses when `local` answers `remote`: local's profile, and
/// local's level when both allow level asymmetry, else the lower level. `Ok(None)` when neither
/// side names one (or the result has no string form); `Err` when the two are incompatible.
pub(crate) fn generate_profile_level_id_for_answer(
    local: &CodecParameters,
    remote: &CodecParameters,
) -> Result<Option<String>, &'static str> {
    let given = |p: &CodecParameters| super::matching::js_truthy(p.get("profile-level-id"));
    if !given(local) && !given(remote) {
        return Ok(None);
    }
    let local_id = parse_sdp_profile_level_id(local).ok_or("invalid local profile-level-id")?;
    let remote_id = parse_sdp_profile_level_id(remote).ok_or("invalid remote profile-level-id")?;
    if local_id.profile != remote_id.profile {
        return Err("H264 profile mismatch");
    }
    let asymmetry = is_level_asymmetry_allowed(local) && is_level_asymmetry_allowed(remote);
    let level = if asymmetry {
        local_id.level
    } else {
        min_level(local_id.level, remote_id.level)
    };
    Ok(profile_level_id_to_string(ProfileLevelId {
        profile: local_id.profile,
        level,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(json: serde_json::Value) -> CodecParameters {
        json.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn parses_common_chrome_profiles() {
        assert_eq!(
            parse_profile_level_id("42e01f").map(|x| x.profile),
            Some(Profile::ConstrainedBaseline)
        );
        assert_eq!(
            parse_profile_level_id("42001f").map(|x| x.profile),
            Some(Profile::Baseline)
        );
        assert_eq!(
            parse_profile_level_id("4d001f").map(|x| x.profile),
            Some(Profile::Main)
        );
        assert_eq!(
            parse_profile_level_id("640c1f").map(|x| x.profile),
            Some(Profile::ConstrainedHigh)
        );
        assert_eq!(
            parse_profile_level_id("64001f").map(|x| x.profile),
            Some(Profile::High)
        );
        assert_eq!(
            parse_profile_level_id("f4001f").map(|x| x.profile),
            Some(Profile::PredictiveHigh444)
        );
        assert_eq!(
            parse_profile_level_id("42f00b").map(|x| x.level),
            Some(LEVEL_1B)
        );
        assert_eq!(parse_profile_level_id("000000"), None);
        assert_eq!(parse_profile_level_id("42e0ff"), None);
        assert_eq!(parse_profile_level_id("zzzzzz"), None);
        assert_eq!(parse_profile_level_id("42e01"), None);
    }

    #[test]
    fn answer_level_follows_asymmetry_rules() {
        let local =
            p(serde_json::json!({"profile-level-id": "42e01f", "level-asymmetry-allowed": 1}));
        let remote =
            p(serde_json::json!({"profile-level-id": "42e034", "level-asymmetry-allowed": 1}));
        assert_eq!(
            generate_profile_level_id_for_answer(&local, &remote),
            Ok(Some("42e01f".into()))
        );
        let remote = p(serde_json::json!({"profile-level-id": "42e00d"}));
        assert_eq!(
            generate_profile_level_id_for_answer(&local, &remote),
            Ok(Some("42e00d".into()))
        );
        let remote = p(serde_json::json!({"profile-level-id": "4d001f"}));
        assert!(generate_profile_level_id_for_answer(&local, &remote).is_err());
        assert_eq!(
            generate_profile_level_id_for_answer(
                &p(serde_json::json!({})),
                &p(serde_json::json!({}))
            ),
            Ok(None)
        );
        // Normalisation: a Main profile id with other iop bits set becomes the canonical form.
        let local =
            p(serde_json::json!({"profile-level-id": "4d401f", "level-asymmetry-allowed": 1}));
        let remote =
            p(serde_json::json!({"profile-level-id": "4d0032", "level-asymmetry-allowed": 1}));
        assert_eq!(
            generate_profile_level_id_for_answer(&local, &remote),
            Ok(Some("4d001f".into()))
        );
    }
}
