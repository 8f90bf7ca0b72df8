//! Per-consumer sequence-number and timestamp rewriting.
//!
//! A consumer's outgoing stream must look like one continuous RTP stream to its receiver, even
//! when the source pauses, resumes, or changes SSRC (a publisher restarting its encoder). After
//! every such discontinuity the rewriter re-anchors: the next packet gets the last sent sequence
//! number + 1 and a timestamp advanced by the wall-clock time elapsed since the last sent packet.

use std::collections::VecDeque;

/// Packets older than this many sequence numbers behind the newest are dropped.
const MAX_AGE: u16 = 0x4000;

/// Rewrites `(seq, timestamp)` of one source stream into a consumer's continuous output stream.
#[derive(Debug, Clone)]
pub struct SeqTsRewriter {
    clock_rate: u32,
    started: bool,
    sync_required: bool,
    seq_offset: u16,
    ts_offset: u32,
    /// First incoming seq after the last sync: older packets are dropped (their numbers are taken).
    sync_in_seq: u16,
    /// Highest incoming seq since the last sync; `sync_in_seq` trails it by at most `MAX_AGE`.
    max_in_seq: u16,
    max_out_seq: u16,
    max_out_ts: u32,
    last_sent_ms: u64,
    source_ssrc: u32,
    /// Incoming sequence numbers filtered out since the last sync (oldest first): later packets
    /// are numbered as if these never existed, so the receiver sees no gap.
    dropped: VecDeque<u16>,
}

impl SeqTsRewriter {
    /// A rewriter whose output starts at `initial_seq` / `initial_ts`.
    pub fn new(clock_rate: u32, initial_seq: u16, initial_ts: u32) -> Self {
        SeqTsRewriter {
            clock_rate: clock_rate.max(1),
            started: false,
            sync_required: true,
            seq_offset: 0,
            ts_offset: 0,
            sync_in_seq: 0,
            max_in_seq: 0,
            max_out_seq: initial_seq.wrapping_sub(1),
            max_out_ts: initial_ts,
            last_sent_ms: 0,
            source_ssrc: 0,
            dropped: VecDeque::new(),
        }
    }

    /// The source packet `seq` is deliberately not forwarded (a filtered layer): packets after
    /// it close the gap. Drops older than the newest packet seen are ignored (their successors
    /// already went out with their numbers; the receiver sees an ordinary loss).
    pub fn drop_packet(&mut self, ssrc: u32, seq: u16) {
        if !self.started || self.sync_required || ssrc != self.source_ssrc {
            return;
        }
        if (seq.wrapping_sub(self.max_in_seq) as i16) <= 0 {
            return;
        }
        self.max_in_seq = seq;
        self.dropped.push_back(seq);
        self.trim_window();
    }

    /// Keeps the drop window relative to the newest packet so 16-bit wrap never bites; drops that
    /// leave the window are folded into the offset.
    fn trim_window(&mut self) {
        if self.max_in_seq.wrapping_sub(self.sync_in_seq) > MAX_AGE {
            self.sync_in_seq = self.max_in_seq.wrapping_sub(MAX_AGE);
        }
        while let Some(&d) = self.dropped.front() {
            if (d.wrapping_sub(self.sync_in_seq) as i16) >= 0 {
                break;
            }
            self.dropped.pop_front();
            self.seq_offset = self.seq_offset.wrapping_sub(1);
        }
    }

    /// How many dropped packets precede `seq` (all drops are within the window, oldest first).
    fn drops_before(&self, seq: u16) -> u16 {
        let dist = seq.wrapping_sub(self.sync_in_seq);
        self.dropped.partition_point(|d| d.wrapping_sub(self.sync_in_seq) < dist) as u16
    }

    /// Forces a re-anchor on the next packet (after pause/resume or a layer switch).
    pub fn request_sync(&mut self) {
        self.sync_required = true;
    }

    /// The highest sequence number sent so far.
    pub fn last_seq(&self) -> u16 {
        self.max_out_seq
    }

    /// When (engine ms) the highest sequence number was sent.
    pub fn last_sent_ms(&self) -> u64 {
        self.last_sent_ms
    }

    /// The timestamp of the highest sequence number sent so far.
    pub fn last_timestamp(&self) -> u32 {
        self.max_out_ts
    }

    /// Rewrites one packet; `None` when it must be dropped (older than the last re-anchor).
    pub fn rewrite(&mut self, ssrc: u32, seq: u16, ts: u32, now_ms: u64) -> Option<(u16, u32)> {
        if self.started && ssrc != self.source_ssrc {
            self.sync_required = true;
        }
        if self.sync_required {
            let out_seq = self.max_out_seq.wrapping_add(1);
            let out_ts = if self.started {
                let elapsed = now_ms.saturating_sub(self.last_sent_ms).max(1);
                let ticks = (elapsed * self.clock_rate as u64 / 1000).max(1) as u32;
                self.max_out_ts.wrapping_add(ticks)
            } else {
                self.max_out_ts
            };
            self.seq_offset = out_seq.wrapping_sub(seq);
            self.ts_offset = out_ts.wrapping_sub(ts);
            self.sync_in_seq = seq;
            self.max_in_seq = seq;
            self.source_ssrc = ssrc;
            self.dropped.clear();
            self.sync_required = false;
            self.started = true;
        } else if (seq.wrapping_sub(self.sync_in_seq) as i16) < 0 {
            return None;
        } else if (seq.wrapping_sub(self.max_in_seq) as i16) > 0 {
            self.max_in_seq = seq;
            self.trim_window();
        }
        let before = self.drops_before(seq);
        if self.dropped.get(before as usize) == Some(&seq) {
            return None; // a late duplicate of a packet that was filtered out
        }
        let out_seq = seq.wrapping_add(self.seq_offset).wrapping_sub(before);
        let out_ts = ts.wrapping_add(self.ts_offset);
        if (out_seq.wrapping_sub(self.max_out_seq) as i16) > 0 {
            self.max_out_seq = out_seq;
            self.max_out_ts = out_ts;
            self.last_sent_ms = now_ms;
        }
        Some((out_seq, out_ts))
    }
}

