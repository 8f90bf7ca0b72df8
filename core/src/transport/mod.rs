//! Transports: what carries a router's producers and consumers to one remote peer. The parts
//! every kind shares live here (RTP listener, produce/consume, stats, close cascade); each kind
//! adds its own I/O (`plain.rs`).

mod allocation;
pub(crate) mod bench_hook;
mod direct;
mod pipe;
pub(crate) mod io;
mod listen;
pub(crate) mod sctp;
mod plain;
mod socket_errors;
pub(crate) mod webrtc;
pub(crate) mod webrtc_server;
#[cfg(test)]
mod webrtc_tests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use listen::{ListenInfo, PortRange, Protocol};
pub use direct::{DirectTransport, DirectTransportOptions};
pub use pipe::{PipeTransport, PipeTransportOptions};
pub use plain::{PlainTransport, PlainTransportConnect, PlainTransportOptions};
pub(crate) use plain::PlainState;
pub use webrtc::{IceCandidate, WebRtcTransport, WebRtcTransportOptions};
pub use webrtc_server::{WebRtcServer, WebRtcServerOptions};

use crate::consumer::{Consumer, ConsumerOptions};
use crate::error::{Error, Result};
use crate::events::{CloseReason, EventKind, ObjectKind};
use crate::producer::{Producer, ProducerOptions};
use crate::rate::RateCalculator;
use crate::rtp::receive_stats::ReportBlock;
use crate::rtp::layers::PacketInfo;
use crate::rtp::{nack, retransmission, rtcp, twcc, RtpPacket};
use crate::trace::{TraceDirection, TraceEvent, TraceEventType};
use crate::worker::{Key, KeyMap, WorkerInner, WorkerState};

/// Local and remote address of a transport's flow, as mediasoup's `TransportTuple`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportTuple {
    /// Announced address if any, else the local IP.
    pub local_address: String,
    /// Local IP (kept for apps written against older mediasoup versions).
    pub local_ip: String,
    /// Local port.
    pub local_port: u16,
    /// Remote IP, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    /// Remote port, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_port: Option<u16>,
    /// `udp` or `tcp`.
    pub protocol: Protocol,
}

impl TransportTuple {
    pub(crate) fn set_remote(&mut self, addr: SocketAddr) {
        self.remote_ip = Some(addr.ip().to_string());
        self.remote_port = Some(addr.port());
    }

    /// The address the far end reaches us at (the announced address if any).
    pub(crate) fn local_socket_addr(&self) -> Option<SocketAddr> {
        Some(SocketAddr::new(self.local_address.parse().ok()?, self.local_port))
    }
}

/// Maps incoming RTP to producers: by SSRC, then by MID, then by RID (binding the SSRC).
#[derive(Default)]
pub(crate) struct RtpListener {
    pub(crate) ssrc: KeyMap<Key>,
    pub(crate) mid: HashMap<String, Key>,
    pub(crate) rid: HashMap<String, Key>,
}

#[derive(Default)]
pub(crate) struct TransportStats {
    pub(crate) bytes_received: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) rtp_bytes_received: u64,
    pub(crate) rtp_bytes_sent: u64,
    pub(crate) recv_rate: RateCalculator,
    pub(crate) send_rate: RateCalculator,
    pub(crate) rtp_recv_rate: RateCalculator,
    pub(crate) rtp_send_rate: RateCalculator,
    /// Datagrams dropped: unparsable, unknown source, or no producer.
    pub(crate) discarded: u64,
    pub(crate) probation_bytes_sent: u64,
    pub(crate) probation_send_rate: RateCalculator,
    /// Socket errors seen for this transport's remotes: sends refused, ICMP errors.
    pub(crate) socket_errors: u64,
}

pub(crate) enum TransportKind {
    Plain(PlainState),
    WebRtc(Box<webrtc::WebRtcState>),
    Direct(direct::DirectState),
}

pub(crate) struct TransportState {
    pub(crate) id: String,
    pub(crate) router: Key,
    pub(crate) producers: Vec<Key>,
    pub(crate) consumers: Vec<Key>,
    pub(crate) data_producers: Vec<Key>,
    pub(crate) data_consumers: Vec<Key>,
    /// Largest data message accepted or delivered (SCTP `maxMessageSize`, DirectTransport
    /// `maxMessageSize`).
    pub(crate) max_message_size: usize,
    /// The SCTP association, when `enableSctp`.
    pub(crate) sctp: Option<sctp::SctpTransport>,
    pub(crate) listener: RtpListener,
    /// Consumer SSRC → consumer, for RTCP feedback from the remote.
    pub(crate) consumer_ssrcs: KeyMap<Key>,
    pub(crate) mid_ext_id: u8,
    pub(crate) rid_ext_id: u8,
    pub(crate) rrid_ext_id: u8,
    /// Transport-wide sequence number extension id of what the remote sends (0: none).
    pub(crate) twcc_ext_id: u8,
    next_mid: u32,
    pub(crate) rtcp_ssrc: u32,
    /// The CNAME all producers of this transport get (the first one given, else random).
    pub(crate) cname_for_producers: Option<String>,
    pub(crate) stats: TransportStats,
    /// Round-trip time to the remote (ms), from its receiver reports about our sender reports.
    pub(crate) rtt_ms: Option<f64>,
    /// Enabled `trace` event types.
    pub(crate) trace: crate::trace::TraceMask,
    /// When the last round of sender reports went out.
    last_sr_ms: Option<u64>,
    /// Transport-wide sequence number of the next packet sent (WebRTC transports).
    twcc_send_seq: u16,
    /// Send-side bandwidth estimation from the remote's transport-cc feedback (or REMB).
    pub(crate) bwe: Option<Box<crate::bwe::SendSideBwe>>,
    /// Reused list of decoded transport-cc feedback.
    twcc_results: Vec<(u16, Option<i64>)>,
    /// Sequence number of the next probation packet.
    probe_seq: u16,
    /// `setMaxIncomingBitrate()`: the cap announced to the remote's producers (REMB), bps.
    pub(crate) max_incoming_bitrate: Option<u32>,
    /// `setMinIncomingBitrate()`: the floor of the REMB estimates announced to producers that
    /// use REMB (a transport-cc sender estimates by itself), bps.
    pub(crate) min_incoming_bitrate: Option<u32>,
    /// abs-send-time extension id of what the remote sends (0: none).
    pub(crate) abs_send_time_ext_id: u8,
    /// Receive-side estimation from abs-send-time: `availableIncomingBitrate`, and the REMB
    /// of producers without transport-cc.
    pub(crate) recv_bwe: Option<Box<crate::bwe::ReceiveSideBwe>>,
    /// Paces RTP sent to the remote at a multiple of the send-side estimate (WebRTC
    /// transports); packets wait tagged with their transport-wide-cc extension id.
    pub(crate) pacer: Option<Box<crate::bwe::Pacer<u8>>>,
    /// A drain task for the pacer's queue is scheduled.
    pacer_armed: bool,
    /// Keeps retransmissions within the send-side estimate (transports that estimate).
    rtx_limiter: crate::bwe::RetransmissionLimiter,
    /// When the REMB cap of a transport-cc sender was last announced.
    last_remb_cap_ms: Option<u64>,
    /// When layers were last allocated within the estimate.
    pub(crate) last_allocation_ms: u64,
    /// When the last `socketError` event went out, and the errors seen since.
    last_socket_error_event_ms: Option<u64>,
    unreported_socket_errors: u64,
    pub(crate) kind: TransportKind,
    pub(crate) closed: Arc<AtomicBool>,
}

impl TransportState {
    pub(crate) fn new(id: String, router: Key, kind: TransportKind, closed: Arc<AtomicBool>) -> Self {
        TransportState {
            id,
            router,
            producers: vec![],
            consumers: vec![],
            data_producers: vec![],
            data_consumers: vec![],
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            sctp: None,
            listener: RtpListener::default(),
            consumer_ssrcs: KeyMap::default(),
            mid_ext_id: 0,
            rid_ext_id: 0,
            rrid_ext_id: 0,
            twcc_ext_id: 0,
            next_mid: 0,
            rtcp_ssrc: crate::ortc::generate_ssrc(),
            cname_for_producers: None,
            stats: TransportStats::default(),
            rtt_ms: None,
            trace: Default::default(),
            last_sr_ms: None,
            twcc_send_seq: 0,
            bwe: None,
            twcc_results: vec![],
            probe_seq: 0,
            max_incoming_bitrate: None,
            min_incoming_bitrate: None,
            abs_send_time_ext_id: 0,
            recv_bwe: None,
            pacer: None,
            pacer_armed: false,
            rtx_limiter: Default::default(),
            last_remb_cap_ms: None,
            last_allocation_ms: 0,
            last_socket_error_event_ms: None,
            unreported_socket_errors: 0,
            kind,
            closed,
        }
    }

