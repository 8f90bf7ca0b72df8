//! Packet sequences through one stream's layer state: `rtp::layers::parse` with one
//! `Av1Structure` (a dependency descriptor without a structure is read with the one a previous
//! packet carried) and one `LayerFilter` whose targets change and that resyncs mid-stream.
//! (`payload_descriptors` checks single packets; this checks what carries over between them.)
//!
//! Input: byte 0 picks the codec (VP8, VP9, H264, AV1), byte 1 the source layers (high nibble:
//! spatial, low: temporal, 1..=4 each), then ops read with [`Reader`]:
//!
//! | op (tag % 4) | fields |
//! | --- | --- |
//! | 0 packet | tag bit 4: RTP marker; `ext: u8` length then bytes (AV1 dependency descriptor / H264 frame marking; none when 0), `len: u8` then the payload |
//! | 1 target | `spatial: u8`, `temporal: u8` |
//! | 2 resync | |
//! | 3 structure reset | `Av1Structure::reset` (an SSRC change) |
//!
//! Checks for every packet parsed: the current layers stay within the source's; a forwarded
//! packet is within the current layers and a dropped one is not; a dropped payload is untouched,
//! a forwarded one differs from the input only in its picture id / TL0PICIDX (rewriting the input
//! with the output's ids gives the output); the returned marker is the input's (VP8, H264) or
//! that or end-of-frame of the highest forwarded spatial layer (VP9, AV1); between resyncs the
//! output picture id and TL0PICIDX keep a fixed offset from the input's; the AV1 structure
//! stays within its limits (64 templates, 32 decode targets).

use sfu_core::rtp::layers::{descriptor_ids, parse, write_descriptor_ids, Av1Structure, Decision, LayerCodec, LayerFilter};

use crate::harness::Reader;

/// The offsets rewritten ids keep from their input between resyncs, per id width (mask).
#[derive(Default)]
struct Offsets(Vec<(u16, u16)>);

impl Offsets {
    fn check(&mut self, what: &str, input: u16, output: u16, mask: u16) {
        let d = output.wrapping_sub(input) & mask;
        match self.0.iter().find(|(m, _)| *m == mask) {
            Some((_, o)) => assert_eq!(d, *o, "{what}: offset {d} after {o} without a resync (in {input}, out {output})"),
            None => self.0.push((mask, d)),
        }
    }
}

/// Whether the payload's picture id is the 15-bit form (M bit).
fn long_picture_id(codec: LayerCodec, p: &[u8]) -> bool {
    let at = match codec {
        LayerCodec::Vp8 if p.first().is_some_and(|b| b & 0x80 != 0) => 2,
        LayerCodec::Vp9 => 1,
        _ => return false,
    };
    p.get(at).is_some_and(|b| b & 0x80 != 0)
}

/// The input is a codec, the layers and an op script (see the module docs).
pub fn layer_sequences(data: &[u8]) {
    let mut r = Reader::new(data);
    let codec = [LayerCodec::Vp8, LayerCodec::Vp9, LayerCodec::H264, LayerCodec::Av1][usize::from(r.u8() % 4)];
    let layers = r.u8();
    let (spatial, temporal) = ((layers >> 4) % 4 + 1, (layers & 0x0f) % 4 + 1);
    let mut filter = LayerFilter::new(codec, spatial, temporal);
    let mut av1 = Av1Structure::new();
    let (mut pid, mut tl0) = (Offsets::default(), Offsets::default());
    while !r.is_empty() {
        let tag = r.u8();
        match tag % 4 {
            0 => {
                let marker = tag & 0x10 != 0;
                let ext_len = usize::from(r.u8());
                let ext = r.bytes(ext_len);
                let len = usize::from(r.u8());
                let payload = r.bytes(len);
                let ext = (!ext.is_empty()).then_some(ext);
                let Some(info) = parse(codec, payload, ext, ext, &mut av1) else { continue };
                assert!(av1.template_count() <= 64 && av1.decode_target_count() <= 32, "AV1 structure past its limits");
                let mut out = payload.to_vec();
                let decision = filter.process(&info, &mut out, marker);
                let current = filter.current();
                let (cs, ct) = current.unwrap_or(filter.target());
                assert!(cs < spatial && ct < temporal, "current layers ({cs}, {ct}) beyond the source's {spatial}x{temporal}");
                let within = info.spatial <= cs && info.temporal <= ct;
                match decision {
                    Decision::Drop => {
                        // (Before the first forwarded packet there are no current layers.)
                        assert!(current.is_none() || !within, "dropped a packet of layers ({}, {}) within the current ({cs}, {ct})", info.spatial, info.temporal);
                        assert_eq!(out, payload, "a dropped payload was rewritten");
                    }
                    Decision::Forward { marker: m } => {
                        assert!(within, "forwarded a packet of layers ({}, {}) above the current ({cs}, {ct})", info.spatial, info.temporal);
                        assert_eq!(filter.current(), Some((cs, ct)), "forwarded before any current layers");
                        let expect = match codec {
                            LayerCodec::Vp9 | LayerCodec::Av1 => marker || (info.end_of_frame && info.spatial == cs),
                            _ => marker,
                        };
                        assert_eq!(m, expect, "marker");
                        let (before, after) = (descriptor_ids(codec, payload), descriptor_ids(codec, &out));
                        let mut again = payload.to_vec();
                        write_descriptor_ids(codec, &mut again, after);
                        assert_eq!(again, out, "the payload changed beyond its picture id / TL0PICIDX");
                        if let (Some(i), Some(o)) = (before.picture_id, after.picture_id) {
                            let mask = if long_picture_id(codec, payload) { 0x7fff } else { 0x7f };
                            pid.check("picture id", i, o, mask);
                        }
                        if let (Some(i), Some(o)) = (before.tl0_pic_idx, after.tl0_pic_idx) {
                            tl0.check("TL0PICIDX", u16::from(i), u16::from(o), 0xff);
                        }
                    }
                }
            }
            1 => {
                let (s, t) = (r.u8(), r.u8());
                filter.set_target(s, t);
                let (ts, tt) = filter.target();
                assert!(ts < spatial && tt < temporal && ts <= s && tt <= t, "target ({ts}, {tt}) for ({s}, {t})");
            }
            2 => {
                filter.resync();
                pid = Offsets::default();
                tl0 = Offsets::default();
            }
            _ => av1.reset(),
        }
    }
}
