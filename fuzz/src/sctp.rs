//! The SCTP association of data channels (`sfu_core::sctp::SctpAssociation`, sans-IO over
//! rtc-sctp) on simulated time: a client `a` and a server `b` on an in-memory link the input
//! controls, plus packets the input forges or mutates.
//!
//! Input: byte 0 is the setup (bit 0: stay in the handshake instead of connecting first; bit 1:
//! small limits: 8 outgoing streams on both, 6 incoming on `b`, `maxMessageSize` 3000, send buffer
//! 8000), then an op script read with [`Reader`] until the input ends:
//!
//! | op (low 4 bits of the tag byte) | fields |
//! | --- | --- |
//! | 0 inject | bit 4: to `a` (else to `b`); bits 5-7: keep the input's verification tag / checksum / TSNs as they are. `tag: u32` (only when kept), `len: u16`, then `len` bytes of chunks |
//! | 1 mutate | bit 4: a packet `b` sent (else `a`); `index: u8` into the last 64 sent that way, `edits: u8` (low 3 bits), each `pos: u16, value: u8`; bit 5: keep the checksum |
//! | 2 deliver | bit 4: direction; `count: u8` (0: all in flight) |
//! | 3 drop | bit 4: direction; `count: u8` |
//! | 4 reorder | bit 4: direction; the newest packet in flight goes first |
//! | 5 send | bit 4: from `b`; bit 5: `len` x 4; `stream: u8`, `ppid: u8`, `len: u16`, `reliability: u8`, `limit: u16` |
//! | 6 reset stream | bit 4: on `b`; `stream: u8` |
//! | 7 low threshold | bit 4: on `b`; `stream: u8`, `bytes: u16` |
//! | 8 advance | `ms: u16` x 4; timers run, nothing is delivered |
//! | 9 run | `ms: u16`; timers run and everything is delivered at once |
//! | 10 close | bit 4: `b` |
//! | 11 duplicate | bit 4: direction; the packet delivered last that way arrives again |
//! | other | deliver everything both ways |
//!
//! Injected chunks get a common header from the harness: ports 5000, the verification tag the
//! receiver expects and a correct CRC-32C; TSNs, request and response sequence numbers are taken
//! as offsets from the sender's (receiver's, for acknowledgements) initial TSN, so `DATA` with TSN
//! 1 is the sender's second TSN. Tags and initial TSNs are learned from the INIT / INIT ACK the
//! two associations exchange (they are random per run).
//!
//! Checks, after every op: no panic (also none that the association catches itself around
//! rtc-sctp); `poll_transmit` and `poll_event` run dry; every packet sent has a valid CRC-32C
//! and fits the 1191-byte MTU; states never leave `failed`/`closed` and the last state
//! event is `state()`; a message is never larger than `maxMessageSize` nor on a stream id at or
//! above the negotiated inbound stream count, empty PPIDs carry empty data; `bufferedamountlow`
//! reports an amount at or below the threshold set; the buffered amounts stay within
//! `sctpSendBufferSize`; the heap held stays under 64 MiB. Without forged or mutated packets and
//! without `close`, after a clean run every message that arrived was sent (once), every
//! reliable message sent on a stream that neither side reset and that did not mix ordered and
//! unordered messages arrived, nothing stays buffered, and both ends still carry a new message.

use std::collections::{HashMap, VecDeque};

use sfu_core::sctp::{Ppid, Reliability, SctpAssociation, SctpError, SctpEvent, SctpOptions, SctpRole, SctpState};

use crate::harness::{peak_heap, record_panics, take_panic, Reader};

const PORT: u16 = 5000;
/// rtc-sctp's outgoing MTU (`INITIAL_MTU`): every packet must fit one DTLS record of a 1280-byte
/// IPv6 path.
const MTU: usize = 1191;
const HISTORY: usize = 64;
/// Packets the harness keeps in flight per direction (the oldest are lost beyond).
const MAX_IN_FLIGHT: usize = 1024;
/// Bound on the packets / events one drain may produce.
const MAX_DRAIN: usize = 20_000;
/// The stream of the final probe message: never chosen by the op script.
const PROBE_STREAM: u16 = 4;
/// Heap the whole input may hold at once.
const MAX_HEAP: usize = 64 << 20;
/// Simulated time the final clean run may take.
const SETTLE_MS: u64 = 15 * 60_000;

const CT_DATA: u8 = 0;
const CT_INIT: u8 = 1;
const CT_INIT_ACK: u8 = 2;
const CT_SACK: u8 = 3;
const CT_SHUTDOWN: u8 = 7;
const CT_RECONFIG: u8 = 130;
const CT_FORWARD_TSN: u8 = 192;

/// A message as the checks know it: stream, text or binary, length and a hash of the data (the
/// harness does not keep what it sends).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Msg {
    stream: u16,
    text: bool,
    len: usize,
    hash: u64,
}