    /// Sends consumer `from`'s RTP packet to the remote, if it is known (a DirectTransport hands
    /// it to the application as the consumer's `rtp` event), through the pacer when there is
    /// one: `urgent` packets (audio, retransmissions) never wait for it.
    /// `twcc_ext`: the packet's transport-wide sequence number extension (0: none), stamped
    /// when the packet leaves, in send order, and reported to bandwidth estimation.
    /// Returns true when the packet was queued and no drain of the queue is scheduled yet:
    /// the caller schedules one ([`spawn_pacer_drain`]).
    #[must_use]
    pub(crate) fn send_rtp(&mut self, from: &str, buf: &mut [u8], twcc_ext: u8, urgent: bool, now: u64) -> bool {
        if let Some(p) = self.pacer.as_mut() {
            if !p.admit(now, buf.len(), urgent) {
                p.enqueue(now, buf, twcc_ext);
                return !std::mem::replace(&mut self.pacer_armed, true);
            }
        }
        self.transmit_rtp(from, buf, twcc_ext, now);
        false
    }

    /// Whether a retransmission of `size` bytes may leave at `now`: within the send-side
    /// bandwidth estimate over the last second, on transports that estimate (see
    /// [`crate::bwe::RetransmissionLimiter`]).
    pub(crate) fn admit_retransmission(&mut self, size: usize, now: u64) -> bool {
        match self.bwe.as_ref() {
            Some(b) => self.rtx_limiter.try_use(now, size, b.available_bitrate()),
            None => true,
        }
    }

    /// Whether RTP leaves this transport as UDP datagrams to a network peer (a plain or pipe
    /// transport with a remote, not an in-process link; a WebRTC transport whose selected
    /// path is UDP, not ICE-TCP): where GSO sends apply.
    pub(crate) fn sends_udp(&self) -> bool {
        match &self.kind {
            TransportKind::Plain(p) => p.sends_udp(),
            TransportKind::WebRtc(w) => w.sends_udp(),
            TransportKind::Direct(_) => false,
        }
    }

    /// Sends an RTP packet now (see [`TransportState::send_rtp`]).
    fn transmit_rtp(&mut self, from: &str, buf: &mut [u8], twcc_ext: u8, now: u64) {
        if twcc_ext != 0 {
            let seq = self.twcc_send_seq;
            if crate::rtp::stamp_twcc(buf, twcc_ext, seq) {
                self.twcc_send_seq = seq.wrapping_add(1);
                if let Some(b) = self.bwe.as_mut() {
                    b.on_packet_sent(seq, buf.len(), now, None);
                }
            }
        }
        let buf: &[u8] = buf;
        let sent = match &mut self.kind {
            TransportKind::Plain(p) => p.send_rtp(buf),
            TransportKind::WebRtc(w) => w.send_rtp(buf),
            TransportKind::Direct(d) => d.deliver(from, EventKind::Rtp { packet: buf.to_vec() }),
        };
        if sent {
            self.stats.bytes_sent += buf.len() as u64;
            self.stats.rtp_bytes_sent += buf.len() as u64;
            self.stats.send_rate.update(buf.len(), now);
            self.stats.rtp_send_rate.update(buf.len(), now);
        }
    }

    /// Sends what the pacer lets go at `now`. Returns how long until the next packet is due,
    /// or `None` once the queue is empty (the drain task ends).
    fn drain_pacer(&mut self, now: u64) -> Option<u64> {
        loop {
            let Some(p) = self.pacer.as_mut() else {
                self.pacer_armed = false;
                return None;
            };
            match p.poll(now) {
                crate::bwe::PacerPoll::Send(mut buf, twcc_ext) => {
                    self.transmit_rtp("", &mut buf, twcc_ext, now);
                    if let Some(p) = self.pacer.as_mut() {
                        p.recycle(buf);
                    }
                }
                crate::bwe::PacerPoll::Wait(ms) => return Some(ms),
                crate::bwe::PacerPoll::Empty => {
                    self.pacer_armed = false;
                    return None;
                }
            }
        }
    }

    /// Follows the send-side estimate with the pacing rate.
    pub(crate) fn update_pacing_rate(&mut self) {
        if let (Some(p), Some(b)) = (self.pacer.as_mut(), self.bwe.as_ref()) {
            p.set_rate((PACING_FACTOR * f64::from(b.available_bitrate())).min(f64::from(u32::MAX)) as u32);
        }
    }

    /// Sends an RTCP packet to the remote, if it is known.
    pub(crate) fn send_rtcp(&mut self, buf: &[u8], now: u64) {
        let sent = match &mut self.kind {
            TransportKind::Plain(p) => p.send_rtcp(buf),
            TransportKind::WebRtc(w) => w.send_rtcp(buf),
            TransportKind::Direct(d) => d.deliver(&self.id, EventKind::Rtcp { packet: buf.to_vec() }),
        };
        if sent {
            self.stats.bytes_sent += buf.len() as u64;
            self.stats.send_rate.update(buf.len(), now);
        }
    }

    /// The REMB to announce to the remote's producers, bps: the receive-side estimate when they
    /// use REMB (no transport-cc), bounded by `setMin/MaxIncomingBitrate()`; otherwise the
    /// maximum alone (Chrome's send-side estimate honours a REMB as a cap). `force`: announce
    /// the current value now (the bounds changed), not when the estimator says it is due.
    fn due_remb(&mut self, now: u64, force: bool) -> Option<u32> {
        let (min, max) = (self.min_incoming_bitrate, self.max_incoming_bitrate);
        let bound = |v: u32| {
            let v = max.map_or(v, |m| v.min(m));
            min.map_or(v, |m| v.max(m))
        };
        if self.uses_remb() {
            let r = self.recv_bwe.as_mut()?;
            if force {
                return r.estimate().map(bound);
            }
            return r.poll_remb(crate::bwe::ms_to_us(now), bound);
        }
        // A transport-cc sender: only a cap is worth announcing, once a second.
        let due = force || self.last_remb_cap_ms.map_or(true, |t| now >= t + REMB_CAP_INTERVAL_MS);
        let m = max?;
        if due {
            self.last_remb_cap_ms = Some(now);
            Some(m)
        } else {
            None
        }
    }

    /// Whether the remote's producers estimate bandwidth from our REMB (abs-send-time without
    /// transport-wide-cc).
    pub(crate) fn uses_remb(&self) -> bool {
        self.twcc_ext_id == 0 && self.abs_send_time_ext_id != 0
    }

    /// Sends the REMB due now (see [`TransportState::due_remb`]) for the remote's producers'
    /// SSRCs.
    pub(crate) fn send_remb(&mut self, producers: &crate::worker::KeyMap<Box<crate::producer::ProducerState>>, now: u64, force: bool) {
        if self.producers.is_empty() {
            return;
        }
        let Some(bps) = self.due_remb(now, force) else { return };
        let ssrcs: Vec<u32> = self.producers.iter().filter_map(|k| producers.get(k)).flat_map(|p| p.streams.iter().filter_map(|s| s.ssrc)).collect();
        if ssrcs.is_empty() {
            return;
        }
        let mut buf = Vec::with_capacity(24 + 4 * ssrcs.len());
        twcc::write_remb(&mut buf, self.rtcp_ssrc, u64::from(bps), &ssrcs[..ssrcs.len().min(255)]);
        self.send_rtcp(&buf, now);
    }

    /// `availableIncomingBitrate`: the receive-side estimate within the incoming bounds.
    fn available_incoming_bitrate(&self) -> Option<u32> {
        let v = self.recv_bwe.as_ref()?.estimate()?;
        let v = self.max_incoming_bitrate.map_or(v, |m| v.min(m));
        Some(self.min_incoming_bitrate.map_or(v, |m| v.max(m)))
    }

