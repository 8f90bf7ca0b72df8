//! `sfu_webrtc_server`: UDP/TCP ports shared by many WebRTC transports of one worker.

use std::ffi::{c_char, CString};

use sfu_core::WebRtcServer;

use crate::error::sfu_result;
use crate::panic::{ffi_call, ffi_value};
use crate::{free_handle, handle, id_cstring, json_string, out_arg};

/// A WebRtcServer handle. Created by `sfu_worker_create_webrtc_server`, released with
/// `sfu_webrtc_server_free`. Transports use it when created with its id as `webRtcServerId`.
pub struct sfu_webrtc_server {
    inner: WebRtcServer,
    id: CString,
}

impl sfu_webrtc_server {
    pub(crate) fn new(inner: WebRtcServer) -> Self {
        sfu_webrtc_server { id: id_cstring(inner.id()), inner }
    }
}

/// Closes the server, its ports and every WebRTC transport using it. Idempotent, returns at once;
/// NULL is a no-op. The handle stays valid until `sfu_webrtc_server_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_server_close(server: *const sfu_webrtc_server) {
    ffi_value((), || {
        // SAFETY (all blocks in this file): the caller's pointer contract in the header.
        if let Ok(s) = unsafe { handle(server, "server") } {
            s.inner.close();
        }
    })
}

/// Releases the handle. The server stays open until closed (by `sfu_webrtc_server_close` or by its
/// worker closing). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_server_free(server: *mut sfu_webrtc_server) {
    ffi_value((), || unsafe { free_handle(server) })
}

/// The server's id (what `sfu_router_create_webrtc_transport` takes as `webRtcServerId`):
/// borrowed, valid until the handle is freed; NULL if `server` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_server_id(server: *const sfu_webrtc_server) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { handle(server, "server") }.map_or(std::ptr::null(), |s| s.id.as_ptr()))
}

/// Whether the server is closed (directly or by its worker); false for NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_server_closed(server: *const sfu_webrtc_server) -> bool {
    ffi_value(false, || unsafe { handle(server, "server") }.is_ok_and(|s| s.inner.closed()))
}

/// mediasoup's `webRtcServer.dump()` as JSON (`id`, `udpSockets`, `tcpServers`,
/// `webRtcTransportIds`, `localIceUsernameFragments`, `tupleHashes`; free with
/// `sfu_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_server_dump(server: *const sfu_webrtc_server, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let s = unsafe { handle(server, "server") }?;
        *out = json_string(&s.inner.dump_blocking()?)?;
        Ok(())
    })
}
