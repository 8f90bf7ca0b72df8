//! `TwccRecorder`: arbitrary arrivals and feedback builds; every feedback packet must decode
//! (rtc-rtcp), re-marshal to the same bytes and report exactly what was recorded.

use std::collections::HashMap;

use arbitrary::{Arbitrary, Unstructured};
use rtc_rtcp::transport_feedbacks::transport_layer_cc::{PacketStatusChunk, SymbolTypeTcc, TransportLayerCc};
use sfu_core::rtp::twcc::{TwccRecorder, MIN_FEEDBACK_SIZE};
use rtc_rtcp::packet::Packet;
use shared::marshal::{Marshal, MarshalSize, Unmarshal};

const SENDER: u32 = 0x1111_2222;
/// The reference time field is 24 bits of 64 ms: arrival times are compared modulo this.
const REFERENCE_PERIOD_US: i64 = (1 << 24) * 64_000;

#[derive(Debug, Arbitrary)]
enum Op {
    /// Next packet: seq = previous + `seq_step` (wrapping), `dt_us` later.
    Next { seq_step: i8, dt_us: u16 },
    /// A packet with any seq, any delay.
    Packet { seq: u16, dt_us: u32 },
    /// A long pause (up to ~4300 s) then a packet.
    Pause { seq: u16, dt_ms: u32 },
    /// Build feedback with this size limit.
    Build { max_size: u16 },
}

/// The input drives one recorder: a base time then a sequence of [`Op`]s.
pub fn twcc(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut now: u64 = u.int_in_range(0..=1u64 << 42).unwrap_or(0);
    let media_ssrc: u32 = u.arbitrary().unwrap_or(7);
    let mut rec = TwccRecorder::new(SENDER);
    let mut seq: u16 = 0;
    // First arrival of every seq recorded (by u16), all arrivals kept: a seq may be reused.
    let mut arrivals: HashMap<u16, Vec<u64>> = HashMap::new();
    let mut fb_count: Option<u8> = None;
    let mut ops = 0;
    while !u.is_empty() && ops < 2000 {
        ops += 1;
        let Ok(op) = Op::arbitrary(&mut u) else { break };
        let (s, dt) = match op {
            Op::Next { seq_step, dt_us } => (seq.wrapping_add(seq_step as i16 as u16), u64::from(dt_us)),
            Op::Packet { seq, dt_us } => (seq, u64::from(dt_us)),
            Op::Pause { seq, dt_ms } => (seq, u64::from(dt_ms) * 1000),
            Op::Build { max_size } => {
                build(&mut rec, usize::from(max_size), media_ssrc, &arrivals, &mut fb_count);
                continue;
            }
        };
        seq = s;
        now += dt;
        rec.on_packet(seq, now, media_ssrc);
        arrivals.entry(seq).or_default().push(now);
    }
    build(&mut rec, 1200, media_ssrc, &arrivals, &mut fb_count);
    assert_eq!(rec.pending(), 0);
}

fn build(rec: &mut TwccRecorder, max_size: usize, media_ssrc: u32, arrivals: &HashMap<u16, Vec<u64>>, fb_count: &mut Option<u8>) {
    let pending = rec.pending();
    let mut out = vec![];
    rec.build_feedback(&mut out, max_size);
    if max_size < MIN_FEEDBACK_SIZE {
        assert!(out.is_empty(), "feedback built below MIN_FEEDBACK_SIZE");
        assert_eq!(rec.pending(), pending, "pending changed by a refused build");
        return;
    }
    assert_eq!(rec.pending(), 0, "pending after build_feedback");
    let mut received = 0;
    for p in &out {
        let fb = decode(p, max_size);
        assert_eq!(fb.media_ssrc, media_ssrc);
        if let Some(c) = *fb_count {
            assert_eq!(fb.fb_pkt_count, c.wrapping_add(1), "feedback packet count sequence");
        }
        *fb_count = Some(fb.fb_pkt_count);
        for (seq, at) in statuses(&fb) {
            let Some(at) = at else { continue };
            received += 1;
            let recorded = arrivals.get(&seq).unwrap_or_else(|| panic!("seq {seq} reported received but never recorded"));
            let close = recorded.iter().any(|&r| {
                let d = (at - r as i64).rem_euclid(REFERENCE_PERIOD_US);
                d <= 125 || REFERENCE_PERIOD_US - d <= 125
            });
            assert!(close, "seq {seq} reported at {at} µs (mod 2^24·64 ms), recorded at {recorded:?}");
        }
    }
    assert_eq!(received, pending, "received statuses in the feedback vs pending() before the build");
}

/// Framing checks, rtc-rtcp decode and re-marshal.
fn decode(bytes: &[u8], max_size: usize) -> TransportLayerCc {
    assert!(bytes.len() <= max_size.min(4 << 16), "{} bytes > max_size {max_size}", bytes.len());
    assert_eq!(bytes.len() % 4, 0, "not word aligned");
    assert_eq!(usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), bytes.len() / 4 - 1, "length field");
    assert_eq!(bytes[0] & 0xDF, 0x80 | 15);
    assert_eq!(bytes[1], 205);
    let fb = TransportLayerCc::unmarshal(&mut &bytes[..]).unwrap_or_else(|e| panic!("rtc-rtcp rejects {bytes:02x?}: {e}"));
    let raw = fb.raw_size();
    let padding = bytes.len() - raw;
    assert_eq!(bytes[0] & 0x20 != 0, padding > 0, "P bit vs {padding} padding bytes");
    if padding > 0 {
        assert_eq!(usize::from(bytes[bytes.len() - 1]), padding);
    }
    assert_eq!(fb.marshal_size(), bytes.len());
    assert_eq!(fb.marshal().expect("re-marshal").as_ref(), bytes, "re-marshal differs");
    assert_eq!(fb.sender_ssrc, SENDER);
    fb
}

/// Every status of a feedback packet as (seq, arrival µs when received).
fn statuses(fb: &TransportLayerCc) -> Vec<(u16, Option<i64>)> {
    let mut symbols = Vec::new();
    for chunk in &fb.packet_chunks {
        let left = usize::from(fb.packet_status_count) - symbols.len();
        match chunk {
            PacketStatusChunk::RunLengthChunk(c) => {
                symbols.extend(std::iter::repeat_n(c.packet_status_symbol, usize::from(c.run_length).min(left)))
            }
            PacketStatusChunk::StatusVectorChunk(c) => symbols.extend(c.symbol_list.iter().copied().take(left)),
        }
    }
    assert_eq!(symbols.len(), usize::from(fb.packet_status_count), "chunks cover the status count");
    let mut t = i64::from(fb.reference_time) * 64_000;
    let mut deltas = fb.recv_deltas.iter();
    let v = symbols
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let seq = fb.base_sequence_number.wrapping_add(i as u16);
            match s {
                SymbolTypeTcc::PacketNotReceived => (seq, None),
                SymbolTypeTcc::PacketReceivedSmallDelta | SymbolTypeTcc::PacketReceivedLargeDelta => {
                    let d = deltas.next().expect("a delta per received packet");
                    assert_eq!(d.type_tcc_packet, *s);
                    t += d.delta;
                    (seq, Some(t))
                }
                other => panic!("unexpected symbol {other:?}"),
            }
        })
        .collect();
    assert!(deltas.next().is_none(), "more deltas than received statuses");
    v
}
