//! `sfu_data_producer` / `sfu_data_consumer`: data channels (SCTP streams of WebRTC transports,
//! or messages of a direct transport).

use std::ffi::{c_char, CString};

use sfu_core::{DataConsumer, DataProducer};

use crate::error::sfu_result;
use crate::panic::{ffi_call, ffi_value};
use crate::{bytes_arg, free_handle, handle, id_cstring, json_string, out_arg};

/// A data producer handle, released with `sfu_data_producer_free`.
pub struct sfu_data_producer {
    inner: DataProducer,
    id: CString,
}

impl sfu_data_producer {
    pub(crate) fn new(inner: DataProducer) -> Self {
        sfu_data_producer { id: id_cstring(inner.id()), inner }
    }
}

/// A data consumer handle, released with `sfu_data_consumer_free`.
pub struct sfu_data_consumer {
    inner: DataConsumer,
    id: CString,
}

impl sfu_data_consumer {
    pub(crate) fn new(inner: DataConsumer) -> Self {
        sfu_data_consumer { id: id_cstring(inner.id()), inner }
    }
}

/// Closes the data producer; its data consumers close (`closed` events with reason
/// `dataProducerClosed`). Idempotent; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_data_producer_close(data_producer: *const sfu_data_producer) {
    ffi_value((), || {
        // SAFETY (all blocks in this file): the caller's pointer contract in the header.
        if let Ok(d) = unsafe { handle(data_producer, "data_producer") } {
            d.inner.close();
        }
    })
}

/// Releases the handle. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_data_producer_free(data_producer: *mut sfu_data_producer) {
    ffi_value((), || unsafe { free_handle(data_producer) })
}

/// The data producer's id (what consume_data takes as `dataProducerId`): borrowed, valid until
/// the handle is freed; NULL if `data_producer` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_data_producer_id(data_producer: *const sfu_data_producer) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { handle(data_producer, "data_producer") }.map_or(std::ptr::null(), |d| d.id.as_ptr()))
}

/// Sends a message (data producers of a direct transport): `ppid` 51 text, 53 binary, 56/57
/// empty text/binary; `data` is borrowed for the call. `subchannels_json` (NULL or `[1,2]`)
/// limits delivery to data consumers subscribed to one of them; `required_subchannel` < 0 means
/// none. Fails with `SFU_TYPE_ERROR` over the transport's `maxMessageSize`, `SFU_UNSUPPORTED`
/// for SCTP data producers.
#[no_mangle]
pub unsafe extern "C" fn sfu_data_producer_send(
    data_producer: *const sfu_data_producer,
    ppid: u32,
    data: *const u8,
    len: usize,
    subchannels_json: *const c_char,
    required_subchannel: i32,
) -> sfu_result {
    ffi_call(|| {
        let d = unsafe { handle(data_producer, "data_producer") }?;
        let message = unsafe { bytes_arg(data, len, "data") }?.to_vec();
        let subchannels: Option<Vec<u16>> = unsafe { crate::opt_json_arg(subchannels_json, "subchannels_json", "subchannels") }?;
        let required = match required_subchannel {
            r if r < 0 => None,
            r => Some(u16::try_from(r).map_err(|_| sfu_core::Error::type_err("required_subchannel must be -1 or 0..=65535"))?),
        };
        Ok(d.inner.send_blocking(ppid, message, subchannels, required)?)
    })
}

/// Pauses (`paused` true) or resumes the data producer.
#[no_mangle]
pub unsafe extern "C" fn sfu_data_producer_set_paused(data_producer: *const sfu_data_producer, paused: bool) -> sfu_result {
    ffi_call(|| {
        let d = unsafe { handle(data_producer, "data_producer") }?;
        Ok(if paused { d.inner.pause_blocking()? } else { d.inner.resume_blocking()? })
    })
}

/// mediasoup's `dataProducer.getStats()` as JSON. Free with `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_data_producer_get_stats(data_producer: *const sfu_data_producer, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let d = unsafe { handle(data_producer, "data_producer") }?;
        *out = json_string(&d.inner.get_stats_blocking()?)?;
        Ok(())
    })
}

/// Closes the data consumer. Idempotent; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_data_consumer_close(data_consumer: *const sfu_data_consumer) {
    ffi_value((), || {
        if let Ok(d) = unsafe { handle(data_consumer, "data_consumer") } {
            d.inner.close();
        }
    })
}

/// Releases the handle. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_data_consumer_free(data_consumer: *mut sfu_data_consumer) {
    ffi_value((), || unsafe { free_handle(data_consumer) })
}

/// The data consumer's id (the `target_id` of its messages in the payload callback): borrowed,
/// valid until the handle is freed; NULL if `data_consumer` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_data_consumer_id(data_consumer: *const sfu_data_consumer) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { handle(data_consumer, "data_consumer") }.map_or(std::ptr::null(), |d| d.id.as_ptr()))
}

/// Pauses (`paused` true) or resumes the data consumer.
#[no_mangle]
pub unsafe extern "C" fn sfu_data_consumer_set_paused(data_consumer: *const sfu_data_consumer, paused: bool) -> sfu_result {
    ffi_call(|| {
        let d = unsafe { handle(data_consumer, "data_consumer") }?;
        Ok(if paused { d.inner.pause_blocking()? } else { d.inner.resume_blocking()? })
    })
}

/// mediasoup's `dataConsumer.getStats()` as JSON. Free with `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_data_consumer_get_stats(data_consumer: *const sfu_data_consumer, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let d = unsafe { handle(data_consumer, "data_consumer") }?;
        *out = json_string(&d.inner.get_stats_blocking()?)?;
        Ok(())
    })
}
