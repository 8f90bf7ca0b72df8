//! SRTP and SRTCP (RFC 3711, RFC 7714) that transform a packet inside the caller's buffer.
//!
//! The hot path does no allocation: session keys are derived and the cipher, MAC and AEAD key
//! schedules are built once per context; per packet the header is read in place, the payload is
//! encrypted or decrypted in place, and the trailer (SRTCP index, tag) is appended to or
//! truncated from the same `Vec`. A stream's state (ROC, highest index, replay window) is
//! created on its first packet and never reallocated afterwards.
//!
//! AES-CM uses RustCrypto's AES-CTR and HMAC-SHA1 (ring's HMAC-SHA1 is about three times slower
//! on our machines, see `PERF.md`); AES-GCM uses ring.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use aes::cipher::{InnerIvInit, KeyIvInit, StreamCipher, StreamCipherCoreWrapper};
use hmac::{Hmac, Mac};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;
type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;
type Aes128CtrCore = ctr::CtrCore<aes::Aes128, ctr::flavors::Ctr128BE>;
type HmacSha1 = Hmac<sha1::Sha1>;

/// Most bytes `protect_rtp`/`protect_rtcp` append: reserve this much spare capacity in the
/// buffer and protecting never reallocates.
pub const MAX_TRAILER_LEN: usize = GCM_TAG_LEN + SRTCP_INDEX_LEN;

/// Packets a receiver remembers behind the newest one to reject replays (RFC 3711 §3.3.2;
/// libwebrtc uses the same for video).
pub const REPLAY_WINDOW: u64 = 1024;

const GCM_TAG_LEN: usize = 16;
const SRTCP_INDEX_LEN: usize = 4;
const RTCP_HEADER_LEN: usize = 8;
const HMAC_SHA1_KEY_LEN: usize = 20;
/// The E flag of the word after an SRTCP payload: set when the payload is encrypted.
const SRTCP_E_FLAG: u32 = 1 << 31;
const MAX_SRTCP_INDEX: u32 = SRTCP_E_FLAG - 1;
/// Largest 48-bit SRTP packet index: ROC (32 bits) and sequence number (16 bits).
const MAX_SRTP_INDEX: u64 = (1 << 48) - 1;
const SEQ_HALF: u16 = 1 << 15;

/// Key derivation labels (RFC 3711 §4.3.1).
const LABEL_SRTP_ENCRYPTION: u8 = 0x00;
const LABEL_SRTP_AUTH: u8 = 0x01;
const LABEL_SRTP_SALT: u8 = 0x02;
const LABEL_SRTCP_ENCRYPTION: u8 = 0x03;
const LABEL_SRTCP_AUTH: u8 = 0x04;
const LABEL_SRTCP_SALT: u8 = 0x05;

/// An SRTP protection profile (RFC 5764 §4.1.2, RFC 7714 §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// `SRTP_AES128_CM_HMAC_SHA1_80`: AES-128 counter mode, 80-bit HMAC-SHA1 tags.
    Aes128CmSha1_80,
    /// `SRTP_AES128_CM_HMAC_SHA1_32`: as above with a 32-bit SRTP tag (SRTCP keeps 80 bits).
    Aes128CmSha1_32,
    /// `SRTP_AEAD_AES_128_GCM`: AES-128-GCM, 128-bit tags.
    AeadAes128Gcm,
    /// `SRTP_AEAD_AES_256_GCM`: AES-256-GCM, 128-bit tags.
    AeadAes256Gcm,
}

impl SrtpProfile {
    /// Master key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            SrtpProfile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Master salt length in bytes.
    pub fn salt_len(self) -> usize {
        if self.is_gcm() {
            12
        } else {
            14
        }
    }

    /// Authentication tag appended to each SRTP packet, in bytes.
    pub fn rtp_auth_tag_len(self) -> usize {
        match self {
            SrtpProfile::Aes128CmSha1_80 => 10,
            SrtpProfile::Aes128CmSha1_32 => 4,
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => GCM_TAG_LEN,
        }
    }

    /// Authentication tag appended to each SRTCP packet (after the SRTCP index for AES-CM,
    /// before it for GCM), in bytes.
    pub fn rtcp_auth_tag_len(self) -> usize {
        if self.is_gcm() {
            GCM_TAG_LEN
        } else {
            10
        }
    }

    fn is_gcm(self) -> bool {
        matches!(self, SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm)
    }
}

/// Why a packet could not be protected or unprotected, or a context not created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SrtpError {
    /// The master key does not have the profile's length.
    KeyLength {
        /// Bytes the profile needs.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The master salt does not have the profile's length.
    SaltLength {
        /// Bytes the profile needs.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// Not version 2, too short for its header and SRTP trailer, or a header running past the end.
    Malformed,
    /// The authentication tag does not verify: forged, corrupted, or keyed differently.
    AuthFailed,
    /// Already received, or older than the replay window.
    Replayed,
    /// 2^48 SRTP or 2^31 SRTCP packets of this SSRC are protected: the master key must change
    /// (RFC 3711 §9.2).
    KeyExhausted,
}

impl fmt::Display for SrtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SrtpError::KeyLength { expected, actual } => write!(f, "SRTP master key has {actual} bytes, expected {expected}"),
            SrtpError::SaltLength { expected, actual } => write!(f, "SRTP master salt has {actual} bytes, expected {expected}"),
            SrtpError::Malformed => f.write_str("malformed SRTP/SRTCP packet"),
            SrtpError::AuthFailed => f.write_str("SRTP/SRTCP authentication failed"),
            SrtpError::Replayed => f.write_str("SRTP/SRTCP packet replayed or too old"),
            SrtpError::KeyExhausted => f.write_str("SRTP/SRTCP key exhausted; rekey needed"),
        }
    }
}

impl std::error::Error for SrtpError {}

/// The SRTP/SRTCP cryptographic context of one direction of a session: encrypt only or decrypt
/// only, for all of its SSRCs.
///
/// Each SSRC keeps its rollover counter and highest index (RFC 3711 §3.3.1) and, when replay
/// protection is on, a [`REPLAY_WINDOW`]-packet window over its SRTP indexes and one over its
/// SRTCP indexes. A receiver keeps state only for SSRCs whose packets authenticated, so forged
/// packets cannot grow it.
pub struct SrtpContext {
    profile: SrtpProfile,
    keys: SessionKeys,
    replay_protection: bool,
    rtp_streams: SsrcMap<RtpStream>,
    rtcp_streams: SsrcMap<RtcpStream>,
}

