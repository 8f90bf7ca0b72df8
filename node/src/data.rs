//! `NativeDataProducer` / `NativeDataConsumer`: data producer and consumer handles.

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use serde_json::Value;
use sfu_core::{DataConsumer, DataProducer};

use crate::error::{core, to_json};

/// A data producer handle.
#[napi]
pub struct NativeDataProducer {
    inner: DataProducer,
}

impl NativeDataProducer {
    pub(crate) fn new(inner: DataProducer) -> Self {
        NativeDataProducer { inner }
    }
}

/// Subchannel ids from JS numbers: integers 0..=65535, anything else a bad argument.
fn subchannel(v: f64, what: &str) -> napi::Result<u16> {
    if v.fract() == 0.0 && (0.0..=65535.0).contains(&v) {
        Ok(v as u16)
    } else {
        Err(napi::Error::new(napi::Status::InvalidArg, format!("[TypeError] {what} must be an integer 0..=65535 (got {v})")))
    }
}

fn subchannels(list: Vec<f64>, what: &str) -> napi::Result<Vec<u16>> {
    list.into_iter().map(|v| subchannel(v, what)).collect()
}

#[napi]
impl NativeDataProducer {
    /// The data producer's id.
    #[napi]
    pub fn id(&self) -> String {
        self.inner.id().to_owned()
    }
    /// `sctp` or `direct`.
    #[napi(js_name = "type")]
    pub fn data_type(&self) -> napi::Result<Value> {
        to_json(&self.inner.data_type())
    }
    /// The SCTP stream parameters (type `sctp`).
    #[napi]
    pub fn sctp_stream_parameters(&self) -> napi::Result<Option<Value>> {
        self.inner.sctp_stream_parameters().map(|p| to_json(&p)).transpose()
    }
    /// The label.
    #[napi]
    pub fn label(&self) -> String {
        self.inner.label().to_owned()
    }
    /// The sub-protocol.
    #[napi]
    pub fn protocol(&self) -> String {
        self.inner.protocol().to_owned()
    }
    /// Whether it is paused.
    #[napi]
    pub fn paused(&self) -> bool {
        self.inner.paused()
    }
    /// Routes a message (direct data producers).
    #[napi]
    pub fn send(&self, ppid: u32, message: Buffer, subchannels_list: Option<Vec<f64>>, required_subchannel: Option<f64>) -> napi::Result<()> {
        let subs = subchannels_list.map(|l| subchannels(l, "subchannels")).transpose()?;
        let required = required_subchannel.map(|r| subchannel(r, "requiredSubchannel")).transpose()?;
        core(self.inner.send_blocking(ppid, message.to_vec(), subs, required))
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
    /// mediasoup's `getStats()`.
    #[napi]
    pub fn get_stats(&self) -> napi::Result<Value> {
        core(self.inner.get_stats_blocking())
    }
    /// mediasoup's `dump()`.
    #[napi]
    pub fn dump(&self) -> napi::Result<Value> {
        core(self.inner.dump_blocking())
    }
    /// Closes it (returns at once; the engine follows).
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}

/// A data consumer handle.
#[napi]
pub struct NativeDataConsumer {
    inner: DataConsumer,
}

impl NativeDataConsumer {
    pub(crate) fn new(inner: DataConsumer) -> Self {
        NativeDataConsumer { inner }
    }
}

#[napi]
impl NativeDataConsumer {
    /// The data consumer's id.
    #[napi]
    pub fn id(&self) -> String {
        self.inner.id().to_owned()
    }
    /// The data producer it consumes.
    #[napi]
    pub fn data_producer_id(&self) -> String {
        self.inner.data_producer_id().to_owned()
    }
    /// `sctp` or `direct`.
    #[napi(js_name = "type")]
    pub fn data_type(&self) -> napi::Result<Value> {
        to_json(&self.inner.data_type())
    }
    /// The SCTP stream parameters (type `sctp`).
    #[napi]
    pub fn sctp_stream_parameters(&self) -> napi::Result<Option<Value>> {
        self.inner.sctp_stream_parameters().map(|p| to_json(&p)).transpose()
    }
    /// The label.
    #[napi]
    pub fn label(&self) -> String {
        self.inner.label().to_owned()
    }
    /// The sub-protocol.
    #[napi]
    pub fn protocol(&self) -> String {
        self.inner.protocol().to_owned()
    }
    /// Whether it is paused.
    #[napi]
    pub fn paused(&self) -> bool {
        self.inner.paused()
    }
    /// Whether its data producer is paused.
    #[napi]
    pub fn data_producer_paused(&self) -> bool {
        self.inner.data_producer_paused()
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
    /// The subchannels it receives.
    #[napi]
    pub fn subchannels(&self) -> napi::Result<Vec<u32>> {
        Ok(core(self.inner.subchannels_blocking())?.into_iter().map(u32::from).collect())
    }
    /// Replaces its subchannels.
    #[napi]
    pub fn set_subchannels(&self, list: Vec<f64>) -> napi::Result<()> {
        core(self.inner.set_subchannels_blocking(subchannels(list, "subchannels")?))
    }
    /// Bytes queued in SCTP for it.
    #[napi]
    pub fn buffered_amount(&self) -> napi::Result<u32> {
        Ok(core(self.inner.buffered_amount_blocking())? as u32)
    }
    /// Sets the `bufferedamountlow` threshold.
    #[napi]
    pub fn set_buffered_amount_low_threshold(&self, threshold: f64) -> napi::Result<()> {
        if !(threshold >= 0.0 && threshold.fract() == 0.0 && threshold <= u32::MAX as f64) {
            return Err(napi::Error::new(napi::Status::InvalidArg, format!("[TypeError] threshold must be an integer >= 0 (got {threshold})")));
        }
        core(self.inner.set_buffered_amount_low_threshold_blocking(threshold as usize))
    }
    /// Sends a message straight to its remote (SCTP data consumers).
    #[napi]
    pub fn send(&self, ppid: u32, message: Buffer) -> napi::Result<()> {
        core(self.inner.send_blocking(ppid, message.to_vec()))
    }
    /// mediasoup's `getStats()`.
    #[napi]
    pub fn get_stats(&self) -> napi::Result<Value> {
        core(self.inner.get_stats_blocking())
    }
    /// mediasoup's `dump()`.
    #[napi]
    pub fn dump(&self) -> napi::Result<Value> {
        core(self.inner.dump_blocking())
    }
    /// Closes it (returns at once; the engine follows).
    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}
