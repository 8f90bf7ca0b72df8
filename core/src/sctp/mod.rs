//! SCTP associations for WebRTC data channels (RFC 8831), sans-IO.
//!
//! One [`SctpAssociation`] per transport. It runs over DTLS application data: every DTLS record
//! the peer sends is one SCTP packet for [`SctpAssociation::handle_input`], and every packet from
//! [`SctpAssociation::poll_transmit`] goes out as one DTLS record. It never reads a clock: time is
//! `now_ms`, milliseconds since the `epoch` given to [`SctpAssociation::new`] (the engine's epoch).
//!
//! Run loop — after any call that changes the association (`start`, `handle_input`,
//! `handle_timeout`, `send`, `reset_stream`, `close`), drain `poll_transmit` until `None`, then
//! `poll_event` until `None`, then arm a timer at `poll_timeout` and call `handle_timeout` when it
//! fires.
//!
//! Behaviour follows mediasoup's data channels: streams are negotiated out of band (no DCEP
//! needed; a DCEP OPEN is answered with an ACK and not surfaced), messages carry the WebRTC PPIDs
//! (empty messages travel as one zero byte with PPID 56/57), reliability is chosen per message,
//! sends beyond `sctpSendBufferSize` are refused (`sctpsendbufferfull`), `bufferedamountlow` fires
//! per stream, and closing a stream resets it (RFC 6525).
//!
//! The protocol engine is `rtc-sctp` 0.21.1. This module works around its gaps:
//! - A server that answered an INIT keeps that association when the peer retransmits its INIT
//!   (the INIT ACK was late, not lost): every INIT gets its own association and the one whose
//!   cookie comes back wins. `rtc-sctp`'s endpoint would otherwise orphan the first one.
//! - `rtc-sctp` purges abandoned fragments on FORWARD TSN according to the *local* stream's
//!   ordered/unordered send setting; the stream's flag is kept at what the peer sends, so partly
//!   received unordered messages do not pin the receive window forever.
//! - A FORWARD TSN far ahead of anything the peer sent would make `rtc-sctp` step through up to
//!   2^31 TSNs; such packets are dropped.
//! - A peer's stream reset only reaches the application in `rtc-sctp` when the stream had
//!   carried data; the stream is opened first so every reset is reported.
//! - `rtc-sctp` ignores the SSN a FORWARD TSN skips on a stream it has not seen yet (all of the
//!   first ordered message on a stream was lost and abandoned); the stream's next message would
//!   then wait forever for the skipped one and pin the receive window. The stream is opened first.
//! - T3-rtx and RE-CONFIG retransmissions are unlimited (the crate's default of 5 silently stops
//!   retransmitting after a minute of outage); ICE consent decides when the path is dead.
//! - ERROR chunks are removed before the crate sees them: it takes any ERROR as fatal, while they
//!   are reports (RFC 9260 §3.3.10) that mediasoup only logs.
//! - ABORT and ERROR chunks whose error causes overrun the chunk are dropped (the crate panics on
//!   them).
//! - Every call into the crate runs under `catch_unwind`: a panic fails the association instead
//!   of the worker thread.
//! - `rtc-sctp` enforces no stream counts: it opens a stream for any stream id the peer sends DATA
//!   on (up to 65535 of them) and lets us send on any. The counts come from the INIT and INIT ACK
//!   this module sees go by (RFC 9260 §5.1.1): the peer may send on fewer streams than the `MIS`
//!   we announced and its `OS` ([`SctpAssociation::inbound_streams`]), we on fewer than the `OS`
//!   we announced and its `MIS` ([`SctpAssociation::outbound_streams`]). (The crate's INIT ACK
//!   announces the smaller of our and the peer's counts, which only lowers them.) `send` refuses
//!   stream ids beyond the outbound count. DATA on a stream id beyond the inbound count is
//!   rewritten, before the crate sees it, into a complete unordered message with PPID 0 on stream
//!   65535 (never valid), so the crate acknowledges its TSN as usual and keeps at most that one
//!   extra stream; the message is then discarded and counted
//!   ([`SctpAssociation::invalid_stream_chunks`]), and the peer gets an ERROR chunk with the cause
//!   "Invalid Stream Identifier" (RFC 9260 §6.5; at most one per packet received, naming up to 16
//!   streams). Reset requests and FORWARD TSNs open no stream beyond the counts either. I-DATA
//!   (RFC 8260) is neither announced nor understood by the crate, so it never arrives.

mod types;
mod wire;

#[cfg(test)]
mod tests;

pub use types::{Ppid, Reliability, SctpError, SctpEvent, SctpOptions, SctpRole, SctpState, SCTP_PORT};

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc_sctp::{
    Association, AssociationError, AssociationHandle, ClientConfig, DatagramEvent, Endpoint, EndpointConfig, Event,
    Payload, PayloadProtocolIdentifier as RtcPpid, ReliabilityType, ServerConfig, StreamEvent, TimerConfig,
    TransportConfig,
};
use shared::TransportProtocol;

/// DCEP message type DATA_CHANNEL_OPEN (RFC 8832 §5.1).
const DCEP_OPEN: u8 = 0x03;
/// DCEP message type DATA_CHANNEL_ACK (RFC 8832 §5.2).
const DCEP_ACK: u8 = 0x02;

