//! What both transport handles share. `NativePlainTransport` and `NativeWebRtcTransport` wrap a
//! core transport that derefs to `sfu_core::TransportBase`; their `produce`, `consume`,
//! `getStats` and `dump` methods are one-line calls to the bodies here (napi needs each class to
//! declare its own methods), as `ffi/src/transport_base.rs` does for the C face.

use serde_json::Value;
use sfu_core::{ConsumerOptions, ProducerOptions, TransportBase};

use crate::consumer::NativeConsumer;
use crate::error::{core, parse};
use crate::producer::NativeProducer;

/// `transport.produce(options)`.
pub(crate) fn produce(
    transport: &TransportBase,
    options: Option<Value>,
) -> napi::Result<NativeProducer> {
    let o: ProducerOptions = parse("options", options)?;
    Ok(NativeProducer::new(core(transport.produce_blocking(o))?))
}

/// `transport.consume(options)`.
pub(crate) fn consume(
    transport: &TransportBase,
    options: Option<Value>,
) -> napi::Result<NativeConsumer> {
    let o: ConsumerOptions = parse("options", options)?;
    Ok(NativeConsumer::new(core(transport.consume_blocking(o))?))
}

/// mediasoup's `transport.getStats()`.
pub(crate) fn get_stats(transport: &TransportBase) -> napi::Result<Value> {
    core(transport.get_stats_blocking())
}

/// mediasoup's `transport.enableTraceEvent()`.
pub(crate) fn enable_trace_event(transport: &TransportBase, types: Vec<String>) -> napi::Result<()> {
    core(transport.enable_trace_event_blocking(types))
}

/// mediasoup's `transport.dump()`.
pub(crate) fn dump(transport: &TransportBase) -> napi::Result<Value> {
    core(transport.dump_blocking())
}
