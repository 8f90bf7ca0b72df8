//! Video layers on the hot path: per-packet layer information and the per-consumer layer filter.
//!
//! An SFU consumer forwards one producer stream and may drop packets so that its receiver gets
//! only the lower spatial/temporal layers. This module is sans-IO and allocation-free:
//!
//! * [`parse`] reads the layer information of one packet ([`PacketInfo`]) from the codec's
//!   payload descriptor (VP8: RFC 7741, VP9: RFC 9628), the H.264 frame-marking header extension
//!   (draft-ietf-avtext-framemarking) or the AV1 dependency descriptor header extension (AV1 RTP
//!   specification, appendix A). AV1 needs per-stream state, [`Av1Structure`], holding the last
//!   template dependency structure received.
//! * [`LayerFilter`] is the per-consumer state: it tracks the layers being forwarded, moves
//!   towards the target layers only where the stream allows it, decides forward/drop for each
//!   packet and rewrites VP8/VP9 picture ids / TL0PICIDX in place so that the output stays
//!   continuous when the source changes (a simulcast consumer switching encodings).
//!
//! Nothing here panics on any input: malformed payloads or extensions make [`parse`] return
//! `None`, and [`LayerFilter::process`] only touches payload bytes it has bounds-checked.

/// Video codecs whose layers we understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerCodec {
    /// VP8 (RFC 7741): temporal layers via the TID field; spatial layers only as simulcast.
    Vp8,
    /// VP9 (RFC 9628): spatial and temporal layers in the payload descriptor.
    Vp9,
    /// H.264 (RFC 6184): temporal layers via the frame-marking header extension.
    H264,
    /// AV1: layers via the dependency descriptor header extension.
    Av1,
    /// Any other codec: everything is forwarded untouched.
    Other,
}

impl LayerCodec {
    /// The codec of a MIME type (`"video/VP8"`, `"video/vp9"`, `"video/H264"`, `"video/H264-SVC"`,
    /// `"video/AV1"`), compared case-insensitively; anything else is [`LayerCodec::Other`].
    pub fn from_mime(mime: &str) -> Self {
        let is = |m: &str| mime.eq_ignore_ascii_case(m);
        if is("video/vp8") {
            LayerCodec::Vp8
        } else if is("video/vp9") {
            LayerCodec::Vp9
        } else if is("video/h264") || is("video/h264-svc") {
            LayerCodec::H264
        } else if is("video/av1") {
            LayerCodec::Av1
        } else {
            LayerCodec::Other
        }
    }
}

/// Layer information of one packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacketInfo {
    /// Spatial layer (VP9 SID, AV1 template spatial id); 0 for VP8 and H.264.
    pub spatial: u8,
    /// Temporal layer (VP8/VP9 TID, frame-marking TID, AV1 template temporal id); 0 when the
    /// stream carries no temporal information.
    pub temporal: u8,
    /// The packet belongs to a key frame. VP8: only the first packet of the key frame is known
    /// to be one (S=1, partition 0, P=0 in the VP8 payload header). VP9: any packet of an
    /// intra-only frame of spatial layer 0 (P=0, SID=0). H.264: an IDR slice or SPS (NAL type 5
    /// or 7), also inside STAP-A or at the start of an FU-A. AV1 with a dependency descriptor: the
    /// descriptor carries a template dependency structure and the frame has no references; AV1
    /// without one: the aggregation header's N bit or a sequence header OBU.
    pub key_frame: bool,
    /// First packet of a (layer) frame: VP9 B bit; VP8 S bit of partition 0; frame-marking S
    /// bit; dependency descriptor start_of_frame. `false` when unknown (H.264 without frame
    /// marking).
    pub start_of_frame: bool,
    /// Last packet of a (layer) frame: VP9 E bit, frame-marking E bit, dependency descriptor
    /// end_of_frame. `false` when unknown (VP8: only the RTP marker tells, which is not seen here).
    pub end_of_frame: bool,
    /// Temporal switching point. VP8 (Y bit), VP9 (U bit), H.264 (frame-marking B bit): the
    /// forwarded temporal layer may be raised to this packet's temporal layer at this frame;
    /// always `true` for temporal layer 0. AV1: the frame carries a Switch indication for every
    /// decode target of its spatial layer that contains it with a temporal id at least its own,
    /// so forwarding of any higher temporal layer may start here (appendix A.7 of the AV1 RTP
    /// specification).
    pub switching_point: bool,
    /// Spatial switching point: forwarding of this packet's spatial layer may start here. VP9: the
    /// first packet of a layer frame without inter-picture prediction (B=1, P=0). Others: a key
    /// frame.
    pub spatial_switch_point: bool,
    /// VP8/VP9 picture id (7 or 15 bits, as sent).
    pub picture_id: Option<u16>,
    /// VP8, VP9 (non-flexible mode) or frame-marking (long form) TL0PICIDX.
    pub tl0_pic_idx: Option<u8>,
}

// ---------------------------------------------------------------------------------------------
// AV1 dependency descriptor.
// ---------------------------------------------------------------------------------------------

/// Most frame dependency templates a structure can hold (template ids are 6 bits).
const MAX_TEMPLATES: usize = 64;
/// Most decode targets a structure can hold (dt_cnt_minus_one is 5 bits).
const MAX_DECODE_TARGETS: usize = 32;
/// Render resolutions kept per structure (AV1 has at most 4 spatial layers).
const MAX_RESOLUTIONS: usize = 4;

/// Decode target indication "Switch" (2 bits; 0 = not present, 1 = discardable, 3 = required).
const DTI_SWITCH: u64 = 2;

/// Per-producer-stream AV1 state: the last frame dependency structure received in a dependency
/// descriptor. Descriptors without a structure are interpreted with the stored one.
#[derive(Debug, Clone, Copy)]
pub struct Av1Structure {
    known: bool,
    template_id_offset: u8,
    template_cnt: u8,
    dt_cnt: u8,
    chain_cnt: u8,
    max_spatial: u8,
    max_temporal: u8,
    template_spatial: [u8; MAX_TEMPLATES],
    template_temporal: [u8; MAX_TEMPLATES],
    /// Number of frame diffs (references) of each template.
    template_fdiff_cnt: [u16; MAX_TEMPLATES],
    /// Decode target indications of each template, 2 bits per decode target (target `i` at bit `2i`).
    template_dtis: [u64; MAX_TEMPLATES],
    dt_spatial: [u8; MAX_DECODE_TARGETS],
    dt_temporal: [u8; MAX_DECODE_TARGETS],
    resolutions_present: bool,
    /// (width, height) of spatial layers 0..4.
    resolutions: [(u32, u32); MAX_RESOLUTIONS],
    active_decode_targets: u32,
}

impl Default for Av1Structure {
    fn default() -> Self {
        Self::new()
    }
}

impl Av1Structure {
    /// No structure known yet.
    pub const fn new() -> Self {
        Av1Structure {
            known: false,
            template_id_offset: 0,
            template_cnt: 0,
            dt_cnt: 0,
            chain_cnt: 0,
            max_spatial: 0,
            max_temporal: 0,
            template_spatial: [0; MAX_TEMPLATES],
            template_temporal: [0; MAX_TEMPLATES],
            template_fdiff_cnt: [0; MAX_TEMPLATES],
            template_dtis: [0; MAX_TEMPLATES],
            dt_spatial: [0; MAX_DECODE_TARGETS],
            dt_temporal: [0; MAX_DECODE_TARGETS],
            resolutions_present: false,
            resolutions: [(0, 0); MAX_RESOLUTIONS],
            active_decode_targets: 0,
        }
    }

    /// Forget the stored structure (e.g. the stream's SSRC changed).
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// A structure has been received.
    pub fn is_known(&self) -> bool {
        self.known
    }

    /// Number of frame dependency templates of the structure.
    pub fn template_count(&self) -> u8 {
        self.template_cnt
    }

    /// Number of decode targets of the structure.
    pub fn decode_target_count(&self) -> u8 {
        self.dt_cnt
    }

    /// Number of chains of the structure.
    pub fn chain_count(&self) -> u8 {
        self.chain_cnt
    }

    /// Highest spatial id of the structure's templates.
    pub fn max_spatial_id(&self) -> u8 {
        self.max_spatial
    }

    /// Highest temporal id of the structure's templates.
    pub fn max_temporal_id(&self) -> u8 {
        self.max_temporal
    }

    /// `(spatial, temporal)` layers of template `index` (0-based, not the template id).
    pub fn template_layers(&self, index: u8) -> Option<(u8, u8)> {
        if index >= self.template_cnt {
            return None;
        }
        let i = usize::from(index);
        Some((*self.template_spatial.get(i)?, *self.template_temporal.get(i)?))
    }

    /// `(spatial, temporal)` layers of decode target `index` (the highest layers of the
    /// templates that belong to it).
    pub fn decode_target_layers(&self, index: u8) -> Option<(u8, u8)> {
        if index >= self.dt_cnt {
            return None;
        }
        let i = usize::from(index);
        Some((*self.dt_spatial.get(i)?, *self.dt_temporal.get(i)?))
    }

    /// Maximum render resolution `(width, height)` of a spatial layer, when the structure carried
    /// resolutions (kept for spatial layers 0..=3).
    pub fn render_resolution(&self, spatial: u8) -> Option<(u32, u32)> {
        if !self.resolutions_present || spatial > self.max_spatial {
            return None;
        }
        self.resolutions.get(usize::from(spatial)).copied()
    }

    /// Bitmask of the active decode targets (bit `i` = decode target `i`), as last signalled.
    pub fn active_decode_targets(&self) -> u32 {
        self.active_decode_targets
    }

    fn all_targets_mask(&self) -> u32 {
        if self.dt_cnt >= 32 {
            u32::MAX
        } else {
            (1u32 << self.dt_cnt) - 1
        }
    }
}

/// MSB-first bit reader over a byte slice (the `f(n)` of the AV1 RTP specification).
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    fn bit(&mut self) -> Option<bool> {
        let byte = *self.data.get(self.pos / 8)?;
        let bit = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        Some(bit == 1)
    }

    /// `f(n)`, n <= 32.
    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v: u32 = 0;
        for _ in 0..n.min(32) {
            v = (v << 1) | u32::from(self.bit()?);
        }
        Some(v)
    }

    /// `ns(n)`: non-symmetric unsigned value in `0..n`.
    fn ns(&mut self, n: u32) -> Option<u32> {
        if n == 0 {
            return None;
        }
        let w = 32 - n.leading_zeros(); // bits needed to write n
        if w > 16 {
            return None; // callers pass n <= 33
        }
        let m = (1u32 << w) - n;
        let v = self.bits(w - 1)?;
        if v < m {
            return Some(v);
        }
        let extra = self.bits(1)?;
        Some((v << 1) - m + extra)
    }
}

/// What one dependency descriptor says about its frame.
struct DdFrame {
    start: bool,
    end: bool,
    spatial: u8,
    temporal: u8,
    key_frame: bool,
    switching_point: bool,
}

