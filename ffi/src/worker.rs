//! `sfu_worker`: a media thread with its routers, and the event callback.

use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use parking_lot::ReentrantMutex;
use sfu_core::{Event, EventKind, RouterOptions, Subscription, WebRtcServerOptions, Worker, WorkerSettings, WorkerUpdateableSettings};

use crate::error::sfu_result;
use crate::panic::{ffi_call, ffi_value};
use crate::router::sfu_router;
use crate::webrtc_server::sfu_webrtc_server;
use crate::{free_handle, handle, id_cstring, into_handle, json_arg, json_string, opt_json_arg, out_arg, owned_string};

/// Receives one event as JSON, e.g.
/// `{"targetId":"<producer id>","event":"closed","object":"producer","reason":"transportClosed"}`
/// or `{"targetId":"<transport id>","event":"tuple","tuple":{...}}`. `event` is one of `closed`
/// (`object` is `worker`, `router`, `transport`, `producer`, `consumer` or `webRtcServer`),
/// `producerPause`, `producerResume`, `tuple`, `rtcpTuple`, `died`, and for WebRTC transports:
///
/// - `{"targetId":"<transport id>","event":"iceStateChange","iceState":"completed"}`
///   (`connected`, `completed`, `disconnected`);
/// - `{"targetId":"<transport id>","event":"iceSelectedTupleChange","iceSelectedTuple":{...}}`
///   (the tuple as `sfu_webrtc_transport_ice_selected_tuple` returns it);
/// - `{"targetId":"<transport id>","event":"dtlsStateChange","dtlsState":"connected",
///   "dtlsRemoteCert":"-----BEGIN CERTIFICATE-----..."}` (`connecting`, `connected`, `failed`,
///   `closed`; `dtlsRemoteCert` only with `connected`).
///
/// Also: `score`, `layersChange` (consumers), `trace` (after `*_enable_trace_event`),
/// `dataProducerPause`/`dataProducerResume`, `bufferedAmountLow`, `sctpSendBufferFull` (data
/// consumers), `sctpStateChange` (transports), `volumes`/`silence`/`dominantSpeaker` (RTP
/// observers), and `socketError` (transports; not in mediasoup): a send refused or an ICMP
/// error for the remote, e.g. `{"targetId":"<transport id>","event":"socketError",
/// "error":"ECONNREFUSED","errno":111,"origin":"icmp","icmpType":3,"icmpCode":3,
/// "remoteIp":"127.0.0.1","remotePort":5004,"protocol":"udp","offenderIp":"127.0.0.1",
/// "message":"...","count":12}` (`origin` `send` for a refused send, e.g. `EPERM`; at most one
/// a second per transport, `count` errors since the previous one). Packets and messages of direct transports go to the payload callback instead
/// (`sfu_worker_set_payload_callback`).
///
/// `targetId` is the id of the object the event is about (the worker's id for `died` and for the
/// worker's own `closed`).
///
/// Runs **on the worker's thread**. `event_json` is borrowed for the duration of the call. The
/// callback must return quickly and must not block; a blocking libsfu call made from it (any call
/// that asks the worker, e.g. `sfu_router_dump`) fails with `SFU_INVALID_STATE`: hand the work to
/// another thread instead. `_close`, `_free`, property getters and
/// `sfu_worker_set_event_callback` may be called from it.
pub type sfu_event_callback = Option<unsafe extern "C" fn(event_json: *const c_char, user_data: *mut c_void)>;

/// What a payload handed to the application is.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sfu_payload_kind {
    /// An RTP packet a consumer of a direct transport sends; `target_id` is the consumer's id.
    SFU_PAYLOAD_RTP = 0,
    /// An RTCP packet the engine sends on a direct transport; `target_id` is the transport's id.
    SFU_PAYLOAD_RTCP = 1,
    /// A message for a data consumer of a direct transport; `target_id` is the data consumer's
    /// id and `ppid` says what it is (51 text, 53 binary, 56/57 empty).
    SFU_PAYLOAD_MESSAGE = 2,
}

/// Receives the packets and messages direct transports hand to the application: `data`/`len`
/// is borrowed for the duration of the call (copy what you keep), `ppid` is 0 except for
/// messages. Runs on the worker's thread with the same rules as `sfu_event_callback`.
pub type sfu_payload_callback =
    Option<unsafe extern "C" fn(target_id: *const c_char, kind: sfu_payload_kind, data: *const u8, len: usize, ppid: u32, user_data: *mut c_void)>;

