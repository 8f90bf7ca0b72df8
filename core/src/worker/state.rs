//! Everything a worker owns, reachable only from its thread. Objects refer to each other by
//! [`Key`] (slab handles), never by reference, as quinn-proto's endpoint and connections do.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::{Rc, Weak};
use std::time::Instant;

use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::WorkerSettings;
use crate::consumer::ConsumerState;
use crate::events::{CloseReason, EventBus};
use crate::producer::ProducerState;
use crate::router::RouterState;
use crate::transport::webrtc_server::WebRtcServerState;
use crate::transport::TransportState;
use crate::webrtc::certificate::WorkerCertificate;

/// A simulcast layer counts as active when it received media this recently.
const LAYER_ACTIVE_WINDOW_MS: u64 = 1500;

/// Internal handle of an object inside its worker.
pub(crate) type Key = u64;

/// Hashes a sequential [`Key`] as itself: no hashing cost on the media path.
#[derive(Default)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | *b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = n as u64;
    }
}

/// A map keyed by [`Key`] (or an SSRC) without hashing cost.
pub(crate) type KeyMap<T> = HashMap<Key, T, BuildHasherDefault<IdentityHasher>>;

/// The worker's whole state.
pub(crate) struct WorkerState {
    #[allow(dead_code)]
    pub(crate) id: String,
    pub(crate) settings: WorkerSettings,
    pub(crate) log_level: String,
    pub(crate) log_tags: Vec<String>,
    pub(crate) bus: EventBus,
    pub(crate) die: mpsc::UnboundedSender<String>,
    pub(crate) self_ref: Weak<RefCell<WorkerState>>,
    next_key: Key,
    pub(crate) routers: KeyMap<RouterState>,
    // Boxed: a transport is ~5 KiB and a producer or consumer ~1 KiB; inline, every table growth
    // moved them all and the tables' empty slots cost as much as full ones.
    pub(crate) transports: KeyMap<Box<TransportState>>,
    pub(crate) producers: KeyMap<Box<ProducerState>>,
    pub(crate) consumers: KeyMap<Box<ConsumerState>>,
    pub(crate) data_producers: KeyMap<crate::data::DataProducerState>,
    pub(crate) data_consumers: KeyMap<crate::data::DataConsumerState>,
    pub(crate) rtp_observers: KeyMap<crate::rtp_observer::RtpObserverState>,
    pub(crate) webrtc_servers: KeyMap<WebRtcServerState>,
    certificate: Option<std::sync::Arc<WorkerCertificate>>,
    /// Reused output buffer for forwarded packets.
    pub(crate) scratch: Vec<u8>,
    /// Reused buffer for RTX packets (restored or built).
    pub(crate) rtx_scratch: Vec<u8>,
    /// Reused buffer SRTP/SRTCP is decrypted in.
    pub(crate) srtp_buf: Vec<u8>,
    epoch: Instant,
    /// The transports' keys during a tick (kept to reuse the allocation).
    tick_keys: Vec<Key>,
    /// Same, for the pipe transports with SCTP.
    tick_sctp_keys: Vec<Key>,
    /// Fan-out deferred to the end of a receive loop turn (see `WorkerState::receive_turn`).
    pub(crate) deferred: crate::transport::DeferredFanout,
    pub(crate) stopping: bool,
    last_report_ms: u64,
}

/// How often receiver reports go upstream and scores are re-evaluated.
const REPORT_INTERVAL_MS: u64 = 1000;

impl WorkerState {
    pub(crate) fn new(id: String, settings: WorkerSettings, bus: EventBus, die: mpsc::UnboundedSender<String>) -> Self {
        WorkerState {
            id,
            log_level: settings.log_level.clone(),
            log_tags: settings.log_tags.clone(),
            settings,
            bus,
            die,
            self_ref: Weak::new(),
            next_key: 0,
            routers: KeyMap::default(),
            transports: KeyMap::default(),
            producers: KeyMap::default(),
            consumers: KeyMap::default(),
            data_producers: KeyMap::default(),
            data_consumers: KeyMap::default(),
            rtp_observers: KeyMap::default(),
            webrtc_servers: KeyMap::default(),
            certificate: None,
            scratch: Vec::with_capacity(1500),
            rtx_scratch: Vec::with_capacity(1500),
            srtp_buf: Vec::with_capacity(2048),
            epoch: Instant::now(),
            tick_keys: Vec::new(),
            tick_sctp_keys: Vec::new(),
            deferred: Default::default(),
            stopping: false,
            last_report_ms: 0,
        }
    }

    pub(crate) fn set_self_ref(me: &Rc<RefCell<WorkerState>>) {
        me.borrow_mut().self_ref = Rc::downgrade(me);
    }

    pub(crate) fn next_key(&mut self) -> Key {
        self.next_key += 1;
        self.next_key
    }

    /// The worker's DTLS certificate: from `dtlsCertificateFile`/`dtlsPrivateKeyFile`, else
    /// generated on first use.
    pub(crate) fn certificate(&mut self) -> crate::error::Result<std::sync::Arc<WorkerCertificate>> {
        if let Some(c) = &self.certificate {
            return Ok(c.clone());
        }
        let c = match (&self.settings.dtls_certificate_file, &self.settings.dtls_private_key_file) {
            (Some(cf), Some(kf)) => WorkerCertificate::from_files(cf, kf)?,
            _ => WorkerCertificate::generate()?,
        };
        let c = std::sync::Arc::new(c);
        self.certificate = Some(c.clone());
        Ok(c)
    }

