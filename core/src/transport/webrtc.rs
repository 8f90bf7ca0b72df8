//! WebRtcTransport: ICE-lite + DTLS + SRTP towards a browser (mediasoup-client), over its own
//! UDP/TCP sockets or a shared WebRtcServer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use super::io::{serve_tcp, Route, TcpLimits};
use super::{ListenInfo, PortRange, Protocol, TransportBase, TransportKind, TransportState, TransportTuple};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::ids::new_uuid;
use crate::rtp::{is_rtcp, twcc::TwccRecorder};
use crate::webrtc::dtls::{DtlsEvent, DtlsParameters, DtlsSession};
use crate::webrtc::ice::{IceEvent, IceLite, IceParameters, IceState, StunOutcome};
use crate::webrtc::srtp::{crypto_suite_name, SrtpTransport};
use crate::webrtc::{DtlsRole, DtlsState};
use crate::worker::{Key, WorkerInner, WorkerState};

/// Options of `router.createWebRtcTransport()`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebRtcTransportOptions {
    /// Where to listen (UDP and/or TCP entries).
    #[serde(default)]
    pub listen_infos: Option<Vec<ListenInfo>>,
    /// Legacy listen IPs (`[{ip, announcedIp}]` or strings), with `enableUdp`/`enableTcp`.
    #[serde(default)]
    pub listen_ips: Option<Vec<Value>>,
    /// Legacy fixed port for `listenIps`.
    #[serde(default)]
    pub port: Option<u16>,
    /// Use this WebRtcServer's shared ports instead of own sockets (its id).
    #[serde(default)]
    pub web_rtc_server_id: Option<String>,
    /// Offer UDP candidates (default true).
    #[serde(default)]
    pub enable_udp: Option<bool>,
    /// Offer TCP candidates (default: true with listenInfos/webRtcServer, false with listenIps).
    #[serde(default)]
    pub enable_tcp: Option<bool>,
    /// Give UDP candidates the higher priority.
    #[serde(default)]
    pub prefer_udp: bool,
    /// Give TCP candidates the higher priority.
    #[serde(default)]
    pub prefer_tcp: bool,
    /// Seconds without a valid ICE check before `disconnected` (default 30).
    #[serde(default = "default_consent")]
    pub ice_consent_timeout: u32,
    /// Initial send-side bandwidth estimate (bps), used by bandwidth estimation.
    #[serde(default = "default_initial_bitrate")]
    pub initial_available_outgoing_bitrate: u32,
    /// SCTP over the DTLS session, for data channels (`produceData`/`consumeData`).
    #[serde(default)]
    pub enable_sctp: bool,
    /// `{OS, MIS}`: SCTP streams each way (default 1024 each).
    #[serde(default)]
    pub num_sctp_streams: Option<Value>,
    /// Largest SCTP message (default 262144).
    #[serde(default)]
    pub max_sctp_message_size: Option<u32>,
    /// Bytes SCTP may buffer for sending (default 262144).
    #[serde(default)]
    pub sctp_send_buffer_size: Option<u32>,
    /// The application's own data, kept on the handle (`appData`).
    #[serde(default, skip_serializing)]
    pub app_data: serde_json::Value,
}

fn default_consent() -> u32 {
    30
}
fn default_initial_bitrate() -> u32 {
    600_000
}

impl Default for WebRtcTransportOptions {
    fn default() -> Self {
        serde_json::from_value(json!({})).expect("defaults")
    }
}

/// One ICE candidate (`iceCandidates[i]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    /// `udpcandidate` / `tcpcandidate`.
    pub foundation: String,
    /// ICE priority.
    pub priority: u32,
    /// Announced address or IP.
    pub address: String,
    /// Same as `address` (older mediasoup field).
    pub ip: String,
    /// `udp` or `tcp`.
    pub protocol: Protocol,
    /// Port.
    pub port: u16,
    /// Always `host`.
    #[serde(rename = "type")]
    pub typ: String,
    /// `passive` for TCP candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_type: Option<String>,
}

/// Properties the handle reads without a round trip; the worker keeps them current.
#[derive(Debug, Clone)]
pub(crate) struct WebRtcShared {
    pub(crate) ice_parameters: IceParameters,
    pub(crate) ice_state: IceState,
    pub(crate) ice_selected_tuple: Option<TransportTuple>,
    pub(crate) dtls_state: DtlsState,
    pub(crate) dtls_local_role: DtlsRole,
    pub(crate) dtls_remote_cert: Option<String>,
    /// mediasoup's `sctpParameters` when `enableSctp`.
    pub(crate) sctp_parameters: Option<Value>,
    /// `new`/`connecting`/`connected`/`failed`/`closed` when `enableSctp`.
    pub(crate) sctp_state: Option<crate::sctp::SctpState>,
}

