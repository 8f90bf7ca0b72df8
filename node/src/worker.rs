//! `NativeWorker`: a worker thread, and the threadsafe function that carries its events to JS.

use napi::bindgen_prelude::{FnArgs, Function};
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi_derive::napi;
use serde_json::Value;
use sfu_core::{
    EventKind, RouterOptions, WebRtcServerOptions, Worker, WorkerSettings, WorkerUpdateableSettings,
};

use crate::error::{core, parse, to_json};
use crate::reply::{self, Delivery, Replier};
use crate::router::NativeRouter;
use crate::webrtc_server::NativeWebRtcServer;

/// A worker handle.
#[napi]
pub struct NativeWorker {
    pub(crate) worker: Worker,
    replier: Replier,
}

/// Starts a worker. `on_event` receives, on the JS thread, every engine event of the worker and
/// its objects as `(targetId, json, data)` (the JSON is `{targetId, event, ...}`), and the
/// replies to pipelined requests (see `reply.rs`).
///
/// The threadsafe function lives inside the worker's listener, so it keeps the event loop alive
/// exactly as long as the worker runs (like mediasoup's worker subprocess). The core drops its
/// listeners once the worker thread has ended — closed or died — after queueing the final events;
/// dropping the threadsafe function releases it, so Node can exit once the app closed its workers.
#[napi]
pub fn create_worker(
    settings: Option<String>,
    on_event: Function<'_, FnArgs<reply::Args>, ()>,
) -> napi::Result<NativeWorker> {
    let settings: WorkerSettings = parse("settings", settings)?;
    let tsfn = on_event
        .build_threadsafe_function::<Delivery>()
        .build_callback(|ctx| Ok(FnArgs::from(ctx.value.into_args())))?;
    let worker = core(Worker::new(settings))?;
    // Requests' replies and events share the one queue (see reply.rs).
    let channel = reply::sink(move |d| {
        let _ = tsfn.call(d, ThreadsafeFunctionCallMode::NonBlocking);
    });
    let replier = Replier::new(&channel);
    worker
        .subscribe(move |ev| {
            // Listeners run on the worker thread: queue without blocking; JS drains the queue.
            // Packets and messages travel as a Buffer next to the JSON.
            let data = match &ev.kind {
                EventKind::Rtp { packet } | EventKind::Rtcp { packet } => Some(packet.clone()),
                EventKind::Message { message, .. } => Some(message.clone()),
                _ => None,
            };
            if let Ok(json) = serde_json::to_string(ev) {
                channel(Delivery::Event(ev.target_id.clone(), json, data));
            }
        })
        .detach();
    Ok(NativeWorker { worker, replier })
}

#[napi]
impl NativeWorker {
    /// The worker's id (events about the worker itself carry it as `targetId`).
    #[napi]
    pub fn id(&self) -> String {
        self.worker.id().to_owned()
    }

    /// The host process id: workers are threads.
    #[napi]
    pub fn pid(&self) -> u32 {
        self.worker.pid()
    }

    /// Whether the worker is closed or died.
    #[napi]
    pub fn closed(&self) -> bool {
        self.worker.closed()
    }

    /// The panic message if the worker died.
    #[napi]
    pub fn died(&self) -> Option<String> {
        self.worker.died()
    }

    /// Closes the worker and waits for its thread to end.
    #[napi]
    pub fn close(&self) {
        self.worker.close();
    }

    /// mediasoup's `worker.dump()`.
    #[napi]
    pub fn dump(&self) -> napi::Result<Value> {
        core(self.worker.dump_blocking())
    }

    /// mediasoup's `worker.getResourceUsage()`.
    #[napi]
    pub fn get_resource_usage(&self) -> napi::Result<Value> {
        to_json(&core(self.worker.get_resource_usage_blocking())?)
    }

    /// mediasoup's `worker.updateSettings()`.
    #[napi]
    pub fn update_settings(&self, settings: Option<String>) -> napi::Result<()> {
        let s: WorkerUpdateableSettings = parse("settings", settings)?;
        core(self.worker.update_settings_blocking(s))
    }

    /// Creates a router.
    #[napi]
    pub fn create_router(&self, options: Option<String>) -> napi::Result<NativeRouter> {
        let o: RouterOptions = parse("options", options)?;
        Ok(NativeRouter::new(core(self.worker.create_router_blocking(o))?, self.replier.clone()))
    }

    /// Creates a WebRtcServer.
    #[napi(js_name = "createWebRtcServer")]
    pub fn create_webrtc_server(&self, options: Option<String>) -> napi::Result<NativeWebRtcServer> {
        let o: WebRtcServerOptions = parse("options", options)?;
        Ok(NativeWebRtcServer::new(core(
            self.worker.create_webrtc_server_blocking(o),
        )?))
    }

    /// Makes the worker thread panic (tests of the `died` path).
    #[napi]
    pub fn inject_panic_for_tests(&self, message: String) {
        self.worker.inject_panic_for_tests(&message);
    }
}