    /// The instant `now_ms()` counts from.
    pub(crate) fn epoch(&self) -> Instant {
        self.epoch
    }

    /// Milliseconds since the worker started (the engine's monotonic clock).
    pub(crate) fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// The same clock as [`WorkerState::now_ms`], in µs (arrival times for bandwidth estimation).
    pub(crate) fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// Periodic work.
    pub(crate) fn on_tick(&mut self) {
        self.report_socket_errors();
        let now = self.now_ms();
        // One key list reused tick after tick: collecting fresh ones allocated (and freed) three
        // lists the size of the worker every 100 ms.
        let mut keys = std::mem::take(&mut self.tick_keys);
        for p in self.producers.values_mut() {
            p.on_tick(now);
        }
        // Simulcast consumers follow the layers that are actually arriving.
        // One pass over the consumers (a worker may hold tens of thousands, most idle).
        let mut wants_key_frame = vec![];
        let mut active = vec![];
        let mut changes = vec![];
        for c in self.consumers.values_mut() {
            if let Some(p) = self.producers.get(&c.producer) {
                if p.streams.len() > 1 {
                    p.active_encodings(now, LAYER_ACTIVE_WINDOW_MS, &mut active);
                    if let Some(e) = c.choose_layer(&active, now) {
                        wants_key_frame.push((c.producer, e));
                    }
                } else if c.wants_svc_key_frame(now) {
                    wants_key_frame.push((c.producer, 0));
                }
            }
            // Layer switches happen on the media path; report them from here, off the hot loop.
            // (Reported once per tick, and only when they differ from what was last reported.)
            if std::mem::take(&mut c.layers_changed) {
                let layers = c.current_layers();
                let mut reported = c.flags_layers();
                if *reported != layers {
                    *reported = layers;
                    drop(reported);
                    changes.push((c.id.clone(), layers));
                }
            }
        }
        wants_key_frame.sort_unstable();
        wants_key_frame.dedup();
        for (id, layers) in changes {
            self.bus.emit(&id, crate::events::EventKind::LayersChange { layers });
        }
        for (p, e) in wants_key_frame {
            self.request_key_frame_on(p, Some(e), now);
        }
        self.tick_rtp_observers(now);
        self.retry_nacks(now);
        if now >= self.last_report_ms + REPORT_INTERVAL_MS {
            self.last_report_ms = now;
            self.report_and_score(now);
        }
        keys.clear();
        let mut plain_sctp = std::mem::take(&mut self.tick_sctp_keys);
        plain_sctp.clear();
        self.tick_transports(now, &mut keys, &mut plain_sctp);
        for &k in &keys {
            self.webrtc_tick(k, now);
        }
        // SCTP timers of pipe transports (WebRTC transports drive theirs in webrtc_tick).
        for &k in &plain_sctp {
            if let Some(s) = self.transports.get_mut(&k).and_then(|t| t.sctp.as_mut()) {
                s.handle_timeout(now);
            }
            self.sctp_pump(k, now);
        }
        self.tick_sctp_keys = plain_sctp;
        self.tick_keys = keys;
    }

    /// Receiver reports to publishers and `score` events for producers and consumers.
    fn report_and_score(&mut self, now: u64) {
        let mut events = vec![];
        let mut rr = Vec::with_capacity(256);
        let keys: Vec<Key> = self.producers.keys().copied().collect();
        for pk in keys {
            let Some(p) = self.producers.get_mut(&pk) else { continue };
            let Some(t) = self.transports.get_mut(&p.transport) else { continue };
            rr.clear();
            if p.report(now, t.rtcp_ssrc, &mut rr) {
                events.push((p.id.clone(), crate::events::EventKind::Score { score: p.score() }));
            }
            if !rr.is_empty() {
                t.send_rtcp(&rr, now);
            }
        }
        for c in self.consumers.values_mut() {
            let Some(p) = self.producers.get(&c.producer) else { continue };
            let scores = p.encoding_scores();
            let current = (c.score, scores.clone());
            if c.reported_score.as_ref() != Some(&current) {
                // The first report is the baseline mediasoup starts from, not an event.
                if c.reported_score.is_some() {
                    events.push((c.id.clone(), crate::events::EventKind::Score { score: c.score_value(&scores) }));
                }
                c.reported_score = Some(current);
            }
        }
        for (id, ev) in events {
            self.bus.emit(&id, ev);
        }
    }

    /// Closes every router (worker close or death).
    pub(crate) fn close_all(&mut self, reason: CloseReason) {
        let keys: Vec<Key> = self.routers.keys().copied().collect();
        for k in keys {
            self.close_router(k, reason);
        }
        let servers: Vec<Key> = self.webrtc_servers.keys().copied().collect();
        for k in servers {
            self.close_webrtc_server(k, reason);
        }
    }

    /// mediasoup's `worker.dump()`.
    pub(crate) fn dump(&self) -> Value {
        let mut router_ids: Vec<&str> = self.routers.values().map(|r| r.id.as_str()).collect();
        router_ids.sort();
        json!({
            "pid": std::process::id(),
            "webRtcServerIds": self.webrtc_servers.values().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            "routerIds": router_ids,
            "channelMessageHandlers": {
                "channelRequestHandlers": router_ids,
                "channelNotificationHandlers": [],
            },
            "liburing": null,
        })
    }
}
