//! Scalability modes (`L1T3`, `L3T3_KEY`, `S2T3`, ...), as mediasoup parses them.

/// The layer structure a `scalabilityMode` string describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScalabilityMode {
    /// Number of spatial layers (1..=99).
    pub spatial_layers: u8,
    /// Number of temporal layers (1..=99).
    pub temporal_layers: u8,
    /// K-SVC (`_KEY` suffix): spatial layers only depend on each other at key frames.
    pub ksvc: bool,
}

impl Default for ScalabilityMode {
    /// One spatial and one temporal layer.
    fn default() -> Self {
        ScalabilityMode {
            spatial_layers: 1,
            temporal_layers: 1,
            ksvc: false,
        }
    }
}

/// Reads a 1-99 layer count (`[1-9]\d?`) at the start of `s`; returns it and the rest.
fn layer_count(s: &[u8]) -> Option<(u8, &[u8])> {
    let first = *s.first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    match s.get(1) {
        Some(d) if d.is_ascii_digit() => Some(((first - b'0') * 10 + (d - b'0'), &s[2..])),
        _ => Some((first - b'0', &s[1..])),
    }
}

fn parse(mode: &str) -> Option<ScalabilityMode> {
    let s = mode.as_bytes();
    let rest = match s.first()? {
        b'L' | b'S' => &s[1..],
        _ => return None,
    };
    let (spatial_layers, rest) = layer_count(rest)?;
    let rest = rest.strip_prefix(b"T")?;
    let (temporal_layers, rest) = layer_count(rest)?;
    Some(ScalabilityMode {
        spatial_layers,
        temporal_layers,
        ksvc: rest.starts_with(b"_KEY"),
    })
}

/// Parses a scalability mode like mediasoup: `^[LS]([1-9]\d?)T([1-9]\d?)(_KEY)?` matched at the
/// start of the string (trailing text is ignored, e.g. `L3T3h`). A missing or unparsable mode is
/// one spatial and one temporal layer.
pub fn parse_scalability_mode(mode: Option<&str>) -> ScalabilityMode {
    mode.and_then(parse).unwrap_or_default()
}
