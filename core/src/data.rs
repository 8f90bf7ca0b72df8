//! Data producers and consumers (mediasoup's DataProducer / DataConsumer): messages a transport's
//! remote sends on an SCTP stream — or the application sends on a DirectTransport — routed to the
//! data consumers of other transports, with pause/resume, subchannels and size limits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::events::{CloseReason, EventKind, ObjectKind};
use crate::ids::new_uuid;
use crate::producer::unix_ms;
use crate::transport::TransportKind;
use crate::worker::{Key, WorkerInner, WorkerState};

/// WebRTC PPIDs (RFC 8831 §8).
pub mod ppid {
    /// UTF-8 text.
    pub const STRING: u32 = 51;
    /// Binary.
    pub const BINARY: u32 = 53;
    /// An empty string (sent as one byte).
    pub const STRING_EMPTY: u32 = 56;
    /// An empty binary message (sent as one byte).
    pub const BINARY_EMPTY: u32 = 57;
}

/// mediasoup's `sctpStreamParameters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SctpStreamParameters {
    /// SCTP stream id.
    pub stream_id: u16,
    /// Ordered delivery (default: true unless a partial-reliability limit is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered: Option<bool>,
    /// Partial reliability: give up on a message after this many ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_packet_life_time: Option<u16>,
    /// Partial reliability: give up on a message after this many retransmissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retransmits: Option<u16>,
}

impl SctpStreamParameters {
    /// mediasoup's validation: partial reliability takes one limit and is unordered; `ordered`
    /// defaults accordingly.
    pub(crate) fn validate(mut self) -> Result<Self> {
        if self.max_packet_life_time.is_some() && self.max_retransmits.is_some() {
            return Err(Error::type_err("cannot provide both maxPacketLifeTime and maxRetransmits"));
        }
        let partial = self.max_packet_life_time.is_some() || self.max_retransmits.is_some();
        match self.ordered {
            Some(true) if partial => return Err(Error::type_err("cannot be ordered with maxPacketLifeTime or maxRetransmits")),
            None => self.ordered = Some(!partial),
            _ => {}
        }
        Ok(self)
    }

    /// Whether messages are delivered in order.
    pub fn is_ordered(&self) -> bool {
        self.ordered.unwrap_or(true)
    }
}

/// `sctp` (over an SCTP association) or `direct` (a DirectTransport).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// SCTP stream of a WebRTC/plain/pipe transport.
    Sctp,
    /// A DirectTransport: messages to and from the application.
    Direct,
}

/// Options of `transport.produceData()`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataProducerOptions {
    /// A specific id (pipe data producers keep their source's id).
    #[serde(default)]
    pub id: Option<String>,
    /// The SCTP stream the remote sends on (required except on a DirectTransport).
    #[serde(default)]
    pub sctp_stream_parameters: Option<SctpStreamParameters>,
    /// The data channel's label.
    #[serde(default)]
    pub label: String,
    /// The data channel's sub-protocol.
    #[serde(default)]
    pub protocol: String,
    /// Start paused.
    #[serde(default)]
    pub paused: bool,
    /// The application's own data, kept on the handle (`appData`).
    #[serde(default, skip_serializing)]
    pub app_data: Value,
}

/// Options of `transport.consumeData()`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataConsumerOptions {
    /// The data producer to consume.
    pub data_producer_id: String,
    /// Override the producer's ordering (SCTP only).
    #[serde(default)]
    pub ordered: Option<bool>,
    /// Override the producer's partial reliability (SCTP only).
    #[serde(default)]
    pub max_packet_life_time: Option<u16>,
    /// Override the producer's partial reliability (SCTP only).
    #[serde(default)]
    pub max_retransmits: Option<u16>,
    /// Start paused.
    #[serde(default)]
    pub paused: bool,
    /// Subchannels this consumer receives (messages sent to other subchannels skip it).
    #[serde(default)]
    pub subchannels: Option<Vec<u16>>,
    /// The application's own data, kept on the handle (`appData`).
    #[serde(default, skip_serializing)]
    pub app_data: Value,
}

