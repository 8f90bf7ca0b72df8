//! STUN (RFC 5389) as an ICE-lite agent needs it: classify a datagram (RFC 7983), read a Binding
//! request without allocating, check FINGERPRINT and MESSAGE-INTEGRITY, build the answers.
//!
//! The reader here is strict on structure, like mediasoup's: exact datagram length, attribute
//! sizes, FINGERPRINT last, nothing but FINGERPRINT after MESSAGE-INTEGRITY (so a USE-CANDIDATE
//! appended outside the integrity check never counts). The cryptography and the message builder
//! are `rtc-stun`'s.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use rtc_stun::crypto::{default_provider, RTCCrypto, RTCCryptoProvider};
use rtc_stun::error_code::ErrorCode;
use rtc_stun::fingerprint::{fingerprint_value, FINGERPRINT};
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{Message, TransactionId, BINDING_ERROR, BINDING_SUCCESS};
use rtc_stun::xoraddr::XorMappedAddress;

/// The fixed value in bytes 4..8 of every RFC 5389 message.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Size of the STUN header.
pub const HEADER_LEN: usize = 20;
/// STUN method number of Binding.
pub const METHOD_BINDING_VALUE: u16 = 0x001;

const ATTR_HEADER_LEN: usize = 4;
const ATTR_USERNAME: u16 = 0x0006;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_PRIORITY: u16 = 0x0024;
const ATTR_USE_CANDIDATE: u16 = 0x0025;
const ATTR_FINGERPRINT: u16 = 0x8028;
const ATTR_ICE_CONTROLLED: u16 = 0x8029;
const ATTR_ICE_CONTROLLING: u16 = 0x802A;
// draft-thatcher-ice-renomination; mediasoup honours it.
const ATTR_NOMINATION: u16 = 0xC001;
const MESSAGE_INTEGRITY_LEN: usize = 20;
const FINGERPRINT_LEN: usize = 4;
const MAX_USERNAME_LEN: usize = 513;

/// True when `buf` looks like STUN: first byte 0..=3 (RFC 7983), a full header, the magic cookie.
pub fn is_stun(buf: &[u8]) -> bool {
    buf.len() >= HEADER_LEN
        && buf[0] <= 3
        && u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) == MAGIC_COOKIE
}

/// True when RFC 7983 demultiplexing sends `buf` to STUN (first byte 0..=3), valid or not.
pub fn in_stun_range(buf: &[u8]) -> bool {
    buf.first().is_some_and(|b| *b <= 3)
}

/// Class of a STUN message (RFC 5389 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StunClass {
    /// Expects a response.
    Request,
    /// Fire and forget.
    Indication,
    /// Success response to a request.
    SuccessResponse,
    /// Error response to a request.
    ErrorResponse,
}

/// Why bytes in STUN's range are not a well-formed STUN message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Shorter than the 20-byte header.
    Truncated,
    /// The two top bits of the type are set or the magic cookie is wrong.
    BadHeader,
    /// The header length is not a multiple of 4 or does not match the datagram length.
    BadLength,
    /// An attribute runs past the end of the message.
    AttributeOverrun,
    /// A known attribute has the wrong size or an invalid value.
    BadAttribute(u16),
    /// An attribute follows FINGERPRINT.
    FingerprintNotLast,
    /// An attribute other than FINGERPRINT follows MESSAGE-INTEGRITY.
    AttributeAfterIntegrity,
}

/// A STUN message: header plus the attributes an ICE agent reads, borrowed from the datagram.
///
/// For repeated attributes the first occurrence wins; unknown attributes are skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StunMessage<'a> {
    /// Method number (Binding is 0x001).
    pub method: u16,
    /// Request, indication or response.
    pub class: StunClass,
    /// The 96-bit transaction id.
    pub transaction_id: [u8; 12],
    /// USERNAME (`remote-side-ufrag:sender-ufrag` in ICE).
    pub username: Option<&'a str>,
    /// PRIORITY.
    pub priority: Option<u32>,
    /// USE-CANDIDATE present.
    pub use_candidate: bool,
    /// ICE-CONTROLLING tie-breaker.
    pub ice_controlling: Option<u64>,
    /// ICE-CONTROLLED tie-breaker.
    pub ice_controlled: Option<u64>,
    /// NOMINATION value (renomination).
    pub nomination: Option<u32>,
    /// MESSAGE-INTEGRITY present.
    pub has_integrity: bool,
    /// FINGERPRINT present (always the last attribute).
    pub has_fingerprint: bool,
}

