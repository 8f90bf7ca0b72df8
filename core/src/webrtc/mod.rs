//! WebRTC's transport layers, sans-IO: ICE-lite, DTLS, SRTP, and the worker certificate.

pub(crate) mod certificate;
pub(crate) mod client;
pub(crate) mod dtls;
pub(crate) mod fuzz_hook;
pub(crate) mod ice;
pub(crate) mod stun;
pub(crate) mod srtp;
pub mod srtp_inplace;

pub use certificate::DtlsFingerprint;
pub use dtls::{DtlsParameters, DtlsRole, DtlsState};
pub use ice::{IceParameters, IceState};
pub use srtp::SrtpParameters;

#[cfg(test)]
mod dtls_tests;