pub(crate) struct DataProducerState {
    pub(crate) id: String,
    pub(crate) transport: Key,
    pub(crate) router: Key,
    pub(crate) typ: DataType,
    pub(crate) sctp_stream_parameters: Option<SctpStreamParameters>,
    pub(crate) label: String,
    pub(crate) protocol: String,
    pub(crate) paused: bool,
    pub(crate) consumers: Vec<Key>,
    pub(crate) messages_received: u64,
    pub(crate) bytes_received: u64,
    flags: Arc<DataFlags>,
}

pub(crate) struct DataConsumerState {
    pub(crate) id: String,
    pub(crate) transport: Key,
    pub(crate) data_producer: Key,
    pub(crate) typ: DataType,
    pub(crate) sctp_stream_parameters: Option<SctpStreamParameters>,
    pub(crate) label: String,
    pub(crate) protocol: String,
    pub(crate) paused: bool,
    pub(crate) data_producer_paused: bool,
    pub(crate) subchannels: Vec<u16>,
    pub(crate) messages_sent: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) buffered_amount_low_threshold: usize,
    flags: Arc<DataFlags>,
}

/// State a handle reads without a round trip.
#[derive(Default)]
pub(crate) struct DataFlags {
    closed: AtomicBool,
    paused: AtomicBool,
    data_producer_paused: AtomicBool,
}

impl DataConsumerState {
    /// Whether a message sent to `subchannels` (with `required`) reaches this consumer.
    fn wants(&self, subchannels: Option<&[u16]>, required: Option<u16>) -> bool {
        if required.is_some_and(|r| !self.subchannels.contains(&r)) {
            return false;
        }
        match subchannels {
            Some(list) => list.iter().any(|s| self.subchannels.contains(s)),
            None => true,
        }
    }

    fn stats(&self, buffered_amount: usize) -> Value {
        json!([{
            "type": "data-consumer",
            "timestamp": unix_ms(),
            "label": self.label,
            "protocol": self.protocol,
            "messagesSent": self.messages_sent,
            "bytesSent": self.bytes_sent,
            "bufferedAmount": buffered_amount,
        }])
    }
}

/// What a new data producer's handle starts with.
pub(crate) struct DataProducerData {
    app_data: Value,
    key: Key,
    id: String,
    typ: DataType,
    sctp_stream_parameters: Option<SctpStreamParameters>,
    label: String,
    protocol: String,
    flags: Arc<DataFlags>,
}

/// What a new data consumer's handle starts with.
pub(crate) struct DataConsumerData {
    app_data: Value,
    key: Key,
    id: String,
    data_producer_id: String,
    typ: DataType,
    sctp_stream_parameters: Option<SctpStreamParameters>,
    label: String,
    protocol: String,
    flags: Arc<DataFlags>,
}

