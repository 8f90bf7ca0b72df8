//! `NativeProducer`: a producer handle.

use napi_derive::napi;
use serde_json::Value;
use sfu_core::Producer;

use crate::error::core;

/// A producer handle.
#[napi]
pub struct NativeProducer {
    producer: Producer,
}

impl NativeProducer {
    pub(crate) fn new(producer: Producer) -> Self {
        NativeProducer { producer }
    }
}

#[napi]
impl NativeProducer {
    /// `router.canConsume()` for this producer: answered here, from the producer's consumable
    /// parameters, without a round trip to the worker. Invalid capabilities throw the
    /// `TypeError` naming the field (JS logs it and answers false, as mediasoup).
    #[napi]
    pub fn can_consume(&self, rtp_capabilities: Option<String>) -> napi::Result<bool> {
        let caps: sfu_core::RtpCapabilities = crate::error::parse("rtpCapabilities", rtp_capabilities)?;
        core(self.producer.can_consume(&caps))
    }

    /// mediasoup's `producer.score`.
    #[napi]
    pub fn score(&self) -> napi::Result<Value> {
        core(self.producer.score_blocking())
    }

    /// Pauses forwarding; returns once the engine's consumers know.
    #[napi]
    pub fn pause(&self) -> napi::Result<()> {
        core(self.producer.pause_blocking())
    }

    /// Resumes forwarding.
    #[napi]
    pub fn resume(&self) -> napi::Result<()> {
        core(self.producer.resume_blocking())
    }

    /// mediasoup's `producer.getStats()`.
    #[napi]
    pub fn get_stats(&self) -> napi::Result<Value> {
        core(self.producer.get_stats_blocking())
    }

    /// Injects an RTP packet (producers of a direct transport).
    #[napi]
    pub fn send(&self, packet: napi::bindgen_prelude::Buffer) -> napi::Result<()> {
        core(self.producer.send(packet.to_vec()))
    }

    /// mediasoup's `producer.enableTraceEvent()`.
    #[napi]
    pub fn enable_trace_event(&self, types: Vec<String>) -> napi::Result<()> {
        core(self.producer.enable_trace_event_blocking(types))
    }

    /// mediasoup's `producer.dump()`.
    #[napi]
    pub fn dump(&self) -> napi::Result<Value> {
        core(self.producer.dump_blocking())
    }

    /// Closes the producer (returns at once; the engine follows).
    #[napi]
    pub fn close(&self) {
        self.producer.close();
    }
}

/// Everything the JS Producer caches at construction, as one JSON string (made on the worker
/// thread with a pipelined `produce()`'s reply, see `reply.rs`).
pub(crate) fn snapshot(p: &Producer) -> sfu_core::Result<String> {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Snapshot<'a> {
        id: &'a str,
        kind: &'static str,
        rtp_parameters: &'a sfu_core::RtpParameters,
        #[serde(rename = "type")]
        producer_type: sfu_core::ProducerType,
        paused: bool,
    }
    crate::error::json_string(&Snapshot {
        id: p.id(),
        kind: p.kind().as_str(),
        rtp_parameters: p.rtp_parameters(),
        producer_type: p.producer_type(),
        paused: p.paused(),
    })
}