/// Associations kept while the handshake runs (one per distinct INIT the peer sent).
const MAX_PENDING_ASSOCIATIONS: usize = 8;
/// INITs accepted before the handshake completes; later ones are ignored.
const MAX_INIT_ATTEMPTS: u32 = 32;
/// How far (in TSNs) a FORWARD TSN may point beyond the highest TSN the peer has sent.
const FORWARD_TSN_WINDOW: i32 = 1 << 21;
/// The stream that DATA on streams the peer may not use is redirected to before `rtc-sctp` sees
/// it. 65535 is never a valid stream id (at most 65535 streams, ids 0..=65534).
const SINK_STREAM: u16 = u16::MAX;
/// Stream ids named in one ERROR chunk answering one packet.
const MAX_INVALID_STREAM_CAUSES: usize = 16;
/// Bounds the gather loops of `poll_transmit` (each round normally ends after one pass).
const MAX_GATHER_ROUNDS: usize = 4;
const MAX_POLLS_PER_ROUND: usize = 64;

/// One SCTP association over a DTLS transport; see the module docs for the run loop.
pub struct SctpAssociation {
    opts: SctpOptions,
    epoch: Instant,
    now: Instant,
    state: SctpState,
    transport: TransportConfig,
    endpoint: Option<Endpoint>,
    /// The association; while a server handshakes, one per INIT received (newest last).
    slots: Vec<Slot>,
    inits_accepted: u32,
    book: Book,
    transmits: VecDeque<Bytes>,
}

struct Slot {
    handle: AssociationHandle,
    assoc: Association,
    /// Initial TSN of the peer's INIT that created this (server) association.
    peer_initial_tsn: Option<u32>,
    /// The peer's INIT (server) or INIT ACK (client).
    peer_init: Option<wire::InitParams>,
    /// The INIT (client) or INIT ACK (server) this association sent.
    our_init: Option<wire::InitParams>,
}

impl Slot {
    fn new(handle: AssociationHandle, assoc: Association, peer_init: Option<wire::InitParams>) -> Self {
        Slot {
            handle,
            assoc,
            peer_initial_tsn: None,
            peer_init,
            our_init: None,
        }
    }

    /// The (inbound, outbound) stream counts of this association (RFC 9260 §5.1.1): the peer may
    /// send on fewer streams than our announced MIS and its OS, we on fewer than our announced OS
    /// and its MIS. What is not known yet counts as our configured number.
    fn stream_counts(&self, opts: &SctpOptions) -> (u16, u16) {
        let (our_os, our_mis) = self.our_init.map_or((opts.os, opts.mis), |i| (i.os, i.mis));
        let (peer_os, peer_mis) = self.peer_init.map_or((opts.mis, opts.os), |i| (i.os, i.mis));
        (
            opts.mis.min(our_mis).min(peer_os),
            opts.os.min(our_os).min(peer_mis),
        )
    }
}

/// What this module tracks beside `rtc-sctp`: per-stream accounting, resets, events.
#[derive(Default)]
struct Book {
    max_message_size: usize,
    streams: HashMap<u16, StreamBook>,
    total_buffered: usize,
    /// Streams we reset whose reset the peer has not answered with its own yet.
    locally_reset: HashSet<u16>,
    /// Streams whose reset completed and that carried nothing since.
    reset_done: HashSet<u16>,
    last_peer_reset_sn: Option<u32>,
    /// Highest TSN the peer is known to have used (from INIT, DATA and FORWARD TSN).
    peer_tsn: Option<u32>,
    peer_shut_down: bool,
    /// Streams the peer may send on and we may send on; the configured `MIS` and `OS` until the
    /// association is connected, then what INIT and INIT ACK negotiated.
    inbound_streams: u16,
    outbound_streams: u16,
    /// DATA chunks on a stream id at or above `inbound_streams`, acknowledged and discarded.
    invalid_stream_chunks: u64,
    events: VecDeque<SctpEvent>,
    /// Set when something was queued for sending outside `poll_transmit`'s own gathering.
    wrote: bool,
}

#[derive(Default)]
struct StreamBook {
    buffered: usize,
    low_threshold: usize,
    force_low: bool,
    /// Whether the peer's last DATA on this stream was unordered.
    rx_unordered: bool,
}