impl WorkerState {
    pub(crate) fn create_data_producer(&mut self, tkey: Key, o: DataProducerOptions) -> Result<DataProducerData> {
        self.check_per_transport_limit(tkey, crate::transport::Held::DataProducers)?;
        let t = self.transport(tkey)?;
        let router = t.router;
        let direct = matches!(t.kind, TransportKind::Direct(_));
        let (typ, sctp) = if direct {
            if o.sctp_stream_parameters.is_some() {
                tracing::warn!("produceData() | sctpStreamParameters are ignored when producing data on a DirectTransport");
            }
            (DataType::Direct, None)
        } else {
            let p = o.sctp_stream_parameters.ok_or_else(|| Error::type_err("missing sctpStreamParameters"))?.validate()?;
            let sctp = t.sctp.as_ref().ok_or_else(|| Error::type_err("SCTP not enabled in this transport (enableSctp)"))?;
            if p.stream_id >= sctp.mis {
                return Err(Error::type_err(format!("sctpStreamParameters.streamId {} out of range (MIS is {})", p.stream_id, sctp.mis)));
            }
            // Once connected, the remote sends on fewer streams when its OS is below our MIS:
            // DATA on the others is discarded, so a producer there would never get a message.
            let inbound = sctp.inbound_streams().min(sctp.mis);
            if p.stream_id >= inbound {
                return Err(Error::type_err(format!(
                    "sctpStreamParameters.streamId {} out of range (the remote sends on {inbound} streams: its OS is below our MIS)",
                    p.stream_id
                )));
            }
            let taken = t.data_producers.iter().filter_map(|k| self.data_producers.get(k)).any(|d| d.sctp_stream_parameters.map(|s| s.stream_id) == Some(p.stream_id));
            if taken {
                return Err(Error::InvalidState(format!("sctpStreamParameters.streamId {} already in use", p.stream_id)));
            }
            (DataType::Sctp, Some(p))
        };
        let id = match o.id {
            Some(id) => {
                if self.router(router)?.data_producers.contains_key(&id) {
                    return Err(Error::InvalidState(format!("a DataProducer with same id \"{id}\" already exists")));
                }
                id
            }
            None => new_uuid(),
        };
        let flags = Arc::new(DataFlags::default());
        flags.paused.store(o.paused, Ordering::Release);
        let key = self.next_key();
        self.data_producers.insert(
            key,
            DataProducerState {
                id: id.clone(),
                transport: tkey,
                router,
                typ,
                sctp_stream_parameters: sctp,
                label: o.label.clone(),
                protocol: o.protocol.clone(),
                paused: o.paused,
                consumers: vec![],
                messages_received: 0,
                bytes_received: 0,
                flags: flags.clone(),
            },
        );
        self.transport_mut(tkey)?.data_producers.push(key);
        if let Some(r) = self.routers.get_mut(&router) {
            r.data_producers.insert(id.clone(), key);
        }
        Ok(DataProducerData { app_data: o.app_data, key, id, typ, sctp_stream_parameters: sctp, label: o.label, protocol: o.protocol, flags })
    }

    pub(crate) fn create_data_consumer(&mut self, tkey: Key, o: DataConsumerOptions) -> Result<DataConsumerData> {
        self.check_per_transport_limit(tkey, crate::transport::Held::DataConsumers)?;
        let t = self.transport(tkey)?;
        let router = t.router;
        let dpkey = *self
            .router(router)?
            .data_producers
            .get(&o.data_producer_id)
            .ok_or_else(|| Error::NotFound(format!("DataProducer with id \"{}\" not found", o.data_producer_id)))?;
        let dp = &self.data_producers[&dpkey];
        let (typ, sctp) = if matches!(t.kind, TransportKind::Direct(_)) {
            (DataType::Direct, None)
        } else {
            let sctp = t.sctp.as_ref().ok_or_else(|| Error::type_err("SCTP not enabled in this transport (enableSctp)"))?;
            // The producer's reliability unless overridden; a direct producer's messages are reliable.
            let mut p = dp.sctp_stream_parameters.unwrap_or(SctpStreamParameters { stream_id: 0, ordered: Some(true), max_packet_life_time: None, max_retransmits: None });
            if o.ordered.is_some() || o.max_packet_life_time.is_some() || o.max_retransmits.is_some() {
                p.ordered = o.ordered;
                p.max_packet_life_time = o.max_packet_life_time;
                p.max_retransmits = o.max_retransmits;
            }
            let used: Vec<u16> = t.data_consumers.iter().filter_map(|k| self.data_consumers.get(k)).filter_map(|c| c.sctp_stream_parameters.map(|s| s.stream_id)).collect();
            // Once connected, only the streams the remote accepts (its MIS may be below our OS).
            let os = sctp.outbound_streams().min(sctp.os);
            p.stream_id = (0..os).find(|s| !used.contains(s)).ok_or_else(|| {
                Error::InvalidState(if os < sctp.os {
                    format!("no free SCTP stream id (the remote accepts {os} streams, below numSctpStreams.OS)")
                } else {
                    "no free SCTP stream id (numSctpStreams.OS exhausted)".into()
                })
            })?;
            (DataType::Sctp, Some(p.validate()?))
        };
        let (label, protocol, dp_paused, dp_id) = (dp.label.clone(), dp.protocol.clone(), dp.paused, dp.id.clone());
        let flags = Arc::new(DataFlags::default());
        flags.paused.store(o.paused, Ordering::Release);
        flags.data_producer_paused.store(dp_paused, Ordering::Release);
        let key = self.next_key();
        let id = new_uuid();
        self.data_consumers.insert(
            key,
            DataConsumerState {
                id: id.clone(),
                transport: tkey,
                data_producer: dpkey,
                typ,
                sctp_stream_parameters: sctp,
                label: label.clone(),
                protocol: protocol.clone(),
                paused: o.paused,
                data_producer_paused: dp_paused,
                subchannels: o.subchannels.unwrap_or_default(),
                messages_sent: 0,
                bytes_sent: 0,
                buffered_amount_low_threshold: 0,
                flags: flags.clone(),
            },
        );
        self.transport_mut(tkey)?.data_consumers.push(key);
        if let Some(dp) = self.data_producers.get_mut(&dpkey) {
            dp.consumers.push(key);
        }
        Ok(DataConsumerData { app_data: o.app_data, key, id, data_producer_id: dp_id, typ, sctp_stream_parameters: sctp, label, protocol, flags })
    }