#[derive(Clone, Copy)]
struct EventSink {
    callback: unsafe extern "C" fn(*const c_char, *mut c_void),
    user_data: *mut c_void,
}

type PayloadFn = unsafe extern "C" fn(*const c_char, sfu_payload_kind, *const u8, usize, u32, *mut c_void);

#[derive(Clone, Copy)]
struct PayloadSink {
    callback: PayloadFn,
    user_data: *mut c_void,
}

/// Both registered callbacks.
#[derive(Clone, Copy, Default)]
struct Sinks {
    event: Option<EventSink>,
    payload: Option<PayloadSink>,
}

// SAFETY: the C caller hands `user_data` to the worker thread by registering the callback; its
// thread-safety is the caller's contract (documented on sfu_worker_set_event_callback).
unsafe impl Send for Sinks {}

/// The registered callbacks. Reentrant so that a callback itself may replace or clear them;
/// held while a callback runs so that replacing it from another thread waits for the call.
type EventSlot = ReentrantMutex<Cell<Sinks>>;

fn deliver(slot: &EventSlot, event: &Event) {
    let guard = slot.lock();
    let sinks = guard.get();
    let (kind, data, ppid) = match &event.kind {
        EventKind::Rtp { packet } => (sfu_payload_kind::SFU_PAYLOAD_RTP, packet, 0),
        EventKind::Rtcp { packet } => (sfu_payload_kind::SFU_PAYLOAD_RTCP, packet, 0),
        EventKind::Message { ppid, message } => (sfu_payload_kind::SFU_PAYLOAD_MESSAGE, message, *ppid),
        _ => {
            let Some(sink) = sinks.event else { return };
            let Ok(text) = serde_json::to_string(event) else { return };
            let Ok(text) = CString::new(text) else { return };
            // SAFETY: the callback and user_data were registered together by the C caller.
            unsafe { (sink.callback)(text.as_ptr(), sink.user_data) };
            return;
        }
    };
    let Some(sink) = sinks.payload else { return };
    let target = id_cstring(&event.target_id);
    // SAFETY: as above; `data` outlives the call.
    unsafe { (sink.callback)(target.as_ptr(), kind, data.as_ptr(), data.len(), ppid, sink.user_data) };
}

/// A worker: one media thread owning its routers. Create with `sfu_worker_new`, release with
/// `sfu_worker_free` (which also closes it).
pub struct sfu_worker {
    pub(crate) inner: Worker,
    id: CString,
    events: Arc<EventSlot>,
    _subscription: Subscription,
}

/// Starts a worker thread. `settings_json` is mediasoup's `createWorker()` settings
/// (`{"logLevel":"warn","rtcMinPort":40000,"rtcMaxPort":49999}`) or NULL for the defaults;
/// unknown settings are ignored. On success `*out_worker` receives the handle.
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_new(settings_json: *const c_char, out_worker: *mut *mut sfu_worker) -> sfu_result {
    ffi_call(|| {
        // SAFETY (all blocks in this file): the caller's pointer contract in the header.
        let out = unsafe { out_arg(out_worker, "out_worker") }?;
        let settings: WorkerSettings = unsafe { opt_json_arg(settings_json, "settings_json", "settings") }?.unwrap_or_default();
        let worker = Worker::new(settings)?;
        let events: Arc<EventSlot> = Arc::new(ReentrantMutex::new(Cell::new(Sinks::default())));
        let slot = events.clone();
        let subscription = worker.subscribe(move |ev| deliver(&slot, ev));
        *out = into_handle(sfu_worker { id: id_cstring(worker.id()), inner: worker, events, _subscription: subscription });
        Ok(())
    })
}

/// Closes the worker: every WebRtcServer, router, transport, producer and consumer it owns is
/// closed (their `closed` events are delivered) and the thread exits before this returns (unless
/// called from the event callback, which runs on that thread). Idempotent; NULL is a no-op.
/// Handles of the worker's objects stay valid to free; calls on them fail with
/// `SFU_WORKER_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_close(worker: *const sfu_worker) {
    ffi_value((), || {
        if let Ok(w) = unsafe { handle(worker, "worker") } {
            w.inner.close();
        }
    })
}