    fn take_mid(&mut self) -> String {
        let mid = self.next_mid;
        self.next_mid = (self.next_mid + 1) % 100_000_000;
        mid.to_string()
    }

    fn type_name(&self) -> &'static str {
        match &self.kind {
            TransportKind::Plain(p) if p.pipe => "pipe-transport",
            TransportKind::Plain(_) => "plain-rtp-transport",
            TransportKind::WebRtc(_) => "webrtc-transport",
            TransportKind::Direct(_) => "direct-transport",
        }
    }
}

/// What a transport holds, against the per-transport limits.
#[derive(Clone, Copy)]
pub(crate) enum Held {
    Producers,
    DataProducers,
    Consumers,
    DataConsumers,
}

impl Held {
    fn name(self) -> &'static str {
        match self {
            Held::Producers => "producers",
            Held::DataProducers => "data producers",
            Held::Consumers => "consumers",
            Held::DataConsumers => "data consumers",
        }
    }
}

impl WorkerState {
    pub(crate) fn transport(&self, key: Key) -> Result<&TransportState> {
        self.transports.get(&key).map(|t| &**t).ok_or_else(|| Error::InvalidState("transport closed".into()))
    }

    pub(crate) fn transport_mut(&mut self, key: Key) -> Result<&mut TransportState> {
        self.transports.get_mut(&key).map(|t| &mut **t).ok_or_else(|| Error::InvalidState("transport closed".into()))
    }

    /// Fails when the worker already holds `maxTransports` transports.
    pub(crate) fn check_transport_limit(&self) -> Result<()> {
        let max = self.settings.max_transports;
        if self.transports.len() >= max as usize {
            return Err(Error::InvalidState(format!("too many transports in this worker (maxTransports: {max})")));
        }
        Ok(())
    }

    /// Fails when transport `tkey` already holds as many `what` as its per-transport limit allows.
    pub(crate) fn check_per_transport_limit(&self, tkey: Key, what: Held) -> Result<()> {
        let t = self.transport(tkey)?;
        let s = &self.settings;
        let (held, max, name) = match what {
            Held::Producers => (t.producers.len(), s.max_producers_per_transport, "maxProducersPerTransport"),
            Held::DataProducers => (t.data_producers.len(), s.max_producers_per_transport, "maxProducersPerTransport"),
            Held::Consumers => (t.consumers.len(), s.max_consumers_per_transport, "maxConsumersPerTransport"),
            Held::DataConsumers => (t.data_consumers.len(), s.max_consumers_per_transport, "maxConsumersPerTransport"),
        };
        if held >= max as usize {
            return Err(Error::InvalidState(format!("too many {} on this transport ({name}: {max})", what.name())));
        }
        Ok(())
    }

    pub(crate) fn register_transport(&mut self, router: Key, t: TransportState) -> Key {
        let key = self.next_key();
        self.transports.insert(key, Box::new(t));
        if let Some(r) = self.routers.get_mut(&router) {
            r.transports.push(key);
        }
        key
    }

    pub(crate) fn close_transport(&mut self, key: Key, reason: CloseReason) {
        let Some(t) = self.transports.get(&key) else { return };
        let (producers, consumers) = (t.producers.clone(), t.consumers.clone());
        let (data_producers, data_consumers) = (t.data_producers.clone(), t.data_consumers.clone());
        for c in consumers {
            self.close_consumer(c, CloseReason::TransportClosed);
        }
        for p in producers {
            self.close_producer(p, CloseReason::TransportClosed);
        }
        for c in data_consumers {
            self.close_data_consumer(c, CloseReason::TransportClosed);
        }
        for p in data_producers {
            self.close_data_producer(p, CloseReason::TransportClosed);
        }
        let now = self.now_ms();
        if let Some(mut t) = self.transports.remove(&key) {
            match &mut t.kind {
                TransportKind::Plain(p) => p.shutdown(),
                TransportKind::Direct(_) => {}
                TransportKind::WebRtc(w) => {
                    // An ABORT tells the remote's data channels at once, then DTLS close_notify.
                    if let Some(s) = t.sctp.as_mut() {
                        s.close(now);
                        while let Some(p) = s.poll_transmit(now) {
                            let _ = w.dtls.send_application_data(now, &p);
                        }
                        w.flush_dtls(None);
                    }
                    w.shutdown(now);
                    if let Some(s) = w.server {
                        self.webrtc_server_remove_transport(s, key);
                    }
                }
            }
            if let Some(r) = self.routers.get_mut(&t.router) {
                r.transports.retain(|k| *k != key);
            }
            t.closed.store(true, Ordering::Release);
            self.bus.emit(&t.id, EventKind::Closed { object: ObjectKind::Transport, reason });
        }
    }

    /// One RTP datagram received by transport `tkey`: route it to its producer and fan it out.
    pub(crate) fn on_rtp(&mut self, tkey: Key, data: &[u8], now: u64) {
        // The fan-out's datagrams leave together: one sendmmsg per socket run (a WebRtcServer's
        // consumers share one socket), flushed when this returns.
        let _batch = io::batch_sends();
        let now_us = self.now_us();
        let WorkerState { transports, producers, consumers, scratch, rtx_scratch, bus, rtp_observers, self_ref, deferred, .. } = self;
        let Some(t) = transports.get_mut(&tkey) else { return };
        t.stats.bytes_received += data.len() as u64;
        t.stats.recv_rate.update(data.len(), now);
        let Some(pkt) = RtpPacket::parse(data) else {
            t.stats.discarded += 1;
            return;
        };
        t.stats.rtp_bytes_received += data.len() as u64;
        t.stats.rtp_recv_rate.update(data.len(), now);
        if t.twcc_ext_id != 0 {
            if let (TransportKind::WebRtc(w), Some(seq)) = (&mut t.kind, pkt.extension(t.twcc_ext_id)) {
                if seq.len() == 2 {
                    w.twcc.on_packet(u16::from_be_bytes([seq[0], seq[1]]), now_us, pkt.ssrc());
                }
            }
        }
        if t.abs_send_time_ext_id != 0 {
            if let (Some(r), Some(v)) = (t.recv_bwe.as_mut(), pkt.extension(t.abs_send_time_ext_id)) {
                if v.len() == 3 {
                    r.on_packet(u32::from_be_bytes([0, v[0], v[1], v[2]]), now_us as i64, data.len());
                }
            }
        }
        let Some(pkey) = find_producer(t, &pkt) else {
            t.stats.discarded += 1;
            tracing::debug!(transport = %t.id, ssrc = pkt.ssrc(), "no producer for RTP packet");
            return;
        };
        let Some(p) = producers.get_mut(&pkey) else { return };
        // A retransmission from the publisher: restore the original and carry on with it.
        let rtx = p.rtx_target(&pkt);
        let is_rtx = rtx.is_some();
        let pkt = match rtx {
            Some((media_ssrc, media_pt)) => {
                if !retransmission::restore_rtx(rtx_scratch, data, media_ssrc, media_pt) {
                    return; // padding-only probe or malformed
                }
                match RtpPacket::parse(rtx_scratch) {
                    Some(p) => p,
                    None => return,
                }
            }
            None => pkt,
        };
        let Some((encoding, info)) = p.receive(&pkt, now, is_rtx) else { return };
        if p.trace.any() {
            p.trace_rtp(bus, &pkt, encoding, &info, is_rtx);
        }
        if !p.observers.is_empty() && p.audio_level_ext_id != 0 {
            if let Some(&level) = pkt.extension(p.audio_level_ext_id).and_then(|v| v.first()) {
                for o in &p.observers {
                    if let Some(o) = rtp_observers.get_mut(o) {
                        o.on_audio_level(pkey, level, now);
                    }
                }
            }
        }
        if p.has_pending_nacks() {
            let mut nacks = vec![];
            let rtt = t.rtt_ms.map(|r| r as u64).unwrap_or(crate::producer::DEFAULT_RTT_MS);
            p.poll_nacks(now, rtt, t.rtcp_ssrc, &mut nacks);
            for n in &nacks {
                t.send_rtcp(n, now);
            }
            if !nacks.is_empty() && p.trace.has(TraceEventType::Nack) {
                bus.emit(&p.id, EventKind::Trace { trace: TraceEvent::new(TraceEventType::Nack, TraceDirection::Out, json!({})) });
            }
        }
        if p.paused {
            return;
        }
        // Deferred: a producer with several consumers (each then forwards the turn's packets
        // in one go), and one with a single consumer where packets are padded for GSO (its
        // video packets of a frame become one GSO run, which its transport's audio can end).
        let defer = p.unpaused.len() > 1 || (!p.unpaused.is_empty() && gso_padding_on());
        if deferred.active && defer {
            deferred.push(pkey, encoding, info, pkt.data());
            if deferred.data.len() >= DEFERRED_MAX_BYTES {
                // A turn this large (GRO reads of big frames): fan out what waits now.
                self.run_deferred_fanout();
            }
            return;
        }
        for ck in &p.unpaused {
            forward_to(consumers, transports, *ck, &pkt, encoding, &info, now, scratch, bus, self_ref);
        }
    }

