//! The DTLS side of a WebRTC transport, sans-IO, over `rtc-dtls`.
//!
//! Wraps `rtc_dtls::endpoint::Endpoint` to fix what a real Chromium exposed
//! (`shared/WEBRTC_STACK.md`):
//! - the crate keys associations by remote address, but ICE may move the selected tuple in
//!   the middle of a handshake: the session belongs to the transport, so the endpoint always
//!   sees one fixed label address and the caller sends output to the current ICE tuple;
//! - a lost server flight 4 stalls the crate (it drops its retransmit timer when the peer's
//!   repeated ClientHello arrives): a repeated ClientHello makes us resend our last flight;
//! - a server-preference for the SRTP profile (GCM is 2–4× cheaper) is missing: we read the
//!   peer's `use_srtp` offer from its ClientHello and configure only the profile we prefer;
//! - the peer certificate is checked against the fingerprints from `connect()` both in the
//!   crate's verify callback and again once the handshake completes.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use parking_lot::Mutex;
use rtc_dtls::config::{ClientAuthType, ConfigBuilder, ExtendedMasterSecretType};
use rtc_dtls::endpoint::{Endpoint, EndpointEvent};
use rtc_dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use rtc_srtp::protection_profile::ProtectionProfile;
use serde::{Deserialize, Serialize};
use shared::TransportProtocol;

use super::certificate::{der_to_pem, fingerprint, DtlsFingerprint, WorkerCertificate};
use super::srtp::from_dtls_profile;
use crate::error::{Error, Result};

/// DTLS role (`dtlsParameters.role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtlsRole {
    /// Decided by the ICE role: as the ICE-controlled side, the DTLS client.
    Auto,
    /// DTLS client.
    Client,
    /// DTLS server.
    Server,
}

/// `dtlsParameters` of a transport or of its remote peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DtlsParameters {
    /// The role.
    #[serde(default = "auto_role")]
    pub role: DtlsRole,
    /// Certificate fingerprints.
    pub fingerprints: Vec<DtlsFingerprint>,
}

fn auto_role() -> DtlsRole {
    DtlsRole::Auto
}

/// DTLS state, with mediasoup's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtlsState {
    /// Not started (`connect()` not called yet).
    New,
    /// Handshaking.
    Connecting,
    /// Handshake done, SRTP keys exported.
    Connected,
    /// Handshake failed (e.g. fingerprint mismatch).
    Failed,
    /// Closed by either side.
    Closed,
}

/// What the session reports to its transport.
#[derive(Debug)]
pub(crate) enum DtlsEvent {
    StateChange(DtlsState),
    /// Handshake completed: the SRTP profile and the exported keying material.
    SrtpKeys { profile: ProtectionProfile, material: Vec<u8>, is_client: bool },
    /// Decrypted application data (SCTP; consumed when data channels land).
    #[allow(dead_code)]
    ApplicationData(Vec<u8>),
}

/// The label address the crate keys its association by (see the module docs).
const LABEL: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 9));
/// DTLS datagrams kept from before `connect()` (the ClientHello may win the race).
const MAX_EARLY: usize = 8;
/// Datagrams of one fragmented ClientHello kept while reassembling it.
const MAX_HELLO_FRAGMENTS: usize = 4;
/// Times a repeated ClientHello may make us resend our last flight: the crate's own budget for a
/// flight's retransmissions (7). Anything that looks like a ClientHello header (14 bytes) would
/// otherwise get our whole flight 4 (~700 bytes) back, without limit, until the handshake ends.
const MAX_FLIGHT_RESENDS: usize = 7;

/// Profiles we accept, best first: GCM is cheapest per packet.
const PREFERRED: [SrtpProtectionProfile; 4] = [
    SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm,
    SrtpProtectionProfile::Srtp_Aead_Aes_256_Gcm,
    SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
    SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_32,
];

pub(crate) struct DtlsSession {
    cert: Arc<WorkerCertificate>,
    endpoint: Option<Endpoint>,
    local_role: Option<DtlsRole>,
    remote_fingerprints: Vec<DtlsFingerprint>,
    state: DtlsState,
    early: Vec<Vec<u8>>,
    server_configured: bool,
    /// Datagrams of a ClientHello split over several (Chrome's post-quantum key share), kept
    /// until the whole message is here to read its `use_srtp` offer.
    hello_fragments: Vec<Vec<u8>>,
    last_flight: Vec<Vec<u8>>,
    flight_resends: usize,
    peer_der: Arc<Mutex<Option<Vec<u8>>>>,
    remote_cert_pem: Option<String>,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<DtlsEvent>,
    epoch: Instant,
}

