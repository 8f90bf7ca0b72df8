//! The worker: one OS thread that owns its routers' state and drives their I/O.

mod state;
mod thread;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

pub(crate) use state::{Key, KeyMap, WorkerState};
pub(crate) use thread::guarded;

use crate::error::{Error, Result};
use crate::events::{EventBus, Subscription};
use crate::ids::new_uuid;
use crate::router::{Router, RouterOptions};
use crate::transport::{WebRtcServer, WebRtcServerOptions};
use crate::{logging, Event};

/// Settings of [`Worker::new`], with mediasoup's `createWorker()` names. Settings libsfu has no
/// use for (`libwebrtcFieldTrials`, `disableLiburing`, …) are accepted and ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkerSettings {
    /// `debug`, `warn`, `error` or `none` (default `error`).
    pub log_level: String,
    /// mediasoup log tags (`info`, `ice`, `rtp`, …); accepted and kept for `dump()`.
    pub log_tags: Vec<String>,
    /// Lowest port for transports that give no port (default 10000).
    pub rtc_min_port: u16,
    /// Highest port for transports that give no port (default 59999).
    pub rtc_max_port: u16,
    /// PEM certificate for DTLS (checked to be readable; DTLS arrives with WebRTC transports).
    pub dtls_certificate_file: Option<String>,
    /// PEM private key for DTLS.
    pub dtls_private_key_file: Option<String>,
    /// Not in mediasoup: most transports (of every kind) this worker holds at once (default
    /// 10000); creating one more fails with `InvalidState` naming the limit.
    pub max_transports: u32,
    /// Not in mediasoup: most producers, and separately most data producers, one transport holds
    /// (default 1000).
    pub max_producers_per_transport: u32,
    /// Not in mediasoup: most consumers, and separately most data consumers, one transport holds
    /// (default 5000).
    pub max_consumers_per_transport: u32,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        WorkerSettings {
            log_level: "error".into(),
            log_tags: vec![],
            rtc_min_port: 10000,
            rtc_max_port: 59999,
            dtls_certificate_file: None,
            dtls_private_key_file: None,
            max_transports: 10_000,
            max_producers_per_transport: 1_000,
            max_consumers_per_transport: 5_000,
        }
    }
}

/// What `worker.updateSettings()` may change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkerUpdateableSettings {
    /// New log level.
    pub log_level: Option<String>,
    /// New log tags.
    pub log_tags: Option<Vec<String>>,
}

/// CPU and memory use of the worker, as mediasoup's `getResourceUsage()` (getrusage fields).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ResourceUsage {
    pub ru_utime: u64,
    pub ru_stime: u64,
    pub ru_maxrss: u64,
    pub ru_ixrss: u64,
    pub ru_idrss: u64,
    pub ru_isrss: u64,
    pub ru_minflt: u64,
    pub ru_majflt: u64,
    pub ru_nswap: u64,
    pub ru_inblock: u64,
    pub ru_oublock: u64,
    pub ru_msgsnd: u64,
    pub ru_msgrcv: u64,
    pub ru_nsignals: u64,
    pub ru_nvcsw: u64,
    pub ru_nivcsw: u64,
}

pub(crate) type Command = Box<dyn FnOnce(&mut WorkerState) + Send>;