impl Msg {
    fn new(stream: u16, text: bool, data: &[u8]) -> Self {
        // CRC-32C of the data and of its reverse halves (hardware CRC: cheap on 256 KiB).
        let (a, b) = data.split_at(data.len() / 2);
        let hash = u64::from(crc32c::crc32c(data)) << 32 | u64::from(crc32c::crc32c_append(crc32c::crc32c(b), a));
        Msg { stream, text, len: data.len(), hash }
    }
}

/// One side's association and what the harness knows about it.
struct Side {
    assoc: SctpAssociation,
    opts: SctpOptions,
    state: SctpState,
    thresholds: HashMap<u16, usize>,
    touched: Vec<u16>,
    /// Messages received -> count.
    received: HashMap<Msg, usize>,
    /// Messages sent -> count; and the reliable ones among them.
    sent: HashMap<Msg, usize>,
    sent_reliable: Vec<Msg>,
    /// Streams this side sent ordered (bit 0) / unordered (bit 1) messages on.
    orderings: HashMap<u16, u8>,
}

impl Side {
    fn new(opts: SctpOptions) -> Self {
        Side {
            assoc: SctpAssociation::new(opts.clone(), epoch()),
            opts,
            state: SctpState::New,
            thresholds: HashMap::new(),
            touched: vec![],
            received: HashMap::new(),
            sent: HashMap::new(),
            sent_reliable: vec![],
            orderings: HashMap::new(),
        }
    }
}

fn epoch() -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

/// Index 0 is `a` (client), 1 is `b` (server); `link[s]` holds what side `s` sent.
struct Sim {
    now: u64,
    sides: [Side; 2],
    link: [VecDeque<Vec<u8>>; 2],
    history: [VecDeque<Vec<u8>>; 2],
    last_delivered: [Option<Vec<u8>>; 2],
    /// Verification tag of packets from side `s` (what the other side expects).
    tag: [Option<u32>; 2],
    /// Initial TSN of side `s`.
    tsn: [Option<u32>; 2],
    /// A forged or mutated packet reached a side, or one was closed.
    tampered: bool,
    /// Streams reset by either side: what was queued on them may be dropped (the peer answers a
    /// reset by resetting its own outgoing stream, RFC 8831 §6.7).
    reset: Vec<u16>,
    sent_counter: u32,
}

fn crc32c(packet: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&packet[..8]);
    let crc = crc32c::crc32c_append(crc, &[0; 4]);
    crc32c::crc32c_append(crc, &packet[12..])
}

