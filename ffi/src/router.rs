//! `sfu_router`: a set of transports whose producers and consumers can reach each other.

use std::ffi::{c_char, CString};

use sfu_core::{PlainTransportOptions, Router, WebRtcTransportOptions};

use crate::error::sfu_result;
use crate::panic::{ffi_call, ffi_value};
use crate::transport::sfu_plain_transport;
use crate::webrtc_transport::sfu_webrtc_transport;
use crate::{free_handle, handle, id_cstring, into_handle, json_arg, json_string, opt_json_arg, out_arg, str_arg};

/// A router handle. Created by `sfu_worker_create_router`, released with `sfu_router_free`.
pub struct sfu_router {
    pub(crate) inner: Router,
    id: CString,
}

impl sfu_router {
    pub(crate) fn new(inner: Router) -> Self {
        sfu_router { id: id_cstring(inner.id()), inner }
    }
}

/// Closes the router with its transports, producers and consumers. Idempotent, returns at once;
/// NULL is a no-op. The handle stays valid until `sfu_router_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_router_close(router: *const sfu_router) {
    ffi_value((), || {
        // SAFETY (all blocks in this file): the caller's pointer contract in the header.
        if let Ok(r) = unsafe { handle(router, "router") } {
            r.inner.close();
        }
    })
}

/// Releases the handle. The router itself stays open until closed (by `sfu_router_close` or by
/// its worker closing). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_router_free(router: *mut sfu_router) {
    ffi_value((), || unsafe { free_handle(router) })
}

/// The router's id: borrowed, valid until the handle is freed; NULL if `router` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_router_id(router: *const sfu_router) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { handle(router, "router") }.map_or(std::ptr::null(), |r| r.id.as_ptr()))
}

/// Whether the router is closed (directly or by its worker); false for NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_router_closed(router: *const sfu_router) -> bool {
    ffi_value(false, || unsafe { handle(router, "router") }.is_ok_and(|r| r.inner.closed()))
}

/// mediasoup's `router.rtpCapabilities` as JSON (free with `sfu_string_free`). Also what a plain
/// RTP receiver passes as `rtpCapabilities` to consume everything the router routes.
#[no_mangle]
pub unsafe extern "C" fn sfu_router_rtp_capabilities(router: *const sfu_router, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let r = unsafe { handle(router, "router") }?;
        *out = json_string(r.inner.rtp_capabilities())?;
        Ok(())
    })
}

/// mediasoup's `router.canConsume({producerId, rtpCapabilities})`: `*out_can_consume` is true
/// when a remote with `rtp_capabilities_json` can consume the producer; false for an unknown
/// producer or unusable capabilities (not an error, as in mediasoup).
#[no_mangle]
pub unsafe extern "C" fn sfu_router_can_consume(
    router: *const sfu_router,
    producer_id: *const c_char,
    rtp_capabilities_json: *const c_char,
    out_can_consume: *mut bool,
) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_can_consume, "out_can_consume") }?;
        let r = unsafe { handle(router, "router") }?;
        let producer_id = unsafe { str_arg(producer_id, "producer_id") }?;
        let caps: serde_json::Value = unsafe { json_arg(rtp_capabilities_json, "rtp_capabilities_json", "rtpCapabilities") }?;
        *out = r.inner.can_consume_blocking(producer_id, caps);
        Ok(())
    })
}

/// mediasoup's `router.dump()` as JSON (free with `sfu_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sfu_router_dump(router: *const sfu_router, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let r = unsafe { handle(router, "router") }?;
        *out = json_string(&r.inner.dump_blocking()?)?;
        Ok(())
    })
}

/// Creates a plain (RTP over UDP, no ICE/DTLS) transport. `options_json` is mediasoup's
/// `createPlainTransport()` options:
/// `{"listenInfo":{"protocol":"udp","ip":"127.0.0.1","portRange":{"min":40000,"max":40100}},
/// "rtcpMux":true,"comedia":false}`. On success `*out_transport` receives the handle.
#[no_mangle]
pub unsafe extern "C" fn sfu_router_create_plain_transport(
    router: *const sfu_router,
    options_json: *const c_char,
    out_transport: *mut *mut sfu_plain_transport,
) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_transport, "out_transport") }?;
        let r = unsafe { handle(router, "router") }?;
        let options: PlainTransportOptions = unsafe { json_arg(options_json, "options_json", "options") }?;
        *out = into_handle(sfu_plain_transport::new(r.inner.create_plain_transport_blocking(options)?));
        Ok(())
    })
}

