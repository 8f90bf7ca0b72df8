//! PipeTransport: a router's producers carried to another router (another worker, or another
//! host) over UDP, optionally with SRTP. The far end recreates each producer with
//! `produce({id, kind, rtpParameters})` from the pipe consumer's parameters; every simulcast/SVC
//! layer crosses with its own SSRC, and key frame requests come back.

use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plain::{PlainTransportConnect, PlainTransportData, PlainTransportOptions, PlainTuples};
use super::{ListenInfo, TransportBase, TransportKind, TransportTuple};
use crate::error::Result;
use crate::webrtc::SrtpParameters;
use crate::worker::{Key, WorkerInner, WorkerState};

/// Options of `router.createPipeTransport()`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipeTransportOptions {
    /// Where to listen (UDP).
    #[serde(default)]
    pub listen_info: Option<ListenInfo>,
    /// Legacy form of `listen_info`.
    #[serde(default)]
    pub listen_ip: Option<Value>,
    /// Legacy fixed port, with `listen_ip`.
    #[serde(default)]
    pub port: Option<u16>,
    /// Carry data producers too (SCTP over the pipe).
    #[serde(default)]
    pub enable_sctp: bool,
    /// `{OS, MIS}` when `enableSctp`.
    #[serde(default)]
    pub num_sctp_streams: Option<Value>,
    /// Largest SCTP message (default 268435456 as mediasoup's pipes).
    #[serde(default)]
    pub max_sctp_message_size: Option<u32>,
    /// SCTP send buffer (default 268435456).
    #[serde(default)]
    pub sctp_send_buffer_size: Option<u32>,
    /// Negotiate NACK/RTX on the pipe (default false: a pipe is a LAN/loopback hop).
    #[serde(default)]
    pub enable_rtx: bool,
    /// SRTP (`AEAD_AES_256_GCM`) with keys exchanged as `srtpParameters`.
    #[serde(default)]
    pub enable_srtp: bool,
    /// The application's own data, kept on the handle (`appData`).
    #[serde(default, skip_serializing)]
    pub app_data: Value,
}

impl WorkerState {
    pub(crate) fn create_pipe_transport(&mut self, router: Key, o: PipeTransportOptions) -> Result<PlainTransportData> {
        let enable_rtx = o.enable_rtx;
        let plain = PlainTransportOptions {
            listen_info: o.listen_info,
            listen_ip: o.listen_ip,
            port: o.port,
            rtcp_mux: true,
            comedia: false,
            enable_sctp: o.enable_sctp,
            num_sctp_streams: o.num_sctp_streams,
            max_sctp_message_size: Some(o.max_sctp_message_size.unwrap_or(268_435_456)),
            sctp_send_buffer_size: Some(o.sctp_send_buffer_size.unwrap_or(268_435_456)),
            enable_srtp: o.enable_srtp,
            srtp_crypto_suite: Some("AEAD_AES_256_GCM".into()),
            app_data: o.app_data,
            ..Default::default()
        };
        let d = self.create_udp_transport(router, plain, true)?;
        if let Some(TransportKind::Plain(p)) = self.transports.get_mut(&d.key).map(|t| &mut t.kind) {
            p.enable_rtx = enable_rtx;
        }
        Ok(d)
    }
}

/// A pipe transport handle.
#[derive(Clone)]
pub struct PipeTransport {
    base: TransportBase,
    tuples: Arc<Mutex<PlainTuples>>,
    srtp_parameters: Option<SrtpParameters>,
    sctp_parameters: Option<Value>,
}

impl std::ops::Deref for PipeTransport {
    type Target = TransportBase;
    fn deref(&self) -> &TransportBase {
        &self.base
    }
}

impl PipeTransport {
    pub(crate) fn from_data(worker: Arc<WorkerInner>, d: PlainTransportData) -> Self {
        let (base, tuples, srtp_parameters, sctp_parameters) = d.into_parts(worker);
        PipeTransport { base, tuples, srtp_parameters, sctp_parameters }
    }

    /// The local tuple (remote filled after `connect()`).
    pub fn tuple(&self) -> TransportTuple {
        self.tuples.lock().tuple.clone()
    }

    /// Our SRTP parameters when `enableSrtp` (give them to the far end's `connect()`).
    pub fn srtp_parameters(&self) -> Option<&SrtpParameters> {
        self.srtp_parameters.as_ref()
    }

    /// mediasoup's `sctpParameters` when `enableSctp`.
    pub fn sctp_parameters(&self) -> Option<&Value> {
        self.sctp_parameters.as_ref()
    }

    /// Links two fresh pipe transports of routers in different workers of this process so that
    /// media and data cross in memory instead of over loopback UDP (`enableSrtp` must be off).
    pub fn link_local_blocking(&self, other: &PipeTransport) -> Result<()> {
        let (a_addr, b_addr) = (self.tuple().local_socket_addr(), other.tuple().local_socket_addr());
        let (Some(a_addr), Some(b_addr)) = (a_addr, b_addr) else {
            return Err(crate::Error::InvalidState("pipe transport without a local address".into()));
        };
        let (ka, kb) = (self.key, other.key);
        let (wa, wb) = (Arc::downgrade(&self.worker), Arc::downgrade(&other.worker));
        self.worker.call_blocking(move |st| st.link_pipe(ka, wb, kb, b_addr))?;
        other.worker.call_blocking(move |st| st.link_pipe(kb, wa, ka, a_addr))
    }

    /// Sets the far end (`{ip, port, srtpParameters}`).
    pub fn connect_blocking(&self, params: PlainTransportConnect) -> Result<()> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.plain_connect(key, params))
    }

    /// Async twin of [`PipeTransport::connect_blocking`].
    pub async fn connect(&self, params: PlainTransportConnect) -> Result<()> {
        let key = self.key;
        self.worker.call(move |st| st.plain_connect(key, params)).await
    }
}

impl std::fmt::Debug for PipeTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeTransport").field("id", &self.base.id).field("tuple", &self.tuple()).finish()
    }
}