impl StunMessage<'_> {
    /// True for a Binding request.
    pub fn is_binding_request(&self) -> bool {
        self.method == METHOD_BINDING_VALUE && self.class == StunClass::Request
    }
}

/// Reads a STUN message that must fill `buf` exactly.
pub fn parse(buf: &[u8]) -> Result<StunMessage<'_>, ParseError> {
    if buf.len() < HEADER_LEN {
        return Err(ParseError::Truncated);
    }
    let typ = u16::from_be_bytes([buf[0], buf[1]]);
    if typ & 0xC000 != 0 || u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) != MAGIC_COOKIE {
        return Err(ParseError::BadHeader);
    }
    let length = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    if length % 4 != 0 || HEADER_LEN + length != buf.len() {
        return Err(ParseError::BadLength);
    }
    let class = match ((typ >> 7) & 0b10) | ((typ >> 4) & 0b01) {
        0 => StunClass::Request,
        1 => StunClass::Indication,
        2 => StunClass::SuccessResponse,
        _ => StunClass::ErrorResponse,
    };
    let method = (typ & 0x000F) | ((typ >> 1) & 0x0070) | ((typ >> 2) & 0x0F80);
    let mut transaction_id = [0u8; 12];
    transaction_id.copy_from_slice(&buf[8..HEADER_LEN]);

    let mut msg = StunMessage {
        method,
        class,
        transaction_id,
        username: None,
        priority: None,
        use_candidate: false,
        ice_controlling: None,
        ice_controlled: None,
        nomination: None,
        has_integrity: false,
        has_fingerprint: false,
    };

    let mut offset = HEADER_LEN;
    while offset < buf.len() {
        if msg.has_fingerprint {
            return Err(ParseError::FingerprintNotLast);
        }
        let rest = &buf[offset..];
        if rest.len() < ATTR_HEADER_LEN {
            return Err(ParseError::AttributeOverrun);
        }
        let typ = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let padded = (len + 3) & !3;
        if rest.len() < ATTR_HEADER_LEN + padded {
            return Err(ParseError::AttributeOverrun);
        }
        let value = &rest[ATTR_HEADER_LEN..ATTR_HEADER_LEN + len];
        offset += ATTR_HEADER_LEN + padded;

        if typ == ATTR_FINGERPRINT {
            if len != FINGERPRINT_LEN {
                return Err(ParseError::BadAttribute(typ));
            }
            msg.has_fingerprint = true;
            continue;
        }
        if msg.has_integrity {
            // Not covered by the integrity check. RFC 5389 §15.4 says ignore; mediasoup rejects
            // the message, and so do we (no browser sends anything there).
            return Err(ParseError::AttributeAfterIntegrity);
        }
        match typ {
            ATTR_MESSAGE_INTEGRITY => {
                if len != MESSAGE_INTEGRITY_LEN {
                    return Err(ParseError::BadAttribute(typ));
                }
                msg.has_integrity = true;
            }
            ATTR_USERNAME if msg.username.is_none() => {
                if len > MAX_USERNAME_LEN {
                    return Err(ParseError::BadAttribute(typ));
                }
                let text = std::str::from_utf8(value).map_err(|_| ParseError::BadAttribute(typ))?;
                msg.username = Some(text);
            }
            ATTR_PRIORITY if msg.priority.is_none() => {
                msg.priority = Some(be_u32(typ, value)?);
            }
            ATTR_USE_CANDIDATE => {
                if len != 0 {
                    return Err(ParseError::BadAttribute(typ));
                }
                msg.use_candidate = true;
            }
            ATTR_ICE_CONTROLLING if msg.ice_controlling.is_none() => {
                msg.ice_controlling = Some(be_u64(typ, value)?);
            }
            ATTR_ICE_CONTROLLED if msg.ice_controlled.is_none() => {
                msg.ice_controlled = Some(be_u64(typ, value)?);
            }
            ATTR_NOMINATION if msg.nomination.is_none() => {
                msg.nomination = Some(be_u32(typ, value)?);
            }
            // Unknown attributes (and repeats) are ignored, as mediasoup does.
            _ => {}
        }
    }
    Ok(msg)
}

fn be_u32(typ: u16, value: &[u8]) -> Result<u32, ParseError> {
    let bytes: [u8; 4] = value
        .try_into()
        .map_err(|_| ParseError::BadAttribute(typ))?;
    Ok(u32::from_be_bytes(bytes))
}

fn be_u64(typ: u16, value: &[u8]) -> Result<u64, ParseError> {
    let bytes: [u8; 8] = value
        .try_into()
        .map_err(|_| ParseError::BadAttribute(typ))?;
    Ok(u64::from_be_bytes(bytes))
}

