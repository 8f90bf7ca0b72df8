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

async fn plain_consumer(router: &Router, producer: &Producer, port: u16) -> (PlainTransport, Consumer) {
    let t = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap()).await.unwrap();
    t.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(port), ..Default::default() }).await.unwrap();
    let c = t.consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": consumer_caps() })).unwrap()).await.unwrap();
    (t, c)
}

#[tokio::test(flavor = "current_thread")]
async fn icmp_port_unreachable_is_reported_on_the_transport_and_costs_nobody_else_a_packet() {
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let events = Arc::new(Mutex::new(vec![]));
    let ev2 = events.clone();
    worker.subscribe(move |e| ev2.lock().unwrap().push(e.clone())).detach();
    let router = worker.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let input = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" }, "comedia": true })).unwrap()).await.unwrap();
    let producer = input.produce(opus_producer()).await.unwrap();

    // A port that was bound a moment ago and is closed now: the kernel answers with ICMP.
    let dead_port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (dead, _c1) = plain_consumer(&router, &producer, dead_port).await;
    let sink = Sink::new();
    let (live, _c2) = plain_consumer(&router, &producer, sink.port()).await;

    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.connect(("127.0.0.1", input.tuple().local_port)).unwrap();
    let n = 200u16;
    for seq in 0..n {
        sender.send(&rtp(111, seq, seq as u32 * 960, 4242, &[], b"opus")).unwrap();
        std::thread::sleep(Duration::from_micros(500));
    }
    assert_eq!(sink.collect_rtp(n as usize, Duration::from_secs(3)).len(), n as usize, "the live consumer gets every packet");

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
    assert_eq!((ev["icmpType"].as_u64(), ev["icmpCode"].as_u64()), (Some(3), Some(3)), "{ev}");
    assert_eq!(ev["remoteIp"], "127.0.0.1");
    assert_eq!(ev["remotePort"], dead_port);
    assert_eq!(ev["offenderIp"], "127.0.0.1");
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