    /// Runs `turn` (one receive loop turn: a socket drained) with the fan-out of producers that
    /// have several consumers (or one, with GSO padding) deferred to its end, and then done consumer by consumer: each
    /// consumer forwards all of the turn's packets for it at once, while its state (and its
    /// transport's, and its SRTP keys) is in cache — packet by packet, every packet walked every
    /// consumer again — and its packets of a frame leave together as one GSO send. Consumers go
    /// transport by transport, and the send batch is flushed every few transports, so the first
    /// consumers' packets leave while later ones are still being prepared. Per consumer the
    /// packets keep their order; what the producer side does (stats, NACKs, observers, traces)
    /// still happens as each packet arrives.
    pub(crate) fn receive_turn<R>(&mut self, turn: impl FnOnce(&mut Self) -> R) -> R {
        // The outer batch: what the deferred fan-out queues leaves when this returns.
        let _batch = io::batch_sends();
        self.deferred.active = true;
        let r = turn(self);
        self.deferred.active = false;
        if !self.deferred.entries.is_empty() {
            let die = self.die.clone();
            crate::worker::guarded(&die, || self.run_deferred_fanout());
        }
        r
    }

    /// Fans out what the turn deferred, consumer by consumer, and empties the list.
    fn run_deferred_fanout(&mut self) {
        let now = self.now_ms();
        let WorkerState { transports, producers, consumers, scratch, bus, self_ref, deferred, .. } = self;
        let DeferredFanout { data, entries, jobs, padded, .. } = deferred;
        // Grouped by producer, each group in arrival order (`start` grows with arrival, so the
        // key is unique and an unstable sort, which does not allocate, keeps that order).
        entries.sort_unstable_by_key(|e| (e.producer, e.start));
        // A job per consumer of each group, ordered by the consumer's transport: a transport's
        // consumers (its video and audio, say) forward one after the other and their datagrams
        // share a flush, where a shorter one (audio) can end the other's GSO run to that
        // destination instead of leaving alone.
        jobs.clear();
        let mut first = 0;
        for group in entries.chunk_by(|a, b| a.producer == b.producer) {
            let end = first + group.len();
            if let Some(p) = producers.get(&group[0].producer) {
                for ck in &p.unpaused {
                    if let Some(c) = consumers.get(ck) {
                        jobs.push(FanoutJob { transport: c.transport, consumer: *ck, first, end });
                    }
                }
            }
            first = end;
        }
        jobs.sort_unstable_by_key(|j| (j.transport, j.first, j.consumer));
        let pad = gso_padding_on();
        for (i, job) in jobs.iter().enumerate() {
            // The consumer and its transport are looked up once for the job.
            if let Some(c) = consumers.get_mut(&job.consumer) {
                let mut ct = transports.get_mut(&c.transport).map(|t| &mut **t);
                let share = &entries[job.first..job.end];
                if pad && share.len() > 1 && c.pads_for_gso() && ct.as_ref().is_some_and(|t| t.sends_udp()) {
                    padded.forward(c, ct, share, data, now, scratch, bus, self_ref);
                } else {
                    for e in share {
                        // Other simulcast layers' packets are skipped unparsed.
                        if !c.takes_encoding(e.encoding) {
                            continue;
                        }
                        // (Parsed again per consumer — a few ns — rather than collected: RtpPacket
                        // borrows `data`, and a fresh list per turn would allocate.)
                        let Some(pkt) = RtpPacket::parse(&data[e.start..e.start + e.len]) else { continue };
                        forward_with(c, ct.as_deref_mut(), &pkt, e.encoding, &e.info, now, scratch, bus, self_ref);
                    }
                }
            }
            if jobs.get(i + 1).is_none_or(|next| next.transport != job.transport) {
                io::flush_sends_over(DEFERRED_FLUSH_EVERY);
            }
        }
        deferred.clear();
    }

    /// NACK retries of producers waiting for retransmissions, also when no packet arrives to
    /// trigger them (the publisher paused, or a burst was lost).
    pub(crate) fn retry_nacks(&mut self, now: u64) {
        let WorkerState { transports, producers, .. } = self;
        let mut nacks = vec![];
        for p in producers.values_mut() {
            if !p.has_pending_nacks() {
                continue;
            }
            let Some(t) = transports.get_mut(&p.transport) else { continue };
            let rtt = t.rtt_ms.map(|r| r as u64).unwrap_or(crate::producer::DEFAULT_RTT_MS);
            nacks.clear();
            p.poll_nacks(now, rtt, t.rtcp_ssrc, &mut nacks);
            for n in &nacks {
                t.send_rtcp(n, now);
            }
        }
    }

