//! Routers: a set of transports whose producers and consumers can reach each other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::events::{CloseReason, EventKind, ObjectKind};
use crate::ids::new_uuid;
use crate::ortc;
use crate::rtp_parameters::{RtpCapabilities, RtpCodecCapability};
use crate::transport::{PlainTransport, PlainTransportOptions, WebRtcTransport, WebRtcTransportOptions};
use crate::worker::{Key, WorkerInner, WorkerState};

/// Options of `worker.createRouter()`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RouterOptions {
    /// The codecs the router offers; its RTP capabilities are generated from them.
    pub media_codecs: Vec<RtpCodecCapability>,
    /// The application's own data, kept on the handle (`appData`).
    #[serde(default, skip_serializing)]
    pub app_data: serde_json::Value,
}

pub(crate) struct RouterState {
    pub(crate) id: String,
    pub(crate) rtp_capabilities: RtpCapabilities,
    pub(crate) transports: Vec<Key>,
    /// Producers of this router by id (consume() and canConsume() look them up here).
    pub(crate) producers: HashMap<String, Key>,
    /// Data producers of this router by id (consumeData() looks them up here).
    pub(crate) data_producers: HashMap<String, Key>,
    /// Audio level / active speaker observers.
    pub(crate) rtp_observers: Vec<Key>,
    closed: Arc<AtomicBool>,
}

pub(crate) struct RouterData {
    app_data: serde_json::Value,
    key: Key,
    id: String,
    rtp_capabilities: RtpCapabilities,
    closed: Arc<AtomicBool>,
}

impl WorkerState {
    pub(crate) fn create_router(&mut self, options: RouterOptions) -> Result<RouterData> {
        let rtp_capabilities = ortc::generate_router_rtp_capabilities(&options.media_codecs)?;
        let key = self.next_key();
        let id = new_uuid();
        let closed = Arc::new(AtomicBool::new(false));
        self.routers.insert(
            key,
            RouterState { id: id.clone(), rtp_capabilities: rtp_capabilities.clone(), transports: vec![], producers: HashMap::new(), data_producers: HashMap::new(), rtp_observers: vec![], closed: closed.clone() },
        );
        Ok(RouterData { app_data: options.app_data, key, id, rtp_capabilities, closed })
    }

    pub(crate) fn router(&self, key: Key) -> Result<&RouterState> {
        self.routers.get(&key).ok_or_else(|| Error::InvalidState("router closed".into()))
    }

    pub(crate) fn close_router(&mut self, key: Key, reason: CloseReason) {
        let Some(r) = self.routers.get(&key) else { return };
        let (transports, observers) = (r.transports.clone(), r.rtp_observers.clone());
        for o in observers {
            self.close_rtp_observer(o, CloseReason::RouterClosed);
        }
        for t in transports {
            self.close_transport(t, CloseReason::RouterClosed);
        }
        if let Some(r) = self.routers.remove(&key) {
            r.closed.store(true, Ordering::Release);
            self.bus.emit(&r.id, EventKind::Closed { object: ObjectKind::Router, reason });
        }
    }

    fn can_consume(&self, key: Key, producer_id: &str, caps: Value) -> Result<bool> {
        let r = self.router(key)?;
        let Some(pk) = r.producers.get(producer_id) else {
            tracing::error!("canConsume() | Producer with id \"{producer_id}\" not found");
            return Ok(false);
        };
        let Ok(mut caps) = crate::from_json::<RtpCapabilities>("rtpCapabilities", caps) else { return Ok(false) };
        if let Err(e) = ortc::validate_rtp_capabilities(&mut caps) {
            tracing::error!("canConsume() | invalid rtpCapabilities: {e}");
            return Ok(false);
        }
        let p = &self.producers[pk];
        Ok(ortc::can_consume_validated(&p.consumable_rtp_parameters, &caps))
    }