    pub(crate) fn close_data_producer(&mut self, key: Key, reason: CloseReason) {
        let Some(dp) = self.data_producers.remove(&key) else { return };
        for c in &dp.consumers {
            self.close_data_consumer(*c, CloseReason::DataProducerClosed);
        }
        if let Some(t) = self.transports.get_mut(&dp.transport) {
            t.data_producers.retain(|k| *k != key);
        }
        if let Some(r) = self.routers.get_mut(&dp.router) {
            r.data_producers.remove(&dp.id);
        }
        dp.flags.closed.store(true, Ordering::Release);
        self.bus.emit(&dp.id, EventKind::Closed { object: ObjectKind::DataProducer, reason });
    }

    pub(crate) fn close_data_consumer(&mut self, key: Key, reason: CloseReason) {
        let Some(c) = self.data_consumers.remove(&key) else { return };
        if let Some(dp) = self.data_producers.get_mut(&c.data_producer) {
            dp.consumers.retain(|k| *k != key);
        }
        let now = self.now_ms();
        if let Some(t) = self.transports.get_mut(&c.transport) {
            t.data_consumers.retain(|k| *k != key);
            if let (Some(s), Some(p)) = (t.sctp.as_mut(), c.sctp_stream_parameters) {
                s.reset_stream(now, p.stream_id);
            }
        }
        c.flags.closed.store(true, Ordering::Release);
        self.bus.emit(&c.id, EventKind::Closed { object: ObjectKind::DataConsumer, reason });
        self.sctp_pump(c.transport, now);
    }

    /// A message from data producer `key` (its remote, or the application on a DirectTransport):
    /// counted, then delivered to every data consumer that wants it.
    pub(crate) fn on_data_message(&mut self, key: Key, ppid: u32, data: &[u8], subchannels: Option<&[u16]>, required: Option<u16>) {
        let now = self.now_ms();
        let Some(dp) = self.data_producers.get_mut(&key) else { return };
        dp.messages_received += 1;
        dp.bytes_received += data.len() as u64;
        if dp.paused {
            return;
        }
        let mut sent_on: Vec<Key> = vec![];
        let WorkerState { data_consumers, transports, bus, .. } = self;
        for ck in &dp.consumers {
            let Some(c) = data_consumers.get_mut(ck) else { continue };
            if c.paused || c.data_producer_paused || !c.wants(subchannels, required) {
                continue;
            }
            let Some(t) = transports.get_mut(&c.transport) else { continue };
            if data.len() > t.max_message_size {
                tracing::warn!(data_consumer = %c.id, size = data.len(), max = t.max_message_size, "message larger than the consumer transport's maxMessageSize dropped");
                continue;
            }
            match (&mut t.kind, c.sctp_stream_parameters) {
                (TransportKind::Direct(_), _) => bus.emit(&c.id, EventKind::Message { ppid, message: data.to_vec() }),
                (_, Some(p)) => {
                    let Some(sctp) = t.sctp.as_mut() else { continue };
                    if !sent_on.contains(&c.transport) {
                        sent_on.push(c.transport);
                    }
                    // (A full send buffer is reported by the association as `sctpsendbufferfull`.)
                    if let Err(e) = sctp.send(now, p, ppid, data) {
                        tracing::debug!(data_consumer = %c.id, "SCTP send failed: {e}");
                        continue;
                    }
                }
                _ => continue,
            }
            c.messages_sent += 1;
            c.bytes_sent += data.len() as u64;
        }
        for t in sent_on {
            self.sctp_pump(t, now);
        }
    }

