//! Socket errors reach the transport they concern: a plain transport sending to a port nobody
//! listens on hears of the ICMP port-unreachable errors (a `socketError` event, `socketErrors`
//! in its stats), and the other consumers of the same producer lose nothing to it.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sfu_core::*;
use sfu_tests::*;

fn opus_producer() -> ProducerOptions {
    from_json(
        "options",
        json!({
            "kind": "audio",
            "rtpParameters": {
                "codecs": [{ "mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2 }],
                "encodings": [{ "ssrc": 4242 }],
                "rtcp": { "cname": "x" }
            }
        }),
    )
    .unwrap()
}

async fn plain_consumer(router: &Router, producer: &Producer, ip: &str, port: u16) -> (PlainTransport, Consumer) {
    let t = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": ip } })).unwrap()).await.unwrap();
    t.connect(PlainTransportConnect { ip: Some(ip.into()), port: Some(port), ..Default::default() }).await.unwrap();
    let c = t.consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": consumer_caps() })).unwrap()).await.unwrap();
    (t, c)
}

#[tokio::test(flavor = "current_thread")]
async fn icmp_port_unreachable_is_reported_on_the_transport_and_costs_nobody_else_a_packet() {
    icmp_port_unreachable("127.0.0.1", (3, 3)).await;
}

/// The same over IPv6 (ICMPv6 type 1 code 4).
#[tokio::test(flavor = "current_thread")]
async fn icmpv6_port_unreachable_is_reported_too() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback");
        return;
    }
    icmp_port_unreachable("::1", (1, 4)).await;
}

async fn icmp_port_unreachable(ip: &str, icmp: (u64, u64)) {
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let events = Arc::new(Mutex::new(vec![]));
    let ev2 = events.clone();
    worker.subscribe(move |e| ev2.lock().unwrap().push(e.clone())).detach();
    let router = worker.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let input = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": ip }, "comedia": true })).unwrap()).await.unwrap();
    let producer = input.produce(opus_producer()).await.unwrap();

    // A port that was bound a moment ago and is closed now: the kernel answers with ICMP.
    let addr = |port: u16| std::net::SocketAddr::new(ip.parse().unwrap(), port);
    let dead_port = UdpSocket::bind(addr(0)).unwrap().local_addr().unwrap().port();
    let (dead, _c1) = plain_consumer(&router, &producer, ip, dead_port).await;
    let sink = UdpSocket::bind(addr(0)).unwrap();
    sink.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let (live, _c2) = plain_consumer(&router, &producer, ip, sink.local_addr().unwrap().port()).await;

    let sender = UdpSocket::bind(addr(0)).unwrap();
    sender.connect(addr(input.tuple().local_port)).unwrap();
    let n = 200u16;
    for seq in 0..n {
        sender.send(&rtp(111, seq, seq as u32 * 960, 4242, &[], b"opus")).unwrap();
        std::thread::sleep(Duration::from_micros(500));
    }
    let mut buf = [0u8; 1500];
    let mut got = std::collections::BTreeSet::new();
    while let Ok(len) = sink.recv(&mut buf) {
        if len >= 12 && !(192..=223).contains(&buf[1]) {
            got.insert(u16::from_be_bytes([buf[2], buf[3]]));
        }
        if got.len() == n as usize {
            break;
        }
    }
    assert_eq!(got.len(), n as usize, "the live consumer gets every packet");

    let deadline = Instant::now() + Duration::from_secs(3);
    let found = loop {
        let found = events.lock().unwrap().iter().find(|e| e.target_id == dead.id().to_string() && matches!(e.kind, EventKind::SocketError { .. })).cloned();
        if found.is_some() || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ev = serde_json::to_value(found.expect("a socketError event on the transport sending to the dead port")).unwrap();
    assert_eq!(ev["event"], "socketError");
    assert_eq!(ev["error"], "ECONNREFUSED");
    assert_eq!(ev["origin"], "icmp");
    assert_eq!((ev["icmpType"].as_u64(), ev["icmpCode"].as_u64()), (Some(icmp.0), Some(icmp.1)), "{ev}");
    assert_eq!(ev["remoteIp"], ip);
    assert_eq!(ev["remotePort"], dead_port);
    assert_eq!(ev["offenderIp"], ip);
    assert!(ev["message"].as_str().unwrap().contains("port unreachable"), "{ev}");
    assert!(ev["count"].as_u64().unwrap() >= 1);
    // At most one event a second: far fewer events than errors.
    let n_events = events.lock().unwrap().iter().filter(|e| matches!(e.kind, EventKind::SocketError { .. })).count();
    assert!(n_events <= 2, "{n_events} socketError events in ~0.2 s");

    let stats = dead.get_stats().await.unwrap();
    assert!(stats[0]["socketErrors"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(live.get_stats().await.unwrap()[0]["socketErrors"], 0);
    assert!(events.lock().unwrap().iter().all(|e| e.target_id != live.id().to_string() || !matches!(e.kind, EventKind::SocketError { .. })));
}