impl SctpAssociation {
    /// A new association in state `new`; `epoch` is the instant `now_ms == 0` stands for.
    pub fn new(opts: SctpOptions, epoch: Instant) -> Self {
        let opts = SctpOptions {
            os: opts.os.max(1),
            mis: opts.mis.max(1),
            max_message_size: opts.max_message_size.clamp(1, u32::MAX as usize),
            ..opts
        };
        // The receive window must hold at least one whole message for reassembly.
        let receive_buffer = opts
            .max_message_size
            .saturating_mul(2)
            .clamp(1 << 20, u32::MAX as usize) as u32;
        let transport = TransportConfig::default()
            .with_sctp_port(SCTP_PORT)
            .with_max_message_size(opts.max_message_size as u32)
            .with_max_num_outbound_streams(opts.os)
            .with_max_num_inbound_streams(opts.mis)
            .with_max_receive_buffer_size(receive_buffer)
            .with_timer_config(TimerConfig {
                max_t3_rtx_retrans: usize::MAX,
                max_reconfig_retrans: usize::MAX,
                ..TimerConfig::default()
            });
        let server = (opts.role == SctpRole::Server).then(|| Arc::new(ServerConfig::new(transport.clone())));
        let endpoint = Endpoint::new(
            local_addr(),
            TransportProtocol::UDP,
            Arc::new(EndpointConfig::new()),
            server,
        );
        SctpAssociation {
            book: Book {
                max_message_size: opts.max_message_size,
                inbound_streams: opts.mis,
                outbound_streams: opts.os,
                ..Book::default()
            },
            opts,
            epoch,
            now: epoch,
            state: SctpState::New,
            transport,
            endpoint: Some(endpoint),
            slots: Vec::new(),
            inits_accepted: 0,
            transmits: VecDeque::new(),
        }
    }

    /// The options in force (stream counts and sizes after clamping).
    pub fn options(&self) -> &SctpOptions {
        &self.opts
    }

    /// The current `sctpState`.
    pub fn state(&self) -> SctpState {
        self.state
    }

    /// Streams the peer may send on: the smaller of the `MIS` we announced and the peer's `OS`
    /// (our configured `MIS` until connected). DATA on a stream id at or above it is acknowledged,
    /// answered with an ERROR chunk ("Invalid Stream Identifier") and discarded.
    pub fn inbound_streams(&self) -> u16 {
        self.book.inbound_streams
    }

    /// Streams we may send on: the smaller of the `OS` we announced and the peer's `MIS` (our
    /// configured `OS` until connected). `send` refuses stream ids at or above it.
    pub fn outbound_streams(&self) -> u16 {
        self.book.outbound_streams
    }

    /// DATA chunks the peer sent on stream ids at or above [`Self::inbound_streams`]: acknowledged
    /// and discarded (each distinct chunk counted once, retransmissions not).
    pub fn invalid_stream_chunks(&self) -> u64 {
        self.book.invalid_stream_chunks
    }

    /// DTLS is connected: a client sends its INIT, a server waits for the peer's.
    pub fn start(&mut self, now_ms: u64) {
        let now = self.instant(now_ms);
        if self.state != SctpState::New {
            return;
        }
        self.set_state(SctpState::Connecting);
        if self.opts.role == SctpRole::Client {
            let Some(endpoint) = self.endpoint.as_mut() else { return };
            let config = ClientConfig::new(self.transport.clone());
            match guarded(|| endpoint.connect(now, config, remote_addr())) {
                Some(Ok((handle, assoc))) => self.slots.push(Slot::new(handle, assoc, None)),
                _ => self.fail("could not start the SCTP association"),
            }
        }
    }