/// The local (first) part of a Binding request's USERNAME, i.e. the ufrag of the agent it is
/// addressed to; `None` for anything else. A shared-port WebRtcServer demultiplexes by it.
pub fn username_fragment_of(buf: &[u8]) -> Option<String> {
    let msg = parse(buf).ok()?;
    if !msg.is_binding_request() {
        return None;
    }
    let (local, _remote) = msg.username?.split_once(':')?;
    Some(local.to_owned())
}

/// Checks FINGERPRINT of a message that [`parse`] accepted with `has_fingerprint`.
pub fn check_fingerprint(buf: &[u8]) -> bool {
    let Some(split) = buf.len().checked_sub(ATTR_HEADER_LEN + FINGERPRINT_LEN) else {
        return false;
    };
    let Ok(value) = <[u8; 4]>::try_from(&buf[buf.len() - FINGERPRINT_LEN..]) else {
        return false;
    };
    split >= HEADER_LEN && fingerprint_value(&buf[..split]) == u32::from_be_bytes(value)
}

/// Checks MESSAGE-INTEGRITY (HMAC-SHA1, short-term `key`) of a message that [`parse`] accepted.
pub fn check_integrity(buf: &[u8], key: &[u8]) -> bool {
    let Some(crypto) = crypto() else {
        return false;
    };
    let mut msg = Message::new();
    if msg.unmarshal_binary(buf).is_err() {
        return false;
    }
    MessageIntegrity::check(&mut msg, key, crypto).is_ok()
}

/// Binding success response: XOR-MAPPED-ADDRESS = `mapped`, MESSAGE-INTEGRITY with `password`,
/// FINGERPRINT. `None` only when no crypto provider is compiled in.
pub fn binding_success(
    transaction_id: [u8; 12],
    mapped: SocketAddr,
    password: &str,
) -> Option<Vec<u8>> {
    let crypto = crypto()?;
    let mut msg = Message::new();
    msg.build(&[
        Box::new(BINDING_SUCCESS),
        Box::new(TransactionId(transaction_id)),
        Box::new(XorMappedAddress {
            ip: mapped.ip(),
            port: mapped.port(),
        }),
        Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
            password.to_owned(),
            crypto,
        )),
        Box::new(FINGERPRINT),
    ])
    .ok()?;
    Some(msg.raw)
}

/// Binding error response with ERROR-CODE `code`, MESSAGE-INTEGRITY with `password` (RFC 5389
/// §10.1.2: every error but 400 and 401 is authenticated), FINGERPRINT.
pub fn binding_error(transaction_id: [u8; 12], code: u16, password: &str) -> Option<Vec<u8>> {
    let crypto = crypto()?;
    let mut msg = Message::new();
    msg.build(&[
        Box::new(BINDING_ERROR),
        Box::new(TransactionId(transaction_id)),
        Box::new(ErrorCode(code)),
        Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
            password.to_owned(),
            crypto,
        )),
        Box::new(FINGERPRINT),
    ])
    .ok()?;
    Some(msg.raw)
}

