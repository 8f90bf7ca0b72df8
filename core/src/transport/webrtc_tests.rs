//! A WebRtcTransport on a real worker and real UDP sockets, driven by a peer built from our own
//! sans-IO pieces (STUN request, DTLS client, SRTP): ICE → DTLS → SRTP media both ways,
//! transport-cc feedback and sender reports.

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::rtp::rtcp::compound;
use crate::rtp::RtpPacket;
use crate::webrtc::certificate::WorkerCertificate;
use crate::webrtc::dtls::{DtlsEvent, DtlsParameters, DtlsRole, DtlsSession, DtlsState};
use crate::webrtc::srtp::SrtpSession;
use crate::*;

fn stun_request(ufrag: &str, pwd: &str) -> Vec<u8> {
    crate::webrtc::client::nominating_binding_request(&format!("{ufrag}:peer"), pwd, 42).unwrap()
}

fn rtp(pt: u8, seq: u16, ssrc: u32, twcc_seq: u16) -> Vec<u8> {
    let mut v = vec![0x90, pt];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&(seq as u32 * 960).to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    // one-byte extensions: mid (id 4) = "0", transport-wide seq (id 3)
    v.extend_from_slice(&[0xbe, 0xde, 0, 2, 0x40, b'0', 0x31]);
    v.extend_from_slice(&twcc_seq.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0]);
    v.extend_from_slice(&[0xab; 80]);
    v
}

/// The peer's path to the transport: a UDP socket or an ICE-TCP connection (RFC 4571 framing).
enum Link {
    Udp(UdpSocket, std::net::SocketAddr),
    Tcp(std::net::TcpStream, Vec<u8>),
}

impl Link {
    fn send(&mut self, d: &[u8]) {
        use std::io::Write;
        match self {
            Link::Udp(s, to) => {
                s.send_to(d, *to).unwrap();
            }
            Link::Tcp(s, _) => {
                let mut f = (d.len() as u16).to_be_bytes().to_vec();
                f.extend_from_slice(d);
                s.write_all(&f).unwrap();
            }
        }
    }
    fn recv(&mut self) -> Option<Vec<u8>> {
        use std::io::Read;
        match self {
            Link::Udp(s, _) => {
                let mut buf = [0u8; 4096];
                s.recv_from(&mut buf).ok().map(|(n, _)| buf[..n].to_vec())
            }
            Link::Tcp(s, pending) => loop {
                if pending.len() >= 2 {
                    let n = u16::from_be_bytes([pending[0], pending[1]]) as usize;
                    if pending.len() >= 2 + n {
                        let frame = pending[2..2 + n].to_vec();
                        pending.drain(..2 + n);
                        return Some(frame);
                    }
                }
                let mut buf = [0u8; 4096];
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => return None,
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                }
            },
        }
    }
    fn local_port(&self) -> u16 {
        match self {
            Link::Udp(s, _) => s.local_addr().unwrap().port(),
            Link::Tcp(s, _) => s.local_addr().unwrap().port(),
        }
    }
}

struct Peer {
    sock: Link,
    dtls: DtlsSession,
    srtp: Option<SrtpSession>,
    cert: Arc<WorkerCertificate>,
    epoch: Instant,
}

impl Peer {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }
    /// Moves DTLS both ways until the handshake completes (or `deadline`).
    fn handshake(&mut self, deadline: Duration) {
        let end = Instant::now() + deadline;
        while Instant::now() < end && self.srtp.is_none() {
            let now = self.now();
            self.dtls.handle_timeout(now);
            while let Some(d) = self.dtls.poll_transmit() {
                self.sock.send(&d);
            }
            if let Some(d) = self.sock.recv() {
                if (20..=63).contains(&d[0]) {
                    self.dtls.handle_datagram(self.now(), &d);
                }
            }
            while let Some(ev) = self.dtls.poll_event() {
                if let DtlsEvent::SrtpKeys { profile, material, is_client } = ev {
                    self.srtp = Some(SrtpSession::from_keying_material(profile, &material, is_client, self.cert.provider.crypto()).unwrap());
                }
            }
        }
    }
}