pub(crate) struct WebRtcState {
    pub(crate) ice: IceLite,
    pub(crate) dtls: DtlsSession,
    pub(crate) srtp: Option<SrtpTransport>,
    /// How each validated remote address is reached.
    pub(crate) routes: HashMap<SocketAddr, Route>,
    pub(crate) candidates: Vec<IceCandidate>,
    pub(crate) shared: Arc<Mutex<WebRtcShared>>,
    pub(crate) tasks: Vec<JoinHandle<()>>,
    /// The WebRtcServer whose ports this transport uses.
    pub(crate) server: Option<Key>,
    pub(crate) twcc: TwccRecorder,
    pub(crate) srtp_decrypt_failures: u64,
}

impl WebRtcState {
    /// No valid ICE check has reached it yet: no consent to keep, no DTLS to retransmit, nothing
    /// it could send. The periodic tick skips it, so transports created for peers that have not
    /// connected (or never will) cost nothing between ticks.
    pub(crate) fn dormant(&self) -> bool {
        self.ice.state() == IceState::New
    }

    /// See [`super::TransportState::sends_udp`].
    pub(crate) fn sends_udp(&self) -> bool {
        self.ice.selected().and_then(|to| self.routes.get(&to)).is_some_and(|r| matches!(r, super::io::Route::Udp(_)))
    }

    /// Sends a plaintext RTP packet (encrypted here) to the selected tuple.
    pub(crate) fn send_rtp(&mut self, buf: &[u8]) -> bool {
        let WebRtcState { srtp, ice, routes, .. } = self;
        let Some(to) = ice.selected() else { return false };
        let (Some(srtp), Some(route)) = (srtp.as_mut(), routes.get(&to)) else { return false };
        // Encrypted in the send batch itself: one copy of the packet per consumer on this path.
        route.send_with(to, |out| srtp.protect_rtp_into(buf, out))
    }

    /// Sends a plaintext RTCP packet (encrypted here) to the selected tuple.
    pub(crate) fn send_rtcp(&mut self, buf: &[u8]) -> bool {
        let WebRtcState { srtp, ice, routes, .. } = self;
        let Some(to) = ice.selected() else { return false };
        let (Some(srtp), Some(route)) = (srtp.as_mut(), routes.get(&to)) else { return false };
        srtp.protect_rtcp(buf).is_some_and(|enc| route.send(to, enc))
    }

    pub(crate) fn flush_dtls(&mut self, fallback: Option<(SocketAddr, Route)>) {
        while let Some(d) = self.dtls.poll_transmit() {
            match (self.ice.selected().and_then(|a| self.routes.get(&a).map(|r| (a, r.clone()))), &fallback) {
                (Some((to, r)), _) => {
                    r.send(to, &d);
                }
                (None, Some((to, r))) => {
                    r.send(*to, &d);
                }
                _ => {}
            }
        }
    }