fn set_crc(packet: &mut [u8]) {
    if packet.len() >= 12 {
        let crc = crc32c(packet);
        packet[8..12].copy_from_slice(&crc.to_le_bytes());
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn add32(b: &mut [u8], at: usize, base: u32) {
    if let Some(v) = be32(b, at) {
        b[at..at + 4].copy_from_slice(&v.wrapping_add(base).to_be_bytes());
    }
}

/// Calls `f(type, value range)` for each chunk of a packet body (chunks after the common header).
fn for_chunks(body: &mut [u8], mut f: impl FnMut(u8, &mut [u8])) {
    let mut off = 0;
    while off + 4 <= body.len() {
        let len = usize::from(u16::from_be_bytes([body[off + 2], body[off + 3]]));
        if len < 4 || off + len > body.len() {
            return;
        }
        let typ = body[off];
        f(typ, &mut body[off + 4..off + len]);
        off += (len + 3) & !3;
    }
}

/// Adds the real bases to a forged chunk list's sequence numbers: `mine` is the sender's initial
/// TSN, `theirs` the receiver's.
fn rebase(body: &mut [u8], mine: u32, theirs: u32) {
    for_chunks(body, |typ, v| match typ {
        CT_DATA | CT_FORWARD_TSN => add32(v, 0, mine),
        CT_SACK | CT_SHUTDOWN => add32(v, 0, theirs),
        CT_RECONFIG => {
            let mut off = 0;
            while off + 4 <= v.len() {
                let ptype = u16::from_be_bytes([v[off], v[off + 1]]);
                let plen = usize::from(u16::from_be_bytes([v[off + 2], v[off + 3]]));
                if plen < 4 || off + plen > v.len() {
                    return;
                }
                let p = &mut v[off + 4..off + plen];
                match ptype {
                    // Outgoing SSN Reset Request: request sn, response sn, sender's last TSN.
                    13 => {
                        add32(p, 0, mine);
                        add32(p, 4, theirs);
                        add32(p, 8, mine);
                    }
                    // Incoming / SSN-TSN reset, add streams: request sn.
                    14 | 15 | 17 | 18 => add32(p, 0, mine),
                    // Response: response sn (theirs), then sender's and receiver's next TSN.
                    16 => {
                        add32(p, 0, theirs);
                        add32(p, 8, mine);
                        add32(p, 12, theirs);
                    }
                    _ => {}
                }
                off += (plen + 3) & !3;
            }
        }
        _ => {}
    });
}

/// The stream an op names: valid ones, the edge of the outgoing range, and beyond it.
fn stream(sel: u8, os: u16) -> u16 {
    [0, 1, 2, 3, 5, 7, os.saturating_sub(1), os, 65535][usize::from(sel) % 9]
}

fn reliability(sel: u8, limit: u16) -> Reliability {
    let ordered = sel & 1 == 0;
    match (sel >> 1) % 3 {
        0 => Reliability { ordered, ..Reliability::RELIABLE },
        1 => Reliability { ordered, max_packet_life_time: Some(u32::from(limit)), max_retransmits: None },
        _ => Reliability { ordered, max_packet_life_time: None, max_retransmits: Some(u32::from(limit % 8)) },
    }
}

impl Sim {
    fn new(small: bool) -> Self {
        let base = if small {
            SctpOptions { os: 8, mis: 8, max_message_size: 3000, send_buffer_size: 8000, role: SctpRole::Client }
        } else {
            SctpOptions { role: SctpRole::Client, ..SctpOptions::default() }
        };
        let b = SctpOptions { role: SctpRole::Server, mis: if small { 6 } else { base.mis }, ..base.clone() };
        Sim {
            now: 0,
            sides: [Side::new(base), Side::new(b)],
            link: [VecDeque::new(), VecDeque::new()],
            history: [VecDeque::new(), VecDeque::new()],
            last_delivered: [None, None],
            tag: [None, None],
            tsn: [None, None],
            tampered: false,
            reset: vec![],
            sent_counter: 0,
        }
    }

    /// Takes everything both sides have to send and to report, checking it.
    fn drain(&mut self) {
        for s in 0..2 {
            let mut n = 0;
            while let Some(p) = self.sides[s].assoc.poll_transmit(self.now) {
                n += 1;
                assert!(n <= MAX_DRAIN, "side {s}: poll_transmit does not run dry");
                self.on_sent(s, p.to_vec());
            }
            n = 0;
            while let Some(e) = self.sides[s].assoc.poll_event() {
                n += 1;
                assert!(n <= MAX_DRAIN, "side {s}: poll_event does not run dry");
                self.on_event(s, e);
            }
            self.check_side(s);
        }
        if let Some(p) = take_panic() {
            panic!("the SCTP stack panicked (caught by SctpAssociation): {p}");
        }
    }

    fn on_sent(&mut self, s: usize, p: Vec<u8>) {
        assert!(p.len() >= 12, "side {s} sent a {}-byte packet", p.len());
        assert!(p.len() <= MTU, "side {s} sent a {}-byte packet, over the {MTU}-byte MTU", p.len());
        assert_eq!(u32::from_le_bytes(p[8..12].try_into().unwrap()), crc32c(&p), "side {s} sent a bad checksum");
        // Ports are not checked: rtc-sctp answers an INIT from / to any port with an INIT ACK
        // with the ports swapped (the peer's ports are 5000 over DTLS anyway).
        // Learn the verification tags and initial TSNs from INIT / INIT ACK.
        let mut body = p[12..].to_vec();
        let (mut tag, mut tsn) = (None, None);
        for_chunks(&mut body, |typ, v| {
            if typ == CT_INIT || typ == CT_INIT_ACK {
                tag = be32(v, 0);
                tsn = be32(v, 12);
            }
        });
        if let (Some(tag), Some(tsn)) = (tag, tsn) {
            self.tag[1 - s] = Some(tag);
            self.tsn[s] = Some(tsn);
        }
        if self.history[s].len() == HISTORY {
            self.history[s].pop_front();
        }
        self.history[s].push_back(p.clone());
        if self.link[s].len() == MAX_IN_FLIGHT {
            self.link[s].pop_front();
        }
        self.link[s].push_back(p);
    }

    fn on_event(&mut self, s: usize, e: SctpEvent) {
        let side = &mut self.sides[s];
        match e {
            SctpEvent::StateChange(st) => {
                assert!(
                    !side.state.is_terminal() || st.is_terminal(),
                    "side {s}: state {} after {}",
                    st.as_str(),
                    side.state.as_str()
                );
                side.state = st;
            }
            SctpEvent::Message { stream_id, ppid, data } => {
                assert!(data.len() <= side.opts.max_message_size, "side {s}: a {}-byte message", data.len());
                let inbound = side.assoc.inbound_streams();
                assert!(stream_id < inbound, "side {s}: a message on stream {stream_id}, {inbound} inbound streams");
                if matches!(ppid, Ppid::StringEmpty | Ppid::BinaryEmpty) {
                    assert!(data.is_empty(), "side {s}: PPID {ppid:?} with {} bytes", data.len());
                }
                *side.received.entry(Msg::new(stream_id, ppid.is_string(), &data)).or_default() += 1;
            }
            SctpEvent::BufferedAmountLow { stream_id, buffered_amount } => {
                let threshold = side.thresholds.get(&stream_id).copied().unwrap_or(0);
                assert!(
                    buffered_amount <= threshold,
                    "side {s}: bufferedamountlow on stream {stream_id} at {buffered_amount} bytes, threshold {threshold}"
                );
            }
            SctpEvent::SendBufferFull { .. } | SctpEvent::StreamReset { .. } => {}
        }
    }

    fn check_side(&mut self, s: usize) {
        let side = &mut self.sides[s];
        assert_eq!(side.assoc.state(), side.state, "side {s}: state() differs from the last state event");
        let total = side.assoc.total_buffered_amount();
        // A peer's DCEP OPENs are answered with ACKs past the limit (1 byte each).
        assert!(
            total <= side.opts.send_buffer_size + 4096,
            "side {s}: {total} bytes buffered, send buffer {}",
            side.opts.send_buffer_size
        );
        let mut sum = 0;
        for &id in &side.touched {
            let b = side.assoc.buffered_amount(id);
            assert!(b <= total, "side {s}: stream {id} buffers {b} of {total}");
            sum += b;
        }
        assert!(sum <= total, "side {s}: streams buffer {sum} of {total}");
        if side.state.is_terminal() {
            assert_eq!(side.assoc.poll_timeout(), None, "side {s}: a timer runs after {}", side.state.as_str());
        }
    }

    /// Runs the timers due up to `until`, delivering nothing.
    fn advance(&mut self, until: u64) {
        for round in 0.. {
            assert!(round < MAX_DRAIN, "timers fire without end before {until} ms");
            let next = self.sides.iter().filter_map(|s| s.assoc.poll_timeout()).min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    for s in 0..2 {
                        if self.sides[s].assoc.poll_timeout().is_some_and(|t| t <= self.now) {
                            self.sides[s].assoc.handle_timeout(self.now);
                        }
                    }
                    self.drain();
                }
                _ => break,
            }
        }
        self.now = self.now.max(until);
    }

    fn deliver(&mut self, from: usize, count: usize) {
        for _ in 0..count {
            let Some(p) = self.link[from].pop_front() else { break };
            self.sides[1 - from].assoc.handle_input(self.now, &p);
            self.last_delivered[from] = Some(p);
            self.drain();
        }
    }

    /// Delivers everything in flight (and what it provokes) at the current time.
    fn pump(&mut self) {
        for round in 0.. {
            assert!(round < MAX_DRAIN, "no quiescence at {} ms", self.now);
            if self.link[0].is_empty() && self.link[1].is_empty() {
                return;
            }
            for from in 0..2 {
                let n = self.link[from].len();
                self.deliver(from, n);
            }
        }
    }

    /// A clean link for up to `ms`: everything is delivered at once, timers run; stops early
    /// when `done` holds.
    fn run(&mut self, ms: u64, mut done: impl FnMut(&Sim) -> bool) -> bool {
        let deadline = self.now.saturating_add(ms);
        loop {
            self.pump();
            if done(self) {
                return true;
            }
            let next = self.sides.iter().filter_map(|s| s.assoc.poll_timeout()).min();
            match next {
                Some(t) if t <= deadline => self.advance(t.max(self.now + 1)),
                _ => {
                    self.advance(deadline);
                    self.pump();
                    return done(self);
                }
            }
        }
    }

    fn inject(&mut self, to: usize, mut packet: Vec<u8>, fix_crc: bool) {
        if fix_crc {
            set_crc(&mut packet);
        }
        self.tampered = true;
        self.sides[to].assoc.handle_input(self.now, &packet);
        self.drain();
    }

    fn send(&mut self, s: usize, stream_id: u16, ppid: u8, len: usize, rel: Reliability) {
        self.sent_counter += 1;
        let text = ppid & 1 == 0;
        let ppid = if text { Ppid::String } else { Ppid::Binary };
        // The counter repeated (whole-slice copies: a byte loop would dominate the run time).
        let mut data = self.sent_counter.to_be_bytes().repeat(len / 4 + 1);
        data.truncate(len);
        if let Some(b) = data.get_mut(4) {
            *b = s as u8;
        }
        let side = &mut self.sides[s];
        if !side.touched.contains(&stream_id) {
            side.touched.push(stream_id);
        }
        let before = side.assoc.total_buffered_amount();
        let r = side.assoc.send(self.now, stream_id, ppid, &data, rel);
        match &r {
            Ok(()) => {
                assert_eq!(side.state, SctpState::Connected, "side {s}: send accepted in {}", side.state.as_str());
                let os = side.assoc.outbound_streams();
                assert!(stream_id < os, "side {s}: send on stream {stream_id} accepted, {os} outbound streams");
                assert!(len <= side.opts.max_message_size, "side {s}: a {len}-byte message accepted");
                *side.orderings.entry(stream_id).or_default() |= if rel.ordered { 1 } else { 2 };
                let key = Msg::new(stream_id, text, &data);
                *side.sent.entry(key.clone()).or_default() += 1;
                if rel.max_packet_life_time.is_none() && rel.max_retransmits.is_none() {
                    side.sent_reliable.push(key);
                }
            }
            Err(SctpError::NotConnected) => {
                assert_ne!(side.state, SctpState::Connected, "side {s}: connected but NotConnected")
            }
            Err(SctpError::InvalidStream { num_streams, .. }) => {
                assert!(stream_id >= *num_streams, "side {s}: stream {stream_id} refused, {num_streams} streams");
                assert_eq!(*num_streams, side.assoc.outbound_streams().min(side.opts.os), "side {s}");
            }
            Err(SctpError::MessageTooLarge { .. }) => assert!(len > side.opts.max_message_size),
            Err(SctpError::SendBufferFull { .. }) => {
                assert!(before + len.max(1) > side.opts.send_buffer_size, "side {s}: send buffer full at {before} + {len}")
            }
            // Internal: rtc-sctp refused (e.g. a stream beyond what the peer accepts).
            Err(SctpError::StreamResetPending { .. } | SctpError::Internal(_)) => {}
            Err(e) => panic!("side {s}: send failed: {e}"),
        }
        self.drain();
    }

    fn op(&mut self, r: &mut Reader<'_>) {
        let tag = r.u8();
        let bit4 = usize::from(tag >> 4 & 1);
        let flags = tag >> 5;
        match tag & 0x0f {
            0 => {
                // Forged chunks from side 1 - to.
                let to = 1 - bit4;
                let from = 1 - to;
                let vtag = if flags & 1 != 0 { r.u32() } else { self.tag[from].unwrap_or(0) };
                let len = usize::from(r.u16());
                let mut body = r.bytes(len).to_vec();
                if flags & 4 == 0 {
                    rebase(&mut body, self.tsn[from].unwrap_or(0), self.tsn[to].unwrap_or(0));
                }
                let mut p = Vec::with_capacity(12 + body.len());
                p.extend_from_slice(&PORT.to_be_bytes());
                p.extend_from_slice(&PORT.to_be_bytes());
                p.extend_from_slice(&vtag.to_be_bytes());
                p.extend_from_slice(&[0; 4]);
                p.extend_from_slice(&body);
                self.inject(to, p, flags & 2 == 0);
            }
            1 => {
                let from = bit4;
                let index = usize::from(r.u8());
                let edits = r.u8() & 7;
                let mut edit_list = vec![];
                for _ in 0..edits {
                    edit_list.push((usize::from(r.u16()), r.u8()));
                }
                let Some(mut p) = self.history[from].get(index % self.history[from].len().max(1)).cloned() else { return };
                for (pos, v) in edit_list {
                    // Position 0xffff truncates; others overwrite (the checksum field included).
                    if pos == 0xffff {
                        p.truncate(12 + usize::from(v) * 4);
                    } else if !p.is_empty() {
                        let at = pos % p.len();
                        p[at] = v;
                    }
                }
                self.inject(1 - from, p, flags & 1 == 0);
            }
            2 => {
                let n = usize::from(r.u8());
                let n = if n == 0 { self.link[bit4].len() } else { n };
                self.deliver(bit4, n);
            }
            3 => {
                for _ in 0..r.u8() {
                    self.link[bit4].pop_front();
                }
            }
            4 => {
                if let Some(p) = self.link[bit4].pop_back() {
                    self.link[bit4].push_front(p);
                }
            }
            5 => {
                let (stream_sel, ppid, len, rel, limit) = (r.u8(), r.u8(), r.u16(), r.u8(), r.u16());
                let len = if flags & 1 != 0 { usize::from(len) * 4 } else { usize::from(len) };
                let os = self.sides[bit4].opts.os;
                self.send(bit4, stream(stream_sel, os), ppid, len, reliability(rel, limit));
            }
            6 => {
                let id = stream(r.u8(), self.sides[bit4].opts.os);
                self.reset.push(id);
                let side = &mut self.sides[bit4];
                side.thresholds.insert(id, 0);
                side.assoc.reset_stream(self.now, id);
                self.drain();
            }
            7 => {
                let (id, bytes) = (stream(r.u8(), self.sides[bit4].opts.os), usize::from(r.u16()));
                let side = &mut self.sides[bit4];
                side.thresholds.insert(id, bytes);
                if !side.touched.contains(&id) {
                    side.touched.push(id);
                }
                side.assoc.set_buffered_amount_low_threshold(id, bytes);
                self.drain();
            }
            8 => {
                let until = self.now + u64::from(r.u16()) * 4;
                self.advance(until);
            }
            9 => {
                let ms = u64::from(r.u16());
                self.run(ms, |_| false);
            }
            10 => {
                self.tampered = true;
                self.sides[bit4].assoc.close(self.now);
                self.drain();
            }
            11 => {
                // A network duplicate: not tampering.
                if let Some(p) = self.last_delivered[bit4].clone() {
                    self.sides[1 - bit4].assoc.handle_input(self.now, &p);
                    self.drain();
                }
            }
            _ => self.pump(),
        }
    }

    fn connected(&self) -> bool {
        self.sides.iter().all(|s| s.state == SctpState::Connected)
    }

    /// Without tampering: what arrived was sent, what was sent reliably arrived, nothing stays
    /// buffered, and both ends still carry a new message.
    fn settle(&mut self) {
        let quiet = |sim: &Sim| {
            sim.link.iter().all(VecDeque::is_empty) && sim.sides.iter().all(|s| s.assoc.total_buffered_amount() == 0)
        };
        if self.tampered || !self.connected() {
            self.run(60_000, quiet);
            return;
        }
        let settled = self.run(SETTLE_MS, quiet);
        for s in 0..2 {
            let peer = &self.sides[1 - s];
            for (key, n) in &self.sides[s].received {
                let sent = peer.sent.get(key).copied().unwrap_or(0);
                assert!(*n <= sent, "side {s} received {n} x {key:?}, the peer sent it {sent} times");
            }
            // Left out: streams reset (their queued data may go), and streams that carried both
            // ordered and unordered messages: rtc-sctp keeps one ordered flag per stream and the
            // association sets it to what the peer last sent, so a FORWARD TSN's skip of an
            // abandoned ordered message is ignored while the flag says unordered and the stream
            // waits for it forever. Data channels never mix (ordering is per channel).
            let mixed = |id: u16| peer.orderings.get(&id) == Some(&3);
            for key in peer.sent_reliable.iter().filter(|k| !self.reset.contains(&k.stream) && !mixed(k.stream)) {
                assert!(self.sides[s].received.contains_key(key), "side {s} never received the reliable {key:?}");
            }
        }
        assert!(
            settled,
            "still buffered after {SETTLE_MS} ms of a clean link: a {} b {}",
            self.sides[0].assoc.total_buffered_amount(),
            self.sides[1].assoc.total_buffered_amount()
        );
        for s in 0..2 {
            let text = format!("probe from {s}").into_bytes();
            let probe = Msg::new(PROBE_STREAM, false, &text);
            let r = self.sides[s].assoc.send(self.now, PROBE_STREAM, Ppid::Binary, &text, Reliability::RELIABLE);
            assert_eq!(r, Ok(()), "side {s}: the probe was refused");
            self.drain();
            let arrived = self.run(SETTLE_MS, |sim| sim.sides[1 - s].received.contains_key(&probe));
            assert!(arrived, "side {s}: the probe did not arrive");
        }
    }
}