fn wait_for(f: impl Fn() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Path {
    Udp,
    Tcp,
    ServerUdp,
    ServerTcp,
}

#[test]
fn browser_like_peer_connects_sends_and_receives_srtp_with_feedback() {
    full_session(Path::Udp);
}

#[test]
fn the_same_session_over_ice_tcp() {
    full_session(Path::Tcp);
}

#[test]
fn the_same_session_through_a_webrtc_server_udp_port() {
    full_session(Path::ServerUdp);
}

#[test]
fn the_same_session_through_a_webrtc_server_tcp_port() {
    full_session(Path::ServerTcp);
}

/// A worker with a router (opus + VP8) and a WebRtcTransport a [`Peer`] has completed ICE and
/// DTLS with over `path`.
struct Session {
    rt: tokio::runtime::Runtime,
    worker: Worker,
    router: Router,
    transport: WebRtcTransport,
    server: Option<WebRtcServer>,
    _other: Option<WebRtcTransport>,
    events: Arc<parking_lot::Mutex<Vec<Event>>>,
    peer: Peer,
    cand: IceCandidate,
    ice: IceParameters,
}

fn connect_session(path: Path) -> Session {
    connect_session_with(path, |_, _| {})
}

/// [`connect_session`], with `before_connect` run once the transport exists, before ICE.
fn connect_session_with(path: Path, before_connect: impl FnOnce(&Router, &WebRtcTransport)) -> Session {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let router = worker
        .create_router_blocking(RouterOptions {
            media_codecs: serde_json::from_value(json!([
                { "kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2 },
                { "kind": "video", "mimeType": "video/VP8", "clockRate": 90000 }])).unwrap(),
            ..Default::default()
        })
        .unwrap();
    let infos = json!([{ "protocol": "udp", "ip": "127.0.0.1" }, { "protocol": "tcp", "ip": "127.0.0.1" }]);
    let server = matches!(path, Path::ServerUdp | Path::ServerTcp)
        .then(|| worker.create_webrtc_server_blocking(serde_json::from_value(json!({ "listenInfos": infos })).unwrap()).unwrap());
    let options = match &server {
        Some(s) => json!({ "webRtcServerId": s.id() }),
        None => json!({ "listenInfos": infos }),
    };
    let transport = router.create_webrtc_transport_blocking(serde_json::from_value(options).unwrap()).unwrap();
    // A second transport on the same server must not steal this one's packets.
    let _other = server.as_ref().map(|s| router.create_webrtc_transport_blocking(serde_json::from_value(json!({ "webRtcServerId": s.id() })).unwrap()).unwrap());
    before_connect(&router, &transport);
    let events = Arc::new(parking_lot::Mutex::new(vec![]));
    let ev2 = events.clone();
    worker.subscribe(move |e| ev2.lock().push(e.clone())).detach();

    // ICE: a nominated check with the transport's credentials.
    let want = if matches!(path, Path::Udp | Path::ServerUdp) { Protocol::Udp } else { Protocol::Tcp };
    let cand = transport.ice_candidates().iter().find(|c| c.protocol == want).expect("candidate").clone();
    assert_eq!(cand.tcp_type.is_some(), want == Protocol::Tcp);
    let server_addr: std::net::SocketAddr = format!("127.0.0.1:{}", cand.port).parse().unwrap();
    let mut sock = match want {
        Protocol::Udp => {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            Link::Udp(s, server_addr)
        }
        Protocol::Tcp => {
            let s = std::net::TcpStream::connect(server_addr).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            Link::Tcp(s, vec![])
        }
    };
    let ice = transport.ice_parameters();
    sock.send(&stun_request(&ice.username_fragment, &ice.password));
    let resp = (0..100).find_map(|_| sock.recv()).expect("STUN response");
    assert!(resp[0] <= 3 && resp.len() > 20, "binding success");
    wait_for(|| transport.ice_state() == IceState::Completed);
    assert_eq!(transport.ice_state(), IceState::Completed);
    let tuple = transport.ice_selected_tuple().unwrap();
    assert_eq!(tuple.remote_port, Some(sock.local_port()));
    assert_eq!(tuple.protocol, want);

    // DTLS: we are the browser (client); the transport is told role 'client' → it is the server.
    let cert = Arc::new(WorkerCertificate::generate().unwrap());
    let epoch = Instant::now();
    let mut peer = Peer { sock, dtls: DtlsSession::new(cert.clone(), epoch), srtp: None, cert: cert.clone(), epoch };
    peer.dtls.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: transport.dtls_parameters().fingerprints }).unwrap();
    rt.block_on(transport.connect(DtlsParameters { role: DtlsRole::Client, fingerprints: cert.fingerprints.clone() })).unwrap();
    peer.handshake(Duration::from_secs(10));
    assert!(peer.srtp.is_some(), "peer DTLS state {:?}", peer.dtls.state());
    wait_for(|| transport.dtls_state() == DtlsState::Connected);
    assert_eq!(transport.dtls_state(), DtlsState::Connected);
    assert_eq!(transport.dtls_parameters().role, DtlsRole::Server);
    assert!(transport.dtls_remote_cert().is_some());

    Session { rt, worker, router, transport, server, _other, events, peer, cand, ice }
}

