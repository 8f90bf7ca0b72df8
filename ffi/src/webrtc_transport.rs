//! `sfu_webrtc_transport`: ICE-lite + DTLS + SRTP towards a browser (mediasoup-client), with its
//! producers and consumers.

use std::ffi::{c_char, CStr, CString};

use serde::Deserialize;
use sfu_core::{DtlsParameters, DtlsState, IceState, TransportBase, WebRtcTransport};

use crate::consumer::sfu_consumer;
use crate::error::sfu_result;
use crate::panic::{ffi_call, ffi_value};
use crate::producer::sfu_producer;
use crate::transport_base::{self as base, TransportHandle};
use crate::{free_handle, handle, id_cstring, json_arg, json_string, out_arg, owned_string};

/// A WebRTC transport handle. Created by `sfu_router_create_webrtc_transport`, released with
/// `sfu_webrtc_transport_free`.
pub struct sfu_webrtc_transport {
    inner: WebRtcTransport,
    id: CString,
}

impl sfu_webrtc_transport {
    pub(crate) fn new(inner: WebRtcTransport) -> Self {
        sfu_webrtc_transport { id: id_cstring(inner.id()), inner }
    }
}

impl TransportHandle for sfu_webrtc_transport {
    fn base(&self) -> &TransportBase {
        &self.inner
    }
    fn id_cstr(&self) -> &CStr {
        &self.id
    }
}

/// `webRtcTransport.connect({dtlsParameters})`'s argument.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebRtcTransportConnect {
    dtls_parameters: DtlsParameters,
}

fn ice_state_name(state: IceState) -> &'static CStr {
    match state {
        IceState::New => c"new",
        IceState::Connected => c"connected",
        IceState::Completed => c"completed",
        IceState::Disconnected => c"disconnected",
        IceState::Closed => c"closed",
    }
}

fn dtls_state_name(state: DtlsState) -> &'static CStr {
    match state {
        DtlsState::New => c"new",
        DtlsState::Connecting => c"connecting",
        DtlsState::Connected => c"connected",
        DtlsState::Failed => c"failed",
        DtlsState::Closed => c"closed",
    }
}

/// Closes the transport with its producers and consumers (ICE and DTLS close; a connected peer
/// gets a DTLS close alert). Idempotent, returns at once; NULL is a no-op. The handle stays valid
/// until `sfu_webrtc_transport_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_close(transport: *const sfu_webrtc_transport) {
    // SAFETY (all blocks in this file): the caller's pointer contract in the header.
    ffi_value((), || unsafe { base::close(transport) })
}

/// Releases the handle. The transport stays open until closed (directly or by a cascade). NULL
/// is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_free(transport: *mut sfu_webrtc_transport) {
    ffi_value((), || unsafe { free_handle(transport) })
}

/// The transport's id: borrowed, valid until the handle is freed; NULL if `transport` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_id(transport: *const sfu_webrtc_transport) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { base::id(transport) })
}

/// Whether the transport is closed (directly, by a cascade, or by the close of the WebRtcServer
/// it uses); false for NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_closed(transport: *const sfu_webrtc_transport) -> bool {
    ffi_value(false, || unsafe { base::closed(transport) })
}

/// mediasoup's `webRtcTransport.iceParameters` as JSON:
/// `{"usernameFragment":"...","password":"...","iceLite":true}`, current after
/// `sfu_webrtc_transport_restart_ice`. Free with `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_ice_parameters(transport: *const sfu_webrtc_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let t = unsafe { handle(transport, "transport") }?;
        *out = json_string(&t.inner.ice_parameters())?;
        Ok(())
    })
}

/// mediasoup's `webRtcTransport.iceCandidates` as a JSON array, one host candidate per listen
/// address: `[{"foundation":"udpcandidate","priority":1076302079,"address":"127.0.0.1",
/// "ip":"127.0.0.1","protocol":"udp","port":40000,"type":"host"}, {..."protocol":"tcp",
/// "tcpType":"passive"}]`. Free with `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_ice_candidates(transport: *const sfu_webrtc_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let t = unsafe { handle(transport, "transport") }?;
        *out = json_string(&t.inner.ice_candidates())?;
        Ok(())
    })
}