    /// One RTCP datagram (possibly compound) received by transport `tkey`.
    pub(crate) fn on_rtcp(&mut self, tkey: Key, data: &[u8], now: u64) {
        // A NACK's retransmissions leave in one sendmmsg.
        let _batch = io::batch_sends();
        let Some(t) = self.transports.get_mut(&tkey) else { return };
        t.stats.bytes_received += data.len() as u64;
        t.stats.recv_rate.update(data.len(), now);
        let mut key_frame_requests: Vec<(Key, TraceEventType, u32)> = vec![];
        let mut nacked: Vec<(Key, u32, Vec<u16>)> = vec![];
        let mut reports: Vec<(Key, ReportBlock)> = vec![];
        let mut sender_reports: Vec<(Key, u32, u64, [u8; 12])> = vec![];
        let mut ntp_mid_now = None;
        for p in rtcp::compound(data) {
            if p.packet_type == 200 || p.packet_type == 201 {
                // Report blocks about what we send (consumers), and SRs about what we receive.
                let first = if p.packet_type == 200 { 28 } else { 8 };
                for i in 0..p.count as usize {
                    if let Some(b) = p.data.get(first + 24 * i..first + 24 * (i + 1)).and_then(ReportBlock::parse) {
                        if let Some(c) = t.consumer_ssrcs.get(&(b.ssrc as u64)) {
                            if b.last_sr != 0 {
                                // RFC 3550 §6.4.1: A - LSR - DLSR, in 1/65536 s.
                                let a = *ntp_mid_now.get_or_insert_with(|| (rtcp::ntp_now(crate::producer::unix_ms()) >> 16) as u32);
                                let rtt = a.wrapping_sub(b.last_sr).wrapping_sub(b.delay_since_last_sr);
                                if rtt < 65536 * 10 {
                                    let ms = rtt as f64 * 1000.0 / 65536.0;
                                    t.rtt_ms = Some(ms);
                                    if let Some(bwe) = t.bwe.as_mut() {
                                        bwe.on_rtt(ms.round() as u32, now);
                                    }
                                }
                            }
                            reports.push((*c, b));
                        }
                    }
                }
                if p.packet_type == 200 {
                    if let (Some(ssrc), Some(ntp), Some(rest)) = (p.data.get(4..8), p.data.get(8..16), p.data.get(16..28)) {
                        let ssrc = u32::from_be_bytes(ssrc.try_into().unwrap_or_default());
                        if let Some(pk) = t.listener.ssrc.get(&(ssrc as u64)) {
                            sender_reports.push((*pk, ssrc, u64::from_be_bytes(ntp.try_into().unwrap_or_default()), rest.try_into().unwrap_or_default()));
                        }
                    }
                }
            } else if p.packet_type == 205 && p.count == 1 {
                let mut seqs = vec![];
                if let Some(ssrc) = nack::parse_nack(p.data, &mut seqs) {
                    if let Some(c) = t.consumer_ssrcs.get(&(ssrc as u64)) {
                        nacked.push((*c, ssrc, seqs));
                    }
                }
            } else if p.packet_type == 205 && p.count == 15 {
                // Transport-cc feedback about what we sent: bandwidth estimation.
                if let Some(bwe) = t.bwe.as_mut() {
                    t.twcc_results.clear();
                    if twcc::parse_feedback(p.data, &mut t.twcc_results).is_some() {
                        bwe.on_feedback(&t.twcc_results, now);
                    }
                }
                t.update_pacing_rate();
            } else if p.packet_type == 206 && p.count == 15 {
                if let (Some(bwe), Some(bps)) = (t.bwe.as_mut(), twcc::parse_remb(p.data)) {
                    bwe.on_remb(bps.min(u64::from(u32::MAX)) as u32, now);
                }
                t.update_pacing_rate();
            } else if p.is_pli() {
                if let Some(s) = p.media_ssrc() {
                    if let Some(c) = t.consumer_ssrcs.get(&(s as u64)) {
                        key_frame_requests.push((*c, TraceEventType::Pli, s));
                    }
                }
            } else if p.is_fir() {
                for s in p.fir_ssrcs() {
                    if let Some(c) = t.consumer_ssrcs.get(&(s as u64)) {
                        key_frame_requests.push((*c, TraceEventType::Fir, s));
                    }
                }
            }
        }
        for (c, b) in reports {
            if let Some(c) = self.consumers.get_mut(&c) {
                c.on_receiver_report(&b);
            }
        }
        for (pk, ssrc, ntp, rest) in sender_reports {
            if let Some(p) = self.producers.get_mut(&pk) {
                p.on_sender_report(ssrc, ntp, now);
                if p.trace.has(TraceEventType::Sr) {
                    let word = |i: usize| u32::from_be_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
                    let info = json!({ "ssrc": ssrc, "ntpSec": (ntp >> 32) as u32, "ntpFrac": ntp as u32, "rtpTs": word(0), "packetCount": word(4), "octetCount": word(8) });
                    self.bus.emit(&p.id, EventKind::Trace { trace: TraceEvent::new(TraceEventType::Sr, TraceDirection::In, info) });
                }
            }
        }
        for (c, ssrc, seqs) in nacked {
            let mut pipe_encoding = None;
            if let Some(cs) = self.consumers.get(&c) {
                if cs.trace.has(TraceEventType::Nack) {
                    self.bus.emit(&cs.id, EventKind::Trace { trace: TraceEvent::new(TraceEventType::Nack, TraceDirection::In, json!({})) });
                }
                pipe_encoding = cs.pipe_encoding_of(ssrc);
            }
            match pipe_encoding {
                Some(e) => self.retransmit_pipe(c, e, &seqs, now),
                None => self.retransmit(c, &seqs, now),
            }
        }
        for (c, typ, ssrc) in key_frame_requests {
            let Some(cs) = self.consumers.get_mut(&c) else { continue };
            if typ == TraceEventType::Fir {
                cs.fir_count += 1;
            } else {
                cs.pli_count += 1;
            }
            if cs.trace.has(typ) {
                self.bus.emit(&cs.id, EventKind::Trace { trace: TraceEvent::new(typ, TraceDirection::In, json!({ "ssrc": ssrc })) });
            }
            // A pipe's far end asks for the key frame of one encoding; a simulcast consumer's
            // viewer for the one it is sent.
            let (pk, encoding) = (cs.producer, cs.pipe_encoding_of(ssrc).or_else(|| cs.key_frame_encoding()));
            self.request_key_frame_on(pk, encoding, now);
        }
    }

    /// The tick's one pass over the transports: sends an RTCP sender report per consumer that
    /// has sent media (NTP ↔ RTP mapping for lip sync, and what the remote's RTT measurement
    /// answers), about once a second per transport, and lists the WebRTC transports that need
    /// their own tick (not dormant) and the pipe transports with SCTP timers. No lookup per
    /// transport: the tick visits every transport, and most have nothing due.
    pub(crate) fn tick_transports(&mut self, now: u64, webrtc_live: &mut Vec<Key>, plain_sctp: &mut Vec<Key>) {
        let WorkerState { transports, consumers, .. } = self;
        let mut ntp = None;
        let mut buf = Vec::new();
        for (&k, t) in transports.iter_mut() {
            match &t.kind {
                TransportKind::WebRtc(w) if w.dormant() => continue,
                TransportKind::WebRtc(_) => webrtc_live.push(k),
                TransportKind::Plain(_) if t.sctp.is_some() => plain_sctp.push(k),
                _ => {}
            }
            if t.consumers.is_empty() || t.last_sr_ms.is_some_and(|last| now < last + SENDER_REPORT_INTERVAL_MS) {
                continue;
            }
            t.last_sr_ms = Some(now);
            let ntp = *ntp.get_or_insert_with(|| rtcp::ntp_now(crate::producer::unix_ms()));
            for i in 0..t.consumers.len() {
                let Some(c) = consumers.get(&t.consumers[i]) else { continue };
                buf.clear();
                if c.write_sender_report(&mut buf, now, ntp) {
                    t.send_rtcp(&buf, now);
                }
            }
        }
    }

    /// Answers a consumer's NACK: rebuilds each packet still held from the producer's cache with
    /// the sequence number and timestamp it was sent with, as RTX when negotiated.
    fn retransmit(&mut self, ckey: Key, seqs: &[u16], now: u64) {
        let WorkerState { transports, producers, consumers, scratch, rtx_scratch, .. } = self;
        let Some(c) = consumers.get_mut(&ckey) else { return };
        let Some(p) = producers.get(&c.producer) else { return };
        let Some(ct) = transports.get_mut(&c.transport) else { return };
        c.nack_count += 1;
        c.nack_packet_count += seqs.len() as u64;
        // A NACK repeated within a round trip of our last answer asks for a copy on its way.
        let min_interval = ct.rtt_ms.map_or(crate::producer::DEFAULT_RTT_MS, |r| r.ceil() as u64);
        for &seq in seqs {
            if c.history.resent_within(seq, now, min_interval) {
                continue;
            }
            let Some(rec) = c.history.get(seq, now, MAX_RETRANSMIT_AGE_MS) else { continue };
            let Some(orig) = p.streams.get(rec.encoding as usize).and_then(|s| s.cache.as_ref()).and_then(|cache| cache.get(rec.source_seq)) else { continue };
            let Some(pkt) = RtpPacket::parse(orig) else { continue };
            if !c.rebuild(&pkt, &rec, scratch) {
                continue;
            }
            let Some(out) = c.as_retransmission(c.rtx, scratch, rtx_scratch) else { continue };
            if !ct.admit_retransmission(out.len(), now) {
                continue;
            }
            c.history.mark_resent(seq, now);
            c.packets_retransmitted += 1;
            let _ = ct.send_rtp(&c.id, out, c.twcc_ext_id, true, now); // urgent: never queued
        }
    }

    /// Answers a pipe consumer's NACK for encoding `encoding`: its sequence numbers are the
    /// producer's, so the producer's packet cache has them directly.
    fn retransmit_pipe(&mut self, ckey: Key, encoding: usize, seqs: &[u16], now: u64) {
        let WorkerState { transports, producers, consumers, scratch, rtx_scratch, .. } = self;
        let Some(c) = consumers.get_mut(&ckey) else { return };
        let Some(cache) = producers.get(&c.producer).and_then(|p| p.streams.get(encoding)).and_then(|s| s.cache.as_ref()) else { return };
        c.nack_count += 1;
        c.nack_packet_count += seqs.len() as u64;
        for &seq in seqs {
            let Some(pkt) = cache.get(seq).and_then(RtpPacket::parse) else { continue };
            let Some(rtx) = c.rebuild_pipe(&pkt, encoding, scratch) else { continue };
            let Some(out) = c.as_retransmission(rtx, scratch, rtx_scratch) else { continue };
            c.packets_retransmitted += 1;
            if let Some(ct) = transports.get_mut(&c.transport) {
                let _ = ct.send_rtp(&c.id, out, 0, true, now); // urgent: never queued
            }
        }
    }

    fn produce(&mut self, tkey: Key, options: ProducerOptions) -> Result<crate::producer::ProducerData> {
        let router = self.transport(tkey)?.router;
        let caps = self.router(router)?.rtp_capabilities.clone();
        let d = self.create_producer(tkey, router, &caps, options)?;
        Ok(d)
    }

