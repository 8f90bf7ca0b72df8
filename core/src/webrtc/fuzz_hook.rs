//! The sans-IO DTLS session ([`DtlsSession`]) and the worker certificate behind thin wrappers, for
//! the `dtls_handshake` fuzz target in `fuzz/`, which drives a client and a server session against
//! each other on simulated time. Both types are crate-private; exposed only as `sfu_core::fuzzing`:
//! not an API.

use std::sync::Arc;
use std::time::Instant;

use super::certificate::{DtlsFingerprint, WorkerCertificate};
use super::dtls::{DtlsEvent, DtlsParameters, DtlsRole, DtlsSession, DtlsState};
use crate::error::Result;

/// A worker certificate (a fresh self-signed ECDSA P-256 one).
pub struct DtlsCertificate(Arc<WorkerCertificate>);

impl DtlsCertificate {
    /// Generates one (slow: keep it for many sessions).
    pub fn generate() -> Result<Self> {
        Ok(DtlsCertificate(Arc::new(WorkerCertificate::generate()?)))
    }

    /// Its fingerprints (`sha-256`, `sha-384`, `sha-512`).
    pub fn fingerprints(&self) -> &[DtlsFingerprint] {
        &self.0.fingerprints
    }
}

/// What a session reports ([`DtlsEvent`] with the SRTP profile by name).
#[derive(Debug)]
pub enum DtlsOutput {
    /// The state changed.
    StateChange(DtlsState),
    /// Handshake completed: the SRTP profile (`Debug` name) and the exported keying material.
    SrtpKeys {
        /// e.g. `AeadAes128Gcm`.
        profile: String,
        /// Client and server keys and salts, as exported.
        material: Vec<u8>,
        /// Whether this side was the DTLS client.
        is_client: bool,
    },
    /// Decrypted application data.
    ApplicationData(Vec<u8>),
}

/// One DTLS session; every method is the [`DtlsSession`] one of the same name.
pub struct DtlsSessionHook(DtlsSession);

impl DtlsSessionHook {
    /// A session presenting `cert`; times are ms since `epoch`.
    pub fn new(cert: &DtlsCertificate, epoch: Instant) -> Self {
        DtlsSessionHook(DtlsSession::new(cert.0.clone(), epoch))
    }
    /// Starts the handshake with the remote's parameters.
    pub fn connect(&mut self, now_ms: u64, remote: DtlsParameters) -> Result<()> {
        self.0.connect(now_ms, remote)
    }
    /// A datagram from the remote.
    pub fn handle_datagram(&mut self, now_ms: u64, data: &[u8]) {
        self.0.handle_datagram(now_ms, data)
    }
    /// Drives retransmissions.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.0.handle_timeout(now_ms)
    }
    /// When `handle_timeout` next has work, while handshaking.
    pub fn next_timeout(&self) -> Option<u64> {
        self.0.next_timeout()
    }
    /// Sends application data once connected.
    pub fn send_application_data(&mut self, now_ms: u64, data: &[u8]) -> Result<()> {
        self.0.send_application_data(now_ms, data)
    }
    /// Closes the association.
    pub fn close(&mut self, now_ms: u64) {
        self.0.close(now_ms)
    }
    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.0.poll_transmit()
    }
    /// Next event.
    pub fn poll_event(&mut self) -> Option<DtlsOutput> {
        Some(match self.0.poll_event()? {
            DtlsEvent::StateChange(s) => DtlsOutput::StateChange(s),
            DtlsEvent::SrtpKeys { profile, material, is_client } => DtlsOutput::SrtpKeys { profile: format!("{profile:?}"), material, is_client },
            DtlsEvent::ApplicationData(d) => DtlsOutput::ApplicationData(d),
        })
    }
    /// Current state.
    pub fn state(&self) -> DtlsState {
        self.0.state()
    }
    /// `Client` or `Server` once connected, else `Auto`.
    pub fn local_role(&self) -> DtlsRole {
        self.0.local_role()
    }
}