/// The input is a setup byte and an op script (see the module docs).
pub fn sctp_packets(data: &[u8]) {
    record_panics();
    let _ = take_panic();
    let ((), heap) = peak_heap(|| {
        let mut r = Reader::new(data);
        let setup = r.u8();
        let mut sim = Sim::new(setup & 2 != 0);
        sim.sides[1].assoc.start(0);
        sim.sides[0].assoc.start(0);
        sim.drain();
        if setup & 1 == 0 {
            let up = sim.run(60_000, Sim::connected);
            assert!(up, "the handshake did not complete on a clean link");
        }
        while !r.is_empty() {
            sim.op(&mut r);
        }
        sim.settle();
    });
    assert!(heap <= MAX_HEAP, "the input held {heap} bytes of heap at once");
}

/// Writing op scripts (the seeds of `make-seeds.rs`).
pub mod script {
    use super::*;

    /// An op script under construction.
    pub struct Script(Vec<u8>);

    fn dir(b: bool) -> u8 {
        u8::from(b) << 4
    }

    impl Script {
        /// `setup` is the first byte (bit 0: stay in the handshake, bit 1: small limits).
        pub fn new(setup: u8) -> Self {
            Script(vec![setup])
        }
        /// Forged chunks (after the common header) to `a` (else to `b`), TSNs as offsets.
        pub fn inject(mut self, to_a: bool, chunks: &[u8]) -> Self {
            self.0.push(dir(to_a));
            self.0.extend_from_slice(&(chunks.len() as u16).to_be_bytes());
            self.0.extend_from_slice(chunks);
            self
        }
        /// A whole packet with the verification tag and checksum it has, no rebasing.
        pub fn inject_raw(mut self, to_a: bool, packet: &[u8]) -> Self {
            let body = packet.get(12..).unwrap_or(&[]);
            let tag = packet.get(4..8).map_or(0, |t| u32::from_be_bytes(t.try_into().unwrap()));
            self.0.push(dir(to_a) | 0b111 << 5);
            self.0.extend_from_slice(&tag.to_be_bytes());
            self.0.extend_from_slice(&(body.len() as u16).to_be_bytes());
            self.0.extend_from_slice(body);
            self
        }
        /// Re-sends the `index`-th of the last packets `b` (else `a`) sent, with byte edits.
        pub fn mutate(mut self, from_b: bool, index: u8, edits: &[(u16, u8)]) -> Self {
            self.0.push(1 | dir(from_b));
            self.0.push(index);
            self.0.push(edits.len() as u8);
            for (pos, v) in edits {
                self.0.extend_from_slice(&pos.to_be_bytes());
                self.0.push(*v);
            }
            self
        }
        /// Delivers `n` packets (0: all) sent by `b` (else `a`).
        pub fn deliver(mut self, from_b: bool, n: u8) -> Self {
            self.0.extend_from_slice(&[2 | dir(from_b), n]);
            self
        }
        /// Loses the next `n` packets sent by `b` (else `a`).
        pub fn lose(mut self, from_b: bool, n: u8) -> Self {
            self.0.extend_from_slice(&[3 | dir(from_b), n]);
            self
        }
        /// The newest packet in flight from `b` (else `a`) overtakes the others.
        pub fn reorder(mut self, from_b: bool) -> Self {
            self.0.push(4 | dir(from_b));
            self
        }
        /// `send` from `b` (else `a`): stream selector, text, length, reliability selector, limit.
        pub fn send(mut self, from_b: bool, stream: u8, text: bool, len: u16, rel: u8, limit: u16) -> Self {
            self.0.push(5 | dir(from_b));
            self.0.extend_from_slice(&[stream, u8::from(!text)]);
            self.0.extend_from_slice(&len.to_be_bytes());
            self.0.push(rel);
            self.0.extend_from_slice(&limit.to_be_bytes());
            self
        }
        /// `reset_stream` on `b` (else `a`).
        pub fn reset(mut self, on_b: bool, stream: u8) -> Self {
            self.0.extend_from_slice(&[6 | dir(on_b), stream]);
            self
        }
        /// `set_buffered_amount_low_threshold` on `b` (else `a`).
        pub fn threshold(mut self, on_b: bool, stream: u8, bytes: u16) -> Self {
            self.0.extend_from_slice(&[7 | dir(on_b), stream]);
            self.0.extend_from_slice(&bytes.to_be_bytes());
            self
        }
        /// Timers only, for `ms` (rounded down to 4 ms).
        pub fn advance(mut self, ms: u32) -> Self {
            self.0.push(8);
            self.0.extend_from_slice(&((ms / 4).min(65535) as u16).to_be_bytes());
            self
        }
        /// A clean link for `ms`.
        pub fn run(mut self, ms: u16) -> Self {
            self.0.push(9);
            self.0.extend_from_slice(&ms.to_be_bytes());
            self
        }
        /// `close` on `b` (else `a`).
        pub fn close(mut self, on_b: bool) -> Self {
            self.0.push(10 | dir(on_b));
            self
        }
        /// The last packet delivered from `b` (else `a`) arrives again.
        pub fn duplicate(mut self, from_b: bool) -> Self {
            self.0.push(11 | dir(from_b));
            self
        }
        /// The script.
        pub fn bytes(self) -> Vec<u8> {
            self.0
        }
    }

