//! `sfu_rtp_observer`: an audio level or active speaker observer. Its reports arrive through the
//! event callback: `{"targetId":"<observer id>","event":"volumes","volumes":[{"producerId":"...",
//! "volume":-35}]}`, `{"event":"silence"}` and `{"event":"dominantSpeaker","producerId":"..."}`.

use std::ffi::{c_char, CString};

use sfu_core::RtpObserver;

use crate::error::sfu_result;
use crate::panic::{ffi_call, ffi_value};
use crate::{free_handle, handle, id_cstring, str_arg};

/// An observer handle. Created by `sfu_router_create_audio_level_observer` or
/// `sfu_router_create_active_speaker_observer`, released with `sfu_rtp_observer_free`.
pub struct sfu_rtp_observer {
    inner: RtpObserver,
    id: CString,
}

impl sfu_rtp_observer {
    pub(crate) fn new(inner: RtpObserver) -> Self {
        sfu_rtp_observer { id: id_cstring(inner.id()), inner }
    }
}

/// Closes the observer. Idempotent; NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_rtp_observer_close(observer: *const sfu_rtp_observer) {
    ffi_value((), || {
        // SAFETY (all blocks in this file): the caller's pointer contract in the header.
        if let Ok(o) = unsafe { handle(observer, "observer") } {
            o.inner.close();
        }
    })
}

/// Releases the handle. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_rtp_observer_free(observer: *mut sfu_rtp_observer) {
    ffi_value((), || unsafe { free_handle(observer) })
}

/// The observer's id (the `targetId` of its events): borrowed, valid until the handle is freed.
#[no_mangle]
pub unsafe extern "C" fn sfu_rtp_observer_id(observer: *const sfu_rtp_observer) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { handle(observer, "observer") }.map_or(std::ptr::null(), |o| o.id.as_ptr()))
}

/// Observes an audio producer of the router (`SFU_NOT_FOUND` for an unknown id,
/// `SFU_TYPE_ERROR` for a video producer).
#[no_mangle]
pub unsafe extern "C" fn sfu_rtp_observer_add_producer(observer: *const sfu_rtp_observer, producer_id: *const c_char) -> sfu_result {
    ffi_call(|| {
        let o = unsafe { handle(observer, "observer") }?;
        let id = unsafe { str_arg(producer_id, "producer_id") }?;
        Ok(o.inner.add_producer_blocking(id)?)
    })
}

/// Stops observing a producer.
#[no_mangle]
pub unsafe extern "C" fn sfu_rtp_observer_remove_producer(observer: *const sfu_rtp_observer, producer_id: *const c_char) -> sfu_result {
    ffi_call(|| {
        let o = unsafe { handle(observer, "observer") }?;
        let id = unsafe { str_arg(producer_id, "producer_id") }?;
        Ok(o.inner.remove_producer_blocking(id)?)
    })
}

/// Pauses (`paused` true) or resumes the observer.
#[no_mangle]
pub unsafe extern "C" fn sfu_rtp_observer_set_paused(observer: *const sfu_rtp_observer, paused: bool) -> sfu_result {
    ffi_call(|| {
        let o = unsafe { handle(observer, "observer") }?;
        Ok(if paused { o.inner.pause_blocking()? } else { o.inner.resume_blocking()? })
    })
}