    /// One SCTP packet from the peer (the payload of one DTLS application-data record).
    pub fn handle_input(&mut self, now_ms: u64, data: &[u8]) {
        if self.state.is_terminal() || !wire::checksum_ok(data) {
            return;
        }
        let now = self.instant(now_ms);
        let connected = self.state == SctpState::Connected;
        let mut first_is_init = None;
        let mut initial_tsn = None;
        let mut peer_init = None;
        let mut has_error_chunk = false;
        let inbound_limit = self.inbound_limit();
        let mut invalid_streams: Vec<u16> = Vec::new();
        let mut has_invalid_data = false;
        let mut resets = Vec::new();
        let mut skipped = Vec::new();
        {
            let mut active = if connected {
                self.slots.first_mut().map(|s| &mut s.assoc)
            } else {
                None
            };
            let book = &mut self.book;
            for chunk in wire::chunks(data) {
                first_is_init.get_or_insert(chunk.typ == wire::CT_INIT);
                match chunk.typ {
                    wire::CT_INIT | wire::CT_INIT_ACK if !connected => {
                        initial_tsn = wire::init_initial_tsn(&chunk);
                        peer_init = wire::init_params(&chunk);
                    }
                    wire::CT_DATA => {
                        if let Some(d) = wire::data_header(&chunk) {
                            let valid = d.stream_id < inbound_limit;
                            if !valid {
                                has_invalid_data = true;
                                if invalid_streams.len() < MAX_INVALID_STREAM_CAUSES
                                    && !invalid_streams.contains(&d.stream_id)
                                {
                                    invalid_streams.push(d.stream_id);
                                }
                            }
                            book.on_peer_data(active.as_deref_mut(), d, valid);
                        }
                    }
                    wire::CT_FORWARD_TSN => match wire::forward_tsn(&chunk) {
                        Some(tsn) if book.accept_forward_tsn(tsn) => {
                            if connected {
                                skipped.extend(wire::forward_tsn_streams(&chunk));
                            }
                        }
                        _ => return,
                    },
                    wire::CT_ABORT | wire::CT_ERROR if !wire::error_causes_fit(&chunk) => return,
                    wire::CT_ERROR => has_error_chunk = true,
                    wire::CT_RECONFIG if connected => resets.extend(wire::reset_requests(&chunk)),
                    wire::CT_SHUTDOWN | wire::CT_SHUTDOWN_ACK | wire::CT_SHUTDOWN_COMPLETE => {
                        book.peer_shut_down = true
                    }
                    _ => {}
                }
            }
        }
        if first_is_init == Some(true) && (connected || self.inits_accepted >= MAX_INIT_ATTEMPTS) {
            // A restart of an established association is not supported (browsers never do it).
            return;
        }
        if !resets.is_empty() {
            self.open_streams_named_by(&resets);
        }
        if !skipped.is_empty() {
            self.open_streams_skipped_by(&skipped);
        }
        let Some(endpoint) = self.endpoint.as_mut() else { return };
        let mut rewritten = None;
        if has_error_chunk {
            // rtc-sctp closes the association on any ERROR chunk; RFC 9260 makes them reports
            // (e.g. "invalid stream identifier"), and mediasoup only logs them.
            tracing::debug!("SCTP ERROR chunk from the peer ignored");
            rewritten = Some(wire::without_chunks_of_type(data, wire::CT_ERROR));
        }
        if has_invalid_data {
            // rtc-sctp would open a stream for any id and deliver the data. Redirected to the
            // sink stream, the chunk is still acknowledged (RFC 9260 §6.5) and then discarded.
            let p = rewritten.get_or_insert_with(|| data.to_vec());
            wire::redirect_data_beyond(p, inbound_limit, SINK_STREAM);
        }
        let packet = rewritten.map_or_else(|| Bytes::copy_from_slice(data), Bytes::from);
        let Some(out) = guarded(|| endpoint.handle(now, remote_addr(), None, packet)) else {
            return self.fail("panic in the SCTP stack");
        };
        match out {
            Some((handle, DatagramEvent::NewAssociation(assoc))) => self.adopt(handle, assoc, initial_tsn, peer_init),
            Some((handle, DatagramEvent::AssociationEvent(event))) => {
                if let Some(slot) = self.slots.iter_mut().find(|s| s.handle == handle) {
                    if self.opts.role == SctpRole::Client && first_is_init == Some(false) {
                        // An INIT ACK for our INIT: the peer's TSNs start here.
                        if let Some(tsn) = initial_tsn {
                            self.book.peer_tsn.get_or_insert(tsn.wrapping_sub(1));
                        }
                        if peer_init.is_some() {
                            slot.peer_init = peer_init;
                        }
                    }
                    if guarded(|| slot.assoc.handle_event(event)).is_none() {
                        return self.fail("panic in the SCTP stack");
                    }
                }
            }
            _ => {}
        }
        self.process(now);
        if !invalid_streams.is_empty() {
            self.report_invalid_streams(&invalid_streams, inbound_limit);
        }
    }

