//! SRTP/SRTCP sessions keyed from a DTLS handshake (RFC 5764), with replay protection on.

use rtc_dtls::extension::extension_use_srtp::SrtpProtectionProfile;
#[cfg(test)]
use rtc_srtp::context::Context;
#[cfg(test)]
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use rtc_srtp::protection_profile::ProtectionProfile;

use crate::error::{Error, Result};

/// Replay window (packets), as libwebrtc uses for video.
#[cfg(test)]
const REPLAY_WINDOW: usize = 1024;

/// The SRTP profile as mediasoup names it (`srtpParameters.cryptoSuite`).
pub(crate) fn crypto_suite_name(p: ProtectionProfile) -> &'static str {
    match p {
        ProtectionProfile::Aes128CmHmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
        ProtectionProfile::Aes128CmHmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        ProtectionProfile::AeadAes128Gcm => "AEAD_AES_128_GCM",
        ProtectionProfile::AeadAes256Gcm => "AEAD_AES_256_GCM",
        _ => "UNKNOWN",
    }
}

/// Maps the DTLS `use_srtp` profile to the SRTP crate's.
pub(crate) fn from_dtls_profile(p: SrtpProtectionProfile) -> Option<ProtectionProfile> {
    Some(match p {
        SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
        SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm => ProtectionProfile::AeadAes128Gcm,
        SrtpProtectionProfile::Srtp_Aead_Aes_256_Gcm => ProtectionProfile::AeadAes256Gcm,
        _ => return None,
    })
}

/// Inbound (decrypt) and outbound (encrypt) contexts of one transport.
#[cfg(test)]
pub(crate) struct SrtpSession {
    inbound: Context,
    outbound: Context,
}

#[cfg(test)]
impl SrtpSession {
    /// Splits DTLS-exported keying material into our write keys and the peer's.
    pub(crate) fn from_keying_material(
        profile: ProtectionProfile,
        material: &[u8],
        is_client: bool,
        crypto: &dyn rtc_dtls::crypto_provider::RTCCrypto,
    ) -> Result<Self> {
        let (kl, sl) = (profile.key_len(), profile.salt_len());
        if material.len() != 2 * (kl + sl) {
            return Err(Error::Io(format!("SRTP keying material has {} bytes, expected {}", material.len(), 2 * (kl + sl))));
        }
        let client_key = &material[..kl];
        let server_key = &material[kl..2 * kl];
        let client_salt = &material[2 * kl..2 * kl + sl];
        let server_salt = &material[2 * kl + sl..];
        let (lk, ls, rk, rs) = if is_client { (client_key, client_salt, server_key, server_salt) } else { (server_key, server_salt, client_key, client_salt) };
        let e = |e: shared::error::Error| Error::Io(format!("SRTP context: {e}"));
        let outbound = Context::new(lk, ls, profile, None, None, crypto).map_err(e)?;
        let inbound = Context::new(rk, rs, profile, Some(srtp_replay_protection(REPLAY_WINDOW)), Some(srtcp_replay_protection(REPLAY_WINDOW)), crypto).map_err(e)?;
        Ok(SrtpSession { inbound, outbound })
    }

    /// Decrypts and authenticates an SRTP packet.
    pub(crate) fn unprotect_rtp(&mut self, data: &[u8]) -> Option<bytes::BytesMut> {
        self.inbound.decrypt_rtp(data).ok()
    }
    /// Decrypts and authenticates an SRTCP packet.
    pub(crate) fn unprotect_rtcp(&mut self, data: &[u8]) -> Option<bytes::BytesMut> {
        self.inbound.decrypt_rtcp(data).ok()
    }
    /// Encrypts an RTP packet.
    pub(crate) fn protect_rtp(&mut self, data: &[u8]) -> Option<bytes::BytesMut> {
        self.outbound.encrypt_rtp(data).ok()
    }
}