impl DtlsSession {
    pub(crate) fn new(cert: Arc<WorkerCertificate>, epoch: Instant) -> Self {
        DtlsSession {
            cert,
            endpoint: None,
            local_role: None,
            remote_fingerprints: vec![],
            state: DtlsState::New,
            early: vec![],
            server_configured: false,
            hello_fragments: vec![],
            last_flight: vec![],
            flight_resends: 0,
            peer_der: Arc::new(Mutex::new(None)),
            remote_cert_pem: None,
            out: VecDeque::new(),
            events: VecDeque::new(),
            epoch,
        }
    }

    fn instant(&self, now_ms: u64) -> Instant {
        self.epoch + std::time::Duration::from_millis(now_ms)
    }

    /// Current state.
    pub(crate) fn state(&self) -> DtlsState {
        self.state
    }

    /// Our role once connected (`Client` or `Server`), else `Auto`.
    pub(crate) fn local_role(&self) -> DtlsRole {
        self.local_role.unwrap_or(DtlsRole::Auto)
    }

    /// Fingerprints of the local (worker) certificate.
    pub(crate) fn local_fingerprints(&self) -> &[DtlsFingerprint] {
        &self.cert.fingerprints
    }

    /// The peer certificate in PEM once the handshake completed.
    pub(crate) fn remote_cert(&self) -> Option<&str> {
        self.remote_cert_pem.as_deref()
    }

    fn set_state(&mut self, s: DtlsState) {
        if self.state != s {
            self.state = s;
            self.events.push_back(DtlsEvent::StateChange(s));
        }
    }

    fn builder(&self) -> ConfigBuilder {
        let expected = self.remote_fingerprints.clone();
        let seen = self.peer_der.clone();
        let verify: rtc_dtls::config::VerifyPeerCertificateFn = Arc::new(move |certs: &[Vec<u8>], _| {
            let leaf = certs.first().ok_or(shared::error::Error::Other("no peer certificate".into()))?;
            if !matches_fingerprints(&expected, leaf) {
                return Err(shared::error::Error::Other("peer certificate does not match the remote fingerprints".into()));
            }
            *seen.lock() = Some(leaf.clone());
            Ok(())
        });
        ConfigBuilder::default()
            .with_crypto_provider(self.cert.provider.clone())
            .with_certificates(vec![self.cert.certificate.clone()])
            .with_extended_master_secret(ExtendedMasterSecretType::Require)
            .with_client_auth(ClientAuthType::RequireAnyClientCert)
            .with_insecure_skip_verify(true)
            .with_verify_peer_certificate(Some(verify))
    }

    /// Starts the handshake with the remote's parameters (`transport.connect()`).
    pub(crate) fn connect(&mut self, now_ms: u64, remote: DtlsParameters) -> Result<()> {
        if self.endpoint.is_some() {
            return Err(Error::InvalidState("connect() already called".into()));
        }
        if self.state == DtlsState::Closed {
            return Err(Error::InvalidState("DTLS closed".into()));
        }
        if remote.fingerprints.is_empty() {
            return Err(Error::type_err("missing dtlsParameters.fingerprints"));
        }
        for f in &remote.fingerprints {
            if fingerprint(&f.algorithm, &[]).is_none() {
                return Err(Error::type_err(format!("invalid dtlsParameters.fingerprints: unsupported algorithm {:?}", f.algorithm)));
            }
        }
        // ICE-controlled (ICE-lite) with `auto`: we are the DTLS client (RFC 5763 / ORTC).
        let local = match remote.role {
            DtlsRole::Client => DtlsRole::Server,
            DtlsRole::Server | DtlsRole::Auto => DtlsRole::Client,
        };
        self.remote_fingerprints = remote.fingerprints;
        self.local_role = Some(local);
        let now = self.instant(now_ms);
        let e = |e: shared::error::Error| Error::Io(format!("DTLS: {e}"));
        match local {
            DtlsRole::Client => {
                let cfg = self.builder().with_srtp_protection_profiles(PREFERRED.to_vec()).build(true, Some(LABEL)).map_err(e)?;
                let mut ep = Endpoint::new(LABEL, TransportProtocol::UDP, None);
                ep.connect(now, LABEL, Arc::new(cfg), None).map_err(e)?;
                self.endpoint = Some(ep);
                self.set_state(DtlsState::Connecting);
                self.drain(true, false);
            }
            _ => {
                self.endpoint = Some(Endpoint::new(LABEL, TransportProtocol::UDP, None));
                self.set_state(DtlsState::Connecting);
                for d in std::mem::take(&mut self.early) {
                    self.handle_datagram(now_ms, &d);
                }
            }
        }
        Ok(())
    }

