//! `NativeDirectTransport`: RTP, RTCP and data to and from the application.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use serde_json::Value;
use sfu_core::DirectTransport;

use crate::data::{NativeDataConsumer, NativeDataProducer};
use crate::error::core;
use crate::transport_base;

/// A direct transport handle.
#[napi]
pub struct NativeDirectTransport {
    transport: DirectTransport,
    replier: crate::reply::Replier,
}

impl NativeDirectTransport {
    pub(crate) fn new(transport: DirectTransport, replier: crate::reply::Replier) -> Self {
        NativeDirectTransport { transport, replier }
    }
}

#[napi]
impl NativeDirectTransport {
    /// The transport's id.
    #[napi]
    pub fn id(&self) -> String {
        self.transport.id().to_owned()
    }

    /// Feeds an RTCP packet from the application into the transport.
    #[napi]
    pub fn send_rtcp(&self, packet: Buffer) -> napi::Result<()> {
        core(self.transport.send_rtcp(packet.to_vec()))
    }

    /// `transport.produce(options)`, answered as request `id` (see `reply.rs`).
    #[napi]
    pub fn produce_async(&self, options: Option<String>, id: u32) {
        transport_base::produce_async(&self.transport, options, &self.replier, id)
    }

    /// `transport.consume(options)`, answered as request `id` (see `reply.rs`).
    #[napi]
    pub fn consume_async(&self, options: Option<String>, id: u32) {
        transport_base::consume_async(&self.transport, options, &self.replier, id)
    }

    /// `transport.produceData(options)`.
    #[napi]
    pub fn produce_data(&self, options: Option<String>) -> napi::Result<NativeDataProducer> {
        transport_base::produce_data(&self.transport, options)
    }

    /// `transport.consumeData(options)`.
    #[napi]
    pub fn consume_data(&self, options: Option<String>) -> napi::Result<NativeDataConsumer> {
        transport_base::consume_data(&self.transport, options)
    }

    /// mediasoup's `transport.getStats()`.
    #[napi]
    pub fn get_stats(&self) -> napi::Result<Value> {
        transport_base::get_stats(&self.transport)
    }

    /// mediasoup's `transport.enableTraceEvent()`.
    #[napi]
    pub fn enable_trace_event(&self, types: Vec<String>) -> napi::Result<()> {
        transport_base::enable_trace_event(&self.transport, types)
    }

    /// mediasoup's `transport.dump()`.
    #[napi]
    pub fn dump(&self) -> napi::Result<Value> {
        transport_base::dump(&self.transport)
    }

    /// Closes the transport (returns at once; the engine follows).
    #[napi]
    pub fn close(&self) {
        self.transport.close();
    }
}
