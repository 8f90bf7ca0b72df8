//! A worker's state driven from a benchmark on the calling thread (no worker thread, no channel,
//! no event loop): one router, one VP8 producer on a comedia PlainTransport and N consumers, each
//! on its own PlainTransport whose datagrams go to a sink (counted in the transport's stats as
//! sent, then dropped: no SRTP, no sendto). Packets go straight into [`WorkerState::on_rtp`] /
//! [`WorkerState::on_rtcp`], the functions the worker's receive loop calls. Exposed only as
//! `sfu_core::bench` for the criterion benches in `benches/`: not an API.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::json;

use super::plain::MemoryLink;
use super::TransportKind;
use crate::consumer::ConsumerOptions;
use crate::error::{from_json, Error, Result};
use crate::events::EventBus;
use crate::router::RouterOptions;
use crate::rtp_parameters::ConsumerLayers;
use crate::worker::{Key, WorkerSettings, WorkerState};

/// A router with one video producer fanned out to N consumers, fed by hand.
pub struct Fanout {
    state: Rc<RefCell<WorkerState>>,
    producer_transport: Key,
    producer: Key,
    consumer_transports: Vec<Key>,
    consumers: Vec<Key>,
    // Dropped after the state: its sockets and (never polled) receive tasks belong to them.
    _local: tokio::task::LocalSet,
    _rt: tokio::runtime::Runtime,
}

impl Fanout {
    /// A VP8 producer with `encodings` simulcast encodings (SSRC 1111, 1112, …; L1T3 when more
    /// than one) and `consumers` consumers with the router's capabilities (NACK, RTX), consumer
    /// `i` created paused when `paused(i)`.
    pub fn new(consumers: usize, encodings: usize, paused: impl Fn(usize) -> bool) -> Result<Self> {
        Self::build(consumers, encodings, paused, None)
    }

    /// [`Fanout::new`] whose consumer transports send real UDP datagrams to `sink` (connected
    /// as `transport.connect({ ip, port })` would): the receive turns' padding of a consumer's
    /// packets into GSO runs, the send batch and `sendmmsg` are on the path. `sink` need not
    /// read: what its buffer cannot take the kernel drops.
    pub fn new_udp(consumers: usize, encodings: usize, paused: impl Fn(usize) -> bool, sink: std::net::SocketAddr) -> Result<Self> {
        Self::build(consumers, encodings, paused, Some(sink))
    }