/// Creates a direct transport: RTP and data to and from the application (see
/// `sfu_worker_set_payload_callback`). `options_json`: `{"maxMessageSize":262144}` or NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_router_create_direct_transport(
    router: *const sfu_router,
    options_json: *const c_char,
    out_transport: *mut *mut crate::direct_transport::sfu_direct_transport,
) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_transport, "out_transport") }?;
        let r = unsafe { handle(router, "router") }?;
        let options: sfu_core::DirectTransportOptions = unsafe { opt_json_arg(options_json, "options_json", "options") }?.unwrap_or_default();
        *out = into_handle(crate::direct_transport::sfu_direct_transport::new(r.inner.create_direct_transport_blocking(options)?));
        Ok(())
    })
}

/// Creates an audio level observer: `{"maxEntries":1,"threshold":-80,"interval":1000}` (or
/// NULL for these defaults). Its `volumes`/`silence` events arrive through the event callback.
#[no_mangle]
pub unsafe extern "C" fn sfu_router_create_audio_level_observer(
    router: *const sfu_router,
    options_json: *const c_char,
    out_observer: *mut *mut crate::rtp_observer::sfu_rtp_observer,
) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_observer, "out_observer") }?;
        let r = unsafe { handle(router, "router") }?;
        let options: sfu_core::AudioLevelObserverOptions = unsafe { opt_json_arg(options_json, "options_json", "options") }?.unwrap_or_default();
        *out = into_handle(crate::rtp_observer::sfu_rtp_observer::new(r.inner.create_audio_level_observer_blocking(options)?));
        Ok(())
    })
}

/// Creates an active speaker observer: `{"interval":300}` (or NULL). Its `dominantSpeaker`
/// events arrive through the event callback.
#[no_mangle]
pub unsafe extern "C" fn sfu_router_create_active_speaker_observer(
    router: *const sfu_router,
    options_json: *const c_char,
    out_observer: *mut *mut crate::rtp_observer::sfu_rtp_observer,
) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_observer, "out_observer") }?;
        let r = unsafe { handle(router, "router") }?;
        let options: sfu_core::ActiveSpeakerObserverOptions = unsafe { opt_json_arg(options_json, "options_json", "options") }?.unwrap_or_default();
        *out = into_handle(crate::rtp_observer::sfu_rtp_observer::new(r.inner.create_active_speaker_observer_blocking(options)?));
        Ok(())
    })
}

/// Creates a WebRTC (ICE-lite, DTLS, SRTP) transport. `options_json` is mediasoup's
/// `createWebRtcTransport()` options, with own ports:
/// `{"listenInfos":[{"protocol":"udp","ip":"0.0.0.0","announcedAddress":"203.0.113.5"},
/// {"protocol":"tcp","ip":"0.0.0.0"}],"preferUdp":true}`, or a WebRtcServer's shared ports, given
/// by its id (the C face's stand-in for mediasoup's `webRtcServer` object):
/// `{"webRtcServerId":"<sfu_webrtc_server_id()>"}` (an unknown id fails with `SFU_NOT_FOUND`).
/// Also `enableUdp`, `enableTcp` (filter the listen infos), `preferUdp`, `preferTcp`,
/// `iceConsentTimeout` (seconds, default 30), `initialAvailableOutgoingBitrate`. Send the peer
/// `sfu_webrtc_transport_ice_parameters`, `_ice_candidates` and `_dtls_parameters`. On success
/// `*out_transport` receives the handle.
#[no_mangle]
pub unsafe extern "C" fn sfu_router_create_webrtc_transport(
    router: *const sfu_router,
    options_json: *const c_char,
    out_transport: *mut *mut sfu_webrtc_transport,
) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_transport, "out_transport") }?;
        let r = unsafe { handle(router, "router") }?;
        let options: WebRtcTransportOptions = unsafe { json_arg(options_json, "options_json", "options") }?;
        *out = into_handle(sfu_webrtc_transport::new(r.inner.create_webrtc_transport_blocking(options)?));
        Ok(())
    })
}
