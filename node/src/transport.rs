//! `NativePlainTransport`: a plain (RTP over UDP) transport handle.

use napi_derive::napi;
use serde_json::Value;
use sfu_core::{PlainTransport, PlainTransportConnect};

use crate::error::{core, parse, to_json};
use crate::transport_base;

/// A plain transport handle.
#[napi]
pub struct NativePlainTransport {
    transport: PlainTransport,
    replier: crate::reply::Replier,
}

impl NativePlainTransport {
    pub(crate) fn new(transport: PlainTransport, replier: crate::reply::Replier) -> Self {
        NativePlainTransport { transport, replier }
    }
}

#[napi]
impl NativePlainTransport {
    /// The transport's id.
    #[napi]
    pub fn id(&self) -> String {
        self.transport.id().to_owned()
    }

    /// The RTP tuple (remote filled once known).
    #[napi]
    pub fn tuple(&self) -> napi::Result<Value> {
        to_json(&self.transport.tuple())
    }

    /// The RTCP tuple when RTCP is not muxed.
    #[napi]
    pub fn rtcp_tuple(&self) -> napi::Result<Option<Value>> {
        self.transport.rtcp_tuple().map(|t| to_json(&t)).transpose()
    }

    /// mediasoup's `sctpParameters` when `enableSctp`.
    #[napi]
    pub fn sctp_parameters(&self) -> Option<Value> {
        self.transport.sctp_parameters().cloned()
    }

    /// Our SRTP parameters when `enableSrtp`.
    #[napi]
    pub fn srtp_parameters(&self) -> napi::Result<Option<Value>> {
        self.transport.srtp_parameters().map(to_json).transpose()
    }

    /// Whether RTCP shares the RTP port.
    #[napi]
    pub fn rtcp_mux(&self) -> bool {
        self.transport.rtcp_mux()
    }

    /// Whether the remote address is learnt from the first packet.
    #[napi]
    pub fn comedia(&self) -> bool {
        self.transport.comedia()
    }

    /// `plainTransport.connect({ip, port, rtcpPort, srtpParameters})`.
    #[napi]
    pub fn connect(&self, params: Option<String>) -> napi::Result<()> {
        let p: PlainTransportConnect = parse("parameters", params)?;
        core(self.transport.connect_blocking(p))
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
    pub fn produce_data(&self, options: Option<String>) -> napi::Result<crate::data::NativeDataProducer> {
        transport_base::produce_data(&self.transport, options)
    }

    /// `transport.consumeData(options)`.
    #[napi]
    pub fn consume_data(&self, options: Option<String>) -> napi::Result<crate::data::NativeDataConsumer> {
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
