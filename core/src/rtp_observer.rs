//! RTP observers (mediasoup's AudioLevelObserver and ActiveSpeakerObserver): a router object fed
//! the `ssrc-audio-level` header extension of the audio producers added to it, reporting the
//! loudest producers (`volumes` / `silence`) or the dominant speaker (`dominantspeaker`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, Result};
use crate::events::{CloseReason, EventKind, ObjectKind};
use crate::ids::new_uuid;
use crate::observers::{
    ActiveSpeakerEvent, ActiveSpeakerObserver, ActiveSpeakerObserverOptions as SpeakerOpts, AudioLevelEvent, AudioLevelObserver,
    AudioLevelObserverOptions as LevelOpts,
};
use crate::rtp_parameters::MediaKind;
use crate::worker::{Key, WorkerInner, WorkerState};

/// URI of the RFC 6464 audio level header extension.
pub(crate) const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// Options of `router.createAudioLevelObserver()`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioLevelObserverOptions {
    /// Most entries in a `volumes` event (default 1, at least 1).
    #[serde(default = "one")]
    pub max_entries: u32,
    /// Minimum average volume in dBov (-127..=0, default -80).
    #[serde(default = "minus_eighty")]
    pub threshold: i32,
    /// Reporting interval in ms (default 1000; 250..=5000).
    #[serde(default = "thousand")]
    pub interval: u32,
    /// The application's own data, kept on the handle (`appData`).
    #[serde(default, skip_serializing)]
    pub app_data: serde_json::Value,
}

fn one() -> u32 {
    1
}
fn minus_eighty() -> i32 {
    -80
}
fn thousand() -> u32 {
    1000
}
fn three_hundred() -> u32 {
    300
}

impl Default for AudioLevelObserverOptions {
    fn default() -> Self {
        AudioLevelObserverOptions { max_entries: 1, threshold: -80, interval: 1000, app_data: serde_json::Value::Null }
    }
}

/// Options of `router.createActiveSpeakerObserver()`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveSpeakerObserverOptions {
    /// Decision interval in ms (default 300; 100..=5000).
    #[serde(default = "three_hundred")]
    pub interval: u32,
    /// The application's own data, kept on the handle (`appData`).
    #[serde(default, skip_serializing)]
    pub app_data: serde_json::Value,
}

impl Default for ActiveSpeakerObserverOptions {
    fn default() -> Self {
        ActiveSpeakerObserverOptions { interval: 300, app_data: serde_json::Value::Null }
    }
}

/// `audiolevel` or `activespeaker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RtpObserverType {
    /// AudioLevelObserver.
    AudioLevel,
    /// ActiveSpeakerObserver.
    ActiveSpeaker,
}

enum Detector {
    Level(AudioLevelObserver<Key>),
    Speaker(ActiveSpeakerObserver<Key>),
}

pub(crate) struct RtpObserverState {
    id: String,
    router: Key,
    detector: Detector,
    pub(crate) producers: Vec<Key>,
    flags: Arc<ObserverFlags>,
}

#[derive(Default)]
struct ObserverFlags {
    closed: AtomicBool,
    paused: AtomicBool,
}

pub(crate) struct RtpObserverData {
    app_data: serde_json::Value,
    key: Key,
    id: String,
    typ: RtpObserverType,
    flags: Arc<ObserverFlags>,
}

impl RtpObserverState {
    /// One audio packet of an observed producer (its RFC 6464 byte: V flag + level).
    pub(crate) fn on_audio_level(&mut self, producer: Key, byte: u8, now: u64) {
        let (level, voice) = (byte & 0x7f, byte & 0x80 != 0);
        match &mut self.detector {
            Detector::Level(d) => d.on_packet(producer, level, voice, now),
            Detector::Speaker(d) => d.on_packet(producer, level, voice, now),
        }
    }
}

impl WorkerState {
    pub(crate) fn create_rtp_observer(&mut self, router: Key, typ: RtpObserverType, level: Option<AudioLevelObserverOptions>, speaker: Option<ActiveSpeakerObserverOptions>) -> Result<RtpObserverData> {
        self.router(router)?;
        let now = self.now_ms();
        let (detector, app_data) = match (typ, level, speaker) {
            (RtpObserverType::AudioLevel, Some(o), _) => {
                let d = AudioLevelObserver::new(LevelOpts { max_entries: o.max_entries, threshold: o.threshold, interval: o.interval }, now)
                    .map_err(|e| Error::type_err(e.message))?;
                (Detector::Level(d), o.app_data)
            }
            (RtpObserverType::ActiveSpeaker, _, Some(o)) => (Detector::Speaker(ActiveSpeakerObserver::new(SpeakerOpts { interval: o.interval }, now)), o.app_data),
            _ => return Err(Error::type_err("missing observer options")),
        };
        let key = self.next_key();
        let id = new_uuid();
        let flags = Arc::new(ObserverFlags::default());
        self.rtp_observers.insert(key, RtpObserverState { id: id.clone(), router, detector, producers: vec![], flags: flags.clone() });
        if let Some(r) = self.routers.get_mut(&router) {
            r.rtp_observers.push(key);
        }
        Ok(RtpObserverData { app_data, key, id, typ, flags })
    }