    fn build(consumers: usize, encodings: usize, paused: impl Fn(usize) -> bool, sink: Option<std::net::SocketAddr>) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
        let local = tokio::task::LocalSet::new();
        let (die, _) = tokio::sync::mpsc::unbounded_channel();
        let settings = WorkerSettings { max_transports: (consumers + 10) as u32, ..Default::default() };
        let state = Rc::new(RefCell::new(WorkerState::new("bench-worker".into(), settings, EventBus::default(), die)));
        WorkerState::set_self_ref(&state);
        // Transports are created inside the event loop (their sockets register with it).
        let (producer_transport, producer, consumer_transports, ckeys) = local.block_on(&rt, async {
            let mut st = state.borrow_mut();
            let codecs = from_json("mediaCodecs", json!([{ "kind": "video", "mimeType": "video/VP8", "clockRate": 90000 }]))?;
            st.create_router(RouterOptions { media_codecs: codecs, ..Default::default() })?;
            let router = *st.routers.keys().next().ok_or_else(|| Error::InvalidState("no router".into()))?;
            let caps = st.router(router)?.rtp_capabilities.clone();
            let plain = |st: &mut WorkerState, comedia: bool| -> Result<Key> {
                Ok(st.create_plain_transport(router, from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" }, "comedia": comedia }))?)?.key)
            };
            let pt = plain(&mut st, true)?;
            let encs: Vec<_> = (0..encodings)
                .map(|i| if encodings > 1 { json!({ "ssrc": 1111 + i, "scalabilityMode": "L1T3" }) } else { json!({ "ssrc": 1111 }) })
                .collect();
            let codec = json!({ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000,
                "rtcpFeedback": [{ "type": "nack" }, { "type": "nack", "parameter": "pli" }, { "type": "ccm", "parameter": "fir" }] });
            st.produce(pt, from_json("o", json!({ "kind": "video", "rtpParameters": { "codecs": [codec], "encodings": encs } }))?)?;
            let pk = st.transport(pt)?.producers[0];
            let pid = st.producers[&pk].id.clone();
            let (mut cts, mut cks) = (vec![], vec![]);
            for i in 0..consumers {
                let ct = plain(&mut st, sink.is_none())?;
                match sink {
                    Some(to) => {
                        let remote = super::plain::PlainTransportConnect { ip: Some(to.ip().to_string()), port: Some(to.port()), ..Default::default() };
                        st.plain_connect(ct, remote)?;
                    }
                    None => {
                        if let Some(TransportKind::Plain(p)) = st.transports.get_mut(&ct).map(|t| &mut t.kind) {
                            p.link = Some(MemoryLink { peer: std::sync::Weak::new(), peer_key: 0, from: ([127, 0, 0, 1], 9).into(), sink: true });
                        }
                    }
                }
                let o = ConsumerOptions {
                    producer_id: pid.clone(),
                    rtp_capabilities: caps.clone(),
                    paused: paused(i),
                    mid: None,
                    preferred_layers: None,
                    ignore_dtx: false,
                    enable_rtx: None,
                    pipe: false,
                    app_data: serde_json::Value::Null,
                };
                st.consume(ct, o)?;
                cks.push(st.transport(ct)?.consumers[0]);
                cts.push(ct);
            }
            Ok::<_, Error>((pt, pk, cts, cks))
        })?;
        Ok(Fanout { state, producer_transport, producer, consumer_transports, consumers: ckeys, _local: local, _rt: rt })
    }

    /// One RTP datagram received by the producer's transport (what its receive loop does after
    /// `recv_from`, minus the comedia/SRTP checks of `on_plain_datagram`).
    pub fn on_rtp(&self, data: &[u8]) {
        let mut st = self.state.borrow_mut();
        let now = st.now_ms();
        st.on_rtp(self.producer_transport, data, now);
    }

    /// RTP datagrams received by the producer's transport in one receive loop turn: the fan-out
    /// is deferred to the turn's end and done consumer by consumer, as the worker's receive
    /// loops do (see `WorkerState::receive_turn`).
    pub fn on_rtp_turn(&self, datagrams: &[Vec<u8>]) {
        let mut st = self.state.borrow_mut();
        let now = st.now_ms();
        let tkey = self.producer_transport;
        st.receive_turn(|st| {
            for d in datagrams {
                st.on_rtp(tkey, d, now);
            }
        });
    }

    /// One RTCP datagram received from consumer `i`'s remote (NACK, PLI, receiver report…).
    pub fn on_consumer_rtcp(&self, i: usize, data: &[u8]) {
        let mut st = self.state.borrow_mut();
        let now = st.now_ms();
        st.on_rtcp(self.consumer_transports[i], data, now);
    }

    /// Bytes the consumers' transports sent (to the sink) so far.
    pub fn bytes_sent(&self) -> u64 {
        let st = self.state.borrow();
        self.consumer_transports.iter().filter_map(|k| st.transports.get(k)).map(|t| t.stats.bytes_sent).sum()
    }

    /// Consumer `i`'s SSRC (what its remote's RTCP names).
    pub fn consumer_ssrc(&self, i: usize) -> u32 {
        self.state.borrow().consumers[&self.consumers[i]].ssrc
    }

    /// Sequence number of the last packet consumer `i` sent.
    pub fn consumer_last_seq(&self, i: usize) -> u16 {
        self.state.borrow().consumers[&self.consumers[i]].last_sent_seq()
    }

    /// Packets consumer `i` retransmitted (answers to NACKs) so far.
    pub fn consumer_retransmitted(&self, i: usize) -> u64 {
        self.state.borrow().consumers[&self.consumers[i]].packets_retransmitted
    }

    /// Packets consumer `i` forwarded so far (retransmissions not counted).
    pub fn consumer_packets(&self, i: usize) -> u64 {
        self.state.borrow().consumers[&self.consumers[i]].packets
    }

    /// `consumer.pause()` / `resume()` for consumer `i` (a resume asks the producer for a key
    /// frame, as the worker does).
    pub fn set_paused(&self, i: usize, paused: bool) -> Result<()> {
        self.state.borrow_mut().set_consumer_paused(self.consumers[i], paused)
    }

    /// How many consumers the producer's fan-out visits (its consumers not paused).
    pub fn fanout_consumers(&self) -> usize {
        self.state.borrow().producers[&self.producer].unpaused.len()
    }

    /// The producer encoding consumer `i` forwards now.
    pub fn consumer_encoding(&self, i: usize) -> Option<usize> {
        self.state.borrow().consumers[&self.consumers[i]].source_encoding
    }

    /// `consumer.setPreferredLayers({ spatialLayer })` for consumer `i`, followed by the layer
    /// choice the worker's tick makes (every encoding counted as active) and the key frame
    /// request it sends to the producer; the switch itself happens on the media path at the next
    /// key frame of the target encoding.
    pub fn set_preferred_spatial(&self, i: usize, spatial: u8) {
        let mut st = self.state.borrow_mut();
        let now = st.now_ms();
        let Some(c) = st.consumers.get_mut(&self.consumers[i]) else { return };
        c.preferred_layers = Some(ConsumerLayers { spatial_layer: spatial, temporal_layer: None });
        c.apply_preferred_layers();
        if let Some(e) = c.choose_layer(&[true; 8], now) {
            st.request_key_frame_on(self.producer, Some(e), now);
        }
    }
}
