//! A real WebRtcTransport on loopback UDP: every input is a datagram from the network, so the
//! STUN parser / ICE-lite agent and, once ICE has a valid tuple, the DTLS stack see it.
//!
//! (`IceLite::handle_stun` itself cannot be fuzzed directly: `sfu_core::webrtc::ice` and
//! `::stun` are `pub(crate)`. This reaches the same code through the public transport.)
//!
//! Signing: random bytes never carry a valid MESSAGE-INTEGRITY, so a STUN message whose
//! MESSAGE-INTEGRITY value is 20 zero bytes is re-signed by the harness before it is sent:
//! USERNAME becomes `<transport ufrag>:<remote part of the original>`, MESSAGE-INTEGRITY the
//! HMAC-SHA1 with the transport's ICE password and FINGERPRINT (if present) the CRC-32. Other
//! attributes are kept as they are. Any other message is sent unchanged (and fails integrity).
//!
//! After each datagram the harness sends a probe (a STUN Binding indication, counted and
//! dropped) and waits until the transport has taken it in, so a panic is attributed to the input
//! that caused it. When DTLS has failed or closed (an alert, a bad record), the transport is
//! replaced by a fresh one whose ICE tuple is validated again, so later inputs reach DTLS.

use std::net::UdpSocket;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;
use sfu_core::*;

const MEDIA_CODECS: &str = include_str!("../../core/testdata/router-media-codecs.json");
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
const ATTR_USERNAME: u16 = 0x0006;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_FINGERPRINT: u16 = 0x8028;
const ATTR_PRIORITY: u16 = 0x0024;
const ATTR_USE_CANDIDATE: u16 = 0x0025;
const ATTR_ICE_CONTROLLING: u16 = 0x802a;

struct Peer {
    transport: WebRtcTransport,
    socket: UdpSocket,
    ufrag: String,
    password: String,
    /// bytesReceived the harness has accounted for.
    received: u64,
    last_keepalive: Instant,
}

struct Setup {
    worker: Worker,
    router: Router,
    peer: Mutex<Option<Peer>>,
    inputs: Mutex<u64>,
}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let worker = Worker::new(WorkerSettings::default()).expect("worker");
        let media_codecs: Vec<RtpCodecCapability> = serde_json::from_str(MEDIA_CODECS).unwrap();
        let router = worker.create_router_blocking(RouterOptions { media_codecs, ..Default::default() }).expect("router");
        Setup { worker, router, peer: Mutex::new(None), inputs: Mutex::new(0) }
    })
}

fn new_peer(router: &Router) -> Peer {
    let transport = router
        .create_webrtc_transport_blocking(
            from_json("o", json!({ "listenInfos": [{ "protocol": "udp", "ip": "127.0.0.1" }], "enableTcp": false })).unwrap(),
        )
        .expect("webrtc transport");
    // The remote is the DTLS client: incoming ClientHellos are handled by our DTLS server.
    transport
        .connect_blocking(
            from_json(
                "dtlsParameters",
                json!({ "role": "client", "fingerprints": [{ "algorithm": "sha-256", "value":
                    "78:AC:B3:85:A8:EE:A6:C7:28:C9:32:4A:0A:2E:6F:5E:E6:53:BD:AA:E0:2F:25:87:75:59:84:25:F6:30:B4:37" }] }),
            )
            .unwrap(),
        )
        .expect("connect");
    let port = transport.ice_candidates().iter().find(|c| c.protocol == Protocol::Udp).expect("udp candidate").port;
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(("127.0.0.1", port)).unwrap();
    socket.set_nonblocking(true).unwrap();
    let ice = transport.ice_parameters();
    let mut p = Peer {
        transport,
        socket,
        ufrag: ice.username_fragment,
        password: ice.password,
        received: 0,
        last_keepalive: Instant::now(),
    };
    p.received = bytes_received(&p.transport);
    keepalive(&mut p);
    p
}

/// A signed Binding request with USE-CANDIDATE: makes (or keeps) the peer's tuple valid.
fn keepalive(p: &mut Peer) {
    let mut m = vec![0x00, 0x01, 0, 0];
    m.extend_from_slice(&MAGIC_COOKIE);
    m.extend_from_slice(b"keepalive-tx");
    let mut attrs: Vec<(u16, Vec<u8>)> = vec![
        (ATTR_USERNAME, b"x:peer".to_vec()),
        (ATTR_PRIORITY, 1_853_824_767u32.to_be_bytes().to_vec()),
        (ATTR_ICE_CONTROLLING, 42u64.to_be_bytes().to_vec()),
        (ATTR_USE_CANDIDATE, vec![]),
        (ATTR_MESSAGE_INTEGRITY, vec![0; 20]),
        (ATTR_FINGERPRINT, vec![0; 4]),
    ];
    for (t, v) in attrs.drain(..) {
        push_attr(&mut m, t, &v);
    }
    set_len(&mut m);
    let signed = sign(&m, &p.ufrag, &p.password).expect("template signs");
    send_and_sync(p, &signed);
    p.last_keepalive = Instant::now();
}

fn push_attr(m: &mut Vec<u8>, typ: u16, value: &[u8]) {
    m.extend_from_slice(&typ.to_be_bytes());
    m.extend_from_slice(&(value.len() as u16).to_be_bytes());
    m.extend_from_slice(value);
    while m.len() % 4 != 0 {
        m.push(0);
    }
}

fn set_len(m: &mut [u8]) {
    let n = (m.len() - 20) as u16;
    m[2..4].copy_from_slice(&n.to_be_bytes());
}

