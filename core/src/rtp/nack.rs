//! Receive-side loss recovery: which sequence numbers to ask a publisher to resend (the
//! `NackGenerator`), and the RTCP Generic NACK packet that carries the request (RFC 4585 §6.2.1:
//! RTPFB, FMT 1, FCI = PID + BLP pairs). Sans-IO: time is always an argument.

use std::collections::VecDeque;

/// How many times one sequence number is requested before it is given up.
pub const MAX_RETRIES: u8 = 10;
/// Lower bound of the spacing between two requests of the same sequence number, whatever the RTT.
pub const MIN_RETRY_INTERVAL_MS: u64 = 20;
/// A missing packet older than this (since its gap was seen) is no longer worth asking for.
pub const MAX_NACK_AGE_MS: u64 = 1000;
/// Most sequence numbers pending at once; past it the oldest are dropped and a key frame wanted.
pub const MAX_PENDING: usize = 1000;
/// A sequence jump (either way) larger than this is a stream restart, not loss.
pub const MAX_SEQ_JUMP: u64 = 10000;

/// RTCP packet type of transport-layer feedback (RFC 4585).
const RTPFB: u8 = 205;
/// Feedback message type of Generic NACK within RTPFB.
const FMT_GENERIC_NACK: u8 = 1;
/// Common header + sender SSRC + media SSRC.
const NACK_HEADER_LEN: usize = 12;
/// A starting point for extended sequence numbers so that packets before the first one can
/// still be unwrapped without going below zero.
const EXT_SEQ_BASE: u64 = 1 << 32;

/// Counters of a [`NackGenerator`] since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NackStats {
    /// Sequence numbers emitted by `poll_nacks`, each retry counted again.
    pub requested: u64,
    /// Missing packets that arrived later (retransmitted or reordered) while still pending.
    pub recovered: u64,
    /// Missing packets abandoned: out of retries, too old, list overflow or stream reset.
    pub given_up: u64,
    /// Missing packets dropped because a key frame after them made them useless.
    pub cleared_by_key_frame: u64,
}

/// One missing sequence number waiting to be recovered.
#[derive(Debug, Clone, Copy)]
struct Missing {
    ext_seq: u64,
    first_seen_ms: u64,
    last_requested_ms: Option<u64>,
    retries: u8,
}

/// Tracks the sequence numbers received on one media stream and decides which missing ones to
/// request, how often, and when to stop asking (mediasoup's NackGenerator as domain model).
#[derive(Debug, Default)]
pub struct NackGenerator {
    highest: Option<u64>,
    /// Ascending by `ext_seq`: gaps are only ever appended above the highest sequence number.
    pending: VecDeque<Missing>,
    key_frame_wanted: bool,
    stats: NackStats,
}

impl NackGenerator {
    /// A generator that has seen no packet yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A media packet `seq` arrived at `now_ms`. `is_key_frame` says it starts a key frame: pending
    /// requests older than it are dropped, the decoder no longer needs them. Returns true when the
    /// packet was one still pending (recovered by retransmission or late by reordering).
    pub fn on_packet(&mut self, seq: u16, now_ms: u64, is_key_frame: bool) -> bool {
        let Some(highest) = self.highest else {
            self.highest = Some(EXT_SEQ_BASE + u64::from(seq));
            return false;
        };
        let ext = unwrap_seq(highest, seq);
        let jump = ext.abs_diff(highest);
        if jump > MAX_SEQ_JUMP {
            self.reset(ext);
            return false;
        }
        let recovered = if ext > highest {
            self.add_missing(highest + 1, ext, now_ms);
            self.highest = Some(ext);
            false
        } else if ext < highest {
            self.remove(ext)
        } else {
            false
        };
        if is_key_frame {
            self.clear_before(ext);
        }
        recovered
    }

    /// Whether `seq` is a gap still waiting for its retransmission (what an RTX packet must fill
    /// to be worth forwarding; publishers also resend old packets as bandwidth probes).
    pub fn is_missing(&self, seq: u16) -> bool {
        let Some(highest) = self.highest else { return false };
        let ext = unwrap_seq(highest, seq);
        ext < highest && self.pending.binary_search_by_key(&ext, |m| m.ext_seq).is_ok()
    }

