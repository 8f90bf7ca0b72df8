//! A transport's SCTP side (data channels): the association over its DTLS session, the numbers
//! announced in `sctpParameters`, and the glue that turns association events into data producer
//! messages, data consumer events and `sctpstatechange`.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::TransportKind;
use crate::data::SctpStreamParameters;
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::sctp::{Ppid, Reliability, SctpAssociation, SctpEvent, SctpOptions, SctpRole, SctpState, SCTP_PORT};
use crate::worker::{Key, WorkerState};

/// mediasoup's `numSctpStreams`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct NumSctpStreams {
    /// Outgoing streams (default 1024).
    #[serde(rename = "OS", default = "default_streams")]
    pub os: u16,
    /// Incoming streams (default 1024).
    #[serde(rename = "MIS", default = "default_streams")]
    pub mis: u16,
}

fn default_streams() -> u16 {
    1024
}

impl Default for NumSctpStreams {
    fn default() -> Self {
        NumSctpStreams { os: 1024, mis: 1024 }
    }
}

/// SCTP options of a transport (`enableSctp`, `numSctpStreams`, `maxSctpMessageSize`,
/// `sctpSendBufferSize`), validated.
pub(crate) struct SctpConfig {
    pub(crate) streams: NumSctpStreams,
    pub(crate) max_message_size: usize,
    pub(crate) send_buffer_size: usize,
}

impl SctpConfig {
    pub(crate) fn from_options(streams: Option<Value>, max_message_size: Option<u32>, send_buffer_size: Option<u32>) -> Result<Self> {
        let streams: NumSctpStreams = match streams {
            Some(v) => crate::from_json("numSctpStreams", v)?,
            None => NumSctpStreams::default(),
        };
        if streams.os == 0 || streams.mis == 0 {
            return Err(Error::type_err("numSctpStreams.OS and numSctpStreams.MIS must be 1..=65535"));
        }
        let max = max_message_size.unwrap_or(262_144);
        if max == 0 {
            return Err(Error::type_err("maxSctpMessageSize must be greater than 0"));
        }
        let buf = send_buffer_size.unwrap_or(262_144);
        if buf == 0 {
            return Err(Error::type_err("sctpSendBufferSize must be greater than 0"));
        }
        Ok(SctpConfig { streams, max_message_size: max as usize, send_buffer_size: buf as usize })
    }
}

/// SCTP state of one transport.
pub(crate) struct SctpTransport {
    /// Outgoing streams (what our data consumers can use).
    pub(crate) os: u16,
    /// Incoming streams (what the remote's data producers can use).
    pub(crate) mis: u16,
    assoc: SctpAssociation,
}

impl SctpTransport {
    pub(crate) fn new(c: &SctpConfig, role: SctpRole, epoch: Instant) -> Self {
        let opts = SctpOptions { os: c.streams.os, mis: c.streams.mis, max_message_size: c.max_message_size, send_buffer_size: c.send_buffer_size, role };
        SctpTransport { os: c.streams.os, mis: c.streams.mis, assoc: SctpAssociation::new(opts, epoch) }
    }

    /// Makes this end initiate the association (before `start`).
    pub(crate) fn make_client(&mut self, epoch: Instant) {
        let mut opts = self.assoc.options().clone();
        opts.role = SctpRole::Client;
        self.assoc = SctpAssociation::new(opts, epoch);
    }

    /// mediasoup's `sctpParameters`.
    pub(crate) fn parameters(&self) -> Value {
        json!({ "port": SCTP_PORT, "OS": self.os, "MIS": self.mis, "maxMessageSize": self.assoc.options().max_message_size })
    }

    /// `new`, `connecting`, `connected`, `failed` or `closed`.
    pub(crate) fn state(&self) -> SctpState {
        self.assoc.state()
    }

    /// Streams our data consumers can send on: `OS` until connected, then also below the
    /// remote's `MIS`.
    pub(crate) fn outbound_streams(&self) -> u16 {
        self.assoc.outbound_streams()
    }

    /// Streams the remote may send on (our `MIS` until connected, then at most its `OS`).
    pub(crate) fn inbound_streams(&self) -> u16 {
        self.assoc.inbound_streams()
    }

    /// DATA chunks the remote sent on streams beyond what it was granted (discarded).
    pub(crate) fn invalid_stream_chunks(&self) -> u64 {
        self.assoc.invalid_stream_chunks()
    }

    /// The DTLS session is up: a client associates, a server waits for the INIT.
    pub(crate) fn start(&mut self, now: u64) {
        self.assoc.start(now);
    }

    /// One SCTP packet from the remote (a DTLS application-data record).
    pub(crate) fn handle_input(&mut self, now: u64, data: &[u8]) {
        self.assoc.handle_input(now, data);
    }

    /// Drives retransmission and other timers.
    pub(crate) fn handle_timeout(&mut self, now: u64) {
        if self.assoc.poll_timeout().is_some_and(|t| t <= now) {
            self.assoc.handle_timeout(now);
        }
    }

