//! Writes the seed corpus `fuzz/corpus/<target>/<name>`: real-looking packets (Chrome-like RTP
//! with one-byte header extensions, RTX, RTCP SR+SDES, RR, PLI, FIR, NACK, transport-cc
//! feedback, REMB, VP8/VP9/H264 payloads), the ORTC JSON of core/testdata, SCTP packets captured
//! from a real association pair with op scripts around them, RFC 4571 streams of the STUN / DTLS /
//! RTP seeds, the C face's JSON from tests/c, and layered VP8 / VP9 / H264 (frame marking) / AV1
//! (dependency descriptor) sequences, and DTLS handshake op scripts (clean, lossy, reordered,
//! duplicated, tampered).
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example make-seeds` (deterministic; rerun after
//! changing it and commit the result).

use std::path::{Path, PathBuf};

use serde_json::Value;
use sfu_core::rtp::nack::write_nack;
use sfu_core::rtp::rtcp::{write_fir, write_pli, write_sr};
use sfu_core::rtp::twcc::{write_remb, TwccRecorder};
use sfu_fuzz::dtls::script::Script as DtlsScript;
use sfu_fuzz::sctp::script::{self, Script};

const AUDIO_SSRC: u32 = 2_991_000_373;
const VP8_SSRCS: [u32; 3] = [0x2222_0001, 0x2222_0002, 0x2222_0003];
const VP8_RTX_SSRC: u32 = 0x2222_1001;
const H264_SSRC: u32 = 2_156_627_207;
const H264_RTX_SSRC: u32 = 2_140_493_675;
/// Placeholders the engine target replaces with consumer SSRCs: 2·consumer + (0 media, 1 RTX);
/// consumers: 0 audio, 1 VP8, 2 H264.
const C_AUDIO: u32 = 0xCCCC_CC00;
const C_VP8: u32 = 0xCCCC_CC02;
const C_VP8_RTX: u32 = 0xCCCC_CC03;
const C_H264: u32 = 0xCCCC_CC04;

// Chrome's extension ids (core/testdata/chrome-mediasoup-client-produce.json).
const EXT_AUDIO_LEVEL: u8 = 1;
const EXT_ABS_SEND_TIME: u8 = 2;
const EXT_TWCC: u8 = 3;
const EXT_MID: u8 = 4;
const EXT_RID: u8 = 10;
const EXT_RRID: u8 = 11;

/// An RTP packet with one-byte header extensions, optional CSRCs and padding.
fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, csrcs: &[u32], exts: &[(u8, &[u8])], payload: &[u8], padding: u8) -> Vec<u8> {
    let mut v = vec![0x80 | csrcs.len() as u8, pt | if marker { 0x80 } else { 0 }];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ts.to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    for c in csrcs {
        v.extend_from_slice(&c.to_be_bytes());
    }
    if !exts.is_empty() {
        v[0] |= 0x10;
        let mut body = vec![];
        for (id, d) in exts {
            body.push((id << 4) | (d.len() as u8 - 1));
            body.extend_from_slice(d);
        }
        while body.len() % 4 != 0 {
            body.push(0);
        }
        v.extend_from_slice(&[0xbe, 0xde]);
        v.extend_from_slice(&((body.len() / 4) as u16).to_be_bytes());
        v.extend_from_slice(&body);
    }
    v.extend_from_slice(payload);
    if padding > 0 {
        v[0] |= 0x20;
        v.extend(std::iter::repeat_n(0, usize::from(padding) - 1));
        v.push(padding);
    }
    v
}

/// The same with RFC 8285 two-byte header extensions.
fn rtp_two_byte(seq: u16, ssrc: u32, exts: &[(u8, &[u8])], payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x90, 96];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&1234u32.to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    let mut body = vec![];
    for (id, d) in exts {
        body.push(*id);
        body.push(d.len() as u8);
        body.extend_from_slice(d);
    }
    while body.len() % 4 != 0 {
        body.push(0);
    }
    v.extend_from_slice(&[0x10, 0x00]);
    v.extend_from_slice(&((body.len() / 4) as u16).to_be_bytes());
    v.extend_from_slice(&body);
    v.extend_from_slice(payload);
    v
}

fn rtx_payload(osn: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = osn.to_be_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

/// VP8 payload descriptor (X=1, S=1, PID=0, I=1 with a 15-bit picture id) + key frame header.
const VP8_KEY: &[u8] = &[0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0x00, 0x47, 0x08];
/// The same picture's next packet: interframe (P=1).
const VP8_DELTA: &[u8] = &[0x90, 0x80, 0x81, 0x24, 0x11, 0x02, 0x00, 0x55, 0x66];
/// VP8 with TL0PICIDX and TID/KEYIDX (L=1, T=1, K=1).
const VP8_TEMPORAL: &[u8] = &[0x90, 0xf0, 0x81, 0x25, 0x07, 0x40, 0x10, 0x02, 0x00];
/// VP9 flexible mode: I=1, L=1, B=1, 15-bit picture id, layer indices SID=0.
const VP9_KEY: &[u8] = &[0xa8, 0x80, 0x01, 0x00, 0x83, 0x49, 0x83, 0x42];
/// H264 STAP-A: SPS, PPS, then an IDR slice.
const H264_STAP_A: &[u8] = &[
    0x78, 0x00, 0x0b, 0x67, 0x42, 0xe0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8, 0x06, 0xd0, 0x00, 0x04, 0x68, 0xce, 0x3c, 0x80,
    0x00, 0x05, 0x65, 0x88, 0x84, 0x00, 0x33,
];
/// H264 FU-A, start of an IDR slice.
const H264_FU_A_IDR: &[u8] = &[0x7c, 0x85, 0x88, 0x84, 0x00, 0x33, 0xff, 0xfe];
/// H264 non-IDR slice.
const H264_SLICE: &[u8] = &[0x41, 0x9a, 0x02, 0x0c, 0x05];

fn opus(seq: u16) -> Vec<u8> {
    let exts: [(u8, &[u8]); 4] = [(EXT_MID, b"0"), (EXT_ABS_SEND_TIME, &[0x12, 0x34, 0x56]), (EXT_TWCC, &seq.to_be_bytes()), (EXT_AUDIO_LEVEL, &[0x80 | 40])];
    rtp(111, false, seq, u32::from(seq) * 960, AUDIO_SSRC, &[], &exts, &[0x78, 0x0b, 0xe4, 0xc1, 0x36, 0xec, 0xc5, 0x8d, 0x8c, 0x49, 0x46, 0x99], 0)
}

fn vp8(layer: usize, seq: u16, payload: &[u8], marker: bool) -> Vec<u8> {
    let rid = format!("r{layer}");
    let tcc = (seq ^ 0x100).to_be_bytes();
    let exts: [(u8, &[u8]); 4] = [(EXT_MID, b"1"), (EXT_RID, rid.as_bytes()), (EXT_ABS_SEND_TIME, &[0x12, 0x34, 0x57]), (EXT_TWCC, &tcc)];
    rtp(96, marker, seq, 90_000 + u32::from(seq) * 3000, VP8_SSRCS[layer], &[], &exts, payload, 0)
}

fn rtp_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let rtx_vp8 = rtp(97, false, 500, 93_000, VP8_RTX_SSRC, &[], &[(EXT_MID, b"1"), (EXT_RRID, b"r0")], &rtx_payload(1001, VP8_DELTA), 0);
    vec![
        ("opus", opus(1000)),
        ("opus-next", opus(1001)),
        ("vp8-r0-key", vp8(0, 1000, VP8_KEY, false)),
        ("vp8-r0-delta", vp8(0, 1001, VP8_DELTA, true)),
        ("vp8-r1-key", vp8(1, 2000, VP8_KEY, true)),
        ("vp8-r2-temporal", vp8(2, 3000, VP8_TEMPORAL, true)),
        ("vp8-rtx-rrid", rtx_vp8),
        ("rtx-padding-probe", rtp(97, false, 501, 93_000, VP8_RTX_SSRC, &[], &[(EXT_MID, b"1"), (EXT_RRID, b"r0")], &[], 224)),
        ("h264-stap-a", rtp(108, false, 7000, 1000, H264_SSRC, &[], &[(EXT_MID, b"2"), (EXT_TWCC, &[0, 9])], H264_STAP_A, 0)),
        ("h264-fu-a-idr", rtp(108, true, 7001, 1000, H264_SSRC, &[], &[(EXT_MID, b"2")], H264_FU_A_IDR, 0)),
        ("h264-slice", rtp(108, true, 7003, 4000, H264_SSRC, &[], &[], H264_SLICE, 0)),
        ("h264-rtx", rtp(109, true, 50, 4000, H264_RTX_SSRC, &[], &[(EXT_MID, b"2")], &rtx_payload(7002, H264_SLICE), 0)),
        ("vp9-csrc-padding", rtp(103, true, 9, 77, 0x0909_0909, &[0x1111_1111, 0x2222_2222], &[(5, &[1, 2, 3, 4])], VP9_KEY, 3)),
        ("two-byte-ext", rtp_two_byte(42, H264_SSRC, &[(20, &[]), (4, b"2"), (200, &[7; 20])], H264_SLICE)),
    ]
}

/// A report block about `ssrc`.
fn report_block(out: &mut Vec<u8>, ssrc: u32) {
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&[0x05, 0x00, 0x00, 0x02]); // fraction lost, cumulative lost
    out.extend_from_slice(&0x0001_03e8u32.to_be_bytes()); // extended highest seq
    out.extend_from_slice(&20u32.to_be_bytes()); // jitter
    out.extend_from_slice(&0x1234_5678u32.to_be_bytes()); // LSR
    out.extend_from_slice(&0x0000_0800u32.to_be_bytes()); // DLSR
}

fn sdes(out: &mut Vec<u8>, ssrc: u32, cname: &str) {
    let mut chunk = ssrc.to_be_bytes().to_vec();
    chunk.push(1);
    chunk.push(cname.len() as u8);
    chunk.extend_from_slice(cname.as_bytes());
    chunk.push(0);
    while chunk.len() % 4 != 0 {
        chunk.push(0);
    }
    out.extend_from_slice(&[0x81, 202]);
    out.extend_from_slice(&((chunk.len() / 4) as u16).to_be_bytes());
    out.extend_from_slice(&chunk);
}

fn rtcp_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut seeds = vec![];

    // SR (with one report block) + SDES, from the audio publisher.
    let mut sr = vec![];
    write_sr(&mut sr, AUDIO_SSRC, 0xe5a1_b2c3_d4e5_f607, 960_000, 1000, 120_000);
    sr[0] |= 1;
    sr[3] += 6;
    report_block(&mut sr, 0x0101_0101);
    sdes(&mut sr, AUDIO_SSRC, "lQBisAhtiaQOhKgM");
    seeds.push(("sr-sdes", sr));

    // RR about the consumers + SDES, from the receiver.
    let mut rr = vec![0x82, 201, 0, 13];
    rr.extend_from_slice(&0x0505_0505u32.to_be_bytes());
    report_block(&mut rr, C_AUDIO);
    report_block(&mut rr, C_VP8);
    sdes(&mut rr, 0x0505_0505, "receiver");
    seeds.push(("rr-sdes", rr));

    let mut pli = vec![];
    write_pli(&mut pli, 0x0505_0505, C_VP8);
    seeds.push(("pli", pli));

    let mut fir = vec![];
    write_fir(&mut fir, 0x0505_0505, C_H264, 3);
    seeds.push(("fir", fir));

    let mut nacks = vec![];
    write_nack(&mut nacks, 0x0505_0505, C_VP8, &[1, 2, 3, 5, 8, 13, 21, 40, 41], 1200);
    seeds.push(("nack", nacks.remove(0)));

    // A NACK with RTCP padding.
    let mut padded = vec![0xa1, 205, 0, 3];
    padded.extend_from_slice(&0x0505_0505u32.to_be_bytes());
    padded.extend_from_slice(&C_VP8_RTX.to_be_bytes());
    padded.extend_from_slice(&[0x00, 0x07, 0x80, 0x01]);
    padded.extend_from_slice(&[0, 0, 0, 4]);
    padded[3] = 4;
    seeds.push(("nack-padded", padded));

    // transport-cc feedback as the engine writes it, with losses.
    let mut rec = TwccRecorder::new(0x0505_0505);
    for (i, seq) in [1u16, 2, 3, 5, 6, 9, 10, 11, 12, 20].iter().enumerate() {
        rec.on_packet(*seq, 1_000_000 + i as u64 * 5_000 + u64::from(*seq % 3) * 777, C_VP8);
    }
    let mut fb = vec![];
    rec.build_feedback(&mut fb, 1200);
    seeds.push(("transport-cc", fb.remove(0)));

    let mut remb = vec![];
    write_remb(&mut remb, 0x0505_0505, 1_500_000, &[C_VP8, C_H264]);
    seeds.push(("remb", remb));

    let mut bye = vec![0x81, 203, 0, 1];
    bye.extend_from_slice(&AUDIO_SSRC.to_be_bytes());
    seeds.push(("bye", bye));

    // A compound of everything a receiver sends at once.
    let mut compound = vec![];
    for name in ["rr-sdes", "pli", "nack", "transport-cc", "remb"] {
        compound.extend_from_slice(&seeds.iter().find(|(n, _)| *n == name).unwrap().1);
    }
    seeds.push(("receiver-compound", compound));
    seeds
}

/// payload_descriptors inputs: extension length, extension (AV1 dependency descriptor / H264
/// frame marking), RTP payload.
fn payload_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let plain = |p: &[u8]| [&[0u8][..], p].concat();
    let with_ext = |e: &[u8], p: &[u8]| [&[e.len() as u8][..], e, p].concat();
    vec![
        ("vp8-key", plain(VP8_KEY)),
        ("vp8-delta", plain(VP8_DELTA)),
        ("vp8-temporal", plain(VP8_TEMPORAL)),
        ("vp8-layered", plain(&vp8_layered(0x1234, 7, 1, false))),
        ("vp9-key", plain(VP9_KEY)),
        ("vp9-layered-s1-t2", plain(&vp9_layered(300, 9, 1, 2, true, true))),
        ("h264-stap-a", plain(H264_STAP_A)),
        ("h264-fu-a-idr", plain(H264_FU_A_IDR)),
        ("h264-slice", plain(H264_SLICE)),
        ("h264-frame-marking", with_ext(&[0xe8], &[0x65, 0x88, 0x84, 0x00])),
        ("av1-dd-key-structure", with_ext(&av1_dd(0, 1000, true), &[0x18, 0x0a, 0x0b, 0x00])),
        ("av1-dd-no-structure", with_ext(&av1_dd(3, 1001, false), &[0x10, 0x32])),
        ("av1-sequence-header", plain(&[0x08, 0x0a, 0x0b, 0x00, 0x00, 0x00])),
        ("mime", b"video/H264-SVC".to_vec()),
    ]
}

/// MSB-first bit writer for AV1 dependency descriptors (as core/src/rtp/layers.rs's tests).
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

const AV1_TEMPLATE_OFFSET: u32 = 60;

/// An AV1 dependency descriptor: mandatory fields, and for the key frame the L1T3 template
/// structure Chrome sends (templates: key, T0, T1, T2, T2; one chain) with a 1280x720 resolution.
fn av1_dd(template_index: u32, frame: u32, key: bool) -> Vec<u8> {
    let mut w = BitWriter::default();
    w.f(1, 1); // start of frame
    w.f(1, 1); // end of frame
    w.f(6, (template_index + AV1_TEMPLATE_OFFSET) % 64);
    w.f(16, frame);
    if key {
        w.f(5, 0b10000); // structure present, no active mask, no custom fields
        w.f(6, AV1_TEMPLATE_OFFSET);
        w.f(5, 2); // 3 decode targets
        for idc in [0, 1, 1, 0, 3] {
            w.f(2, idc); // template layers: T0, T0, T1, T2, T2
        }
        for dtis in [[2, 2, 2], [2, 2, 2], [0, 1, 2], [0, 0, 1], [0, 0, 1]] {
            for d in dtis {
                w.f(2, d);
            }
        }
        for fdiffs in [&[][..], &[4], &[2], &[1], &[1, 3]] {
            for &d in fdiffs {
                w.f(1, 1);
                w.f(4, d - 1);
            }
            w.f(1, 0);
        }
        w.ns(4, 1); // one chain
        for _ in 0..3 {
            w.ns(1, 0);
        }
        for c in [0, 4, 2, 1, 3] {
            w.f(4, c);
        }
        w.f(1, 1);
        w.f(16, 1279);
        w.f(16, 719);
    }
    w.bytes
}

/// VP8 descriptor with a 15-bit picture id, TL0PICIDX and TID/Y, then a payload header.
fn vp8_layered(pid: u16, tl0: u8, tid: u8, key: bool) -> Vec<u8> {
    vec![0x90, 0xe0, 0x80 | (pid >> 8) as u8, pid as u8, tl0, tid << 6 | 0x20, if key { 0x10 } else { 0x11 }, 0x02, 0x00, 0x9d, 0x01, 0x2a]
}

/// VP9 non-flexible descriptor: 15-bit picture id, layer indices (TID, U, SID, D), TL0PICIDX.
fn vp9_layered(pid: u16, tl0: u8, sid: u8, tid: u8, inter: bool, end: bool) -> Vec<u8> {
    let b0 = 0x80 | 0x20 | 0x08 | if inter { 0x40 } else { 0 } | if end { 0x04 } else { 0 };
    vec![b0, 0x80 | (pid >> 8) as u8, pid as u8, tid << 5 | 0x10 | sid << 1 | u8::from(sid > 0), tl0, 0x83, 0x49, 0x83]
}

/// One packet op of layer_sequences: marker, extension, payload.
fn layer_packet(out: &mut Vec<u8>, marker: bool, ext: &[u8], payload: &[u8]) {
    out.push(if marker { 0x10 } else { 0 });
    out.push(ext.len() as u8);
    out.extend_from_slice(ext);
    out.push(payload.len() as u8);
    out.extend_from_slice(payload);
}

/// Sequences for layer_sequences (fuzz/src/layer_sequences.rs): a codec byte, a layers byte,
/// (n: n % 4 + 1 spatial / temporal layers per nibble), then packets, target changes (op 1),
/// resyncs (op 2) and AV1 structure resets (op 3).
fn layer_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut seeds = vec![];
    // VP8 L1T3: T0 T2 T1 T2 ..., the target lowered to T0 then raised, a resync (simulcast switch).
    let mut v = vec![0, 0x02];
    for (i, tid) in [0u8, 2, 1, 2, 0, 2, 1, 2].iter().enumerate() {
        let tl0 = 7 + (i / 4) as u8;
        layer_packet(&mut v, true, &[], &vp8_layered(0x1230 + i as u16, tl0, *tid, i == 0));
        if i == 3 {
            v.extend_from_slice(&[1, 0, 0]);
        }
    }
    v.extend_from_slice(&[1, 0, 2, 2]);
    for (i, tid) in [0u8, 2, 1].iter().enumerate() {
        layer_packet(&mut v, true, &[], &vp8_layered(0x0005 + i as u16, 100, *tid, i == 0));
    }
    seeds.push(("vp8-l1t3-target-resync", v));
    // VP9 L3T3 non-flexible: key picture (SID 0..2), then inter pictures; spatial target lowered.
    let mut v = vec![1, 0x22];
    for (pic, tid) in [0u8, 2, 1, 2, 0].iter().enumerate() {
        for sid in 0..3 {
            v.extend(if pic == 2 && sid == 0 { vec![1, 1, 2] } else { vec![] });
            let payload = vp9_layered(200 + pic as u16, 50 + (pic / 4) as u8, sid, *tid, pic > 0, true);
            layer_packet(&mut v, sid == 2, &[], &payload);
        }
    }
    seeds.push(("vp9-l3t3", v));
    // H264 with frame marking (S E I D B TID): IDR, then T2 T1 T2 T0, target T0.
    let mut v = vec![2, 0x02];
    layer_packet(&mut v, true, &[0xe0 | 0x08], &[0x65, 0x88, 0x84, 0x00]);
    for (i, tid) in [2u8, 1, 2, 0].iter().enumerate() {
        let fm = 0xc0 | if *tid == 2 { 0x10 } else { 0 } | if *tid > 0 { 0x08 } else { 0 } | tid;
        layer_packet(&mut v, true, &[fm], &[0x41, 0x9a, i as u8]);
    }
    v.extend_from_slice(&[1, 0, 0]);
    layer_packet(&mut v, true, &[0xc1 | 0x10], &[0x41, 0x9a, 9]);
    seeds.push(("h264-frame-marking", v));
    // AV1 L1T3 with dependency descriptors: the key frame's structure serves the next ones.
    let mut v = vec![3, 0x02];
    layer_packet(&mut v, true, &av1_dd(0, 1000, true), &[0x18, 0x0a, 0x0b]);
    for (i, template) in [3u32, 2, 4, 1, 3, 2, 4].iter().enumerate() {
        layer_packet(&mut v, true, &av1_dd(*template, 1001 + i as u32, false), &[0x10, 0x32]);
        if i == 2 {
            v.extend_from_slice(&[1, 0, 1]);
        }
    }
    v.push(3); // structure reset: the next descriptor without a structure is unreadable
    layer_packet(&mut v, true, &av1_dd(1, 1010, false), &[0x10]);
    seeds.push(("av1-l1t3-dependency-descriptor", v));
    seeds
}

/// Deterministic filler for the Unstructured-driven targets.
fn pseudo_random(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn json_seeds(testdata: &Path) -> Vec<(String, Vec<u8>)> {
    let mut seeds = vec![];
    for f in ["chrome-mediasoup-client-produce.json", "ortc-vectors.mediasoup.json", "router-media-codecs.json", "router-rtp-capabilities.mediasoup.json"] {
        let text = std::fs::read(testdata.join(f)).unwrap();
        let v: Value = serde_json::from_slice(&text).unwrap();
        // Compact: libFuzzer's default max_len is 4096 bytes.
        seeds.push((f.replace(".json", ""), serde_json::to_vec(&v).unwrap()));
        if f.starts_with("chrome") {
            for (i, p) in v["produce"].as_array().unwrap().iter().enumerate() {
                seeds.push((format!("produce-{i}"), serde_json::to_vec(&p["rtpParameters"]).unwrap()));
            }
            seeds.push(("device-caps".into(), serde_json::to_vec(&v["deviceRtpCapabilities"]).unwrap()));
        }
        if f.starts_with("ortc-vectors") {
            seeds.push(("consumer-caps".into(), serde_json::to_vec(&v["consumerRtpCapabilities"]).unwrap()));
            seeds.push(("media-codecs".into(), serde_json::to_vec(&v["mediaCodecs"]).unwrap()));
            for (i, c) in v["cases"].as_array().unwrap().iter().enumerate() {
                if let Some(p) = c.get("producerInput").and_then(|p| p.get("rtpParameters")) {
                    seeds.push((format!("case-{i}-producer"), serde_json::to_vec(p).unwrap()));
                }
            }
        }
    }
    seeds.push(("single-codec".into(), br#"{"kind":"video","mimeType":"video/VP9","clockRate":90000,"parameters":{"profile-id":2}}"#.to_vec()));
    seeds
}

/// A STUN message: type, transaction id, attributes (4-byte aligned, length set).
fn stun(typ: u16, txid: &[u8; 12], attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut m = typ.to_be_bytes().to_vec();
    m.extend_from_slice(&[0, 0, 0x21, 0x12, 0xa4, 0x42]);
    m.extend_from_slice(txid);
    for (t, v) in attrs {
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&(v.len() as u16).to_be_bytes());
        m.extend_from_slice(v);
        while m.len() % 4 != 0 {
            m.push(0);
        }
    }
    let n = (m.len() - 20) as u16;
    m[2..4].copy_from_slice(&n.to_be_bytes());
    m
}

/// STUN datagrams for the webrtc target. A MESSAGE-INTEGRITY of 20 zero bytes asks the harness
/// to sign the message with the transport's ICE credentials (see fuzz/src/webrtc.rs).
fn stun_seeds() -> Vec<(&'static str, Vec<u8>)> {
    const USERNAME: u16 = 0x0006;
    const MI: u16 = 0x0008;
    const FP: u16 = 0x8028;
    const PRIORITY: u16 = 0x0024;
    const USE_CANDIDATE: u16 = 0x0025;
    const CONTROLLING: u16 = 0x802a;
    const CONTROLLED: u16 = 0x8029;
    const NOMINATION: u16 = 0xc001;
    let zero = [0u8; 20];
    let prio = 1_853_824_767u32.to_be_bytes();
    let tie = 0x1122_3344_5566_7788u64.to_be_bytes();
    vec![
        ("stun-binding-use-candidate", stun(0x0001, b"chrome-tx-01", &[(USERNAME, b"ufrag:peer"), (CONTROLLING, &tie), (USE_CANDIDATE, &[]), (PRIORITY, &prio), (MI, &zero), (FP, &[0; 4])])),
        ("stun-binding-no-nomination", stun(0x0001, b"chrome-tx-02", &[(USERNAME, b"ufrag:peer"), (CONTROLLING, &tie), (PRIORITY, &prio), (MI, &zero)])),
        ("stun-binding-nomination", stun(0x0001, b"chrome-tx-03", &[(USERNAME, b"ufrag:peer"), (CONTROLLING, &tie), (NOMINATION, &[0, 0, 0, 7]), (PRIORITY, &prio), (MI, &zero), (FP, &[0; 4])])),
        ("stun-binding-role-conflict", stun(0x0001, b"chrome-tx-04", &[(USERNAME, b"ufrag:peer"), (CONTROLLED, &tie), (PRIORITY, &prio), (MI, &zero), (FP, &[0; 4])])),
        ("stun-binding-bad-integrity", stun(0x0001, b"chrome-tx-05", &[(USERNAME, b"ufrag:peer"), (PRIORITY, &prio), (MI, &[0x55; 20]), (FP, &[0; 4])])),
        ("stun-binding-success", stun(0x0101, b"chrome-tx-06", &[(0x0020, &[0, 1, 0x31, 0x33, 0x5e, 0x12, 0xa4, 0x43])])),
        ("stun-indication", stun(0x0011, b"chrome-tx-07", &[])),
    ]
}

/// DTLS records for the webrtc target: a DTLS 1.2 ClientHello as a WebRTC client sends it,
/// the same with a cookie, an alert and a ChangeCipherSpec.
fn dtls_seeds() -> Vec<(&'static str, Vec<u8>)> {
    fn record(typ: u8, epoch: u16, seq: u64, body: &[u8]) -> Vec<u8> {
        let mut r = vec![typ, 0xfe, 0xfd];
        r.extend_from_slice(&epoch.to_be_bytes());
        r.extend_from_slice(&seq.to_be_bytes()[2..]);
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }
    fn client_hello(cookie: &[u8]) -> Vec<u8> {
        let mut b = vec![0xfe, 0xfd];
        b.extend((0..32u8).map(|i| i.wrapping_mul(37)));
        b.push(0); // session id
        b.push(cookie.len() as u8);
        b.extend_from_slice(cookie);
        b.extend_from_slice(&[0, 4, 0xc0, 0x2b, 0xc0, 0x2f]); // ECDHE-ECDSA/RSA-AES128-GCM
        b.extend_from_slice(&[1, 0]); // null compression
        let exts: &[(u16, &[u8])] = &[
            (0x000a, &[0, 4, 0, 0x1d, 0, 0x17]),       // supported_groups: x25519, secp256r1
            (0x000b, &[1, 0]),                         // ec_point_formats: uncompressed
            (0x000d, &[0, 6, 4, 3, 8, 4, 4, 1]),       // signature_algorithms
            (0x000e, &[0, 4, 0, 7, 0, 1, 0]),          // use_srtp: AEAD_AES_128_GCM, AES128_CM_SHA1_80
            (0x0017, &[]),                             // extended_master_secret
            (0xff01, &[0]),                            // renegotiation_info
        ];
        let mut e = vec![];
        for (t, v) in exts {
            e.extend_from_slice(&t.to_be_bytes());
            e.extend_from_slice(&(v.len() as u16).to_be_bytes());
            e.extend_from_slice(v);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend_from_slice(&e);
        let mut h = vec![1]; // client_hello
        h.extend_from_slice(&(b.len() as u32).to_be_bytes()[1..]);
        h.extend_from_slice(&[0, 0, 0, 0, 0]); // message_seq, fragment_offset
        h.extend_from_slice(&(b.len() as u32).to_be_bytes()[1..]);
        h.extend_from_slice(&b);
        record(22, 0, 0, &h)
    }
    vec![
        ("dtls-client-hello", client_hello(&[])),
        ("dtls-client-hello-cookie", client_hello(&[0xab; 32])),
        ("dtls-alert", record(21, 0, 1, &[2, 40])),
        ("dtls-change-cipher-spec", record(20, 0, 2, &[1])),
        ("dtls-app-data-epoch1", record(23, 1, 0, &[0x42; 40])),
    ]
}

/// SCTP op scripts (fuzz/src/sctp.rs): every packet of a real association run injected alone,
/// then scenarios over the in-memory link, then forged chunks on an established association.
fn sctp_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = vec![];
    for (i, (from_b, packet, name)) in script::captured().into_iter().enumerate() {
        let handshake = ["init", "cookie"].iter().any(|h| name.contains(h));
        let body = &packet[12..];
        let dir = if from_b { "b2a" } else { "a2b" };
        seeds.push((format!("captured-{i:02}-{dir}-{name}"), Script::new(u8::from(handshake)).inject(from_b, body).bytes()));
    }
    // Stream selectors: 0..=5 -> streams 0, 1, 2, 3, 5, 7; 6 -> OS - 1, 7 -> OS, 8 -> 65535.
    // Reliability: bit 0 unordered; (r >> 1) % 3: reliable, maxPacketLifeTime, maxRetransmits.
    let s = |name: &str, script: Script| (name.to_string(), script.bytes());
    seeds.push(s("both-ways", Script::new(0).send(false, 1, true, 10, 0, 0).send(true, 2, false, 300, 0, 0).send(true, 2, true, 0, 0, 0).run(1000)));
    seeds.push(s("handshake-with-losses", Script::new(1).lose(false, 1).advance(3000).deliver(false, 0).lose(true, 1).advance(6000).run(2000).send(false, 0, true, 5, 0, 0).run(500)));
    seeds.push(s("handshake-reordered-duplicated", Script::new(1).deliver(false, 0).duplicate(false).deliver(true, 0).duplicate(true).advance(1000).reorder(false).run(1000)));
    seeds.push(s("large-message-with-losses", Script::new(0).send(false, 1, false, 60_000, 0, 0).deliver(false, 5).lose(false, 3).deliver(false, 20).reorder(false).run(3000)));
    seeds.push(s("small-limits", Script::new(2).send(false, 1, false, 2999, 0, 0).send(false, 1, false, 3001, 0, 0).send(false, 2, false, 3000, 0, 0).send(false, 3, false, 3000, 0, 0).threshold(false, 1, 100).send(false, 7, true, 1, 0, 0).send(false, 6, true, 1, 0, 0).run(2000)));
    seeds.push(s("unreliable-under-loss", Script::new(0).send(false, 2, false, 2500, 5, 0).send(false, 2, false, 2500, 5, 1).lose(false, 2).send(false, 2, true, 100, 1, 0).run(3000)));
    seeds.push(s("lifetime-expires", Script::new(0).send(false, 3, false, 4000, 2, 100).send(false, 3, false, 400, 3, 50).advance(500).lose(false, 10).run(3000)));
    seeds.push(s("reset-and-reuse", Script::new(0).send(false, 1, true, 20, 0, 0).reset(false, 1).send(false, 1, true, 20, 0, 0).run(1000).send(false, 1, true, 21, 0, 0).reset(true, 2).run(1000)));
    seeds.push(s("threshold-and-buffer-full", Script::new(2).threshold(false, 1, 1000).send(false, 1, false, 3000, 0, 0).send(false, 1, false, 3000, 0, 0).send(false, 1, false, 3000, 0, 0).deliver(false, 2).threshold(false, 1, 5000).run(2000)));
    seeds.push(s("outage", Script::new(0).send(false, 1, false, 1000, 0, 0).lose(false, 1).advance(120_000).advance(120_000).run(60_000)));
    seeds.push(s("close", Script::new(0).send(true, 1, true, 10, 0, 0).close(true).run(1000).send(false, 1, true, 10, 0, 0)));
    seeds.push(s("mutated", Script::new(0).send(false, 1, true, 100, 0, 0).mutate(false, 0, &[(12, 0), (20, 0xff)]).mutate(false, 0, &[(0xffff, 4)]).run(500)));
    // Forged chunks; TSN 0 is the sender's next TSN after the handshake.
    let f = |name: &str, chunks: Vec<u8>| (format!("forged-{name}"), Script::new(0).inject(false, &chunks).run(1000).bytes());
    seeds.push(f("data", script::data(0x03, 0, 1, 0, 51, b"hello")));
    seeds.push(f("data-fragments-out-of-order", [script::data(0x01, 1, 1, 0, 53, &[2; 8]), script::data(0x02, 0, 1, 0, 53, &[1; 8])].concat()));
    seeds.push(f("data-unordered-gap", script::data(0x07, 5, 3, 0, 53, &[9; 16])));
    seeds.push(f("data-empty-ppid", script::data(0x03, 0, 2, 0, 56, &[0])));
    seeds.push(f("dcep-open", script::data(0x03, 0, 4, 0, 50, &[3, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, b'c', b'h', b'a', b't'])));
    seeds.push(f("forward-tsn", script::forward_tsn(3, &[(3, 0)])));
    seeds.push(f("forward-tsn-far", script::forward_tsn(1 << 30, &[])));
    seeds.push(f("sack-gaps-dups", script::sack(0, 1 << 20, &[(2, 3), (5, 5)], &[0, 1])));
    seeds.push(f("reset-request", script::reset_request(0, 0xffff_ffff, 0xffff_ffff, &[1, 2, 900])));
    seeds.push(f("abort-with-cause", script::chunk(6, 0, &[0, 12, 0, 6, b'x', b'y'])));
    seeds.push(f("error-invalid-stream", script::chunk(9, 0, &[0, 1, 0, 8, 0x0f, 0xa0, 0, 0])));
    seeds.push(f("error-overrun", script::chunk(9, 0, &[0, 1, 0, 40, 0, 0])));
    seeds.push(f("shutdown", script::chunk(7, 0, &0xffff_ffffu32.to_be_bytes())));
    seeds.push(f("heartbeat", script::chunk(4, 0, &[0, 1, 0, 8, 1, 2, 3, 4])));
    seeds.push(f("init-restart", script::chunk(1, 0, &[0x12, 0x34, 0x56, 0x78, 0, 1, 0, 0, 4, 0, 4, 0, 0, 0, 0, 1])));
    seeds.push((
        "forged-data-to-a-then-sack".into(),
        Script::new(0).send(false, 1, true, 50, 0, 0).inject(true, &script::data(0x03, 0, 1, 0, 51, b"from b")).inject(true, &script::sack(0, 1 << 20, &[], &[])).run(1000).bytes(),
    ));
    seeds
}

/// DTLS handshake op scripts (fuzz/src/dtls.rs). A clean handshake is six datagrams: ClientHello,
/// HelloVerifyRequest, ClientHello with the cookie, the server's flight 4 (ServerHello ..
/// ServerHelloDone), the client's flight 5 (Certificate, ClientKeyExchange, CertificateVerify,
/// ChangeCipherSpec, Finished) and the server's flight 6 (ChangeCipherSpec, Finished); the
/// Finished is the last record of flights 5 and 6.
fn dtls_handshake_seeds(dtls: &[(&str, Vec<u8>)]) -> Vec<(&'static str, Vec<u8>)> {
    const C: bool = false; // from the client (to the server)
    const S: bool = true;
    const LAST: u8 = 31 << 3; // the last record of a datagram
    let steps = |n: usize, s: DtlsScript| (0..n).fold(s, |s, i| s.deliver(i % 2 == 1));
    let to_flight5 = |setup| steps(4, DtlsScript::new(setup));
    let hello = &dtls.iter().find(|(n, _)| *n == "dtls-client-hello").unwrap().1;
    let s = |name, script: DtlsScript| (name, script.bytes());
    vec![
        s("clean", steps(6, DtlsScript::new(0))),
        s("clean-late-connect-auto-role", steps(6, DtlsScript::new(1 | 2))),
        s("data-both-ways-then-close", DtlsScript::new(0).settle().send(C, 100).send(S, 1200).send(C, 0).settle().close(C).settle()),
        s("dropped-client-hello", DtlsScript::new(0).drop(C).advance(1000).settle()),
        s("dropped-flight-4", steps(3, DtlsScript::new(0)).drop(S).advance(1000).settle()),
        s("dropped-flight-5", to_flight5(0).drop(C).advance(1000).settle()),
        s("dropped-flight-6", to_flight5(0).deliver(C).drop(S).advance(1000).settle()),
        // Retransmissions in flight, then flight 5 overtakes the stale ClientHello and flight 6
        // the stale flight 4.
        s("reordered", steps(3, DtlsScript::new(0)).advance(1000).deliver(S).reorder(C).deliver(C).reorder(S).settle()),
        s("duplicated-client-hello", DtlsScript::new(0).duplicate(C).deliver(C).deliver(S).duplicate(C).settle()),
        s("duplicated-flights-5-6", to_flight5(0).duplicate(C).duplicate(C).deliver(C).duplicate(S).settle()),
        s("mutated-client-finished", to_flight5(0).mutate(C, LAST, &[0, 20, 0x01]).deliver(C).advance(1000).settle()),
        s("mutated-server-finished", to_flight5(0).deliver(C).mutate(S, LAST, &[0, 20, 0x80]).deliver(S).advance(1000).settle()),
        s("mutated-change-cipher-spec-type", to_flight5(0).mutate(C, 3 | 3 << 3, &[22]).settle()),
        s("mutated-flight-4-epoch-seq-length", steps(3, DtlsScript::new(0)).mutate(S, 4 | 1 << 3, &[0, 1]).mutate(S, 5 | 2 << 3, &[0, 0, 0, 9]).mutate(S, 6 | 3 << 3, &[0, 40]).settle().advance(1000).settle()),
        s("truncated-flight-5", to_flight5(0).mutate(C, 1 | 1 << 3, &[0, 100]).settle()),
        s("spliced-client-hello", DtlsScript::new(0).mutate(C, 7, &[0, 60, 4, 0xde, 0xad, 0xbe, 0xef]).mutate(C, 2, &[2, 0x16, 0xfe]).settle()),
        s("injected-client-hello-mid-handshake", steps(3, DtlsScript::new(0)).inject(C, hello).inject(S, &hello[..40]).settle()),
        s("wrong-fingerprint-at-server", steps(6, DtlsScript::new(4))),
        s("wrong-fingerprint-at-client", steps(6, DtlsScript::new(8))),
    ]
}

/// RFC 4571 streams: a seed byte, then frames of the STUN, DTLS and RTP seeds.
fn tcp_seeds(stun: &[(&str, Vec<u8>)], dtls: &[(&str, Vec<u8>)], rtp: &[(&str, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    fn framed(seed: u8, frames: &[&[u8]], tail: &[u8]) -> Vec<u8> {
        let mut v = vec![seed];
        for f in frames {
            v.extend_from_slice(&(f.len() as u16).to_be_bytes());
            v.extend_from_slice(f);
        }
        v.extend_from_slice(tail);
        v
    }
    let all: Vec<&[u8]> = stun.iter().chain(dtls).chain(rtp).map(|(_, d)| d.as_slice()).collect();
    vec![
        ("ice-tcp-session".into(), framed(1, &all[..12], &[])),
        ("stun-then-dtls".into(), framed(2, &[&stun[0].1, &dtls[0].1], &[])),
        ("zero-length-frames".into(), framed(3, &[&[], &stun[0].1, &[], &[]], &[])),
        ("incomplete-length".into(), framed(4, &[&stun[0].1], &[0x05])),
        ("incomplete-frame".into(), framed(5, &[&rtp[0].1], &[0xff, 0xff, 1, 2, 3])),
        ("declared-past-end".into(), framed(6, &[], &[0x01, 0x00, 0x80, 0x60])),
        ("encode-limits".into(), framed(0xff, &[&rtp[1].1], &[])),
    ]
}

/// Calls of the C face (fuzz/src/c_face.rs): the JSON of tests/c/*.c, alone and as chains.
#[allow(non_snake_case)] // entry bytes named like constants
fn c_face_seeds() -> Vec<(String, Vec<u8>)> {
    let e = sfu_fuzz::c_face::entry_byte;
    let WORKER_NEW = e("sfu_worker_new");
    let UPDATE_SETTINGS = e("sfu_worker_update_settings");
    let CREATE_ROUTER = e("sfu_worker_create_router");
    let CREATE_SERVER = e("sfu_worker_create_webrtc_server");
    let CREATE_PLAIN = e("sfu_router_create_plain_transport");
    let CREATE_WEBRTC = e("sfu_router_create_webrtc_transport");
    let CREATE_DIRECT = e("sfu_router_create_direct_transport");
    let AUDIO_LEVEL = e("sfu_router_create_audio_level_observer");
    let ACTIVE_SPEAKER = e("sfu_router_create_active_speaker_observer");
    let CAN_CONSUME = e("sfu_router_can_consume");
    let PLAIN_CONNECT = e("sfu_plain_transport_connect");
    let WEBRTC_CONNECT = e("sfu_webrtc_transport_connect");
    let PLAIN_PRODUCE = e("sfu_plain_transport_produce");
    let PLAIN_CONSUME = e("sfu_plain_transport_consume");
    let WEBRTC_PRODUCE = e("sfu_webrtc_transport_produce");
    let WEBRTC_CONSUME = e("sfu_webrtc_transport_consume");
    let DIRECT_PRODUCE = e("sfu_direct_transport_produce");
    let DIRECT_CONSUME = e("sfu_direct_transport_consume");
    let PRODUCE_DATA = e("sfu_direct_transport_produce_data");
    let CONSUME_DATA = e("sfu_direct_transport_consume_data");
    let PREFERRED_LAYERS = e("sfu_consumer_set_preferred_layers");
    let PRODUCER_TRACE = e("sfu_producer_enable_trace_event");
    let CONSUMER_TRACE = e("sfu_consumer_enable_trace_event");
    let DATA_SEND = e("sfu_data_producer_send (subchannels)");
    let OBSERVER_ADD = e("sfu_rtp_observer_add_producer");
    let CAN_CONSUME_ID = e("sfu_router_can_consume (producer id)");
    let PRODUCER_SEND = e("sfu_producer_send");
    let SEND_RTCP = e("sfu_direct_transport_send_rtcp");
    fn calls(list: &[(u8, &[u8])]) -> Vec<u8> {
        let mut v = vec![];
        for (i, (e, s)) in list.iter().enumerate() {
            if i > 0 {
                v.push(0);
            }
            v.push(*e);
            v.extend_from_slice(s);
        }
        v
    }
    fn chain(list: &[(u8, &str)]) -> Vec<u8> {
        calls(&list.iter().map(|(e, s)| (*e, s.as_bytes())).collect::<Vec<_>>())
    }
    const VP8: &str = r#"{"mimeType":"video/VP8","payloadType":96,"clockRate":90000}"#;
    const FP: &str = r#"{"algorithm":"sha-256","value":"AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"}"#;
    const CONSUME: &str = r#"{"producerId":"%P","rtpCapabilities":%R}"#;
    const PRODUCE_OPUS: &str = r#"{"kind":"audio","rtpParameters":{"codecs":[{"mimeType":"audio/opus","payloadType":111,"clockRate":48000,"channels":2}],"headerExtensions":[{"uri":"urn:ietf:params:rtp-hdrext:ssrc-audio-level","id":1}],"encodings":[{"ssrc":3333}]}}"#;
    let produce_vp8 = format!(r#"{{"kind":"video","rtpParameters":{{"codecs":[{VP8}],"encodings":[{{"ssrc":2222}}]}}}}"#);
    let chrome: Value = serde_json::from_slice(&std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../core/testdata/chrome-mediasoup-client-produce.json")).unwrap()).unwrap();
    let chrome_produce = |i: usize| serde_json::to_string(&chrome["produce"][i]).unwrap();
    let connect_dtls = |role: &str| format!(r#"{{"dtlsParameters":{{"role":"{role}","fingerprints":[{FP}]}}}}"#);
    let single: Vec<(&str, u8, String)> = vec![
        // tests/c/bad_input.c's table and good calls.
        ("worker-settings", WORKER_NEW, r#"{"logLevel":"none","rtcMinPort":41000,"rtcMaxPort":41999}"#.into()),
        ("worker-settings-null", WORKER_NEW, "NULL".into()),
        ("worker-settings-unterminated", WORKER_NEW, r#"{"logLevel":"warn""#.into()),
        ("worker-settings-ports-inverted", WORKER_NEW, r#"{"rtcMinPort":20000,"rtcMaxPort":10000}"#.into()),
        ("worker-settings-cert", WORKER_NEW, r#"{"dtlsCertificateFile":"/nonexistent/cert.pem","dtlsPrivateKeyFile":"/nonexistent/key.pem"}"#.into()),
        ("update-settings", UPDATE_SETTINGS, r#"{"logLevel":"warn","logTags":["rtp","ice"]}"#.into()),
        ("update-settings-bad-tags", UPDATE_SETTINGS, r#"{"logTags":"rtp"}"#.into()),
        ("router-bad-codec", CREATE_ROUTER, r#"{"mediaCodecs":[{"kind":"audio","mimeType":"audio/nope","clockRate":8000}]}"#.into()),
        ("router-kind-mismatch", CREATE_ROUTER, r#"{"mediaCodecs":[{"kind":"text","mimeType":"audio/opus","clockRate":48000}]}"#.into()),
        ("plain-port-range", CREATE_PLAIN, r#"{"listenInfo":{"protocol":"udp","ip":"127.0.0.1","portRange":{"min":5000,"max":4000}}}"#.into()),
        ("plain-srtp-sctp", CREATE_PLAIN, r#"{"listenInfo":{"protocol":"udp","ip":"127.0.0.1"},"enableSrtp":true,"srtpCryptoSuite":"AES_CM_128_HMAC_SHA1_80","enableSctp":true,"numSctpStreams":{"OS":1024,"MIS":1024}}"#.into()),
        ("plain-connect", PLAIN_CONNECT, r#"{"ip":"127.0.0.1","port":5000,"rtcpPort":5001}"#.into()),
        ("plain-connect-srtp", PLAIN_CONNECT, r#"{"ip":"127.0.0.1","port":5000,"srtpParameters":{"cryptoSuite":"AES_CM_128_HMAC_SHA1_80","keyBase64":"ZnVkZ2VmdWRnZWZ1ZGdlZnVkZ2VmdWRnZWZ1ZGdl"}}"#.into()),
        ("produce-vp8", PLAIN_PRODUCE, produce_vp8.clone()),
        ("produce-h265", PLAIN_PRODUCE, r#"{"kind":"video","rtpParameters":{"codecs":[{"mimeType":"video/H265","payloadType":96,"clockRate":90000}],"encodings":[{"ssrc":5}]}}"#.into()),
        ("consume", PLAIN_CONSUME, CONSUME.into()),
        ("consume-unknown", PLAIN_CONSUME, r#"{"producerId":"no-such-producer","rtpCapabilities":{}}"#.into()),
        ("can-consume", CAN_CONSUME, "%R".into()),
        ("can-consume-id", CAN_CONSUME_ID, "%P".into()),
        ("preferred-layers", PREFERRED_LAYERS, r#"{"spatialLayer":0,"temporalLayer":1}"#.into()),
        ("producer-trace", PRODUCER_TRACE, r#"["rtp","keyframe","nack","pli","fir"]"#.into()),
        ("consumer-trace", CONSUMER_TRACE, r#"["rtp","keyframe"]"#.into()),
        // tests/c/webrtc.c.
        ("webrtc-server", CREATE_SERVER, r#"{"listenInfos":[{"protocol":"udp","ip":"127.0.0.1","port":0},{"protocol":"tcp","ip":"127.0.0.1","port":0}]}"#.into()),
        ("webrtc-transport", CREATE_WEBRTC, r#"{"listenInfos":[{"protocol":"udp","ip":"127.0.0.1"},{"protocol":"tcp","ip":"127.0.0.1"}],"preferUdp":true,"iceConsentTimeout":20}"#.into()),
        ("webrtc-transport-no-udp", CREATE_WEBRTC, r#"{"listenInfos":[{"protocol":"udp","ip":"127.0.0.1"}],"enableUdp":false}"#.into()),
        ("webrtc-connect", WEBRTC_CONNECT, connect_dtls("server")),
        ("webrtc-connect-md5", WEBRTC_CONNECT, r#"{"dtlsParameters":{"fingerprints":[{"algorithm":"md5","value":"AA"}]}}"#.into()),
        ("webrtc-produce-chrome", WEBRTC_PRODUCE, chrome_produce(1)),
        ("webrtc-consume", WEBRTC_CONSUME, r#"{"producerId":"%P","rtpCapabilities":%R,"paused":true}"#.into()),
        // tests/c/direct.c.
        ("direct-transport", CREATE_DIRECT, r#"{"maxMessageSize":100}"#.into()),
        ("direct-produce-opus", DIRECT_PRODUCE, PRODUCE_OPUS.into()),
        ("direct-consume", DIRECT_CONSUME, CONSUME.into()),
        ("produce-data", PRODUCE_DATA, r#"{"label":"bot","protocol":"chat"}"#.into()),
        ("consume-data", CONSUME_DATA, r#"{"dataProducerId":"%D","subchannels":[7]}"#.into()),
        ("data-send-subchannels", DATA_SEND, "[1,2]".into()),
        ("audio-level-observer", AUDIO_LEVEL, r#"{"maxEntries":1,"threshold":-80,"interval":300}"#.into()),
        ("active-speaker-observer", ACTIVE_SPEAKER, r#"{"interval":300}"#.into()),
    ];
    let mut seeds: Vec<(String, Vec<u8>)> = single.into_iter().map(|(n, e, s)| (n.to_string(), calls(&[(e, s.as_bytes())]))).collect();
    seeds.push(("not-utf8".into(), calls(&[(CREATE_ROUTER, b"{\"mediaCodecs\":[\xc3\x28]}")])));
    // Chains: what a call creates is used by the next ones.
    seeds.push((
        "chain-router-plain-produce-consume".into(),
        chain(&[
            (CREATE_ROUTER, r#"{"mediaCodecs":[{"kind":"video","mimeType":"video/VP8","clockRate":90000},{"kind":"video","mimeType":"video/H264","clockRate":90000,"parameters":{"packetization-mode":1}}]}"#),
            (CREATE_PLAIN, r#"{"listenInfo":{"protocol":"udp","ip":"127.0.0.1"},"comedia":true}"#),
            (PLAIN_PRODUCE, &produce_vp8),
            (PLAIN_CONSUME, CONSUME),
            (PREFERRED_LAYERS, r#"{"spatialLayer":2}"#),
        ]),
    ));
    // RTP with an audio-level extension, injected through a direct transport.
    const Z: [u8; 2] = [0xc0, 0x80]; // a zero byte, escaped
    let rtp_opus: Vec<u8> = [&[0x90, 111, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc][..], &Z, &Z, &[0x0d, 0x05, 0xbe, 0xde], &Z, &[1, 0x10, 0x9e], &Z, &Z, &[0x78, 0x0b, 0xe4, 0xc1]].concat();
    let mut direct_rtp = chain(&[(CREATE_DIRECT, "NULL"), (DIRECT_PRODUCE, PRODUCE_OPUS), (DIRECT_CONSUME, CONSUME), (AUDIO_LEVEL, "NULL"), (OBSERVER_ADD, "%P")]);
    direct_rtp.push(0);
    direct_rtp.push(PRODUCER_SEND);
    direct_rtp.extend_from_slice(&rtp_opus);
    seeds.push(("chain-direct-rtp".into(), direct_rtp));
    seeds.push((
        "chain-server-webrtc".into(),
        chain(&[
            (CREATE_SERVER, r#"{"listenInfos":[{"protocol":"udp","ip":"127.0.0.1"}]}"#),
            (CREATE_WEBRTC, r#"{"webRtcServerId":"%S"}"#),
            (WEBRTC_CONNECT, &connect_dtls("client")),
            (WEBRTC_PRODUCE, &chrome_produce(0)),
        ]),
    ));
    seeds.push(("chain-data".into(), chain(&[(CREATE_DIRECT, r#"{"maxMessageSize":10}"#), (PRODUCE_DATA, "NULL"), (CONSUME_DATA, r#"{"dataProducerId":"%D"}"#), (DATA_SEND, "NULL")])));
    let pli = [&[0x81, 206][..], &Z, &[2, 1, 1, 1, 1, 2, 2, 2, 2]].concat();
    seeds.push(("send-rtcp-pli".into(), calls(&[(SEND_RTCP, &pli)])));
    seeds
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), data).unwrap();
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("corpus");
    let rtp = rtp_seeds();
    let rtcp = rtcp_seeds();
    for (name, data) in &rtp {
        write(&corpus.join("rtp_packet"), name, data);
        write(&corpus.join("rtx"), name, data);
        write(&corpus.join("engine_datagrams"), &format!("rtp-{name}"), data);
    }
    for (name, data) in &rtcp {
        write(&corpus.join("rtcp_compound"), name, data);
        write(&corpus.join("engine_datagrams"), &format!("rtcp-{name}"), data);
    }
    for (name, data) in payload_seeds() {
        write(&corpus.join("payload_descriptors"), name, &data);
    }
    for (name, data) in layer_seeds() {
        write(&corpus.join("layer_sequences"), name, &data);
    }
    for (i, n) in [64usize, 256, 1024, 4096].iter().enumerate() {
        write(&corpus.join("twcc"), &format!("random-{n}"), &pseudo_random(0x9E37_79B9_7F4A_7C15 + i as u64, *n));
        write(&corpus.join("nack_generator"), &format!("random-{n}"), &pseudo_random(0xD1B5_4A32_D192_ED03 + i as u64, *n));
    }
    for (name, data) in json_seeds(&root.join("../core/testdata")) {
        write(&corpus.join("ortc_json"), &name, &data);
    }
    // Not JSON: edit scripts over the reference documents (fuzz/src/ortc_json.rs, `edited`).
    for (i, n) in [16usize, 64, 256].iter().enumerate() {
        let mut script = pseudo_random(0x0E0E_0E0E + i as u64, *n);
        script[0] = b'#'; // never valid JSON
        write(&corpus.join("ortc_json"), &format!("edit-script-{n}"), &script);
    }
    // Not RTP or RTCP: a STUN binding request and a DTLS record header reach a plain transport too.
    let mut stun = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    stun.extend_from_slice(b"fuzztxid0123");
    write(&corpus.join("engine_datagrams"), "stun-binding", &stun);
    write(&corpus.join("engine_datagrams"), "dtls-record", &[0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01]);
    for (name, data) in stun_seeds().into_iter().chain(dtls_seeds()) {
        write(&corpus.join("webrtc_datagrams"), name, &data);
    }
    for (name, data) in rtp.iter().take(2).chain(rtcp.iter().take(1)) {
        write(&corpus.join("webrtc_datagrams"), &format!("unencrypted-{name}"), data);
    }
    for (name, data) in sctp_seeds() {
        write(&corpus.join("sctp_packets"), &name, &data);
    }
    for (name, data) in tcp_seeds(&stun_seeds(), &dtls_seeds(), &rtp) {
        write(&corpus.join("tcp_framing"), &name, &data);
    }
    for (name, data) in dtls_handshake_seeds(&dtls_seeds()) {
        write(&corpus.join("dtls_handshake"), name, &data);
    }
    for (name, data) in c_face_seeds() {
        write(&corpus.join("c_face_json"), &name, &data);
    }
    println!("seeds written under {}", corpus.display());
}