    /// Runs the timers due at `now_ms` (spurious calls are harmless).
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if self.state.is_terminal() {
            return;
        }
        let now = self.instant(now_ms);
        for slot in &mut self.slots {
            if guarded(|| slot.assoc.handle_timeout(now)).is_none() {
                return self.fail("panic in the SCTP stack");
            }
        }
        self.process(now);
    }

    /// When (`now_ms` scale) `handle_timeout` should next be called, if any timer runs.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.state.is_terminal() {
            return None;
        }
        let at = self.slots.iter().filter_map(|s| s.assoc.poll_timeout()).min()?;
        let since = at.saturating_duration_since(self.epoch);
        let ms = u64::try_from(since.as_millis()).unwrap_or(u64::MAX);
        // Round up so that handle_timeout(ms) is never early.
        Some(if since > Duration::from_millis(ms) {
            ms.saturating_add(1)
        } else {
            ms
        })
    }

    /// The next SCTP packet to send to the peer as one DTLS application-data record.
    pub fn poll_transmit(&mut self, now_ms: u64) -> Option<Bytes> {
        if let Some(packet) = self.transmits.pop_front() {
            return Some(packet);
        }
        let now = self.instant(now_ms);
        let handshaking = self.state != SctpState::Connected;
        for _ in 0..MAX_GATHER_ROUNDS {
            self.book.wrote = false;
            for slot in &mut self.slots {
                for _ in 0..MAX_POLLS_PER_ROUND {
                    match guarded(|| slot.assoc.poll_transmit(now)) {
                        Some(Some(t)) => {
                            if let Payload::RawEncode(packets) = t.message {
                                if handshaking {
                                    // What this association announced decides the stream counts.
                                    for p in &packets {
                                        let init = wire::chunks(p)
                                            .find(|c| c.typ == wire::CT_INIT || c.typ == wire::CT_INIT_ACK);
                                        if let Some(i) = init.as_ref().and_then(wire::init_params) {
                                            slot.our_init = Some(i);
                                        }
                                    }
                                }
                                self.transmits.extend(packets);
                            }
                        }
                        Some(None) => break,
                        None => {
                            self.fail("panic in the SCTP stack");
                            return None;
                        }
                    }
                }
            }
            // Gathering can abandon messages (buffer releases) or close the association.
            self.process(now);
            if !self.book.wrote {
                break;
            }
        }
        if self.state.is_terminal() {
            self.slots.clear();
            self.endpoint = None;
        }
        self.transmits.pop_front()
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<SctpEvent> {
        self.book.events.pop_front()
    }

    /// Queues one message on `stream_id`.
    ///
    /// An empty `data` is sent as one zero byte with PPID 56/57 (whatever the text/binary kind of
    /// `ppid`). Fails when not connected, when the stream id is not below
    /// [`Self::outbound_streams`] (our `OS` and the peer's `MIS`), when the message
    /// exceeds `maxMessageSize`, when the stream's reset is still pending, or when it would push
    /// the bytes buffered over all streams past `sctpSendBufferSize` (which also queues
    /// [`SctpEvent::SendBufferFull`]).
    pub fn send(
        &mut self,
        now_ms: u64,
        stream_id: u16,
        ppid: Ppid,
        data: &[u8],
        reliability: Reliability,
    ) -> Result<(), SctpError> {
        let now = self.instant(now_ms);
        if self.state != SctpState::Connected {
            return Err(SctpError::NotConnected);
        }
        if stream_id >= self.book.outbound_streams {
            return Err(SctpError::InvalidStream {
                stream_id,
                num_streams: self.book.outbound_streams,
            });
        }
        if data.len() > self.opts.max_message_size {
            return Err(SctpError::MessageTooLarge {
                size: data.len(),
                max_message_size: self.opts.max_message_size,
            });
        }
        if self.book.locally_reset.contains(&stream_id) {
            return Err(SctpError::StreamResetPending { stream_id });
        }
        let (rtc_ppid, payload): (RtcPpid, &[u8]) = match (ppid.is_string(), data.is_empty()) {
            (true, true) => (RtcPpid::StringEmpty, &[0]),
            (true, false) => (RtcPpid::String, data),
            (false, true) => (RtcPpid::BinaryEmpty, &[0]),
            (false, false) => (RtcPpid::Binary, data),
        };
        let buffered_amount = self.book.total_buffered;
        if buffered_amount.saturating_add(payload.len()) > self.opts.send_buffer_size {
            self.book.events.push_back(SctpEvent::SendBufferFull { stream_id });
            return Err(SctpError::SendBufferFull {
                stream_id,
                buffered_amount,
                size: payload.len(),
                send_buffer_size: self.opts.send_buffer_size,
            });
        }
        let Some(slot) = self.slots.first_mut() else {
            return Err(SctpError::NotConnected);
        };
        let book = &mut self.book;
        match guarded(|| book.write(&mut slot.assoc, now, stream_id, rtc_ppid, payload, Some(&reliability))) {
            Some(result) => result.map(|_| ()),
            None => {
                self.fail("panic in the SCTP stack");
                Err(SctpError::Internal("panic in the SCTP stack".into()))
            }
        }
    }

    /// Resets our outgoing stream `stream_id` (RFC 6525), after the data already queued on it.
    ///
    /// Per RFC 8831 the peer answers by resetting its own outgoing stream with the same id; that
    /// answer completes the close and is not reported as [`SctpEvent::StreamReset`]. Until then
    /// `send` on the stream fails with [`SctpError::StreamResetPending`]. Also clears the stream's
    /// buffered-amount-low threshold. Does nothing unless connected, nor for a stream id at or
    /// above [`Self::outbound_streams`] (nothing was ever sent on it).
    pub fn reset_stream(&mut self, now_ms: u64, stream_id: u16) {
        let now = self.instant(now_ms);
        if let Some(s) = self.book.streams.get_mut(&stream_id) {
            s.low_threshold = 0;
            s.force_low = false;
        }
        if self.state != SctpState::Connected
            || stream_id >= self.book.outbound_streams
            || self.book.locally_reset.contains(&stream_id)
        {
            return;
        }
        let Some(slot) = self.slots.first_mut() else { return };
        let book = &mut self.book;
        let reset = guarded(|| {
            let assoc = &mut slot.assoc;
            if assoc.stream(stream_id).is_err()
                && (book.reset_done.contains(&stream_id) || assoc.open_stream(stream_id, RtcPpid::Binary).is_err())
            {
                return false;
            }
            assoc.stream(stream_id).and_then(|mut s| s.close(now)).is_ok()
        });
        match reset {
            Some(true) => {
                book.locally_reset.insert(stream_id);
                book.wrote = true;
            }
            Some(false) => {}
            None => self.fail("panic in the SCTP stack"),
        }
    }

    /// Sets the stream's `bufferedAmountLowThreshold`.
    ///
    /// As in mediasoup, [`SctpEvent::BufferedAmountLow`] is queued at once when the buffered
    /// amount is already at or below it, and otherwise when it next falls to or below it.
    pub fn set_buffered_amount_low_threshold(&mut self, stream_id: u16, bytes: usize) {
        let s = self.book.streams.entry(stream_id).or_default();
        s.low_threshold = bytes;
        s.force_low = s.buffered > bytes;
        if s.buffered <= bytes {
            let buffered_amount = s.buffered;
            self.book.events.push_back(SctpEvent::BufferedAmountLow {
                stream_id,
                buffered_amount,
            });
        }
    }

    /// Bytes queued on the stream and not yet acknowledged (or abandoned).
    pub fn buffered_amount(&self, stream_id: u16) -> usize {
        self.book.streams.get(&stream_id).map_or(0, |s| s.buffered)
    }

    /// Bytes queued and not yet acknowledged over all streams (what `sctpSendBufferSize` limits).
    pub fn total_buffered_amount(&self) -> usize {
        self.book.total_buffered
    }

    /// Closes the association: an ABORT goes out with the next `poll_transmit`, state `closed`.
    pub fn close(&mut self, now_ms: u64) {
        self.instant(now_ms);
        if self.state.is_terminal() {
            return;
        }
        for slot in &mut self.slots {
            if guarded(|| slot.assoc.abort()).is_none() {
                return self.fail("panic in the SCTP stack");
            }
        }
        self.set_state(SctpState::Closed);
    }

    /// The streams the peer may send on, as far as known: while handshaking, the smallest count of
    /// the associations that may still win.
    fn inbound_limit(&self) -> u16 {
        if self.state == SctpState::Connected {
            return self.book.inbound_streams;
        }
        self.slots
            .iter()
            .map(|s| s.stream_counts(&self.opts).0)
            .min()
            .unwrap_or(self.opts.mis)
    }

    /// The peer sent DATA on `stream_ids`, at or above `limit`: RFC 9260 §6.5 asks for an ERROR
    /// chunk with the cause "Invalid Stream Identifier" (the DATA itself was acknowledged).
    fn report_invalid_streams(&mut self, stream_ids: &[u16], limit: u16) {
        tracing::debug!(?stream_ids, inbound_streams = limit, "SCTP DATA on streams beyond MIS discarded");
        if self.state != SctpState::Connected {
            return;
        }
        if let Some(peer) = self.slots.first().and_then(|s| s.peer_init) {
            self.transmits.push_back(Bytes::from(wire::invalid_stream_error(peer.tag, stream_ids)));
        }
    }

    fn instant(&mut self, now_ms: u64) -> Instant {
        if let Some(t) = self.epoch.checked_add(Duration::from_millis(now_ms)) {
            self.now = self.now.max(t);
        }
        self.now
    }

    fn set_state(&mut self, state: SctpState) {
        if self.state != state {
            self.state = state;
            self.book.events.push_back(SctpEvent::StateChange(state));
        }
    }

    fn fail(&mut self, reason: &str) {
        tracing::warn!(reason, "SCTP association failed");
        self.slots.clear();
        self.endpoint = None;
        self.transmits.clear();
        self.set_state(SctpState::Failed);
    }

    /// A server accepted an INIT: keep the association beside the earlier ones until one of
    /// them completes the handshake.
    fn adopt(
        &mut self,
        handle: AssociationHandle,
        assoc: Association,
        peer_initial_tsn: Option<u32>,
        peer_init: Option<wire::InitParams>,
    ) {
        if self.opts.role != SctpRole::Server || self.state == SctpState::Connected {
            return;
        }
        self.inits_accepted += 1;
        if self.slots.len() >= MAX_PENDING_ASSOCIATIONS {
            self.slots.remove(0);
        }
        self.slots.push(Slot {
            peer_initial_tsn,
            ..Slot::new(handle, assoc, peer_init)
        });
        if self.state == SctpState::New {
            self.set_state(SctpState::Connecting);
        }
    }

    /// Makes sure `rtc-sctp` knows every stream a new reset request of the peer names, so that it
    /// performs (and mirrors) the reset and reports it. Streams whose reset already completed are
    /// left out: a request naming them is the peer's echo of that reset, and answering it with
    /// another reset would ping-pong forever between two instances of this module. So are stream
    /// ids beyond both stream counts (no stream state for ids the association cannot carry).
    fn open_streams_named_by(&mut self, resets: &[wire::ResetRequest]) {
        let Some(slot) = self.slots.first_mut() else { return };
        let limit = self.book.inbound_streams.max(self.book.outbound_streams);
        for request in resets {
            let fresh = self
                .book
                .last_peer_reset_sn
                .is_none_or(|last| request.request_sn.wrapping_sub(last) as i32 > 0);
            if !fresh {
                continue;
            }
            self.book.last_peer_reset_sn = Some(request.request_sn);
            for &id in &request.stream_ids {
                if id < limit && !self.book.reset_done.contains(&id) && slot.assoc.stream(id).is_err() {
                    let _ = slot.assoc.open_stream(id, RtcPpid::Binary);
                }
            }
        }
    }

    /// Makes sure `rtc-sctp` knows every stream (below the inbound count) a FORWARD TSN skips messages on:
    /// it only records the skipped SSN on streams it has, and a stream it has not seen would wait
    /// forever for the SSN its first message had.
    fn open_streams_skipped_by(&mut self, streams: &[u16]) {
        let Some(slot) = self.slots.first_mut() else { return };
        for &id in streams {
            if id < self.book.inbound_streams && slot.assoc.stream(id).is_err() {
                let _ = slot.assoc.open_stream(id, RtcPpid::Binary);
            }
        }
    }

    /// Turns what `rtc-sctp` queued into state changes and events.
    fn process(&mut self, now: Instant) {
        if self.state.is_terminal() {
            return;
        }
        // The only endpoint event is "drained"; the endpoint lives and dies with this object.
        for slot in &mut self.slots {
            while slot.assoc.poll_endpoint_event().is_some() {}
        }
        if self.state != SctpState::Connected {
            self.process_handshake();
        }
        if self.state == SctpState::Connected {
            self.process_connected(now);
        }
    }

    fn process_handshake(&mut self) {
        let mut lost_one = false;
        let mut k = 0;
        while k < self.slots.len() {
            let mut connected = false;
            let mut lost = false;
            while let Some(event) = self.slots[k].assoc.poll() {
                match event {
                    // Events after this one (data bundled with COOKIE ECHO) are left for
                    // process_connected.
                    Event::Connected => {
                        connected = true;
                        break;
                    }
                    Event::HandshakeFailed { .. } => lost = true,
                    _ => {}
                }
            }
            // A client association closes during the handshake only when the peer aborts it.
            // (A server association sits in the closed state until the cookie comes back.)
            lost |= !connected && self.opts.role == SctpRole::Client && self.slots[k].assoc.is_closed();
            if connected {
                let slot = self.slots.swap_remove(k);
                if let Some(tsn) = slot.peer_initial_tsn {
                    self.book.peer_tsn = Some(tsn.wrapping_sub(1));
                }
                let (inbound, outbound) = slot.stream_counts(&self.opts);
                tracing::debug!(inbound, outbound, "SCTP association connected");
                self.book.inbound_streams = inbound;
                self.book.outbound_streams = outbound;
                self.slots.clear();
                self.slots.push(slot);
                self.set_state(SctpState::Connected);
                return;
            }
            if lost {
                self.slots.remove(k);
                lost_one = true;
            } else {
                k += 1;
            }
        }
        if lost_one && self.slots.is_empty() {
            self.fail("SCTP handshake failed");
        }
    }

    fn process_connected(&mut self, now: Instant) {
        let Some(slot) = self.slots.first_mut() else { return };
        let book = &mut self.book;
        let assoc = &mut slot.assoc;
        let Some(closed) = guarded(|| {
            book.drain(assoc, now);
            assoc.is_closed()
        }) else {
            return self.fail("panic in the SCTP stack");
        };
        if closed {
            // mediasoup: a graceful SHUTDOWN ends in 'closed', an ABORT or error in 'failed'.
            let state = if self.book.peer_shut_down {
                SctpState::Closed
            } else {
                SctpState::Failed
            };
            self.slots.clear();
            self.endpoint = None;
            self.set_state(state);
        }
    }
}

