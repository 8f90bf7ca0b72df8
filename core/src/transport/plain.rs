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

use super::io::udp_send_to;
use super::{ListenInfo, PortRange, Protocol, TransportBase, TransportKind, TransportState, TransportTuple};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::new_uuid;
use crate::rtp::is_rtcp;
use crate::webrtc::srtp::SrtpTransport;
use crate::webrtc::SrtpParameters;
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
    /// SCTP (data channels) straight over the transport's UDP, next to RTP; it starts at
    /// `connect()` (the end with the lower address initiates; with comedia this end waits).
    #[serde(default)]
    pub enable_sctp: bool,
    /// SRTP with keys exchanged as `srtpParameters` (`connect({srtpParameters})`).
    #[serde(default)]
    pub enable_srtp: bool,
    /// SRTP suite when `enableSrtp` (default `AES_CM_128_HMAC_SHA1_80`).
    #[serde(default)]
    pub srtp_crypto_suite: Option<String>,
    /// `{OS, MIS}` when `enableSctp`.
    #[serde(default)]
    pub num_sctp_streams: Option<Value>,
    /// Largest SCTP message when `enableSctp`.
    #[serde(default)]
    pub max_sctp_message_size: Option<u32>,
    /// SCTP send buffer when `enableSctp`.
    #[serde(default)]
    pub sctp_send_buffer_size: Option<u32>,
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
            srtp_crypto_suite: None,
            num_sctp_streams: None,
            max_sctp_message_size: None,
            sctp_send_buffer_size: None,
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
    /// The remote's SRTP parameters (required with `enableSrtp`).
    #[serde(default)]
    pub srtp_parameters: Option<SrtpParameters>,
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
    /// A pipe transport (to another router): rtcp-mux, explicit remote, pipe consumers.
    pub(crate) pipe: bool,
    /// Our SRTP parameters when `enableSrtp` (announced as `srtpParameters`).
    srtp_local: Option<SrtpParameters>,
    /// The SRTP session once `connect()` gave the remote's parameters.
    srtp: Option<SrtpTransport>,
    pub(crate) srtp_decrypt_failures: u64,
    /// Pipe transports: whether pipe consumers negotiate NACK/RTX.
    pub(crate) enable_rtx: bool,
    /// Pipe transports: datagrams the far end sent before our `connect()` (it connects first),
    /// replayed once we know it; bounded.
    early: Vec<(SocketAddr, Vec<u8>)>,
    /// A pipe to a router of another worker in this process: datagrams are handed to that
    /// worker's thread directly instead of crossing loopback UDP.
    pub(crate) link: Option<MemoryLink>,
}

/// The far end of an in-process pipe: its worker, its transport, and the address it stands for.
pub(crate) struct MemoryLink {
    pub(crate) peer: std::sync::Weak<WorkerInner>,
    pub(crate) peer_key: Key,
    /// Our address as the far end expects datagrams from it.
    pub(crate) from: SocketAddr,
    /// A benchmark sink (no far end): datagrams count as sent and are dropped.
    pub(crate) sink: bool,
}

impl MemoryLink {
    /// Hands one datagram to the far end's worker; false once it is gone.
    fn deliver(&self, data: &[u8]) -> bool {
        let Some(peer) = self.peer.upgrade() else { return self.sink };
        let (key, from, data) = (self.peer_key, self.from, data.to_vec());
        peer.post(move |st| st.on_plain_datagram(key, false, &data, from));
        true
    }
}

impl PlainState {
    /// See [`super::TransportState::sends_udp`].
    pub(crate) fn sends_udp(&self) -> bool {
        self.link.is_none() && self.remote.is_some()
    }

    pub(crate) fn send_rtp(&mut self, buf: &[u8]) -> bool {
        if let Some(l) = &self.link {
            return l.deliver(buf);
        }
        let Some(to) = self.remote else { return false };
        let sent = match (&self.srtp_local, self.srtp.as_mut()) {
            (None, _) => udp_send_to(&self.socket, buf, to).is_ok(),
            (Some(_), Some(s)) => {
                // Encrypted in the send batch itself, as WebRTC transports do. A packet that
                // cannot be encrypted is not a send drop.
                let mut protected = false;
                let sent = super::io::udp_send_with(&self.socket, to, |out| {
                    protected = s.protect_rtp_into(buf, out);
                    protected
                });
                if !protected {
                    return false;
                }
                sent
            }
            (Some(_), None) => return false,
        };
        if !sent {
            self.send_drops += 1;
        }
        sent
    }