    fn data_producer_send(&mut self, key: Key, ppid: u32, data: Vec<u8>, subchannels: Option<Vec<u16>>, required: Option<u16>) -> Result<()> {
        let dp = self.data_producers.get(&key).ok_or_else(|| Error::InvalidState("DataProducer closed".into()))?;
        if dp.typ != DataType::Direct {
            return Err(Error::unsupported("send() is only available on DataProducers of a DirectTransport (type 'direct')"));
        }
        let max = self.transports.get(&dp.transport).map_or(usize::MAX, |t| t.max_message_size);
        if data.len() > max {
            return Err(Error::type_err(format!("message too big: {} bytes, the DirectTransport's maxMessageSize is {max}", data.len())));
        }
        self.on_data_message(key, ppid, &data, subchannels.as_deref(), required);
        Ok(())
    }

    fn set_data_producer_paused(&mut self, key: Key, paused: bool) -> Result<()> {
        let dp = self.data_producers.get_mut(&key).ok_or_else(|| Error::InvalidState("DataProducer closed".into()))?;
        let was = dp.paused;
        dp.paused = paused;
        dp.flags.paused.store(paused, Ordering::Release);
        if was == paused {
            return Ok(());
        }
        for ck in dp.consumers.clone() {
            if let Some(c) = self.data_consumers.get_mut(&ck) {
                c.data_producer_paused = paused;
                c.flags.data_producer_paused.store(paused, Ordering::Release);
                let ev = if paused { EventKind::DataProducerPause } else { EventKind::DataProducerResume };
                let id = c.id.clone();
                self.bus.emit(&id, ev);
            }
        }
        Ok(())
    }

    fn data_consumer_mut(&mut self, key: Key) -> Result<&mut DataConsumerState> {
        self.data_consumers.get_mut(&key).ok_or_else(|| Error::InvalidState("DataConsumer closed".into()))
    }

    fn data_consumer_buffered_amount(&self, key: Key) -> Result<usize> {
        let c = self.data_consumers.get(&key).ok_or_else(|| Error::InvalidState("DataConsumer closed".into()))?;
        let t = self.transports.get(&c.transport);
        Ok(match (t.and_then(|t| t.sctp.as_ref()), c.sctp_stream_parameters) {
            (Some(s), Some(p)) => s.buffered_amount(p.stream_id),
            _ => 0,
        })
    }

    fn set_buffered_amount_low_threshold(&mut self, key: Key, threshold: usize) -> Result<()> {
        let c = self.data_consumer_mut(key)?;
        c.buffered_amount_low_threshold = threshold;
        let (tk, p) = (c.transport, c.sctp_stream_parameters);
        if let (Some(s), Some(p)) = (self.transports.get_mut(&tk).and_then(|t| t.sctp.as_mut()), p) {
            s.set_buffered_amount_low_threshold(p.stream_id, threshold);
        }
        let now = self.now_ms();
        self.sctp_pump(tk, now);
        Ok(())
    }