impl fmt::Debug for SrtpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpContext")
            .field("profile", &self.profile)
            .field("replay_protection", &self.replay_protection)
            .field("rtp_ssrcs", &self.rtp_streams.len())
            .field("rtcp_ssrcs", &self.rtcp_streams.len())
            .finish_non_exhaustive()
    }
}

impl SrtpContext {
    /// Derives the session keys (RFC 3711 §4.3, key derivation rate 0; RFC 7714 §11 for GCM)
    /// from a master key and salt.
    pub fn new(profile: SrtpProfile, master_key: &[u8], master_salt: &[u8], replay_protection: bool) -> Result<Self, SrtpError> {
        if master_key.len() != profile.key_len() {
            return Err(SrtpError::KeyLength { expected: profile.key_len(), actual: master_key.len() });
        }
        if master_salt.len() != profile.salt_len() {
            return Err(SrtpError::SaltLength { expected: profile.salt_len(), actual: master_salt.len() });
        }
        let derive = |label: u8, out: &mut [u8]| aes_cm_prf(master_key, master_salt, label, out);
        let (kl, sl) = (profile.key_len(), profile.salt_len());
        let mut rtp = RawSessionKeys::default();
        let mut rtcp = RawSessionKeys::default();
        derive(LABEL_SRTP_ENCRYPTION, &mut rtp.key[..kl]);
        derive(LABEL_SRTP_SALT, &mut rtp.salt[..sl]);
        derive(LABEL_SRTCP_ENCRYPTION, &mut rtcp.key[..kl]);
        derive(LABEL_SRTCP_SALT, &mut rtcp.salt[..sl]);
        if !profile.is_gcm() {
            derive(LABEL_SRTP_AUTH, &mut rtp.auth);
            derive(LABEL_SRTCP_AUTH, &mut rtcp.auth);
        }
        let ctx = Self::with_session_keys(profile, &rtp, &rtcp, replay_protection);
        rtp.wipe();
        rtcp.wipe();
        Ok(ctx)
    }

    /// Builds a context from already derived session keys (what RFC 7714's test vectors give).
    fn with_session_keys(profile: SrtpProfile, rtp: &RawSessionKeys, rtcp: &RawSessionKeys, replay_protection: bool) -> Self {
        let (kl, sl) = (profile.key_len(), profile.salt_len());
        let keys = if profile.is_gcm() {
            let alg = if kl == 32 { &AES_256_GCM } else { &AES_128_GCM };
            let gcm = |k: &RawSessionKeys| {
                let key = UnboundKey::new(alg, &k.key[..kl]).expect("session key length matches the AEAD");
                let mut salt = [0u8; 12];
                salt.copy_from_slice(&k.salt[..sl]);
                GcmKeys { key: LessSafeKey::new(key), salt }
            };
            SessionKeys::Gcm { rtp: gcm(rtp), rtcp: gcm(rtcp) }
        } else {
            use aes::cipher::KeyInit;
            let cm = |k: &RawSessionKeys| CmKeys {
                aes: aes::Aes128::new_from_slice(&k.key[..16]).expect("AES-128 key is 16 bytes"),
                salt: k.salt,
                mac: <HmacSha1 as Mac>::new_from_slice(&k.auth).expect("HMAC takes any key length"),
            };
            SessionKeys::Cm { rtp: cm(rtp), rtcp: cm(rtcp) }
        };
        SrtpContext { profile, keys, replay_protection, rtp_streams: SsrcMap::default(), rtcp_streams: SsrcMap::default() }
    }

