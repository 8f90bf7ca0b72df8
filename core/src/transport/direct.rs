//! DirectTransport: RTP, RTCP and data messages to and from the application itself, in process —
//! recording, bots, analysis, injection. A consumer's packets arrive as its `rtp` events; what
//! the application sends goes through `producer.send()` / `transport.send_rtcp()`; data messages
//! flow through direct data producers and consumers.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{TransportBase, TransportKind, TransportState};
use crate::error::{Error, Result};
use crate::events::{EventBus, EventKind};
use crate::ids::new_uuid;
use crate::worker::{Key, WorkerInner, WorkerState};

/// Options of `router.createDirectTransport()`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectTransportOptions {
    /// Largest data message (default 262144 bytes).
    #[serde(default)]
    pub max_message_size: Option<u32>,
    /// The application's own data, kept on the handle (`appData`).
    #[serde(default, skip_serializing)]
    pub app_data: serde_json::Value,
}

/// The application end of a DirectTransport: events carry what the engine "sends".
pub(crate) struct DirectState {
    bus: EventBus,
}

impl DirectState {
    /// Hands a packet or message to the application as an event about `target`.
    pub(crate) fn deliver(&self, target: &str, kind: EventKind) -> bool {
        self.bus.emit(target, kind);
        true
    }
}

pub(crate) struct DirectTransportData {
    app_data: serde_json::Value,
    key: Key,
    id: String,
    closed: Arc<AtomicBool>,
}

impl WorkerState {
    pub(crate) fn create_direct_transport(&mut self, router: Key, o: DirectTransportOptions) -> Result<DirectTransportData> {
        self.router(router)?;
        self.check_transport_limit()?;
        let max = o.max_message_size.unwrap_or(super::DEFAULT_MAX_MESSAGE_SIZE as u32);
        if max == 0 {
            return Err(Error::type_err("maxMessageSize must be greater than 0"));
        }
        let id = new_uuid();
        let closed = Arc::new(AtomicBool::new(false));
        let mut t = TransportState::new(id.clone(), router, TransportKind::Direct(DirectState { bus: self.bus.clone() }), closed.clone());
        t.max_message_size = max as usize;
        let key = self.register_transport(router, t);
        Ok(DirectTransportData { app_data: o.app_data, key, id, closed })
    }

    /// RTP the application injects through a direct transport's producer.
    pub(crate) fn direct_producer_send(&mut self, pkey: Key, packet: &[u8]) -> Result<()> {
        let p = self.producers.get(&pkey).ok_or_else(|| Error::InvalidState("producer closed".into()))?;
        let tkey = p.transport;
        if !matches!(self.transport(tkey)?.kind, TransportKind::Direct(_)) {
            return Err(Error::unsupported("send() is only available on producers of a DirectTransport"));
        }
        let now = self.now_ms();
        self.on_rtp(tkey, packet, now);
        Ok(())
    }
}

/// A DirectTransport handle.
#[derive(Clone)]
pub struct DirectTransport {
    base: TransportBase,
}

impl std::ops::Deref for DirectTransport {
    type Target = TransportBase;
    fn deref(&self) -> &TransportBase {
        &self.base
    }
}

impl DirectTransport {
    pub(crate) fn from_data(worker: Arc<WorkerInner>, d: DirectTransportData) -> Self {
        DirectTransport { base: TransportBase { app_data: crate::AppData::new(d.app_data), worker, key: d.key, id: d.id.into(), closed: d.closed } }
    }

    /// Feeds an RTCP packet (compound allowed) from the application into the transport, as if
    /// its remote had sent it: PLIs/FIRs/NACKs/receiver reports about its consumers, sender
    /// reports about its producers. Does not wait for the engine.
    pub fn send_rtcp(&self, packet: Vec<u8>) -> Result<()> {
        if self.closed() {
            return Err(Error::InvalidState("transport closed".into()));
        }
        if !crate::rtp::is_rtcp(&packet) {
            return Err(Error::type_err("rtcpPacket is not an RTCP packet"));
        }
        let key = self.key;
        self.worker.post(move |st| {
            let now = st.now_ms();
            st.on_rtcp(key, &packet, now);
        });
        Ok(())
    }
}

impl std::fmt::Debug for DirectTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectTransport").field("id", &self.id()).finish()
    }
}