    pub(crate) fn shutdown(&mut self, now_ms: u64) {
        self.dtls.close(now_ms);
        self.flush_dtls(None);
        self.ice.close();
        {
            let mut sh = self.shared.lock();
            sh.ice_state = IceState::Closed;
            sh.ice_selected_tuple = None;
            sh.dtls_state = DtlsState::Closed;
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.routes.clear();
    }

    fn tuple_for(&self, remote: SocketAddr) -> Option<TransportTuple> {
        let route = self.routes.get(&remote)?;
        let local = route.local_addr()?;
        let cand = self.candidates.iter().find(|c| c.port == local.port() && c.protocol == route.protocol());
        let local_address = cand.map(|c| c.address.clone()).unwrap_or_else(|| local.ip().to_string());
        Some(TransportTuple {
            local_address,
            local_ip: local.ip().to_string(),
            local_port: local.port(),
            remote_ip: Some(remote.ip().to_string()),
            remote_port: Some(remote.port()),
            protocol: route.protocol(),
        })
    }

    pub(crate) fn add_stats(&self, v: &mut Value) {
        let ice = self.ice.stats();
        v["iceDroppedRequests"] = json!(ice.dropped());
        v["srtpDecryptFailures"] = json!(self.srtp_decrypt_failures);
        let sh = self.shared.lock();
        v["iceRole"] = json!("controlled");
        v["iceState"] = json!(sh.ice_state);
        if let Some(t) = &sh.ice_selected_tuple {
            v["iceSelectedTuple"] = json!(t);
        }
        v["dtlsState"] = json!(sh.dtls_state);
        if let (Some(p), Some(s)) = (&sh.sctp_parameters, sh.sctp_state) {
            v["sctpParameters"] = p.clone();
            v["sctpState"] = json!(s.as_str());
        }
    }

    pub(crate) fn add_dump(&self, v: &mut Value) {
        let sh = self.shared.lock();
        v["iceRole"] = json!("controlled");
        v["iceParameters"] = json!(sh.ice_parameters);
        v["iceCandidates"] = json!(self.candidates);
        v["iceState"] = json!(sh.ice_state);
        if let Some(t) = &sh.ice_selected_tuple {
            v["iceSelectedTuple"] = json!(t);
        }
        v["dtlsParameters"] = json!({ "role": sh.dtls_local_role, "fingerprints": self.dtls.local_fingerprints() });
        v["dtlsState"] = json!(sh.dtls_state);
        if let Some(s) = &self.srtp {
            v["srtpCryptoSuite"] = json!(crypto_suite_name(s.profile));
        }
    }
}

/// ICE candidate priority as RFC 8445 §5.1.2.1 with host type preference; earlier listen infos
/// and the preferred protocol rank higher.
fn candidate_priority(index: usize, protocol: Protocol, prefer_udp: bool, prefer_tcp: bool) -> u32 {
    let mut local_pref: u32 = 65535 - (index as u32).min(1000) * 10;
    let boost = match protocol {
        Protocol::Udp if prefer_udp => 1000,
        Protocol::Tcp if prefer_tcp => 1000,
        Protocol::Tcp => 0,
        Protocol::Udp => 500,
    };
    local_pref = local_pref.saturating_sub(2000) + boost;
    (64 << 24) + (local_pref << 8) + 255
}

/// UDP sockets, TCP listeners and the host candidates describing them.
pub(crate) type IceSockets = (Vec<Rc<UdpSocket>>, Vec<TcpListener>, Vec<IceCandidate>);

/// Binds one UDP socket or TCP listener per listen info and describes each as a host candidate
/// (shared by WebRTC transports and WebRtcServers); `priority(index, protocol)` ranks them.
pub(crate) fn bind_ice_sockets(
    infos: &[ListenInfo],
    range: PortRange,
    priority: impl Fn(usize, Protocol) -> u32,
) -> Result<IceSockets> {
    let (mut udp, mut tcp, mut candidates) = (vec![], vec![], vec![]);
    for (i, li) in infos.iter().enumerate() {
        let field = format!("listenInfos[{i}]");
        let port = match li.protocol {
            Protocol::Udp => {
                let s = Rc::new(UdpSocket::from_std(li.bind_udp(&field, range)?)?);
                let p = s.local_addr()?.port();
                udp.push(s);
                p
            }
            Protocol::Tcp => {
                let l = TcpListener::from_std(li.bind_tcp(&field, range)?)?;
                let p = l.local_addr()?.port();
                tcp.push(l);
                p
            }
        };
        candidates.push(IceCandidate {
            foundation: format!("{}candidate", if li.protocol == Protocol::Udp { "udp" } else { "tcp" }),
            priority: priority(i, li.protocol),
            address: li.local_address(),
            ip: li.local_address(),
            protocol: li.protocol,
            port,
            typ: "host".into(),
            tcp_type: (li.protocol == Protocol::Tcp).then(|| "passive".to_owned()),
        });
    }
    Ok((udp, tcp, candidates))
}

/// The listen infos a transport uses, from `listenInfos` or the legacy `listenIps`.
fn resolve_listen_infos(o: &WebRtcTransportOptions) -> Result<Vec<ListenInfo>> {
    let enable_udp = o.enable_udp.unwrap_or(true);
    if let Some(infos) = &o.listen_infos {
        if infos.is_empty() {
            return Err(Error::type_err("empty listenInfos"));
        }
        let enable_tcp = o.enable_tcp.unwrap_or(true);
        let out: Vec<ListenInfo> = infos
            .iter()
            .filter(|li| match li.protocol {
                Protocol::Udp => enable_udp,
                Protocol::Tcp => enable_tcp,
            })
            .cloned()
            .collect();
        if out.is_empty() {
            return Err(Error::type_err("no listenInfos left after enableUdp/enableTcp"));
        }
        return Ok(out);
    }
    let Some(ips) = &o.listen_ips else {
        return Err(Error::type_err("missing listenInfos (or listenIps, or webRtcServer / webRtcServerId)"));
    };
    if ips.is_empty() {
        return Err(Error::type_err("empty listenIps"));
    }
    let enable_tcp = o.enable_tcp.unwrap_or(false);
    if !enable_udp && !enable_tcp {
        return Err(Error::type_err("enableUdp and enableTcp cannot both be false"));
    }
    let mut out = vec![];
    for (i, ip) in ips.iter().enumerate() {
        let (ip, announced) = match ip {
            Value::String(s) => (s.clone(), None),
            Value::Object(m) => (
                m.get("ip").and_then(Value::as_str).ok_or_else(|| Error::type_err(format!("missing listenIps[{i}].ip")))?.to_owned(),
                m.get("announcedIp").or_else(|| m.get("announcedAddress")).and_then(Value::as_str).map(str::to_owned),
            ),
            _ => return Err(Error::type_err(format!("invalid listenIps[{i}]"))),
        };
        for (on, protocol) in [(enable_udp, Protocol::Udp), (enable_tcp, Protocol::Tcp)] {
            if on {
                out.push(ListenInfo { protocol, announced_address: announced.clone(), port: o.port, ..ListenInfo::udp(&ip) });
            }
        }
    }
    Ok(out)
}

pub(crate) struct WebRtcTransportData {
    app_data: serde_json::Value,
    key: Key,
    id: String,
    closed: Arc<AtomicBool>,
    shared: Arc<Mutex<WebRtcShared>>,
    candidates: Vec<IceCandidate>,
    fingerprints: Vec<crate::webrtc::DtlsFingerprint>,
}

impl WorkerState {
    pub(crate) fn create_webrtc_transport(&mut self, router: Key, o: WebRtcTransportOptions) -> Result<WebRtcTransportData> {
        self.router(router)?;
        self.check_transport_limit()?;
        let cert = self.certificate()?;
        let consent_ms = (o.ice_consent_timeout as u64).clamp(1, 600) * 1000;
        let ice = IceLite::new(consent_ms);
        let dtls = DtlsSession::new(cert.clone(), self.epoch());
        let id = new_uuid();
        let closed = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Mutex::new(WebRtcShared {
            ice_parameters: ice.local_parameters(),
            ice_state: IceState::New,
            ice_selected_tuple: None,
            dtls_state: DtlsState::New,
            dtls_local_role: DtlsRole::Auto,
            dtls_remote_cert: None,
            sctp_parameters: None,
            sctp_state: None,
        }));

