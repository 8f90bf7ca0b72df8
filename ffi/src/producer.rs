//! `sfu_producer`: one incoming media source on a transport.

use std::ffi::{c_char, CStr, CString};

use sfu_core::{MediaKind, Producer, ProducerType};

use crate::error::sfu_result;
use crate::panic::{ffi_call, ffi_value};
use crate::{free_handle, handle, id_cstring, json_string, out_arg};

/// A producer handle. Created by `sfu_plain_transport_produce` or `sfu_webrtc_transport_produce`,
/// released with `sfu_producer_free`.
pub struct sfu_producer {
    inner: Producer,
    id: CString,
}

impl sfu_producer {
    pub(crate) fn new(inner: Producer) -> Self {
        sfu_producer { id: id_cstring(inner.id()), inner }
    }
}

pub(crate) fn kind_name(kind: MediaKind) -> &'static CStr {
    match kind {
        MediaKind::Audio => c"audio",
        MediaKind::Video => c"video",
    }
}

/// Closes the producer; its consumers close too. Idempotent, returns at once; NULL is a no-op.
/// The handle stays valid until `sfu_producer_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_close(producer: *const sfu_producer) {
    ffi_value((), || {
        // SAFETY (all blocks in this file): the caller's pointer contract in the header.
        if let Ok(p) = unsafe { handle(producer, "producer") } {
            p.inner.close();
        }
    })
}

/// Releases the handle. The producer stays open until closed (directly or by a cascade). NULL is
/// a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_free(producer: *mut sfu_producer) {
    ffi_value((), || unsafe { free_handle(producer) })
}

/// The producer's id (what `consume` takes as `producerId`): borrowed, valid until the handle is
/// freed; NULL if `producer` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_id(producer: *const sfu_producer) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { handle(producer, "producer") }.map_or(std::ptr::null(), |p| p.id.as_ptr()))
}

/// `"audio"` or `"video"` (static); NULL if `producer` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_kind(producer: *const sfu_producer) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { handle(producer, "producer") }.map_or(std::ptr::null(), |p| kind_name(p.inner.kind()).as_ptr()))
}

/// `"simple"`, `"simulcast"` or `"svc"` (static); NULL if `producer` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_type(producer: *const sfu_producer) -> *const c_char {
    ffi_value(std::ptr::null(), || {
        unsafe { handle(producer, "producer") }.map_or(std::ptr::null(), |p| {
            match p.inner.producer_type() {
                ProducerType::Simple => c"simple",
                ProducerType::Simulcast => c"simulcast",
                ProducerType::Svc => c"svc",
            }
            .as_ptr()
        })
    })
}

/// Whether the producer is paused; false for NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_paused(producer: *const sfu_producer) -> bool {
    ffi_value(false, || unsafe { handle(producer, "producer") }.is_ok_and(|p| p.inner.paused()))
}

/// Whether the producer is closed (directly or by a cascade); false for NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_closed(producer: *const sfu_producer) -> bool {
    ffi_value(false, || unsafe { handle(producer, "producer") }.is_ok_and(|p| p.inner.closed()))
}

/// mediasoup's `producer.rtpParameters` (validated and normalized) as JSON; free with
/// `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_rtp_parameters(producer: *const sfu_producer, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let p = unsafe { handle(producer, "producer") }?;
        *out = json_string(p.inner.rtp_parameters())?;
        Ok(())
    })
}

/// Stops forwarding the producer's media; its consumers get a `producerPause` event.
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_pause(producer: *const sfu_producer) -> sfu_result {
    ffi_call(|| Ok(unsafe { handle(producer, "producer") }?.inner.pause_blocking()?))
}

/// Resumes forwarding; consumers get `producerResume` (video consumers ask for a key frame).
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_resume(producer: *const sfu_producer) -> sfu_result {
    ffi_call(|| Ok(unsafe { handle(producer, "producer") }?.inner.resume_blocking()?))
}

/// mediasoup's `producer.getStats()` as JSON (an array, one entry per stream; free with
/// `sfu_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_get_stats(producer: *const sfu_producer, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let p = unsafe { handle(producer, "producer") }?;
        *out = json_string(&p.inner.get_stats_blocking()?)?;
        Ok(())
    })
}

/// mediasoup's `producer.dump()` as JSON (free with `sfu_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_dump(producer: *const sfu_producer, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let p = unsafe { handle(producer, "producer") }?;
        *out = json_string(&p.inner.dump_blocking()?)?;
        Ok(())
    })
}

/// mediasoup's `producer.enableTraceEvent()`: `types_json` is a JSON array of `"rtp"`, `"keyframe"`,
/// `"nack"`, `"pli"`, `"fir"`, `"sr"` (`[]` disables). Trace events reach the worker's event
/// callback as `{"targetId":…,"event":"trace","trace":{"type","timestamp","direction","info"}}`.
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_enable_trace_event(producer: *const sfu_producer, types_json: *const c_char) -> sfu_result {
    ffi_call(|| {
        let p = unsafe { handle(producer, "producer") }?;
        let types: Vec<String> = unsafe { crate::json_arg(types_json, "types_json", "types") }?;
        Ok(p.inner.enable_trace_event_blocking(types)?)
    })
}

/// Injects an RTP packet (producers of a direct transport): routed to the consumers as if a
/// remote had sent it. `data` is borrowed for the call (the engine copies it). Fails with
/// `SFU_UNSUPPORTED` for producers of other transports, `SFU_TYPE_ERROR` when it is not RTP.
#[no_mangle]
pub unsafe extern "C" fn sfu_producer_send(producer: *const sfu_producer, data: *const u8, len: usize) -> sfu_result {
    ffi_call(|| {
        let p = unsafe { handle(producer, "producer") }?;
        let packet = unsafe { crate::bytes_arg(data, len, "data") }?;
        Ok(p.inner.send(packet.to_vec())?)
    })
}
