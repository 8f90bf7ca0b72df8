//! `NativePipeTransport`: a pipe transport handle (to another router).

use napi_derive::napi;
use serde_json::Value;
use sfu_core::{PipeTransport, PlainTransportConnect};

use crate::data::{NativeDataConsumer, NativeDataProducer};
use crate::error::{core, parse, to_json};
use crate::transport_base;

/// A pipe transport handle.
#[napi]
pub struct NativePipeTransport {
    transport: PipeTransport,
    replier: crate::reply::Replier,
}

impl NativePipeTransport {
    pub(crate) fn new(transport: PipeTransport, replier: crate::reply::Replier) -> Self {
        NativePipeTransport { transport, replier }
    }
}

#[napi]
impl NativePipeTransport {
    /// The transport's id.
    #[napi]
    pub fn id(&self) -> String {
        self.transport.id().to_owned()
    }

    /// The tuple (remote filled after connect).
    #[napi]
    pub fn tuple(&self) -> napi::Result<Value> {
        to_json(&self.transport.tuple())
    }

    /// Our SRTP parameters when `enableSrtp`.
    #[napi]
    pub fn srtp_parameters(&self) -> napi::Result<Option<Value>> {
        self.transport.srtp_parameters().map(to_json).transpose()
    }

    /// mediasoup's `sctpParameters` when `enableSctp`.
    #[napi]
    pub fn sctp_parameters(&self) -> Option<Value> {
        self.transport.sctp_parameters().cloned()
    }

    /// `pipeTransport.connect({ip, port, srtpParameters})`.
    #[napi]
    pub fn connect(&self, params: Option<String>) -> napi::Result<()> {
        let p: PlainTransportConnect = parse("parameters", params)?;
        core(self.transport.connect_blocking(p))
    }

    /// Links this fresh pipe transport with `other` (a router of another worker of this process):
    /// media and data cross in memory instead of loopback UDP.
    #[napi]
    pub fn link_local(&self, other: &NativePipeTransport) -> napi::Result<()> {
        core(self.transport.link_local_blocking(&other.transport))
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