    fn consume(&mut self, tkey: Key, options: ConsumerOptions) -> Result<crate::consumer::ConsumerData> {
        let router = self.transport(tkey)?.router;
        let pkey = *self
            .router(router)?
            .producers
            .get(&options.producer_id)
            .ok_or_else(|| Error::NotFound(format!("Producer with id \"{}\" not found", options.producer_id)))?;
        let mut options = options;
        if let TransportKind::Plain(p) = &self.transport(tkey)?.kind {
            if p.pipe {
                // Everything consumed over a pipe is a pipe consumer, with the pipe's RTX choice.
                options.pipe = true;
                options.enable_rtx = Some(options.enable_rtx.unwrap_or(p.enable_rtx));
            }
        }
        let mid = if options.pipe { None } else { Some(options.mid.clone().unwrap_or_else(|| self.transports.get_mut(&tkey).map(|t| t.take_mid()).unwrap_or_default())) };
        self.create_consumer(tkey, pkey, options, mid)
    }

    fn transport_stats(&mut self, key: Key) -> Result<Value> {
        // Errors noted since the last tick count already.
        self.report_socket_errors();
        let now = self.now_ms();
        let t = self.transports.get_mut(&key).ok_or_else(|| Error::InvalidState("transport closed".into()))?;
        let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        let (type_name, id) = (t.type_name(), t.id.clone());
        let s = &mut t.stats;
        let mut v = json!({
            "type": type_name,
            "transportId": id,
            "timestamp": ts,
            "bytesReceived": s.bytes_received,
            "recvBitrate": s.recv_rate.rate(now),
            "bytesSent": s.bytes_sent,
            "sendBitrate": s.send_rate.rate(now),
            "rtpBytesReceived": s.rtp_bytes_received,
            "rtpRecvBitrate": s.rtp_recv_rate.rate(now),
            "rtpBytesSent": s.rtp_bytes_sent,
            "rtpSendBitrate": s.rtp_send_rate.rate(now),
            "rtxBytesReceived": 0,
            "rtxRecvBitrate": 0,
            "rtxBytesSent": 0,
            "rtxSendBitrate": 0,
            "probationBytesSent": s.probation_bytes_sent,
            "probationSendBitrate": s.probation_send_rate.rate(now),
        });
        if let Some(b) = &t.bwe {
            v["availableOutgoingBitrate"] = json!(b.available_bitrate());
        }
        if let Some(b) = t.available_incoming_bitrate() {
            v["availableIncomingBitrate"] = json!(b);
        }
        if let Some(m) = t.max_incoming_bitrate {
            v["maxIncomingBitrate"] = json!(m);
        }
        if let Some(m) = t.min_incoming_bitrate {
            v["minIncomingBitrate"] = json!(m);
        }
        match &t.kind {
            TransportKind::Plain(p) => p.add_stats(&mut v),
            TransportKind::WebRtc(w) => w.add_stats(&mut v),
            TransportKind::Direct(_) => {}
        }
        if !matches!(t.kind, TransportKind::Direct(_)) {
            v["socketErrors"] = json!(t.stats.socket_errors);
        }
        if let Some(s) = &t.sctp {
            // Beyond mediasoup: DATA the remote sent on stream ids it was not granted (discarded).
            v["sctpInvalidStreamChunks"] = json!(s.invalid_stream_chunks());
        }
        Ok(Value::Array(vec![v]))
    }

    fn transport_dump(&self, key: Key) -> Result<Value> {
        let t = self.transport(key)?;
        let ids = |keys: &Vec<Key>, f: &dyn Fn(Key) -> Option<String>| keys.iter().filter_map(|k| f(*k)).collect::<Vec<_>>();
        let producer_ids = ids(&t.producers, &|k| self.producers.get(&k).map(|p| p.id.clone()));
        let consumer_ids = ids(&t.consumers, &|k| self.consumers.get(&k).map(|c| c.id.clone()));
        let data_producer_ids = ids(&t.data_producers, &|k| self.data_producers.get(&k).map(|p| p.id.clone()));
        let data_consumer_ids = ids(&t.data_consumers, &|k| self.data_consumers.get(&k).map(|c| c.id.clone()));
        let pid = |k: &Key| self.producers.get(k).map(|p| p.id.clone()).unwrap_or_default();
        let ssrc_table: Vec<Value> = t.listener.ssrc.iter().map(|(s, k)| json!({"key": s, "value": pid(k)})).collect();
        let mid_table: Vec<Value> = t.listener.mid.iter().map(|(m, k)| json!({"key": m, "value": pid(k)})).collect();
        let rid_table: Vec<Value> = t.listener.rid.iter().map(|(r, k)| json!({"key": r, "value": pid(k)})).collect();
        let map_ssrc_consumer: Vec<Value> =
            t.consumer_ssrcs.iter().map(|(s, k)| json!({"key": s, "value": self.consumers.get(k).map(|c| c.id.clone())})).collect();
        let mut recv_exts = serde_json::Map::new();
        for (name, id) in [("mid", t.mid_ext_id), ("rid", t.rid_ext_id), ("rrid", t.rrid_ext_id)] {
            if id != 0 {
                recv_exts.insert(name.into(), json!(id));
            }
        }
        let mut v = json!({
            "id": t.id,
            "direct": matches!(t.kind, TransportKind::Direct(_)),
            "producerIds": producer_ids,
            "consumerIds": consumer_ids,
            "mapSsrcConsumerId": map_ssrc_consumer,
            "mapRtxSsrcConsumerId": [],
            "dataProducerIds": data_producer_ids,
            "dataConsumerIds": data_consumer_ids,
            "recvRtpHeaderExtensions": recv_exts,
            "rtpListener": { "ssrcTable": ssrc_table, "midTable": mid_table, "ridTable": rid_table },
            "maxMessageSize": t.max_message_size,
            "traceEventTypes": t.trace.names(),
        });
        match &t.kind {
            TransportKind::Plain(p) => p.add_dump(&mut v),
            TransportKind::WebRtc(w) => w.add_dump(&mut v),
            TransportKind::Direct(_) => {}
        }
        if let Some(s) = &t.sctp {
            // As mediasoup: OS is the negotiated outgoing stream count once connected.
            let mut p = s.parameters();
            p["OS"] = json!(s.outbound_streams());
            v["sctpParameters"] = p;
            v["sctpState"] = json!(s.state().as_str());
            let table: Vec<Value> = t
                .data_producers
                .iter()
                .filter_map(|k| self.data_producers.get(k))
                .filter_map(|d| d.sctp_stream_parameters.map(|sp| json!({ "key": sp.stream_id, "value": d.id })))
                .collect();
            v["sctpListener"] = json!({ "streamIdTable": table });
        }
        Ok(v)
    }
}

/// Packets older than this are not retransmitted (the receiver has moved on).
const MAX_RETRANSMIT_AGE_MS: u64 = 1000;
/// Pacing rate relative to the send-side estimate (libwebrtc's factor: room for encoder
/// overshoot and layer switches, while still spreading bursts).
pub(crate) const PACING_FACTOR: f64 = 2.5;
/// How often a `setMaxIncomingBitrate()` cap is announced to a transport-cc sender, ms.
const REMB_CAP_INTERVAL_MS: u64 = 1000;

/// Bytes of packets a receive turn defers at most; beyond, their fan-out runs at once (bounds
/// the buffer: a turn can read 64 GRO-coalesced datagrams of up to 64 KiB).
const DEFERRED_MAX_BYTES: usize = 512 << 10;

/// Datagrams queued at most before the deferred fan-out flushes, checked between transports
/// (a transport's packets of the turn always leave together).
const DEFERRED_FLUSH_EVERY: usize = 64;

/// One consumer's copy of `pkt`, rewritten, protected and sent (or queued by its pacer).
#[allow(clippy::too_many_arguments)]
#[inline]
fn forward_to(
    consumers: &mut KeyMap<Box<crate::consumer::ConsumerState>>,
    transports: &mut KeyMap<Box<TransportState>>,
    ck: Key,
    pkt: &RtpPacket<'_>,
    encoding: usize,
    info: &PacketInfo,
    now: u64,
    scratch: &mut Vec<u8>,
    bus: &crate::events::EventBus,
    self_ref: &std::rc::Weak<std::cell::RefCell<WorkerState>>,
) {
    let Some(c) = consumers.get_mut(&ck) else { return };
    let ct = transports.get_mut(&c.transport);
    forward_with(c, ct.map(|t| &mut **t), pkt, encoding, info, now, scratch, bus, self_ref);
}

