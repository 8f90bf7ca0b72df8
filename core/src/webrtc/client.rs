//! The client side of a WebRtcTransport, sans-IO, built from the engine's own pieces: an
//! ICE-controlling connectivity check (USE-CANDIDATE), a DTLS client and in-place SRTP. The load
//! bench's generator and sinks (benches/load) speak it to the engine, as a browser would. Not part
//! of the API (re-exported under `sfu_core::peer`, `#[doc(hidden)]`).

use std::sync::Arc;
use std::time::Instant;

use rtc_stun::attributes::{RawAttribute, ATTR_ICE_CONTROLLING, ATTR_PRIORITY, ATTR_USERNAME, ATTR_USE_CANDIDATE};
use rtc_stun::fingerprint::FINGERPRINT;
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{Message, Setter, TransactionId, BINDING_REQUEST};
use rtc_stun::textattrs::TextAttribute;

use super::certificate::{DtlsFingerprint, WorkerCertificate};
use super::dtls::{DtlsEvent, DtlsParameters, DtlsRole, DtlsSession, DtlsState};
use super::srtp::SrtpTransport;
use crate::{Error, Result};

/// A Binding request as an ICE-controlling agent sends it to nominate a pair: USERNAME
/// (`remote:local` ufrags), ICE-CONTROLLING with `tie_breaker`, USE-CANDIDATE, PRIORITY,
/// MESSAGE-INTEGRITY with the transport's `password`, FINGERPRINT.
pub(crate) fn nominating_binding_request(username: &str, password: &str, tie_breaker: u64) -> Result<Vec<u8>> {
    let crypto = super::stun::crypto().ok_or_else(|| Error::Io("no STUN crypto provider".into()))?;
    let raw = |typ, value: Vec<u8>| RawAttribute { typ, length: value.len() as u16, value };
    let setters: Vec<Box<dyn Setter>> = vec![
        Box::new(BINDING_REQUEST),
        Box::new(TransactionId::new()),
        Box::new(TextAttribute::new(ATTR_USERNAME, username.to_owned())),
        Box::new(raw(ATTR_ICE_CONTROLLING, tie_breaker.to_be_bytes().to_vec())),
        Box::new(raw(ATTR_USE_CANDIDATE, vec![])),
        Box::new(raw(ATTR_PRIORITY, 1_853_824_767u32.to_be_bytes().to_vec())),
        Box::new(MessageIntegrity::new_short_term_integrity_with_provider(password.to_owned(), crypto)),
        Box::new(FINGERPRINT),
    ];
    let mut m = Message::new();
    m.build(&setters).map_err(|e| Error::Io(format!("STUN: {e}")))?;
    Ok(m.raw)
}

/// One client session with one WebRtcTransport.
pub struct WebRtcClient {
    dtls: DtlsSession,
    srtp: Option<SrtpTransport>,
    remote_ufrag: String,
    remote_pwd: String,
    local_ufrag: String,
    fingerprints: Vec<DtlsFingerprint>,
    epoch: Instant,
    failed: bool,
}

impl WebRtcClient {
    /// A client for a transport with these ICE credentials (`iceParameters.usernameFragment`,
    /// `.password`) and DTLS fingerprints (`dtlsParameters.fingerprints`). The transport must be
    /// `connect()`ed with [`WebRtcClient::dtls_parameters`] (we are the DTLS client).
    pub fn new(remote_ufrag: &str, remote_pwd: &str, remote_fingerprints: Vec<DtlsFingerprint>) -> Result<Self> {
        let cert = Arc::new(WorkerCertificate::generate()?);
        let fingerprints = cert.fingerprints.clone();
        let epoch = Instant::now();
        let mut dtls = DtlsSession::new(cert, epoch);
        dtls.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: remote_fingerprints })?;
        Ok(WebRtcClient {
            dtls,
            srtp: None,
            remote_ufrag: remote_ufrag.to_owned(),
            remote_pwd: remote_pwd.to_owned(),
            local_ufrag: format!("lg{:08x}", rand::random::<u32>()),
            fingerprints,
            epoch,
            failed: false,
        })
    }

    /// What to give the transport's `connect()`: role client and our certificate's fingerprints.
    pub fn dtls_parameters(&self) -> DtlsParameters {
        DtlsParameters { role: DtlsRole::Client, fingerprints: self.fingerprints.clone() }
    }

    /// A nominating ICE connectivity check (send it until the transport answers).
    pub fn binding_request(&self) -> Result<Vec<u8>> {
        nominating_binding_request(&format!("{}:{}", self.remote_ufrag, self.local_ufrag), &self.remote_pwd, rand::random())
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// A DTLS datagram from the transport (RFC 7983: first byte 20–63).
    pub fn handle_dtls(&mut self, data: &[u8]) {
        let now = self.now_ms();
        self.dtls.handle_datagram(now, data);
        self.poll_events();
    }

    /// Drives DTLS retransmissions; call every few tens of milliseconds until connected.
    pub fn handle_timeout(&mut self) {
        let now = self.now_ms();
        self.dtls.handle_timeout(now);
        self.poll_events();
    }

    fn poll_events(&mut self) {
        while let Some(ev) = self.dtls.poll_event() {
            match ev {
                DtlsEvent::SrtpKeys { profile, material, is_client } => match SrtpTransport::from_keying_material(profile, &material, is_client) {
                    Ok(s) => self.srtp = Some(s),
                    Err(_) => self.failed = true,
                },
                DtlsEvent::StateChange(DtlsState::Failed) | DtlsEvent::StateChange(DtlsState::Closed) => self.failed = true,
                _ => {}
            }
        }
    }

    /// DTLS datagrams to send to the transport.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.dtls.poll_transmit()
    }

    /// Whether DTLS completed and SRTP keys are in place.
    pub fn connected(&self) -> bool {
        self.srtp.is_some()
    }

    /// Whether DTLS failed (bad fingerprint, fatal alert) or was closed.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The negotiated SRTP suite (mediasoup's name), once connected.
    pub fn srtp_suite(&self) -> Option<&'static str> {
        self.srtp.as_ref().map(|s| super::srtp::crypto_suite_name(s.profile))
    }

    /// Encrypts an RTP packet; `None` before DTLS completed.
    pub fn protect_rtp(&mut self, plain: &[u8]) -> Option<&[u8]> {
        self.srtp.as_mut()?.protect_rtp(plain)
    }

    /// Encrypts an RTCP packet; `None` before DTLS completed.
    pub fn protect_rtcp(&mut self, plain: &[u8]) -> Option<&[u8]> {
        self.srtp.as_mut()?.protect_rtcp(plain)
    }

    /// Authenticates and decrypts an SRTP packet in place.
    pub fn unprotect_rtp(&mut self, buf: &mut Vec<u8>) -> bool {
        self.srtp.as_mut().is_some_and(|s| s.unprotect_rtp(buf))
    }

    /// Authenticates and decrypts an SRTCP packet in place.
    pub fn unprotect_rtcp(&mut self, buf: &mut Vec<u8>) -> bool {
        self.srtp.as_mut().is_some_and(|s| s.unprotect_rtcp(buf))
    }
}
