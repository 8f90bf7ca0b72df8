//! What every transport handle shares. `sfu_plain_transport` and `sfu_webrtc_transport` both wrap
//! a core transport that derefs to `sfu_core::TransportBase`; their `_close`, `_id`, `_closed`,
//! `_produce`, `_consume`, `_get_stats` and `_dump` exports are one-line calls (inside their own
//! panic boundary) to the generic bodies here. No exports in this file.

use std::ffi::{c_char, CStr};

use sfu_core::{ConsumerOptions, DataConsumerOptions, DataProducerOptions, ProducerOptions, TransportBase};

use crate::consumer::sfu_consumer;
use crate::data::{sfu_data_consumer, sfu_data_producer};
use crate::error::FfiResult;
use crate::producer::sfu_producer;
use crate::{handle, into_handle, json_arg, json_string, opt_json_arg, out_arg};

/// A transport handle: the core transport and the NUL-terminated copy of its id.
pub(crate) trait TransportHandle {
    fn base(&self) -> &TransportBase;
    fn id_cstr(&self) -> &CStr;
}

/// Body of `sfu_<transport>_close`: closes the transport unless the handle is NULL.
pub(crate) unsafe fn close<T: TransportHandle>(transport: *const T) {
    // SAFETY (all blocks in this file): the export's pointer contract in the header.
    if let Ok(t) = unsafe { handle(transport, "transport") } {
        t.base().close();
    }
}

/// Body of `sfu_<transport>_id`: the borrowed id, NULL for a NULL handle.
pub(crate) unsafe fn id<T: TransportHandle>(transport: *const T) -> *const c_char {
    unsafe { handle(transport, "transport") }.map_or(std::ptr::null(), |t| t.id_cstr().as_ptr())
}

/// Body of `sfu_<transport>_closed`: false for a NULL handle.
pub(crate) unsafe fn closed<T: TransportHandle>(transport: *const T) -> bool {
    unsafe { handle(transport, "transport") }.is_ok_and(|t| t.base().closed())
}

/// Body of `sfu_<transport>_produce`.
pub(crate) unsafe fn produce<T: TransportHandle>(transport: *const T, options_json: *const c_char, out_producer: *mut *mut sfu_producer) -> FfiResult {
    let out = unsafe { out_arg(out_producer, "out_producer") }?;
    let t = unsafe { handle(transport, "transport") }?;
    let options: ProducerOptions = unsafe { json_arg(options_json, "options_json", "options") }?;
    *out = into_handle(sfu_producer::new(t.base().produce_blocking(options)?));
    Ok(())
}

/// Body of `sfu_<transport>_consume`.
pub(crate) unsafe fn consume<T: TransportHandle>(transport: *const T, options_json: *const c_char, out_consumer: *mut *mut sfu_consumer) -> FfiResult {
    let out = unsafe { out_arg(out_consumer, "out_consumer") }?;
    let t = unsafe { handle(transport, "transport") }?;
    let options: ConsumerOptions = unsafe { json_arg(options_json, "options_json", "options") }?;
    *out = into_handle(sfu_consumer::new(t.base().consume_blocking(options)?));
    Ok(())
}

/// Body of `sfu_<transport>_produce_data` (NULL options: `{}`).
pub(crate) unsafe fn produce_data<T: TransportHandle>(transport: *const T, options_json: *const c_char, out: *mut *mut sfu_data_producer) -> FfiResult {
    let out = unsafe { out_arg(out, "out_data_producer") }?;
    let t = unsafe { handle(transport, "transport") }?;
    let options: DataProducerOptions = unsafe { opt_json_arg(options_json, "options_json", "options") }?.unwrap_or_default();
    *out = into_handle(sfu_data_producer::new(t.base().produce_data_blocking(options)?));
    Ok(())
}

/// Body of `sfu_<transport>_consume_data`.
pub(crate) unsafe fn consume_data<T: TransportHandle>(transport: *const T, options_json: *const c_char, out: *mut *mut sfu_data_consumer) -> FfiResult {
    let out = unsafe { out_arg(out, "out_data_consumer") }?;
    let t = unsafe { handle(transport, "transport") }?;
    let options: DataConsumerOptions = unsafe { json_arg(options_json, "options_json", "options") }?;
    *out = into_handle(sfu_data_consumer::new(t.base().consume_data_blocking(options)?));
    Ok(())
}

/// Body of `sfu_<transport>_get_stats`.
pub(crate) unsafe fn get_stats<T: TransportHandle>(transport: *const T, out_json: *mut *mut c_char) -> FfiResult {
    let out = unsafe { out_arg(out_json, "out_json") }?;
    let t = unsafe { handle(transport, "transport") }?;
    *out = json_string(&t.base().get_stats_blocking()?)?;
    Ok(())
}

/// Body of `sfu_<transport>_dump`.
pub(crate) unsafe fn dump<T: TransportHandle>(transport: *const T, out_json: *mut *mut c_char) -> FfiResult {
    let out = unsafe { out_arg(out_json, "out_json") }?;
    let t = unsafe { handle(transport, "transport") }?;
    *out = json_string(&t.base().dump_blocking()?)?;
    Ok(())
}