/// mediasoup's `srtpParameters` (plain and pipe transports): a crypto suite and the
/// concatenated master key and salt in base64.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SrtpParameters {
    /// `AEAD_AES_256_GCM`, `AEAD_AES_128_GCM`, `AES_CM_128_HMAC_SHA1_80` or `AES_CM_128_HMAC_SHA1_32`.
    pub crypto_suite: String,
    /// Master key followed by master salt, base64.
    pub key_base64: String,
}

/// The profile of a mediasoup crypto suite name.
pub(crate) fn profile_from_name(name: &str) -> Result<ProtectionProfile> {
    Ok(match name {
        "AES_CM_128_HMAC_SHA1_80" => ProtectionProfile::Aes128CmHmacSha1_80,
        "AES_CM_128_HMAC_SHA1_32" => ProtectionProfile::Aes128CmHmacSha1_32,
        "AEAD_AES_128_GCM" => ProtectionProfile::AeadAes128Gcm,
        "AEAD_AES_256_GCM" => ProtectionProfile::AeadAes256Gcm,
        other => return Err(Error::type_err(format!("invalid srtpParameters.cryptoSuite: {other:?}"))),
    })
}

fn inplace_profile(profile: ProtectionProfile) -> Result<super::srtp_inplace::SrtpProfile> {
    use super::srtp_inplace::SrtpProfile;
    Ok(match profile {
        ProtectionProfile::Aes128CmHmacSha1_80 => SrtpProfile::Aes128CmSha1_80,
        ProtectionProfile::Aes128CmHmacSha1_32 => SrtpProfile::Aes128CmSha1_32,
        ProtectionProfile::AeadAes128Gcm => SrtpProfile::AeadAes128Gcm,
        ProtectionProfile::AeadAes256Gcm => SrtpProfile::AeadAes256Gcm,
        other => return Err(Error::Io(format!("unsupported SRTP profile {other:?}"))),
    })
}

impl SrtpParameters {
    /// Fresh random parameters for `suite` (what a plain/pipe transport announces).
    pub(crate) fn generate(suite: &str) -> Result<Self> {
        use base64::Engine;
        use rand::RngCore;
        let p = inplace_profile(profile_from_name(suite)?)?;
        let mut key = vec![0u8; p.key_len() + p.salt_len()];
        rand::thread_rng().fill_bytes(&mut key);
        Ok(SrtpParameters { crypto_suite: suite.to_owned(), key_base64: base64::engine::general_purpose::STANDARD.encode(key) })
    }

    /// The profile and raw key + salt, checked for length.
    pub(crate) fn decode(&self, what: &str) -> Result<(ProtectionProfile, Vec<u8>)> {
        use base64::Engine;
        let profile = profile_from_name(&self.crypto_suite)?;
        let p = inplace_profile(profile)?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(self.key_base64.trim())
            .map_err(|e| Error::type_err(format!("invalid {what}.keyBase64: {e}")))?;
        if key.len() != p.key_len() + p.salt_len() {
            return Err(Error::type_err(format!(
                "invalid {what}.keyBase64: {} bytes, {} needs {}",
                key.len(),
                self.crypto_suite,
                p.key_len() + p.salt_len()
            )));
        }
        Ok((profile, key))
    }
}

/// The engine's SRTP for one transport: in-place protect/unprotect (`srtp_inplace`), no
/// allocation per packet. (`SrtpSession` above, on `rtc-srtp`, serves as the independent peer in
/// tests.)
pub(crate) struct SrtpTransport {
    inbound: super::srtp_inplace::SrtpContext,
    outbound: super::srtp_inplace::SrtpContext,
    pub(crate) profile: ProtectionProfile,
    out: Vec<u8>,
}

