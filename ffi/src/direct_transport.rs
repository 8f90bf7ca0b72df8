//! `sfu_direct_transport`: RTP, RTCP and data messages between the engine and the application
//! itself. What the engine sends it arrives through the worker's payload callback
//! (`sfu_worker_set_payload_callback`).

use std::ffi::{c_char, CStr, CString};

use sfu_core::{DirectTransport, TransportBase};

use crate::consumer::sfu_consumer;
use crate::data::{sfu_data_consumer, sfu_data_producer};
use crate::error::sfu_result;
use crate::panic::{ffi_call, ffi_value};
use crate::producer::sfu_producer;
use crate::transport_base::{self as base, TransportHandle};
use crate::{bytes_arg, free_handle, handle, id_cstring};

/// A direct transport handle. Created by `sfu_router_create_direct_transport`, released with
/// `sfu_direct_transport_free`.
pub struct sfu_direct_transport {
    inner: DirectTransport,
    id: CString,
}

impl sfu_direct_transport {
    pub(crate) fn new(inner: DirectTransport) -> Self {
        sfu_direct_transport { id: id_cstring(inner.id()), inner }
    }
}

impl TransportHandle for sfu_direct_transport {
    fn base(&self) -> &TransportBase {
        &self.inner
    }
    fn id_cstr(&self) -> &CStr {
        &self.id
    }
}

/// Closes the transport with its producers, consumers, data producers and data consumers.
/// Idempotent, returns at once; NULL is a no-op. The handle stays valid until
/// `sfu_direct_transport_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_direct_transport_close(transport: *const sfu_direct_transport) {
    // SAFETY (all blocks in this file): the caller's pointer contract in the header.
    ffi_value((), || unsafe { base::close(transport) })
}

/// Releases the handle. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_direct_transport_free(transport: *mut sfu_direct_transport) {
    ffi_value((), || unsafe { free_handle(transport) })
}

/// The transport's id: borrowed, valid until the handle is freed; NULL if `transport` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_direct_transport_id(transport: *const sfu_direct_transport) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { base::id(transport) })
}

/// Creates a producer whose RTP the application injects with `sfu_producer_send`.
/// `options_json` as for `sfu_plain_transport_produce`.
#[no_mangle]
pub unsafe extern "C" fn sfu_direct_transport_produce(transport: *const sfu_direct_transport, options_json: *const c_char, out_producer: *mut *mut sfu_producer) -> sfu_result {
    ffi_call(|| unsafe { base::produce(transport, options_json, out_producer) })
}

/// Creates a consumer whose RTP packets reach the payload callback as `SFU_PAYLOAD_RTP` with
/// the consumer's id. `options_json` as for `sfu_plain_transport_consume`.
#[no_mangle]
pub unsafe extern "C" fn sfu_direct_transport_consume(transport: *const sfu_direct_transport, options_json: *const c_char, out_consumer: *mut *mut sfu_consumer) -> sfu_result {
    ffi_call(|| unsafe { base::consume(transport, options_json, out_consumer) })
}

/// Creates a data producer the application sends on with `sfu_data_producer_send`.
/// `options_json`: `{"label":"chat","protocol":""}` (or NULL).
#[no_mangle]
pub unsafe extern "C" fn sfu_direct_transport_produce_data(transport: *const sfu_direct_transport, options_json: *const c_char, out_data_producer: *mut *mut sfu_data_producer) -> sfu_result {
    ffi_call(|| unsafe { base::produce_data(transport, options_json, out_data_producer) })
}

/// Creates a data consumer whose messages reach the payload callback as `SFU_PAYLOAD_MESSAGE`
/// with the data consumer's id and the message's PPID. `options_json`:
/// `{"dataProducerId":"...","subchannels":[1,2]}`.
#[no_mangle]
pub unsafe extern "C" fn sfu_direct_transport_consume_data(transport: *const sfu_direct_transport, options_json: *const c_char, out_data_consumer: *mut *mut sfu_data_consumer) -> sfu_result {
    ffi_call(|| unsafe { base::consume_data(transport, options_json, out_data_consumer) })
}

/// Feeds an RTCP packet (compound allowed) from the application into the transport, as if its
/// remote had sent it (PLI/FIR/NACK/RR about its consumers, SR about its producers). `data` is
/// borrowed for the call. Fails with `SFU_TYPE_ERROR` when it is not RTCP.
#[no_mangle]
pub unsafe extern "C" fn sfu_direct_transport_send_rtcp(transport: *const sfu_direct_transport, data: *const u8, len: usize) -> sfu_result {
    ffi_call(|| {
        let t = unsafe { handle(transport, "transport") }?;
        let packet = unsafe { bytes_arg(data, len, "data") }?;
        Ok(t.inner.send_rtcp(packet.to_vec())?)
    })
}

/// mediasoup's `directTransport.getStats()` as JSON. Free with `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_direct_transport_get_stats(transport: *const sfu_direct_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| unsafe { base::get_stats(transport, out_json) })
}

/// mediasoup's `directTransport.dump()` as JSON. Free with `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_direct_transport_dump(transport: *const sfu_direct_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| unsafe { base::dump(transport, out_json) })
}