    /// One chunk: type, flags, value (padded).
    pub fn chunk(typ: u8, flags: u8, value: &[u8]) -> Vec<u8> {
        let mut c = vec![typ, flags];
        c.extend_from_slice(&((value.len() + 4) as u16).to_be_bytes());
        c.extend_from_slice(value);
        while c.len() % 4 != 0 {
            c.push(0);
        }
        c
    }

    /// A DATA chunk (flags: 0x04 unordered, 0x02 beginning, 0x01 end).
    pub fn data(flags: u8, tsn: u32, stream: u16, ssn: u16, ppid: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = tsn.to_be_bytes().to_vec();
        v.extend_from_slice(&stream.to_be_bytes());
        v.extend_from_slice(&ssn.to_be_bytes());
        v.extend_from_slice(&ppid.to_be_bytes());
        v.extend_from_slice(payload);
        chunk(CT_DATA, flags, &v)
    }

    /// A SACK with gap blocks and duplicate TSNs.
    pub fn sack(cum: u32, rwnd: u32, gaps: &[(u16, u16)], dups: &[u32]) -> Vec<u8> {
        let mut v = cum.to_be_bytes().to_vec();
        v.extend_from_slice(&rwnd.to_be_bytes());
        v.extend_from_slice(&(gaps.len() as u16).to_be_bytes());
        v.extend_from_slice(&(dups.len() as u16).to_be_bytes());
        for (s, e) in gaps {
            v.extend_from_slice(&s.to_be_bytes());
            v.extend_from_slice(&e.to_be_bytes());
        }
        for d in dups {
            v.extend_from_slice(&d.to_be_bytes());
        }
        chunk(CT_SACK, 0, &v)
    }