/// Closes the worker (as `sfu_worker_close`) and releases the handle. When this returns the event
/// callback will not be called again and, unless this is called from inside it, is not running.
/// NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_free(worker: *mut sfu_worker) {
    ffi_value((), || {
        if let Ok(w) = unsafe { handle(worker, "worker") } {
            w.inner.close();
            w.events.lock().set(Sinks::default());
        }
        unsafe { free_handle(worker) };
    })
}

/// Registers the function that receives the events of this worker and of all its objects,
/// replacing any previous one; NULL `callback` removes it. `user_data` is passed back on every
/// call, from the worker's thread (see `sfu_event_callback`). When this returns, the previous
/// callback is not running (except when called from inside that callback) and will not be called
/// again.
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_set_event_callback(worker: *const sfu_worker, callback: sfu_event_callback, user_data: *mut c_void) -> sfu_result {
    ffi_call(|| {
        let w = unsafe { handle(worker, "worker") }?;
        let slot = w.events.lock();
        slot.set(Sinks { event: callback.map(|callback| EventSink { callback, user_data }), ..slot.get() });
        Ok(())
    })
}

/// Registers the function that receives the RTP/RTCP packets and data messages this worker's
/// direct transports hand to the application, replacing any previous one; NULL removes it.
/// Same threading rules as `sfu_worker_set_event_callback`.
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_set_payload_callback(worker: *const sfu_worker, callback: sfu_payload_callback, user_data: *mut c_void) -> sfu_result {
    ffi_call(|| {
        let w = unsafe { handle(worker, "worker") }?;
        let slot = w.events.lock();
        slot.set(Sinks { payload: callback.map(|callback| PayloadSink { callback, user_data }), ..slot.get() });
        Ok(())
    })
}

/// The worker's id: borrowed, valid until the handle is freed; NULL if `worker` is NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_id(worker: *const sfu_worker) -> *const c_char {
    ffi_value(std::ptr::null(), || unsafe { handle(worker, "worker") }.map_or(std::ptr::null(), |w| w.id.as_ptr()))
}

/// Whether the worker is closed (by `sfu_worker_close` or because it died); false for NULL.
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_closed(worker: *const sfu_worker) -> bool {
    ffi_value(false, || unsafe { handle(worker, "worker") }.is_ok_and(|w| w.inner.closed()))
}

/// Whether the worker thread died (a bug inside libsfu; mediasoup's `died` event): `*out_reason`
/// receives the panic message (free with `sfu_string_free`), or NULL while the worker lives or
/// after a normal close.
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_died(worker: *const sfu_worker, out_reason: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_reason, "out_reason") }?;
        let w = unsafe { handle(worker, "worker") }?;
        if let Some(reason) = w.inner.died() {
            *out = owned_string(reason);
        }
        Ok(())
    })
}

/// mediasoup's `worker.dump()` as JSON (free with `sfu_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_dump(worker: *const sfu_worker, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let w = unsafe { handle(worker, "worker") }?;
        *out = json_string(&w.inner.dump_blocking()?)?;
        Ok(())
    })
}

/// mediasoup's `worker.getResourceUsage()` as JSON (`{"ru_utime":..., ...}`; free with
/// `sfu_string_free`).
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_get_resource_usage(worker: *const sfu_worker, out_json: *mut *mut c_char) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_json, "out_json") }?;
        let w = unsafe { handle(worker, "worker") }?;
        *out = json_string(&w.inner.get_resource_usage_blocking()?)?;
        Ok(())
    })
}

/// mediasoup's `worker.updateSettings()`: `{"logLevel":"debug","logTags":["rtp"]}`.
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_update_settings(worker: *const sfu_worker, settings_json: *const c_char) -> sfu_result {
    ffi_call(|| {
        let w = unsafe { handle(worker, "worker") }?;
        let settings: WorkerUpdateableSettings = unsafe { json_arg(settings_json, "settings_json", "settings") }?;
        Ok(w.inner.update_settings_blocking(settings)?)
    })
}

