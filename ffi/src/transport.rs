//! `sfu_plain_transport`: RTP and RTCP over UDP to one remote, with its producers and consumers.

use std::ffi::{c_char, CStr, CString};

use sfu_core::{PlainTransport, PlainTransportConnect, TransportBase};

use crate::consumer::sfu_consumer;
use crate::error::sfu_result;
use crate::panic::{ffi_call, ffi_value};
use crate::producer::sfu_producer;
use crate::transport_base::{self as base, TransportHandle};
use crate::{free_handle, handle, id_cstring, json_arg, json_string, out_arg};

/// A plain transport handle. Created by `sfu_router_create_plain_transport`, released with
/// `sfu_plain_transport_free`.
pub struct sfu_plain_transport {
    inner: PlainTransport,
    id: CString,
}

impl sfu_plain_transport {
    pub(crate) fn new(inner: PlainTransport) -> Self {
        sfu_plain_transport { id: id_cstring(inner.id()), inner }
    }
}

impl TransportHandle for sfu_plain_transport {
    fn base(&self) -> &TransportBase {
        &self.inner
    }
    fn id_cstr(&self) -> &CStr {
        &self.id
    }
}

/// Closes the transport with its producers and consumers. Idempotent, returns at once; NULL is a
/// no-op. The handle stays valid until `sfu_plain_transport_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_plain_transport_close(transport: *const sfu_plain_transport) {
    // SAFETY (all blocks in this file): the caller's pointer contract in the header.
    ffi_value((), || unsafe { base::close(transport) })
}

/// Releases the handle. The transport stays open until closed (directly or by a cascade). NULL
/// is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_plain_transport_free(transport: *mut sfu_plain_transport) {
    ffi_value((), || unsafe { free_handle(transport) })
}

/// The transport's id: borrowed, valid until the handle is freed; NULL if `transport` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_plain_transport_id(transport: *const sfu_plain_transport) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { base::id(transport) })
}

/// Whether the transport is closed (directly or by a cascade); false for NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_plain_transport_closed(transport: *const sfu_plain_transport) -> bool {
    ffi_value(false, || unsafe { base::closed(transport) })
}

/// mediasoup's `plainTransport.tuple` as JSON:
/// `{"localAddress":"127.0.0.1","localIp":"127.0.0.1","localPort":40012,"protocol":"udp"}`, plus
/// `remoteIp`/`remotePort` once known (after `connect`, or the first packet with comedia). Free
/// with `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_plain_transport_tuple(transport: *const sfu_plain_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let t = unsafe { handle(transport, "transport") }?;
        *out = json_string(&t.inner.tuple())?;
        Ok(())
    })
}

/// mediasoup's `plainTransport.rtcpTuple` as JSON when RTCP has its own port (`rtcpMux` false),
/// else `*out_json` is set to NULL. Free with `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_plain_transport_rtcp_tuple(transport: *const sfu_plain_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let t = unsafe { handle(transport, "transport") }?;
        if let Some(tuple) = t.inner.rtcp_tuple() {
            *out = json_string(&tuple)?;
        }
        Ok(())
    })
}

/// mediasoup's `plainTransport.connect()`: `{"ip":"127.0.0.1","port":5004}` (plus `"rtcpPort"`
/// without rtcp-mux). With comedia the remote is learnt from the first packet instead.
#[no_mangle]
pub unsafe extern "C" fn sfu_plain_transport_connect(transport: *const sfu_plain_transport, params_json: *const c_char) -> sfu_result {
    ffi_call(|| {
        let t = unsafe { handle(transport, "transport") }?;
        let params: PlainTransportConnect = unsafe { json_arg(params_json, "params_json", "params") }?;
        Ok(t.inner.connect_blocking(params)?)
    })
}

/// mediasoup's `transport.produce()`: the remote sends media described by
/// `{"kind":"video","rtpParameters":{"codecs":[{"mimeType":"video/VP8","payloadType":96,
/// "clockRate":90000}],"encodings":[{"ssrc":1111}]}}`. On success `*out_producer` receives the
/// handle.
#[no_mangle]
pub unsafe extern "C" fn sfu_plain_transport_produce(
    transport: *const sfu_plain_transport,
    options_json: *const c_char,
    out_producer: *mut *mut sfu_producer,
) -> sfu_result {
    ffi_call(|| unsafe { base::produce(transport, options_json, out_producer) })
}

/// mediasoup's `transport.consume()`: the remote receives a producer's media.
/// `{"producerId":"...","rtpCapabilities":{...},"paused":false}`; an unknown producer fails with
/// `SFU_NOT_FOUND`, capabilities that cannot receive it with `SFU_UNSUPPORTED`. On success
/// `*out_consumer` receives the handle; `sfu_consumer_rtp_parameters` tells the SSRC and payload
/// type the remote will receive.
#[no_mangle]
pub unsafe extern "C" fn sfu_plain_transport_consume(
    transport: *const sfu_plain_transport,
    options_json: *const c_char,
    out_consumer: *mut *mut sfu_consumer,
) -> sfu_result {
    ffi_call(|| unsafe { base::consume(transport, options_json, out_consumer) })
}

/// mediasoup's `transport.getStats()` as JSON (an array; free with `sfu_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sfu_plain_transport_get_stats(transport: *const sfu_plain_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| unsafe { base::get_stats(transport, out_json) })
}

/// mediasoup's `transport.dump()` as JSON (free with `sfu_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sfu_plain_transport_dump(transport: *const sfu_plain_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| unsafe { base::dump(transport, out_json) })
}