    fn rtp_observer_add_producer(&mut self, key: Key, producer_id: &str) -> Result<()> {
        let o = self.rtp_observers.get(&key).ok_or_else(|| Error::InvalidState("RtpObserver closed".into()))?;
        let pkey = *self
            .router(o.router)?
            .producers
            .get(producer_id)
            .ok_or_else(|| Error::NotFound(format!("Producer with id \"{producer_id}\" not found")))?;
        let p = self.producers.get_mut(&pkey).ok_or_else(|| Error::NotFound(format!("Producer with id \"{producer_id}\" not found")))?;
        if p.kind != MediaKind::Audio {
            return Err(Error::type_err("not an audio Producer"));
        }
        if !p.observers.contains(&key) {
            p.observers.push(key);
        }
        let paused = p.paused;
        let o = self.rtp_observers.get_mut(&key).ok_or_else(|| Error::InvalidState("RtpObserver closed".into()))?;
        if o.producers.contains(&pkey) {
            return Ok(());
        }
        o.producers.push(pkey);
        match &mut o.detector {
            Detector::Level(d) => {
                d.add_producer(pkey);
                if paused {
                    d.producer_paused(pkey);
                }
            }
            Detector::Speaker(d) => {
                d.add_producer(pkey);
                if paused {
                    d.producer_paused(pkey);
                }
            }
        }
        Ok(())
    }

    /// Stops observing `pkey` (removeProducer(), or the producer closed).
    pub(crate) fn rtp_observer_remove_producer(&mut self, key: Key, pkey: Key) {
        if let Some(p) = self.producers.get_mut(&pkey) {
            p.observers.retain(|k| *k != key);
        }
        let Some(o) = self.rtp_observers.get_mut(&key) else { return };
        o.producers.retain(|k| *k != pkey);
        match &mut o.detector {
            Detector::Level(d) => {
                d.remove_producer(pkey);
            }
            Detector::Speaker(d) => {
                d.remove_producer(pkey);
            }
        }
    }

    /// A producer observed by some observers was paused or resumed.
    pub(crate) fn rtp_observers_producer_paused(&mut self, pkey: Key, paused: bool) {
        let Some(p) = self.producers.get(&pkey) else { return };
        for k in p.observers.clone() {
            let Some(o) = self.rtp_observers.get_mut(&k) else { continue };
            match (&mut o.detector, paused) {
                (Detector::Level(d), true) => d.producer_paused(pkey),
                (Detector::Level(d), false) => d.producer_resumed(pkey),
                (Detector::Speaker(d), true) => d.producer_paused(pkey),
                (Detector::Speaker(d), false) => d.producer_resumed(pkey),
            }
        }
    }

    fn set_rtp_observer_paused(&mut self, key: Key, paused: bool) -> Result<()> {
        let now = self.now_ms();
        let o = self.rtp_observers.get_mut(&key).ok_or_else(|| Error::InvalidState("RtpObserver closed".into()))?;
        o.flags.paused.store(paused, Ordering::Release);
        match (&mut o.detector, paused) {
            (Detector::Level(d), true) => d.pause(),
            (Detector::Level(d), false) => d.resume(now),
            (Detector::Speaker(d), true) => d.pause(),
            (Detector::Speaker(d), false) => d.resume(now),
        }
        // Pausing may close a period (an audio level observer reports silence once).
        self.poll_rtp_observer(key, now);
        Ok(())
    }

    pub(crate) fn close_rtp_observer(&mut self, key: Key, reason: CloseReason) {
        let Some(o) = self.rtp_observers.remove(&key) else { return };
        for p in &o.producers {
            if let Some(p) = self.producers.get_mut(p) {
                p.observers.retain(|k| *k != key);
            }
        }
        if let Some(r) = self.routers.get_mut(&o.router) {
            r.rtp_observers.retain(|k| *k != key);
        }
        o.flags.closed.store(true, Ordering::Release);
        self.bus.emit(&o.id, EventKind::Closed { object: ObjectKind::RtpObserver, reason });
    }