        // Sockets: the server's, or our own per listen info.
        let mut candidates = vec![];
        let mut udp = vec![];
        let mut tcp = vec![];
        let server = match &o.web_rtc_server_id {
            Some(sid) => {
                let (skey, server) = self
                    .webrtc_servers
                    .iter()
                    .find(|(_, s)| &s.id == sid)
                    .ok_or_else(|| Error::NotFound(format!("WebRtcServer with id \"{sid}\" not found")))?;
                let (eu, et) = (o.enable_udp.unwrap_or(true), o.enable_tcp.unwrap_or(true));
                for (i, c) in server.candidates.iter().enumerate() {
                    if (c.protocol == Protocol::Udp && eu) || (c.protocol == Protocol::Tcp && et) {
                        let mut c = c.clone();
                        c.priority = candidate_priority(i, c.protocol, o.prefer_udp, o.prefer_tcp);
                        candidates.push(c);
                    }
                }
                if candidates.is_empty() {
                    return Err(Error::type_err("no WebRtcServer listenInfos left after enableUdp/enableTcp"));
                }
                Some(*skey)
            }
            None => {
                let infos = resolve_listen_infos(&o)?;
                let range = PortRange { min: self.settings.rtc_min_port, max: self.settings.rtc_max_port };
                let (u, t, c) = bind_ice_sockets(&infos, range, |i, p| candidate_priority(i, p, o.prefer_udp, o.prefer_tcp))?;
                (udp, tcp, candidates) = (u, t, c);
                None
            }
        };

        let sctp = if o.enable_sctp {
            let c = super::sctp::SctpConfig::from_options(o.num_sctp_streams.clone(), o.max_sctp_message_size, o.sctp_send_buffer_size)?;
            Some((super::sctp::SctpTransport::new(&c, crate::sctp::SctpRole::Server, self.epoch()), c.max_message_size))
        } else {
            None
        };
        if let Some((s, _)) = &sctp {
            let mut sh = shared.lock();
            sh.sctp_parameters = Some(s.parameters());
            sh.sctp_state = Some(s.state());
        }
        let state = WebRtcState {
            ice,
            dtls,
            srtp: None,
            routes: HashMap::new(),
            candidates: candidates.clone(),
            shared: shared.clone(),
            tasks: vec![],
            server,
            twcc: TwccRecorder::new(crate::ortc::generate_ssrc()),
            srtp_decrypt_failures: 0,
        };
        let ufrag = state.ice.local_parameters().username_fragment;
        let mut t = TransportState::new(id.clone(), router, TransportKind::WebRtc(Box::new(state)), closed.clone());
        if let Some((s, max)) = sctp {
            t.sctp = Some(s);
            t.max_message_size = max;
        }
        let bwe_cfg = crate::bwe::BweConfig { initial_bitrate: o.initial_available_outgoing_bitrate.max(30_000), ..Default::default() };
        t.bwe = Some(Box::new(crate::bwe::SendSideBwe::new(bwe_cfg, self.now_ms())));
        t.pacer = Some(Box::new(crate::bwe::Pacer::new((super::PACING_FACTOR * f64::from(bwe_cfg.initial_bitrate)) as u32)));
        let key = self.register_transport(router, t);
        if let Some(skey) = server {
            if let Some(s) = self.webrtc_servers.get_mut(&skey) {
                s.ufrags.insert(ufrag, key);
                s.transports.push(key);
            }
        }
        let mut tasks = vec![];
        for s in udp {
            tasks.push(tokio::task::spawn_local(udp_loop(self.self_ref.clone(), Target::Transport(key), s)));
        }
        for l in tcp {
            tasks.push(tokio::task::spawn_local(tcp_accept_loop(self.self_ref.clone(), Target::Transport(key), l)));
        }
        if let Some(TransportKind::WebRtc(w)) = self.transports.get_mut(&key).map(|t| &mut t.kind) {
            w.tasks = tasks;
        }
        Ok(WebRtcTransportData { app_data: o.app_data, key, id, closed, shared, candidates, fingerprints: cert.fingerprints.clone() })
    }

