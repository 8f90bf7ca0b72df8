//! `NackGenerator` driven by arbitrary packet arrivals and polls, checked against the rules its
//! docs state (not against a copy of its code):
//!
//! * only sequence numbers that went missing and have not arrived since are requested;
//! * a request is repeated no sooner than `max(rtt, 20)` ms, at most `MAX_RETRIES` times and not
//!   once `MAX_NACK_AGE_MS` have passed since the gap was seen;
//! * nothing older than a key frame that arrived is requested;
//! * at most `MAX_PENDING` are pending; `poll_timeout` is `None` iff nothing is pending, and when
//!   it is due, `poll_nacks` does something (a request or a give-up);
//! * counters only grow, `requested` by what `poll_nacks` emitted.
//!
//! The model tracks missing numbers as extended (unwrapped) sequence numbers, unwrapping and
//! detecting stream restarts (jumps over `MAX_SEQ_JUMP`) as documented. The generator may drop
//! more than the model (list overflow), never request more.

use std::collections::HashMap;

use arbitrary::{Arbitrary, Unstructured};
use sfu_core::rtp::nack::{NackGenerator, MAX_NACK_AGE_MS, MAX_PENDING, MAX_RETRIES, MAX_SEQ_JUMP, MIN_RETRY_INTERVAL_MS};

#[derive(Debug, Arbitrary)]
enum Op {
    /// seq = highest + step (small gaps, reordering, duplicates).
    Step { step: i8, dt_ms: u8, key: bool },
    /// seq = highest + big step (large gaps, restarts).
    Jump { step: i16, dt_ms: u16, key: bool },
    /// Any seq.
    Seq { seq: u16, dt_ms: u16, key: bool },
    /// poll_nacks with this rtt.
    Poll { dt_ms: u16, rtt_ms: u16 },
    /// poll_nacks exactly when poll_timeout says.
    PollAtTimeout { rtt_ms: u16 },
    /// poll_key_frame_request.
    KeyFrameRequest,
}

/// A run of missing extended seqs `start..end`, seen missing at `seen_ms`.
#[derive(Debug, Clone, Copy)]
struct Gap {
    start: u64,
    end: u64,
    seen_ms: u64,
}

#[derive(Default)]
struct Model {
    highest: Option<u64>,
    gaps: Vec<Gap>,
    /// Per extended seq: (last request ms, requests).
    requests: HashMap<u64, (u64, u32)>,
}

impl Model {
    fn unwrap(highest: u64, seq: u16) -> u64 {
        highest.saturating_add_signed(i64::from(seq.wrapping_sub(highest as u16) as i16))
    }

    fn find(&self, ext: u64) -> Option<Gap> {
        self.gaps.iter().copied().find(|g| g.start <= ext && ext < g.end)
    }

    fn remove(&mut self, ext: u64) {
        if let Some(i) = self.gaps.iter().position(|g| g.start <= ext && ext < g.end) {
            let g = self.gaps.remove(i);
            if g.start < ext {
                self.gaps.push(Gap { end: ext, ..g });
            }
            if ext + 1 < g.end {
                self.gaps.push(Gap { start: ext + 1, ..g });
            }
        }
        self.requests.remove(&ext);
    }

    fn clear_before(&mut self, ext: u64) {
        self.gaps.retain_mut(|g| {
            g.start = g.start.max(ext);
            g.start < g.end
        });
        self.requests.retain(|s, _| *s >= ext);
    }

    /// Returns the extended seq of the packet.
    fn on_packet(&mut self, seq: u16, now: u64, key: bool) -> Option<u64> {
        let Some(h) = self.highest else {
            self.highest = Some((1 << 32) + u64::from(seq));
            return None;
        };
        let ext = Self::unwrap(h, seq);
        if ext.abs_diff(h) > MAX_SEQ_JUMP {
            self.gaps.clear();
            self.requests.clear();
            self.highest = Some(ext);
            return None;
        }
        if ext > h {
            if ext > h + 1 {
                self.gaps.push(Gap { start: h + 1, end: ext, seen_ms: now });
            }
            self.highest = Some(ext);
            // Entries this far behind can no longer be unwrapped: never requested again.
            self.clear_before(ext.saturating_sub(MAX_SEQ_JUMP));
        } else if ext < h {
            self.remove(ext);
        }
        if key {
            self.clear_before(ext);
        }
        Some(ext)
    }