    /// `dataConsumer.send()`: a message straight to this SCTP data consumer's remote.
    fn data_consumer_send(&mut self, key: Key, ppid: u32, data: Vec<u8>) -> Result<()> {
        let c = self.data_consumers.get(&key).ok_or_else(|| Error::InvalidState("DataConsumer closed".into()))?;
        let Some(p) = c.sctp_stream_parameters else {
            return Err(Error::unsupported("send() is only available on DataConsumers of type 'sctp'"));
        };
        let tk = c.transport;
        let now = self.now_ms();
        let t = self.transport_mut(tk)?;
        if data.len() > t.max_message_size {
            return Err(Error::type_err(format!("message too big: {} bytes, maxMessageSize is {}", data.len(), t.max_message_size)));
        }
        let sctp = t.sctp.as_mut().ok_or_else(|| Error::InvalidState("SCTP not enabled".into()))?;
        let sent = sctp.send(now, p, ppid, &data);
        self.sctp_pump(tk, now);
        sent.map_err(|e| Error::InvalidState(format!("SCTP send failed: {e}")))?;
        let c = self.data_consumer_mut(key)?;
        c.messages_sent += 1;
        c.bytes_sent += data.len() as u64;
        Ok(())
    }

    fn data_producer_dump(&self, key: Key) -> Result<Value> {
        let dp = self.data_producers.get(&key).ok_or_else(|| Error::InvalidState("DataProducer closed".into()))?;
        let mut v = json!({ "id": dp.id, "type": dp.typ, "label": dp.label, "protocol": dp.protocol, "paused": dp.paused });
        if let Some(p) = dp.sctp_stream_parameters {
            v["sctpStreamParameters"] = json!(p);
        }
        Ok(v)
    }

    fn data_producer_stats(&self, key: Key) -> Result<Value> {
        let dp = self.data_producers.get(&key).ok_or_else(|| Error::InvalidState("DataProducer closed".into()))?;
        Ok(json!([{
            "type": "data-producer",
            "timestamp": unix_ms(),
            "label": dp.label,
            "protocol": dp.protocol,
            "messagesReceived": dp.messages_received,
            "bytesReceived": dp.bytes_received,
        }]))
    }

    fn data_consumer_dump(&self, key: Key) -> Result<Value> {
        let c = self.data_consumers.get(&key).ok_or_else(|| Error::InvalidState("DataConsumer closed".into()))?;
        let dp_id = self.data_producers.get(&c.data_producer).map(|d| d.id.clone());
        let mut v = json!({
            "id": c.id,
            "dataProducerId": dp_id,
            "type": c.typ,
            "label": c.label,
            "protocol": c.protocol,
            "paused": c.paused,
            "dataProducerPaused": c.data_producer_paused,
            "subchannels": c.subchannels,
            "bufferedAmountLowThreshold": c.buffered_amount_low_threshold,
        });
        if let Some(p) = c.sctp_stream_parameters {
            v["sctpStreamParameters"] = json!(p);
        }
        Ok(v)
    }
}

/// A data producer handle.
#[derive(Clone)]
pub struct DataProducer {
    app_data: crate::AppData,
    worker: Arc<WorkerInner>,
    key: Key,
    id: Arc<str>,
    typ: DataType,
    sctp_stream_parameters: Option<SctpStreamParameters>,
    label: Arc<str>,
    protocol: Arc<str>,
    flags: Arc<DataFlags>,
}