    fn webrtc_mut(&mut self, key: Key) -> Result<&mut WebRtcState> {
        match &mut self.transport_mut(key)?.kind {
            TransportKind::WebRtc(w) => Ok(w),
            _ => Err(Error::InvalidState("not a WebRtcTransport".into())),
        }
    }

    fn webrtc_connect(&mut self, key: Key, dtls_parameters: DtlsParameters) -> Result<()> {
        let now = self.now_ms();
        let w = self.webrtc_mut(key)?;
        w.dtls.connect(now, dtls_parameters)?;
        w.shared.lock().dtls_local_role = w.dtls.local_role();
        w.flush_dtls(None);
        self.process_webrtc_events(key);
        Ok(())
    }

    fn webrtc_restart_ice(&mut self, key: Key) -> Result<IceParameters> {
        let w = self.webrtc_mut(key)?;
        let p = w.ice.restart();
        w.shared.lock().ice_parameters = p.clone();
        let server = w.server;
        if let Some(s) = server.and_then(|s| self.webrtc_servers.get_mut(&s)) {
            s.ufrags.insert(p.username_fragment.clone(), key);
        }
        self.process_webrtc_events(key);
        Ok(p)
    }

    /// One datagram for a WebRTC transport, demultiplexed by its first byte (RFC 7983).
    pub(crate) fn on_webrtc_datagram(&mut self, key: Key, route: &Route, from: SocketAddr, data: &[u8]) {
        let now = self.now_ms();
        let Some(t) = self.transports.get_mut(&key) else { return };
        let TransportKind::WebRtc(w) = &mut t.kind else { return };
        let Some(&first) = data.first() else { return };
        match first {
            0..=3 if crate::webrtc::stun::is_stun(data) => {
                t.stats.bytes_received += data.len() as u64;
                if let StunOutcome::Respond(resp) = w.ice.handle_stun(now, from, data) {
                    w.routes.insert(from, route.clone());
                    if route.send(from, &resp) {
                        t.stats.bytes_sent += resp.len() as u64;
                    }
                }
            }
            20..=63 => {
                t.stats.bytes_received += data.len() as u64;
                if !w.ice.is_valid_remote(from) {
                    t.stats.discarded += 1;
                    return;
                }
                w.ice.handle_media_from(from);
                w.dtls.handle_datagram(now, data);
                w.flush_dtls(Some((from, route.clone())));
            }
            128..=191 => {
                if !w.ice.is_valid_remote(from) {
                    t.stats.discarded += 1;
                    return;
                }
                let Some(srtp) = w.srtp.as_mut() else {
                    t.stats.discarded += 1;
                    return;
                };
                // Decrypt in place in the worker's reusable buffer: no allocation per packet.
                let mut buf = std::mem::take(&mut self.srtp_buf);
                buf.clear();
                buf.extend_from_slice(data);
                let rtcp = is_rtcp(data);
                let ok = if rtcp { srtp.unprotect_rtcp(&mut buf) } else { srtp.unprotect_rtp(&mut buf) };
                if ok {
                    w.ice.handle_media_from(from);
                    self.process_webrtc_events(key);
                    if rtcp {
                        self.on_rtcp(key, &buf, now);
                    } else {
                        self.on_rtp(key, &buf, now);
                    }
                } else {
                    w.srtp_decrypt_failures += 1;
                    t.stats.discarded += 1;
                }
                self.srtp_buf = buf;
                return;
            }
            _ => {
                t.stats.discarded += 1;
                return;
            }
        }
        self.process_webrtc_events(key);
    }