/// Produces `rtp_parameters` on `transport` and consumes the producer back on it (the peer is
/// both publisher and viewer); returns the consumer's SSRC. Both live as long as the transport.
fn produce_and_consume_back(transport: &WebRtcTransport, router: &Router, kind: &str, rtp_parameters: serde_json::Value) -> u32 {
    let producer = transport.produce_blocking(serde_json::from_value(json!({ "kind": kind, "rtpParameters": rtp_parameters })).unwrap()).unwrap();
    let consumer = transport
        .consume_blocking(serde_json::from_value(json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities() })).unwrap())
        .unwrap();
    consumer.rtp_parameters().encodings[0].ssrc.unwrap()
}

/// A transport left unconnected for several ticks (the tick skips it while no ICE check has
/// arrived) then runs the whole session: transport-cc feedback and sender reports come from the
/// tick once it is live.
#[test]
fn a_transport_dormant_for_several_ticks_then_connects_normally() {
    full_session_with(Path::Udp, |_, _| std::thread::sleep(Duration::from_millis(450)));
}

fn full_session(path: Path) {
    full_session_with(path, |_, _| {});
}

fn full_session_with(path: Path, before_connect: impl FnOnce(&Router, &WebRtcTransport)) {
    let Session { rt: _rt, worker, router, transport, server, _other, events, mut peer, cand, ice } = connect_session_with(path, before_connect);
    // Media in: an opus producer with MID and transport-cc, fed SRTP.
    let consumer_ssrc = produce_and_consume_back(&transport, &router, "audio", json!({
        "mid": "0",
        "codecs": [{ "mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2,
                     "rtcpFeedback": [{ "type": "transport-cc" }] }],
        "headerExtensions": [
            { "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4 },
            { "uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", "id": 3 }],
        "encodings": [{ "ssrc": 5555 }],
        "rtcp": { "cname": "peer" } }));
    let srtp = peer.srtp.as_mut().unwrap();
    let (mut got_media, mut got_twcc, mut got_sr) = (0, 0, 0);
    let sock = &mut peer.sock;
    let start = Instant::now();
    let mut seq = 0u16;
    while start.elapsed() < Duration::from_secs(3) && (got_media < 20 || got_twcc == 0 || got_sr == 0) {
        if seq < 100 {
            let enc = srtp.protect_rtp(&rtp(111, seq, 5555, seq)).unwrap();
            sock.send(&enc);
            seq += 1;
        }
        while let Some(d) = sock.recv() {
            let d = &d[..];
            if !(128..=191).contains(&d[0]) {
                continue;
            }
            if crate::rtp::is_rtcp(d) {
                let plain = srtp.unprotect_rtcp(d).expect("SRTCP from the transport decrypts");
                for p in compound(&plain) {
                    match (p.packet_type, p.count) {
                        (205, 15) => got_twcc += 1,
                        (200, _) => got_sr += 1,
                        _ => {}
                    }
                }
            } else {
                let plain = srtp.unprotect_rtp(d).expect("SRTP from the transport decrypts");
                let p = RtpPacket::parse(&plain).unwrap();
                assert_eq!(p.ssrc(), consumer_ssrc);
                assert_eq!(p.payload(), &[0xab; 80][..]);
                got_media += 1;
            }
        }
    }
    assert!(got_media >= 20, "consumer media received back: {got_media}");
    assert!(got_twcc > 0, "transport-cc feedback packets: {got_twcc}");
    assert!(got_sr > 0, "sender reports: {got_sr}");
    if path == Path::Udp {
        // Hostile datagrams from a raw socket: malformed STUN, a STUN check with a bad password,
        // DTLS and SRTP-looking junk. All dropped and counted; the real peer keeps being served.
        let before = transport.get_stats_blocking().unwrap()[0].clone();
        let raw = UdpSocket::bind("127.0.0.1:0").unwrap();
        raw.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let server_addr: std::net::SocketAddr = format!("127.0.0.1:{}", cand.port).parse().unwrap();
        let mut junk: Vec<Vec<u8>> = vec![
            vec![0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3],
            stun_request(&ice.username_fragment, "wrong-password-wrong-password!!"),
            vec![22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5],
            rtp(111, 7, 5555, 7),
            vec![0x80; 3],
            vec![],
        ];
        junk.push(srtp.protect_rtp(&rtp(111, 9999, 5555, 9999)).unwrap().to_vec()); // valid SRTP, unknown address
        for j in &junk {
            raw.send_to(j, server_addr).unwrap();
        }
        let mut buf = [0u8; 1500];
        assert!(raw.recv_from(&mut buf).is_err(), "no answer to hostile datagrams");
        let mut echoed = 0;
        for i in 0..10u16 {
            let enc = srtp.protect_rtp(&rtp(111, seq + i, 5555, seq + i)).unwrap();
            sock.send(&enc);
        }
        let end = Instant::now() + Duration::from_secs(2);
        while echoed < 10 && Instant::now() < end {
            if let Some(d) = sock.recv() {
                if (128..=191).contains(&d[0]) && !crate::rtp::is_rtcp(&d) && srtp.unprotect_rtp(&d).is_some() {
                    echoed += 1;
                }
            }
        }
        assert_eq!(echoed, 10, "the real peer is still served after the junk");
        // From the real peer's address: a replayed SRTP packet and one with a broken auth tag
        // are dropped and counted, not forwarded.
        let failures = || transport.get_stats_blocking().unwrap()[0]["srtpDecryptFailures"].as_u64().unwrap();
        let before_srtp = failures();
        let good = srtp.protect_rtp(&rtp(111, seq + 100, 5555, seq + 100)).unwrap().to_vec();
        let mut bad = srtp.protect_rtp(&rtp(111, seq + 101, 5555, seq + 101)).unwrap().to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        sock.send(&good);
        sock.send(&good);
        sock.send(&bad);
        let (mut forwarded, end) = (0, Instant::now() + Duration::from_millis(500));
        while Instant::now() < end {
            if let Some(d) = sock.recv() {
                if (128..=191).contains(&d[0]) && !crate::rtp::is_rtcp(&d) && srtp.unprotect_rtp(&d).is_some() {
                    forwarded += 1;
                }
            }
        }
        assert_eq!(forwarded, 1, "only the first copy of the good packet is forwarded");
        assert_eq!(failures(), before_srtp + 2, "the replay and the bad tag are counted");
        let after = transport.get_stats_blocking().unwrap()[0].clone();
        assert!(after["iceDroppedRequests"].as_u64() > before["iceDroppedRequests"].as_u64(), "STUN drops counted: {before} → {after}");
        assert_eq!(transport.ice_selected_tuple().unwrap().remote_port, Some(sock.local_port()), "junk did not move the tuple");
        let dump = transport.dump_blocking().unwrap();
        assert_eq!(dump["iceState"], "completed");
    }
    let stats = transport.get_stats_blocking().unwrap();
    assert_eq!(stats[0]["type"], "webrtc-transport");
    assert_eq!(stats[0]["dtlsState"], "connected");
    let evs = events.lock().clone();
    let names: Vec<String> = evs.iter().filter(|e| e.target_id == transport.id()).map(|e| serde_json::to_value(e).unwrap()["event"].as_str().unwrap().to_owned()).collect();
    for want in ["iceStateChange", "iceSelectedTupleChange", "dtlsStateChange"] {
        assert!(names.iter().any(|n| n == want), "missing {want} in {names:?}");
    }
    if let Some(s) = server {
        let dump = s.dump_blocking().unwrap();
        assert_eq!(dump["webRtcTransportIds"].as_array().unwrap().len(), 2, "{dump}");
    }
    worker.close();
}

/// A VP8 packet with MID (id 4), abs-send-time (id 2) = `abs` and a 1000-byte payload.
fn rtp_abs(seq: u16, ssrc: u32, abs: u32) -> Vec<u8> {
    let mut v = vec![0x90, 96];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    v.extend_from_slice(&[0xbe, 0xde, 0, 2, 0x40, b'1', 0x22]);
    v.extend_from_slice(&abs.to_be_bytes()[1..]);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&[0x10, 0, 0, 0]); // VP8 descriptor: start of partition
    v.extend_from_slice(&[0xcd; 996]);
    v
}

