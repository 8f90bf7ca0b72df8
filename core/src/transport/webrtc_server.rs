//! WebRtcServer: one set of UDP/TCP ports shared by many WebRTC transports, demultiplexed by
//! ICE username fragment (STUN) and then by remote address (DTLS, SRTP).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use super::io::Route;
use super::webrtc::{bind_ice_sockets, tcp_accept_loop, udp_loop, IceCandidate, Target};
use super::{ListenInfo, PortRange, Protocol};
use crate::error::{Error, Result};
use crate::events::{CloseReason, EventKind, ObjectKind};
use crate::ids::new_uuid;
use crate::webrtc::ice::{username_fragment_of, IceEvent};
use crate::worker::{Key, WorkerInner, WorkerState};

/// Options of `worker.createWebRtcServer()`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebRtcServerOptions {
    /// The shared listen addresses (each UDP or TCP, usually with a fixed port).
    pub listen_infos: Vec<ListenInfo>,
}

pub(crate) struct WebRtcServerState {
    pub(crate) id: String,
    pub(crate) candidates: Vec<IceCandidate>,
    /// Local ICE ufrag → transport.
    pub(crate) ufrags: HashMap<String, Key>,
    /// Validated remote address → transport.
    pub(crate) addrs: HashMap<SocketAddr, Key>,
    pub(crate) transports: Vec<Key>,
    tasks: Vec<JoinHandle<()>>,
    closed: Arc<AtomicBool>,
}

pub(crate) struct WebRtcServerData {
    key: Key,
    id: String,
    closed: Arc<AtomicBool>,
}

impl WorkerState {
    pub(crate) fn create_webrtc_server(&mut self, o: WebRtcServerOptions) -> Result<WebRtcServerData> {
        if o.listen_infos.is_empty() {
            return Err(Error::type_err("empty listenInfos"));
        }
        let range = PortRange { min: self.settings.rtc_min_port, max: self.settings.rtc_max_port };
        let (udp, tcp, candidates) = bind_ice_sockets(&o.listen_infos, range, |_, _| 0)?;
        let key = self.next_key();
        let mut tasks = vec![];
        for s in udp {
            tasks.push(tokio::task::spawn_local(udp_loop(self.self_ref.clone(), Target::Server(key), s)));
        }
        for l in tcp {
            tasks.push(tokio::task::spawn_local(tcp_accept_loop(self.self_ref.clone(), Target::Server(key), l)));
        }
        let id = new_uuid();
        let closed = Arc::new(AtomicBool::new(false));
        self.webrtc_servers.insert(
            key,
            WebRtcServerState { id: id.clone(), candidates, ufrags: HashMap::new(), addrs: HashMap::new(), transports: vec![], tasks, closed: closed.clone() },
        );
        Ok(WebRtcServerData { key, id, closed })
    }

    /// A datagram on a server port: STUN goes by ufrag, the rest by remote address.
    pub(crate) fn on_webrtc_server_datagram(&mut self, skey: Key, route: &Route, from: SocketAddr, data: &[u8]) {
        let Some(s) = self.webrtc_servers.get(&skey) else { return };
        let target = if data.first().is_some_and(|b| *b <= 3) {
            username_fragment_of(data).and_then(|u| s.ufrags.get(&u).copied())
        } else {
            s.addrs.get(&from).copied()
        };
        if let Some(t) = target {
            self.on_webrtc_datagram(t, route, from, data);
        }
    }

    pub(crate) fn webrtc_server_on_ice_event(&mut self, skey: Key, tkey: Key, ev: IceEvent) {
        let Some(s) = self.webrtc_servers.get_mut(&skey) else { return };
        match ev {
            IceEvent::TupleAdded(a) => {
                s.addrs.insert(a, tkey);
            }
            IceEvent::TupleRemoved(a)
                if s.addrs.get(&a) == Some(&tkey) => {
                    s.addrs.remove(&a);
                }
            IceEvent::UsernameFragmentRetired(u)
                if s.ufrags.get(&u) == Some(&tkey) => {
                    s.ufrags.remove(&u);
                }
            _ => {}
        }
    }

    /// Forgets a closing transport in its server's tables.
    pub(crate) fn webrtc_server_remove_transport(&mut self, skey: Key, tkey: Key) {
        if let Some(s) = self.webrtc_servers.get_mut(&skey) {
            s.ufrags.retain(|_, k| *k != tkey);
            s.addrs.retain(|_, k| *k != tkey);
            s.transports.retain(|k| *k != tkey);
        }
    }

    pub(crate) fn close_webrtc_server(&mut self, skey: Key, reason: CloseReason) {
        let Some(s) = self.webrtc_servers.get(&skey) else { return };
        for t in s.transports.clone() {
            self.close_transport(t, CloseReason::Closed);
        }
        if let Some(mut s) = self.webrtc_servers.remove(&skey) {
            for t in s.tasks.drain(..) {
                t.abort();
            }
            s.closed.store(true, Ordering::Release);
            self.bus.emit(&s.id, EventKind::Closed { object: ObjectKind::WebRtcServer, reason });
        }
    }

    fn webrtc_server_dump(&self, skey: Key) -> Result<Value> {
        let s = self.webrtc_servers.get(&skey).ok_or_else(|| Error::InvalidState("WebRtcServer closed".into()))?;
        let tid = |k: &Key| self.transports.get(k).map(|t| t.id.clone());
        Ok(json!({
            "id": s.id,
            "udpSockets": s.candidates.iter().filter(|c| c.protocol == Protocol::Udp).map(|c| json!({"ip": c.ip, "port": c.port})).collect::<Vec<_>>(),
            "tcpServers": s.candidates.iter().filter(|c| c.protocol == Protocol::Tcp).map(|c| json!({"ip": c.ip, "port": c.port})).collect::<Vec<_>>(),
            "webRtcTransportIds": s.transports.iter().filter_map(tid).collect::<Vec<_>>(),
            "localIceUsernameFragments": s.ufrags.iter().map(|(u, k)| json!({"localIceUsernameFragment": u, "webRtcTransportId": tid(k)})).collect::<Vec<_>>(),
            "tupleHashes": s.addrs.iter().map(|(a, k)| json!({"tupleHash": a.to_string(), "webRtcTransportId": tid(k)})).collect::<Vec<_>>(),
        }))
    }
}

/// A WebRtcServer handle.
#[derive(Clone)]
pub struct WebRtcServer {
    worker: Arc<WorkerInner>,
    key: Key,
    id: Arc<str>,
    closed: Arc<AtomicBool>,
}

impl std::fmt::Debug for WebRtcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcServer").field("id", &self.id).finish()
    }
}

impl WebRtcServer {
    pub(crate) fn from_data(worker: Arc<WorkerInner>, d: WebRtcServerData) -> Self {
        WebRtcServer { worker, key: d.key, id: d.id.into(), closed: d.closed }
    }
    /// The server's id (pass it as `webRtcServerId` when creating transports).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Whether the server is closed.
    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire) || self.worker.is_closed()
    }
    /// mediasoup's `webRtcServer.dump()`.
    pub fn dump_blocking(&self) -> Result<Value> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.webrtc_server_dump(key))
    }
    /// Closes the server and the transports using it. Idempotent.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let key = self.key;
        self.worker.post(move |st| st.close_webrtc_server(key, CloseReason::Closed));
    }
}