    /// Drains ICE and DTLS events of a transport into engine state and app events.
    pub(crate) fn process_webrtc_events(&mut self, key: Key) {
        let now = self.now_ms();
        let mut emits: Vec<EventKind> = vec![];
        let mut server_updates: Vec<IceEvent> = vec![];
        let mut became_connected = false;
        let mut sctp_input: Vec<Vec<u8>> = vec![];
        let (id, server) = {
            let Some(t) = self.transports.get_mut(&key) else { return };
            let TransportKind::WebRtc(w) = &mut t.kind else { return };
            while let Some(ev) = w.ice.poll_event() {
                match ev {
                    IceEvent::StateChange(s) => {
                        w.shared.lock().ice_state = s;
                        if s == IceState::Disconnected {
                            w.shared.lock().ice_selected_tuple = None;
                        }
                        emits.push(EventKind::IceStateChange { ice_state: s });
                    }
                    IceEvent::SelectedTupleChange(addr) => {
                        if let Some(tuple) = w.tuple_for(addr) {
                            w.shared.lock().ice_selected_tuple = Some(tuple.clone());
                            emits.push(EventKind::IceSelectedTupleChange { ice_selected_tuple: tuple });
                        }
                        // DTLS output queued before a tuple existed can go now.
                        w.flush_dtls(None);
                    }
                    IceEvent::TupleRemoved(addr) => {
                        w.routes.remove(&addr);
                        server_updates.push(IceEvent::TupleRemoved(addr));
                    }
                    other => server_updates.push(other),
                }
            }
            while let Some(ev) = w.dtls.poll_event() {
                match ev {
                    DtlsEvent::StateChange(s) => {
                        let cert = if s == DtlsState::Connected { w.dtls.remote_cert().map(str::to_owned) } else { None };
                        {
                            let mut sh = w.shared.lock();
                            sh.dtls_state = s;
                            sh.dtls_local_role = w.dtls.local_role();
                            if cert.is_some() {
                                sh.dtls_remote_cert = cert.clone();
                            }
                        }
                        became_connected |= s == DtlsState::Connected;
                        emits.push(EventKind::DtlsStateChange { dtls_state: s, dtls_remote_cert: cert });
                    }
                    DtlsEvent::SrtpKeys { profile, material, is_client } => {
                        match SrtpTransport::from_keying_material(profile, &material, is_client) {
                            Ok(s) => w.srtp = Some(s),
                            Err(e) => tracing::warn!("SRTP setup failed: {e}"),
                        }
                    }
                    DtlsEvent::ApplicationData(d) => sctp_input.push(d),
                }
            }
            let server = w.server;
            if let Some(s) = t.sctp.as_mut() {
                if became_connected {
                    s.start(now);
                }
                for d in &sctp_input {
                    s.handle_input(now, d);
                }
            }
            // Called for every decrypted packet: clone the id only when there is something to say.
            let id = if emits.is_empty() { String::new() } else { t.id.clone() };
            (id, server)
        };
        if became_connected || !sctp_input.is_empty() {
            self.sctp_pump(key, now);
        }
        if let Some(skey) = server {
            for ev in server_updates {
                self.webrtc_server_on_ice_event(skey, key, ev);
            }
        }
        for ev in emits {
            self.bus.emit(&id, ev);
        }
        if became_connected {
            // Consumers created before the transport was up want a key frame now.
            let consumers = self.transports.get(&key).map(|t| t.consumers.clone()).unwrap_or_default();
            for c in consumers {
                if let Some((pk, e)) = self.consumers.get(&c).filter(|c| c.wants_key_frame_on_connect()).map(|c| (c.producer, c.key_frame_encoding())) {
                    self.request_key_frame_on(pk, e, now);
                }
            }
        }
    }

    /// Periodic work of one WebRTC transport: ICE consent, DTLS retransmissions, transport-cc
    /// feedback and sender reports.
    pub(crate) fn webrtc_tick(&mut self, key: Key, now: u64) {
        let mut feedback = vec![];
        if let Some(t) = self.transports.get_mut(&key) {
            if let TransportKind::WebRtc(w) = &mut t.kind {
                w.ice.handle_timeout(now);
                w.dtls.handle_timeout(now);
                w.flush_dtls(None);
                if w.srtp.is_some() {
                    w.twcc.build_feedback(&mut feedback, 1200);
                }
            }
            if let Some(s) = t.sctp.as_mut() {
                s.handle_timeout(now);
            }
            if let Some(b) = t.bwe.as_mut() {
                b.handle_timeout(now);
            }
            t.update_pacing_rate();
            if let Some(r) = t.recv_bwe.as_mut() {
                r.handle_timeout(crate::bwe::ms_to_us(now));
            }
            t.send_remb(&self.producers, now, false);
        }
        self.sctp_pump(key, now);
        self.send_probes(key, now);
        let due = self.transports.get(&key).is_some_and(|t| now >= t.last_allocation_ms + super::allocation::ALLOCATION_INTERVAL_MS);
        if due {
            if let Some(t) = self.transports.get_mut(&key) {
                t.last_allocation_ms = now;
            }
            self.allocate_layers(key, now);
        }
        self.process_webrtc_events(key);
        if let Some(t) = self.transports.get_mut(&key) {
            for f in &feedback {
                t.send_rtcp(f, now);
            }
        }
    }
}


