//! sfu-node: the native half of the npm package `libsfu`.
//!
//! A thin napi adapter over `sfu-core`: every class wraps one core handle, takes and returns JSON
//! (`serde_json::Value`), and calls the core's `*_blocking` methods (a round trip to the worker
//! thread is microseconds), except the calls apps make by the thousand — `createWebRtcTransport`,
//! `connect`, `produce`, `consume`, consumer pause/resume — which are pipelined (`reply.rs`):
//! posted to the worker, answered on its event channel. Errors keep the core's kind as a
//! `[Name] ` message prefix that the JS layer (`lib/errors.js`) turns back into the right error
//! class. All mediasoup-shaped behaviour beyond that (object graph, synchronous close cascades,
//! EventEmitters) lives in `lib/`.

mod consumer;
mod data;
mod direct_transport;
mod error;
mod pipe_transport;
mod producer;
mod reply;
mod router;
mod rtp_observer;
mod transport;
mod transport_base;
mod webrtc_server;
mod webrtc_transport;
mod worker;

use napi_derive::napi;
use serde_json::Value;

pub use consumer::NativeConsumer;
pub use data::{NativeDataConsumer, NativeDataProducer};
pub use direct_transport::NativeDirectTransport;
pub use pipe_transport::NativePipeTransport;
pub use producer::NativeProducer;
pub use router::NativeRouter;
pub use rtp_observer::NativeRtpObserver;
pub use transport::NativePlainTransport;
pub use webrtc_server::NativeWebRtcServer;
pub use webrtc_transport::NativeWebRtcTransport;
pub use worker::{create_worker, NativeWorker};

/// The libsfu engine version.
#[napi]
pub fn version() -> String {
    sfu_core::VERSION.to_owned()
}

/// Every codec and header extension the engine can route (mediasoup's
/// `getSupportedRtpCapabilities()`).
#[napi]
pub fn supported_rtp_capabilities() -> napi::Result<Value> {
    error::to_json(&sfu_core::supported_rtp_capabilities::supported_rtp_capabilities())
}

/// mediasoup's `parseScalabilityMode()`: `{spatialLayers, temporalLayers, ksvc}`.
#[napi]
pub fn parse_scalability_mode(mode: Option<String>) -> Value {
    let m = sfu_core::ortc::parse_scalability_mode(mode.as_deref());
    serde_json::json!({
        "spatialLayers": m.spatial_layers,
        "temporalLayers": m.temporal_layers,
        "ksvc": m.ksvc,
    })
}