/// [`forward_to`] with the consumer and its transport (if still there) at hand.
#[allow(clippy::too_many_arguments)]
#[inline]
fn forward_with(
    c: &mut crate::consumer::ConsumerState,
    ct: Option<&mut TransportState>,
    pkt: &RtpPacket<'_>,
    encoding: usize,
    info: &PacketInfo,
    now: u64,
    scratch: &mut Vec<u8>,
    bus: &crate::events::EventBus,
    self_ref: &std::rc::Weak<std::cell::RefCell<WorkerState>>,
) {
    if !c.forward(pkt, encoding, info, now, scratch) {
        return;
    }
    if let Some(ct) = ct {
        send_forwarded(c, ct, scratch, info.key_frame, now, bus, self_ref);
    }
}

/// Sends consumer `c`'s copy `out` of a packet on its transport `ct` (traced if asked; queued
/// by the transport's pacer if it says so).
#[inline]
fn send_forwarded(
    c: &crate::consumer::ConsumerState,
    ct: &mut TransportState,
    out: &mut [u8],
    key_frame: bool,
    now: u64,
    bus: &crate::events::EventBus,
    self_ref: &std::rc::Weak<std::cell::RefCell<WorkerState>>,
) {
    if c.trace.any() {
        c.trace_rtp(bus, out, key_frame);
    }
    if ct.send_rtp(&c.id, out, c.twcc_ext_id, c.kind == crate::rtp_parameters::MediaKind::Audio, now) {
        spawn_pacer_drain(self_ref.clone(), c.transport);
    }
}

/// Packets whose fan-out waits for the end of the receive loop turn (see
/// `WorkerState::receive_turn`): their bytes back to back in `data`, reused turn after turn.
#[derive(Default)]
pub(crate) struct DeferredFanout {
    /// Set while a receive turn runs: `on_rtp` defers instead of fanning out.
    active: bool,
    data: Vec<u8>,
    entries: Vec<DeferredPacket>,
    /// The fan-out's consumers, reused turn after turn.
    jobs: Vec<FanoutJob>,
    /// A consumer's packets of the turn, padded for GSO before they are sent (reused).
    padded: PaddedJob,
}

/// A consumer's copies of a turn's packets, held until all are written so that they can be
/// padded into one GSO run before they leave (see [`crate::rtp::gso_padding`]): the bytes,
/// each copy followed by room for its padding, and per copy its start and whether it is of a
/// key frame, its length, and the padding planned for it.
#[derive(Default)]
struct PaddedJob {
    data: Vec<u8>,
    packets: Vec<(usize, bool)>,
    lens: Vec<usize>,
    pads: Vec<usize>,
}

impl PaddedJob {
    /// [`forward_with`] for each of `entries` (the consumer's share of the turn), with the
    /// copies padded to leave in as few GSO sends as they can.
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &mut self,
        c: &mut crate::consumer::ConsumerState,
        ct: Option<&mut TransportState>,
        entries: &[DeferredPacket],
        data: &[u8],
        now: u64,
        scratch: &mut Vec<u8>,
        bus: &crate::events::EventBus,
        self_ref: &std::rc::Weak<std::cell::RefCell<WorkerState>>,
    ) {
        self.data.clear();
        self.packets.clear();
        self.lens.clear();
        for e in entries {
            if !c.takes_encoding(e.encoding) {
                continue;
            }
            let Some(pkt) = RtpPacket::parse(&data[e.start..e.start + e.len]) else { continue };
            if !c.forward(&pkt, e.encoding, &e.info, now, scratch) {
                continue;
            }
            let start = self.data.len();
            self.data.extend_from_slice(scratch);
            self.packets.push((start, e.info.key_frame));
            self.lens.push(scratch.len());
            self.data.resize(self.data.len() + crate::rtp::gso_padding::max_padding(scratch.len()), 0);
        }
        let (packets, buf) = (&self.packets, &self.data);
        crate::rtp::gso_padding::plan(&self.lens, |k| crate::rtp::gso_padding::can_pad(buf[packets[k].0]), io::MAX_GSO_SEGMENTS, io::MAX_GSO_BYTES, &mut self.pads);
        let Some(ct) = ct else { return };
        for (k, &(start, key_frame)) in self.packets.iter().enumerate() {
            let pad = self.pads[k];
            let out = &mut self.data[start..start + self.lens[k] + pad];
            crate::rtp::gso_padding::apply(out, pad);
            c.bytes += pad as u64;
            send_forwarded(c, ct, out, key_frame, now, bus, self_ref);
        }
    }
}

/// Whether consumers' packets are padded into GSO runs: while this thread sends with GSO,
/// unless `LIBSFU_GSO_PADDING=0` (A/B measurements; peers that mishandle RTP padding).
fn gso_padding_on() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("LIBSFU_GSO_PADDING").is_none_or(|v| v != "0")) && io::gso_enabled()
}

/// One consumer's share of a deferred fan-out: its producer's packets `entries[first..end]`.
struct FanoutJob {
    transport: Key,
    consumer: Key,
    first: usize,
    end: usize,
}

struct DeferredPacket {
    producer: Key,
    encoding: usize,
    info: PacketInfo,
    start: usize,
    len: usize,
}

impl DeferredFanout {
    fn push(&mut self, producer: Key, encoding: usize, info: PacketInfo, pkt: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(pkt);
        self.entries.push(DeferredPacket { producer, encoding, info, start, len: pkt.len() });
    }

    fn clear(&mut self) {
        self.data.clear();
        self.entries.clear();
        self.jobs.clear();
    }
}

/// Schedules the drain of transport `tkey`'s pacer queue on the worker thread: the task sends
/// what is due, sleeps until the next packet is, and ends when the queue is empty.
pub(crate) fn spawn_pacer_drain(state: std::rc::Weak<std::cell::RefCell<WorkerState>>, tkey: Key) {
    tokio::task::spawn_local(async move {
        loop {
            let wait = {
                let Some(st) = state.upgrade() else { return };
                let mut s = st.borrow_mut();
                let now = s.now_ms();
                let die = s.die.clone();
                let mut wait = None;
                crate::worker::guarded(&die, || wait = s.transports.get_mut(&tkey).and_then(|t| t.drain_pacer(now)));
                wait
            };
            match wait {
                Some(ms) => tokio::time::sleep(std::time::Duration::from_millis(ms.max(1))).await,
                None => return,
            }
        }
    });
}
/// mediasoup's default `maxMessageSize` (SCTP and DirectTransport).
pub(crate) const DEFAULT_MAX_MESSAGE_SIZE: usize = 262_144;
/// Spacing of a transport's sender reports.
const SENDER_REPORT_INTERVAL_MS: u64 = 1000;

/// Sub-millisecond part of the arrival time: the engine clock is in ms, transport-cc wants µs.

/// Finds the producer of an incoming packet: SSRC table first, then MID, then RID — binding the
/// SSRC on a MID/RID match so later packets take the fast path.
fn find_producer(t: &mut TransportState, pkt: &RtpPacket<'_>) -> Option<Key> {
    let ssrc = pkt.ssrc() as u64;
    if let Some(k) = t.listener.ssrc.get(&ssrc) {
        return Some(*k);
    }
    let by_mid = (t.mid_ext_id != 0)
        .then(|| pkt.extension(t.mid_ext_id))
        .flatten()
        .and_then(|m| std::str::from_utf8(m).ok())
        .and_then(|m| t.listener.mid.get(m).copied());
    let found = by_mid.or_else(|| {
        (t.rid_ext_id != 0)
            .then(|| pkt.extension(t.rid_ext_id))
            .flatten()
            .and_then(|r| std::str::from_utf8(r).ok())
            .and_then(|r| t.listener.rid.get(r).copied())
    })?;
    t.listener.ssrc.insert(ssrc, found);
    Some(found)
}

/// What every transport handle offers: produce, consume, stats, dump, close.
#[derive(Clone)]
pub struct TransportBase {
    pub(crate) app_data: crate::AppData,
    pub(crate) worker: Arc<WorkerInner>,
    pub(crate) key: Key,
    pub(crate) id: Arc<str>,
    pub(crate) closed: Arc<AtomicBool>,
}