impl SrtpTransport {
    /// Splits DTLS-exported keying material into our write keys and the peer's.
    pub(crate) fn from_keying_material(profile: ProtectionProfile, material: &[u8], is_client: bool) -> Result<Self> {
        use super::srtp_inplace::SrtpContext;
        let p = inplace_profile(profile)?;
        let (kl, sl) = (p.key_len(), p.salt_len());
        if material.len() != 2 * (kl + sl) {
            return Err(Error::Io(format!("SRTP keying material has {} bytes, expected {}", material.len(), 2 * (kl + sl))));
        }
        let client_key = &material[..kl];
        let server_key = &material[kl..2 * kl];
        let client_salt = &material[2 * kl..2 * kl + sl];
        let server_salt = &material[2 * kl + sl..];
        let (lk, ls, rk, rs) = if is_client { (client_key, client_salt, server_key, server_salt) } else { (server_key, server_salt, client_key, client_salt) };
        let e = |e: super::srtp_inplace::SrtpError| Error::Io(format!("SRTP context: {e}"));
        Ok(SrtpTransport {
            outbound: SrtpContext::new(p, lk, ls, false).map_err(e)?,
            inbound: SrtpContext::new(p, rk, rs, true).map_err(e)?,
            profile,
            out: Vec::with_capacity(1500 + super::srtp_inplace::MAX_TRAILER_LEN),
        })
    }

    /// SDES-style keys (plain and pipe transports): we send with `local`, the remote with
    /// `remote`; both must use the same suite.
    pub(crate) fn from_parameters(local: &SrtpParameters, remote: &SrtpParameters) -> Result<Self> {
        use super::srtp_inplace::SrtpContext;
        let (lp, lk) = local.decode("srtpParameters")?;
        let (_, rk) = remote.decode("srtpParameters")?;
        if local.crypto_suite != remote.crypto_suite {
            return Err(Error::type_err(format!(
                "srtpParameters.cryptoSuite {} differs from this transport's {}",
                remote.crypto_suite, local.crypto_suite
            )));
        }
        let p = inplace_profile(lp)?;
        let kl = p.key_len();
        let e = |e: super::srtp_inplace::SrtpError| Error::Io(format!("SRTP context: {e}"));
        Ok(SrtpTransport {
            outbound: SrtpContext::new(p, &lk[..kl], &lk[kl..], false).map_err(e)?,
            inbound: SrtpContext::new(p, &rk[..kl], &rk[kl..], true).map_err(e)?,
            profile: lp,
            out: Vec::with_capacity(1500 + super::srtp_inplace::MAX_TRAILER_LEN),
        })
    }

    /// Authenticates and decrypts an SRTP packet in place.
    pub(crate) fn unprotect_rtp(&mut self, buf: &mut Vec<u8>) -> bool {
        self.inbound.unprotect_rtp(buf).is_ok()
    }
    /// Authenticates and decrypts an SRTCP packet in place.
    pub(crate) fn unprotect_rtcp(&mut self, buf: &mut Vec<u8>) -> bool {
        self.inbound.unprotect_rtcp(buf).is_ok()
    }
    /// Encrypts a copy of `plain` into the session's output buffer.
    pub(crate) fn protect_rtp(&mut self, plain: &[u8]) -> Option<&[u8]> {
        self.out.clear();
        self.out.extend_from_slice(plain);
        self.outbound.protect_rtp(&mut self.out).ok()?;
        Some(&self.out)
    }
    /// Appends an encrypted copy of `plain` to `out` (e.g. a send batch); false, and `out`
    /// as it was, when it cannot be encrypted.
    pub(crate) fn protect_rtp_into(&mut self, plain: &[u8], out: &mut Vec<u8>) -> bool {
        let start = out.len();
        out.reserve(plain.len() + super::srtp_inplace::MAX_TRAILER_LEN);
        out.extend_from_slice(plain);
        if self.outbound.protect_rtp_at(out, start).is_err() {
            out.truncate(start);
            return false;
        }
        true
    }
    /// Encrypts a copy of `plain` (RTCP) into the session's output buffer.
    pub(crate) fn protect_rtcp(&mut self, plain: &[u8]) -> Option<&[u8]> {
        self.out.clear();
        self.out.extend_from_slice(plain);
        self.outbound.protect_rtcp(&mut self.out).ok()?;
        Some(&self.out)
    }
}