pub(crate) struct WorkerInner {
    pub(crate) id: String,
    tx: mpsc::UnboundedSender<Command>,
    pub(crate) bus: EventBus,
    closed: Arc<AtomicBool>,
    died: Arc<Mutex<Option<String>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

thread_local! {
    static ON_WORKER_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl WorkerInner {
    fn closed_error(&self) -> Error {
        match &*self.died.lock() {
            Some(reason) => Error::WorkerClosed(format!("worker died: {reason}")),
            None => Error::WorkerClosed("worker closed".into()),
        }
    }

    fn send<T: Send + 'static>(&self, f: impl FnOnce(&mut WorkerState) -> Result<T> + Send + 'static) -> Result<oneshot::Receiver<Result<T>>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(self.closed_error());
        }
        let (tx, rx) = oneshot::channel();
        let cmd: Command = Box::new(move |st| {
            let _ = tx.send(f(st));
        });
        self.tx.send(cmd).map_err(|_| self.closed_error())?;
        Ok(rx)
    }

    /// Runs `f` on the worker thread and awaits its result.
    pub(crate) async fn call<T: Send + 'static>(&self, f: impl FnOnce(&mut WorkerState) -> Result<T> + Send + 'static) -> Result<T> {
        let rx = self.send(f)?;
        rx.await.map_err(|_| self.closed_error())?
    }

    /// Runs `f` on the worker thread and waits for its result on this thread.
    pub(crate) fn call_blocking<T: Send + 'static>(&self, f: impl FnOnce(&mut WorkerState) -> Result<T> + Send + 'static) -> Result<T> {
        if ON_WORKER_THREAD.with(|c| c.get()) {
            return Err(Error::InvalidState("blocking call made from a worker thread (e.g. inside an event callback); defer it to another thread".into()));
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(self.closed_error());
        }
        // A std channel, so that blocking works from any thread, even one driving a runtime.
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let cmd: Command = Box::new(move |st| {
            let _ = tx.send(f(st));
        });
        self.tx.send(cmd).map_err(|_| self.closed_error())?;
        rx.recv().map_err(|_| self.closed_error())?
    }

    /// Runs `f` on the worker thread and hands its result to `done`, also on the worker thread,
    /// right after `f` (so whatever `f` emitted reaches listeners before `done` runs). Returns at
    /// once: callers that pipeline requests (the Node addon) pay one wake-up per batch instead of
    /// two per call. Every request completes exactly once: one the worker never runs (it was
    /// closed, or stopped or died with the request queued) completes with `WorkerClosed`, on the
    /// caller's thread or wherever the queue is dropped.
    pub(crate) fn call_then<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut WorkerState) -> Result<T> + Send + 'static,
        done: impl FnOnce(Result<T>) + Send + 'static,
    ) {
        if self.closed.load(Ordering::Acquire) {
            done(Err(self.closed_error()));
            return;
        }
        let mut guard = Completion { done: Some(done), inner: Arc::downgrade(self), _t: std::marker::PhantomData };
        let cmd: Command = Box::new(move |st| {
            let r = f(st);
            if let Some(done) = guard.done.take() {
                done(r);
            }
        });
        // A refused send drops the command, and its guard completes the request.
        let _ = self.tx.send(cmd);
    }

    /// Sends `f` to the worker without waiting (used by close()).
    pub(crate) fn post(&self, f: impl FnOnce(&mut WorkerState) + Send + 'static) {
        let _ = self.tx.send(Box::new(f));
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// The `done` of a [`WorkerInner::call_then`] request: run with the result, or with
/// `WorkerClosed` when the request is dropped unrun.
struct Completion<F: FnOnce(Result<T>), T> {
    done: Option<F>,
    inner: std::sync::Weak<WorkerInner>,
    _t: std::marker::PhantomData<fn(T)>,
}

impl<F: FnOnce(Result<T>), T> Drop for Completion<F, T> {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let error = match self.inner.upgrade() {
                Some(inner) => inner.closed_error(),
                None => Error::WorkerClosed("worker closed".into()),
            };
            done(Err(error));
        }
    }
}

/// A worker: a media thread with its routers. Cloning gives another handle to the same worker.
#[derive(Clone)]
pub struct Worker {
    pub(crate) inner: Arc<WorkerInner>,
}