    /// A DTLS record datagram from the remote.
    pub(crate) fn handle_datagram(&mut self, now_ms: u64, data: &[u8]) {
        if matches!(self.state, DtlsState::Failed | DtlsState::Closed) {
            return;
        }
        let Some(_) = self.endpoint else {
            if self.early.len() < MAX_EARLY {
                self.early.push(data.to_vec());
            }
            return;
        };
        let now = self.instant(now_ms);
        let server = self.local_role == Some(DtlsRole::Server);
        if server && !self.server_configured {
            if !is_client_hello(data) {
                return; // an association can only start with a ClientHello
            }
            // A ClientHello split over datagrams is read once all its fragments are here (bounded;
            // past that, the client's order decides).
            let mut fragment = false;
            let offered = match client_hello_srtp_profiles(data) {
                Some(o) => o,
                None => {
                    fragment = true;
                    self.hello_fragments.push(data.to_vec());
                    match reassembled_client_hello(&self.hello_fragments).and_then(|h| client_hello_srtp_profiles(&h)) {
                        Some(o) => o,
                        None if self.hello_fragments.len() < MAX_HELLO_FRAGMENTS => return,
                        None => vec![],
                    }
                }
            };
            let held = std::mem::take(&mut self.hello_fragments);
            let pick: Vec<SrtpProtectionProfile> = PREFERRED.iter().copied().filter(|p| offered.contains(p)).take(1).collect();
            let profiles = if pick.is_empty() { PREFERRED.to_vec() } else { pick };
            match self.builder().with_srtp_protection_profiles(profiles).build(false, None) {
                Ok(cfg) => {
                    if let Some(ep) = self.endpoint.as_mut() {
                        ep.set_server_config(Some(Arc::new(cfg)));
                    }
                    self.server_configured = true;
                    // Earlier fragments go first, then this datagram as usual.
                    let earlier = if fragment { held.len().saturating_sub(1) } else { held.len() };
                    for d in held.iter().take(earlier) {
                        self.handle_datagram(now_ms, d);
                    }
                }
                Err(e) => {
                    tracing::warn!("DTLS server config: {e}");
                    self.set_state(DtlsState::Failed);
                    return;
                }
            }
        }
        let was_complete = self.state == DtlsState::Connected;
        let Some(ep) = self.endpoint.as_mut() else { return };
        let result = ep.read(now, LABEL, None, BytesMut::from(data));
        // Never answer an alert with an alert (RFC 5246 §7.2.2 closes on a fatal one; the crate
        // replies to what it cannot read with an alert, and two such ends — or a peer that
        // echoes alerts — would volley them forever). Except once: the peer's close_notify on
        // a connected session gets ours (RFC 5246 §7.2.1); a session that closed first (ours
        // went out already) or is closed by now answers nothing.
        let peer_closed = matches!(&result, Ok(events) if events.iter().any(|e| matches!(e, EndpointEvent::PeerClosed)));
        let produced = self.drain(!was_complete, only_alerts(data) && !(peer_closed && was_complete));
        match result {
            Ok(events) => {
                for ev in events {
                    match ev {
                        EndpointEvent::HandshakeComplete => self.on_handshake_complete(),
                        EndpointEvent::ApplicationData(d) => self.events.push_back(DtlsEvent::ApplicationData(d.to_vec())),
                        EndpointEvent::PeerClosed => self.set_state(DtlsState::Closed),
                        _ => {}
                    }
                }
            }
            Err(e) => {
                if self.peer_der.lock().is_none() && is_verify_failure(&e) {
                    tracing::warn!("DTLS handshake failed: {e}");
                    self.set_state(DtlsState::Failed);
                    return;
                }
                tracing::debug!("DTLS read: {e}");
            }
        }
        // The peer repeated its ClientHello: our flight was lost and the crate will not resend it.
        // The same for a client whose flight 5 was lost twice: the peer's repeated flight 4 makes
        // the crate drop its retransmit timer without answering, and the handshake stalls.
        let timer_lost = self.endpoint.as_ref().is_some_and(|ep| ep.poll_timeout(&LABEL).is_none());
        let repeated = if server { is_client_hello(data) } else { timer_lost && is_epoch0_handshake(data) };
        // A server whose final flight (ChangeCipherSpec + Finished) was lost sees the client's
        // flight 5 again; when that is a duplicate of what completed the handshake (same record
        // numbers) the crate drops it as a replay and answers nothing, and a client whose timer
        // the crate dropped would wait forever (found by the dtls_handshake fuzzer). RFC 6347
        // §4.2.4: the final flight is resent when the peer's final flight repeats.
        let repeated_final = server && was_complete && matches!(data.first(), Some(20 | 22));
        if !produced && ((self.state == DtlsState::Connecting && repeated) || repeated_final) && !self.last_flight.is_empty() && self.flight_resends < MAX_FLIGHT_RESENDS {
            self.flight_resends += 1;
            let flight = self.last_flight.clone();
            self.out.extend(flight);
        }
    }

