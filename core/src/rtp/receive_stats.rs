//! Receive-side statistics of one RTP stream (RFC 3550 §6.4.1, appendix A.3 and A.8): extended
//! highest sequence number, cumulative and interval loss, interarrival jitter, the report block
//! we send back, and a 0–10 quality score as mediasoup reports it. Time is passed in.

/// Loss interval (for the fraction lost) and score of one reporting period.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReportBlock {
    /// SSRC of the source reported on.
    pub ssrc: u32,
    /// Fraction lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed on the wire).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received (0 if none).
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    /// Appends this block's 24 bytes (RFC 3550 §6.4.1).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        let lost = (self.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32) & 0x00ff_ffff;
        out.extend_from_slice(&((self.fraction_lost as u32) << 24 | lost).to_be_bytes());
        out.extend_from_slice(&self.highest_seq.to_be_bytes());
        out.extend_from_slice(&self.jitter.to_be_bytes());
        out.extend_from_slice(&self.last_sr.to_be_bytes());
        out.extend_from_slice(&self.delay_since_last_sr.to_be_bytes());
    }

    /// Parses a 24-byte report block.
    pub fn parse(b: &[u8]) -> Option<Self> {
        let w = |i: usize| -> Option<u32> { Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?)) };
        let lost_word = w(4)?;
        let raw = lost_word & 0x00ff_ffff;
        let cumulative_lost = if raw & 0x80_0000 != 0 { (raw | 0xff00_0000) as i32 } else { raw as i32 };
        Some(ReportBlock {
            ssrc: w(0)?,
            fraction_lost: (lost_word >> 24) as u8,
            cumulative_lost,
            highest_seq: w(8)?,
            jitter: w(12)?,
            last_sr: w(16)?,
            delay_since_last_sr: w(20)?,
        })
    }
}

/// Writes a receiver report (PT 201) from `sender_ssrc` with `blocks` (at most 31).
pub fn write_rr(out: &mut Vec<u8>, sender_ssrc: u32, blocks: &[ReportBlock]) {
    let n = blocks.len().min(31);
    out.extend_from_slice(&[0x80 | n as u8, 201]);
    out.extend_from_slice(&((1 + 6 * n) as u16).to_be_bytes());
    out.extend_from_slice(&sender_ssrc.to_be_bytes());
    for b in &blocks[..n] {
        b.write(out);
    }
}

/// A 0–10 score from the share of expected packets that arrived (or were repaired), as
/// mediasoup grades streams: the fourth power punishes loss hard.
pub fn score_from_delivery(delivered_ratio: f64) -> u8 {
    (delivered_ratio.clamp(0.0, 1.0).powi(4) * 10.0).round() as u8
}

/// Statistics of one received stream.
#[derive(Debug, Clone, Default)]
pub struct ReceiveStats {
    started: bool,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    repaired_interval: u64,
    jitter_q4: u64,
    last_transit: Option<i64>,
    last_sr_ntp_mid: u32,
    last_sr_arrival_ms: Option<u64>,
    scores: [u8; 8],
    score_count: usize,
    bad_seq: Option<u16>,
    /// The current score (10 until measured).
    pub score: u8,
    /// Fraction lost (1/256) in the last reporting interval.
    pub fraction_lost: u8,
}

/// Largest forward gap still taken as the same stream (RFC 3550 A.1).
const MAX_DROPOUT: u16 = 3000;
/// Largest backwards step taken as reordering rather than a restart.
const MAX_MISORDER: u16 = 100;

impl ReceiveStats {
    /// Fresh statistics (score 10).
    pub fn new() -> Self {
        ReceiveStats { score: 10, ..Default::default() }
    }

    /// A media packet arrived: `arrival_rtp` is the arrival time in the stream's RTP clock units.
    pub fn on_packet(&mut self, seq: u16, rtp_ts: u32, arrival_rtp: u64) {
        if !self.started {
            self.started = true;
            self.restart(seq);
        } else {
            let delta = seq.wrapping_sub(self.max_seq);
            if delta < MAX_DROPOUT {
                // In order, with a permissible gap.
                if delta != 0 && seq < self.max_seq {
                    self.cycles += 1 << 16;
                }
                self.max_seq = seq;
            } else if delta <= u16::MAX - MAX_MISORDER {
                // A very large jump: a restarted source, or a stray packet. Believe it only when
                // the next packet follows it (RFC 3550 A.1).
                if self.bad_seq == Some(seq) {
                    self.restart(seq);
                } else {
                    self.bad_seq = Some(seq.wrapping_add(1));
                    return;
                }
            }
            // else: duplicate or reordered within MAX_MISORDER, counted as received.
        }
        self.received += 1;
        let transit = arrival_rtp as i64 - rtp_ts as i64;
        if let Some(last) = self.last_transit {
            let d = (transit - last).unsigned_abs();
            // J += (|D| - J) / 16, kept ×16 for precision (RFC 3550 A.8).
            self.jitter_q4 = self.jitter_q4 + d - (self.jitter_q4 >> 4).min(self.jitter_q4 + d);
        }
        self.last_transit = Some(transit);
    }

    /// A retransmitted packet repaired a loss (counts as delivered for the score).
    pub fn on_repaired(&mut self) {
        self.repaired_interval += 1;
    }

    /// A sender report arrived with this NTP time at `now_ms`.
    pub fn on_sender_report(&mut self, ntp: u64, now_ms: u64) {
        self.last_sr_ntp_mid = (ntp >> 16) as u32;
        self.last_sr_arrival_ms = Some(now_ms);
    }

    fn restart(&mut self, seq: u16) {
        self.base_seq = seq as u32;
        self.max_seq = seq;
        self.cycles = 0;
        self.received = 0;
        self.expected_prior = 0;
        self.received_prior = 0;
        self.bad_seq = None;
    }