/// The REMBs (bps) in what the transport sent the peer.
fn rembs_in(srtp: &mut SrtpSession, d: &[u8]) -> Vec<u64> {
    if !(128..=191).contains(&d[0]) || !crate::rtp::is_rtcp(d) {
        return vec![];
    }
    let Some(plain) = srtp.unprotect_rtcp(d) else { return vec![] };
    compound(&plain).filter_map(|p| crate::rtp::twcc::parse_remb(p.data)).collect()
}

#[test]
fn a_publisher_without_transport_cc_gets_remb_from_abs_send_time() {
    let Session { worker, transport, mut peer, .. } = connect_session(Path::Udp);
    transport
        .produce_blocking(
            serde_json::from_value(json!({ "kind": "video", "rtpParameters": {
                "mid": "1",
                "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000,
                             "rtcpFeedback": [{ "type": "goog-remb" }, { "type": "nack" }] }],
                "headerExtensions": [
                    { "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4 },
                    { "uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": 2 }],
                "encodings": [{ "ssrc": 7777 }],
                "rtcp": { "cname": "peer" } } }))
            .unwrap(),
        )
        .unwrap();
    // ~500 kbit/s: a 1000-byte packet every 16 ms, stamped with its send time.
    let srtp = peer.srtp.as_mut().unwrap();
    let start = Instant::now();
    let mut seq = 0u16;
    let mut rembs: Vec<(Duration, u64)> = vec![];
    let mut capped_at = None;
    let mut sent_bytes = 0u64;
    while start.elapsed() < Duration::from_secs(6) {
        let abs = ((start.elapsed().as_micros() as u64 * (1 << 18) / 1_000_000) & 0xff_ffff) as u32;
        let enc = srtp.protect_rtp(&rtp_abs(seq, 7777, abs)).unwrap();
        peer.sock.send(&enc);
        if capped_at.is_none() {
            sent_bytes += enc.len() as u64;
        }
        seq = seq.wrapping_add(1);
        let until = Instant::now() + Duration::from_millis(16);
        while Instant::now() < until {
            if let Some(d) = peer.sock.recv() {
                for r in rembs_in(srtp, &d) {
                    rembs.push((start.elapsed(), r));
                }
            }
        }
        if capped_at.is_none() && start.elapsed() > Duration::from_secs(4) {
            transport.set_max_incoming_bitrate_blocking(200_000).unwrap();
            capped_at = Some(start.elapsed());
        }
    }
    let stats = transport.get_stats_blocking().unwrap()[0].clone();
    let capped_at = capped_at.unwrap();
    let before: Vec<u64> = rembs.iter().filter(|r| r.0 < capped_at).map(|r| r.1).collect();
    let after: Vec<u64> = rembs.iter().filter(|r| r.0 > capped_at).map(|r| r.1).collect();
    // The estimate starts from what arrives (after a second of measuring), is announced about
    // once a second, and grows from there while nothing queues.
    let sent_bps = sent_bytes * 8 * 1000 / capped_at.as_millis() as u64;
    assert!(before.len() >= 2 && before.len() <= 5, "REMBs before the cap: {rembs:?}");
    for r in &before {
        assert!(*r >= sent_bps * 7 / 10 && *r <= sent_bps * 2, "REMB {r} far from the {sent_bps} bit/s sent: {rembs:?}");
    }
    assert!(before.windows(2).all(|w| w[1] >= w[0]), "grows on a free path: {rembs:?}");
    // setMaxIncomingBitrate caps the announced estimate at once.
    assert!(!after.is_empty() && after.iter().all(|r| *r == 200_000), "after the cap: {rembs:?}");
    let available = stats["availableIncomingBitrate"].as_u64().expect("availableIncomingBitrate");
    assert_eq!(available, 200_000, "{stats}");
    assert_eq!(stats["maxIncomingBitrate"], 200_000);
    // A floor above the cap is refused; below it, it is reported.
    assert!(matches!(transport.set_min_incoming_bitrate_blocking(300_000), Err(Error::Type(_))));
    transport.set_min_incoming_bitrate_blocking(100_000).unwrap();
    assert_eq!(transport.get_stats_blocking().unwrap()[0]["minIncomingBitrate"], 100_000);
    worker.close();
}