    fn on_handshake_complete(&mut self) {
        let der = self.peer_der.lock().clone();
        let Some(der) = der.filter(|d| matches_fingerprints(&self.remote_fingerprints, d)) else {
            tracing::warn!("DTLS completed without a peer certificate matching the remote fingerprints");
            self.set_state(DtlsState::Failed);
            return;
        };
        self.remote_cert_pem = Some(der_to_pem(&der));
        let Some(state) = self.endpoint.as_ref().and_then(|ep| ep.get_connection_state(LABEL)) else { return };
        let Some(profile) = from_dtls_profile(state.srtp_protection_profile()) else {
            tracing::warn!("DTLS completed without a usable SRTP profile");
            self.set_state(DtlsState::Failed);
            return;
        };
        let len = 2 * (profile.key_len() + profile.salt_len());
        match state.export_keying_material(rtc_srtp::config::LABEL_EXTRACTOR_DTLS_SRTP, &[], len) {
            Ok(material) => {
                let is_client = self.local_role == Some(DtlsRole::Client);
                self.events.push_back(DtlsEvent::SrtpKeys { profile, material: material.as_ref().to_vec(), is_client });
                self.set_state(DtlsState::Connected);
            }
            Err(e) => {
                tracing::warn!("DTLS key export failed: {e}");
                self.set_state(DtlsState::Failed);
            }
        }
    }

    /// Moves the endpoint's output into `out`; remembers it as the last flight while handshaking.
    /// `drop_alerts`: datagrams of alerts only are dropped, and the rest is not a flight.
    fn drain(&mut self, handshaking: bool, drop_alerts: bool) -> bool {
        let Some(ep) = self.endpoint.as_mut() else { return false };
        let mut burst = vec![];
        while let Some(t) = ep.poll_transmit() {
            if !(drop_alerts && only_alerts(&t.message)) {
                burst.push(t.message.to_vec());
            }
        }
        if burst.is_empty() {
            return false;
        }
        if handshaking && !drop_alerts {
            self.last_flight = burst.clone();
        }
        self.out.extend(burst);
        true
    }

    /// Drives retransmissions.
    pub(crate) fn handle_timeout(&mut self, now_ms: u64) {
        if self.state != DtlsState::Connecting {
            return;
        }
        let now = self.instant(now_ms);
        let Some(ep) = self.endpoint.as_mut() else { return };
        if ep.poll_timeout(&LABEL).is_some_and(|t| t <= now) {
            if let Err(e) = ep.handle_timeout(LABEL, now) {
                tracing::warn!("DTLS handshake timed out: {e}");
                self.set_state(DtlsState::Failed);
                return;
            }
            self.drain(true, false);
        }
    }

    /// When `handle_timeout` next has a retransmission to make (ms on the session's clock), while
    /// handshaking.
    pub(crate) fn next_timeout(&self) -> Option<u64> {
        if self.state != DtlsState::Connecting {
            return None;
        }
        let at = self.endpoint.as_ref()?.poll_timeout(&LABEL)?;
        let d = at.saturating_duration_since(self.epoch);
        Some(d.as_millis() as u64 + u64::from(d.subsec_nanos() % 1_000_000 != 0))
    }

