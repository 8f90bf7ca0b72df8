//! PlainTransport: RTP and RTCP over UDP without ICE or DTLS (ffmpeg, GStreamer, recorders).

use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use super::{ListenInfo, PortRange, Protocol, TransportBase, TransportKind, TransportState, TransportTuple};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::new_uuid;
use crate::rtp::is_rtcp;
use crate::worker::{Key, WorkerInner, WorkerState};

/// Options of `router.createPlainTransport()`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlainTransportOptions {
    /// Where to listen for RTP (and RTCP when muxed).
    #[serde(default)]
    pub listen_info: Option<ListenInfo>,
    /// Where to listen for RTCP when `rtcp_mux` is false (default: same IP, another port).
    #[serde(default)]
    pub rtcp_listen_info: Option<ListenInfo>,
    /// Legacy form of `listen_info` (`listenIp: {ip, announcedIp}` or a string).
    #[serde(default)]
    pub listen_ip: Option<Value>,
    /// Legacy fixed port, with `listen_ip`.
    #[serde(default)]
    pub port: Option<u16>,
    /// RTP and RTCP on one port (default true).
    #[serde(default = "yes")]
    pub rtcp_mux: bool,
    /// Learn the remote address from the first packet received (default false).
    #[serde(default)]
    pub comedia: bool,
    /// SCTP over plain transports is not supported yet; `true` is rejected.
    #[serde(default)]
    pub enable_sctp: bool,
    /// SRTP over plain transports is not supported yet; `true` is rejected.
    #[serde(default)]
    pub enable_srtp: bool,
    /// The application's own data, kept on the handle (`appData`).
    #[serde(default, skip_serializing)]
    pub app_data: serde_json::Value,
}

fn yes() -> bool {
    true
}

impl Default for PlainTransportOptions {
    fn default() -> Self {
        PlainTransportOptions {
            listen_info: None,
            rtcp_listen_info: None,
            listen_ip: None,
            port: None,
            rtcp_mux: true,
            comedia: false,
            enable_sctp: false,
            enable_srtp: false,
            app_data: serde_json::Value::Null,
        }
    }
}

/// Arguments of `plainTransport.connect()`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlainTransportConnect {
    /// Remote IP (required unless comedia).
    #[serde(default)]
    pub ip: Option<String>,
    /// Remote RTP port (required unless comedia).
    #[serde(default)]
    pub port: Option<u16>,
    /// Remote RTCP port (required when not rtcp-mux and not comedia).
    #[serde(default)]
    pub rtcp_port: Option<u16>,
    /// SRTP parameters (not supported yet).
    #[serde(default)]
    pub srtp_parameters: Option<Value>,
}

/// Tuples shared between the worker (which learns them) and the handle (which reads them).
#[derive(Debug, Clone)]
pub(crate) struct PlainTuples {
    pub(crate) tuple: TransportTuple,
    pub(crate) rtcp_tuple: Option<TransportTuple>,
}

pub(crate) struct PlainState {
    socket: Rc<UdpSocket>,
    rtcp_socket: Option<Rc<UdpSocket>>,
    rtcp_mux: bool,
    comedia: bool,
    connected: bool,
    tuples: Arc<Mutex<PlainTuples>>,
    remote: Option<SocketAddr>,
    rtcp_remote: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
    /// Datagrams that could not be sent (socket buffer full).
    pub(crate) send_drops: u64,
}

impl PlainState {
    pub(crate) fn send_rtp(&mut self, buf: &[u8]) -> bool {
        let Some(to) = self.remote else { return false };
        match self.socket.try_send_to(buf, to) {
            Ok(_) => true,
            Err(_) => {
                self.send_drops += 1;
                false
            }
        }
    }

    pub(crate) fn send_rtcp(&mut self, buf: &[u8]) -> bool {
        let (sock, to) = if self.rtcp_mux {
            (&self.socket, self.remote)
        } else {
            match &self.rtcp_socket {
                Some(s) => (s, self.rtcp_remote),
                None => return false,
            }
        };
        let Some(to) = to else { return false };
        sock.try_send_to(buf, to).is_ok()
    }

    pub(crate) fn shutdown(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }

    pub(crate) fn add_stats(&self, v: &mut Value) {
        let t = self.tuples.lock();
        v["rtcpMux"] = json!(self.rtcp_mux);
        v["comedia"] = json!(self.comedia);
        v["tuple"] = json!(t.tuple);
        if let Some(rt) = &t.rtcp_tuple {
            v["rtcpTuple"] = json!(rt);
        }
    }

    pub(crate) fn add_dump(&self, v: &mut Value) {
        self.add_stats(v);
    }
}

