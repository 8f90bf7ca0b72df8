//! `NativeConsumer`: a consumer handle.

use napi_derive::napi;
use serde_json::Value;
use sfu_core::{Consumer, ConsumerLayers, Error};

use crate::error::{core, parse, to_json, to_napi};

/// A consumer handle.
#[napi]
pub struct NativeConsumer {
    consumer: Consumer,
    replier: crate::reply::Replier,
}

impl NativeConsumer {
    pub(crate) fn new(consumer: Consumer, replier: crate::reply::Replier) -> Self {
        NativeConsumer { consumer, replier }
    }
}

#[napi]
impl NativeConsumer {
    /// Whether its producer is paused (the engine's current view).
    #[napi]
    pub fn producer_paused(&self) -> bool {
        self.consumer.producer_paused()
    }

    /// Sending priority.
    #[napi]
    pub fn priority(&self) -> u32 {
        self.consumer.priority() as u32
    }

    /// Preferred layers (simulcast/SVC), after clamping; null otherwise.
    #[napi]
    pub fn preferred_layers(&self) -> napi::Result<Value> {
        to_json(&self.consumer.preferred_layers())
    }

    /// Layers being forwarded now (simulcast/SVC); null otherwise.
    #[napi]
    pub fn current_layers(&self) -> napi::Result<Value> {
        to_json(&self.consumer.current_layers())
    }

    /// Stops (`paused`) or resumes sending, answered as request `id` (see `reply.rs`).
    #[napi]
    pub fn set_paused_async(&self, paused: bool, id: u32) {
        let replier = self.replier.clone();
        self.consumer.set_paused_then(paused, move |r| replier.reply(id, r.map(|()| crate::reply::Reply::Done)));
    }

    /// Sets preferred `{spatialLayer, temporalLayer}` (clamped by the engine).
    #[napi]
    pub fn set_preferred_layers(&self, layers: Option<String>) -> napi::Result<()> {
        let l: ConsumerLayers = parse("preferredLayers", layers)?;
        core(self.consumer.set_preferred_layers_blocking(l))
    }

    /// Sets the priority; `None` restores the default.
    #[napi]
    pub fn set_priority(&self, priority: Option<f64>) -> napi::Result<()> {
        let p = match priority {
            None => None,
            // The engine keeps priorities as u8; anything else is a bad argument, not a wrap-around.
            Some(p) if p.fract() == 0.0 && (1.0..=255.0).contains(&p) => Some(p as u8),
            Some(p) => {
                return Err(to_napi(Error::type_err(format!(
                    "invalid priority: {p} (must be an integer 1..=255)"
                ))))
            }
        };
        core(self.consumer.set_priority_blocking(p))
    }

    /// mediasoup's `consumer.enableTraceEvent()`.
    #[napi]
    pub fn enable_trace_event(&self, types: Vec<String>) -> napi::Result<()> {
        core(self.consumer.enable_trace_event_blocking(types))
    }

    /// Asks the producer for a key frame.
    #[napi]
    pub fn request_key_frame(&self) -> napi::Result<()> {
        core(self.consumer.request_key_frame_blocking())
    }

    /// mediasoup's `consumer.getStats()`.
    #[napi]
    pub fn get_stats(&self) -> napi::Result<Value> {
        core(self.consumer.get_stats_blocking())
    }

    /// mediasoup's `consumer.dump()`.
    #[napi]
    pub fn dump(&self) -> napi::Result<Value> {
        core(self.consumer.dump_blocking())
    }

    /// Closes the consumer (returns at once; the engine follows).
    #[napi]
    pub fn close(&self) {
        self.consumer.close();
    }
}

/// Everything the JS Consumer caches at construction, as one JSON string (one `JSON.parse`
/// instead of a call and an object conversion per field), made on the worker thread with a
/// pipelined `consume()`'s reply (see `reply.rs`).
pub(crate) fn snapshot(c: &Consumer) -> sfu_core::Result<String> {
    /// Serialized straight from the handle's fields (a `json!` tree copied the parameters).
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Snapshot<'a> {
        id: &'a str,
        producer_id: &'a str,
        kind: &'static str,
        rtp_parameters: &'a sfu_core::RtpParameters,
        #[serde(rename = "type")]
        consumer_type: sfu_core::ConsumerType,
        paused: bool,
        producer_paused: bool,
        priority: u8,
        preferred_layers: Option<sfu_core::ConsumerLayers>,
    }
    crate::error::json_string(&Snapshot {
        id: c.id(),
        producer_id: c.producer_id(),
        kind: c.kind().as_str(),
        rtp_parameters: c.rtp_parameters(),
        consumer_type: c.consumer_type(),
        paused: c.paused(),
        producer_paused: c.producer_paused(),
        priority: c.priority(),
        preferred_layers: c.preferred_layers(),
    })
}