    /// Aborts the association (the transport closes).
    pub(crate) fn close(&mut self, now: u64) {
        self.assoc.close(now);
    }

    /// The next SCTP packet to send.
    pub(crate) fn poll_transmit(&mut self, now: u64) -> Option<bytes::Bytes> {
        self.assoc.poll_transmit(now)
    }

    /// Queues a message on `stream` with its reliability.
    pub(crate) fn send(&mut self, now: u64, stream: SctpStreamParameters, ppid: u32, data: &[u8]) -> std::result::Result<(), String> {
        let ppid = Ppid::from_u32(ppid).ok_or_else(|| format!("unsupported PPID {ppid} (51, 53, 56 or 57)"))?;
        let reliability = Reliability {
            ordered: stream.is_ordered(),
            max_packet_life_time: stream.max_packet_life_time.map(u32::from),
            max_retransmits: stream.max_retransmits.map(u32::from),
        };
        self.assoc.send(now, stream.stream_id, ppid, data, reliability).map_err(|e| e.to_string())
    }

    /// Bytes queued on an outgoing stream.
    pub(crate) fn buffered_amount(&self, stream: u16) -> usize {
        self.assoc.buffered_amount(stream)
    }

    /// Where `bufferedamountlow` fires for a stream.
    pub(crate) fn set_buffered_amount_low_threshold(&mut self, stream: u16, bytes: usize) {
        self.assoc.set_buffered_amount_low_threshold(stream, bytes);
    }

    /// Resets an outgoing stream (its data consumer closed).
    pub(crate) fn reset_stream(&mut self, now: u64, stream: u16) {
        self.assoc.reset_stream(now, stream);
    }
}

impl WorkerState {
    /// Moves a transport's SCTP association along: its packets into DTLS, its events to data
    /// producers and consumers. Call after anything that may have fed or queued into it.
    pub(crate) fn sctp_pump(&mut self, tkey: Key, now: u64) {
        let mut events = vec![];
        let id = {
            let Some(t) = self.transports.get_mut(&tkey) else { return };
            let Some(s) = t.sctp.as_mut() else { return };
            match &mut t.kind {
                TransportKind::WebRtc(w) => {
                    while let Some(p) = s.assoc.poll_transmit(now) {
                        if let Err(e) = w.dtls.send_application_data(now, &p) {
                            tracing::debug!("SCTP packet not sent: {e}");
                        }
                    }
                    w.flush_dtls(None);
                }
                // Pipes carry SCTP straight over UDP, next to RTP.
                TransportKind::Plain(p) => {
                    while let Some(pkt) = s.assoc.poll_transmit(now) {
                        p.send_raw(&pkt);
                    }
                }
                TransportKind::Direct(_) => {}
            }
            while let Some(e) = s.assoc.poll_event() {
                events.push(e);
            }
            t.id.clone()
        };
        for e in events {
            match e {
                SctpEvent::StateChange(s) => {
                    if let Some(TransportKind::WebRtc(w)) = self.transports.get(&tkey).map(|t| &t.kind) {
                        w.shared.lock().sctp_state = Some(s);
                    }
                    self.bus.emit(&id, EventKind::SctpStateChange { sctp_state: s.as_str().to_owned() });
                }
                SctpEvent::Message { stream_id, ppid, data } => {
                    let dp = self.transports.get(&tkey).and_then(|t| {
                        t.data_producers.iter().copied().find(|k| self.data_producers.get(k).and_then(|d| d.sctp_stream_parameters).is_some_and(|p| p.stream_id == stream_id))
                    });
                    match dp {
                        Some(dp) => self.on_data_message(dp, ppid.as_u32(), &data, None, None),
                        None => tracing::debug!(transport = %id, stream_id, "SCTP message on a stream without DataProducer dropped"),
                    }
                }
                SctpEvent::BufferedAmountLow { stream_id, buffered_amount } => {
                    if let Some(c) = self.data_consumer_on_stream(tkey, stream_id) {
                        self.bus.emit(&c, EventKind::BufferedAmountLow { buffered_amount });
                    }
                }
                SctpEvent::SendBufferFull { stream_id } => {
                    if let Some(c) = self.data_consumer_on_stream(tkey, stream_id) {
                        self.bus.emit(&c, EventKind::SctpSendBufferFull);
                    }
                }
                SctpEvent::StreamReset { stream_id } => {
                    tracing::debug!(transport = %id, stream_id, "the remote reset an SCTP stream");
                }
            }
        }
    }

    /// Id of the data consumer sending on `stream_id` of transport `tkey`.
    fn data_consumer_on_stream(&self, tkey: Key, stream_id: u16) -> Option<String> {
        let t = self.transports.get(&tkey)?;
        t.data_consumers
            .iter()
            .filter_map(|k| self.data_consumers.get(k))
            .find(|c| c.sctp_stream_parameters.is_some_and(|p| p.stream_id == stream_id))
            .map(|c| c.id.clone())
    }
}
