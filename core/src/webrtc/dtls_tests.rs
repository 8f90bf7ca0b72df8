//! DTLS handshakes between two of our own sessions on simulated time, with lost, reordered and
//! tampered flights.

use std::sync::Arc;
use std::time::Instant;

use super::certificate::{DtlsFingerprint, WorkerCertificate};
use super::dtls::{DtlsEvent, DtlsParameters, DtlsRole, DtlsSession, DtlsState};

struct Peer {
    s: DtlsSession,
    keys: Option<(Vec<u8>, bool)>,
    states: Vec<DtlsState>,
}

fn pair() -> (Peer, Peer, Vec<DtlsFingerprint>, Vec<DtlsFingerprint>) {
    let ca = Arc::new(WorkerCertificate::generate().unwrap());
    let cb = Arc::new(WorkerCertificate::generate().unwrap());
    let (fa, fb) = (ca.fingerprints.clone(), cb.fingerprints.clone());
    let epoch = Instant::now();
    let mk = |c| Peer { s: DtlsSession::new(c, epoch), keys: None, states: vec![] };
    (mk(ca), mk(cb), fa, fb)
}

impl Peer {
    fn pump_events(&mut self) {
        while let Some(e) = self.s.poll_event() {
            match e {
                DtlsEvent::StateChange(s) => self.states.push(s),
                DtlsEvent::SrtpKeys { material, is_client, .. } => self.keys = Some((material, is_client)),
                DtlsEvent::ApplicationData(_) => {}
            }
        }
    }
}

/// Runs the handshake for `ms` of simulated time; `drop(direction, index)` loses datagrams
/// (direction 0: a→b, 1: b→a; index counts datagrams in that direction).
fn run(a: &mut Peer, b: &mut Peer, ms: u64, mut drop: impl FnMut(usize, usize) -> bool) {
    let mut counts = [0usize; 2];
    for now in (0..ms).step_by(10) {
        a.s.handle_timeout(now);
        b.s.handle_timeout(now);
        for _ in 0..20 {
            let mut moved = false;
            while let Some(d) = a.s.poll_transmit() {
                moved = true;
                counts[0] += 1;
                if !drop(0, counts[0] - 1) {
                    b.s.handle_datagram(now, &d);
                }
            }
            while let Some(d) = b.s.poll_transmit() {
                moved = true;
                counts[1] += 1;
                if !drop(1, counts[1] - 1) {
                    a.s.handle_datagram(now, &d);
                }
            }
            if !moved {
                break;
            }
        }
        a.pump_events();
        b.pump_events();
        if a.s.state() == DtlsState::Connected && b.s.state() == DtlsState::Connected {
            return;
        }
    }
}

fn assert_keys_agree(a: &Peer, b: &Peer) {
    let (ka, ca) = a.keys.clone().expect("client exported keys");
    let (kb, cb) = b.keys.clone().expect("server exported keys");
    assert_eq!(ka, kb, "both sides export the same keying material");
    assert!(ca != cb, "one client, one server");
}

/// Two sessions after a clean handshake: b is the browser-like DTLS client (role 'client' in its
/// parameters), a (us) the server.
fn connected_pair() -> (Peer, Peer) {
    let (mut a, mut b, fa, fb) = pair();
    a.s.connect(0, DtlsParameters { role: DtlsRole::Client, fingerprints: fb }).unwrap();
    b.s.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: fa }).unwrap();
    run(&mut a, &mut b, 5_000, |_, _| false);
    assert_eq!((a.s.state(), b.s.state()), (DtlsState::Connected, DtlsState::Connected), "a {:?} b {:?}", a.states, b.states);
    (a, b)
}