impl DataProducer {
    pub(crate) fn from_data(worker: Arc<WorkerInner>, d: DataProducerData) -> Self {
        DataProducer {
            app_data: crate::AppData::new(d.app_data),
            worker,
            key: d.key,
            id: d.id.into(),
            typ: d.typ,
            sctp_stream_parameters: d.sctp_stream_parameters,
            label: d.label.into(),
            protocol: d.protocol.into(),
            flags: d.flags,
        }
    }
    /// The application's data (`appData`).
    pub fn app_data(&self) -> &crate::AppData {
        &self.app_data
    }
    /// The data producer's id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// `sctp` or `direct`.
    pub fn data_type(&self) -> DataType {
        self.typ
    }
    /// The SCTP stream (type `sctp`).
    pub fn sctp_stream_parameters(&self) -> Option<SctpStreamParameters> {
        self.sctp_stream_parameters
    }
    /// The data channel's label.
    pub fn label(&self) -> &str {
        &self.label
    }
    /// The data channel's sub-protocol.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }
    /// Whether it is paused.
    pub fn paused(&self) -> bool {
        self.flags.paused.load(Ordering::Acquire)
    }
    /// Whether it is closed (directly or by a cascade).
    pub fn closed(&self) -> bool {
        self.flags.closed.load(Ordering::Acquire) || self.worker.is_closed()
    }
    fn call<T: Send + 'static>(&self, f: impl FnOnce(&mut WorkerState, Key) -> Result<T> + Send + 'static) -> Result<T> {
        let key = self.key;
        self.worker.call_blocking(move |st| f(st, key))
    }
    /// Sends a message (type `direct` only) to the data consumers: `ppid` 51 text, 53 binary,
    /// 56/57 empty; only consumers subscribed to one of `subchannels` (when given) and to
    /// `required_subchannel` (when given) get it. Returns once the engine routed it.
    pub fn send_blocking(&self, ppid: u32, message: Vec<u8>, subchannels: Option<Vec<u16>>, required_subchannel: Option<u16>) -> Result<()> {
        self.call(move |st, k| st.data_producer_send(k, ppid, message, subchannels, required_subchannel))
    }
    /// Stops routing messages; data consumers get `dataproducerpause`.
    pub fn pause_blocking(&self) -> Result<()> {
        self.call(|st, k| st.set_data_producer_paused(k, true))
    }
    /// Routes messages again; data consumers get `dataproducerresume`.
    pub fn resume_blocking(&self) -> Result<()> {
        self.call(|st, k| st.set_data_producer_paused(k, false))
    }
    /// mediasoup's `dataProducer.getStats()`.
    pub fn get_stats_blocking(&self) -> Result<Value> {
        self.call(|st, k| st.data_producer_stats(k))
    }
    /// mediasoup's `dataProducer.dump()`.
    pub fn dump_blocking(&self) -> Result<Value> {
        self.call(|st, k| st.data_producer_dump(k))
    }
    /// Closes it; its data consumers close with `dataproducerclose`. Idempotent.
    pub fn close(&self) {
        if self.flags.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let key = self.key;
        self.worker.post(move |st| st.close_data_producer(key, CloseReason::Closed));
    }
}

/// A data consumer handle.
#[derive(Clone)]
pub struct DataConsumer {
    app_data: crate::AppData,
    worker: Arc<WorkerInner>,
    key: Key,
    id: Arc<str>,
    data_producer_id: Arc<str>,
    typ: DataType,
    sctp_stream_parameters: Option<SctpStreamParameters>,
    label: Arc<str>,
    protocol: Arc<str>,
    flags: Arc<DataFlags>,
}