fn resolve_listen_info(o: &PlainTransportOptions) -> Result<ListenInfo> {
    if let Some(li) = &o.listen_info {
        if li.protocol != Protocol::Udp {
            return Err(Error::type_err("invalid listenInfo.protocol: a plain transport listens on udp only"));
        }
        return Ok(li.clone());
    }
    match &o.listen_ip {
        Some(Value::String(ip)) => Ok(ListenInfo { port: o.port, ..ListenInfo::udp(ip) }),
        Some(Value::Object(m)) => {
            let ip = m.get("ip").and_then(Value::as_str).ok_or_else(|| Error::type_err("missing listenIp.ip"))?;
            let announced = m.get("announcedIp").or_else(|| m.get("announcedAddress")).and_then(Value::as_str).map(str::to_owned);
            Ok(ListenInfo { announced_address: announced, port: o.port, ..ListenInfo::udp(ip) })
        }
        Some(_) => Err(Error::type_err("invalid listenIp: expected a string or {ip, announcedIp}")),
        None => Err(Error::type_err("missing listenInfo")),
    }
}

fn local_tuple(li: &ListenInfo, sock: &UdpSocket) -> Result<TransportTuple> {
    let local = sock.local_addr()?;
    Ok(TransportTuple {
        local_address: li.local_address(),
        local_ip: li.ip.clone(),
        local_port: local.port(),
        remote_ip: None,
        remote_port: None,
        protocol: Protocol::Udp,
    })
}

pub(crate) struct PlainTransportData {
    app_data: serde_json::Value,
    key: Key,
    id: String,
    closed: Arc<AtomicBool>,
    tuples: Arc<Mutex<PlainTuples>>,
    rtcp_mux: bool,
    comedia: bool,
}

impl WorkerState {
    pub(crate) fn create_plain_transport(&mut self, router: Key, o: PlainTransportOptions) -> Result<PlainTransportData> {
        self.router(router)?;
        if o.enable_srtp {
            return Err(Error::unsupported("enableSrtp: SRTP on plain transports is not supported yet"));
        }
        if o.enable_sctp {
            return Err(Error::unsupported("enableSctp: SCTP on plain transports is not supported yet"));
        }
        let li = resolve_listen_info(&o)?;
        let range = PortRange { min: self.settings.rtc_min_port, max: self.settings.rtc_max_port };
        let std_sock = li.bind_udp("listenInfo", range)?;
        let std_rtcp = if o.rtcp_mux {
            None
        } else {
            let rli = match &o.rtcp_listen_info {
                Some(r) => r.clone(),
                None => ListenInfo { port: None, ..li.clone() },
            };
            Some((rli.bind_udp("rtcpListenInfo", range)?, rli))
        };
        let socket = Rc::new(UdpSocket::from_std(std_sock)?);
        let tuple = local_tuple(&li, &socket)?;
        let (rtcp_socket, rtcp_tuple) = match std_rtcp {
            Some((s, rli)) => {
                let s = Rc::new(UdpSocket::from_std(s)?);
                let t = local_tuple(&rli, &s)?;
                (Some(s), Some(t))
            }
            None => (None, None),
        };
        let tuples = Arc::new(Mutex::new(PlainTuples { tuple, rtcp_tuple }));
        let id = new_uuid();
        let closed = Arc::new(AtomicBool::new(false));
        let state = PlainState {
            socket: socket.clone(),
            rtcp_socket: rtcp_socket.clone(),
            rtcp_mux: o.rtcp_mux,
            comedia: o.comedia,
            connected: false,
            tuples: tuples.clone(),
            remote: None,
            rtcp_remote: None,
            tasks: vec![],
            send_drops: 0,
        };
        let t = TransportState::new(id.clone(), router, TransportKind::Plain(state), closed.clone());
        let key = self.register_transport(router, t);
        let mut tasks = vec![tokio::task::spawn_local(recv_loop(self.self_ref.clone(), key, socket, false))];
        if let Some(s) = rtcp_socket {
            tasks.push(tokio::task::spawn_local(recv_loop(self.self_ref.clone(), key, s, true)));
        }
        if let Some(TransportKind::Plain(p)) = self.transports.get_mut(&key).map(|t| &mut t.kind) {
            p.tasks = tasks;
        }
        Ok(PlainTransportData { app_data: o.app_data, key, id, closed, tuples, rtcp_mux: o.rtcp_mux, comedia: o.comedia })
    }

    fn plain_connect(&mut self, key: Key, c: PlainTransportConnect) -> Result<()> {
        let t = self.transport_mut(key)?;
        let TransportKind::Plain(p) = &mut t.kind else { return Err(Error::InvalidState("not a PlainTransport".into())) };
        if c.srtp_parameters.is_some() {
            return Err(Error::unsupported("srtpParameters: SRTP on plain transports is not supported yet"));
        }
        if p.connected {
            return Err(Error::InvalidState("connect() already called".into()));
        }
        if p.comedia {
            // The remote is learnt from the first packet; ip/port are ignored, as mediasoup does.
            p.connected = true;
            return Ok(());
        }
        let ip_s = c.ip.ok_or_else(|| Error::type_err("missing ip"))?;
        let ip: IpAddr = ip_s.parse().map_err(|_| Error::type_err(format!("invalid ip: {ip_s:?} is not an IP address")))?;
        let port = c.port.filter(|p| *p != 0).ok_or_else(|| Error::type_err("missing port"))?;
        let remote = SocketAddr::new(ip, port);
        let rtcp_remote = if p.rtcp_mux {
            None
        } else {
            let rp = c.rtcp_port.filter(|p| *p != 0).ok_or_else(|| Error::type_err("missing rtcpPort (required when rtcpMux is false)"))?;
            Some(SocketAddr::new(ip, rp))
        };
        p.remote = Some(remote);
        p.rtcp_remote = rtcp_remote;
        p.connected = true;
        let mut g = p.tuples.lock();
        g.tuple.set_remote(remote);
        if let (Some(rt), Some(r)) = (g.rtcp_tuple.as_mut(), rtcp_remote) {
            rt.set_remote(r);
        }
        Ok(())
    }

