//! What both transport handles share. `NativePlainTransport` and `NativeWebRtcTransport` wrap a
//! core transport that derefs to `sfu_core::TransportBase`; their `produce`, `consume`,
//! `getStats` and `dump` methods are one-line calls to the bodies here (napi needs each class to
//! declare its own methods), as `ffi/src/transport_base.rs` does for the C face.

use serde_json::Value;
use sfu_core::{DataConsumerOptions, DataProducerOptions, TransportBase};

use crate::reply::{Replier, Reply};
use crate::data::{NativeDataConsumer, NativeDataProducer};
use crate::error::{core, parse, parse_core};

/// `transport.produce(options)`, answered as request `id` (options parsed and the snapshot
/// made on the worker thread, as for `consume_async`).
pub(crate) fn produce_async(transport: &TransportBase, options: Option<String>, replier: &Replier, id: u32) {
    let replier = replier.clone();
    transport.produce_then(
        move || parse_core("options", options.as_deref()),
        move |r| replier.reply(id, r.and_then(|p| Ok(Reply::Producer(crate::producer::snapshot(&p)?, p)))),
    );
}

/// `transport.consume(options)`, answered as request `id`: the options are parsed on the worker
/// thread (a bad field rejects with the `TypeError` naming it), and the reply carries the
/// consumer's snapshot, serialized there too, so the JS thread only builds the object.
pub(crate) fn consume_async(transport: &TransportBase, options: Option<String>, replier: &Replier, id: u32) {
    let replier = replier.clone();
    transport.consume_then(
        move || parse_core("options", options.as_deref()),
        move |r| {
            let reply = r.and_then(|c| Ok(Reply::Consumer(crate::consumer::snapshot(&c)?, c, replier.clone())));
            replier.reply(id, reply)
        },
    );
}

/// `transport.produceData(options)`.
pub(crate) fn produce_data(transport: &TransportBase, options: Option<String>) -> napi::Result<NativeDataProducer> {
    let o: DataProducerOptions = parse("options", options)?;
    Ok(NativeDataProducer::new(core(transport.produce_data_blocking(o))?))
}

/// `transport.consumeData(options)`.
pub(crate) fn consume_data(transport: &TransportBase, options: Option<String>) -> napi::Result<NativeDataConsumer> {
    let o: DataConsumerOptions = parse("options", options)?;
    Ok(NativeDataConsumer::new(core(transport.consume_data_blocking(o))?))
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