    /// The profile this context was created with.
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }

    /// Encrypts the RTP packet in `buf` in place and appends the auth tag (buf grows by the tag;
    /// reserve [`MAX_TRAILER_LEN`] spare capacity and nothing is allocated).
    ///
    /// The header (CSRCs and extension included) is authenticated, not encrypted.
    pub fn protect_rtp(&mut self, buf: &mut Vec<u8>) -> Result<(), SrtpError> {
        self.protect_rtp_at(buf, 0)
    }

    /// [`SrtpContext::protect_rtp`] for the packet that starts at `start` in `buf` and runs to
    /// its end (e.g. the last datagram of a send batch). On error `buf[start..]` is unspecified.
    pub fn protect_rtp_at(&mut self, buf: &mut Vec<u8>, start: usize) -> Result<(), SrtpError> {
        let pkt = buf.get(start..).ok_or(SrtpError::Malformed)?;
        let hlen = rtp_header_len(pkt, 0).ok_or(SrtpError::Malformed)?;
        let ssrc = be32(pkt, 8);
        let seq = be16(pkt, 2);
        let stream = self.rtp_streams.entry(ssrc).or_insert_with(|| RtpStream::new(u64::from(seq)));
        let index = stream.estimate(seq);
        if index > MAX_SRTP_INDEX {
            return Err(SrtpError::KeyExhausted);
        }
        stream.highest = stream.highest.max(index);
        match &self.keys {
            SessionKeys::Cm { rtp, .. } => {
                let roc = (index >> 16) as u32;
                rtp.apply_keystream(&cm_iv(&rtp.salt, ssrc, index), &mut buf[start + hlen..]);
                let mut mac = rtp.mac.clone();
                mac.update(&buf[start..]);
                mac.update(&roc.to_be_bytes());
                let tag = mac.finalize().into_bytes();
                buf.extend_from_slice(&tag[..self.profile.rtp_auth_tag_len()]);
            }
            SessionKeys::Gcm { rtp, .. } => {
                let nonce = gcm_iv(&rtp.salt, ssrc, index);
                let (head, payload) = buf.split_at_mut(start + hlen);
                let tag = rtp
                    .key
                    .seal_in_place_separate_tag(nonce, Aad::from(&head[start..]), payload)
                    .map_err(|_| SrtpError::Malformed)?;
                buf.extend_from_slice(tag.as_ref());
            }
        }
        Ok(())
    }

    /// Verifies and decrypts the SRTP packet in `buf` in place and truncates the tag. Rejects
    /// replays and bad tags; on error the length of `buf` is unchanged, its contents unspecified.
    pub fn unprotect_rtp(&mut self, buf: &mut Vec<u8>) -> Result<(), SrtpError> {
        let tag_len = self.profile.rtp_auth_tag_len();
        let hlen = rtp_header_len(buf, tag_len).ok_or(SrtpError::Malformed)?;
        let end = buf.len() - tag_len;
        let ssrc = be32(buf, 8);
        let seq = be16(buf, 2);
        let known = self.rtp_streams.get(&ssrc);
        let index = known.map_or(u64::from(seq), |s| s.estimate(seq));
        if index > MAX_SRTP_INDEX {
            return Err(SrtpError::KeyExhausted);
        }
        if self.replay_protection && known.is_some_and(|s| !s.window.check(index)) {
            return Err(SrtpError::Replayed);
        }
        match &self.keys {
            SessionKeys::Cm { rtp, .. } => {
                let roc = (index >> 16) as u32;
                let mut mac = rtp.mac.clone();
                mac.update(&buf[..end]);
                mac.update(&roc.to_be_bytes());
                mac.verify_truncated_left(&buf[end..]).map_err(|_| SrtpError::AuthFailed)?;
                rtp.apply_keystream(&cm_iv(&rtp.salt, ssrc, index), &mut buf[hlen..end]);
            }
            SessionKeys::Gcm { rtp, .. } => {
                let nonce = gcm_iv(&rtp.salt, ssrc, index);
                let (header, sealed) = buf.split_at_mut(hlen);
                rtp.key.open_in_place(nonce, Aad::from(&*header), sealed).map_err(|_| SrtpError::AuthFailed)?;
            }
        }
        buf.truncate(end);
        match self.rtp_streams.get_mut(&ssrc) {
            Some(stream) => stream.update(index),
            None => {
                self.rtp_streams.insert(ssrc, RtpStream::new(index));
            }
        }
        Ok(())
    }

    /// Encrypts the RTCP packet (compound or not) in `buf` in place and appends the E flag with
    /// the SRTCP index and the auth tag (reserve [`MAX_TRAILER_LEN`] spare capacity).
    pub fn protect_rtcp(&mut self, buf: &mut Vec<u8>) -> Result<(), SrtpError> {
        self.protect_rtcp_with(buf, true)
    }

    /// SRTCP with the payload encrypted or, for `encrypt == false`, only authenticated (E = 0).
    fn protect_rtcp_with(&mut self, buf: &mut Vec<u8>, encrypt: bool) -> Result<(), SrtpError> {
        if buf.len() < RTCP_HEADER_LEN || buf[0] >> 6 != 2 {
            return Err(SrtpError::Malformed);
        }
        let ssrc = be32(buf, 4);
        let stream = self.rtcp_streams.entry(ssrc).or_default();
        let index = stream.next_index;
        if index > MAX_SRTCP_INDEX {
            return Err(SrtpError::KeyExhausted);
        }
        stream.next_index += 1;
        let word = (if encrypt { index | SRTCP_E_FLAG } else { index }).to_be_bytes();
        match &self.keys {
            SessionKeys::Cm { rtcp, .. } => {
                if encrypt {
                    rtcp.apply_keystream(&cm_iv(&rtcp.salt, ssrc, u64::from(index)), &mut buf[RTCP_HEADER_LEN..]);
                }
                buf.extend_from_slice(&word);
                let mut mac = rtcp.mac.clone();
                mac.update(buf);
                let tag = mac.finalize().into_bytes();
                buf.extend_from_slice(&tag[..self.profile.rtcp_auth_tag_len()]);
            }
            SessionKeys::Gcm { rtcp, .. } => {
                let nonce = gcm_iv(&rtcp.salt, ssrc, u64::from(index));
                if encrypt {
                    let mut aad = [0u8; RTCP_HEADER_LEN + SRTCP_INDEX_LEN];
                    aad[..RTCP_HEADER_LEN].copy_from_slice(&buf[..RTCP_HEADER_LEN]);
                    aad[RTCP_HEADER_LEN..].copy_from_slice(&word);
                    let tag = rtcp
                        .key
                        .seal_in_place_separate_tag(nonce, Aad::from(aad), &mut buf[RTCP_HEADER_LEN..])
                        .map_err(|_| SrtpError::Malformed)?;
                    buf.extend_from_slice(tag.as_ref());
                    buf.extend_from_slice(&word);
                } else {
                    // The whole packet and the index word are the AAD; the tag goes between them.
                    buf.extend_from_slice(&word);
                    let tag = rtcp.key.seal_in_place_separate_tag(nonce, Aad::from(&buf[..]), &mut []).map_err(|_| SrtpError::Malformed)?;
                    buf.extend_from_slice(tag.as_ref());
                    let n = buf.len();
                    buf[n - GCM_TAG_LEN - SRTCP_INDEX_LEN..].rotate_right(GCM_TAG_LEN);
                }
            }
        }
        Ok(())
    }

    /// Verifies and (when its E flag is set) decrypts the SRTCP packet in `buf` in place and
    /// truncates the index and tag. Rejects replays and bad tags; on error the length of `buf`
    /// is unchanged, its contents unspecified.
    pub fn unprotect_rtcp(&mut self, buf: &mut Vec<u8>) -> Result<(), SrtpError> {
        let tag_len = self.profile.rtcp_auth_tag_len();
        let len = buf.len();
        if len < RTCP_HEADER_LEN + SRTCP_INDEX_LEN + tag_len || buf[0] >> 6 != 2 {
            return Err(SrtpError::Malformed);
        }
        // AES-CM: payload | E+index | tag. GCM: payload | tag | E+index (RFC 7714 §17).
        let (word_at, payload_end) = if self.profile.is_gcm() {
            (len - SRTCP_INDEX_LEN, len - SRTCP_INDEX_LEN - tag_len)
        } else {
            (len - tag_len - SRTCP_INDEX_LEN, len - tag_len - SRTCP_INDEX_LEN)
        };
        let word = be32(buf, word_at);
        let encrypted = word & SRTCP_E_FLAG != 0;
        let index = word & MAX_SRTCP_INDEX;
        let ssrc = be32(buf, 4);
        if self.replay_protection && self.rtcp_streams.get(&ssrc).is_some_and(|s| !s.window.check(u64::from(index))) {
            return Err(SrtpError::Replayed);
        }
        match &self.keys {
            SessionKeys::Cm { rtcp, .. } => {
                let tag_at = len - tag_len;
                let mut mac = rtcp.mac.clone();
                mac.update(&buf[..tag_at]);
                mac.verify_truncated_left(&buf[tag_at..]).map_err(|_| SrtpError::AuthFailed)?;
                if encrypted {
                    rtcp.apply_keystream(&cm_iv(&rtcp.salt, ssrc, u64::from(index)), &mut buf[RTCP_HEADER_LEN..payload_end]);
                }
            }
            SessionKeys::Gcm { rtcp, .. } => {
                let nonce = gcm_iv(&rtcp.salt, ssrc, u64::from(index));
                if encrypted {
                    let mut aad = [0u8; RTCP_HEADER_LEN + SRTCP_INDEX_LEN];
                    aad[..RTCP_HEADER_LEN].copy_from_slice(&buf[..RTCP_HEADER_LEN]);
                    aad[RTCP_HEADER_LEN..].copy_from_slice(&word.to_be_bytes());
                    rtcp.key
                        .open_in_place(nonce, Aad::from(aad), &mut buf[RTCP_HEADER_LEN..word_at])
                        .map_err(|_| SrtpError::AuthFailed)?;
                } else {
                    // Authenticated only: the AAD is packet | E+index, so bring the word next to
                    // the packet and the tag after it.
                    buf[payload_end..].rotate_left(GCM_TAG_LEN);
                    let (aad, tag) = buf.split_at_mut(payload_end + SRTCP_INDEX_LEN);
                    rtcp.key.open_in_place(nonce, Aad::from(&*aad), tag).map_err(|_| SrtpError::AuthFailed)?;
                }
            }
        }
        buf.truncate(payload_end);
        let stream = self.rtcp_streams.entry(ssrc).or_default();
        stream.window.accept(u64::from(index));
        Ok(())
    }

    #[cfg(test)]
    fn set_next_srtcp_index(&mut self, ssrc: u32, index: u32) {
        self.rtcp_streams.entry(ssrc).or_default().next_index = index;
    }
}