/// RFC 1952 CRC-32, for STUN FINGERPRINT.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Re-signs a STUN message whose MESSAGE-INTEGRITY is all zeros (see the module docs); `None`
/// for anything else.
pub fn sign(data: &[u8], ufrag: &str, password: &str) -> Option<Vec<u8>> {
    if data.len() < 20 || data[0] > 3 || data[4..8] != MAGIC_COOKIE {
        return None;
    }
    let mut attrs: Vec<(u16, &[u8])> = Vec::new();
    let mut pos = 20;
    while pos + 4 <= data.len() {
        let typ = u16::from_be_bytes([data[pos], data[pos + 1]]);
        let len = usize::from(u16::from_be_bytes([data[pos + 2], data[pos + 3]]));
        let Some(value) = data.get(pos + 4..pos + 4 + len) else { break };
        attrs.push((typ, value));
        pos += 4 + ((len + 3) & !3);
    }
    if !attrs.iter().any(|(t, v)| *t == ATTR_MESSAGE_INTEGRITY && v.len() == 20 && v.iter().all(|b| *b == 0)) {
        return None;
    }
    let fingerprint = attrs.iter().any(|(t, _)| *t == ATTR_FINGERPRINT);
    let mut m = data[..20].to_vec();
    for (typ, value) in &attrs {
        match *typ {
            ATTR_USERNAME => {
                let remote = value.iter().position(|b| *b == b':').map_or(&b"peer"[..], |i| &value[i + 1..]);
                let mut u = ufrag.as_bytes().to_vec();
                u.push(b':');
                u.extend_from_slice(remote);
                push_attr(&mut m, ATTR_USERNAME, &u);
            }
            ATTR_MESSAGE_INTEGRITY | ATTR_FINGERPRINT => {}
            _ => push_attr(&mut m, *typ, value),
        }
    }
    // The length covers MESSAGE-INTEGRITY while it is computed (RFC 5389 §15.4).
    let n = (m.len() - 20 + 24) as u16;
    m[2..4].copy_from_slice(&n.to_be_bytes());
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes());
    let tag = ring::hmac::sign(&key, &m);
    push_attr(&mut m, ATTR_MESSAGE_INTEGRITY, tag.as_ref());
    if fingerprint {
        let n = (m.len() - 20 + 8) as u16;
        m[2..4].copy_from_slice(&n.to_be_bytes());
        let crc = crc32(&m) ^ 0x5354_554e;
        push_attr(&mut m, ATTR_FINGERPRINT, &crc.to_be_bytes());
    }
    Some(m)
}

fn bytes_received(t: &WebRtcTransport) -> u64 {
    let v = t.get_stats_blocking().unwrap_or_else(|e| panic!("transport.getStats() failed: {e}"));
    let s = if v.is_array() { &v[0] } else { &v };
    s["bytesReceived"].as_u64().expect("bytesReceived")
}

/// Sends `data`, then a probe, and waits until the worker has taken in the probe (the
/// transport counts every STUN and DTLS datagram it receives; the probe is a STUN indication).
fn send_and_sync(p: &mut Peer, data: &[u8]) {
    let mut probe = vec![0x00, 0x11, 0, 0];
    probe.extend_from_slice(&MAGIC_COOKIE);
    probe.extend_from_slice(b"probe-txid00");
    if data.len() == probe.len() {
        push_attr(&mut probe, 0x8022, b"fuzz"); // SOFTWARE: another length than the input
        set_len(&mut probe);
    }
    let sent = send(&p.socket, data);
    assert!(send(&p.socket, &probe), "probe not sent");
    let (flen, plen) = (if sent { data.len() as u64 } else { 0 }, probe.len() as u64);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = bytes_received(&p.transport);
        // The input is counted (STUN, DTLS) or not (RTP without SRTP, other first bytes).
        if got == p.received + plen || got == p.received + flen + plen {
            p.received = got;
            return;
        }
        if let Some(reason) = setup().worker.died() {
            panic!("worker died: {reason}");
        }
        assert!(
            got <= p.received + flen + plen,
            "bytesReceived {got} > {} + {flen} + {plen}: counted more than was sent",
            p.received
        );
        assert!(Instant::now() < deadline, "the worker did not take in the probe within 10 s: it stopped serving");
        std::thread::yield_now();
    }
}

fn send(sock: &UdpSocket, data: &[u8]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match sock.send(data) {
            Ok(_) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "send buffer full for 5 s");
                std::thread::yield_now();
            }
            Err(_) => return false,
        }
    }
}

/// The input is one datagram (see the module docs).
pub fn webrtc_datagrams(data: &[u8]) {
    let s = setup();
    let mut guard = s.peer.lock().unwrap_or_else(|e| e.into_inner());
    if guard.as_ref().is_none_or(|p| matches!(p.transport.dtls_state(), DtlsState::Failed | DtlsState::Closed) || p.transport.closed()) {
        if let Some(old) = guard.take() {
            old.transport.close();
        }
        *guard = Some(new_peer(&s.router));
    }
    let p = guard.as_mut().unwrap();
    if p.last_keepalive.elapsed() > Duration::from_secs(5) {
        keepalive(p);
    }
    let signed = sign(data, &p.ufrag, &p.password);
    send_and_sync(p, signed.as_deref().unwrap_or(data));

    let mut n = s.inputs.lock().unwrap_or_else(|e| e.into_inner());
    *n += 1;
    if *n % 64 == 0 {
        let mut buf = [0u8; 2048];
        while p.socket.recv(&mut buf).is_ok() {}
        p.transport.dump_blocking().unwrap_or_else(|e| panic!("transport dump failed: {e}"));
        s.router.dump_blocking().unwrap_or_else(|e| panic!("router dump failed: {e}"));
        s.worker.dump_blocking().unwrap_or_else(|e| panic!("worker dump failed: {e}"));
    }
}