impl Book {
    /// Bookkeeping for one DATA chunk of the peer, before `rtc-sctp` sees it; `valid`: its stream
    /// is one the peer may use (no stream state is kept for the others).
    fn on_peer_data(&mut self, assoc: Option<&mut Association>, d: wire::DataHeader, valid: bool) {
        if let Some(reference) = self.peer_tsn {
            let ahead = d.tsn.wrapping_sub(reference) as i32;
            if ahead > 0 && ahead <= FORWARD_TSN_WINDOW {
                self.peer_tsn = Some(d.tsn);
            }
        }
        if !valid {
            return;
        }
        let s = self.streams.entry(d.stream_id).or_default();
        if s.rx_unordered != d.unordered {
            s.rx_unordered = d.unordered;
            if let Some(assoc) = assoc {
                set_unordered_flag(assoc, d.stream_id, d.unordered);
            }
        }
    }

    /// Whether a FORWARD TSN to `tsn` is plausible (and if so, remember it).
    fn accept_forward_tsn(&mut self, tsn: u32) -> bool {
        let Some(reference) = self.peer_tsn else { return false };
        let ahead = tsn.wrapping_sub(reference) as i32;
        if ahead > FORWARD_TSN_WINDOW {
            return false;
        }
        if ahead > 0 {
            self.peer_tsn = Some(tsn);
        }
        true
    }