    fn router_dump(&self, key: Key) -> Result<Value> {
        let r = self.router(key)?;
        let transport_ids: Vec<&str> = r.transports.iter().filter_map(|t| self.transports.get(t)).map(|t| t.id.as_str()).collect();
        let mut producer_map = vec![];
        let mut consumer_map = vec![];
        for pk in r.producers.values() {
            let p = &self.producers[pk];
            let values: Vec<&str> = p.consumers.iter().filter_map(|c| self.consumers.get(c)).map(|c| c.id.as_str()).collect();
            for c in &values {
                consumer_map.push(json!({ "key": c, "value": p.id }));
            }
            producer_map.push(json!({ "key": p.id, "values": values }));
        }
        Ok(json!({
            "id": r.id,
            "transportIds": transport_ids,
            "rtpObserverIds": [],
            "mapProducerIdConsumerIds": producer_map,
            "mapConsumerIdProducerId": consumer_map,
            "mapProducerIdObserverIds": [],
            "mapDataProducerIdDataConsumerIds": [],
            "mapDataConsumerIdDataProducerId": [],
        }))
    }
}

/// A router handle.
#[derive(Clone)]
pub struct Router {
    worker: Arc<WorkerInner>,
    key: Key,
    id: Arc<str>,
    rtp_capabilities: Arc<RtpCapabilities>,
    closed: Arc<AtomicBool>,
    app_data: crate::AppData,
}

impl Router {
    pub(crate) fn from_data(worker: Arc<WorkerInner>, d: RouterData) -> Self {
        Router { worker, key: d.key, id: d.id.into(), rtp_capabilities: Arc::new(d.rtp_capabilities), closed: d.closed, app_data: crate::AppData::new(d.app_data) }
    }

    /// The router's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The application's data (`appData`).
    pub fn app_data(&self) -> &crate::AppData {
        &self.app_data
    }

    /// The RTP capabilities generated from its media codecs.
    pub fn rtp_capabilities(&self) -> &RtpCapabilities {
        &self.rtp_capabilities
    }