/// Whose packets a socket loop delivers.
#[derive(Clone, Copy)]
pub(crate) enum Target {
    Transport(Key),
    Server(Key),
}

fn deliver(st: &mut WorkerState, target: Target, route: &Route, from: SocketAddr, data: &[u8]) {
    match target {
        Target::Transport(k) => st.on_webrtc_datagram(k, route, from, data),
        Target::Server(k) => st.on_webrtc_server_datagram(k, route, from, data),
    }
}

pub(crate) async fn udp_loop(state: std::rc::Weak<std::cell::RefCell<WorkerState>>, target: Target, sock: Rc<UdpSocket>) {
    let route = Route::Udp(sock.clone());
    loop {
        if sock.readable().await.is_err() {
            return;
        }
        let Some(st) = state.upgrade() else { return };
        let mut s = st.borrow_mut();
        let die = s.die.clone();
        let r = s.receive_turn(|s| super::io::drain_udp(&sock, |data, from| crate::worker::guarded(&die, || deliver(s, target, &route, from, data))));
        if let Err(e) = r {
            tracing::debug!("udp recv error: {e}");
        }
    }
}

/// Accepts ICE-TCP connections on `listener` and serves each (see [`serve_tcp`]) within the
/// listener's [`TcpLimits`]. The connections live in a `JoinSet` owned by this task: finished
/// ones are reaped as they end, and aborting this task (the transport or server closing) ends
/// them all.
pub(crate) async fn tcp_accept_loop(state: std::rc::Weak<std::cell::RefCell<WorkerState>>, target: Target, listener: TcpListener) {
    let limits = match target {
        Target::Transport(_) => TcpLimits::TRANSPORT,
        Target::Server(_) => TcpLimits::SERVER,
    };
    let mut conns = tokio::task::JoinSet::new();
    let mut next_id = 0u64;
    loop {
        let accepted = tokio::select! {
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, or the connection was reset before it was accepted:
                // the listener itself is fine; retry shortly instead of spinning.
                tracing::warn!("ICE-TCP accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        if conns.len() >= limits.max_connections {
            tracing::warn!("ICE-TCP: {} connections open on this listener (the limit): closing a new one", conns.len());
            drop(stream);
            continue;
        }
        next_id += 1;
        let (s1, s2) = (state.clone(), state.clone());
        conns.spawn_local(serve_tcp(
            stream,
            next_id,
            limits,
            move |conn, from, data| {
                let Some(st) = s1.upgrade() else { return false };
                let mut s = st.borrow_mut();
                let die = s.die.clone();
                let route = Route::Tcp(conn.clone());
                crate::worker::guarded(&die, || deliver(&mut s, target, &route, from, data));
                s.is_route(target, from, conn)
            },
            move |_conn, from| {
                let Some(st) = s2.upgrade() else { return };
                let Ok(mut s) = st.try_borrow_mut() else { return };
                s.on_tcp_closed(target, from);
            },
        ));
    }
}

impl WorkerState {
    /// Whether TCP connection `conn` from `from` is a route of the transport it reached.
    fn is_route(&self, target: Target, from: SocketAddr, conn: &Rc<super::io::TcpConn>) -> bool {
        let Some(TransportKind::WebRtc(w)) = self.tcp_transport(target, from).and_then(|k| self.transports.get(&k)).map(|t| &t.kind) else { return false };
        matches!(w.routes.get(&from), Some(Route::Tcp(c)) if Rc::ptr_eq(c, conn))
    }

    /// The transport a TCP connection from `from` on `target`'s listener belongs to (on a
    /// WebRtcServer: once ICE told which).
    fn tcp_transport(&self, target: Target, from: SocketAddr) -> Option<Key> {
        match target {
            Target::Transport(k) => Some(k),
            Target::Server(s) => self.webrtc_servers.get(&s).and_then(|s| s.addrs.get(&from).copied()),
        }
    }

    fn on_tcp_closed(&mut self, target: Target, from: SocketAddr) {
        if let Some(k) = self.tcp_transport(target, from) {
            if let Some(TransportKind::WebRtc(w)) = self.transports.get_mut(&k).map(|t| &mut t.kind) {
                if w.routes.get(&from).is_some_and(|r| matches!(r, Route::Tcp(_))) {
                    w.ice.remove_tuple(from);
                }
            }
            self.process_webrtc_events(k);
        }
    }
}

/// A WebRTC transport handle.
#[derive(Clone)]
pub struct WebRtcTransport {
    base: TransportBase,
    shared: Arc<Mutex<WebRtcShared>>,
    candidates: Arc<Vec<IceCandidate>>,
    fingerprints: Arc<Vec<crate::webrtc::DtlsFingerprint>>,
}

impl std::ops::Deref for WebRtcTransport {
    type Target = TransportBase;
    fn deref(&self) -> &TransportBase {
        &self.base
    }
}

impl std::fmt::Debug for WebRtcTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcTransport").field("id", &self.base.id).finish()
    }
}