    /// A FORWARD TSN with (stream, ssn) pairs.
    pub fn forward_tsn(tsn: u32, streams: &[(u16, u16)]) -> Vec<u8> {
        let mut v = tsn.to_be_bytes().to_vec();
        for (s, n) in streams {
            v.extend_from_slice(&s.to_be_bytes());
            v.extend_from_slice(&n.to_be_bytes());
        }
        chunk(CT_FORWARD_TSN, 0, &v)
    }

    /// A RE-CONFIG with one Outgoing SSN Reset Request.
    pub fn reset_request(req_sn: u32, resp_sn: u32, last_tsn: u32, streams: &[u16]) -> Vec<u8> {
        let mut p = vec![0, 13];
        p.extend_from_slice(&((16 + 2 * streams.len()) as u16).to_be_bytes());
        p.extend_from_slice(&req_sn.to_be_bytes());
        p.extend_from_slice(&resp_sn.to_be_bytes());
        p.extend_from_slice(&last_tsn.to_be_bytes());
        for s in streams {
            p.extend_from_slice(&s.to_be_bytes());
        }
        chunk(CT_RECONFIG, 0, &p)
    }

    /// What a real association pair sends: (sender is `b`, packet with TSNs rebased to offsets,
    /// name), from a handshake, data both ways with loss, a stream reset and an abandoned
    /// unordered message.
    pub fn captured() -> Vec<(bool, Vec<u8>, String)> {
        let mut sim = Sim::new(false);
        sim.sides[1].assoc.start(0);
        sim.sides[0].assoc.start(0);
        sim.drain();
        assert!(sim.run(60_000, Sim::connected));
        sim.send(0, 1, 0, 100, Reliability::RELIABLE);
        sim.send(1, 2, 1, 3000, Reliability::RELIABLE);
        sim.run(1000, |_| false);
        // An unordered message without retransmissions, lost: FORWARD TSN.
        sim.send(0, 3, 1, 2500, reliability(5, 0));
        sim.link[0].clear();
        sim.run(5000, |_| false);
        sim.sides[0].assoc.reset_stream(sim.now, 1);
        sim.drain();
        sim.run(1000, |_| false);
        let mut out = vec![];
        for s in 0..2 {
            for p in &sim.history[s] {
                let mut body = p[12..].to_vec();
                let mine = sim.tsn[s].unwrap_or(0).wrapping_neg();
                let theirs = sim.tsn[1 - s].unwrap_or(0).wrapping_neg();
                rebase(&mut body, mine, theirs);
                normalize(&mut body);
                let mut names = vec![];
                for_chunks(&mut body.clone(), |t, _| names.push(t));
                let name = names.iter().map(|t| chunk_name(*t)).collect::<Vec<_>>().join("+");
                let mut packet = p[..12].to_vec();
                packet.extend_from_slice(&body);
                out.push((s == 1, packet, name));
            }
        }
        out
    }