#[test]
fn a_burst_for_a_consumer_is_paced_not_dropped() {
    let Session { worker, router, transport, mut peer, .. } = connect_session(Path::Udp);
    // A VP8 producer on this transport (no feedback needed) consumed back by the peer.
    let consumer_ssrc = produce_and_consume_back(&transport, &router, "video", json!({
        "mid": "1",
        "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000 }],
        "headerExtensions": [{ "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4 }],
        "encodings": [{ "ssrc": 8888 }],
        "rtcp": { "cname": "peer" } }));
    let srtp = peer.srtp.as_mut().unwrap();
    // One 120-packet burst (a ~120 kB key frame) at once. The estimate starts at 600 kbit/s,
    // so the pacer runs at 1.5 Mbit/s with a 40 ms (7.5 kB) burst allowance.
    let burst: Vec<Vec<u8>> = (0..120u16).map(|i| srtp.protect_rtp(&rtp_abs(i, 8888, 0)).unwrap().to_vec()).collect();
    let start = Instant::now();
    for b in &burst {
        peer.sock.send(b);
    }
    let mut arrivals: Vec<(Duration, u16)> = vec![];
    while start.elapsed() < Duration::from_secs(3) && arrivals.len() < 120 {
        if let Some(d) = peer.sock.recv() {
            if (128..=191).contains(&d[0]) && !crate::rtp::is_rtcp(&d) {
                if let Some(plain) = srtp.unprotect_rtp(&d) {
                    let p = RtpPacket::parse(&plain).unwrap();
                    if p.ssrc() == consumer_ssrc {
                        arrivals.push((start.elapsed(), p.sequence_number()));
                    }
                }
            }
        }
    }
    let tstats = transport.get_stats_blocking().unwrap();
    assert_eq!(arrivals.len(), 120, "every packet of the burst arrives: {:?} transport {tstats}", arrivals.iter().map(|a| (a.0.as_millis(), a.1)).collect::<Vec<_>>());
    assert!(arrivals.windows(2).all(|w| w[1].1 == w[0].1.wrapping_add(1)), "in order");
    let first = arrivals[0].0;
    let spread = arrivals[119].0 - first;
    let early = arrivals.iter().filter(|a| a.0 - first < Duration::from_millis(20)).count();
    // ~8 leave at once; the rest are spread, at a rate raised so none waits much more than the
    // 100 ms queue limit (at 1.5 Mbit/s they would take 650 ms).
    assert!(early <= 40, "{early} of 120 packets left within 20 ms: not paced");
    assert!(spread >= Duration::from_millis(70) && spread <= Duration::from_millis(400), "burst spread over {spread:?}");
    worker.close();
}

#[test]
fn start_up_probes_wait_for_the_transport_to_connect() {
    // As with mediasoup-client: the server consumes first, the browser connects afterwards. The
    // estimator's start-up probes must go out once DTLS-SRTP is up, not be spent before.
    let keep = Arc::new(parking_lot::Mutex::new(vec![]));
    let keep2 = keep.clone();
    let Session { worker, transport, mut peer, .. } = connect_session_with(Path::Udp, move |router, transport| {
        let plain = router
            .create_plain_transport_blocking(serde_json::from_value(json!({ "listenInfo": { "protocol": "udp", "ip": "127.0.0.1" }, "comedia": true })).unwrap())
            .unwrap();
        let producer = plain
            .produce_blocking(serde_json::from_value(json!({ "kind": "video", "rtpParameters": {
                "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000 }],
                "encodings": [{ "ssrc": 4242 }] } })).unwrap())
            .unwrap();
        let consumer = transport
            .consume_blocking(serde_json::from_value(json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities() })).unwrap())
            .unwrap();
        // Several worker ticks pass before the peer connects.
        std::thread::sleep(Duration::from_millis(350));
        keep2.lock().push((plain, producer, consumer));
    });
    let srtp = peer.srtp.as_mut().unwrap();
    let (mut probes, start) = (0, Instant::now());
    while start.elapsed() < Duration::from_secs(2) && probes < 5 {
        if let Some(d) = peer.sock.recv() {
            if (128..=191).contains(&d[0]) && !crate::rtp::is_rtcp(&d) {
                if let Some(plain) = srtp.unprotect_rtp(&d) {
                    probes += usize::from(RtpPacket::parse(&plain).unwrap().ssrc() == 1234);
                }
            }
        }
    }
    let stats = transport.get_stats_blocking().unwrap();
    assert!(probes >= 5, "probe packets received after connecting: {probes}; {}", stats[0]);
    assert!(stats[0]["probationBytesSent"].as_u64().unwrap() > 0, "{}", stats[0]);
    drop(keep);
    worker.close();
}