impl Worker {
    /// Starts a worker thread. Fails with a `Type` error on bad settings.
    pub fn new(settings: WorkerSettings) -> Result<Self> {
        let level = logging::parse_level(&settings.log_level)?;
        if settings.rtc_min_port > settings.rtc_max_port {
            return Err(Error::type_err(format!(
                "invalid rtcMinPort/rtcMaxPort: rtcMinPort ({}) is greater than rtcMaxPort ({})",
                settings.rtc_min_port, settings.rtc_max_port
            )));
        }
        if settings.rtc_min_port == 0 {
            return Err(Error::type_err("invalid rtcMinPort: must be 1..65535"));
        }
        for (name, v) in [
            ("maxTransports", settings.max_transports),
            ("maxProducersPerTransport", settings.max_producers_per_transport),
            ("maxConsumersPerTransport", settings.max_consumers_per_transport),
        ] {
            if v == 0 {
                return Err(Error::type_err(format!("invalid {name}: must be at least 1")));
            }
        }
        for (name, file) in [("dtlsCertificateFile", &settings.dtls_certificate_file), ("dtlsPrivateKeyFile", &settings.dtls_private_key_file)] {
            if let Some(f) = file {
                std::fs::metadata(f).map_err(|e| Error::type_err(format!("invalid {name} {f:?}: {e}")))?;
            }
        }
        if settings.dtls_certificate_file.is_some() != settings.dtls_private_key_file.is_some() {
            return Err(Error::type_err("dtlsCertificateFile and dtlsPrivateKeyFile must be given together"));
        }
        // Load a given certificate now, so that a bad PEM fails createWorker(), not a later transport.
        if let (Some(cf), Some(kf)) = (&settings.dtls_certificate_file, &settings.dtls_private_key_file) {
            crate::webrtc::certificate::WorkerCertificate::from_files(cf, kf)?;
        }
        logging::apply(level);

        let (tx, rx) = mpsc::unbounded_channel();
        let bus = EventBus::default();
        let closed = Arc::new(AtomicBool::new(false));
        let died = Arc::new(Mutex::new(None));
        let id = new_uuid();
        let thread = thread::spawn(id.clone(), settings, rx, bus.clone(), closed.clone(), died.clone())?;
        Ok(Worker { inner: Arc::new(WorkerInner { id, tx, bus, closed, died, thread: Mutex::new(Some(thread)) }) })
    }

    /// The worker's id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The process id of the worker: the host process, since workers run in-process.
    pub fn pid(&self) -> u32 {
        std::process::id()
    }

    /// Whether the worker is closed (by [`Worker::close`] or because it died).
    pub fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// The panic message if the worker thread died.
    pub fn died(&self) -> Option<String> {
        self.inner.died.lock().clone()
    }

    /// Registers a listener for every event of this worker and its objects. Listeners run on the
    /// worker thread: they must return quickly and must not call `*_blocking` methods.
    pub fn subscribe(&self, f: impl Fn(&Event) + Send + Sync + 'static) -> Subscription {
        self.inner.bus.subscribe(Arc::new(f))
    }

    /// Creates a router.
    pub async fn create_router(&self, options: RouterOptions) -> Result<Router> {
        let inner = self.inner.clone();
        let data = self.inner.call(move |st| st.create_router(options)).await?;
        Ok(Router::from_data(inner, data))
    }

    /// Blocking twin of [`Worker::create_router`].
    pub fn create_router_blocking(&self, options: RouterOptions) -> Result<Router> {
        let data = self.inner.call_blocking(move |st| st.create_router(options))?;
        Ok(Router::from_data(self.inner.clone(), data))
    }

    /// Creates a WebRtcServer: shared ports for many WebRTC transports.
    pub async fn create_webrtc_server(&self, options: WebRtcServerOptions) -> Result<WebRtcServer> {
        let d = self.inner.call(move |st| st.create_webrtc_server(options)).await?;
        Ok(WebRtcServer::from_data(self.inner.clone(), d))
    }