#[test]
fn handshake_completes_and_both_sides_export_the_same_srtp_keys() {
    let (a, b) = connected_pair();
    assert_eq!(a.s.local_role(), DtlsRole::Server);
    assert!(a.s.remote_cert().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    assert_keys_agree(&a, &b);
    assert_eq!(a.states, vec![DtlsState::Connecting, DtlsState::Connected]);
}

#[test]
fn auto_role_makes_us_the_dtls_client() {
    let (mut a, mut b, fa, fb) = pair();
    a.s.connect(0, DtlsParameters { role: DtlsRole::Auto, fingerprints: fb }).unwrap();
    b.s.connect(0, DtlsParameters { role: DtlsRole::Client, fingerprints: fa }).unwrap();
    run(&mut a, &mut b, 5_000, |_, _| false);
    assert_eq!(a.s.local_role(), DtlsRole::Client);
    assert_eq!((a.s.state(), b.s.state()), (DtlsState::Connected, DtlsState::Connected));
    assert_keys_agree(&a, &b);
}

#[test]
fn a_lost_server_flight_is_resent_when_the_client_repeats_its_hello() {
    for lost in 0..10 {
        let (mut server, mut client, fs, fc) = pair();
        server.s.connect(0, DtlsParameters { role: DtlsRole::Client, fingerprints: fc }).unwrap();
        client.s.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: fs }).unwrap();
        // Server → client datagram `lost` is dropped once (flight 2, the pieces of flight 4, the
        // final flight, or nothing once the handshake needs fewer).
        run(&mut server, &mut client, 30_000, |dir, i| dir == 0 && i == lost);
        assert_eq!(
            (server.s.state(), client.s.state()),
            (DtlsState::Connected, DtlsState::Connected),
            "lost server datagram {lost}: server {:?} client {:?}",
            server.states,
            client.states
        );
        assert_keys_agree(&server, &client);
    }
}

#[test]
fn a_client_flight_5_lost_twice_is_resent_when_the_server_repeats_flight_4() {
    // Found by the dtls_handshake fuzz target: flight 5 and its first retransmission lost, the
    // server's retransmitted flight 4 made the client drop its retransmit timer without
    // answering; the server then gave up (failed) and the client stayed connecting forever.
    for _ in 0..3 {
        let (mut server, mut client, fs, fc) = pair();
        server.s.connect(0, DtlsParameters { role: DtlsRole::Client, fingerprints: fc }).unwrap();
        client.s.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: fs }).unwrap();
        // Client datagrams 2 and 3 (flight 5 and its retransmission 1 s later) are lost.
        run(&mut server, &mut client, 20_000, |dir, i| dir == 1 && (i == 2 || i == 3));
        assert_eq!((server.s.state(), client.s.state()), (DtlsState::Connected, DtlsState::Connected), "server {:?} client {:?}", server.states, client.states);
        assert_keys_agree(&server, &client);
    }
}

#[test]
fn repeated_client_hellos_resend_the_last_flight_a_bounded_number_of_times() {
    // Found by the dtls_handshake fuzz target: every datagram that looked like a ClientHello (a
    // 14-byte header is enough) got the whole flight 4 back while the server was handshaking.
    let (mut server, mut client, fs, fc) = pair();
    server.s.connect(0, DtlsParameters { role: DtlsRole::Client, fingerprints: fc }).unwrap();
    client.s.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: fs }).unwrap();
    // ClientHello, HelloVerifyRequest, ClientHello with the cookie: the server sends flight 4.
    let mut flight4 = 0;
    for i in 0..3 {
        let (from, to) = if i % 2 == 0 { (&mut client.s, &mut server.s) } else { (&mut server.s, &mut client.s) };
        while let Some(d) = from.poll_transmit() {
            to.handle_datagram(0, &d);
        }
    }
    while let Some(d) = server.s.poll_transmit() {
        flight4 += d.len();
    }
    assert!(flight4 > 500, "flight 4 is {flight4} bytes");
    let fake_hello = [22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    let mut sent = 0;
    for _ in 0..100 {
        server.s.handle_datagram(0, &fake_hello);
        while let Some(d) = server.s.poll_transmit() {
            sent += d.len();
        }
    }
    assert!(sent <= 7 * flight4, "{sent} bytes sent for 100 repeated ClientHellos ({flight4}-byte flight)");
    assert_eq!(server.s.state(), DtlsState::Connecting);
    // The handshake still completes.
    run(&mut server, &mut client, 5_000, |_, _| false);
    assert_eq!((server.s.state(), client.s.state()), (DtlsState::Connected, DtlsState::Connected));
}

/// Like `run`, but every burst of datagrams is delivered in reverse order.
fn run_reordered(a: &mut Peer, b: &mut Peer, ms: u64) {
    for now in (0..ms).step_by(10) {
        a.s.handle_timeout(now);
        b.s.handle_timeout(now);
        for _ in 0..20 {
            let ab: Vec<Vec<u8>> = std::iter::from_fn(|| a.s.poll_transmit()).collect();
            let ba: Vec<Vec<u8>> = std::iter::from_fn(|| b.s.poll_transmit()).collect();
            if ab.is_empty() && ba.is_empty() {
                break;
            }
            for d in ab.iter().rev() {
                b.s.handle_datagram(now, d);
            }
            for d in ba.iter().rev() {
                a.s.handle_datagram(now, d);
            }
        }
        a.pump_events();
        b.pump_events();
        if a.s.state() == DtlsState::Connected && b.s.state() == DtlsState::Connected {
            return;
        }
    }
}