/// Whether the transport closed this TCP connection (EOF or reset) within `within`.
fn closed_by_server(s: &mut std::net::TcpStream, within: Duration) -> bool {
    use std::io::Read;
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // a STUN response
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return false,
            Err(_) => return true,
        }
    }
}

/// ICE-TCP connections cost an attacker nothing, so they are bounded: past 64 open on a
/// transport's listener a new one is closed at once; one that never carries a valid
/// connectivity check is closed after the attach timeout (1 s in unit tests, 10 s in builds);
/// one that did stays while frames arrive and is closed once idle (2 s / 30 s); a
/// slot freed takes a new connection.
#[test]
fn ice_tcp_connections_are_capped_and_time_out() {
    use std::io::Write;
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let router = worker.create_router_blocking(RouterOptions::default()).unwrap();
    let transport = router.create_webrtc_transport_blocking(serde_json::from_value(json!({ "listenInfos": [{ "protocol": "tcp", "ip": "127.0.0.1" }] })).unwrap()).unwrap();
    let port = transport.ice_candidates()[0].port;
    let connect = || std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();

    let mut open: Vec<_> = (0..64).map(|_| connect()).collect();
    std::thread::sleep(Duration::from_millis(100));
    let mut extra: Vec<_> = (0..4).map(|_| connect()).collect();
    for s in &mut extra {
        assert!(closed_by_server(s, Duration::from_millis(150)), "a connection past the cap is closed at once");
    }
    assert!(!closed_by_server(&mut open[0], Duration::from_millis(50)), "the first 64 stay (for now)");

    // One of them carries a valid check and keeps sending frames: it outlives the attach timeout.
    let ice = transport.ice_parameters();
    let mut live = open.pop().unwrap();
    let check = stun_request(&ice.username_fragment, &ice.password);
    let mut framed = (check.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&check);
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1600) {
        live.write_all(&framed).unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    assert_eq!(transport.ice_state(), IceState::Completed);
    for s in &mut open {
        assert!(closed_by_server(s, Duration::from_millis(200)), "never attached: closed after the attach timeout");
    }
    assert!(!closed_by_server(&mut live, Duration::from_millis(50)), "the attached connection stays while frames arrive");
    // Silent now: closed once idle, and ICE loses the tuple.
    assert!(closed_by_server(&mut live, Duration::from_millis(3500)), "an idle connection is closed");
    wait_for(|| transport.ice_state() == IceState::Disconnected);
    assert_eq!(transport.ice_state(), IceState::Disconnected);
    // Slots are free again: a new connection is served (answered, not closed).
    let mut again = connect();
    again.write_all(&framed).unwrap();
    let mut frame = [0u8; 2];
    again.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    std::io::Read::read_exact(&mut again, &mut frame).expect("a STUN response on a new connection");
    worker.close();
}