#[cfg(test)]
mod tests {
    use super::SeqTsRewriter;

    #[test]
    fn output_starts_at_the_initial_values_and_keeps_deltas() {
        let mut r = SeqTsRewriter::new(90000, 1000, 5000);
        assert_eq!(r.rewrite(1, 40000, 7_000_000, 0), Some((1000, 5000)));
        assert_eq!(r.rewrite(1, 40001, 7_003_000, 33), Some((1001, 8000)));
        // Reordered packet keeps its relative number.
        assert_eq!(r.rewrite(1, 40003, 7_009_000, 40), Some((1003, 14000)));
        assert_eq!(r.rewrite(1, 40002, 7_006_000, 41), Some((1002, 11000)));
    }

    #[test]
    fn sequence_stays_continuous_across_pause_and_resume() {
        let mut r = SeqTsRewriter::new(90000, 10, 0);
        for i in 0..5u16 {
            r.rewrite(7, 100 + i, 3000 * i as u32, 33 * i as u64).unwrap();
        }
        assert_eq!(r.last_seq(), 14);
        // Paused: source packets 105..=199 are not forwarded. Resume re-anchors.
        r.request_sync();
        let (s, t) = r.rewrite(7, 200, 300_000, 1132).unwrap();
        assert_eq!(s, 15, "first packet after resume follows the last sent one");
        // 1000 ms elapsed since the last packet sent at 132 ms → 90000 ticks later.
        assert_eq!(t, 12000 + 90000);
        assert_eq!(r.rewrite(7, 201, 303_000, 1165).unwrap(), (16, t + 3000));
        // A late packet from before the resume is dropped, not given a taken number.
        assert_eq!(r.rewrite(7, 104, 12000, 1166), None);
    }

    #[test]
    fn long_streams_keep_flowing_across_sequence_wraparound() {
        let mut r = SeqTsRewriter::new(90000, 0, 0);
        let mut expect = 0u16;
        for i in 0..200_000u32 {
            let seq = (i % 65536) as u16;
            let (s, _) = r.rewrite(9, seq, i * 3000, i as u64).unwrap_or_else(|| panic!("packet {i} dropped"));
            assert_eq!(s, expect);
            expect = expect.wrapping_add(1);
        }
        // A packet far older than the newest is dropped, a slightly late one is not.
        let newest = (199_999u32 % 65536) as u16;
        assert!(r.rewrite(9, newest.wrapping_sub(20_000), 0, 0).is_none());
        assert!(r.rewrite(9, newest.wrapping_sub(5), 0, 0).is_some());
    }

    #[test]
    fn filtered_packets_leave_no_gap_and_reordering_keeps_numbers() {
        let mut r = SeqTsRewriter::new(90000, 500, 0);
        assert_eq!(r.rewrite(3, 10, 0, 0).unwrap().0, 500);
        r.drop_packet(3, 11);
        r.drop_packet(3, 12);
        // 14 arrives before 13: numbers are still assigned as if 11 and 12 never existed.
        assert_eq!(r.rewrite(3, 14, 0, 1).unwrap().0, 502);
        assert_eq!(r.rewrite(3, 13, 0, 2).unwrap().0, 501);
        assert_eq!(r.rewrite(3, 15, 0, 3).unwrap().0, 503);
        // A late duplicate of a filtered packet is not sent; a drop older than the newest is ignored.
        assert_eq!(r.rewrite(3, 12, 0, 4), None);
        r.drop_packet(3, 14);
        assert_eq!(r.rewrite(3, 16, 0, 5).unwrap().0, 504);
        assert_eq!(r.last_seq(), 504);
    }

    #[test]
    fn many_drops_across_wraparound_keep_the_output_continuous() {
        let mut r = SeqTsRewriter::new(90000, 0, 0);
        let mut expect = 0u16;
        // Every third packet filtered (a temporal layer), for longer than the drop window.
        for i in 0..150_000u32 {
            let seq = (i % 65536) as u16;
            if i % 3 == 2 {
                r.drop_packet(5, seq);
                continue;
            }
            let (s, _) = r.rewrite(5, seq, i * 3000, i as u64).unwrap_or_else(|| panic!("packet {i} dropped"));
            assert_eq!(s, expect, "packet {i}");
            expect = expect.wrapping_add(1);
        }
        assert!(r.dropped.len() <= super::MAX_AGE as usize);
    }

    #[test]
    fn sequence_stays_continuous_when_the_source_ssrc_changes() {
        let mut r = SeqTsRewriter::new(48000, 65534, 0);
        assert_eq!(r.rewrite(1, 10, 960, 0).unwrap().0, 65534);
        assert_eq!(r.rewrite(1, 11, 1920, 20).unwrap().0, 65535);
        // New source: random seq/ts, yet the output continues (and wraps).
        let (s, t) = r.rewrite(2, 50000, 123_456_789, 40).unwrap();
        assert_eq!(s, 0);
        assert_eq!(t, 960 + 960, "20 ms at 48 kHz after the last sent timestamp");
        assert_eq!(r.rewrite(2, 50001, 123_457_749, 60).unwrap(), (1, t + 960));
    }
}