    /// The extended seq the model has missing for a requested `seq`, if any.
    fn missing_for(&self, seq: u16) -> Option<(u64, Gap)> {
        let h = self.highest?;
        let ext = Self::unwrap(h, seq);
        self.find(ext).map(|g| (ext, g))
    }
}

/// The input is a sequence of [`Op`]s on one generator.
pub fn nack_generator(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut now: u64 = u.int_in_range(0..=1u64 << 40).unwrap_or(0);
    let mut g = NackGenerator::new();
    let mut m = Model::default();
    let mut stats = g.stats();
    let mut last_seq: u16 = 0;
    let mut out = Vec::new();
    let mut ops = 0;
    while !u.is_empty() && ops < 3000 {
        ops += 1;
        let Ok(op) = Op::arbitrary(&mut u) else { break };
        let packet = match op {
            Op::Step { step, dt_ms, key } => Some((last_seq.wrapping_add(step as i16 as u16), u64::from(dt_ms), key)),
            Op::Jump { step, dt_ms, key } => Some((last_seq.wrapping_add(step as u16), u64::from(dt_ms), key)),
            Op::Seq { seq, dt_ms, key } => Some((seq, u64::from(dt_ms), key)),
            Op::Poll { dt_ms, rtt_ms } => {
                now += u64::from(dt_ms);
                poll(&mut g, &mut m, now, u64::from(rtt_ms), &mut out);
                None
            }
            Op::PollAtTimeout { rtt_ms } => {
                let rtt = u64::from(rtt_ms);
                if let Some(t) = g.poll_timeout(rtt) {
                    now = now.max(t);
                    let before = g.stats();
                    out.clear();
                    poll(&mut g, &mut m, now, rtt, &mut out);
                    let after = g.stats();
                    assert!(
                        !out.is_empty() || after.given_up > before.given_up,
                        "poll_timeout said {t} but poll_nacks at {now} did nothing ({} pending)",
                        g.pending_len()
                    );
                }
                None
            }
            Op::KeyFrameRequest => {
                if g.poll_key_frame_request() {
                    assert!(!g.poll_key_frame_request(), "poll_key_frame_request true twice in a row");
                }
                None
            }
        };
        if let Some((seq, dt, key)) = packet {
            now += dt;
            let pending_before = g.pending_len();
            let was_missing = m.highest.and_then(|_| m.missing_for(seq)).is_some();
            let recovered = g.on_packet(seq, now, key);
            m.on_packet(seq, now, key);
            if recovered {
                assert!(was_missing, "on_packet({seq}) says recovered but it was never missing");
                assert!(g.pending_len() < pending_before, "recovered without leaving the pending list");
            }
            last_seq = seq;
        }
        assert!(g.pending_len() <= MAX_PENDING, "{} pending", g.pending_len());
        assert_eq!(g.poll_timeout(0).is_none(), g.pending_len() == 0, "poll_timeout vs pending_len");
        let s = g.stats();
        assert!(s.requested >= stats.requested && s.recovered >= stats.recovered);
        assert!(s.given_up >= stats.given_up && s.cleared_by_key_frame >= stats.cleared_by_key_frame);
        stats = s;
    }
}

fn poll(g: &mut NackGenerator, m: &mut Model, now: u64, rtt: u64, out: &mut Vec<u16>) {
    out.clear();
    let before = g.stats();
    g.poll_nacks(now, rtt, out);
    assert_eq!(g.stats().requested - before.requested, out.len() as u64, "stats.requested vs emitted");
    let mut seen = std::collections::HashSet::new();
    let interval = rtt.max(MIN_RETRY_INTERVAL_MS);
    for &seq in out.iter() {
        assert!(seen.insert(seq), "seq {seq} requested twice in one poll");
        let (ext, gap) = m
            .missing_for(seq)
            .unwrap_or_else(|| panic!("seq {seq} requested at {now} but it is not missing (highest {:?})", m.highest));
        assert!(now.saturating_sub(gap.seen_ms) < MAX_NACK_AGE_MS, "seq {seq} requested {} ms after its gap was seen", now - gap.seen_ms);
        let r = m.requests.entry(ext).or_insert((0, 0));
        if r.1 > 0 {
            assert!(now >= r.0 + interval, "seq {seq} requested again after {} ms (interval {interval})", now - r.0);
        }
        r.0 = now;
        r.1 += 1;
        assert!(r.1 <= u32::from(MAX_RETRIES), "seq {seq} requested {} times", r.1);
    }
}