impl TransportBase {
    /// The transport's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The application's data (`appData`).
    pub fn app_data(&self) -> &crate::AppData {
        &self.app_data
    }

    /// Whether the transport is closed (directly or by a cascade).
    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.worker.is_closed()
    }

    /// Creates a producer: the remote sends media with these RTP parameters.
    pub async fn produce(&self, options: ProducerOptions) -> Result<Producer> {
        let key = self.key;
        let d = self.worker.call(move |st| st.produce(key, options)).await?;
        Ok(Producer::from_data(self.worker.clone(), d))
    }

    /// Callback twin of [`TransportBase::produce`]: returns at once and calls `done` with the
    /// result on the worker thread (see [`TransportBase::consume_then`]).
    pub fn produce_then(
        &self,
        options: impl FnOnce() -> Result<ProducerOptions> + Send + 'static,
        done: impl FnOnce(Result<Producer>) + Send + 'static,
    ) {
        let key = self.key;
        let worker = self.worker.clone();
        self.worker.call_then(move |st| st.produce(key, options()?), move |r| done(r.map(|d| Producer::from_data(worker, d))));
    }

    /// Blocking twin of [`TransportBase::produce`].
    pub fn produce_blocking(&self, options: ProducerOptions) -> Result<Producer> {
        let key = self.key;
        let d = self.worker.call_blocking(move |st| st.produce(key, options))?;
        Ok(Producer::from_data(self.worker.clone(), d))
    }

    /// Creates a consumer: the remote receives a router producer's media.
    pub async fn consume(&self, options: ConsumerOptions) -> Result<Consumer> {
        let key = self.key;
        let d = self.worker.call(move |st| st.consume(key, options)).await?;
        Ok(Consumer::from_data(self.worker.clone(), d))
    }

    /// Blocking twin of [`TransportBase::consume`].
    pub fn consume_blocking(&self, options: ConsumerOptions) -> Result<Consumer> {
        let key = self.key;
        let d = self.worker.call_blocking(move |st| st.consume(key, options))?;
        Ok(Consumer::from_data(self.worker.clone(), d))
    }

    /// Callback twin of [`TransportBase::consume`]: returns at once and calls `done` with the
    /// result on the worker thread (or with `WorkerClosed` if the worker never runs the
    /// request). Events the creation emits reach listeners before `done` runs. `done` must not
    /// block on this worker. `options` runs on the worker thread too (see
    /// [`crate::Router::create_webrtc_transport_then`]).
    pub fn consume_then(
        &self,
        options: impl FnOnce() -> Result<ConsumerOptions> + Send + 'static,
        done: impl FnOnce(Result<Consumer>) + Send + 'static,
    ) {
        let key = self.key;
        let worker = self.worker.clone();
        self.worker.call_then(move |st| st.consume(key, options()?), move |r| done(r.map(|d| Consumer::from_data(worker, d))));
    }

    /// Creates a data producer: the remote sends messages on an SCTP stream (or, on a
    /// DirectTransport, the application sends them with [`crate::DataProducer::send_blocking`]).
    pub fn produce_data_blocking(&self, options: crate::DataProducerOptions) -> Result<crate::DataProducer> {
        let key = self.key;
        let d = self.worker.call_blocking(move |st| st.create_data_producer(key, options))?;
        Ok(crate::DataProducer::from_data(self.worker.clone(), d))
    }

    /// Creates a data consumer: a router data producer's messages go to this transport's remote
    /// (or, on a DirectTransport, to the application as `message` events).
    pub fn consume_data_blocking(&self, options: crate::DataConsumerOptions) -> Result<crate::DataConsumer> {
        let key = self.key;
        let d = self.worker.call_blocking(move |st| st.create_data_consumer(key, options))?;
        Ok(crate::DataConsumer::from_data(self.worker.clone(), d))
    }

    /// mediasoup's `transport.getStats()`.
    pub fn get_stats_blocking(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.transport_stats(key))
    }

    /// Async twin of [`TransportBase::get_stats_blocking`].
    pub async fn get_stats(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call(move |st| st.transport_stats(key)).await
    }

    /// mediasoup's `setMaxOutgoingBitrate()` / `setMinOutgoingBitrate()`: bounds of what
    /// bandwidth estimation may report for this transport (bps; 0 for the default).
    pub fn set_outgoing_bitrate_bounds_blocking(&self, min: Option<u32>, max: Option<u32>) -> Result<()> {
        let key = self.key;
        self.worker.call_blocking(move |st| {
            let t = st.transports.get_mut(&key).ok_or_else(|| Error::InvalidState("transport closed".into()))?;
            let Some(b) = t.bwe.as_mut() else { return Err(Error::unsupported("no bandwidth estimation on this transport kind")) };
            let (cur_min, cur_max) = b.min_max();
            let min = min.map_or(cur_min, |m| if m == 0 { 30_000 } else { m });
            let max = max.map_or(cur_max, |m| if m == 0 { 10_000_000 } else { m });
            if max < min {
                return Err(Error::type_err(format!("invalid bitrate: maximum {max} below minimum {min}")));
            }
            b.set_min_max(min, max);
            Ok(())
        })
    }

    /// mediasoup's `setMaxIncomingBitrate()`: caps what the remote's producers may send on this
    /// transport, announced as REMB every second (0 removes the cap).
    pub fn set_max_incoming_bitrate_blocking(&self, bitrate: u32) -> Result<()> {
        let key = self.key;
        self.worker.call_blocking(move |st| {
            let now = st.now_ms();
            let t = st.transports.get_mut(&key).ok_or_else(|| Error::InvalidState("transport closed".into()))?;
            if !matches!(t.kind, TransportKind::WebRtc(_)) {
                return Err(Error::unsupported("setMaxIncomingBitrate() applies to WebRtcTransports"));
            }
            if let (Some(min), true) = (t.min_incoming_bitrate, bitrate > 0) {
                if bitrate < min {
                    return Err(Error::type_err(format!("invalid bitrate: maximum {bitrate} below the minimum incoming bitrate {min}")));
                }
            }
            t.max_incoming_bitrate = (bitrate > 0).then_some(bitrate.max(10_000));
            t.send_remb(&st.producers, now, true);
            Ok(())
        })
    }

    /// `setMinIncomingBitrate()`: the lowest estimate announced (REMB) to the remote's producers
    /// that use REMB; a transport-cc producer estimates by itself and is not affected (0 removes
    /// the floor).
    pub fn set_min_incoming_bitrate_blocking(&self, bitrate: u32) -> Result<()> {
        let key = self.key;
        self.worker.call_blocking(move |st| {
            let now = st.now_ms();
            let t = st.transports.get_mut(&key).ok_or_else(|| Error::InvalidState("transport closed".into()))?;
            if !matches!(t.kind, TransportKind::WebRtc(_)) {
                return Err(Error::unsupported("setMinIncomingBitrate() applies to WebRtcTransports"));
            }
            if let (Some(max), true) = (t.max_incoming_bitrate, bitrate > 0) {
                if bitrate > max {
                    return Err(Error::type_err(format!("invalid bitrate: minimum {bitrate} above the maximum incoming bitrate {max}")));
                }
            }
            t.min_incoming_bitrate = (bitrate > 0).then_some(bitrate);
            if t.uses_remb() {
                t.send_remb(&st.producers, now, true);
            }
            Ok(())
        })
    }

    /// mediasoup's `transport.enableTraceEvent(types)`: `probation`, `bwe`.
    pub fn enable_trace_event_blocking(&self, types: Vec<String>) -> Result<()> {
        let key = self.key;
        self.worker.call_blocking(move |st| {
            let types = TraceEventType::parse_list(&types, crate::trace::TRANSPORT_TYPES, "transport")?;
            st.transports.get_mut(&key).ok_or_else(|| Error::InvalidState("transport closed".into()))?.trace = crate::trace::TraceMask::from_types(&types);
            Ok(())
        })
    }

    /// mediasoup's `transport.dump()`.
    pub fn dump_blocking(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.transport_dump(key))
    }

    /// Async twin of [`TransportBase::dump_blocking`].
    pub async fn dump(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call(move |st| st.transport_dump(key)).await
    }

    /// Closes the transport with its producers and consumers. Idempotent; returns at once.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let key = self.key;
        self.worker.post(move |st| st.close_transport(key, CloseReason::Closed));
    }
}