    /// Appends to `out` the sequence numbers to request at `now_ms`: new gaps at once, then each
    /// again every `max(rtt_ms, 20)` ms, at most [`MAX_RETRIES`] times and for at most
    /// [`MAX_NACK_AGE_MS`]; those past either limit are given up.
    pub fn poll_nacks(&mut self, now_ms: u64, rtt_ms: u64, out: &mut Vec<u16>) {
        let interval = rtt_ms.max(MIN_RETRY_INTERVAL_MS);
        let stats = &mut self.stats;
        self.pending.retain_mut(|m| {
            if now_ms.saturating_sub(m.first_seen_ms) >= MAX_NACK_AGE_MS {
                stats.given_up += 1;
                return false;
            }
            let due = m
                .last_requested_ms
                .is_none_or(|t| now_ms >= t.saturating_add(interval));
            if !due {
                return true;
            }
            if m.retries >= MAX_RETRIES {
                stats.given_up += 1;
                return false;
            }
            m.retries += 1;
            m.last_requested_ms = Some(now_ms);
            stats.requested += 1;
            out.push(m.ext_seq as u16);
            true
        });
    }

    /// When `poll_nacks` next has something to do (a request or a give-up), for a caller's timer;
    /// `None` while nothing is pending.
    pub fn poll_timeout(&self, rtt_ms: u64) -> Option<u64> {
        let interval = rtt_ms.max(MIN_RETRY_INTERVAL_MS);
        self.pending
            .iter()
            .map(|m| {
                let expiry = m.first_seen_ms.saturating_add(MAX_NACK_AGE_MS);
                let due = m
                    .last_requested_ms
                    .map_or(m.first_seen_ms, |t| t.saturating_add(interval));
                due.min(expiry)
            })
            .min()
    }

    /// True once after the pending list overflowed and requests were dropped: only a key frame
    /// (PLI/FIR) can repair the stream now.
    pub fn poll_key_frame_request(&mut self) -> bool {
        std::mem::take(&mut self.key_frame_wanted)
    }

    /// How many sequence numbers are currently waiting to be recovered.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Counters since creation.
    pub fn stats(&self) -> NackStats {
        self.stats
    }

    fn add_missing(&mut self, from: u64, to_exclusive: u64, now_ms: u64) {
        // Entries too far behind the new highest can no longer be unwrapped reliably.
        let oldest_kept = to_exclusive.saturating_sub(MAX_SEQ_JUMP);
        while self
            .pending
            .front()
            .is_some_and(|m| m.ext_seq < oldest_kept)
        {
            self.pending.pop_front();
            self.stats.given_up += 1;
        }
        // Past MAX_PENDING the oldest requests go (the newest of a huge gap are the most useful)
        // and only a key frame can repair what they covered.
        let new = to_exclusive - from;
        let overflow = (self.pending.len() as u64 + new).saturating_sub(MAX_PENDING as u64);
        if overflow > 0 {
            self.stats.given_up += overflow;
            self.key_frame_wanted = true;
        }
        let from_pending = overflow.min(self.pending.len() as u64);
        self.pending.drain(..from_pending as usize);
        let from = from + (overflow - from_pending);
        self.pending
            .extend((from..to_exclusive).map(|ext_seq| Missing {
                ext_seq,
                first_seen_ms: now_ms,
                last_requested_ms: None,
                retries: 0,
            }));
    }

    fn remove(&mut self, ext: u64) -> bool {
        match self.pending.binary_search_by_key(&ext, |m| m.ext_seq) {
            Ok(i) => {
                self.pending.remove(i);
                self.stats.recovered += 1;
                true
            }
            Err(_) => false,
        }
    }

    fn clear_before(&mut self, ext: u64) {
        let n = self.pending.partition_point(|m| m.ext_seq < ext);
        self.pending.drain(..n);
        self.stats.cleared_by_key_frame += n as u64;
    }

    fn reset(&mut self, ext: u64) {
        self.stats.given_up += self.pending.len() as u64;
        self.pending.clear();
        self.highest = Some(ext);
    }
}

/// The extended sequence number of `seq` taken as the closest one to `reference`.
fn unwrap_seq(reference: u64, seq: u16) -> u64 {
    let delta = i64::from(seq.wrapping_sub(reference as u16) as i16);
    reference.saturating_add_signed(delta)
}