/// Session keys of one kind (SRTP or SRTCP) as bytes, before the cipher objects are built.
struct RawSessionKeys {
    key: [u8; 32],
    salt: [u8; 14],
    auth: [u8; HMAC_SHA1_KEY_LEN],
}

impl Default for RawSessionKeys {
    fn default() -> Self {
        RawSessionKeys { key: [0; 32], salt: [0; 14], auth: [0; HMAC_SHA1_KEY_LEN] }
    }
}

impl RawSessionKeys {
    /// Overwrites the key bytes so they do not linger on the stack.
    fn wipe(&mut self) {
        for b in self.key.iter_mut().chain(self.salt.iter_mut()).chain(self.auth.iter_mut()) {
            // SAFETY: `b` is a valid, aligned, exclusive reference.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

// Boxing the larger variant would put a pointer chase on every packet; there is one per context.
#[allow(clippy::large_enum_variant)]
enum SessionKeys {
    Cm { rtp: CmKeys, rtcp: CmKeys },
    Gcm { rtp: GcmKeys, rtcp: GcmKeys },
}

/// AES-128-CM + HMAC-SHA1 session state: expanded AES key, salt, and the keyed HMAC whose
/// inner and outer pads are hashed once.
struct CmKeys {
    aes: aes::Aes128,
    salt: [u8; 14],
    mac: HmacSha1,
}

impl CmKeys {
    fn apply_keystream(&self, iv: &[u8; 16], data: &mut [u8]) {
        let core = Aes128CtrCore::inner_iv_init(self.aes.clone(), iv.into());
        let mut ctr: Aes128Ctr = StreamCipherCoreWrapper::from_core(core);
        ctr.apply_keystream(data);
    }
}

struct GcmKeys {
    key: LessSafeKey,
    salt: [u8; 12],
}

/// The AES-CM PRF of RFC 3711 §4.3.3 with key derivation rate 0: AES-CTR keystream of the
/// master key from IV = (master salt XOR label << 48) << 16. GCM's 12-byte master salt is
/// right-padded with zeros, as RFC 7714 §11 and libsrtp do.
fn aes_cm_prf(master_key: &[u8], master_salt: &[u8], label: u8, out: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..master_salt.len()].copy_from_slice(master_salt);
    iv[7] ^= label;
    out.fill(0);
    if master_key.len() == 32 {
        Aes256Ctr::new(master_key.into(), &iv.into()).apply_keystream(out);
    } else {
        Aes128Ctr::new(master_key.into(), &iv.into()).apply_keystream(out);
    }
}

/// AES-CM IV (RFC 3711 §4.1.1): (salt << 16) XOR (SSRC << 64) XOR (index << 16), where the
/// index is the SRTP packet index or the SRTCP index.
fn cm_iv(salt: &[u8; 14], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[4..8].copy_from_slice(&ssrc.to_be_bytes());
    iv[8..14].copy_from_slice(&index.to_be_bytes()[2..]);
    for (v, s) in iv.iter_mut().zip(salt) {
        *v ^= s;
    }
    iv
}

/// AES-GCM IV (RFC 7714 §8.1, §9.1): salt XOR (00 00 | SSRC | 48-bit index), where the index
/// is the SRTP packet index (ROC | SEQ) or the 31-bit SRTCP index.
fn gcm_iv(salt: &[u8; 12], ssrc: u32, index: u64) -> Nonce {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[6..12].copy_from_slice(&index.to_be_bytes()[2..]);
    for (v, s) in iv.iter_mut().zip(salt) {
        *v ^= s;
    }
    Nonce::assume_unique_for_key(iv)
}

/// Length of the RTP header (fixed part, CSRCs, extension), or `None` when `buf` is not RTP
/// version 2 or the header does not fit in `buf` minus `trailer` bytes.
fn rtp_header_len(buf: &[u8], trailer: usize) -> Option<usize> {
    let avail = buf.len().checked_sub(trailer)?;
    if avail < 12 || buf[0] >> 6 != 2 {
        return None;
    }
    let mut n = 12 + 4 * usize::from(buf[0] & 0x0f);
    if buf[0] & 0x10 != 0 {
        if n + 4 > avail {
            return None;
        }
        n += 4 + 4 * usize::from(be16(buf, n + 2));
    }
    (n <= avail).then_some(n)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Per-SSRC SRTP state: highest packet index seen (ROC << 16 | SEQ) and the replay window.
struct RtpStream {
    highest: u64,
    window: ReplayWindow,
}

impl RtpStream {
    fn new(index: u64) -> Self {
        RtpStream { highest: index, window: ReplayWindow::starting_at(index) }
    }

    /// The packet index of `seq` (RFC 3711 §3.3.1, appendix A), closest to the highest index.
    /// Like libsrtp, a stream still in its first half-cycle (index < 2^15) never guesses ROC - 1.
    fn estimate(&self, seq: u16) -> u64 {
        let roc = self.highest >> 16;
        let s_l = self.highest as u16;
        let v = if s_l < SEQ_HALF {
            if seq > s_l && seq - s_l > SEQ_HALF && roc > 0 {
                roc - 1
            } else {
                roc
            }
        } else if s_l - SEQ_HALF > seq {
            roc + 1
        } else {
            roc
        };
        (v << 16) | u64::from(seq)
    }

    /// Records a packet that authenticated.
    fn update(&mut self, index: u64) {
        self.highest = self.highest.max(index);
        self.window.accept(index);
    }
}

/// Per-SSRC SRTCP state: the next index to send and the replay window of received indexes.
#[derive(Default)]
struct RtcpStream {
    next_index: u32,
    window: ReplayWindow,
}

const WINDOW_WORDS: usize = (REPLAY_WINDOW / 64) as usize;

/// A sliding bitmap over the last [`REPLAY_WINDOW`] indexes: bit `i` is set once the index
/// `top - i` has been accepted.
#[derive(Default)]
struct ReplayWindow {
    top: u64,
    bits: [u64; WINDOW_WORDS],
}

impl ReplayWindow {
    fn starting_at(index: u64) -> Self {
        let mut w = ReplayWindow { top: index, bits: [0; WINDOW_WORDS] };
        w.bits[0] = 1;
        w
    }

    /// Whether `index` is new and not older than the window.
    fn check(&self, index: u64) -> bool {
        if index > self.top {
            return true;
        }
        let d = self.top - index;
        d < REPLAY_WINDOW && self.bits[(d / 64) as usize] & (1 << (d % 64)) == 0
    }

    fn accept(&mut self, index: u64) {
        if index > self.top {
            self.shift(index - self.top);
            self.top = index;
            self.bits[0] |= 1;
        } else {
            let d = self.top - index;
            if d < REPLAY_WINDOW {
                self.bits[(d / 64) as usize] |= 1 << (d % 64);
            }
        }
    }

    /// Ages every entry by `n` indexes.
    fn shift(&mut self, n: u64) {
        if n >= REPLAY_WINDOW {
            self.bits = [0; WINDOW_WORDS];
            return;
        }
        let (words, bits) = ((n / 64) as usize, (n % 64) as u32);
        for i in (0..WINDOW_WORDS).rev() {
            let mut v = 0;
            if i >= words {
                v = self.bits[i - words] << bits;
                if bits > 0 && i > words {
                    v |= self.bits[i - words - 1] >> (64 - bits);
                }
            }
            self.bits[i] = v;
        }
    }
}

type SsrcMap<V> = HashMap<u32, V, BuildHasherDefault<SsrcHasher>>;

/// Hashes an SSRC with a 64-bit finalizer: much cheaper than SipHash, and flooding is moot
/// because receivers only insert SSRCs whose packets authenticated.
#[derive(Default)]
struct SsrcHasher(u64);

impl Hasher for SsrcHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n);
    }

    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc_srtp::context::Context;
    use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
    use rtc_srtp::protection_profile::ProtectionProfile;