/// mediasoup's `webRtcTransport.iceState` (static): `"new"`, `"connected"`, `"completed"`,
/// `"disconnected"`, or `"closed"` once the transport is closed; NULL if `transport` is NULL.
/// Changes arrive as `iceStateChange` events.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_ice_state(transport: *const sfu_webrtc_transport) -> *const c_char {
    ffi_value(std::ptr::null(), || {
        unsafe { handle(transport, "transport") }.map_or(std::ptr::null(), |t| {
            let state = if t.inner.closed() { IceState::Closed } else { t.inner.ice_state() };
            ice_state_name(state).as_ptr()
        })
    })
}

/// mediasoup's `webRtcTransport.iceSelectedTuple` as JSON (`{"localAddress":"127.0.0.1",
/// "localIp":"127.0.0.1","localPort":40000,"remoteIp":"127.0.0.1","remotePort":53211,
/// "protocol":"udp"}`) once ICE selected one; else, and once closed, `*out_json` is set to NULL.
/// Changes arrive as `iceSelectedTupleChange` events. Free with `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_ice_selected_tuple(transport: *const sfu_webrtc_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let t = unsafe { handle(transport, "transport") }?;
        if let Some(tuple) = t.inner.ice_selected_tuple().filter(|_| !t.inner.closed()) {
            *out = json_string(&tuple)?;
        }
        Ok(())
    })
}

/// mediasoup's `webRtcTransport.dtlsParameters` as JSON: `{"role":"auto","fingerprints":
/// [{"algorithm":"sha-256","value":"AB:CD:..."}, ...]}` (`role` is `client` or `server` after
/// `sfu_webrtc_transport_connect`). Free with `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_dtls_parameters(transport: *const sfu_webrtc_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let t = unsafe { handle(transport, "transport") }?;
        *out = json_string(&t.inner.dtls_parameters())?;
        Ok(())
    })
}

/// mediasoup's `webRtcTransport.dtlsState` (static): `"new"` (before `connect`), `"connecting"`,
/// `"connected"`, `"failed"`, or `"closed"` (by the peer, or once the transport is closed); NULL
/// if `transport` is NULL. Changes arrive as `dtlsStateChange` events.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_dtls_state(transport: *const sfu_webrtc_transport) -> *const c_char {
    ffi_value(std::ptr::null(), || {
        unsafe { handle(transport, "transport") }.map_or(std::ptr::null(), |t| {
            let state = if t.inner.closed() { DtlsState::Closed } else { t.inner.dtls_state() };
            dtls_state_name(state).as_ptr()
        })
    })
}

/// mediasoup's `webRtcTransport.dtlsRemoteCert`: the peer's certificate in PEM once DTLS
/// connected, else `*out_pem` is set to NULL. Free with `sfu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_dtls_remote_cert(transport: *const sfu_webrtc_transport, out_pem: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_pem, "out_pem") }?;
        let t = unsafe { handle(transport, "transport") }?;
        if let Some(pem) = t.inner.dtls_remote_cert() {
            *out = owned_string(pem);
        }
        Ok(())
    })
}

/// mediasoup's `webRtcTransport.connect()`: gives the peer's DTLS parameters and starts the
/// handshake once ICE has a tuple. `params_json` is
/// `{"dtlsParameters":{"role":"client","fingerprints":[{"algorithm":"sha-256","value":"..."}]}}`
/// (`role` `auto`, `client` or `server`; default `auto`). A missing or malformed field fails with
/// `SFU_TYPE_ERROR` naming it (`params.dtlsParameters.fingerprints`); a second call fails with
/// `SFU_INVALID_STATE`.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_connect(transport: *const sfu_webrtc_transport, params_json: *const c_char) -> sfu_result {
    ffi_call(|| {
        let t = unsafe { handle(transport, "transport") }?;
        let params: WebRtcTransportConnect = unsafe { json_arg(params_json, "params_json", "params") }?;
        Ok(t.inner.connect_blocking(params.dtls_parameters)?)
    })
}