    pub(crate) fn send_rtcp(&mut self, buf: &[u8]) -> bool {
        if let Some(l) = &self.link {
            return l.deliver(buf);
        }
        let (sock, to) = if self.rtcp_mux {
            (&self.socket, self.remote)
        } else {
            match &self.rtcp_socket {
                Some(s) => (s, self.rtcp_remote),
                None => return false,
            }
        };
        let Some(to) = to else { return false };
        let buf = match (&self.srtp_local, self.srtp.as_mut()) {
            (None, _) => buf,
            (Some(_), Some(s)) => match s.protect_rtcp(buf) {
                Some(b) => b,
                None => return false,
            },
            (Some(_), None) => return false,
        };
        udp_send_to(sock, buf, to).is_ok()
    }

    /// Sends a datagram as is (SCTP of a pipe transport).
    pub(crate) fn send_raw(&mut self, buf: &[u8]) -> bool {
        if let Some(l) = &self.link {
            return l.deliver(buf);
        }
        let Some(to) = self.remote else { return false };
        udp_send_to(&self.socket, buf, to).is_ok()
    }

    /// The sockets this transport sends from.
    pub(crate) fn socket_fds(&self) -> impl Iterator<Item = i32> + '_ {
        use std::os::fd::AsRawFd;
        std::iter::once(self.socket.as_raw_fd()).chain(self.rtcp_socket.as_ref().map(|s| s.as_raw_fd()))
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
        if let Some(p) = &self.srtp_local {
            v["srtpParameters"] = json!(p);
        }
        if self.pipe {
            if let Some(o) = v.as_object_mut() {
                o.remove("rtcpMux");
                o.remove("comedia");
            }
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

/// Datagrams a pipe transport keeps from its far end before `connect()`.
const MAX_EARLY_DATAGRAMS: usize = 16;

pub(crate) struct PlainTransportData {
    app_data: serde_json::Value,
    pub(crate) key: Key,
    id: String,
    closed: Arc<AtomicBool>,
    tuples: Arc<Mutex<PlainTuples>>,
    rtcp_mux: bool,
    comedia: bool,
    srtp_parameters: Option<SrtpParameters>,
    sctp_parameters: Option<Value>,
}

impl PlainTransportData {
    /// The handle's shared parts.
    pub(crate) fn into_parts(self, worker: Arc<WorkerInner>) -> (TransportBase, Arc<Mutex<PlainTuples>>, Option<SrtpParameters>, Option<Value>) {
        let base = TransportBase { app_data: crate::AppData::new(self.app_data), worker, key: self.key, id: self.id.into(), closed: self.closed };
        (base, self.tuples, self.srtp_parameters, self.sctp_parameters)
    }
}

impl WorkerState {
    pub(crate) fn create_plain_transport(&mut self, router: Key, o: PlainTransportOptions) -> Result<PlainTransportData> {
        self.create_udp_transport(router, o, false)
    }

    /// A plain transport, or with `pipe` the UDP half of a pipe transport.
    pub(crate) fn create_udp_transport(&mut self, router: Key, o: PlainTransportOptions, pipe: bool) -> Result<PlainTransportData> {
        self.router(router)?;
        self.check_transport_limit()?;
        let srtp_local = if o.enable_srtp {
            let suite = o.srtp_crypto_suite.as_deref().unwrap_or(if pipe { "AEAD_AES_256_GCM" } else { "AES_CM_128_HMAC_SHA1_80" });
            Some(SrtpParameters::generate(suite).map_err(|e| Error::type_err(format!("invalid srtpCryptoSuite: {}", e.message())))?)
        } else {
            None
        };
        let sctp = if o.enable_sctp {
            let c = super::sctp::SctpConfig::from_options(o.num_sctp_streams.clone(), o.max_sctp_message_size, o.sctp_send_buffer_size)?;
            Some((super::sctp::SctpTransport::new(&c, crate::sctp::SctpRole::Server, self.epoch()), c.max_message_size))
        } else {
            None
        };
        let sctp_parameters = sctp.as_ref().map(|(s, _)| s.parameters());
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
            pipe,
            srtp_local: srtp_local.clone(),
            srtp: None,
            srtp_decrypt_failures: 0,
            enable_rtx: false,
            early: vec![],
            link: None,
        };
        let mut t = TransportState::new(id.clone(), router, TransportKind::Plain(state), closed.clone());
        if let Some((s, max)) = sctp {
            t.sctp = Some(s);
            t.max_message_size = max;
        }
        let key = self.register_transport(router, t);
        let mut tasks = vec![tokio::task::spawn_local(recv_loop(self.self_ref.clone(), key, socket, false))];
        if let Some(s) = rtcp_socket {
            tasks.push(tokio::task::spawn_local(recv_loop(self.self_ref.clone(), key, s, true)));
        }
        if let Some(TransportKind::Plain(p)) = self.transports.get_mut(&key).map(|t| &mut t.kind) {
            p.tasks = tasks;
        }
        Ok(PlainTransportData { app_data: o.app_data, key, id, closed, tuples, rtcp_mux: o.rtcp_mux, comedia: o.comedia, srtp_parameters: srtp_local, sctp_parameters })
    }

    pub(crate) fn plain_connect(&mut self, key: Key, c: PlainTransportConnect) -> Result<()> {
        let t = self.transport_mut(key)?;
        let TransportKind::Plain(p) = &mut t.kind else { return Err(Error::InvalidState("not a PlainTransport".into())) };
        if p.connected {
            return Err(Error::InvalidState("connect() already called".into()));
        }
        match (&p.srtp_local, &c.srtp_parameters) {
            (Some(local), Some(remote)) => p.srtp = Some(SrtpTransport::from_parameters(local, remote)?),
            (Some(_), None) => return Err(Error::type_err("missing srtpParameters (SRTP is enabled)")),
            (None, Some(_)) => return Err(Error::type_err("invalid srtpParameters: SRTP is not enabled in this transport (enableSrtp)")),
            (None, None) => {}
        }
        if p.comedia {
            // The remote is learnt from the first packet; ip/port are ignored, as mediasoup does.
            // SCTP waits for the remote's INIT (the remote is not known yet).
            p.connected = true;
            let now = self.now_ms();
            if let Some(s) = self.transports.get_mut(&key).and_then(|t| t.sctp.as_mut()) {
                s.start(now);
            }
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
        let local = {
            let mut g = p.tuples.lock();
            g.tuple.set_remote(remote);
            if let (Some(rt), Some(r)) = (g.rtcp_tuple.as_mut(), rtcp_remote) {
                rt.set_remote(r);
            }
            g.tuple.local_socket_addr()
        };
        let now = self.now_ms();
        self.on_udp_connected(key, local, remote, now);
        Ok(())
    }

    /// The remote of plain/pipe transport `key` is known now: SCTP starts (both ends are libsfu
    /// or alike; the one with the lower address initiates), then what the far end sent before
    /// is handled.
    fn on_udp_connected(&mut self, key: Key, local: Option<SocketAddr>, remote: SocketAddr, now: u64) {
        let epoch = self.epoch();
        let Some(t) = self.transports.get_mut(&key) else { return };
        let TransportKind::Plain(p) = &mut t.kind else { return };
        let early = std::mem::take(&mut p.early);
        if let Some(s) = t.sctp.as_mut() {
            if local.is_some_and(|l| (l.ip(), l.port()) < (remote.ip(), remote.port())) {
                s.make_client(epoch);
            }
            s.start(now);
            self.sctp_pump(key, now);
        }
        for (from, d) in early.into_iter().filter(|(from, _)| *from == remote) {
            self.on_plain_datagram(key, false, &d, from);
        }
    }

    /// Links pipe transport `key` to transport `peer_key` of another worker of this process:
    /// from now on both exchange datagrams in memory (no SRTP needed: nothing leaves the process).
    pub(crate) fn link_pipe(&mut self, key: Key, peer: std::sync::Weak<WorkerInner>, peer_key: Key, peer_addr: SocketAddr) -> Result<()> {
        let now = self.now_ms();
        let t = self.transport_mut(key)?;
        let TransportKind::Plain(p) = &mut t.kind else { return Err(Error::InvalidState("not a PipeTransport".into())) };
        if !p.pipe || p.connected {
            return Err(Error::InvalidState("an in-process link needs a fresh pipe transport".into()));
        }
        if p.srtp_local.is_some() {
            return Err(Error::type_err("invalid enableSrtp: an in-process pipe carries no SRTP"));
        }
        let local = p.tuples.lock().tuple.local_socket_addr().ok_or_else(|| Error::InvalidState("pipe transport without a local address".into()))?;
        p.link = Some(MemoryLink { peer, peer_key, from: local, sink: false });
        p.remote = Some(peer_addr);
        p.connected = true;
        p.tuples.lock().tuple.set_remote(peer_addr);
        self.on_udp_connected(key, Some(local), peer_addr, now);
        Ok(())
    }

    /// A datagram on a plain transport's RTP socket (`rtcp_socket` false) or RTCP socket.
    pub(crate) fn on_plain_datagram(&mut self, key: Key, rtcp_socket: bool, data: &[u8], from: SocketAddr) {
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
                if p.pipe && !p.connected && p.early.len() < MAX_EARLY_DATAGRAMS {
                    p.early.push((from, data.to_vec()));
                } else {
                    t.stats.discarded += 1;
                }
                return; // not connected
            }
        }
        if let Some(ev) = learnt {
            self.bus.emit(&id, ev);
        }
        // SCTP (pipe data channels) is neither RTP nor RTCP: its common header starts with port 5000.
        if data.first().is_some_and(|b| b & 0xc0 != 0x80) {
            if let Some(s) = self.transports.get_mut(&key).and_then(|t| t.sctp.as_mut()) {
                s.handle_input(now, data);
                self.sctp_pump(key, now);
                return;
            }
            // Without SCTP it is junk: counted (and discarded) like any bad RTP below.
        }
        let Some(t) = self.transports.get_mut(&key) else { return };
        let TransportKind::Plain(p) = &mut t.kind else { return };
        if p.srtp_local.is_some() {
            let Some(srtp) = p.srtp.as_mut() else {
                t.stats.discarded += 1;
                return; // SRTP keys come with connect()
            };
            let mut buf = std::mem::take(&mut self.srtp_buf);
            buf.clear();
            buf.extend_from_slice(data);
            let ok = if rtcp { srtp.unprotect_rtcp(&mut buf) } else { srtp.unprotect_rtp(&mut buf) };
            if !ok {
                p.srtp_decrypt_failures += 1;
                t.stats.discarded += 1;
            } else if rtcp {
                self.on_rtcp(key, &buf, now);
            } else {
                self.on_rtp(key, &buf, now);
            }
            self.srtp_buf = buf;
            return;
        }
        if rtcp {
            self.on_rtcp(key, data, now);
        } else {
            self.on_rtp(key, data, now);
        }
    }
}