    /// Periodic work of every observer: close intervals and report.
    pub(crate) fn tick_rtp_observers(&mut self, now: u64) {
        let keys: Vec<Key> = self.rtp_observers.keys().copied().collect();
        for k in keys {
            self.poll_rtp_observer(k, now);
        }
    }

    fn poll_rtp_observer(&mut self, key: Key, now: u64) {
        let WorkerState { rtp_observers, producers, bus, .. } = self;
        let Some(o) = rtp_observers.get_mut(&key) else { return };
        let pid = |k: Key| producers.get(&k).map(|p| p.id.clone());
        match &mut o.detector {
            Detector::Level(d) => {
                d.handle_timeout(now);
                while let Some(ev) = d.poll_event() {
                    let kind = match ev {
                        AudioLevelEvent::Volumes(v) => EventKind::Volumes {
                            volumes: v.into_iter().filter_map(|(k, vol)| pid(k).map(|id| json!({ "producerId": id, "volume": vol }))).collect(),
                        },
                        AudioLevelEvent::Silence => EventKind::Silence,
                    };
                    bus.emit(&o.id, kind);
                }
            }
            Detector::Speaker(d) => {
                d.handle_timeout(now);
                while let Some(ActiveSpeakerEvent::DominantSpeaker(k)) = d.poll_event() {
                    if let Some(id) = pid(k) {
                        bus.emit(&o.id, EventKind::DominantSpeaker { producer_id: id });
                    }
                }
            }
        }
    }
}

/// An audio level or active speaker observer handle.
#[derive(Clone)]
pub struct RtpObserver {
    app_data: crate::AppData,
    worker: Arc<WorkerInner>,
    key: Key,
    id: Arc<str>,
    typ: RtpObserverType,
    flags: Arc<ObserverFlags>,
}

impl RtpObserver {
    pub(crate) fn from_data(worker: Arc<WorkerInner>, d: RtpObserverData) -> Self {
        RtpObserver { app_data: crate::AppData::new(d.app_data), worker, key: d.key, id: d.id.into(), typ: d.typ, flags: d.flags }
    }
    /// The application's data (`appData`).
    pub fn app_data(&self) -> &crate::AppData {
        &self.app_data
    }
    /// The observer's id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// `audiolevel` or `activespeaker`.
    pub fn observer_type(&self) -> RtpObserverType {
        self.typ
    }
    /// Whether it is paused.
    pub fn paused(&self) -> bool {
        self.flags.paused.load(Ordering::Acquire)
    }
    /// Whether it is closed (directly or by a cascade).
    pub fn closed(&self) -> bool {
        self.flags.closed.load(Ordering::Acquire) || self.worker.is_closed()
    }
    fn call<T: Send + 'static>(&self, f: impl FnOnce(&mut WorkerState, Key) -> Result<T> + Send + 'static) -> Result<T> {
        let key = self.key;
        self.worker.call_blocking(move |st| f(st, key))
    }
    /// Observes an audio producer of the router (NotFoundError if unknown, TypeError if video).
    pub fn add_producer_blocking(&self, producer_id: &str) -> Result<()> {
        let id = producer_id.to_owned();
        self.call(move |st, k| st.rtp_observer_add_producer(k, &id))
    }
    /// Stops observing a producer.
    pub fn remove_producer_blocking(&self, producer_id: &str) -> Result<()> {
        let id = producer_id.to_owned();
        self.call(move |st, k| {
            let router = st.rtp_observers.get(&k).ok_or_else(|| Error::InvalidState("RtpObserver closed".into()))?.router;
            let pkey = *st.router(router)?.producers.get(&id).ok_or_else(|| Error::NotFound(format!("Producer with id \"{id}\" not found")))?;
            st.rtp_observer_remove_producer(k, pkey);
            Ok(())
        })
    }
    /// Stops reporting.
    pub fn pause_blocking(&self) -> Result<()> {
        self.call(|st, k| st.set_rtp_observer_paused(k, true))
    }
    /// Reports again (a fresh interval starts).
    pub fn resume_blocking(&self) -> Result<()> {
        self.call(|st, k| st.set_rtp_observer_paused(k, false))
    }
    /// Closes it. Idempotent.
    pub fn close(&self) {
        if self.flags.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let key = self.key;
        self.worker.post(move |st| st.close_rtp_observer(key, CloseReason::Closed));
    }
}

impl std::fmt::Debug for RtpObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtpObserver").field("id", &self.id).field("type", &self.typ).finish()
    }
}