    const PROFILES: [SrtpProfile; 4] =
        [SrtpProfile::Aes128CmSha1_80, SrtpProfile::Aes128CmSha1_32, SrtpProfile::AeadAes128Gcm, SrtpProfile::AeadAes256Gcm];

    fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
        s.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
    }

    /// A deterministic xorshift generator, so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    fn master(profile: SrtpProfile, seed: u8) -> (Vec<u8>, Vec<u8>) {
        let key = (0..profile.key_len()).map(|i| seed.wrapping_mul(31).wrapping_add(i as u8 * 7)).collect();
        let salt = (0..profile.salt_len()).map(|i| seed ^ (0xa0 + i as u8)).collect();
        (key, salt)
    }

    fn pair(profile: SrtpProfile) -> (SrtpContext, SrtpContext) {
        let (k, s) = master(profile, 1);
        (SrtpContext::new(profile, &k, &s, true).unwrap(), SrtpContext::new(profile, &k, &s, true).unwrap())
    }

    fn rtc_profile(p: SrtpProfile) -> ProtectionProfile {
        match p {
            SrtpProfile::Aes128CmSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
            SrtpProfile::Aes128CmSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
            SrtpProfile::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
            SrtpProfile::AeadAes256Gcm => ProtectionProfile::AeadAes256Gcm,
        }
    }

    fn rtc_context(profile: SrtpProfile, key: &[u8], salt: &[u8]) -> Context {
        let provider = rtc_dtls::crypto_provider::default_provider().unwrap();
        Context::new(
            key,
            salt,
            rtc_profile(profile),
            Some(srtp_replay_protection(1024)),
            Some(srtcp_replay_protection(1024)),
            provider.crypto(),
        )
        .unwrap()
    }

    /// An RTP packet with two CSRCs and a header extension: one-byte (RFC 8285) on even
    /// sequence numbers, two-byte on odd ones.
    fn rtp_packet(seq: u16, ssrc: u32, payload_len: usize) -> Vec<u8> {
        let mut p = vec![0x92, 0x60 | 0x80];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&[0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22]);
        if seq & 1 == 0 {
            p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x02, 0x10, 0xaa, 0x21, 0xbb, 0xcc, 0x00, 0x00, 0x00]);
        } else {
            p.extend_from_slice(&[0x10, 0x00, 0x00, 0x01, 0x01, 0x02, 0xaa, 0xbb]);
        }
        p.extend((0..payload_len).map(|i| (i as u8) ^ (seq as u8)));
        p
    }

    /// A compound RTCP packet: receiver report with one block, then a BYE.
    fn rtcp_packet(ssrc: u32, n: u8) -> Vec<u8> {
        let mut p = vec![0x81, 201, 0x00, 0x07];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        p.extend((0..20).map(|i| i ^ n));
        p.extend_from_slice(&[0x81, 203, 0x00, 0x01]);
        p.extend_from_slice(&ssrc.to_be_bytes());
        p
    }

    fn with_capacity(p: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(p.len() + MAX_TRAILER_LEN);
        v.extend_from_slice(p);
        v
    }

    // ---- RFC 3711 appendix B ----

    #[test]
    fn kdf_matches_rfc3711_b3() {
        let key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        let salt = hex("0EC675AD498AFEEBB6960B3AABE6");
        let mut out = [0u8; 94];
        aes_cm_prf(&key, &salt, LABEL_SRTP_ENCRYPTION, &mut out[..16]);
        assert_eq!(out[..16], hex("C61E7A93744F39EE10734AFE3FF7A087")[..], "cipher key");
        aes_cm_prf(&key, &salt, LABEL_SRTP_SALT, &mut out[..14]);
        assert_eq!(out[..14], hex("30CBBC08863D8C85D49DB34A9AE1")[..], "cipher salt");
        aes_cm_prf(&key, &salt, LABEL_SRTP_AUTH, &mut out);
        let auth = hex(
            "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE
             E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25
             6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2",
        );
        assert_eq!(out[..], auth[..], "94-byte auth key");
    }

    #[test]
    fn aes_cm_keystream_matches_rfc3711_b2() {
        let keys = CmKeys {
            aes: aes::cipher::KeyInit::new_from_slice(&hex("2B7E151628AED2A6ABF7158809CF4F3C")).unwrap(),
            salt: hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap(),
            mac: <HmacSha1 as Mac>::new_from_slice(&[0; 20]).unwrap(),
        };
        let iv = cm_iv(&keys.salt, 0, 0);
        assert_eq!(iv[..], hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000")[..]);
        let mut ks = vec![0u8; 0xff02 * 16];
        keys.apply_keystream(&iv, &mut ks);
        let block = |i: usize| &ks[i * 16..i * 16 + 16];
        assert_eq!(block(0), &hex("E03EAD0935C95E80E166B16DD92B4EB4")[..]);
        assert_eq!(block(1), &hex("D23513162B02D0F72A43A2FE4A5F97AB")[..]);
        assert_eq!(block(2), &hex("41E95B3BB0A2E8DD477901E4FCA894C0")[..]);
        assert_eq!(block(0xfeff), &hex("EC8CDF7398607CB0F2D21675EA9EA1E4")[..]);
        assert_eq!(block(0xff00), &hex("362B7C3C6773516318A077D7FC5073AE")[..]);
        assert_eq!(block(0xff01), &hex("6A2CC3787889374FBEB4C81B17BA6C44")[..]);
    }

    // ---- RFC 7714 §16, §17 (session keys given directly) ----

    const RFC7714_RTP: &str = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976
                               69736120 696e2070 61727465 73207472 6573";
    const RFC7714_RTCP: &str = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
                                deadbeef deadbeef deadbeef deadbeef deadbeef";
    const RFC7714_SSRC_MARS: u32 = 0x4d61_7273;

    fn rfc7714_context(profile: SrtpProfile) -> SrtpContext {
        let mut k = RawSessionKeys::default();
        let key = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        k.key[..profile.key_len()].copy_from_slice(&key[..profile.key_len()]);
        k.salt[..12].copy_from_slice(&hex("517569642070726f2071756f"));
        SrtpContext::with_session_keys(profile, &k, &k, true)
    }

    fn check_rfc7714_rtp(profile: SrtpProfile, want: &str) {
        let (plain, want) = (hex(RFC7714_RTP), hex(want));
        let mut buf = with_capacity(&plain);
        rfc7714_context(profile).protect_rtp(&mut buf).unwrap();
        assert_eq!(buf, want, "{profile:?} SRTP encryption");
        let mut rx = rfc7714_context(profile);
        let mut buf = want.clone();
        rx.unprotect_rtp(&mut buf).unwrap();
        assert_eq!(buf, plain, "{profile:?} SRTP decryption");
        let mut buf = want;
        assert_eq!(rx.unprotect_rtp(&mut buf), Err(SrtpError::Replayed));
    }

    #[test]
    fn aes128_gcm_srtp_matches_rfc7714_16_1() {
        check_rfc7714_rtp(
            SrtpProfile::AeadAes128Gcm,
            "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a
             51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce",
        );
    }

    #[test]
    fn aes256_gcm_srtp_matches_rfc7714_16_2() {
        check_rfc7714_rtp(
            SrtpProfile::AeadAes256Gcm,
            "8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238 9a58e2f3 b50b2a02
             76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13",
        );
    }

    fn check_rfc7714_rtcp(profile: SrtpProfile, encrypt: bool, want: &str) {
        let (plain, want) = (hex(RFC7714_RTCP), hex(want));
        let mut tx = rfc7714_context(profile);
        tx.set_next_srtcp_index(RFC7714_SSRC_MARS, 0x5d4);
        let mut buf = with_capacity(&plain);
        tx.protect_rtcp_with(&mut buf, encrypt).unwrap();
        assert_eq!(buf, want, "{profile:?} SRTCP protection (encrypt: {encrypt})");
        let mut rx = rfc7714_context(profile);
        let mut buf = want.clone();
        rx.unprotect_rtcp(&mut buf).unwrap();
        assert_eq!(buf, plain, "{profile:?} SRTCP unprotection (encrypt: {encrypt})");
        let mut buf = want;
        assert_eq!(rx.unprotect_rtcp(&mut buf), Err(SrtpError::Replayed));
    }

    #[test]
    fn aes128_gcm_srtcp_matches_rfc7714_17_1() {
        check_rfc7714_rtcp(
            SrtpProfile::AeadAes128Gcm,
            true,
            "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda
             4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4",
        );
    }

    #[test]
    fn aes256_gcm_srtcp_matches_rfc7714_17_2() {
        check_rfc7714_rtcp(
            SrtpProfile::AeadAes256Gcm,
            true,
            "81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50 a2eaa5c1 110555be
             8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be 800005d4",
        );
    }

    #[test]
    fn aes128_gcm_srtcp_authenticated_only_matches_rfc7714_17_3() {
        check_rfc7714_rtcp(
            SrtpProfile::AeadAes128Gcm,
            false,
            "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef
             deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790 125f62b3 000005d4",
        );
    }

    #[test]
    fn aes256_gcm_srtcp_authenticated_only_matches_rfc7714_17_4() {
        check_rfc7714_rtcp(
            SrtpProfile::AeadAes256Gcm,
            false,
            "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef
             deadbeef deadbeef deadbeef 91db4afb feee5a97 8fab4393 ed2615fe 000005d4",
        );
    }

    // ---- interop with rtc-srtp ----

    #[test]
    fn srtp_interoperates_with_rtc_srtp_across_a_sequence_wrap() {
        for profile in PROFILES {
            let (key, salt) = master(profile, 7);
            let mut ours_tx = SrtpContext::new(profile, &key, &salt, false).unwrap();
            let mut ours_rx = SrtpContext::new(profile, &key, &salt, true).unwrap();
            let mut theirs_tx = rtc_context(profile, &key, &salt);
            let mut theirs_rx = rtc_context(profile, &key, &salt);
            for (i, seq) in (65_500u16..=u16::MAX).chain(0..40).enumerate() {
                for ssrc in [0x1234_5678u32, 0xcafe_f00d] {
                    let plain = rtp_packet(seq, ssrc, 40 + i % 200);
                    let mut ours = with_capacity(&plain);
                    ours_tx.protect_rtp(&mut ours).unwrap();
                    let theirs = theirs_tx.encrypt_rtp(&plain).unwrap();
                    assert_eq!(ours, &theirs[..], "{profile:?} seq {seq}: SRTP bytes differ from rtc-srtp's");
                    let decrypted = theirs_rx.decrypt_rtp(&ours).unwrap();
                    assert_eq!(&decrypted[..], &plain[..], "{profile:?} seq {seq}: rtc-srtp decrypting ours");
                    let mut buf = theirs.to_vec();
                    ours_rx.unprotect_rtp(&mut buf).unwrap();
                    assert_eq!(buf, plain, "{profile:?} seq {seq}: ours decrypting rtc-srtp's");
                }
            }
            let roc = ours_rx.rtp_streams[&0x1234_5678].highest >> 16;
            assert_eq!(roc, 1, "{profile:?}: the receiver's ROC after the wrap");
        }
    }

    #[test]
    fn srtcp_interoperates_with_rtc_srtp() {
        for profile in PROFILES {
            let (key, salt) = master(profile, 9);
            let mut ours_tx = SrtpContext::new(profile, &key, &salt, false).unwrap();
            let mut ours_rx = SrtpContext::new(profile, &key, &salt, true).unwrap();
            let mut theirs_tx = rtc_context(profile, &key, &salt);
            let mut theirs_rx = rtc_context(profile, &key, &salt);
            for n in 0..50u8 {
                for ssrc in [0x1234_5678u32, 0xcafe_f00d] {
                    let plain = rtcp_packet(ssrc, n);
                    let mut ours = with_capacity(&plain);
                    ours_tx.protect_rtcp(&mut ours).unwrap();
                    assert_eq!(ours.len(), plain.len() + SRTCP_INDEX_LEN + profile.rtcp_auth_tag_len());
                    let decrypted = theirs_rx.decrypt_rtcp(&ours).unwrap();
                    assert_eq!(&decrypted[..], &plain[..], "{profile:?} #{n}: rtc-srtp decrypting ours");
                    let mut buf = theirs_tx.encrypt_rtcp(&plain).unwrap().to_vec();
                    ours_rx.unprotect_rtcp(&mut buf).unwrap();
                    assert_eq!(buf, plain, "{profile:?} #{n}: ours decrypting rtc-srtp's");
                }
            }
        }
    }

    // ---- replay ----

    #[test]
    fn replayed_and_too_old_packets_are_rejected() {
        for profile in PROFILES {
            let (mut tx, mut rx) = pair(profile);
            let sent: Vec<Vec<u8>> = (0..1100u16)
                .map(|seq| {
                    let mut b = with_capacity(&rtp_packet(seq.wrapping_add(60_000), 5, 50));
                    tx.protect_rtp(&mut b).unwrap();
                    b
                })
                .collect();
            // Deliver out of order within the window: odd ones first, then even ones.
            for p in sent.iter().skip(1).step_by(2).chain(sent.iter().step_by(2).skip(40)) {
                rx.unprotect_rtp(&mut p.clone()).unwrap();
            }
            for (i, p) in sent.iter().enumerate().skip(1).step_by(2) {
                assert_eq!(rx.unprotect_rtp(&mut p.clone()), Err(SrtpError::Replayed), "{profile:?} duplicate #{i}");
            }
            // #0..#78 (even) never arrived, but #0 is now more than 1024 behind #1099.
            assert_eq!(rx.unprotect_rtp(&mut sent[0].clone()), Err(SrtpError::Replayed), "{profile:?} too old");
            // #78 is 1021 behind: late but inside the window.
            rx.unprotect_rtp(&mut sent[78].clone()).unwrap();

            let mut rtcp = with_capacity(&rtcp_packet(5, 0));
            tx.protect_rtcp(&mut rtcp).unwrap();
            rx.unprotect_rtcp(&mut rtcp.clone()).unwrap();
            assert_eq!(rx.unprotect_rtcp(&mut rtcp), Err(SrtpError::Replayed), "{profile:?} SRTCP duplicate");
        }
    }

    #[test]
    fn duplicates_pass_when_replay_protection_is_off() {
        for profile in PROFILES {
            let (k, s) = master(profile, 3);
            let mut tx = SrtpContext::new(profile, &k, &s, false).unwrap();
            let mut rx = SrtpContext::new(profile, &k, &s, false).unwrap();
            let mut p = with_capacity(&rtp_packet(10, 5, 50));
            tx.protect_rtp(&mut p).unwrap();
            for _ in 0..3 {
                rx.unprotect_rtp(&mut p.clone()).unwrap();
            }
            let mut c = with_capacity(&rtcp_packet(5, 0));
            tx.protect_rtcp(&mut c).unwrap();
            for _ in 0..3 {
                rx.unprotect_rtcp(&mut c.clone()).unwrap();
            }
        }
    }

    // ---- tampering, truncation, garbage ----

    #[test]
    fn any_flipped_bit_is_rejected() {
        for profile in PROFILES {
            let (mut tx, mut rx) = pair(profile);
            let mut rtp = with_capacity(&rtp_packet(1000, 5, 64));
            tx.protect_rtp(&mut rtp).unwrap();
            let mut rtcp = with_capacity(&rtcp_packet(5, 1));
            tx.protect_rtcp(&mut rtcp).unwrap();
            for bit in 0..rtp.len() * 8 {
                let mut b = rtp.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                assert!(rx.unprotect_rtp(&mut b).is_err(), "{profile:?}: SRTP with bit {bit} flipped accepted");
            }
            for bit in 0..rtcp.len() * 8 {
                let mut b = rtcp.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                assert!(rx.unprotect_rtcp(&mut b).is_err(), "{profile:?}: SRTCP with bit {bit} flipped accepted");
            }
            // The failures left no state behind: the genuine packets still pass.
            let plain_len = rtp.len() - profile.rtp_auth_tag_len();
            rx.unprotect_rtp(&mut rtp).unwrap();
            assert_eq!(rtp.len(), plain_len);
            rx.unprotect_rtcp(&mut rtcp).unwrap();
            assert_eq!(rtcp, rtcp_packet(5, 1));
        }
    }

    #[test]
    fn every_truncation_is_rejected_without_panicking() {
        for profile in PROFILES {
            let (mut tx, mut rx) = pair(profile);
            let mut rtp = with_capacity(&rtp_packet(1000, 5, 30));
            tx.protect_rtp(&mut rtp).unwrap();
            let mut rtcp = with_capacity(&rtcp_packet(5, 1));
            tx.protect_rtcp(&mut rtcp).unwrap();
            for n in 0..rtp.len() {
                assert!(rx.unprotect_rtp(&mut rtp[..n].to_vec()).is_err(), "{profile:?}: SRTP prefix of {n} accepted");
            }
            for n in 0..rtcp.len() {
                assert!(rx.unprotect_rtcp(&mut rtcp[..n].to_vec()).is_err(), "{profile:?}: SRTCP prefix of {n} accepted");
            }
            // Headers cut short are refused on the sending side too.
            let plain = rtp_packet(1001, 5, 0);
            for n in 0..plain.len() - 12 {
                assert_eq!(tx.protect_rtp(&mut plain[..n].to_vec()), Err(SrtpError::Malformed), "{profile:?}: RTP prefix of {n}");
            }
            for n in 0..RTCP_HEADER_LEN {
                assert_eq!(tx.protect_rtcp(&mut vec![0x80; n]), Err(SrtpError::Malformed));
            }
        }
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for profile in PROFILES {
            let (mut tx, mut rx) = pair(profile);
            for _ in 0..5000 {
                let len = (rng.next() % 160) as usize;
                let mut b = rng.bytes(len);
                if len > 0 && rng.next() & 1 == 0 {
                    b[0] = 0x80 | (b[0] & 0x3f); // version 2: reach past the first check
                }
                let _ = rx.unprotect_rtp(&mut b.clone());
                let _ = rx.unprotect_rtcp(&mut b.clone());
                let _ = tx.protect_rtp(&mut b.clone());
                let _ = tx.protect_rtcp(&mut b);
            }
            assert!(rx.rtp_streams.is_empty() && rx.rtcp_streams.is_empty(), "{profile:?}: forged packets created receive state");
        }
    }

    #[test]
    fn wrong_key_or_salt_length_is_refused() {
        for profile in PROFILES {
            let (k, s) = master(profile, 1);
            assert_eq!(
                SrtpContext::new(profile, &k[1..], &s, true).unwrap_err(),
                SrtpError::KeyLength { expected: profile.key_len(), actual: profile.key_len() - 1 }
            );
            assert_eq!(
                SrtpContext::new(profile, &k, &s[1..], true).unwrap_err(),
                SrtpError::SaltLength { expected: profile.salt_len(), actual: profile.salt_len() - 1 }
            );
        }
    }

    #[test]
    fn protecting_reuses_the_buffer_when_capacity_is_reserved() {
        for profile in PROFILES {
            let (mut tx, mut rx) = pair(profile);
            let mut b = with_capacity(&rtp_packet(1, 5, 1200));
            let (ptr, cap) = (b.as_ptr(), b.capacity());
            tx.protect_rtp(&mut b).unwrap();
            rx.unprotect_rtp(&mut b).unwrap();
            b.clear();
            b.extend_from_slice(&rtcp_packet(5, 0));
            tx.protect_rtcp(&mut b).unwrap();
            rx.unprotect_rtcp(&mut b).unwrap();
            assert_eq!((b.as_ptr(), b.capacity()), (ptr, cap), "{profile:?}: buffer reallocated");
        }
    }

    #[test]
    fn protecting_at_an_offset_matches_protecting_alone() {
        for profile in PROFILES {
            let (mut a, mut b) = (pair(profile).0, pair(profile).0);
            for seq in [1u16, 2, 3] {
                let pkt = rtp_packet(seq, 5, 300);
                let mut alone = pkt.clone();
                a.protect_rtp(&mut alone).unwrap();
                // After other datagrams in a send batch.
                let mut batch = vec![0xEE; 77];
                batch.extend_from_slice(&pkt);
                b.protect_rtp_at(&mut batch, 77).unwrap();
                assert_eq!(&batch[..77], &[0xEE; 77][..], "{profile:?}: the bytes before are untouched");
                assert_eq!(&batch[77..], &alone[..], "{profile:?}: seq {seq}");
            }
            let mut short = vec![0u8; 20];
            short[10] = 0x80;
            assert_eq!(b.protect_rtp_at(&mut short, 10), Err(SrtpError::Malformed), "{profile:?}: 10 bytes are no RTP packet");
            assert_eq!(b.protect_rtp_at(&mut short, 21), Err(SrtpError::Malformed), "{profile:?}: start past the end");
        }
    }

    // ---- index estimation and the replay window ----

    #[test]
    fn rollover_counter_follows_wraps_and_late_packets() {
        let mut s = RtpStream::new(65_534);
        assert_eq!(s.estimate(65_535), 65_535);
        assert_eq!(s.estimate(2), (1 << 16) | 2, "wrap ahead");
        s.update((1 << 16) | 2);
        assert_eq!(s.estimate(65_533), 65_533, "late packet from before the wrap keeps ROC 0");
        assert_eq!(s.estimate(40_000), 40_000, "more than half a cycle behind: previous ROC");
        assert_eq!(s.estimate(30_000), (1 << 16) | 30_000);
        s.update((1 << 16) | 40_000);
        assert_eq!(s.estimate(10), (2 << 16) | 10, "next wrap");
        assert_eq!(s.estimate(65_000), (1 << 16) | 65_000);
        // A stream in its first half-cycle never guesses a negative ROC.
        let s = RtpStream::new(100);
        assert_eq!(s.estimate(65_000), 65_000);
        // The last ROC cannot advance: the key is exhausted.
        let mut tx = SrtpContext::new(SrtpProfile::AeadAes128Gcm, &[0; 16], &[0; 12], false).unwrap();
        tx.rtp_streams.insert(5, RtpStream::new(MAX_SRTP_INDEX - 10));
        assert_eq!(tx.protect_rtp(&mut rtp_packet(2, 5, 10)), Err(SrtpError::KeyExhausted));
    }

    #[test]
    fn replay_window_agrees_with_a_set_of_seen_indexes() {
        let mut rng = Rng(12345);
        let mut w = ReplayWindow::starting_at(5000);
        let mut seen = std::collections::HashSet::from([5000u64]);
        let mut top = 5000u64;
        for step in 0..20_000 {
            let jump = match rng.next() % 10 {
                0 => rng.next() % 3000,
                1..=3 => rng.next() % 70,
                _ => 0,
            };
            let index = if rng.next() & 1 == 0 { top + jump } else { top.saturating_sub(rng.next() % 1100) };
            let fresh = !seen.contains(&index) && top - index.min(top) < REPLAY_WINDOW;
            assert_eq!(w.check(index), fresh, "step {step}: index {index}, top {top}");
            if fresh {
                w.accept(index);
                seen.insert(index);
                top = top.max(index);
            }
        }
    }
}