/// Reads `template_dependency_structure()` into `s`.
fn read_structure(r: &mut BitReader<'_>, s: &mut Av1Structure) -> Option<()> {
    s.template_id_offset = r.bits(6)? as u8;
    s.dt_cnt = r.bits(5)? as u8 + 1;
    let dt_cnt = usize::from(s.dt_cnt);

    // template_layers()
    let (mut spatial, mut temporal, mut max_temporal) = (0u8, 0u8, 0u8);
    let mut cnt = 0usize;
    loop {
        if cnt >= MAX_TEMPLATES {
            return None;
        }
        *s.template_spatial.get_mut(cnt)? = spatial;
        *s.template_temporal.get_mut(cnt)? = temporal;
        cnt += 1;
        match r.bits(2)? {
            0 => {}
            1 => {
                temporal = temporal.checked_add(1)?;
                max_temporal = max_temporal.max(temporal);
            }
            2 => {
                temporal = 0;
                spatial = spatial.checked_add(1)?;
            }
            _ => break,
        }
    }
    s.template_cnt = cnt as u8;
    s.max_spatial = spatial;
    s.max_temporal = max_temporal;

    // template_dtis()
    for t in 0..cnt {
        let mut dtis = 0u64;
        for d in 0..dt_cnt {
            dtis |= u64::from(r.bits(2)?) << (2 * d);
        }
        *s.template_dtis.get_mut(t)? = dtis;
    }

    // template_fdiffs()
    for t in 0..cnt {
        let mut fdiffs = 0u16;
        while r.bit()? {
            r.bits(4)?; // fdiff_minus_one
            fdiffs = fdiffs.saturating_add(1);
        }
        *s.template_fdiff_cnt.get_mut(t)? = fdiffs;
    }

    // template_chains()
    let chain_cnt = r.ns(u32::from(s.dt_cnt) + 1)?;
    s.chain_cnt = chain_cnt as u8;
    if chain_cnt > 0 {
        for _ in 0..dt_cnt {
            r.ns(chain_cnt)?; // decode_target_protected_by
        }
        for _ in 0..cnt {
            for _ in 0..chain_cnt {
                r.bits(4)?; // template_chain_fdiff
            }
        }
    }

    // decode_target_layers()
    for d in 0..dt_cnt {
        let (mut sp, mut tp) = (0u8, 0u8);
        for t in 0..cnt {
            let dtis = *s.template_dtis.get(t)?;
            if (dtis >> (2 * d)) & 3 != 0 {
                sp = sp.max(*s.template_spatial.get(t)?);
                tp = tp.max(*s.template_temporal.get(t)?);
            }
        }
        *s.dt_spatial.get_mut(d)? = sp;
        *s.dt_temporal.get_mut(d)? = tp;
    }

    // resolutions
    s.resolutions_present = r.bit()?;
    if s.resolutions_present {
        for sp in 0..=usize::from(s.max_spatial) {
            let w = r.bits(16)? + 1;
            let h = r.bits(16)? + 1;
            if let Some(slot) = s.resolutions.get_mut(sp) {
                *slot = (w, h);
            }
        }
    }
    s.known = true;
    Some(())
}

/// Parses one dependency descriptor (`dependency_descriptor(sz)` with `sz = dd.len()`), updating
/// `av1` only when the whole descriptor is valid.
fn parse_dd(dd: &[u8], av1: &mut Av1Structure) -> Option<DdFrame> {
    if dd.len() < 3 {
        return None;
    }
    let mut r = BitReader::new(dd);
    let start = r.bit()?;
    let end = r.bit()?;
    let template_id = r.bits(6)? as u8;
    let _frame_number = r.bits(16)?;

    let (mut custom_dtis, mut custom_fdiffs, mut custom_chains) = (false, false, false);
    let mut new_structure: Option<Av1Structure> = None;
    let mut active: Option<u32> = None;
    if dd.len() > 3 {
        let structure_present = r.bit()?;
        let active_present = r.bit()?;
        custom_dtis = r.bit()?;
        custom_fdiffs = r.bit()?;
        custom_chains = r.bit()?;
        if structure_present {
            let mut s = Av1Structure::new();
            read_structure(&mut r, &mut s)?;
            s.active_decode_targets = s.all_targets_mask();
            new_structure = Some(s);
        }
        if active_present {
            let dt_cnt = match &new_structure {
                Some(s) => s.dt_cnt,
                None if av1.known => av1.dt_cnt,
                None => return None,
            };
            active = Some(r.bits(u32::from(dt_cnt))?);
        }
    }

    let s: &Av1Structure = match &new_structure {
        Some(s) => s,
        None => &*av1,
    };
    if !s.known {
        return None;
    }
    // frame_dependency_definition()
    let index = usize::from((template_id + 64 - s.template_id_offset) % 64);
    if index >= usize::from(s.template_cnt) {
        return None;
    }
    let spatial = *s.template_spatial.get(index)?;
    let temporal = *s.template_temporal.get(index)?;
    let dt_cnt = usize::from(s.dt_cnt);
    let dtis = if custom_dtis {
        let mut dtis = 0u64;
        for d in 0..dt_cnt {
            dtis |= u64::from(r.bits(2)?) << (2 * d);
        }
        dtis
    } else {
        *s.template_dtis.get(index)?
    };
    let fdiffs = if custom_fdiffs {
        let mut n = 0u16;
        loop {
            let size = r.bits(2)?;
            if size == 0 {
                break;
            }
            r.bits(4 * size)?; // fdiff_minus_one
            n = n.saturating_add(1);
        }
        n
    } else {
        *s.template_fdiff_cnt.get(index)?
    };
    if custom_chains {
        for _ in 0..s.chain_cnt {
            r.bits(8)?; // frame_chain_fdiff
        }
    }
    // The rest is zero padding (ignored by receivers).

    let key_frame = new_structure.is_some() && fdiffs == 0;
    let (mut any, mut all) = (false, true);
    for d in 0..dt_cnt {
        let dti = (dtis >> (2 * d)) & 3;
        let in_layer = *s.dt_spatial.get(d)? == spatial && *s.dt_temporal.get(d)? >= temporal;
        if in_layer && dti != 0 {
            any = true;
            all &= dti == DTI_SWITCH;
        }
    }
    let switching_point = key_frame || (any && all);

    if let Some(s) = new_structure {
        *av1 = s;
    }
    if let Some(mask) = active {
        av1.active_decode_targets = mask;
    }
    Some(DdFrame { start, end, spatial, temporal, key_frame, switching_point })
}

// ---------------------------------------------------------------------------------------------
// Payload parsers.
// ---------------------------------------------------------------------------------------------

/// Parses layer info. `payload` is the RTP payload; `dd` is the AV1 dependency descriptor
/// header-extension value when present; `framemarking` the H.264 frame-marking extension value
/// when present. Returns `None` for malformed input. For AV1 without a dependency descriptor:
/// spatial = temporal = 0, key frame from the payload (N bit / sequence header OBU). For AV1 with
/// one, `av1` is the stream's structure state: descriptors with a structure update it,
/// descriptors without one use it, and `None` is returned while no structure is known.
/// [`LayerCodec::Other`] yields `PacketInfo::default()`.
pub fn parse(
    codec: LayerCodec,
    payload: &[u8],
    dd: Option<&[u8]>,
    framemarking: Option<&[u8]>,
    av1: &mut Av1Structure,
) -> Option<PacketInfo> {
    match codec {
        LayerCodec::Vp8 => parse_vp8(payload),
        LayerCodec::Vp9 => parse_vp9(payload),
        LayerCodec::H264 => parse_h264(payload, framemarking),
        LayerCodec::Av1 => match dd {
            Some(dd) => {
                let f = parse_dd(dd, av1)?;
                Some(PacketInfo {
                    spatial: f.spatial,
                    temporal: f.temporal,
                    key_frame: f.key_frame,
                    start_of_frame: f.start,
                    end_of_frame: f.end,
                    switching_point: f.switching_point,
                    spatial_switch_point: f.key_frame,
                    picture_id: None,
                    tl0_pic_idx: None,
                })
            }
            None => parse_av1_payload(payload),
        },
        LayerCodec::Other => Some(PacketInfo::default()),
    }
}

/// Byte offsets of the VP8 descriptor fields we rewrite.
#[derive(Default)]
struct Vp8Fields {
    /// Offset of the picture id and whether it is 15 bits (M=1).
    picture_id: Option<(usize, bool)>,
    tl0: Option<usize>,
    /// Offset of the VP8 payload header (first byte after the descriptor).
    header: usize,
}