/// mediasoup's `webRtcTransport.restartIce()`: new local ICE credentials, returned as JSON like
/// `sfu_webrtc_transport_ice_parameters` (free with `sfu_string_free`). The peer's checks with the
/// previous credentials keep working until it uses the new ones.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_restart_ice(transport: *const sfu_webrtc_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let t = unsafe { handle(transport, "transport") }?;
        *out = json_string(&t.inner.restart_ice_blocking()?)?;
        Ok(())
    })
}

/// mediasoup's `transport.setMaxIncomingBitrate()`: caps what the remote's producers send on
/// this transport, announced to them as REMB (bps; 0 removes the cap). `SFU_TYPE_ERROR` when it
/// is below the minimum set with `sfu_webrtc_transport_set_min_incoming_bitrate`.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_set_max_incoming_bitrate(transport: *const sfu_webrtc_transport, bitrate: u32) -> sfu_result {
    ffi_call(|| Ok(unsafe { handle(transport, "transport") }?.inner.set_max_incoming_bitrate_blocking(bitrate)?))
}

/// `transport.setMinIncomingBitrate()`: the lowest estimate announced (REMB) to the remote's
/// producers that use REMB rather than transport-cc (bps; 0 removes the floor).
/// `SFU_TYPE_ERROR` when it is above the maximum incoming bitrate.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_set_min_incoming_bitrate(transport: *const sfu_webrtc_transport, bitrate: u32) -> sfu_result {
    ffi_call(|| Ok(unsafe { handle(transport, "transport") }?.inner.set_min_incoming_bitrate_blocking(bitrate)?))
}

/// mediasoup's `transport.setMaxOutgoingBitrate()`: the highest send-side estimate (bps; 0
/// restores the default, 10 Mbit/s). `SFU_TYPE_ERROR` when below the minimum.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_set_max_outgoing_bitrate(transport: *const sfu_webrtc_transport, bitrate: u32) -> sfu_result {
    ffi_call(|| Ok(unsafe { handle(transport, "transport") }?.inner.set_outgoing_bitrate_bounds_blocking(None, Some(bitrate))?))
}

/// mediasoup's `transport.setMinOutgoingBitrate()`: the lowest send-side estimate (bps; 0
/// restores the default, 30 kbit/s). `SFU_TYPE_ERROR` when above the maximum.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_set_min_outgoing_bitrate(transport: *const sfu_webrtc_transport, bitrate: u32) -> sfu_result {
    ffi_call(|| Ok(unsafe { handle(transport, "transport") }?.inner.set_outgoing_bitrate_bounds_blocking(Some(bitrate), None)?))
}

/// mediasoup's `transport.produce()`, as `sfu_plain_transport_produce`; with a browser the
/// options are what mediasoup-client's `produce` sends (`kind`, `rtpParameters` with `mid` and
/// header extensions). On success `*out_producer` receives the handle.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_produce(
    transport: *const sfu_webrtc_transport,
    options_json: *const c_char,
    out_producer: *mut *mut sfu_producer,
) -> sfu_result {
    ffi_call(|| unsafe { base::produce(transport, options_json, out_producer) })
}

/// mediasoup's `transport.consume()`, as `sfu_plain_transport_consume`: `{"producerId":"...",
/// "rtpCapabilities":{...the device's...},"paused":true}`. On success `*out_consumer` receives the
/// handle.
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_consume(
    transport: *const sfu_webrtc_transport,
    options_json: *const c_char,
    out_consumer: *mut *mut sfu_consumer,
) -> sfu_result {
    ffi_call(|| unsafe { base::consume(transport, options_json, out_consumer) })
}

/// mediasoup's `transport.getStats()` as JSON (an array with one `webrtc-transport` entry, which
/// also has `iceState`, `dtlsState`, `iceSelectedTuple` and `iceDroppedRequests`; free with
/// `sfu_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_get_stats(transport: *const sfu_webrtc_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| unsafe { base::get_stats(transport, out_json) })
}

/// mediasoup's `transport.dump()` as JSON (with `iceParameters`, `iceCandidates`, `iceState`,
/// `dtlsParameters`, `dtlsState`; free with `sfu_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sfu_webrtc_transport_dump(transport: *const sfu_webrtc_transport, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| unsafe { base::dump(transport, out_json) })
}