/// The process-wide crypto backend of rtc-stun (ring unless configured otherwise).
pub fn crypto() -> Option<&'static dyn RTCCrypto> {
    static PROVIDER: OnceLock<Option<Arc<dyn RTCCryptoProvider>>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| default_provider().ok())
        .as_deref()
        .map(|provider| provider.crypto())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 5769 §2.1 sample request (USERNAME "evtj:h6vY", padding bytes are spaces).
    fn rfc5769_request() -> Vec<u8> {
        hex(concat!(
            "000100582112a442b7e7a701bc34d686fa87dfae",
            "802200105354554e207465737420636c69656e74",
            "002400046e0001ff",
            "80290008932ff9b151263b36",
            "000600096576746a3a68367659202020",
            "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2",
            "80280004e57a3bcf",
        ))
    }

    const RFC5769_PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";
    const RFC5769_TRANSACTION: [u8; 12] = [
        0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
    ];

    #[test]
    fn rfc5769_sample_request_parses_and_verifies() {
        let buf = rfc5769_request();
        assert!(is_stun(&buf));
        let msg = parse(&buf).expect("sample request parses");
        assert!(msg.is_binding_request());
        assert_eq!(msg.transaction_id, RFC5769_TRANSACTION);
        assert_eq!(msg.username, Some("evtj:h6vY"));
        assert_eq!(msg.priority, Some(0x6e0001ff));
        assert_eq!(msg.ice_controlled, Some(0x932ff9b151263b36));
        assert!(msg.has_integrity && msg.has_fingerprint && !msg.use_candidate);
        assert!(check_fingerprint(&buf));
        assert!(check_integrity(&buf, RFC5769_PASSWORD.as_bytes()));
        assert!(!check_integrity(&buf, b"wrong password"));
        assert_eq!(username_fragment_of(&buf).as_deref(), Some("evtj"));
    }

    #[test]
    fn xor_mapped_address_matches_rfc5769_vectors() {
        // §2.2: 192.0.2.1:32853; §2.3: [2001:db8:1234:5678:11:2233:4455:6677]:32853.
        let cases = [
            (
                SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 32853)),
                "002000080001a147e112a643",
            ),
            (
                SocketAddr::from((
                    Ipv6Addr::new(0x2001, 0xdb8, 0x1234, 0x5678, 0x11, 0x2233, 0x4455, 0x6677),
                    32853,
                )),
                "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9",
            ),
        ];
        for (addr, attr) in cases {
            let resp = binding_success(RFC5769_TRANSACTION, addr, RFC5769_PASSWORD).unwrap();
            let attr = hex(attr);
            assert_eq!(
                &resp[HEADER_LEN..HEADER_LEN + attr.len()],
                &attr[..],
                "{addr}"
            );
            let msg = parse(&resp).unwrap();
            assert_eq!(msg.class, StunClass::SuccessResponse);
            assert!(msg.has_integrity && msg.has_fingerprint);
            assert!(check_fingerprint(&resp));
            assert!(check_integrity(&resp, RFC5769_PASSWORD.as_bytes()));
        }
    }

    #[test]
    fn is_stun_needs_range_header_and_cookie() {
        let buf = rfc5769_request();
        assert!(!is_stun(&buf[..19]));
        let mut dtls = buf.clone();
        dtls[0] = 22;
        assert!(!is_stun(&dtls));
        let mut no_cookie = buf.clone();
        no_cookie[5] ^= 1;
        assert!(!is_stun(&no_cookie));
        assert!(in_stun_range(&[0]) && in_stun_range(&[3]) && !in_stun_range(&[4]));
        assert!(!in_stun_range(&[]));
    }

    #[test]
    fn structure_errors_are_reported() {
        let buf = rfc5769_request();
        assert_eq!(parse(&buf[..10]), Err(ParseError::Truncated));
        let mut trailing = buf.clone();
        trailing.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(parse(&trailing), Err(ParseError::BadLength));
        // Lengthen the header so an attribute would run past the end.
        let mut overrun = buf.clone();
        overrun.truncate(buf.len() - 8);
        overrun[3] = (buf.len() - 8 - HEADER_LEN) as u8;
        overrun.extend_from_slice(&[0x80, 0x28, 0x00, 0x08]);
        overrun[3] += 4;
        assert_eq!(parse(&overrun), Err(ParseError::AttributeOverrun));
        // Something after FINGERPRINT.
        let mut after = buf.clone();
        after.extend_from_slice(&[0x80, 0x22, 0x00, 0x00]);
        after[3] += 4;
        assert_eq!(parse(&after), Err(ParseError::FingerprintNotLast));
    }

    #[test]
    fn attributes_after_integrity_are_rejected() {
        // Append USE-CANDIDATE after MESSAGE-INTEGRITY (drop FINGERPRINT first): the HMAC would
        // still verify, since trailing attributes are not covered, so the reader must refuse.
        let buf = rfc5769_request();
        let mut forged = buf[..buf.len() - 8].to_vec();
        forged.extend_from_slice(&[0x00, 0x25, 0x00, 0x00]);
        let len = (forged.len() - HEADER_LEN) as u16;
        forged[2..4].copy_from_slice(&len.to_be_bytes());
        assert!(check_integrity(&forged, RFC5769_PASSWORD.as_bytes()));
        assert_eq!(parse(&forged), Err(ParseError::AttributeAfterIntegrity));
    }

    #[test]
    fn error_response_carries_code_and_integrity() {
        use rtc_stun::error_code::ErrorCodeAttribute;
        use rtc_stun::message::Getter;
        let resp = binding_error(RFC5769_TRANSACTION, 487, "pwd").unwrap();
        let mut msg = Message::new();
        msg.unmarshal_binary(&resp).unwrap();
        assert_eq!(msg.typ, BINDING_ERROR);
        let mut code = ErrorCodeAttribute::default();
        code.get_from(&msg).unwrap();
        assert_eq!(code.code.0, 487);
        assert!(MessageIntegrity::check(&mut msg, b"pwd", crypto().unwrap()).is_ok());
        assert!(FINGERPRINT.check(&msg).is_ok());
    }
}