/// Writes RTCP Generic NACK packets (RTPFB, FMT 1) from `sender_ssrc` about `media_ssrc`
/// requesting `seqs` (any order, duplicates allowed, wrap-aware within half the sequence space),
/// packed into PID + BLP pairs. A new packet is started whenever the next pair would exceed
/// `max_size` bytes; each packet holds at least one pair whatever `max_size`.
pub fn write_nack(
    out: &mut Vec<Vec<u8>>,
    sender_ssrc: u32,
    media_ssrc: u32,
    seqs: &[u16],
    max_size: usize,
) {
    let Some(&reference) = seqs.first() else {
        return;
    };
    let mut offsets: Vec<i32> = seqs
        .iter()
        .map(|&s| i32::from(s.wrapping_sub(reference) as i16))
        .collect();
    offsets.sort_unstable();
    offsets.dedup();

    let mut pairs: Vec<(u16, u16)> = Vec::new();
    let mut i = 0;
    while i < offsets.len() {
        let pid = offsets[i];
        let mut blp = 0u16;
        i += 1;
        while i < offsets.len() && offsets[i] - pid <= 16 {
            blp |= 1 << (offsets[i] - pid - 1);
            i += 1;
        }
        pairs.push((reference.wrapping_add(pid as u16), blp));
    }

    // The 16-bit length field counts 32-bit words minus one: at most 65535 - 2 pairs.
    let max_pairs = (max_size.saturating_sub(NACK_HEADER_LEN) / 4).clamp(1, 0xFFFF - 2);
    for chunk in pairs.chunks(max_pairs) {
        let mut pkt = Vec::with_capacity(NACK_HEADER_LEN + 4 * chunk.len());
        pkt.push(0x80 | FMT_GENERIC_NACK);
        pkt.push(RTPFB);
        pkt.extend_from_slice(&(2 + chunk.len() as u16).to_be_bytes());
        pkt.extend_from_slice(&sender_ssrc.to_be_bytes());
        pkt.extend_from_slice(&media_ssrc.to_be_bytes());
        for &(pid, blp) in chunk {
            pkt.extend_from_slice(&pid.to_be_bytes());
            pkt.extend_from_slice(&blp.to_be_bytes());
        }
        out.push(pkt);
    }
}