    fn extended_max(&self) -> u32 {
        self.cycles + self.max_seq as u32
    }

    /// Packets expected so far.
    pub fn expected(&self) -> u64 {
        if !self.started {
            return 0;
        }
        (self.extended_max() as i64 - self.base_seq as i64 + 1).max(0) as u64
    }

    /// Cumulative packets lost (negative with duplicates).
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Interarrival jitter in RTP units.
    pub fn jitter(&self) -> u32 {
        (self.jitter_q4 >> 4) as u32
    }

    /// Closes a reporting interval: the report block for `ssrc`, and the updated score.
    pub fn report(&mut self, ssrc: u32, now_ms: u64) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 { 0 } else { ((lost_interval << 8) / expected_interval as i64) as u8 };
        if expected_interval > 0 {
            let delivered = (received_interval + self.repaired_interval).min(expected_interval);
            self.push_score(score_from_delivery(delivered as f64 / expected_interval as f64));
        }
        self.repaired_interval = 0;
        self.fraction_lost = fraction_lost;
        let dlsr = self.last_sr_arrival_ms.map(|t| ((now_ms.saturating_sub(t)) * 65536 / 1000) as u32).unwrap_or(0);
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.lost().clamp(i32::MIN as i64, i32::MAX as i64) as i32,
            highest_seq: self.extended_max(),
            jitter: self.jitter(),
            last_sr: self.last_sr_ntp_mid,
            delay_since_last_sr: dlsr,
        }
    }

    /// Weighted average of the last scores, recent ones weigh more.
    fn push_score(&mut self, s: u8) {
        self.scores.rotate_right(1);
        self.scores[0] = s;
        self.score_count = (self.score_count + 1).min(self.scores.len());
        let (mut num, mut den) = (0u32, 0u32);
        for (i, s) in self.scores[..self.score_count].iter().enumerate() {
            let w = (self.scores.len() - i) as u32;
            num += *s as u32 * w;
            den += w;
        }
        self.score = ((num as f64 / den as f64).round()) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_stream_scores_ten_and_reports_no_loss() {
        let mut s = ReceiveStats::new();
        for i in 0..100u16 {
            s.on_packet(i, i as u32 * 960, i as u64 * 960);
        }
        let r = s.report(1, 1000);
        assert_eq!((r.fraction_lost, r.cumulative_lost, r.highest_seq, r.jitter), (0, 0, 99, 0));
        assert_eq!(s.score, 10);
    }

    #[test]
    fn ten_percent_loss_is_reported_and_lowers_the_score() {
        let mut s = ReceiveStats::new();
        for i in (0..1000u16).filter(|i| i % 10 != 3) {
            s.on_packet(i, 0, 0);
        }
        let r = s.report(1, 1000);
        assert_eq!(r.cumulative_lost, 100);
        assert_eq!(r.fraction_lost, 25, "100/1000 of 256");
        assert_eq!(s.score, score_from_delivery(0.9));
        assert!(s.score <= 7, "score {}", s.score);
        // Repaired packets count as delivered.
        for i in 1000..1100u16 {
            if i % 10 != 3 {
                s.on_packet(i, 0, 0);
            } else {
                s.on_repaired();
            }
        }
        s.report(1, 2000);
        assert!(s.score > score_from_delivery(0.9), "repairs raise the score: {}", s.score);
    }

    #[test]
    fn wraparound_and_reordering_keep_the_counts_right() {
        let mut s = ReceiveStats::new();
        let seqs: Vec<u16> = (65000u32..66000).map(|x| x as u16).collect();
        // Every 50th packet arrives 20 packets late; one stray packet from far away is ignored.
        for (i, q) in seqs.iter().enumerate() {
            if i % 50 != 7 {
                s.on_packet(*q, 0, 0);
            }
            if i >= 20 && (i - 20) % 50 == 7 {
                s.on_packet(seqs[i - 20], 0, 0);
            }
            if i == 500 {
                s.on_packet(q.wrapping_add(30_000), 0, 0);
            }
        }
        assert_eq!(s.expected(), 1000);
        assert_eq!(s.lost(), 0);
        assert_eq!(s.report(9, 0).highest_seq, 65536 + (65999 - 65536));
    }

    #[test]
    fn jitter_follows_rfc3550() {
        let mut s = ReceiveStats::new();
        // packets every 960 ticks, arrivals alternate ±100 ticks of delay
        for i in 0..200u64 {
            let arrival = i * 960 + if i % 2 == 0 { 0 } else { 100 };
            s.on_packet(i as u16, (i * 960) as u32, arrival);
        }
        let j = s.jitter();
        assert!((90..=100).contains(&j), "jitter {j} converges near |D| = 100");
    }

    #[test]
    fn report_blocks_round_trip_and_rr_matches_rtc_rtcp() {
        use shared::marshal::Unmarshal;
        let b = ReportBlock { ssrc: 7, fraction_lost: 25, cumulative_lost: -3, highest_seq: 70000, jitter: 12, last_sr: 0x1234_5678, delay_since_last_sr: 65536 };
        let mut out = vec![];
        write_rr(&mut out, 99, &[b]);
        let mut buf = &out[..];
        let rr = rtc_rtcp::receiver_report::ReceiverReport::unmarshal(&mut buf).unwrap();
        assert_eq!(rr.ssrc, 99);
        let r = &rr.reports[0];
        assert_eq!((r.ssrc, r.fraction_lost, r.last_sequence_number, r.jitter, r.last_sender_report, r.delay), (7, 25, 70000, 12, 0x1234_5678, 65536));
        assert_eq!(ReportBlock::parse(&out[8..]).unwrap(), b);
    }
}