    /// Handles the events `rtc-sctp` queued on an established association.
    fn drain(&mut self, assoc: &mut Association, now: Instant) {
        while let Some(event) = assoc.poll() {
            match event {
                Event::Stream(StreamEvent::Opened { id }) => {
                    // Keep rtc-sctp's accept queue empty; streams are addressed by id.
                    let _ = assoc.accept_stream();
                    self.reset_done.remove(&id);
                    if self.streams.get(&id).is_some_and(|s| s.rx_unordered) {
                        set_unordered_flag(assoc, id, true);
                    }
                }
                Event::Stream(StreamEvent::Readable { id }) => self.read_stream(assoc, now, id),
                Event::Stream(StreamEvent::BufferedAmountReleased { id, n_bytes }) => self.release(id, n_bytes),
                // rtc-sctp reports a performed stream reset as a per-stream "association lost";
                // on a closed association the same event just lists the streams that went down.
                Event::AssociationLost {
                    reason: AssociationError::Reset,
                    id,
                } if !assoc.is_closed() => self.on_stream_reset(id),
                _ => {}
            }
        }
    }

    fn read_stream(&mut self, assoc: &mut Association, now: Instant, id: u16) {
        loop {
            let chunks = match assoc.stream(id) {
                Ok(mut s) => match s.read_sctp() {
                    Ok(Some(chunks)) => chunks,
                    _ => return,
                },
                Err(_) => return,
            };
            if id == SINK_STREAM {
                // DATA on a stream the peer may not use, redirected here by handle_input.
                self.invalid_stream_chunks += 1;
                continue;
            }
            let ppid = match chunks.ppi {
                RtcPpid::String => Ppid::String,
                RtcPpid::Binary => Ppid::Binary,
                RtcPpid::StringEmpty => Ppid::StringEmpty,
                RtcPpid::BinaryEmpty => Ppid::BinaryEmpty,
                RtcPpid::Dcep => {
                    let is_open = chunks
                        .to_payload(self.max_message_size)
                        .is_ok_and(|m| m.first() == Some(&DCEP_OPEN));
                    if is_open {
                        let _ = self.write(assoc, now, id, RtcPpid::Dcep, &[DCEP_ACK], None);
                    }
                    continue;
                }
                _ => continue,
            };
            let data = match ppid {
                Ppid::StringEmpty | Ppid::BinaryEmpty => Vec::new(),
                // Larger than maxMessageSize: dropped, as mediasoup does.
                _ => match chunks.to_payload(self.max_message_size) {
                    Ok(buf) => Vec::from(buf),
                    Err(_) => continue,
                },
            };
            self.events.push_back(SctpEvent::Message {
                stream_id: id,
                ppid,
                data,
            });
        }
    }