async fn recv_loop(state: std::rc::Weak<std::cell::RefCell<WorkerState>>, key: Key, sock: Rc<UdpSocket>, rtcp_socket: bool) {
    loop {
        if sock.readable().await.is_err() {
            return;
        }
        let Some(st) = state.upgrade() else { return };
        let mut s = st.borrow_mut();
        let die = s.die.clone();
        // Drain what is queued (recvmmsg batches) while holding the state once.
        let r = s.receive_turn(|s| super::io::drain_udp(&sock, |data, from| crate::worker::guarded(&die, || s.on_plain_datagram(key, rtcp_socket, data, from))));
        if let Err(e) = r {
            tracing::debug!("plain transport recv error: {e}");
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
    srtp_parameters: Option<SrtpParameters>,
    sctp_parameters: Option<Value>,
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
            rtcp_mux: d.rtcp_mux,
            comedia: d.comedia,
            base: TransportBase { app_data: crate::AppData::new(d.app_data), worker, key: d.key, id: d.id.into(), closed: d.closed },
            tuples: d.tuples,
            srtp_parameters: d.srtp_parameters,
            sctp_parameters: d.sctp_parameters,
        }
    }

    /// mediasoup's `sctpParameters` when `enableSctp`.
    pub fn sctp_parameters(&self) -> Option<&Value> {
        self.sctp_parameters.as_ref()
    }

    /// Our SRTP parameters when `enableSrtp` (give them to the remote's `connect()`).
    pub fn srtp_parameters(&self) -> Option<&SrtpParameters> {
        self.srtp_parameters.as_ref()
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
