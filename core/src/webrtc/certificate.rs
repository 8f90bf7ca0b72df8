//! The worker's DTLS certificate and its fingerprints (`dtlsParameters.fingerprints`).

use std::sync::Arc;

use rtc_dtls::crypto::Certificate;
use rtc_dtls::crypto_provider::RTCCryptoProvider;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A certificate fingerprint, as in SDP `a=fingerprint` (`sha-256`, uppercase hex with colons).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtlsFingerprint {
    /// `sha-256`, `sha-384` or `sha-512` (also `sha-1` accepted from remotes).
    pub algorithm: String,
    /// Uppercase hex bytes separated by colons.
    pub value: String,
}

/// The certificate every WebRTC transport of a worker presents.
pub(crate) struct WorkerCertificate {
    pub(crate) certificate: Certificate,
    pub(crate) fingerprints: Vec<DtlsFingerprint>,
    pub(crate) provider: Arc<dyn RTCCryptoProvider>,
}

impl WorkerCertificate {
    /// A fresh self-signed ECDSA P-256 certificate.
    pub(crate) fn generate() -> Result<Self> {
        let provider = rtc_dtls::crypto_provider::default_provider().map_err(|e| Error::Io(format!("crypto provider: {e}")))?;
        let certificate = Certificate::generate_self_signed(vec!["libsfu".to_owned()], provider.crypto())
            .map_err(|e| Error::Io(format!("cannot generate DTLS certificate: {e}")))?;
        Ok(Self::with(certificate, provider))
    }

    /// The certificate and key from PEM files (`dtlsCertificateFile`, `dtlsPrivateKeyFile`).
    pub(crate) fn from_files(cert_file: &str, key_file: &str) -> Result<Self> {
        let provider = rtc_dtls::crypto_provider::default_provider().map_err(|e| Error::Io(format!("crypto provider: {e}")))?;
        let key = std::fs::read_to_string(key_file).map_err(|e| Error::type_err(format!("invalid dtlsPrivateKeyFile {key_file:?}: {e}")))?;
        let cert = std::fs::read_to_string(cert_file).map_err(|e| Error::type_err(format!("invalid dtlsCertificateFile {cert_file:?}: {e}")))?;
        // The crate expects the key block first, then the certificate, and labels PKCS#8 keys
        // `PRIVATE_KEY` where files from openssl & co say `PRIVATE KEY`.
        if key.contains("BEGIN EC PRIVATE KEY") || key.contains("BEGIN RSA PRIVATE KEY") {
            return Err(Error::type_err(format!(
                "invalid dtlsPrivateKeyFile {key_file:?}: a PKCS#8 key (BEGIN PRIVATE KEY) is needed; convert with `openssl pkcs8 -topk8 -nocrypt`"
            )));
        }
        let key = key.replace("-----BEGIN PRIVATE KEY-----", "-----BEGIN PRIVATE_KEY-----").replace("-----END PRIVATE KEY-----", "-----END PRIVATE_KEY-----");
        let pem = format!("{key}\n{cert}");
        let certificate = Certificate::from_pem(&pem, provider.crypto())
            .map_err(|e| Error::type_err(format!("invalid dtlsCertificateFile/dtlsPrivateKeyFile: {e}")))?;
        Ok(Self::with(certificate, provider))
    }

    fn with(certificate: Certificate, provider: Arc<dyn RTCCryptoProvider>) -> Self {
        let der = certificate.certificate.first().map(|c| c.as_ref().to_vec()).unwrap_or_default();
        let fingerprints = ["sha-256", "sha-384", "sha-512"]
            .iter()
            .map(|alg| DtlsFingerprint { algorithm: (*alg).to_owned(), value: fingerprint(alg, &der).unwrap_or_default() })
            .collect();
        WorkerCertificate { certificate, fingerprints, provider }
    }
}

/// The fingerprint of a DER certificate with `algorithm`; `None` for an unknown algorithm.
pub(crate) fn fingerprint(algorithm: &str, der: &[u8]) -> Option<String> {
    use ring::digest;
    let alg = match algorithm.to_ascii_lowercase().as_str() {
        "sha-1" => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        "sha-256" => &digest::SHA256,
        "sha-384" => &digest::SHA384,
        "sha-512" => &digest::SHA512,
        _ => return None,
    };
    let d = digest::digest(alg, der);
    Some(d.as_ref().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
}

/// PEM encoding of a DER certificate (for `dtlsRemoteCert`).
pub(crate) fn der_to_pem(der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len() * 4 / 3 + 4);
    for chunk in der.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_has_three_fingerprints_of_the_right_lengths() {
        let c = WorkerCertificate::generate().unwrap();
        let lens: Vec<(String, usize)> = c.fingerprints.iter().map(|f| (f.algorithm.clone(), f.value.split(':').count())).collect();
        assert_eq!(lens, vec![("sha-256".into(), 32), ("sha-384".into(), 48), ("sha-512".into(), 64)]);
    }

    #[test]
    fn pem_encoding_matches_base64() {
        assert!(der_to_pem(b"Man").contains("\nTWFu\n"));
        assert!(der_to_pem(b"Ma").contains("\nTWE=\n"));
        assert!(der_to_pem(b"M").contains("\nTQ==\n"));
    }
}