/// Creates a router. `options_json` is mediasoup's `createRouter()` options:
/// `{"mediaCodecs":[{"kind":"audio","mimeType":"audio/opus","clockRate":48000,"channels":2}, ...]}`.
/// An unknown codec fails with `SFU_UNSUPPORTED`. On success `*out_router` receives the handle.
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_create_router(worker: *const sfu_worker, options_json: *const c_char, out_router: *mut *mut sfu_router) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_router, "out_router") }?;
        let w = unsafe { handle(worker, "worker") }?;
        let options: RouterOptions = unsafe { json_arg(options_json, "options_json", "options") }?;
        *out = into_handle(sfu_router::new(w.inner.create_router_blocking(options)?));
        Ok(())
    })
}

/// Creates a WebRtcServer: UDP/TCP ports that many WebRTC transports of this worker share (they
/// are told apart by ICE username fragment, then by remote address). `options_json` is mediasoup's
/// `createWebRtcServer()` options, usually with fixed ports:
/// `{"listenInfos":[{"protocol":"udp","ip":"0.0.0.0","announcedAddress":"203.0.113.5","port":44444},
/// {"protocol":"tcp","ip":"0.0.0.0","port":44444}]}`. An empty `listenInfos` fails with
/// `SFU_TYPE_ERROR`, a port that cannot be bound with `SFU_IO_ERROR`. Transports use it through
/// `{"webRtcServerId":"<sfu_webrtc_server_id()>"}` in `sfu_router_create_webrtc_transport`. On
/// success `*out_server` receives the handle.
#[no_mangle]
pub unsafe extern "C" fn sfu_worker_create_webrtc_server(
    worker: *const sfu_worker,
    options_json: *const c_char,
    out_server: *mut *mut sfu_webrtc_server,
) -> sfu_result {
    ffi_call(|| {
        let out = unsafe { out_arg(out_server, "out_server") }?;
        let w = unsafe { handle(worker, "worker") }?;
        let options: WebRtcServerOptions = unsafe { json_arg(options_json, "options_json", "options") }?;
        *out = into_handle(sfu_webrtc_server::new(w.inner.create_webrtc_server_blocking(options)?));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    struct Seen {
        died: AtomicUsize,
        events: Mutex<Vec<String>>,
    }

    unsafe extern "C" fn record(json: *const c_char, ud: *mut c_void) {
        let seen = unsafe { &*(ud as *const Seen) };
        let text = unsafe { std::ffi::CStr::from_ptr(json) }.to_str().unwrap().to_owned();
        if text.contains("\"event\":\"died\"") {
            seen.died.fetch_add(1, Ordering::SeqCst);
        }
        seen.events.lock().unwrap().push(text);
    }

    #[test]
    fn died_worker_reports_its_reason_and_event() {
        let seen = Seen { died: AtomicUsize::new(0), events: Mutex::new(vec![]) };
        let mut w: *mut sfu_worker = std::ptr::null_mut();
        unsafe {
            assert_eq!(sfu_worker_new(std::ptr::null(), &mut w), sfu_result::SFU_OK);
            let ud = &seen as *const Seen as *mut c_void;
            assert_eq!(sfu_worker_set_event_callback(w, Some(record), ud), sfu_result::SFU_OK);
            let mut reason: *mut c_char = std::ptr::null_mut();
            assert_eq!(sfu_worker_died(w, &mut reason), sfu_result::SFU_OK);
            assert!(reason.is_null(), "a live worker has no death reason");
            (*w).inner.inject_panic_for_tests("injected for the ffi test");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while !sfu_worker_closed(w) || seen.died.load(Ordering::SeqCst) == 0 {
                assert!(std::time::Instant::now() < deadline, "no died event; events: {:?}", seen.events.lock().unwrap());
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            assert_eq!(sfu_worker_died(w, &mut reason), sfu_result::SFU_OK);
            assert!(!reason.is_null());
            let r = std::ffi::CStr::from_ptr(reason).to_str().unwrap().to_owned();
            sfu_string_free(reason);
            assert!(r.contains("injected for the ffi test"), "reason {r:?}");
            let mut router: *mut sfu_router = std::ptr::null_mut();
            assert_eq!(sfu_worker_create_router(w, c"{}".as_ptr(), &mut router), sfu_result::SFU_WORKER_CLOSED);
            assert!(router.is_null());
            sfu_worker_free(w);
        }
        let events = seen.events.lock().unwrap();
        assert_eq!(seen.died.load(Ordering::SeqCst), 1, "events: {events:?}");
    }

    use crate::sfu_string_free;
}