#[test]
fn reordered_flights_complete_the_handshake() {
    let (mut server, mut client, fs, fc) = pair();
    server.s.connect(0, DtlsParameters { role: DtlsRole::Client, fingerprints: fc }).unwrap();
    client.s.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: fs }).unwrap();
    run_reordered(&mut server, &mut client, 20_000);
    assert_eq!((server.s.state(), client.s.state()), (DtlsState::Connected, DtlsState::Connected), "server {:?} client {:?}", server.states, client.states);
    assert_keys_agree(&server, &client);
}

#[test]
fn lost_client_flights_recover() {
    for lost in 0..3 {
        let (mut server, mut client, fs, fc) = pair();
        server.s.connect(0, DtlsParameters { role: DtlsRole::Client, fingerprints: fc }).unwrap();
        client.s.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: fs }).unwrap();
        run(&mut server, &mut client, 20_000, |dir, i| dir == 1 && i == lost);
        assert_eq!((server.s.state(), client.s.state()), (DtlsState::Connected, DtlsState::Connected), "lost client datagram {lost}");
    }
}

#[test]
fn a_client_hello_before_connect_is_kept_and_answered_after() {
    let (mut server, mut client, fs, fc) = pair();
    client.s.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: fs }).unwrap();
    while let Some(d) = client.s.poll_transmit() {
        server.s.handle_datagram(0, &d); // arrives before the app calls connect()
    }
    assert_eq!(server.s.state(), DtlsState::New);
    server.s.connect(5, DtlsParameters { role: DtlsRole::Client, fingerprints: fc }).unwrap();
    run(&mut server, &mut client, 5_000, |_, _| false);
    assert_eq!((server.s.state(), client.s.state()), (DtlsState::Connected, DtlsState::Connected));
}

#[test]
fn a_wrong_remote_fingerprint_fails_the_handshake() {
    let (mut server, mut client, fs, mut fc) = pair();
    fc[0].value = fc[0].value.replace(|c: char| c.is_ascii_hexdigit(), "A");
    fc.truncate(1);
    server.s.connect(0, DtlsParameters { role: DtlsRole::Client, fingerprints: fc }).unwrap();
    client.s.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: fs }).unwrap();
    run(&mut server, &mut client, 3_000, |_, _| false);
    assert_eq!(server.s.state(), DtlsState::Failed, "states {:?}", server.states);
    assert!(server.keys.is_none(), "no SRTP keys on a failed handshake");
}

#[test]
fn garbage_datagrams_never_panic() {
    let (mut server, _client, _fs, fc) = pair();
    server.s.connect(0, DtlsParameters { role: DtlsRole::Client, fingerprints: fc }).unwrap();
    let mut x: u32 = 12345;
    for n in 0..2000 {
        let len = (n % 300) + 1;
        let mut d = vec![0u8; len];
        for b in d.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        d[0] = 20 + (d[0] % 44); // DTLS content-type range
        server.s.handle_datagram(n as u64, &d);
        while server.s.poll_transmit().is_some() {}
    }
}

#[test]
fn connect_rejects_bad_parameters() {
    let (mut a, _b, _fa, fb) = pair();
    let err = a.s.connect(0, DtlsParameters { role: DtlsRole::Auto, fingerprints: vec![] }).unwrap_err();
    assert!(err.message().contains("fingerprints"), "{err}");
    let bad = vec![DtlsFingerprint { algorithm: "md5".into(), value: "00".into() }];
    let err = a.s.connect(0, DtlsParameters { role: DtlsRole::Auto, fingerprints: bad }).unwrap_err();
    assert!(err.message().contains("md5"), "{err}");
    a.s.connect(0, DtlsParameters { role: DtlsRole::Auto, fingerprints: fb.clone() }).unwrap();
    assert!(a.s.connect(0, DtlsParameters { role: DtlsRole::Auto, fingerprints: fb }).is_err());
}