    /// Sends application data (SCTP) once connected.
    pub(crate) fn send_application_data(&mut self, now_ms: u64, data: &[u8]) -> Result<()> {
        let now = self.instant(now_ms);
        let ep = self.endpoint.as_mut().ok_or_else(|| Error::InvalidState("DTLS not connected".into()))?;
        ep.write(now, LABEL, data).map_err(|e| Error::InvalidState(format!("DTLS write: {e}")))?;
        self.drain(false, false);
        Ok(())
    }

    /// Closes the association (sends close_notify).
    pub(crate) fn close(&mut self, now_ms: u64) {
        let now = self.instant(now_ms);
        if let Some(ep) = self.endpoint.as_mut() {
            let _ = ep.stop(now, LABEL);
        }
        self.drain(false, false);
        self.set_state(DtlsState::Closed);
    }

    /// Next datagram to send to the remote.
    pub(crate) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// Next event.
    pub(crate) fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.events.pop_front()
    }
}

fn matches_fingerprints(expected: &[DtlsFingerprint], der: &[u8]) -> bool {
    expected.iter().any(|f| fingerprint(&f.algorithm, der).is_some_and(|v| v.eq_ignore_ascii_case(&f.value)))
}

fn is_verify_failure(e: &shared::error::Error) -> bool {
    let s = e.to_string();
    s.contains("does not match the remote fingerprints") || s.contains("no peer certificate") || s.to_ascii_lowercase().contains("certificate")
}

/// True for a datagram made of DTLS alert records only (content type 21; RFC 6347 §4.1).
fn only_alerts(d: &[u8]) -> bool {
    let mut i = 0;
    while i < d.len() {
        let Some(len) = d.get(i + 11..i + 13).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))) else { return false };
        if d[i] != 21 {
            return false;
        }
        i += 13 + len;
    }
    !d.is_empty()
}

/// True for a datagram starting with an epoch-0 handshake record (RFC 6347 §4.1).
fn is_epoch0_handshake(d: &[u8]) -> bool {
    d.len() > 13 && d[0] == 22 && d[3] == 0 && d[4] == 0
}

/// True for an epoch-0 handshake record carrying a ClientHello (RFC 6347 §4.1, §4.2.2).
fn is_client_hello(d: &[u8]) -> bool {
    is_epoch0_handshake(d) && d[13] == 1
}

/// Rebuilds one unfragmented ClientHello datagram from datagrams that each carry a fragment of it
/// (one handshake record per datagram); None until every byte of the message is there.
fn reassembled_client_hello(datagrams: &[Vec<u8>]) -> Option<Vec<u8>> {
    let u24 = |d: &[u8], i: usize| Some(((*d.get(i)? as usize) << 16) | ((*d.get(i + 1)? as usize) << 8) | *d.get(i + 2)? as usize);
    let first = datagrams.first()?;
    let body_len = u24(first, 14)?;
    if body_len > 1 << 16 {
        return None;
    }
    let mut body = vec![0u8; body_len];
    let mut filled = vec![false; body_len];
    for d in datagrams.iter().filter(|d| is_client_hello(d)) {
        let (len, off, flen) = (u24(d, 14)?, u24(d, 19)?, u24(d, 22)?);
        if len != body_len || off + flen > body_len {
            continue;
        }
        let frag = d.get(25..25 + flen)?;
        body[off..off + flen].copy_from_slice(frag);
        filled[off..off + flen].fill(true);
    }
    if !filled.iter().all(|f| *f) {
        return None;
    }
    let mut out = first.get(..25)?.to_vec();
    let record_len = 12 + body_len;
    out[11..13].copy_from_slice(&(record_len as u16).to_be_bytes());
    out[19..22].copy_from_slice(&[0, 0, 0]);
    out[22..25].copy_from_slice(&[(body_len >> 16) as u8, (body_len >> 8) as u8, body_len as u8]);
    out.extend_from_slice(&body);
    Some(out)
}