/// Appends to `out` the sequence numbers requested by one Generic NACK RTCP packet (`packet`
/// starts at its common header; bytes past its length field are ignored). Returns the media
/// SSRC, or `None` when it is not a well-formed Generic NACK.
pub fn parse_nack(packet: &[u8], out: &mut Vec<u16>) -> Option<u32> {
    if packet.len() < NACK_HEADER_LEN
        || packet[0] >> 6 != 2
        || packet[0] & 0x1f != FMT_GENERIC_NACK
        || packet[1] != RTPFB
    {
        return None;
    }
    let mut end = (usize::from(u16::from_be_bytes([packet[2], packet[3]])) + 1) * 4;
    if end < NACK_HEADER_LEN || end > packet.len() {
        return None;
    }
    if packet[0] & 0x20 != 0 {
        let pad = usize::from(packet[end - 1]);
        if pad == 0 || end - NACK_HEADER_LEN < pad {
            return None;
        }
        end -= pad;
    }
    let media_ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
    for fci in packet[NACK_HEADER_LEN..end].chunks_exact(4) {
        let pid = u16::from_be_bytes([fci[0], fci[1]]);
        let blp = u16::from_be_bytes([fci[2], fci[3]]);
        out.push(pid);
        out.extend(
            (0..16u16)
                .filter(|b| blp & (1 << b) != 0)
                .map(|b| pid.wrapping_add(b + 1)),
        );
    }
    Some(media_ssrc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc_rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
    use shared::marshal::{Marshal, Unmarshal};
    use std::collections::BTreeSet;

    const SENDER: u32 = 0x1111_2222;
    const MEDIA: u32 = 0xAABB_CCDD;

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn poll(g: &mut NackGenerator, now: u64, rtt: u64) -> Vec<u16> {
        let mut out = Vec::new();
        g.poll_nacks(now, rtt, &mut out);
        out
    }

    /// Decodes NACK packets through rtc-rtcp into the sorted set of requested seqs.
    fn decode_rtc(packets: &[Vec<u8>]) -> BTreeSet<u16> {
        let mut seqs = BTreeSet::new();
        for p in packets {
            let nack = TransportLayerNack::unmarshal(&mut &p[..])
                .unwrap_or_else(|e| panic!("rtc-rtcp rejects {p:02x?}: {e:?}"));
            assert_eq!((nack.sender_ssrc, nack.media_ssrc), (SENDER, MEDIA));
            for pair in &nack.nacks {
                seqs.extend(pair.packet_list());
            }
        }
        seqs
    }

    #[test]
    fn gap_is_requested_at_once_then_retried_every_rtt() {
        let mut g = NackGenerator::new();
        for (t, s) in [(0, 100u16), (10, 101), (20, 104)] {
            g.on_packet(s, t, false);
        }
        assert_eq!(poll(&mut g, 20, 100), vec![102, 103]);
        assert_eq!(g.poll_timeout(100), Some(120));
        assert!(poll(&mut g, 119, 100).is_empty(), "retried before one RTT");
        assert_eq!(poll(&mut g, 120, 100), vec![102, 103]);
        // A tiny RTT is floored to 20 ms between retries.
        assert!(poll(&mut g, 139, 1).is_empty());
        assert_eq!(poll(&mut g, 140, 1), vec![102, 103]);
        assert_eq!(g.stats().requested, 6, "{:?}", g.stats());
    }

    #[test]
    fn late_arrival_cancels_its_pending_request() {
        let mut g = NackGenerator::new();
        g.on_packet(1, 0, false);
        g.on_packet(5, 0, false);
        assert_eq!(poll(&mut g, 0, 50), vec![2, 3, 4]);
        assert!(
            g.on_packet(3, 10, false),
            "a pending seq arriving is a recovery"
        );
        assert!(
            !g.on_packet(3, 11, false),
            "a duplicate is not recovered twice"
        );
        assert!(
            !g.on_packet(5, 11, false),
            "a duplicate of the highest is nothing"
        );
        assert_eq!(poll(&mut g, 50, 50), vec![2, 4]);
        assert_eq!(g.stats().recovered, 1, "{:?}", g.stats());
        assert_eq!(g.pending_len(), 2);
    }

    #[test]
    fn gives_up_after_max_retries() {
        let mut g = NackGenerator::new();
        g.on_packet(0, 0, false);
        g.on_packet(2, 0, false);
        let mut asked = 0;
        for now in (0..=400).step_by(5) {
            asked += poll(&mut g, now, 20).len();
        }
        assert_eq!(asked, MAX_RETRIES as usize);
        assert_eq!(g.pending_len(), 0);
        assert_eq!(g.stats().given_up, 1, "{:?}", g.stats());
        assert_eq!(g.poll_timeout(20), None);
    }

    #[test]
    fn gives_up_after_max_age_even_with_retries_left() {
        let mut g = NackGenerator::new();
        g.on_packet(0, 0, false);
        g.on_packet(2, 0, false);
        let mut asked = Vec::new();
        for now in (0..=2000).step_by(10) {
            if !poll(&mut g, now, 300).is_empty() {
                asked.push(now);
            }
        }
        assert_eq!(asked, vec![0, 300, 600, 900], "request times");
        assert_eq!(g.stats().given_up, 1, "{:?}", g.stats());
    }

    #[test]
    fn key_frame_clears_older_pending_requests() {
        let mut g = NackGenerator::new();
        g.on_packet(10, 0, false);
        g.on_packet(13, 0, false); // 11, 12 missing
        g.on_packet(16, 0, true); // 14, 15 missing, key frame starts at 16
        assert_eq!(poll(&mut g, 0, 50), Vec::<u16>::new());
        assert_eq!(g.stats().cleared_by_key_frame, 4, "{:?}", g.stats());
        g.on_packet(20, 0, false); // 17..19 missing
        g.on_packet(18, 1, true); // a late key frame start keeps what follows it
        assert_eq!(poll(&mut g, 1, 50), vec![19]);
    }

    #[test]
    fn wraparound_is_a_gap_not_a_jump() {
        let mut g = NackGenerator::new();
        g.on_packet(65533, 0, false);
        g.on_packet(65534, 0, false);
        g.on_packet(1, 0, false);
        assert_eq!(poll(&mut g, 0, 50), vec![65535, 0]);
        assert!(g.on_packet(0, 5, false));
        g.on_packet(3, 6, false);
        assert_eq!(poll(&mut g, 50, 50), vec![65535, 2]);
    }

    #[test]
    fn huge_jump_resets_without_requests() {
        let mut g = NackGenerator::new();
        g.on_packet(0, 0, false);
        g.on_packet(3, 0, false);
        g.on_packet(3 + 10_001, 0, false);
        assert!(poll(&mut g, 0, 50).is_empty());
        assert_eq!(g.stats().given_up, 2, "{:?}", g.stats());
        g.on_packet(10_006, 0, false);
        assert_eq!(poll(&mut g, 0, 50), vec![10_005]);
        // Backwards by more than the jump limit restarts too.
        g.on_packet(10_006u16.wrapping_sub(20_000), 0, false);
        assert_eq!(g.pending_len(), 0);
    }

    #[test]
    fn overflow_keeps_newest_and_wants_a_key_frame() {
        let mut g = NackGenerator::new();
        g.on_packet(0, 0, false);
        g.on_packet(1501, 0, false);
        assert_eq!(g.pending_len(), MAX_PENDING);
        assert!(g.poll_key_frame_request());
        assert!(!g.poll_key_frame_request(), "reported once");
        let asked = poll(&mut g, 0, 50);
        assert_eq!((asked[0], *asked.last().unwrap()), (501, 1500));
        assert_eq!(g.stats().given_up, 500, "{:?}", g.stats());
    }

    #[test]
    fn lossy_stream_requests_exactly_the_lost_and_nack_packets_decode_to_them() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut g = NackGenerator::new();
        let mut lost = BTreeSet::new();
        let mut requested_once = BTreeSet::new();
        let rtt = 60;
        let start: u16 = 60_000;
        // First and last are delivered so every loss is a detectable gap.
        for i in 0..20_000u32 {
            let seq = start.wrapping_add(i as u16);
            let now = u64::from(i) * 5;
            if i != 0 && i != 19_999 && rng.next() % 10 == 0 {
                lost.insert(i);
            } else {
                assert!(!g.on_packet(seq, now, false), "seq {seq} was never lost");
            }
            let mut batch = Vec::new();
            g.poll_nacks(now, rtt, &mut batch);
            if batch.is_empty() {
                continue;
            }
            let mut packets = Vec::new();
            write_nack(&mut packets, SENDER, MEDIA, &batch, 1200);
            let decoded = decode_rtc(&packets);
            let wanted: BTreeSet<u16> = batch.iter().copied().collect();
            assert_eq!(
                decoded, wanted,
                "at {now} ms the NACK packets say something else"
            );
            for p in &packets {
                let mut parsed = Vec::new();
                assert_eq!(parse_nack(p, &mut parsed), Some(MEDIA));
                assert!(parsed.iter().all(|s| wanted.contains(s)));
            }
            for s in batch {
                // Map back to the stream index (all within 20000 of start).
                requested_once.insert(u32::from(s.wrapping_sub(start)));
            }
        }
        // Let the last gaps run out of retries.
        for now in (100_000..102_000).step_by(5) {
            let mut batch = Vec::new();
            g.poll_nacks(now, rtt, &mut batch);
            requested_once.extend(batch.iter().map(|s| u32::from(s.wrapping_sub(start))));
        }
        let stats = g.stats();
        let n = lost.len() as u64;
        assert!(n > 1500, "loss model too mild: {n}");
        assert_eq!(requested_once, lost, "requested vs lost; {stats:?}");
        // Nothing came back, so each was asked the full number of times then given up.
        let want = NackStats {
            requested: n * u64::from(MAX_RETRIES),
            recovered: 0,
            given_up: n,
            cleared_by_key_frame: 0,
        };
        assert_eq!(stats, want);
        assert_eq!(g.pending_len(), 0);
    }

    #[test]
    fn write_nack_packs_pairs_wrap_aware_and_dedups() {
        let mut packets = Vec::new();
        write_nack(
            &mut packets,
            SENDER,
            MEDIA,
            &[1, 65535, 0, 65534, 1, 16, 17],
            1200,
        );
        assert_eq!(packets.len(), 1);
        let p = &packets[0];
        assert_eq!(&p[..4], &[0x81, 205, 0, 4], "header of a 2-pair NACK");
        // PID 65534 with 65535, 0, 1 in BLP bits 0..2; 16 is 18 past it, so a new pair.
        assert_eq!(&p[12..16], &[0xFF, 0xFE, 0x00, 0x07]);
        assert_eq!(&p[16..20], &[0x00, 0x10, 0x00, 0x01]);
        let nack = TransportLayerNack::unmarshal(&mut &p[..]).expect("rtc-rtcp decodes it");
        assert_eq!(nack.nacks.len(), 2);
        assert_eq!(
            decode_rtc(&packets),
            BTreeSet::from([65534, 65535, 0, 1, 16, 17])
        );
    }

    #[test]
    fn write_nack_splits_to_max_size() {
        let seqs: Vec<u16> = (0..100u16).map(|i| i * 20).collect();
        let mut packets = Vec::new();
        write_nack(&mut packets, SENDER, MEDIA, &seqs, 12 + 4 * 10 + 3);
        assert_eq!(
            packets.len(),
            10,
            "{:?}",
            packets.iter().map(Vec::len).collect::<Vec<_>>()
        );
        assert!(packets.iter().all(|p| p.len() == 52));
        assert_eq!(decode_rtc(&packets), seqs.iter().copied().collect());
        // Too small a budget still carries one pair per packet.
        packets.clear();
        write_nack(&mut packets, SENDER, MEDIA, &seqs[..3], 0);
        assert_eq!(packets.len(), 3);
        packets.clear();
        write_nack(&mut packets, SENDER, MEDIA, &[], 1200);
        assert!(packets.is_empty());
    }

    #[test]
    fn parse_nack_round_trips_ours_and_rtc_rtcp_packets() {
        let mut rng = XorShift(42);
        for _ in 0..200 {
            let base = rng.next() as u16;
            let seqs: Vec<u16> = (0..1 + rng.next() % 200)
                .map(|_| base.wrapping_add((rng.next() % 3000) as u16))
                .collect();
            let mut packets = Vec::new();
            write_nack(
                &mut packets,
                SENDER,
                MEDIA,
                &seqs,
                1 + (rng.next() % 1500) as usize,
            );
            let mut parsed = Vec::new();
            for p in &packets {
                assert_eq!(parse_nack(p, &mut parsed), Some(MEDIA));
            }
            let parsed: BTreeSet<u16> = parsed.into_iter().collect();
            assert_eq!(parsed, seqs.iter().copied().collect::<BTreeSet<_>>());
        }
        let theirs = TransportLayerNack {
            sender_ssrc: SENDER,
            media_ssrc: MEDIA,
            nacks: vec![
                rtc_rtcp::transport_feedbacks::transport_layer_nack::NackPair {
                    packet_id: 65530,
                    lost_packets: 0b1000_0000_0010_0001,
                },
            ],
        };
        let raw = theirs.marshal().expect("marshal");
        let mut parsed = Vec::new();
        assert_eq!(parse_nack(&raw, &mut parsed), Some(MEDIA));
        assert_eq!(parsed, vec![65530, 65531, 0, 10]);
    }

    #[test]
    fn parse_nack_rejects_garbage_without_panicking() {
        let mut packets = Vec::new();
        write_nack(&mut packets, SENDER, MEDIA, &[1, 2, 40, 90], 1200);
        let good = &packets[0];
        let mut out = Vec::new();
        for n in 0..good.len() {
            assert_eq!(
                parse_nack(&good[..n], &mut out),
                None,
                "prefix of {n} bytes"
            );
        }
        let mut rng = XorShift(7);
        for _ in 0..20_000 {
            let len = (rng.next() % 40) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if len > 1 && rng.next() % 2 == 0 {
                buf[0] = 0x81 | (buf[0] & 0x20);
                buf[1] = 205;
            }
            out.clear();
            let _ = parse_nack(&buf, &mut out);
        }
        let mut wrong_type = good.clone();
        wrong_type[1] = 206;
        assert_eq!(parse_nack(&wrong_type, &mut out), None);
    }
}