impl DataConsumer {
    pub(crate) fn from_data(worker: Arc<WorkerInner>, d: DataConsumerData) -> Self {
        DataConsumer {
            app_data: crate::AppData::new(d.app_data),
            worker,
            key: d.key,
            id: d.id.into(),
            data_producer_id: d.data_producer_id.into(),
            typ: d.typ,
            sctp_stream_parameters: d.sctp_stream_parameters,
            label: d.label.into(),
            protocol: d.protocol.into(),
            flags: d.flags,
        }
    }
    /// The application's data (`appData`).
    pub fn app_data(&self) -> &crate::AppData {
        &self.app_data
    }
    /// The data consumer's id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The data producer it consumes.
    pub fn data_producer_id(&self) -> &str {
        &self.data_producer_id
    }
    /// `sctp` or `direct`.
    pub fn data_type(&self) -> DataType {
        self.typ
    }
    /// The SCTP stream it sends on (type `sctp`).
    pub fn sctp_stream_parameters(&self) -> Option<SctpStreamParameters> {
        self.sctp_stream_parameters
    }
    /// The data channel's label.
    pub fn label(&self) -> &str {
        &self.label
    }
    /// The data channel's sub-protocol.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }
    /// Whether it is paused.
    pub fn paused(&self) -> bool {
        self.flags.paused.load(Ordering::Acquire)
    }
    /// Whether its data producer is paused.
    pub fn data_producer_paused(&self) -> bool {
        self.flags.data_producer_paused.load(Ordering::Acquire)
    }
    /// Whether it is closed (directly or by a cascade).
    pub fn closed(&self) -> bool {
        self.flags.closed.load(Ordering::Acquire) || self.worker.is_closed()
    }
    fn call<T: Send + 'static>(&self, f: impl FnOnce(&mut WorkerState, Key) -> Result<T> + Send + 'static) -> Result<T> {
        let key = self.key;
        self.worker.call_blocking(move |st| f(st, key))
    }
    fn set_paused(&self, paused: bool) -> Result<()> {
        let flags = self.flags.clone();
        self.call(move |st, k| {
            let c = st.data_consumer_mut(k)?;
            c.paused = paused;
            flags.paused.store(paused, Ordering::Release);
            Ok(())
        })
    }
    /// Stops delivering messages.
    pub fn pause_blocking(&self) -> Result<()> {
        self.set_paused(true)
    }
    /// Delivers messages again.
    pub fn resume_blocking(&self) -> Result<()> {
        self.set_paused(false)
    }
    /// The subchannels it receives.
    pub fn subchannels_blocking(&self) -> Result<Vec<u16>> {
        self.call(|st, k| Ok(st.data_consumer_mut(k)?.subchannels.clone()))
    }
    /// Replaces the subchannels it receives.
    pub fn set_subchannels_blocking(&self, subchannels: Vec<u16>) -> Result<()> {
        self.call(move |st, k| {
            let mut s = subchannels;
            s.sort_unstable();
            s.dedup();
            st.data_consumer_mut(k)?.subchannels = s;
            Ok(())
        })
    }
    /// Bytes queued in the SCTP association for this consumer's stream.
    pub fn buffered_amount_blocking(&self) -> Result<usize> {
        self.call(|st, k| st.data_consumer_buffered_amount(k))
    }
    /// `bufferedamountlow` fires when the buffered amount falls to this many bytes.
    pub fn set_buffered_amount_low_threshold_blocking(&self, threshold: usize) -> Result<()> {
        self.call(move |st, k| st.set_buffered_amount_low_threshold(k, threshold))
    }
    /// Sends a message straight to this SCTP data consumer's remote.
    pub fn send_blocking(&self, ppid: u32, message: Vec<u8>) -> Result<()> {
        self.call(move |st, k| st.data_consumer_send(k, ppid, message))
    }
    /// mediasoup's `dataConsumer.getStats()`.
    pub fn get_stats_blocking(&self) -> Result<Value> {
        self.call(|st, k| {
            let buffered = st.data_consumer_buffered_amount(k)?;
            Ok(st.data_consumer_mut(k)?.stats(buffered))
        })
    }
    /// mediasoup's `dataConsumer.dump()`.
    pub fn dump_blocking(&self) -> Result<Value> {
        self.call(|st, k| st.data_consumer_dump(k))
    }
    /// Closes it. Idempotent.
    pub fn close(&self) {
        if self.flags.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let key = self.key;
        self.worker.post(move |st| st.close_data_consumer(key, CloseReason::Closed));
    }
}

impl std::fmt::Debug for DataProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataProducer").field("id", &self.id).field("type", &self.typ).finish()
    }
}

impl std::fmt::Debug for DataConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataConsumer").field("id", &self.id).field("type", &self.typ).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sctp_stream_parameters_validate_like_mediasoup() {
        let p = |ordered, life, rexmit| SctpStreamParameters { stream_id: 1, ordered, max_packet_life_time: life, max_retransmits: rexmit };
        assert_eq!(p(None, None, None).validate().unwrap().ordered, Some(true));
        assert_eq!(p(None, Some(100), None).validate().unwrap().ordered, Some(false));
        assert_eq!(p(Some(false), None, Some(0)).validate().unwrap().max_retransmits, Some(0));
        let e = p(None, Some(1), Some(1)).validate().unwrap_err();
        assert!(e.message().contains("maxPacketLifeTime") && e.js_name() == "TypeError");
        assert!(p(Some(true), None, Some(3)).validate().is_err());
    }
}
