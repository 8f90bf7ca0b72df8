//! `NativeRtpObserver`: an audio level or active speaker observer handle.

use napi_derive::napi;
use sfu_core::{RtpObserver, RtpObserverType};

use crate::error::core;

/// An RTP observer handle.
#[napi]
pub struct NativeRtpObserver {
    inner: RtpObserver,
}

impl NativeRtpObserver {
    pub(crate) fn new(inner: RtpObserver) -> Self {
        NativeRtpObserver { inner }
    }
}

#[napi]
impl NativeRtpObserver {
    /// The observer's id.
    #[napi]
    pub fn id(&self) -> String {
        self.inner.id().to_owned()
    }
    /// `audiolevel` or `activespeaker`.
    #[napi(js_name = "type")]
    pub fn observer_type(&self) -> String {
        match self.inner.observer_type() {
            RtpObserverType::AudioLevel => "audiolevel",
            RtpObserverType::ActiveSpeaker => "activespeaker",
        }
        .to_owned()
    }
    /// Whether it is paused.
    #[napi]
    pub fn paused(&self) -> bool {
        self.inner.paused()
    }
    /// Observes a producer.
    #[napi]
    pub fn add_producer(&self, producer_id: String) -> napi::Result<()> {
        core(self.inner.add_producer_blocking(&producer_id))
    }
    /// Stops observing a producer.
    #[napi]
    pub fn remove_producer(&self, producer_id: String) -> napi::Result<()> {
        core(self.inner.remove_producer_blocking(&producer_id))
    }
    /// Pauses it.
    #[napi]
    pub fn pause(&self) -> napi::Result<()> {
        core(self.inner.pause_blocking())
    }
    /// Resumes it.
    #[napi]
    pub fn resume(&self) -> napi::Result<()> {
        core(self.inner.resume_blocking())
    }
    /// Closes it (returns at once; the engine follows).
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}