    /// Whether the router is closed (directly, or by its worker).
    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.worker.is_closed()
    }

    /// Creates a plain (RTP over UDP, no ICE/DTLS) transport.
    pub async fn create_plain_transport(&self, options: PlainTransportOptions) -> Result<PlainTransport> {
        let key = self.key;
        let d = self.worker.call(move |st| st.create_plain_transport(key, options)).await?;
        Ok(PlainTransport::from_data(self.worker.clone(), d))
    }

    /// Blocking twin of [`Router::create_plain_transport`].
    pub fn create_plain_transport_blocking(&self, options: PlainTransportOptions) -> Result<PlainTransport> {
        let key = self.key;
        let d = self.worker.call_blocking(move |st| st.create_plain_transport(key, options))?;
        Ok(PlainTransport::from_data(self.worker.clone(), d))
    }

    /// Creates a pipe transport (to another router, in this process or on another host).
    pub fn create_pipe_transport_blocking(&self, options: crate::PipeTransportOptions) -> Result<crate::PipeTransport> {
        let key = self.key;
        let d = self.worker.call_blocking(move |st| st.create_pipe_transport(key, options))?;
        Ok(crate::PipeTransport::from_data(self.worker.clone(), d))
    }

    /// Async twin of [`Router::create_pipe_transport_blocking`].
    pub async fn create_pipe_transport(&self, options: crate::PipeTransportOptions) -> Result<crate::PipeTransport> {
        let key = self.key;
        let d = self.worker.call(move |st| st.create_pipe_transport(key, options)).await?;
        Ok(crate::PipeTransport::from_data(self.worker.clone(), d))
    }

    /// Creates a DirectTransport: RTP and data to and from the application itself.
    pub fn create_direct_transport_blocking(&self, options: crate::DirectTransportOptions) -> Result<crate::DirectTransport> {
        let key = self.key;
        let d = self.worker.call_blocking(move |st| st.create_direct_transport(key, options))?;
        Ok(crate::DirectTransport::from_data(self.worker.clone(), d))
    }

    /// Async twin of [`Router::create_direct_transport_blocking`].
    pub async fn create_direct_transport(&self, options: crate::DirectTransportOptions) -> Result<crate::DirectTransport> {
        let key = self.key;
        let d = self.worker.call(move |st| st.create_direct_transport(key, options)).await?;
        Ok(crate::DirectTransport::from_data(self.worker.clone(), d))
    }

    /// Creates an audio level observer (`volumes` / `silence` events).
    pub fn create_audio_level_observer_blocking(&self, options: crate::AudioLevelObserverOptions) -> Result<crate::RtpObserver> {
        let key = self.key;
        let d = self.worker.call_blocking(move |st| st.create_rtp_observer(key, crate::RtpObserverType::AudioLevel, Some(options), None))?;
        Ok(crate::RtpObserver::from_data(self.worker.clone(), d))
    }

    /// Creates an active speaker observer (`dominantspeaker` events).
    pub fn create_active_speaker_observer_blocking(&self, options: crate::ActiveSpeakerObserverOptions) -> Result<crate::RtpObserver> {
        let key = self.key;
        let d = self.worker.call_blocking(move |st| st.create_rtp_observer(key, crate::RtpObserverType::ActiveSpeaker, None, Some(options)))?;
        Ok(crate::RtpObserver::from_data(self.worker.clone(), d))
    }

    /// Creates a WebRTC transport (ICE-lite, DTLS, SRTP) for a browser.
    pub async fn create_webrtc_transport(&self, options: WebRtcTransportOptions) -> Result<WebRtcTransport> {
        let key = self.key;
        let d = self.worker.call(move |st| st.create_webrtc_transport(key, options)).await?;
        Ok(WebRtcTransport::from_data(self.worker.clone(), d))
    }

    /// Blocking twin of [`Router::create_webrtc_transport`].
    pub fn create_webrtc_transport_blocking(&self, options: WebRtcTransportOptions) -> Result<WebRtcTransport> {
        let key = self.key;
        let d = self.worker.call_blocking(move |st| st.create_webrtc_transport(key, options))?;
        Ok(WebRtcTransport::from_data(self.worker.clone(), d))
    }

    /// Callback twin of [`Router::create_webrtc_transport`]: returns at once and calls `done`
    /// with the result on the worker thread (or with `WorkerClosed` if the worker never runs
    /// the request). Events the creation emits reach listeners before `done` runs. `done` must
    /// not block on this worker. `options` runs on the worker thread too: pass
    /// `move || Ok(options)`, or parse them there to keep that work off the calling thread (an
    /// error it returns is the request's result).
    pub fn create_webrtc_transport_then(
        &self,
        options: impl FnOnce() -> Result<WebRtcTransportOptions> + Send + 'static,
        done: impl FnOnce(Result<WebRtcTransport>) + Send + 'static,
    ) {
        let key = self.key;
        let worker = self.worker.clone();
        self.worker.call_then(move |st| st.create_webrtc_transport(key, options()?), move |r| {
            done(r.map(|d| WebRtcTransport::from_data(worker, d)))
        });
    }

    /// Whether a peer with `rtp_capabilities` (JSON) can consume the producer; false for an
    /// unknown producer or invalid capabilities, as mediasoup.
    pub fn can_consume_blocking(&self, producer_id: &str, rtp_capabilities: Value) -> bool {
        let (key, pid) = (self.key, producer_id.to_owned());
        self.worker.call_blocking(move |st| st.can_consume(key, &pid, rtp_capabilities)).unwrap_or(false)
    }

    /// Async twin of [`Router::can_consume_blocking`].
    pub async fn can_consume(&self, producer_id: &str, rtp_capabilities: Value) -> bool {
        let (key, pid) = (self.key, producer_id.to_owned());
        self.worker.call(move |st| st.can_consume(key, &pid, rtp_capabilities)).await.unwrap_or(false)
    }

    /// mediasoup's `router.dump()`.
    pub fn dump_blocking(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.router_dump(key))
    }

    /// Async twin of [`Router::dump_blocking`].
    pub async fn dump(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call(move |st| st.router_dump(key)).await
    }

    /// Closes the router and everything in it. Idempotent; returns at once.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let key = self.key;
        self.worker.post(move |st| st.close_router(key, CloseReason::Closed));
    }
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").field("id", &self.id).finish()
    }
}