impl WebRtcTransport {
    pub(crate) fn from_data(worker: Arc<WorkerInner>, d: WebRtcTransportData) -> Self {
        WebRtcTransport {
            base: TransportBase { app_data: crate::AppData::new(d.app_data), worker, key: d.key, id: d.id.into(), closed: d.closed },
            shared: d.shared,
            candidates: Arc::new(d.candidates),
            fingerprints: Arc::new(d.fingerprints),
        }
    }

    /// Always `controlled` (ICE-lite).
    pub fn ice_role(&self) -> &'static str {
        "controlled"
    }
    /// Local ICE parameters (current after `restart_ice`).
    pub fn ice_parameters(&self) -> IceParameters {
        self.shared.lock().ice_parameters.clone()
    }
    /// Local ICE candidates.
    pub fn ice_candidates(&self) -> &[IceCandidate] {
        &self.candidates
    }
    /// ICE state.
    pub fn ice_state(&self) -> IceState {
        self.shared.lock().ice_state
    }
    /// The selected ICE tuple, once ICE connected.
    pub fn ice_selected_tuple(&self) -> Option<TransportTuple> {
        self.shared.lock().ice_selected_tuple.clone()
    }
    /// Local DTLS parameters (`role` is `auto` until `connect()`).
    pub fn dtls_parameters(&self) -> DtlsParameters {
        DtlsParameters { role: self.shared.lock().dtls_local_role, fingerprints: (*self.fingerprints).clone() }
    }
    /// DTLS state.
    pub fn dtls_state(&self) -> DtlsState {
        self.shared.lock().dtls_state
    }
    /// mediasoup's `sctpParameters` (`{port, OS, MIS, maxMessageSize}`) when `enableSctp`.
    pub fn sctp_parameters(&self) -> Option<Value> {
        self.shared.lock().sctp_parameters.clone()
    }
    /// `new`, `connecting`, `connected`, `failed` or `closed` when `enableSctp`.
    pub fn sctp_state(&self) -> Option<&'static str> {
        self.shared.lock().sctp_state.map(|s| s.as_str())
    }
    /// Remote certificate (PEM) once DTLS connected.
    pub fn dtls_remote_cert(&self) -> Option<String> {
        self.shared.lock().dtls_remote_cert.clone()
    }

    /// Gives the remote DTLS parameters and starts the handshake.
    pub async fn connect(&self, dtls_parameters: DtlsParameters) -> Result<()> {
        let key = self.key;
        self.worker.call(move |st| st.webrtc_connect(key, dtls_parameters)).await
    }
    /// Callback twin of [`WebRtcTransport::connect`]: returns at once and calls `done` on the
    /// worker thread; `dtls_parameters` is built there too (see
    /// [`crate::Router::create_webrtc_transport_then`]).
    pub fn connect_then(
        &self,
        dtls_parameters: impl FnOnce() -> Result<DtlsParameters> + Send + 'static,
        done: impl FnOnce(Result<()>) + Send + 'static,
    ) {
        let key = self.key;
        self.worker.call_then(move |st| st.webrtc_connect(key, dtls_parameters()?), done);
    }
    /// Blocking twin of [`WebRtcTransport::connect`].
    pub fn connect_blocking(&self, dtls_parameters: DtlsParameters) -> Result<()> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.webrtc_connect(key, dtls_parameters))
    }
    /// New ICE credentials (ICE restart).
    pub async fn restart_ice(&self) -> Result<IceParameters> {
        let key = self.key;
        self.worker.call(move |st| st.webrtc_restart_ice(key)).await
    }
    /// Blocking twin of [`WebRtcTransport::restart_ice`].
    pub fn restart_ice_blocking(&self) -> Result<IceParameters> {
        let key = self.key;
        self.worker.call_blocking(move |st| st.webrtc_restart_ice(key))
    }
}