fn vp8_fields(p: &[u8]) -> Option<Vp8Fields> {
    let mut f = Vp8Fields::default();
    let b0 = *p.first()?;
    let mut off = 1;
    if b0 & 0x80 != 0 {
        let x = *p.get(1)?;
        off = 2;
        if x & 0x80 != 0 {
            let m = *p.get(off)? & 0x80 != 0;
            if m {
                p.get(off + 1)?;
            }
            f.picture_id = Some((off, m));
            off += if m { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            p.get(off)?;
            f.tl0 = Some(off);
            off += 1;
        }
        if x & 0x30 != 0 {
            p.get(off)?;
            off += 1;
        }
    }
    f.header = off;
    Some(f)
}

fn read_picture_id(p: &[u8], off: usize, long: bool) -> Option<u16> {
    let hi = *p.get(off)?;
    if long {
        Some((u16::from(hi & 0x7f) << 8) | u16::from(*p.get(off + 1)?))
    } else {
        Some(u16::from(hi & 0x7f))
    }
}

/// RFC 7741 section 4.2.
fn parse_vp8(p: &[u8]) -> Option<PacketInfo> {
    let f = vp8_fields(p)?;
    let b0 = *p.first()?;
    let first = *p.get(f.header)?; // a VP8 packet carries at least one payload byte
    let mut info = PacketInfo::default();
    let start = b0 & 0x10 != 0 && b0 & 0x07 == 0;
    info.start_of_frame = start;
    info.key_frame = start && first & 0x01 == 0;
    info.spatial_switch_point = info.key_frame;
    info.switching_point = true;
    if let Some((off, long)) = f.picture_id {
        info.picture_id = Some(read_picture_id(p, off, long)?);
    }
    if let Some(off) = f.tl0 {
        info.tl0_pic_idx = Some(*p.get(off)?);
    }
    if b0 & 0x80 != 0 && *p.get(1)? & 0x20 != 0 {
        // T bit: the TID/Y/KEYIDX byte is the last one of the descriptor.
        let tk = *p.get(f.header.checked_sub(1)?)?;
        info.temporal = tk >> 6;
        info.switching_point = info.temporal == 0 || tk & 0x20 != 0;
    }
    Some(info)
}

/// Byte offsets of the VP9 descriptor fields we rewrite.
#[derive(Default)]
struct Vp9Fields {
    picture_id: Option<(usize, bool)>,
    layer: Option<usize>,
    tl0: Option<usize>,
}

/// RFC 9628 section 4.2; validates the whole descriptor, scalability structure included.
fn vp9_fields(p: &[u8]) -> Option<Vp9Fields> {
    let mut f = Vp9Fields::default();
    let b0 = *p.first()?;
    let (i, pbit, l, flex, v) =
        (b0 & 0x80 != 0, b0 & 0x40 != 0, b0 & 0x20 != 0, b0 & 0x10 != 0, b0 & 0x02 != 0);
    let mut off = 1;
    if i {
        let m = *p.get(off)? & 0x80 != 0;
        if m {
            p.get(off + 1)?;
        }
        f.picture_id = Some((off, m));
        off += if m { 2 } else { 1 };
    }
    if l {
        p.get(off)?;
        f.layer = Some(off);
        off += 1;
        if !flex {
            p.get(off)?;
            f.tl0 = Some(off);
            off += 1;
        }
    }
    if flex && pbit {
        // Up to 3 reference indices, each P_DIFF(7) | N(1).
        let mut refs = 0;
        loop {
            let b = *p.get(off)?;
            off += 1;
            refs += 1;
            if b & 0x01 == 0 {
                break;
            }
            if refs == 3 {
                return None;
            }
        }
    }
    if v {
        let ss = *p.get(off)?;
        off += 1;
        let n_s = usize::from(ss >> 5) + 1;
        if ss & 0x10 != 0 {
            off += 4 * n_s; // WIDTH, HEIGHT per spatial layer
        }
        if ss & 0x08 != 0 {
            let n_g = *p.get(off)?;
            off += 1;
            for _ in 0..n_g {
                let g = *p.get(off)?;
                off += 1 + usize::from((g >> 2) & 0x03);
            }
        }
        if off > p.len() {
            return None;
        }
    }
    Some(f)
}

/// RFC 9628.
fn parse_vp9(p: &[u8]) -> Option<PacketInfo> {
    let f = vp9_fields(p)?;
    let b0 = *p.first()?;
    let inter = b0 & 0x40 != 0;
    let mut info = PacketInfo {
        start_of_frame: b0 & 0x08 != 0,
        end_of_frame: b0 & 0x04 != 0,
        switching_point: true,
        ..PacketInfo::default()
    };
    if let Some(off) = f.layer {
        let l = *p.get(off)?;
        info.temporal = l >> 5;
        info.spatial = (l >> 1) & 0x07;
        info.switching_point = info.temporal == 0 || l & 0x10 != 0;
    }
    info.key_frame = !inter && info.spatial == 0;
    info.spatial_switch_point = !inter && info.start_of_frame;
    if let Some((off, long)) = f.picture_id {
        info.picture_id = Some(read_picture_id(p, off, long)?);
    }
    if let Some(off) = f.tl0 {
        info.tl0_pic_idx = Some(*p.get(off)?);
    }
    Some(info)
}

fn h264_nal_is_key(nal_header: u8) -> bool {
    matches!(nal_header & 0x1f, 5 | 7)
}

/// H.264 (RFC 6184 packetization + frame marking).
fn parse_h264(p: &[u8], framemarking: Option<&[u8]>) -> Option<PacketInfo> {
    let first = *p.first()?;
    let key_frame = match first & 0x1f {
        24 => {
            // STAP-A: [16-bit size, NAL unit]*
            let mut off = 1;
            let mut key = false;
            while off < p.len() {
                let size = usize::from(u16::from_be_bytes([*p.get(off)?, *p.get(off + 1)?]));
                off += 2;
                if size == 0 {
                    continue;
                }
                key |= h264_nal_is_key(*p.get(off)?);
                off += size;
            }
            if off > p.len() {
                return None;
            }
            key
        }
        28 => {
            // FU-A: indicator, then S|E|R|type.
            let fu = *p.get(1)?;
            fu & 0x80 != 0 && h264_nal_is_key(fu)
        }
        _ => h264_nal_is_key(first),
    };
    let mut info = PacketInfo {
        key_frame,
        switching_point: true,
        spatial_switch_point: key_frame,
        ..PacketInfo::default()
    };
    if let Some(fm) = framemarking {
        // |S|E|I|D|B| TID |  (long form: + LID, TL0PICIDX)
        let b = *fm.first()?;
        info.start_of_frame = b & 0x80 != 0;
        info.end_of_frame = b & 0x40 != 0;
        info.temporal = b & 0x07;
        info.switching_point = info.temporal == 0 || b & 0x08 != 0;
        info.tl0_pic_idx = fm.get(2).copied();
    }
    Some(info)
}

/// Unsigned LEB128 (at most 8 bytes); returns (value, bytes used).
fn leb128(p: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for i in 0..8 {
        let b = *p.get(i)?;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// AV1 payload without a dependency descriptor: aggregation header `|Z|Y| W |N|-|-|-|` and OBU
/// elements.
fn parse_av1_payload(p: &[u8]) -> Option<PacketInfo> {
    let agg = *p.first()?;
    let z = agg & 0x80 != 0;
    let w = usize::from((agg >> 4) & 0x03);
    let mut key_frame = agg & 0x08 != 0;
    let mut start_of_frame = false;
    let mut off = 1;
    let mut element = 0usize;
    while off < p.len() {
        element += 1;
        // With W != 0 the W-th element has no length field and runs to the end.
        let len = if w != 0 && element == w {
            p.len() - off
        } else {
            let (len, used) = leb128(p.get(off..)?)?;
            off += used;
            usize::try_from(len).ok()?
        };
        let end = off.checked_add(len)?;
        if end > p.len() {
            return None;
        }
        // The first element continues an OBU from the previous packet when Z=1.
        if len > 0 && !(z && element == 1) {
            let obu_type = (*p.get(off)? >> 3) & 0x0f;
            if obu_type == 1 {
                key_frame = true; // OBU_SEQUENCE_HEADER
            }
            if element == 1 && matches!(obu_type, 1 | 2 | 3 | 6) {
                // sequence header, temporal delimiter, frame header, frame
                start_of_frame = true;
            }
        }
        off = end;
        if w != 0 && element == w {
            break;
        }
    }
    Some(PacketInfo {
        key_frame,
        start_of_frame,
        switching_point: true,
        spatial_switch_point: key_frame,
        ..PacketInfo::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Layer filter.
// ---------------------------------------------------------------------------------------------

/// The picture id and TL0PICIDX a VP8/VP9 payload descriptor carries, as written in a packet:
/// what a consumer sent, so a retransmission can carry the same values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DescriptorIds {
    /// Picture id (7 or 15 bits, without the M bit).
    pub picture_id: Option<u16>,
    /// TL0PICIDX.
    pub tl0_pic_idx: Option<u8>,
}

fn descriptor_offsets(codec: LayerCodec, payload: &[u8]) -> (Option<(usize, bool)>, Option<usize>) {
    match codec {
        LayerCodec::Vp8 => vp8_fields(payload).map_or((None, None), |f| (f.picture_id, f.tl0)),
        LayerCodec::Vp9 => vp9_fields(payload).map_or((None, None), |f| (f.picture_id, f.tl0)),
        _ => (None, None),
    }
}

/// Reads the ids of `payload`'s descriptor (none for other codecs or malformed descriptors).
pub fn descriptor_ids(codec: LayerCodec, payload: &[u8]) -> DescriptorIds {
    let (pid, tl0) = descriptor_offsets(codec, payload);
    DescriptorIds {
        picture_id: pid.and_then(|(off, long)| read_picture_id(payload, off, long)),
        tl0_pic_idx: tl0.and_then(|off| payload.get(off).copied()),
    }
}

/// Writes `ids` into `payload`'s descriptor in place, where the descriptor has those fields
/// (a 7-bit picture id keeps its low 7 bits).
pub fn write_descriptor_ids(codec: LayerCodec, payload: &mut [u8], ids: DescriptorIds) {
    let (pid, tl0) = descriptor_offsets(codec, payload);
    if let (Some((off, long)), Some(v)) = (pid, ids.picture_id) {
        if long {
            if let Some(b) = payload.get_mut(off) {
                *b = 0x80 | ((v >> 8) as u8 & 0x7f);
            }
            if let Some(b) = payload.get_mut(off + 1) {
                *b = v as u8;
            }
        } else if let Some(b) = payload.get_mut(off) {
            *b = v as u8 & 0x7f;
        }
    }
    if let (Some(off), Some(v)) = (tl0, ids.tl0_pic_idx) {
        if let Some(b) = payload.get_mut(off) {
            *b = v;
        }
    }
}

/// What to do with one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Do not forward the packet.
    Drop,
    /// Forward the packet (payload possibly rewritten) with this RTP marker bit.
    Forward {
        /// The RTP marker bit to send.
        marker: bool,
    },
}

/// Offset mapping of a wrapping identifier (picture id, TL0PICIDX) onto a continuous output.
#[derive(Debug, Clone, Copy, Default)]
struct IdMap {
    offset: u16,
    /// Newest output value and the mask (width) it was written with.
    last: Option<(u16, u16)>,
    resync: bool,
}

impl IdMap {
    /// Maps `input` (already masked to `mask`, a 2^k - 1 value). After a resync the first value
    /// maps to `last + step`.
    fn map(&mut self, input: u16, mask: u16, step: u16) -> u16 {
        if self.resync {
            if let Some((last, _)) = self.last {
                self.offset = last.wrapping_add(step).wrapping_sub(input);
            }
            self.resync = false;
        }
        let out = input.wrapping_add(self.offset) & mask;
        let newer = match self.last {
            Some((last, m)) if m == mask => {
                let d = out.wrapping_sub(last) & mask;
                d != 0 && d <= mask / 2
            }
            _ => true,
        };
        if newer {
            self.last = Some((out, mask));
        }
        out
    }
}

/// Per-consumer forwarding state for one video stream: which layers are forwarded, and the
/// picture id / TL0PICIDX rewriting that keeps the output continuous.
///
/// Layer changes:
/// * The first packet processed (after [`LayerFilter::new`]) starts at the target layers; the
///   filter does not wait for a key frame (the consumer starts and switches streams on key frames).
/// * A key frame (spatial layer 0) moves straight to the target layers.
/// * Going down (spatial or temporal) happens at the next start of a picture (start of frame of
///   spatial layer 0), never in the middle of one.
/// * Going up temporally happens at the start of a picture that is a switching point
///   ([`PacketInfo::switching_point`]): VP8/VP9/H.264 to that packet's temporal layer, AV1 to
///   the target temporal layer.
/// * Going up spatially (besides key frames) happens one layer at a time, at a spatial switching
///   point of the next spatial layer ([`PacketInfo::spatial_switch_point`], e.g. a VP9 layer frame
///   with P=0).
///
/// Picture ids and TL0PICIDX (VP8, VP9) are rewritten with a fixed offset that only changes on
/// [`LayerFilter::resync`]. Frames dropped for layer filtering leave gaps in the picture ids
/// (they are not compacted): receivers accept such gaps for non-reference frames of higher
/// temporal layers.
#[derive(Debug, Clone)]
pub struct LayerFilter {
    codec: LayerCodec,
    max_spatial: u8,
    max_temporal: u8,
    target: (u8, u8),
    /// Layers allowed through now (moves towards the target at switch points).
    allowed: Option<(u8, u8)>,
    /// Layers actually forwarded: the highest that went out since the source was (re)synced,
    /// within `allowed` (what `current()` reports; a layer the source does not send is not
    /// reported).
    forwarded: Option<(u8, u8)>,
    picture_id: IdMap,
    tl0: IdMap,
}

impl LayerFilter {
    /// A filter for a source with `spatial_layers` x `temporal_layers` layers (e.g. VP9 L3T3 ->
    /// 3, 3; one simulcast VP8 L1T3 encoding -> 1, 3); 0 counts as 1. The target starts at the
    /// highest layers.
    pub fn new(codec: LayerCodec, spatial_layers: u8, temporal_layers: u8) -> Self {
        let max_spatial = spatial_layers.max(1) - 1;
        let max_temporal = temporal_layers.max(1) - 1;
        LayerFilter {
            codec,
            max_spatial,
            max_temporal,
            target: (max_spatial, max_temporal),
            allowed: None,
            forwarded: None,
            picture_id: IdMap::default(),
            tl0: IdMap::default(),
        }
    }

    /// Target layers (clamped to what exists). Spatial switches happen only at a spatial switch
    /// point (going up) / at the next start of a picture (going down); temporal up only at
    /// switching points, down at the next start of a picture.
    pub fn set_target(&mut self, spatial: u8, temporal: u8) {
        self.target = (spatial.min(self.max_spatial), temporal.min(self.max_temporal));
    }

    /// The highest spatial layer of the source.
    pub fn max_spatial(&self) -> u8 {
        self.max_spatial
    }

    /// The target layers `(spatial, temporal)`.
    pub fn target(&self) -> (u8, u8) {
        self.target
    }

    /// Layers `(spatial, temporal)` actually being forwarded now: the highest of the packets
    /// forwarded from this source, within the layers allowed through (as mediasoup,
    /// a layer counts once a packet of it went out, so layers the source does not send are never
    /// reported); `None` before the first forwarded packet.
    pub fn current(&self) -> Option<(u8, u8)> {
        self.forwarded
    }

    /// The source changed (a simulcast consumer switched to another encoding, or the SSRC
    /// changed): the next forwarded packet carrying a picture id gets the last output picture
    /// id plus one, and the next one carrying a TL0PICIDX gets the last output TL0PICIDX plus one
    /// (plus zero if that packet is not of temporal layer 0, as it then belongs to the last TL0
    /// picture). Forwarded layers are kept; a key frame of the new source moves them to the target.
    pub fn resync(&mut self) {
        self.picture_id.resync = true;
        self.tl0.resync = true;
        // Another source: its layers are reported as they go out.
        self.forwarded = None;
    }

    /// Decides for one packet, rewriting `payload` in place (same length; VP8 picture id and
    /// TL0PICIDX, VP9 picture id and TL0PICIDX) when forwarded. `marker` is the packet's RTP
    /// marker bit. For VP9 and AV1 the returned marker is also set on the end-of-frame packet of
    /// the highest spatial layer being forwarded (so the receiver knows the picture is complete);
    /// otherwise the original marker is passed through (a source marker on a forwarded lower
    /// layer means the picture has no higher layers).
    pub fn process(&mut self, info: &PacketInfo, payload: &mut [u8], marker: bool) -> Decision {
        let (target_s, target_t) = self.target;
        if self.codec == LayerCodec::Other {
            self.allowed = Some(self.allowed.unwrap_or(self.target));
            self.forwarded = self.allowed;
            return Decision::Forward { marker };
        }
        let (mut cur_s, mut cur_t) = self.allowed.unwrap_or(self.target);
        let picture_start = info.start_of_frame && info.spatial == 0;

        if picture_start {
            cur_s = cur_s.min(target_s);
            cur_t = cur_t.min(target_t);
        }
        if info.key_frame && info.spatial == 0 {
            cur_s = target_s;
            cur_t = target_t;
        }
        if info.spatial_switch_point
            && info.spatial <= target_s
            && info.spatial.checked_sub(1) == Some(cur_s)
        {
            cur_s = info.spatial;
        }
        if picture_start && info.switching_point {
            if self.codec == LayerCodec::Av1 {
                if info.temporal <= target_t && target_t > cur_t {
                    cur_t = target_t;
                }
            } else if info.temporal > cur_t && info.temporal <= target_t {
                cur_t = info.temporal;
            }
        }

        let forward = info.spatial <= cur_s && info.temporal <= cur_t;
        if forward || self.allowed.is_some() {
            self.allowed = Some((cur_s, cur_t));
        }
        // What is reported: rises with the layers that go out and follows a switch down at once
        // (not reset at key pictures: the layers of a stream come back within a frame or two,
        // and a dip would be reported as two spurious changes).
        self.forwarded = match (self.forwarded, forward) {
            (Some((s, t)), true) => Some((s.max(info.spatial).min(cur_s), t.max(info.temporal).min(cur_t))),
            (None, true) => Some((info.spatial, info.temporal)),
            (Some((s, t)), false) => Some((s.min(cur_s), t.min(cur_t))),
            (None, false) => None,
        };
        if !forward {
            return Decision::Drop;
        }

        match self.codec {
            LayerCodec::Vp8 => {
                if let Some(f) = vp8_fields(payload) {
                    self.rewrite(payload, f.picture_id, f.tl0, info.temporal);
                }
                Decision::Forward { marker }
            }
            LayerCodec::Vp9 => {
                if let Some(f) = vp9_fields(payload) {
                    self.rewrite(payload, f.picture_id, f.tl0, info.temporal);
                }
                Decision::Forward { marker: marker || (info.end_of_frame && info.spatial == cur_s) }
            }
            LayerCodec::Av1 => {
                Decision::Forward { marker: marker || (info.end_of_frame && info.spatial == cur_s) }
            }
            LayerCodec::H264 | LayerCodec::Other => Decision::Forward { marker },
        }
    }

    /// Rewrites the picture id at `picture_id` (offset, 15-bit) and TL0PICIDX at `tl0`.
    fn rewrite(&mut self, p: &mut [u8], picture_id: Option<(usize, bool)>, tl0: Option<usize>, tid: u8) {
        if let Some((off, long)) = picture_id {
            if let Some(input) = read_picture_id(p, off, long) {
                if long {
                    let out = self.picture_id.map(input, 0x7fff, 1);
                    if let Some(b) = p.get_mut(off) {
                        *b = 0x80 | (out >> 8) as u8;
                    }
                    if let Some(b) = p.get_mut(off + 1) {
                        *b = out as u8;
                    }
                } else {
                    let out = self.picture_id.map(input, 0x7f, 1);
                    if let Some(b) = p.get_mut(off) {
                        *b = out as u8;
                    }
                }
            }
        }
        if let Some(off) = tl0 {
            if let Some(b) = p.get_mut(off) {
                let step = u16::from(tid == 0);
                *b = self.tl0.map(u16::from(*b), 0xff, step) as u8;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {

    /// Key-frame flags (the first packet of a key frame) as simulcast switching relies on them.
    fn key(codec: LayerCodec, payload: &[u8]) -> bool {
        parse(codec, payload, None, None, &mut Av1Structure::new()).is_some_and(|i| i.key_frame && (i.start_of_frame || codec == LayerCodec::H264))
    }

    #[test]
    fn descriptor_ids_round_trip_in_place() {
        // VP8 with a 15-bit picture id and TL0PICIDX; VP9 with a 7-bit picture id.
        let mut vp8 = [0x90, 0xe0, 0x81, 0x23, 0x05, 0x40, 0x00];
        let ids = descriptor_ids(LayerCodec::Vp8, &vp8);
        assert_eq!(ids, DescriptorIds { picture_id: Some(0x123), tl0_pic_idx: Some(5) });
        write_descriptor_ids(LayerCodec::Vp8, &mut vp8, DescriptorIds { picture_id: Some(0x7ffe), tl0_pic_idx: Some(9) });
        assert_eq!(vp8, [0x90, 0xe0, 0xff, 0xfe, 0x09, 0x40, 0x00]);
        let mut vp9 = [0x88, 0x12, 0xaa];
        assert_eq!(descriptor_ids(LayerCodec::Vp9, &vp9).picture_id, Some(0x12));
        write_descriptor_ids(LayerCodec::Vp9, &mut vp9, DescriptorIds { picture_id: Some(0x1ff), tl0_pic_idx: None });
        assert_eq!(vp9, [0x88, 0x7f, 0xaa]);
        assert_eq!(descriptor_ids(LayerCodec::H264, &[0x65]), DescriptorIds::default());
    }

    #[test]
    fn key_frame_entry_points_per_codec() {
        use LayerCodec::*;
        // VP8: X=1 S=1 PID=0, I=1 (15-bit picture id), then a payload header with P=0 (key).
        assert!(key(Vp8, &[0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00]));
        assert!(!key(Vp8, &[0x90, 0x80, 0x81, 0x23, 0x11, 0x02, 0x00]), "P=1: interframe");
        assert!(!key(Vp8, &[0x80, 0x80, 0x81, 0x23, 0x10]), "S=0: not the frame start");
        assert!(key(Vp8, &[0x10, 0x9c]), "no extension");
        // H264: IDR, SPS, STAP-A with an SPS, FU-A start of an IDR; not a continuation.
        assert!(key(H264, &[0x65, 0]));
        assert!(key(H264, &[0x67, 0]));
        assert!(!key(H264, &[0x41, 0]));
        assert!(key(H264, &[0x78, 0, 2, 0x67, 0, 0, 2, 0x68, 0]));
        assert!(key(H264, &[0x7c, 0x85, 0]));
        assert!(!key(H264, &[0x7c, 0x05, 0]), "FU-A continuation");
        // VP9: not inter-predicted and the start of a frame.
        assert!(key(Vp9, &[0x08]));
        assert!(!key(Vp9, &[0x48]));
        assert!(!key(Vp9, &[0x00]));
        assert!(!key(Other, &[0x10, 0x00]));
    }
    use super::*;

    const FWD: Decision = Decision::Forward { marker: false };

    // ---- VP8 -------------------------------------------------------------------------------

    struct Vp8 {
        start: bool,
        key: bool,
        pid: Option<(u16, bool)>, // value, 15-bit
        tl0: Option<u8>,
        tid: Option<(u8, bool)>, // tid, Y
    }

    fn vp8(v: &Vp8) -> Vec<u8> {
        let mut out = Vec::new();
        let x = v.pid.is_some() || v.tl0.is_some() || v.tid.is_some();
        out.push(if x { 0x80 } else { 0 } | if v.start { 0x10 } else { 0 });
        if x {
            let mut b = 0u8;
            if v.pid.is_some() {
                b |= 0x80;
            }
            if v.tl0.is_some() {
                b |= 0x40;
            }
            if v.tid.is_some() {
                b |= 0x20;
            }
            out.push(b);
            if let Some((pid, long)) = v.pid {
                if long {
                    out.push(0x80 | (pid >> 8) as u8);
                    out.push(pid as u8);
                } else {
                    out.push(pid as u8 & 0x7f);
                }
            }
            if let Some(t) = v.tl0 {
                out.push(t);
            }
            if let Some((tid, y)) = v.tid {
                out.push((tid << 6) | if y { 0x20 } else { 0 } | 0x03);
            }
        }
        out.push(if v.key { 0x10 } else { 0x11 });
        out.extend_from_slice(&[0x02, 0x00, 0x9d, 0x01, 0x2a]);
        out
    }

    fn parse_simple(codec: LayerCodec, p: &[u8]) -> Option<PacketInfo> {
        parse(codec, p, None, None, &mut Av1Structure::new())
    }

    /// L1T3 frame `n` (one packet): tids 0,2,1,2 with Y on the first TL2 and the TL1.
    fn l1t3(n: u16, pid_base: u16, tl0_base: u8, long: bool) -> Vec<u8> {
        let (tid, y) = match n % 4 {
            0 => (0, false),
            1 => (2, true),
            2 => (1, true),
            _ => (2, false),
        };
        let mask = if long { 0x7fff } else { 0x7f };
        vp8(&Vp8 {
            start: true,
            key: n == 0,
            pid: Some((pid_base.wrapping_add(n) & mask, long)),
            tl0: Some(tl0_base.wrapping_add((n / 4) as u8)),
            tid: Some((tid, y)),
        })
    }

    fn vp8_out(p: &[u8]) -> (u16, u8) {
        let i = parse_simple(LayerCodec::Vp8, p).unwrap();
        (i.picture_id.unwrap(), i.tl0_pic_idx.unwrap())
    }

    #[test]
    fn mime_types() {
        assert_eq!(LayerCodec::from_mime("video/VP8"), LayerCodec::Vp8);
        assert_eq!(LayerCodec::from_mime("VIDEO/vp9"), LayerCodec::Vp9);
        assert_eq!(LayerCodec::from_mime("video/H264"), LayerCodec::H264);
        assert_eq!(LayerCodec::from_mime("video/h264-SVC"), LayerCodec::H264);
        assert_eq!(LayerCodec::from_mime("video/AV1"), LayerCodec::Av1);
        assert_eq!(LayerCodec::from_mime("video/H265"), LayerCodec::Other);
        assert_eq!(LayerCodec::from_mime("audio/opus"), LayerCodec::Other);
    }

    #[test]
    fn vp8_descriptor_parsing() {
        let p = vp8(&Vp8 { start: true, key: true, pid: Some((0x1234, true)), tl0: Some(7), tid: Some((0, false)) });
        let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
        assert_eq!(i.picture_id, Some(0x1234));
        assert_eq!(i.tl0_pic_idx, Some(7));
        assert!(i.key_frame && i.start_of_frame && i.switching_point && i.spatial_switch_point);
        assert!(!i.end_of_frame);

        let p = vp8(&Vp8 { start: true, key: false, pid: Some((0x55, false)), tl0: None, tid: Some((2, true)) });
        let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
        assert_eq!((i.picture_id, i.tl0_pic_idx, i.temporal), (Some(0x55), None, 2));
        assert!(i.switching_point && !i.key_frame);

        let p = vp8(&Vp8 { start: false, key: true, pid: None, tl0: None, tid: Some((1, false)) });
        let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
        assert!(!i.start_of_frame && !i.key_frame && !i.switching_point);

        // No extension at all.
        let i = parse_simple(LayerCodec::Vp8, &[0x10, 0x10]).unwrap();
        assert!(i.key_frame && i.temporal == 0 && i.picture_id.is_none());
        // K without T: the TID byte is present but TID is not used.
        let i = parse_simple(LayerCodec::Vp8, &[0x90, 0x10, 0xC5, 0x11]).unwrap();
        assert_eq!(i.temporal, 0);

        // Truncations are malformed.
        let full = vp8(&Vp8 { start: true, key: true, pid: Some((0x1234, true)), tl0: Some(7), tid: Some((0, false)) });
        for n in 0..6 {
            assert_eq!(parse_simple(LayerCodec::Vp8, &full[..n]), None, "len {n}");
        }
    }

    #[test]
    fn vp8_temporal_target_zero_forwards_only_tl0() {
        let mut f = LayerFilter::new(LayerCodec::Vp8, 1, 3);
        f.set_target(0, 0);
        for n in 0..40u16 {
            let mut p = l1t3(n, 100, 10, true);
            let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
            let d = f.process(&i, &mut p, false);
            assert_eq!(d == FWD, i.temporal == 0, "frame {n}");
        }
        assert_eq!(f.current(), Some((0, 0)));
    }

    #[test]
    fn vp8_temporal_upswitch_only_at_sync_or_key_downswitch_at_frame_start() {
        let mut f = LayerFilter::new(LayerCodec::Vp8, 1, 3);
        assert_eq!(f.current(), None);
        f.set_target(0, 0);
        assert!(run(&mut f, 0));
        assert!(!run(&mut f, 1));
        assert!(!run(&mut f, 2));
        f.set_target(0, 2);
        assert_eq!(f.target(), (0, 2));
        assert!(!run(&mut f, 3), "TL2 without Y: no switch");
        assert_eq!(f.current(), Some((0, 0)));
        assert!(run(&mut f, 4));
        assert!(run(&mut f, 5), "TL2 with Y: switch");
        assert_eq!(f.current(), Some((0, 2)));
        assert!(run(&mut f, 6));
        assert!(run(&mut f, 7));

        // Step by step: from 0 to target 2 when a TL1 sync frame comes first.
        f.set_target(0, 0);
        assert!(run(&mut f, 8));
        assert!(!run(&mut f, 9));
        assert_eq!(f.current(), Some((0, 0)));
        f.set_target(0, 2);
        assert!(run(&mut f, 10), "TL1 with Y: switch to 1");
        assert_eq!(f.current(), Some((0, 1)));
        assert!(!run(&mut f, 11), "TL2 without Y");
        assert!(run(&mut f, 12));
        assert!(run(&mut f, 13), "TL2 with Y: switch to 2");
        assert_eq!(f.current(), Some((0, 2)));
        f.set_target(0, 1);
        assert!(run(&mut f, 14), "down to 1 at the frame start");
        assert_eq!(f.current(), Some((0, 1)));
        assert!(!run(&mut f, 15));
        assert!(run(&mut f, 16));
        assert!(!run(&mut f, 17), "TL2 with Y, but above the target");

        // Key frame with target 2 from current 0: switch at the key frame.
        let mut g = LayerFilter::new(LayerCodec::Vp8, 1, 3);
        g.set_target(0, 0);
        assert!(run(&mut g, 4));
        g.set_target(0, 2);
        assert!(run(&mut g, 0)); // key frame
        // Allowed up to 2 from here, reported as 2 once a TL2 packet went out.
        assert_eq!(g.current(), Some((0, 0)));
        assert!(run(&mut g, 3)); // TL2 without Y is now forwarded
        assert_eq!(g.current(), Some((0, 2)));

        // Downswitch waits for the next start of frame.
        let mut h = LayerFilter::new(LayerCodec::Vp8, 1, 3);
        assert!(run(&mut h, 1));
        h.set_target(0, 0);
        let mut cont = vp8(&Vp8 { start: false, key: false, pid: Some((1, true)), tl0: Some(0), tid: Some((2, true)) });
        let i = parse_simple(LayerCodec::Vp8, &cont).unwrap();
        assert_eq!(h.process(&i, &mut cont, true), Decision::Forward { marker: true });
        assert_eq!(h.current(), Some((0, 2)));
        assert!(!run(&mut h, 2));
        assert_eq!(h.current(), Some((0, 0)));
    }

    fn run(f: &mut LayerFilter, n: u16) -> bool {
        let mut p = l1t3(n, 0, 0, true);
        let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
        f.process(&i, &mut p, false) == FWD
    }

    #[test]
    fn vp8_without_tid_is_never_dropped() {
        let mut f = LayerFilter::new(LayerCodec::Vp8, 1, 3);
        f.set_target(0, 0);
        for n in 0..10u16 {
            let mut p = vp8(&Vp8 { start: true, key: n == 0, pid: Some((n, false)), tl0: None, tid: None });
            let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
            assert_eq!(f.process(&i, &mut p, true), Decision::Forward { marker: true });
        }
    }

    #[test]
    fn vp8_picture_id_and_tl0_continuous_across_resync() {
        let mut f = LayerFilter::new(LayerCodec::Vp8, 1, 3);
        // Encoding A: picture ids from 1000, TL0PICIDX from 50.
        let mut last = (0, 0);
        for n in 0..10u16 {
            let mut p = l1t3(n, 1000, 50, true);
            let len = p.len();
            let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
            assert_eq!(f.process(&i, &mut p, false), FWD);
            assert_eq!(p.len(), len);
            last = vp8_out(&p);
            assert_eq!(last, (1000 + n, 50 + (n / 4) as u8), "no rewriting before a resync");
        }
        // Switch to encoding B (picture ids from 30000, TL0PICIDX from 200) at its key frame.
        f.resync();
        for n in 0..12u16 {
            let mut p = l1t3(n, 30000, 200, true);
            let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
            assert_eq!(f.process(&i, &mut p, false), FWD);
            let (pid, tl0) = vp8_out(&p);
            assert_eq!(pid, last.0 + 1 + n);
            assert_eq!(tl0, last.1.wrapping_add(1).wrapping_add((n / 4) as u8));
            assert_eq!(p.len(), l1t3(n, 0, 0, true).len());
            assert!(p[2] & 0x80 != 0, "M bit kept");
        }
        // Back to A, whose numbering went on meanwhile; with frame dropping (target 0) ids keep
        // their offset (gaps are not compacted).
        let last_out = (last.0 + 12, last.1.wrapping_add(3));
        f.resync();
        f.set_target(0, 0);
        let mut outs = Vec::new();
        for n in 0..8u16 {
            let mut p = l1t3(n, 1040, 60, true);
            let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
            if f.process(&i, &mut p, false) == FWD {
                outs.push(vp8_out(&p));
            }
        }
        assert_eq!(outs, vec![(last_out.0 + 1, last_out.1.wrapping_add(1)), (last_out.0 + 5, last_out.1.wrapping_add(2))]);
    }

    #[test]
    fn vp8_picture_id_wraps_with_its_width() {
        // 7-bit ids: A ends at 126, 127; B starts at 5 -> 0, 1, ...
        let mut f = LayerFilter::new(LayerCodec::Vp8, 1, 1);
        for pid in [126u16, 127] {
            let mut p = vp8(&Vp8 { start: true, key: false, pid: Some((pid, false)), tl0: Some(255), tid: Some((0, false)) });
            let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
            f.process(&i, &mut p, false);
        }
        f.resync();
        for (k, pid) in [5u16, 6, 7].into_iter().enumerate() {
            let mut p = vp8(&Vp8 { start: true, key: k == 0, pid: Some((pid, false)), tl0: Some(9 + k as u8), tid: Some((0, false)) });
            let len = p.len();
            let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
            f.process(&i, &mut p, false);
            assert_eq!(p.len(), len);
            assert_eq!(p[2] & 0x80, 0, "stays 7-bit");
            assert_eq!(vp8_out(&p), (k as u16, k as u8), "wraps: 127 + 1 = 0, TL0 255 + 1 = 0");
        }
        // 15-bit ids wrap at 0x7fff.
        let mut f = LayerFilter::new(LayerCodec::Vp8, 1, 1);
        let mut p = vp8(&Vp8 { start: true, key: true, pid: Some((0x7ffe, true)), tl0: None, tid: None });
        let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
        f.process(&i, &mut p, false);
        f.resync();
        for (k, pid) in [300u16, 301].into_iter().enumerate() {
            let mut p = vp8(&Vp8 { start: true, key: k == 0, pid: Some((pid, true)), tl0: None, tid: None });
            let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
            f.process(&i, &mut p, false);
            let i = parse_simple(LayerCodec::Vp8, &p).unwrap();
            assert_eq!(i.picture_id, Some([0x7fff, 0][k]));
        }
    }

    // ---- VP9 -------------------------------------------------------------------------------

    #[derive(Clone, Copy)]
    struct Vp9 {
        inter: bool,
        start: bool,
        end: bool,
        pid: u16,
        tid: u8,
        u: bool,
        sid: u8,
        d: bool,
        tl0: u8,
    }

    /// Non-flexible mode, 15-bit picture id, L bit.
    fn vp9(v: Vp9) -> Vec<u8> {
        let b0 = 0x80 | 0x20 | if v.inter { 0x40 } else { 0 } | if v.start { 0x08 } else { 0 } | if v.end { 0x04 } else { 0 };
        let layer = (v.tid << 5) | if v.u { 0x10 } else { 0 } | (v.sid << 1) | u8::from(v.d);
        vec![b0, 0x80 | (v.pid >> 8) as u8, v.pid as u8, layer, v.tl0, 0xAA, 0xBB]
    }

    /// One L3T3 picture `n` (k-SVC: only the key picture has P=0 on every layer): 3 layer frames,
    /// each split into two packets.
    fn l3t3_picture(n: u16, key: bool, pid_base: u16) -> Vec<Vec<u8>> {
        let tid = [0, 2, 1, 2][usize::from(n % 4)];
        let mut out = Vec::new();
        for sid in 0..3 {
            for part in 0..2 {
                out.push(vp9(Vp9 {
                    inter: !key,
                    start: part == 0,
                    end: part == 1,
                    pid: (pid_base + n) & 0x7fff,
                    tid,
                    u: tid > 0 && n % 4 != 3,
                    sid,
                    d: sid > 0 && key,
                    tl0: (n / 4) as u8,
                }));
            }
        }
        out
    }

    /// Runs packets through the filter; returns (sid, marker) of the forwarded ones.
    fn run_vp9(f: &mut LayerFilter, packets: &[Vec<u8>]) -> Vec<(u8, bool)> {
        let mut out = Vec::new();
        for p in packets {
            let mut p = p.clone();
            let i = parse_simple(LayerCodec::Vp9, &p).unwrap();
            if let Decision::Forward { marker } = f.process(&i, &mut p, i.end_of_frame && i.spatial == 2) {
                out.push((i.spatial, marker));
            }
        }
        out
    }

    #[test]
    fn vp9_descriptor_parsing() {
        let p = vp9(Vp9 { inter: false, start: true, end: false, pid: 0x1abc, tid: 0, u: false, sid: 0, d: false, tl0: 3 });
        let i = parse_simple(LayerCodec::Vp9, &p).unwrap();
        assert!(i.key_frame && i.start_of_frame && !i.end_of_frame && i.spatial_switch_point);
        assert_eq!((i.picture_id, i.tl0_pic_idx), (Some(0x1abc), Some(3)));
        let p = vp9(Vp9 { inter: true, start: false, end: true, pid: 1, tid: 2, u: true, sid: 1, d: true, tl0: 3 });
        let i = parse_simple(LayerCodec::Vp9, &p).unwrap();
        assert_eq!((i.spatial, i.temporal), (1, 2));
        assert!(i.switching_point && !i.key_frame && !i.spatial_switch_point && i.end_of_frame);
        // P=0 on an upper layer: spatial switch point but not a key frame.
        let p = vp9(Vp9 { inter: false, start: true, end: true, pid: 1, tid: 0, u: false, sid: 2, d: true, tl0: 3 });
        let i = parse_simple(LayerCodec::Vp9, &p).unwrap();
        assert!(!i.key_frame && i.spatial_switch_point);

        // Flexible mode: I, P, L, F, B + 7-bit pid, layer, two P_DIFFs, no TL0PICIDX.
        let p = [0xF8, 0x05, (1 << 5) | (1 << 1), 0x03, 0x04, 0xAA];
        let i = parse_simple(LayerCodec::Vp9, &p).unwrap();
        assert_eq!((i.picture_id, i.tl0_pic_idx, i.spatial, i.temporal), (Some(5), None, 1, 1));
        // More than 3 P_DIFFs is malformed; a truncated P_DIFF list too.
        assert_eq!(parse_simple(LayerCodec::Vp9, &[0xF8, 0x05, 0x00, 0x03, 0x03, 0x03, 0x02]), None);
        assert_eq!(parse_simple(LayerCodec::Vp9, &[0xF8, 0x05, 0x00, 0x03]), None);
        // No L, no I.
        let i = parse_simple(LayerCodec::Vp9, &[0x0C, 0xAA]).unwrap();
        assert!(i.key_frame && i.start_of_frame && i.end_of_frame && i.picture_id.is_none());
        // Scalability structure: N_S=2 (3 layers), Y, G with 2 entries (R=1, R=0).
        let mut ss = vec![0x8A, 0x80, 0x01, (2 << 5) | 0x18];
        ss.extend_from_slice(&[0u8; 12]);
        ss.extend_from_slice(&[2, 0x04, 0x01, 0x20]);
        let i = parse_simple(LayerCodec::Vp9, &ss).unwrap();
        assert!(i.key_frame);
        for n in 1..ss.len() {
            assert_eq!(parse_simple(LayerCodec::Vp9, &ss[..n]), None, "len {n}");
        }
        assert_eq!(parse_simple(LayerCodec::Vp9, &[]), None);
    }

    #[test]
    fn vp9_l3t3_target_and_marker() {
        let mut f = LayerFilter::new(LayerCodec::Vp9, 3, 3);
        f.set_target(1, 2);
        let fwd = run_vp9(&mut f, &l3t3_picture(0, true, 0));
        assert_eq!(fwd, vec![(0, false), (0, false), (1, false), (1, true)]);
        // The pictures are all TL0: temporal layer 0 is what goes out (the target allows 2).
        assert_eq!(f.current(), Some((1, 0)));
        for n in 1..8 {
            let fwd = run_vp9(&mut f, &l3t3_picture(n, false, 0));
            assert_eq!(fwd, vec![(0, false), (0, false), (1, false), (1, true)], "picture {n}");
        }
        // Temporal target 0 + spatial 1.
        f.set_target(1, 0);
        let mut count = 0;
        for n in 8..16 {
            let fwd = run_vp9(&mut f, &l3t3_picture(n, false, 0));
            if n % 4 == 0 {
                assert_eq!(fwd, vec![(0, false), (0, false), (1, false), (1, true)]);
            } else {
                assert!(fwd.is_empty());
            }
            count += fwd.len();
        }
        assert_eq!(count, 8);
        // The source's own marker on sid 2 E is never forwarded (layer dropped); full target.
        let mut g = LayerFilter::new(LayerCodec::Vp9, 3, 3);
        let fwd = run_vp9(&mut g, &l3t3_picture(0, true, 0));
        assert_eq!(fwd, vec![(0, false), (0, false), (1, false), (1, false), (2, false), (2, true)]);
    }

    #[test]
    fn vp9_current_reports_only_layers_that_went_out() {
        // L3T3 signalled, two spatial layers sent (as Chrome does at low resolutions).
        let mut f = LayerFilter::new(LayerCodec::Vp9, 3, 3);
        assert_eq!(run_vp9(&mut f, &l3t3_picture(0, true, 0)[..4]).len(), 4);
        assert_eq!(f.current(), Some((1, 0)), "target (2, 2), but only S1 T0 went out");
        for n in 1..4 {
            assert_eq!(run_vp9(&mut f, &l3t3_picture(n, false, 0)[..4]).len(), 4);
        }
        assert_eq!(f.current(), Some((1, 2)), "T1 and T2 pictures went out, S2 never");
        // The third spatial layer shows up: reported once its packets go out.
        assert_eq!(run_vp9(&mut f, &l3t3_picture(4, false, 0)).len(), 6);
        assert_eq!(f.current(), Some((2, 2)));
        // A key picture does not lower it (its upper layers follow within the picture).
        assert_eq!(run_vp9(&mut f, &l3t3_picture(8, true, 0)[..2]).len(), 2);
        assert_eq!(f.current(), Some((2, 2)));
        // Another source (a simulcast switch): reported afresh as its packets go out.
        f.resync();
        assert_eq!(f.current(), None);
        assert_eq!(run_vp9(&mut f, &l3t3_picture(8, true, 0)[..2]).len(), 2);
        assert_eq!(f.current(), Some((0, 0)));
        // A switch down is reported at once.
        f.set_target(0, 0);
        run_vp9(&mut f, &l3t3_picture(9, false, 0));
        assert_eq!(f.current(), Some((0, 0)));
    }

    #[test]
    fn vp9_spatial_downswitch_waits_for_next_picture() {
        let mut f = LayerFilter::new(LayerCodec::Vp9, 3, 3);
        run_vp9(&mut f, &l3t3_picture(0, true, 0));
        let pic = l3t3_picture(1, false, 0);
        assert_eq!(run_vp9(&mut f, &pic[..2]).len(), 2);
        f.set_target(0, 2);
        let rest = run_vp9(&mut f, &pic[2..]);
        assert_eq!(rest, vec![(1, false), (1, false), (2, false), (2, true)], "rest of the picture unchanged");
        assert_eq!(f.current(), Some((2, 2)));
        let next = run_vp9(&mut f, &l3t3_picture(2, false, 0));
        assert_eq!(next, vec![(0, false), (0, true)]);
        assert_eq!(f.current(), Some((0, 2)));
    }

    #[test]
    fn vp9_spatial_upswitch_waits_for_key_frame_or_non_inter_layer_frame() {
        let mut f = LayerFilter::new(LayerCodec::Vp9, 3, 3);
        f.set_target(0, 2);
        run_vp9(&mut f, &l3t3_picture(0, true, 0));
        f.set_target(2, 2);
        for n in 1..5 {
            let fwd = run_vp9(&mut f, &l3t3_picture(n, false, 0));
            assert_eq!(fwd, vec![(0, false), (0, true)], "picture {n}: no switch point yet");
        }
        // Picture 5: the sid 1 layer frame is not inter-picture predicted (P=0): switch to 1 there.
        let mut pic = l3t3_picture(5, false, 0);
        for p in &mut pic[2..4] {
            p[0] &= !0x40;
        }
        let fwd = run_vp9(&mut f, &pic);
        assert_eq!(fwd, vec![(0, false), (0, true), (1, false), (1, true)]);
        assert_eq!(f.current(), Some((1, 2)));
        // Next pictures keep 0 and 1; a key picture brings 2.
        assert_eq!(run_vp9(&mut f, &l3t3_picture(6, false, 0)).len(), 4);
        assert_eq!(run_vp9(&mut f, &l3t3_picture(7, true, 0)).len(), 6);
        assert_eq!(f.current(), Some((2, 2)));
        // A P=0 frame of sid 2 while at sid 0 does not skip sid 1.
        let mut g = LayerFilter::new(LayerCodec::Vp9, 3, 3);
        g.set_target(0, 2);
        run_vp9(&mut g, &l3t3_picture(0, true, 0));
        g.set_target(2, 2);
        let mut pic = l3t3_picture(1, false, 0);
        for p in &mut pic[4..6] {
            p[0] &= !0x40;
        }
        assert_eq!(run_vp9(&mut g, &pic).len(), 2);
        assert_eq!(g.current(), Some((0, 2)));
    }

    #[test]
    fn vp9_temporal_switching_uses_u_bit() {
        let mut f = LayerFilter::new(LayerCodec::Vp9, 1, 3);
        f.set_target(0, 0);
        let pictures: Vec<Vec<u8>> = (0..12u16)
            .map(|n| {
                let tid = [0, 2, 1, 2][usize::from(n % 4)];
                vp9(Vp9 { inter: n != 0, start: true, end: true, pid: n, tid, u: n % 4 == 1 || n % 4 == 2, sid: 0, d: false, tl0: (n / 4) as u8 })
            })
            .collect();
        let mut fwd = Vec::new();
        for (n, p) in pictures.iter().enumerate() {
            if n == 3 {
                f.set_target(0, 2);
            }
            let mut p = p.clone();
            let i = parse_simple(LayerCodec::Vp9, &p).unwrap();
            if let Decision::Forward { marker } = f.process(&i, &mut p, true) {
                assert!(marker);
                fwd.push(n);
            }
        }
        // n=3 TL2 without U dropped, n=5 TL2 with U switches.
        assert_eq!(fwd, vec![0, 4, 5, 6, 7, 8, 9, 10, 11]);
    }

    #[test]
    fn vp9_picture_id_continuous_across_resync() {
        let mut f = LayerFilter::new(LayerCodec::Vp9, 3, 3);
        let mut last = 0;
        for n in 0..5 {
            for mut p in l3t3_picture(n, n == 0, 0x7ff0) {
                let i = parse_simple(LayerCodec::Vp9, &p).unwrap();
                f.process(&i, &mut p, false);
                last = parse_simple(LayerCodec::Vp9, &p).unwrap().picture_id.unwrap();
            }
        }
        assert_eq!(last, 0x7ff4);
        f.resync();
        for n in 0..20 {
            for mut p in l3t3_picture(n, n == 0, 100) {
                let len = p.len();
                let i = parse_simple(LayerCodec::Vp9, &p).unwrap();
                f.process(&i, &mut p, false);
                assert_eq!(p.len(), len);
                let o = parse_simple(LayerCodec::Vp9, &p).unwrap();
                assert_eq!(o.picture_id, Some((0x7ff5 + n) & 0x7fff));
            }
        }
    }

    // ---- H.264 -----------------------------------------------------------------------------

    #[test]
    fn h264_key_frames_and_frame_marking() {
        let key = |p: &[u8]| parse_simple(LayerCodec::H264, p).unwrap().key_frame;
        assert!(key(&[0x65, 0x88]));
        assert!(key(&[0x67, 0x42]));
        assert!(!key(&[0x41, 0x9a]));
        assert!(key(&[0x78, 0, 2, 0x09, 0xf0, 0, 2, 0x67, 0x42]));
        assert!(!key(&[0x78, 0, 2, 0x09, 0xf0, 0, 1, 0x68]));
        assert!(key(&[0x7c, 0x85, 0x00]));
        assert!(!key(&[0x7c, 0x05, 0x00]), "FU-A continuation");
        assert_eq!(parse_simple(LayerCodec::H264, &[0x78, 0, 5, 0x67]), None, "STAP-A overflow");
        assert_eq!(parse_simple(LayerCodec::H264, &[0x78, 0]), None);
        assert_eq!(parse_simple(LayerCodec::H264, &[0x7c]), None);
        assert_eq!(parse_simple(LayerCodec::H264, &[]), None);

        let mut av1 = Av1Structure::new();
        let i = parse(LayerCodec::H264, &[0x41, 0], None, Some(&[0x80 | 0x40 | 0x08 | 2, 0, 9]), &mut av1).unwrap();
        assert!(i.start_of_frame && i.end_of_frame && i.switching_point);
        assert_eq!((i.temporal, i.tl0_pic_idx), (2, Some(9)));
        assert_eq!(parse(LayerCodec::H264, &[0x41, 0], None, Some(&[]), &mut av1), None);

        // Temporal filtering with frame marking; no payload rewrite.
        let mut f = LayerFilter::new(LayerCodec::H264, 1, 3);
        f.set_target(0, 0);
        let mut fwd = 0;
        for n in 0..8u8 {
            let tid = [0, 2, 1, 2][usize::from(n % 4)];
            let mut p = [if n == 0 { 0x65 } else { 0x41 }, n];
            let orig = p;
            let fm = [0xC0 | tid];
            let i = parse(LayerCodec::H264, &p, None, Some(&fm), &mut av1).unwrap();
            if let Decision::Forward { marker } = f.process(&i, &mut p, true) {
                assert!(marker);
                assert_eq!(tid, 0);
                fwd += 1;
            }
            assert_eq!(p, orig);
        }
        assert_eq!(fwd, 2);
        // Without frame marking nothing is dropped.
        let mut p = [0x41, 0];
        let i = parse_simple(LayerCodec::H264, &p).unwrap();
        assert_eq!(f.process(&i, &mut p, false), FWD);
    }

    // ---- AV1 -------------------------------------------------------------------------------

    #[derive(Default)]
    struct BitWriter {
        bytes: Vec<u8>,
        bits: usize,
    }

    impl BitWriter {
        fn f(&mut self, n: u32, v: u32) {
            for i in (0..n).rev() {
                if self.bits % 8 == 0 {
                    self.bytes.push(0);
                }
                let bit = ((v >> i) & 1) as u8;
                *self.bytes.last_mut().unwrap() |= bit << (7 - self.bits % 8);
                self.bits += 1;
            }
        }
        fn ns(&mut self, n: u32, v: u32) {
            if n == 1 {
                return;
            }
            let w = 32 - n.leading_zeros();
            let m = (1 << w) - n;
            if v < m {
                self.f(w - 1, v);
            } else {
                self.f(w, v + m);
            }
        }
    }

    const TEMPLATE_OFFSET: u32 = 60; // so that template ids wrap past 63

    /// DTIs per template for L1T3 (decode targets T0, T0-1, T0-2): key, T0, T1, T2, T2.
    const L1T3_DTIS: [[u32; 3]; 5] = [[2, 2, 2], [2, 2, 2], [0, 1, 2], [0, 0, 1], [0, 0, 1]];
    const L1T3_FDIFFS: [&[u32]; 5] = [&[], &[4], &[2], &[1], &[1, 3]];

    fn write_l1t3_structure(w: &mut BitWriter, resolutions: bool) {
        w.f(6, TEMPLATE_OFFSET);
        w.f(5, 2); // 3 decode targets
        // template layers: T0, T0, T1, T2, T2
        for idc in [0, 1, 1, 0, 3] {
            w.f(2, idc);
        }
        for dtis in L1T3_DTIS {
            for d in dtis {
                w.f(2, d);
            }
        }
        for fd in L1T3_FDIFFS {
            for &d in fd {
                w.f(1, 1);
                w.f(4, d - 1);
            }
            w.f(1, 0);
        }
        // one chain protecting all decode targets
        w.ns(4, 1);
        for _ in 0..3 {
            w.ns(1, 0);
        }
        for c in [0, 4, 2, 1, 3] {
            w.f(4, c);
        }
        w.f(1, u32::from(resolutions));
        if resolutions {
            w.f(16, 1279);
            w.f(16, 719);
        }
    }

    fn mandatory(w: &mut BitWriter, start: bool, end: bool, template_index: u32, frame: u32) {
        w.f(1, u32::from(start));
        w.f(1, u32::from(end));
        w.f(6, (template_index + TEMPLATE_OFFSET) % 64);
        w.f(16, frame);
    }

    fn key_dd() -> (Vec<u8>, usize) {
        let mut w = BitWriter::default();
        mandatory(&mut w, true, true, 0, 1000);
        w.f(5, 0b10000); // structure present, no active mask, no custom fields
        write_l1t3_structure(&mut w, true);
        (w.bytes, w.bits)
    }

    fn simple_dd(template_index: u32, frame: u32) -> Vec<u8> {
        let mut w = BitWriter::default();
        mandatory(&mut w, true, true, template_index, frame);
        w.bytes
    }

    #[test]
    fn ns_round_trips() {
        for n in 1..40u32 {
            for v in 0..n {
                let mut w = BitWriter::default();
                w.ns(n, v);
                w.f(8, 0xA5);
                let mut r = BitReader::new(&w.bytes);
                assert_eq!(r.ns(n), Some(v), "ns({n}) = {v}");
                assert_eq!(r.bits(8), Some(0xA5));
            }
        }
        // ns(5) codes from the specification's table.
        let codes: [(u32, u32, u32); 5] = [(0, 2, 0b00), (1, 2, 0b01), (2, 2, 0b10), (3, 3, 0b110), (4, 3, 0b111)];
        for (v, bits, code) in codes {
            let mut w = BitWriter::default();
            w.ns(5, v);
            assert_eq!(w.bits, bits as usize);
            assert_eq!(u32::from(w.bytes[0]) >> (8 - bits), code);
        }
    }

    #[test]
    fn av1_dd_structure_and_temporal_filtering() {
        let mut av1 = Av1Structure::new();
        // Mandatory-only descriptors before any structure are unusable.
        assert_eq!(parse(LayerCodec::Av1, &[0], Some(&simple_dd(1, 999)), None, &mut av1), None);

        let (dd, _) = key_dd();
        let i = parse(LayerCodec::Av1, &[0x18], Some(&dd), None, &mut av1).unwrap();
        assert!(i.key_frame && i.start_of_frame && i.end_of_frame && i.switching_point && i.spatial_switch_point);
        assert_eq!((i.spatial, i.temporal), (0, 0));
        assert!(av1.is_known());
        assert_eq!(av1.template_count(), 5);
        assert_eq!(av1.decode_target_count(), 3);
        assert_eq!(av1.chain_count(), 1);
        assert_eq!((av1.max_spatial_id(), av1.max_temporal_id()), (0, 2));
        assert_eq!(av1.template_layers(2), Some((0, 1)));
        assert_eq!(av1.template_layers(5), None);
        assert_eq!(av1.decode_target_layers(0), Some((0, 0)));
        assert_eq!(av1.decode_target_layers(2), Some((0, 2)));
        assert_eq!(av1.render_resolution(0), Some((1280, 720)));
        assert_eq!(av1.render_resolution(1), None);
        assert_eq!(av1.active_decode_targets(), 0b111);

        // Later frames: T0 (template 1), T2, T1, T2.
        let mut f = LayerFilter::new(LayerCodec::Av1, 1, 3);
        f.set_target(0, 0);
        let mut p = [0x10];
        assert_eq!(f.process(&i, &mut p, true), Decision::Forward { marker: true });
        let pattern = [1u32, 3, 2, 4];
        let mut frame = 1001;
        let mut forwarded = Vec::new();
        for round in 0..4 {
            if round == 2 {
                f.set_target(0, 2);
            }
            for &t in &pattern {
                let info = parse(LayerCodec::Av1, &[0x10], Some(&simple_dd(t, frame)), None, &mut av1).unwrap();
                frame += 1;
                let want_t = [0, 0, 1, 2, 2][t as usize];
                assert_eq!(info.temporal, want_t);
                assert!(!info.key_frame);
                assert_eq!(info.switching_point, t == 1, "only T0 frames are Switch for every target");
                if let Decision::Forward { marker } = f.process(&info, &mut p, false) {
                    assert!(marker, "end of frame of the highest spatial layer");
                    forwarded.push((round, info.temporal));
                }
            }
        }
        // Rounds 0 and 1: only T0; round 2 switches up at its T0.
        assert_eq!(forwarded, vec![(0, 0), (1, 0), (2, 0), (2, 2), (2, 1), (2, 2), (3, 0), (3, 2), (3, 1), (3, 2)]);
        // Downswitch at the next frame start.
        f.set_target(0, 1);
        let info = parse(LayerCodec::Av1, &[0x10], Some(&simple_dd(3, frame)), None, &mut av1).unwrap();
        assert_eq!(f.process(&info, &mut p, false), Decision::Drop);
        assert_eq!(f.current(), Some((0, 1)));
    }

    #[test]
    fn av1_dd_extended_fields() {
        let mut av1 = Av1Structure::new();
        let (dd, _) = key_dd();
        parse(LayerCodec::Av1, &[], Some(&dd), None, &mut av1).unwrap();

        // Extended descriptor without structure: active decode targets + custom dtis, fdiffs and
        // chains, then a byte of zero padding.
        let mut w = BitWriter::default();
        mandatory(&mut w, false, true, 2, 2000);
        w.f(5, 0b01111);
        w.f(3, 0b011); // active decode targets (DtCnt = 3 bits)
        for d in [0, 2, 2] {
            w.f(2, d); // custom dtis: Switch for both targets containing T1
        }
        w.f(2, 1);
        w.f(4, 1); // fdiff 2
        w.f(2, 2);
        w.f(8, 200); // fdiff 201
        w.f(2, 0);
        w.f(8, 2); // one chain fdiff
        w.f(8, 0); // padding
        let i = parse(LayerCodec::Av1, &[], Some(&w.bytes), None, &mut av1).unwrap();
        assert_eq!((i.spatial, i.temporal), (0, 1));
        assert!(!i.start_of_frame && i.end_of_frame && !i.key_frame);
        assert!(i.switching_point, "custom DTIs say Switch");
        assert_eq!(av1.active_decode_targets(), 0b011);
        assert_eq!(av1.template_count(), 5, "structure kept");

        // Template id outside the structure's range.
        assert_eq!(parse(LayerCodec::Av1, &[], Some(&simple_dd(5, 1)), None, &mut av1), None);
        assert_eq!(parse(LayerCodec::Av1, &[], Some(&simple_dd(63, 1)), None, &mut av1), None);
        // Too short.
        assert_eq!(parse(LayerCodec::Av1, &[], Some(&[0x80, 0]), None, &mut av1), None);
        assert_eq!(parse(LayerCodec::Av1, &[], Some(&[]), None, &mut av1), None);

        // Active decode targets without any known structure.
        let mut fresh = Av1Structure::new();
        let mut w = BitWriter::default();
        mandatory(&mut w, true, true, 0, 1);
        w.f(5, 0b01000);
        w.f(3, 1);
        assert_eq!(parse(LayerCodec::Av1, &[], Some(&w.bytes), None, &mut fresh), None);
        assert!(!fresh.is_known());
    }

    #[test]
    fn av1_truncated_descriptors_are_rejected_and_keep_state() {
        let (dd, bits) = key_dd();
        let meaningful = bits / 8; // bytes fully needed before the padding
        for n in 0..meaningful {
            let mut av1 = Av1Structure::new();
            assert_eq!(parse(LayerCodec::Av1, &[], Some(&dd[..n]), None, &mut av1), None, "len {n}");
            assert!(!av1.is_known(), "len {n}");
        }
        // A bad descriptor does not clobber a stored structure.
        let mut av1 = Av1Structure::new();
        parse(LayerCodec::Av1, &[], Some(&dd), None, &mut av1).unwrap();
        let mut bad = dd.clone();
        bad.truncate(6);
        assert_eq!(parse(LayerCodec::Av1, &[], Some(&bad), None, &mut av1), None);
        assert_eq!(av1.template_count(), 5);
        assert!(parse(LayerCodec::Av1, &[], Some(&simple_dd(2, 5)), None, &mut av1).is_some());

        // Too many templates (65 x next_layer_idc = 0).
        let mut w = BitWriter::default();
        mandatory(&mut w, true, true, 0, 1);
        w.f(5, 0b10000);
        w.f(6, 0);
        w.f(5, 0);
        for _ in 0..70 {
            w.f(2, 0);
        }
        w.f(2, 3);
        w.f(32, 0);
        assert_eq!(parse(LayerCodec::Av1, &[], Some(&w.bytes), None, &mut Av1Structure::new()), None);
    }

    #[test]
    fn av1_l2t1_marker_on_highest_forwarded_layer() {
        // Two spatial layers, one temporal: templates S0 key, S0, S1 (refs S0), S1 (refs S0 + S1).
        let mut w = BitWriter::default();
        mandatory(&mut w, true, true, 0, 1);
        w.f(5, 0b10000);
        w.f(6, TEMPLATE_OFFSET);
        w.f(5, 1); // 2 decode targets: S0, S0+S1
        for idc in [0, 2, 0, 3] {
            w.f(2, idc);
        }
        for dtis in [[2, 2], [2, 3], [0, 2], [0, 3]] {
            for d in dtis {
                w.f(2, d);
            }
        }
        for fd in [&[][..], &[2], &[1], &[1, 2]] {
            for &d in fd {
                w.f(1, 1);
                w.f(4, d - 1);
            }
            w.f(1, 0);
        }
        w.ns(3, 0); // no chains
        w.f(1, 0);
        let mut av1 = Av1Structure::new();
        let key = parse(LayerCodec::Av1, &[], Some(&w.bytes), None, &mut av1).unwrap();
        assert!(key.key_frame && key.spatial == 0);
        assert_eq!(av1.decode_target_layers(1), Some((1, 0)));

        let mut f = LayerFilter::new(LayerCodec::Av1, 2, 1);
        f.set_target(0, 0);
        let mut p = [0u8];
        assert_eq!(f.process(&key, &mut p, false), Decision::Forward { marker: true });
        let s1 = parse(LayerCodec::Av1, &[], Some(&simple_dd(2, 2)), None, &mut av1).unwrap();
        assert_eq!(s1.spatial, 1);
        assert_eq!(f.process(&s1, &mut p, true), Decision::Drop);
        // Up to S1: waits for a key frame.
        f.set_target(1, 0);
        let s0 = parse(LayerCodec::Av1, &[], Some(&simple_dd(1, 3)), None, &mut av1).unwrap();
        assert_eq!(f.process(&s0, &mut p, false), Decision::Forward { marker: true });
        let s1 = parse(LayerCodec::Av1, &[], Some(&simple_dd(3, 4)), None, &mut av1).unwrap();
        assert_eq!(f.process(&s1, &mut p, true), Decision::Drop);
        assert_eq!(f.process(&key, &mut p, false), Decision::Forward { marker: false });
        assert_eq!(f.process(&s1, &mut p, true), Decision::Forward { marker: true });
        assert_eq!(f.current(), Some((1, 0)));
    }

    #[test]
    fn av1_without_dd() {
        let parse_av1 = |p: &[u8]| parse_simple(LayerCodec::Av1, p);
        // N=1.
        assert!(parse_av1(&[0x18, 0x32, 0x00]).unwrap().key_frame);
        // W=2: sequence header (len 2) then a frame OBU to the end.
        let i = parse_av1(&[0x20, 0x02, 0x0A, 0x00, 0x32, 0x01]).unwrap();
        assert!(i.key_frame && i.start_of_frame && i.temporal == 0);
        // W=1: a single frame OBU.
        let i = parse_av1(&[0x10, 0x32, 0x00]).unwrap();
        assert!(!i.key_frame && i.start_of_frame);
        // Z=1: continuation, not a frame start.
        let i = parse_av1(&[0x90, 0x0A, 0x00]).unwrap();
        assert!(!i.key_frame && !i.start_of_frame);
        // W=0: length-prefixed elements; overflow is malformed.
        assert!(parse_av1(&[0x00, 0x01, 0x0A, 0x01, 0x32]).unwrap().key_frame);
        assert_eq!(parse_av1(&[0x00, 0x05, 0x0A]), None);
        assert_eq!(parse_av1(&[0x00, 0x80]), None);
        assert_eq!(parse_av1(&[]), None);
    }

    #[test]
    fn other_codec_forwards_everything() {
        let mut f = LayerFilter::new(LayerCodec::Other, 0, 0);
        f.set_target(5, 5);
        assert_eq!(f.target(), (0, 0));
        let i = PacketInfo { spatial: 3, temporal: 3, ..PacketInfo::default() };
        let mut p = [1, 2, 3];
        assert_eq!(f.process(&i, &mut p, true), Decision::Forward { marker: true });
        assert_eq!(p, [1, 2, 3]);
        assert_eq!(parse_simple(LayerCodec::Other, &[]), Some(PacketInfo::default()));
    }

    // ---- robustness ------------------------------------------------------------------------

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
    }

    #[test]
    fn fuzz_parse_and_process_never_panic() {
        let codecs = [LayerCodec::Vp8, LayerCodec::Vp9, LayerCodec::H264, LayerCodec::Av1, LayerCodec::Other];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut filters: Vec<LayerFilter> = codecs.iter().map(|&c| LayerFilter::new(c, 3, 3)).collect();
        let mut av1 = Av1Structure::new();
        let (key, _) = key_dd();
        let mut buf = [0u8; 48];
        let mut dd = [0u8; 40];
        let mut fm = [0u8; 3];
        let mut parsed = 0;
        for round in 0..20_000u32 {
            let len = (rng.next() % 48) as usize;
            for b in buf.iter_mut() {
                *b = rng.next() as u8;
            }
            let dd_len = (rng.next() % 40) as usize;
            for b in dd.iter_mut() {
                *b = rng.next() as u8;
            }
            if round % 7 == 0 {
                // Mutate a valid structure descriptor instead of pure noise.
                let n = key.len().min(dd.len());
                dd[..n].copy_from_slice(&key[..n]);
                dd[(rng.next() % n as u64) as usize] ^= 1 << (rng.next() % 8);
            }
            for b in fm.iter_mut() {
                *b = rng.next() as u8;
            }
            let fm_len = (rng.next() % 4) as usize;
            let k = (rng.next() % codecs.len() as u64) as usize;
            let dd_opt = if rng.next() % 2 == 0 { Some(&dd[..dd_len]) } else { None };
            let fm_opt = if rng.next() % 2 == 0 { Some(&fm[..fm_len]) } else { None };
            if rng.next() % 50 == 0 {
                filters[k].set_target((rng.next() % 4) as u8, (rng.next() % 4) as u8);
            }
            if rng.next() % 100 == 0 {
                filters[k].resync();
            }
            if let Some(info) = parse(codecs[k], &buf[..len], dd_opt, fm_opt, &mut av1) {
                parsed += 1;
                let before = buf[..len].to_vec();
                let _ = filters[k].process(&info, &mut buf[..len], rng.next() % 2 == 0);
                assert_eq!(before.len(), len);
            }
            // Random infos against random payloads too.
            let info = PacketInfo {
                spatial: rng.next() as u8,
                temporal: rng.next() as u8,
                key_frame: rng.next() % 2 == 0,
                start_of_frame: rng.next() % 2 == 0,
                end_of_frame: rng.next() % 2 == 0,
                switching_point: rng.next() % 2 == 0,
                spatial_switch_point: rng.next() % 2 == 0,
                picture_id: None,
                tl0_pic_idx: None,
            };
            let _ = filters[k].process(&info, &mut buf[..len], false);
        }
        assert!(parsed > 1000, "parsed {parsed}");
    }
}