/// An alert is never answered with an alert: a server flight whose content type was corrupted
/// (to an unknown 232) makes the client send an alert, and the exchange stops there (before, the
/// two sessions volleyed alerts forever without time moving; found by the dtls_handshake fuzzer).
#[test]
fn an_alert_is_not_answered_with_an_alert() {
    let (mut a, mut b, fa, fb) = pair();
    a.s.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: fb }).unwrap(); // a: client
    b.s.connect(0, DtlsParameters { role: DtlsRole::Client, fingerprints: fa }).unwrap(); // b: server
    let mut volleys = 0;
    let mut first = true;
    // a → b the ClientHello; b → a its reply with the content type set to 232.
    loop {
        let mut moved = false;
        while let Some(d) = a.s.poll_transmit() {
            moved = true;
            volleys += 1;
            b.s.handle_datagram(0, &d);
        }
        while let Some(mut d) = b.s.poll_transmit() {
            moved = true;
            volleys += 1;
            if std::mem::take(&mut first) {
                d[0] = 232;
            }
            a.s.handle_datagram(0, &d);
        }
        if !moved || volleys > 50 {
            break;
        }
    }
    assert!(volleys <= 4, "{volleys} datagrams exchanged without time moving");
}

/// The peer's close_notify is answered with ours, once (RFC 5246 §7.2.1); the side that closed
/// first answers nothing, so the exchange ends.
#[test]
fn a_close_notify_is_answered_once() {
    let (mut a, mut b) = connected_pair();
    a.s.close(3_000);
    let from_a: Vec<Vec<u8>> = std::iter::from_fn(|| a.s.poll_transmit()).collect();
    assert!(!from_a.is_empty() && from_a.iter().all(|d| d[0] == 21), "a sends its close_notify (alert records)");
    for d in &from_a {
        b.s.handle_datagram(3_001, d);
    }
    b.pump_events();
    assert_eq!(b.s.state(), DtlsState::Closed);
    let from_b: Vec<Vec<u8>> = std::iter::from_fn(|| b.s.poll_transmit()).collect();
    assert_eq!(from_b.len(), 1, "b answers with its close_notify");
    assert_eq!(from_b[0][0], 21, "an alert record");
    for d in &from_b {
        a.s.handle_datagram(3_002, d);
    }
    assert!(a.s.poll_transmit().is_none(), "the side that closed first answers nothing");
    // Another close_notify reaching the closed b is not answered either.
    for d in &from_a {
        b.s.handle_datagram(3_003, d);
    }
    assert!(b.s.poll_transmit().is_none(), "a closed session answers nothing");
}

/// connect() after close() is refused: a closed session stays closed.
#[test]
fn connect_after_close_is_refused() {
    let (mut a, _b, _fa, fb) = pair();
    a.s.close(0);
    assert_eq!(a.s.state(), DtlsState::Closed);
    assert!(a.s.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: fb }).is_err());
    assert_eq!(a.s.state(), DtlsState::Closed);
}

/// The server's final flight lost, then a duplicate of the client's flight 5 (the same bytes,
/// which the crate drops as a replay): the server resends its final flight and the client
/// completes without waiting for a timer (found by the dtls_handshake fuzzer, where the client's
/// timer was also gone).
#[test]
fn a_duplicate_client_final_flight_gets_the_lost_server_final_flight_again() {
    let (mut server, mut client, fs, fc) = pair();
    server.s.connect(0, DtlsParameters { role: DtlsRole::Client, fingerprints: fc }).unwrap();
    client.s.connect(0, DtlsParameters { role: DtlsRole::Server, fingerprints: fs }).unwrap();
    let mut client_flight = vec![];
    // Exchange until the server completes, remembering the client's last flight.
    for _ in 0..20 {
        let mut to_server = vec![];
        while let Some(d) = client.s.poll_transmit() {
            to_server.push(d);
        }
        if !to_server.is_empty() {
            client_flight = to_server.clone();
        }
        for d in &to_server {
            server.s.handle_datagram(0, d);
        }
        server.pump_events();
        if server.s.state() == DtlsState::Connected {
            break;
        }
        while let Some(d) = server.s.poll_transmit() {
            client.s.handle_datagram(0, &d);
        }
    }
    assert_eq!(server.s.state(), DtlsState::Connected);
    let mut lost = 0;
    while server.s.poll_transmit().is_some() {
        lost += 1; // the final flight, lost
    }
    assert!(lost > 0);
    for d in &client_flight {
        server.s.handle_datagram(0, d); // the same bytes again
    }
    let mut again = 0;
    while let Some(d) = server.s.poll_transmit() {
        again += 1;
        client.s.handle_datagram(0, &d);
    }
    client.pump_events();
    assert!(again > 0, "the final flight is resent");
    assert_eq!(client.s.state(), DtlsState::Connected, "client {:?}", client.states);
}
