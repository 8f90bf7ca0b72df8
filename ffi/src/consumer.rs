//! `sfu_consumer`: one producer's media sent to one transport's remote.

use std::ffi::{c_char, CString};

use sfu_core::{Consumer, ConsumerLayers, ConsumerType};

use crate::error::sfu_result;
use crate::panic::{ffi_call, ffi_value};
use crate::producer::kind_name;
use crate::{free_handle, handle, id_cstring, json_arg, json_string, out_arg};

/// A consumer handle. Created by `sfu_plain_transport_consume` or `sfu_webrtc_transport_consume`,
/// released with `sfu_consumer_free`.
pub struct sfu_consumer {
    inner: Consumer,
    id: CString,
    producer_id: CString,
}

impl sfu_consumer {
    pub(crate) fn new(inner: Consumer) -> Self {
        sfu_consumer { id: id_cstring(inner.id()), producer_id: id_cstring(inner.producer_id()), inner }
    }
}

/// Closes the consumer. Idempotent, returns at once; NULL is a no-op. The handle stays valid
/// until `sfu_consumer_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_close(consumer: *const sfu_consumer) {
    ffi_value((), || {
        // SAFETY (all blocks in this file): the caller's pointer contract in the header.
        if let Ok(c) = unsafe { handle(consumer, "consumer") } {
            c.inner.close();
        }
    })
}

/// Releases the handle. The consumer stays open until closed (directly or by a cascade). NULL is
/// a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_free(consumer: *mut sfu_consumer) {
    ffi_value((), || unsafe { free_handle(consumer) })
}

/// The consumer's id: borrowed, valid until the handle is freed; NULL if `consumer` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_id(consumer: *const sfu_consumer) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { handle(consumer, "consumer") }.map_or(std::ptr::null(), |c| c.id.as_ptr()))
}

/// The consumed producer's id: borrowed, valid until the handle is freed; NULL if `consumer` is
/// NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_producer_id(consumer: *const sfu_consumer) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { handle(consumer, "consumer") }.map_or(std::ptr::null(), |c| c.producer_id.as_ptr()))
}

/// `"audio"` or `"video"` (static); NULL if `consumer` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_kind(consumer: *const sfu_consumer) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { handle(consumer, "consumer") }.map_or(std::ptr::null(), |c| kind_name(c.inner.kind()).as_ptr()))
}

/// `"simple"`, `"simulcast"`, `"svc"` or `"pipe"` (static); NULL if `consumer` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_type(consumer: *const sfu_consumer) -> *const c_char {
    ffi_value(std::ptr::null(), || {
        unsafe { handle(consumer, "consumer") }.map_or(std::ptr::null(), |c| {
            match c.inner.consumer_type() {
                ConsumerType::Simple => c"simple",
                ConsumerType::Simulcast => c"simulcast",
                ConsumerType::Svc => c"svc",
                ConsumerType::Pipe => c"pipe",
            }
            .as_ptr()
        })
    })
}

/// Whether the consumer itself is paused; false for NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_paused(consumer: *const sfu_consumer) -> bool {
    ffi_value(false, || unsafe { handle(consumer, "consumer") }.is_ok_and(|c| c.inner.paused()))
}

/// Whether the consumed producer is paused; false for NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_producer_paused(consumer: *const sfu_consumer) -> bool {
    ffi_value(false, || unsafe { handle(consumer, "consumer") }.is_ok_and(|c| c.inner.producer_paused()))
}

/// Whether the consumer is closed (directly or by a cascade); false for NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_closed(consumer: *const sfu_consumer) -> bool {
    ffi_value(false, || unsafe { handle(consumer, "consumer") }.is_ok_and(|c| c.inner.closed()))
}

/// mediasoup's `consumer.rtpParameters` as JSON: what the remote receives (the router's payload
/// types, the consumer's own SSRC in `encodings[0].ssrc`). Free with `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_rtp_parameters(consumer: *const sfu_consumer, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let c = unsafe { handle(consumer, "consumer") }?;
        *out = json_string(c.inner.rtp_parameters())?;
        Ok(())
    })
}

/// Stops sending to the remote.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_pause(consumer: *const sfu_consumer) -> sfu_result {
    ffi_call(|| Ok(unsafe { handle(consumer, "consumer") }?.inner.pause_blocking()?))
}

/// Resumes sending; the sequence numbers continue where they stopped (video asks the producer
/// for a key frame).
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_resume(consumer: *const sfu_consumer) -> sfu_result {
    ffi_call(|| Ok(unsafe { handle(consumer, "consumer") }?.inner.resume_blocking()?))
}

/// Asks the producer's remote for a key frame (PLI or FIR).
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_request_key_frame(consumer: *const sfu_consumer) -> sfu_result {
    ffi_call(|| Ok(unsafe { handle(consumer, "consumer") }?.inner.request_key_frame_blocking()?))
}

/// mediasoup's `consumer.setPriority()` (1..=255; 0 fails with `SFU_TYPE_ERROR`).
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_set_priority(consumer: *const sfu_consumer, priority: u8) -> sfu_result {
    ffi_call(|| Ok(unsafe { handle(consumer, "consumer") }?.inner.set_priority_blocking(Some(priority))?))
}

/// mediasoup's `consumer.setPreferredLayers()`: `{"spatialLayer":1,"temporalLayer":2}`, clamped to
/// the layers the producer has.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_set_preferred_layers(consumer: *const sfu_consumer, layers_json: *const c_char) -> sfu_result {
    ffi_call(|| {
        let c = unsafe { handle(consumer, "consumer") }?;
        let layers: ConsumerLayers = unsafe { json_arg(layers_json, "layers_json", "layers") }?;
        Ok(c.inner.set_preferred_layers_blocking(layers)?)
    })
}

/// mediasoup's `consumer.getStats()` as JSON (an array: the consumer's outbound stream, then the
/// producer stream's; free with `sfu_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_get_stats(consumer: *const sfu_consumer, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let c = unsafe { handle(consumer, "consumer") }?;
        *out = json_string(&c.inner.get_stats_blocking()?)?;
        Ok(())
    })
}

/// mediasoup's `consumer.dump()` as JSON (free with `sfu_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_dump(consumer: *const sfu_consumer, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let c = unsafe { handle(consumer, "consumer") }?;
        *out = json_string(&c.inner.dump_blocking()?)?;
        Ok(())
    })
}

/// mediasoup's `consumer.enableTraceEvent()`: `types_json` is a JSON array of `"rtp"`, `"keyframe"`,
/// `"nack"`, `"pli"`, `"fir"` (`[]` disables); events arrive like the producer's.
#[no_mangle]
pub unsafe extern "C" fn sfu_consumer_enable_trace_event(consumer: *const sfu_consumer, types_json: *const c_char) -> sfu_result {
    ffi_call(|| {
        let c = unsafe { handle(consumer, "consumer") }?;
        let types: Vec<String> = unsafe { crate::json_arg(types_json, "types_json", "types") }?;
        Ok(c.inner.enable_trace_event_blocking(types)?)
    })
}