    /// Queues `payload` on stream `id`; `reliability` `None` keeps the stream's settings.
    fn write(
        &mut self,
        assoc: &mut Association,
        now: Instant,
        id: u16,
        ppid: RtcPpid,
        payload: &[u8],
        reliability: Option<&Reliability>,
    ) -> Result<usize, SctpError> {
        let internal = |e: shared::error::Error| SctpError::Internal(e.to_string());
        if assoc.stream(id).is_err() {
            assoc.open_stream(id, ppid).map_err(internal)?;
        }
        self.reset_done.remove(&id);
        let rx_unordered = self.streams.get(&id).is_some_and(|s| s.rx_unordered);
        let mut stream = assoc.stream(id).map_err(internal)?;
        if !stream.is_writable() {
            return Err(SctpError::StreamResetPending { stream_id: id });
        }
        if let Some(r) = reliability {
            let (kind, value) = match (r.max_packet_life_time, r.max_retransmits) {
                (Some(ms), _) => (ReliabilityType::Timed, ms),
                (None, Some(n)) => (ReliabilityType::Rexmit, n),
                (None, None) => (ReliabilityType::Reliable, 0),
            };
            stream
                .set_reliability_params(!r.ordered, kind, value)
                .map_err(internal)?;
        }
        let written = stream.write_with_ppi(now, payload, ppid);
        if reliability.is_some() {
            // Each message captured its settings; the stream's flag goes back to what the peer
            // sends, which is what rtc-sctp's FORWARD TSN handling looks at.
            let _ = stream.set_reliability_params(rx_unordered, ReliabilityType::Reliable, 0);
        }
        let n = written.map_err(internal)?;
        self.streams.entry(id).or_default().buffered += n;
        self.total_buffered += n;
        self.wrote = true;
        Ok(n)
    }

    /// `n` bytes of stream `id` were acknowledged or abandoned.
    fn release(&mut self, id: u16, n: usize) {
        let Some(s) = self.streams.get_mut(&id) else { return };
        let old = s.buffered;
        s.buffered = old.saturating_sub(n);
        self.total_buffered = self.total_buffered.saturating_sub(old - s.buffered);
        if s.buffered <= s.low_threshold && (old > s.low_threshold || s.force_low) {
            s.force_low = false;
            self.events.push_back(SctpEvent::BufferedAmountLow {
                stream_id: id,
                buffered_amount: s.buffered,
            });
        }
    }

    /// `rtc-sctp` performed a reset of stream `id` requested by the peer.
    fn on_stream_reset(&mut self, id: u16) {
        if id == SINK_STREAM {
            return;
        }
        if let Some(s) = self.streams.get_mut(&id) {
            // What was still queued belongs to the old stream and is no longer reported.
            self.total_buffered = self.total_buffered.saturating_sub(s.buffered);
            s.buffered = 0;
            s.force_low = false;
        }
        self.reset_done.insert(id);
        if !self.locally_reset.remove(&id) {
            self.events.push_back(SctpEvent::StreamReset { stream_id: id });
        }
    }
}

/// Sets the stream's unordered flag as `rtc-sctp`'s FORWARD TSN handling reads it.
fn set_unordered_flag(assoc: &mut Association, id: u16, unordered: bool) {
    if let Ok(mut s) = assoc.stream(id) {
        let _ = s.set_reliability_params(unordered, ReliabilityType::Reliable, 0);
    }
}

/// Runs `f`, turning a panic into `None`.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

// rtc-sctp's endpoint is address-based; over DTLS there is one peer, so both addresses are fixed.
fn local_addr() -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, SCTP_PORT))
}

fn remote_addr() -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, SCTP_PORT + 1))
}