    /// Blocking twin of [`Worker::create_webrtc_server`].
    pub fn create_webrtc_server_blocking(&self, options: WebRtcServerOptions) -> Result<WebRtcServer> {
        let d = self.inner.call_blocking(move |st| st.create_webrtc_server(options))?;
        Ok(WebRtcServer::from_data(self.inner.clone(), d))
    }

    /// The worker's internal state as mediasoup's `worker.dump()` JSON.
    pub fn dump_blocking(&self) -> Result<Value> {
        self.inner.call_blocking(|st| Ok(st.dump()))
    }

    /// Async twin of [`Worker::dump_blocking`].
    pub async fn dump(&self) -> Result<Value> {
        self.inner.call(|st| Ok(st.dump())).await
    }

    /// CPU time of the worker thread and memory of the process.
    pub fn get_resource_usage_blocking(&self) -> Result<ResourceUsage> {
        self.inner.call_blocking(|_| Ok(thread::resource_usage()))
    }

    /// Async twin of [`Worker::get_resource_usage_blocking`].
    pub async fn get_resource_usage(&self) -> Result<ResourceUsage> {
        self.inner.call(|_| Ok(thread::resource_usage())).await
    }

    /// Changes the log level/tags.
    pub fn update_settings_blocking(&self, settings: WorkerUpdateableSettings) -> Result<()> {
        let level = settings.log_level.as_deref().map(logging::parse_level).transpose()?;
        self.inner.call_blocking(move |st| {
            if let Some(tags) = settings.log_tags {
                st.log_tags = tags;
            }
            if let Some(l) = settings.log_level {
                st.log_level = l;
            }
            Ok(())
        })?;
        if let Some(l) = level {
            logging::apply(l);
        }
        Ok(())
    }

    /// Closes the worker: every router, transport, producer and consumer it owns is closed, the
    /// thread exits, and listeners are dropped. Idempotent.
    pub fn close(&self) {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = self.inner.tx.send(Box::new(|st: &mut WorkerState| st.stopping = true));
        let handle = self.inner.thread.lock().take();
        if let Some(h) = handle {
            if !ON_WORKER_THREAD.with(|c| c.get()) {
                let _ = h.join();
            }
        }
        self.inner.bus.clear();
    }

    /// Makes the worker thread panic, to exercise the `died` path. Not for production use.
    #[doc(hidden)]
    pub fn inject_panic_for_tests(&self, message: &str) {
        let m = message.to_owned();
        self.inner.post(move |_| panic!("{m}"));
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("id", &self.inner.id).field("closed", &self.closed()).finish()
    }
}