    /// Replaces what is random per run (verification tags, initial TSNs, the cookie, the response
    /// sequence number of a first reset request) by fixed values, so the seeds are reproducible.
    fn normalize(body: &mut [u8]) {
        let mut fill = 0u8;
        for_chunks(body, |typ, v| match typ {
            CT_INIT | CT_INIT_ACK if v.len() >= 16 => {
                v[0..4].copy_from_slice(&0x5eed_0000u32.to_be_bytes());
                v[12..16].copy_from_slice(&0u32.to_be_bytes());
                // Parameters: the state cookie (7) gets a fixed pattern.
                let mut off = 16;
                while off + 4 <= v.len() {
                    let ptype = u16::from_be_bytes([v[off], v[off + 1]]);
                    let plen = usize::from(u16::from_be_bytes([v[off + 2], v[off + 3]]));
                    if plen < 4 || off + plen > v.len() {
                        break;
                    }
                    if ptype == 7 {
                        for b in &mut v[off + 4..off + plen] {
                            fill = fill.wrapping_add(1);
                            *b = fill;
                        }
                    }
                    off += (plen + 3) & !3;
                }
            }
            // COOKIE ECHO: the same pattern as the cookie it echoes.
            10 => {
                for b in v.iter_mut() {
                    fill = fill.wrapping_add(1);
                    *b = fill;
                }
            }
            CT_RECONFIG if v.len() >= 12 && v[0..2] == [0, 13] => v[8..12].copy_from_slice(&u32::MAX.to_be_bytes()),
            _ => {}
        });
    }

    fn chunk_name(t: u8) -> String {
        match t {
            0 => "data".into(),
            1 => "init".into(),
            2 => "init-ack".into(),
            3 => "sack".into(),
            4 => "heartbeat".into(),
            5 => "heartbeat-ack".into(),
            6 => "abort".into(),
            7 => "shutdown".into(),
            9 => "error".into(),
            10 => "cookie-echo".into(),
            11 => "cookie-ack".into(),
            130 => "reconfig".into(),
            192 => "forward-tsn".into(),
            t => format!("chunk{t}"),
        }
    }
}