    /// A datagram on a plain transport's RTP socket (`rtcp_socket` false) or RTCP socket.
    fn on_plain_datagram(&mut self, key: Key, rtcp_socket: bool, data: &[u8], from: SocketAddr) {
        let now = self.now_ms();
        let Some(t) = self.transports.get_mut(&key) else { return };
        let id = t.id.clone();
        let TransportKind::Plain(p) = &mut t.kind else { return };
        let rtcp = rtcp_socket || is_rtcp(data);
        let expected = if rtcp && !p.rtcp_mux { p.rtcp_remote } else { p.remote };
        let mut learnt = None;
        match expected {
            Some(addr) if addr == from => {}
            Some(_) => {
                t.stats.discarded += 1;
                return; // from an unknown IP:port
            }
            None if p.comedia => {
                let mut g = p.tuples.lock();
                if rtcp && !p.rtcp_mux {
                    p.rtcp_remote = Some(from);
                    if let Some(rt) = g.rtcp_tuple.as_mut() {
                        rt.set_remote(from);
                        learnt = Some(EventKind::RtcpTuple { tuple: rt.clone() });
                    }
                } else {
                    p.remote = Some(from);
                    g.tuple.set_remote(from);
                    learnt = Some(EventKind::Tuple { tuple: g.tuple.clone() });
                }
            }
            None => {
                t.stats.discarded += 1;
                return; // not connected
            }
        }
        if let Some(ev) = learnt {
            self.bus.emit(&id, ev);
        }
        if rtcp {
            self.on_rtcp(key, data, now);
        } else {
            self.on_rtp(key, data, now);
        }
    }
}

async fn recv_loop(state: std::rc::Weak<std::cell::RefCell<WorkerState>>, key: Key, sock: Rc<UdpSocket>, rtcp_socket: bool) {
    let mut buf = vec![0u8; 65536];
    loop {
        if sock.readable().await.is_err() {
            return;
        }
        let Some(st) = state.upgrade() else { return };
        let mut s = st.borrow_mut();
        let die = s.die.clone();
        // Drain everything that is queued while holding the state once.
        for _ in 0..64 {
            match sock.try_recv_from(&mut buf) {
                Ok((n, from)) => crate::worker::guarded(&die, || s.on_plain_datagram(key, rtcp_socket, &buf[..n], from)),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::debug!("plain transport recv error: {e}");
                    break;
                }
            }
        }
    }
}

/// A plain transport handle.
#[derive(Clone)]
pub struct PlainTransport {
    base: TransportBase,
    tuples: Arc<Mutex<PlainTuples>>,
    rtcp_mux: bool,
    comedia: bool,
}

impl std::ops::Deref for PlainTransport {
    type Target = TransportBase;
    fn deref(&self) -> &TransportBase {
        &self.base
    }
}

impl PlainTransport {
    pub(crate) fn from_data(worker: Arc<WorkerInner>, d: PlainTransportData) -> Self {
        PlainTransport {
            base: TransportBase { app_data: crate::AppData::new(d.app_data), worker, key: d.key, id: d.id.into(), closed: d.closed },
            tuples: d.tuples,
            rtcp_mux: d.rtcp_mux,
            comedia: d.comedia,
        }
    }

    /// The RTP tuple (remote filled after `connect()` or the first comedia packet).
    pub fn tuple(&self) -> TransportTuple {
        self.tuples.lock().tuple.clone()
    }

    /// The RTCP tuple when RTCP is not muxed.
    pub fn rtcp_tuple(&self) -> Option<TransportTuple> {
        self.tuples.lock().rtcp_tuple.clone()
    }

    /// Whether RTCP shares the RTP port.
    pub fn rtcp_mux(&self) -> bool {
        self.rtcp_mux
    }

    /// Whether the remote is learnt from the first packet.
    pub fn comedia(&self) -> bool {
        self.comedia
    }

    /// Sets the remote address (`{ip, port, rtcpPort}`).
    pub async fn connect(&self, params: PlainTransportConnect) -> Result<()> {
        let key = self.key;
        self.worker.call(move |st| st.plain_connect(key, params)).await
    }

    /// Blocking twin of [`PlainTransport::connect`].
    pub fn connect_blocking(&self, params: PlainTransportConnect) -> Result<()> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.plain_connect(key, params))
    }
}

impl std::fmt::Debug for PlainTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainTransport").field("id", &self.base.id).field("tuple", &self.tuple()).finish()
    }
}