pub(crate) fn mark_worker_thread() {
    ON_WORKER_THREAD.with(|c| c.set(true));
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::{channel, Receiver};
    use std::time::Duration;

    use super::*;
    use crate::WebRtcTransport;

    fn router(worker: &Worker) -> Router {
        let codecs = serde_json::from_str(r#"[{"kind":"audio","mimeType":"audio/opus","clockRate":48000,"channels":2}]"#).unwrap();
        worker.create_router_blocking(RouterOptions { media_codecs: codecs, ..Default::default() }).unwrap()
    }

    /// Starts `n` transport creations; each completion reports its outcome and the thread it ran on.
    fn create_transports(router: &Router, n: usize) -> Receiver<(Result<WebRtcTransport>, Option<String>)> {
        let (tx, rx) = channel();
        for _ in 0..n {
            let tx = tx.clone();
            let options = serde_json::from_str(r#"{"listenInfos":[{"protocol":"udp","ip":"127.0.0.1"}]}"#).unwrap();
            router.create_webrtc_transport_then(move || Ok(options), move |r| {
                let _ = tx.send((r, std::thread::current().name().map(str::to_owned)));
            });
        }
        rx
    }

    #[test]
    fn call_then_completes_on_the_worker_thread_in_order() {
        let worker = Worker::new(WorkerSettings::default()).unwrap();
        let router = router(&worker);
        let rx = create_transports(&router, 20);
        let mut ids = Vec::new();
        for _ in 0..20 {
            let (r, thread) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
            assert!(thread.unwrap().starts_with("sfu-worker-"));
            ids.push(r.unwrap().id().to_owned());
        }
        let dump = router.dump_blocking().unwrap();
        let listed: Vec<String> = serde_json::from_value(dump["transportIds"].clone()).unwrap();
        assert_eq!(listed.len(), 20);
        for id in &ids {
            assert!(listed.contains(id), "{id} not in the router's dump");
        }
        worker.close();
    }

    #[test]
    fn producer_can_consume_answers_on_the_calling_thread() {
        let worker = Worker::new(WorkerSettings::default()).unwrap();
        let router = router(&worker);
        let options = serde_json::from_str(r#"{"listenInfo":{"protocol":"udp","ip":"127.0.0.1"},"comedia":true}"#).unwrap();
        let transport = router.create_plain_transport_blocking(options).unwrap();
        let producer = transport
            .produce_blocking(
                serde_json::from_str(
                    r#"{"kind":"audio","rtpParameters":{"codecs":[{"mimeType":"audio/opus","payloadType":111,"clockRate":48000,"channels":2}],"encodings":[{"ssrc":1111}]}}"#,
                )
                .unwrap(),
            )
            .unwrap();
        assert!(producer.can_consume(router.rtp_capabilities()).unwrap());
        let no_opus: crate::RtpCapabilities = serde_json::from_str(r#"{"codecs":[{"kind":"audio","mimeType":"audio/PCMU","clockRate":8000,"preferredPayloadType":0}]}"#).unwrap();
        assert!(!producer.can_consume(&no_opus).unwrap());
        let invalid: crate::RtpCapabilities = serde_json::from_str(r#"{"codecs":[{"kind":"audio","mimeType":"opus","clockRate":48000}]}"#).unwrap();
        assert!(matches!(producer.can_consume(&invalid), Err(Error::Type(_))));
        // No round trip: it answers even once the worker is gone, from the producer's parameters.
        worker.close();
        assert!(producer.can_consume(router.rtp_capabilities()).unwrap());
    }

    #[test]
    fn call_then_on_a_closed_worker_completes_at_once_with_worker_closed() {
        let worker = Worker::new(WorkerSettings::default()).unwrap();
        let router = router(&worker);
        worker.close();
        let rx = create_transports(&router, 1);
        let (r, thread) = rx.recv_timeout(Duration::from_secs(1)).unwrap();
        assert!(matches!(r, Err(Error::WorkerClosed(_))), "{:?}", r.err());
        assert_eq!(thread, std::thread::current().name().map(str::to_owned), "completed on the caller's thread");
    }

    #[test]
    fn call_then_requests_queued_behind_a_worker_death_complete_with_worker_closed() {
        let worker = Worker::new(WorkerSettings::default()).unwrap();
        let router = router(&worker);
        // Hold the worker so the panic and the requests queue up behind it.
        let (hold_tx, hold_rx) = channel::<()>();
        worker.inner.post(move |_| {
            let _ = hold_rx.recv_timeout(Duration::from_secs(5));
        });
        worker.inject_panic_for_tests("boom");
        let rx = create_transports(&router, 5);
        hold_tx.send(()).unwrap();
        for _ in 0..5 {
            let (r, _) = rx.recv_timeout(Duration::from_secs(5)).expect("every request completes");
            assert!(matches!(r, Err(Error::WorkerClosed(_))), "{:?}", r.err());
        }
        // Exactly once each: every completion has run and dropped its sender.
        assert!(matches!(rx.recv_timeout(Duration::from_secs(1)), Err(std::sync::mpsc::RecvTimeoutError::Disconnected)));
        let t0 = std::time::Instant::now();
        while worker.died().is_none() && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(worker.died().as_deref(), Some("boom"));
    }
}