/// The SRTP profiles a ClientHello offers in `use_srtp`, when the datagram holds one whole
/// unfragmented ClientHello; `Some(vec![])` when it offers none.
fn client_hello_srtp_profiles(d: &[u8]) -> Option<Vec<SrtpProtectionProfile>> {
    if !is_client_hello(d) {
        return None;
    }
    let rd = |i: usize| d.get(i).copied();
    let u16at = |i: usize| Some(u16::from_be_bytes([rd(i)?, rd(i + 1)?]) as usize);
    let u24at = |i: usize| Some(((rd(i)? as usize) << 16) | ((rd(i + 1)? as usize) << 8) | rd(i + 2)? as usize);
    let body_len = u24at(14)?;
    let frag_off = u24at(19)?;
    let frag_len = u24at(22)?;
    if frag_off != 0 || frag_len != body_len {
        return None;
    }
    let mut p = 25 + 2 + 32; // handshake header, client_version, random
    p += 1 + rd(p)? as usize; // session id
    p += 1 + rd(p)? as usize; // cookie
    p += 2 + u16at(p)?; // cipher suites
    p += 1 + rd(p)? as usize; // compression methods
    let ext_end = p + 2 + u16at(p)?;
    p += 2;
    while p + 4 <= ext_end.min(d.len()) {
        let (ty, len) = (u16at(p)?, u16at(p + 2)?);
        if ty == 14 {
            let n = u16at(p + 4)?;
            let mut out = vec![];
            for i in (0..n).step_by(2) {
                let id = u16at(p + 6 + i)? as u16;
                out.push(match id {
                    0x0001 => SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
                    0x0002 => SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_32,
                    0x0007 => SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm,
                    0x0008 => SrtpProtectionProfile::Srtp_Aead_Aes_256_Gcm,
                    _ => continue,
                });
            }
            return Some(out);
        }
        p += 4 + len;
    }
    Some(vec![])
}

#[cfg(test)]
mod hello_tests {
    use super::*;

    /// A DTLS 1.2 ClientHello datagram offering `profiles` in use_srtp, padded with a large
    /// extension (like a post-quantum key share).
    fn client_hello(profiles: &[u16], pad: usize) -> Vec<u8> {
        let mut body = vec![0xfe, 0xfd];
        body.extend_from_slice(&[7; 32]); // random
        body.push(0); // session id
        body.push(0); // cookie
        body.extend_from_slice(&[0, 2, 0xc0, 0x2b]); // one cipher suite
        body.extend_from_slice(&[1, 0]); // compression
        let mut exts = vec![];
        exts.extend_from_slice(&[0x12, 0x34]);
        exts.extend_from_slice(&(pad as u16).to_be_bytes());
        exts.extend(std::iter::repeat_n(0xaa, pad));
        exts.extend_from_slice(&[0, 14]);
        exts.extend_from_slice(&((2 + 2 * profiles.len() + 1) as u16).to_be_bytes());
        exts.extend_from_slice(&((2 * profiles.len()) as u16).to_be_bytes());
        for p in profiles {
            exts.extend_from_slice(&p.to_be_bytes());
        }
        exts.push(0); // MKI
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        fragment(&body, 0, body.len())
    }

    fn fragment(body: &[u8], off: usize, len: usize) -> Vec<u8> {
        let mut d = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0];
        d.extend_from_slice(&((12 + len) as u16).to_be_bytes());
        d.push(1);
        d.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        d.extend_from_slice(&[0, 0]);
        d.extend_from_slice(&(off as u32).to_be_bytes()[1..]);
        d.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        d.extend_from_slice(&body[off..off + len]);
        d
    }

    #[test]
    fn a_client_hello_split_over_datagrams_is_read_once_complete() {
        let whole = client_hello(&[0x0001, 0x0008, 0x0007], 1200);
        let want = client_hello_srtp_profiles(&whole).unwrap();
        assert_eq!(want.len(), 3);
        let body = whole[25..].to_vec();
        let (a, b) = (fragment(&body, 0, 700), fragment(&body, 700, body.len() - 700));
        assert_eq!(client_hello_srtp_profiles(&a), None, "a fragment alone is not readable");
        assert_eq!(reassembled_client_hello(&[a.clone()]), None);
        let joined = reassembled_client_hello(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(client_hello_srtp_profiles(&joined), Some(want.clone()));
        // Order and duplicates do not matter; garbage and truncation never panic.
        assert_eq!(reassembled_client_hello(&[b.clone(), a.clone(), b.clone()]).and_then(|h| client_hello_srtp_profiles(&h)), Some(want));
        for n in 0..a.len() {
            let _ = reassembled_client_hello(&[a[..n].to_vec(), b.clone()]);
        }
    }
}
