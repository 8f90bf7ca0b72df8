//! `enableTraceEvent` on real sockets: producers trace what arrives and the key-frame requests
//! they send, consumers trace what they send and the feedback they get; RTT comes from the
//! receiver's reports about our sender reports.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sfu_core::rtp::receive_stats::{write_rr, ReportBlock};
use sfu_core::rtp::rtcp::{compound, write_pli};
use sfu_core::*;
use sfu_tests::*;

fn traces(events: &Mutex<Vec<Event>>, id: &str) -> Vec<TraceEvent> {
    events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Trace { trace } if e.target_id == id => Some(trace.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn producer_and_consumer_trace_packets_and_feedback() {
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let events = Arc::new(Mutex::new(vec![]));
    let ev2 = events.clone();
    worker.subscribe(move |e| ev2.lock().unwrap().push(e.clone())).detach();
    let router = worker.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let pt = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" }, "comedia": true })).unwrap()).await.unwrap();
    let producer = pt
        .produce(from_json("o", json!({ "kind": "video", "rtpParameters": {
            "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000,
                         "rtcpFeedback": [{ "type": "nack", "parameter": "pli" }] }],
            "encodings": [{ "ssrc": 7000 }] } })).unwrap())
        .await
        .unwrap();
    let sink = Sink::new();
    let ct = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap()).await.unwrap();
    ct.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(sink.port()), ..Default::default() }).await.unwrap();
    let consumer = ct.consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities() })).unwrap()).await.unwrap();
    let cssrc = consumer.rtp_parameters().encodings[0].ssrc.unwrap();

    // Unknown types are a TypeError naming the type; each object takes only its own types.
    let e = consumer.enable_trace_event_blocking(vec!["sr".into()]).unwrap_err();
    assert_eq!(e.js_name(), "TypeError");
    assert!(e.message().contains("\"sr\""), "{}", e.message());
    assert!(pt.enable_trace_event_blocking(vec!["rtp".into()]).is_err());
    pt.enable_trace_event_blocking(vec!["bwe".into()]).unwrap();
    producer.enable_trace_event_blocking(vec!["keyframe".into(), "pli".into()]).unwrap();
    consumer.enable_trace_event_blocking(vec!["rtp".into(), "pli".into()]).unwrap();
    assert_eq!(producer.dump_blocking().unwrap()["traceEventTypes"], json!(["keyframe", "pli"]));
    assert_eq!(consumer.dump_blocking().unwrap()["traceEventTypes"], json!(["rtp", "pli"]));

    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(("127.0.0.1", pt.tuple().local_port)).unwrap();
    // A key frame, then two delta frames (VP8 descriptor S bit; key frame: P bit clear).
    tx.send(&rtp(96, 1, 0, 7000, &[], &[0x10, 0x00, 0x9d, 0x01, 0x2a])).unwrap();
    tx.send(&rtp(96, 2, 3000, 7000, &[], &[0x10, 0x01, 0, 0])).unwrap();
    tx.send(&rtp(96, 3, 6000, 7000, &[], &[0x10, 0x01, 0, 0])).unwrap();
    assert_eq!(sink.collect_rtp(3, Duration::from_secs(2)).len(), 3);

    // The receiver asks for a key frame; wait out the producer's request spacing first.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut pli = vec![];
    write_pli(&mut pli, 1, cssrc);
    sink.socket.send_to(&pli, ("127.0.0.1", ct.tuple().local_port)).unwrap();

    // RTT: answer the consumer's first sender report at once.
    let mut answered = false;
    let deadline = std::time::Instant::now() + Duration::from_millis(2500);
    while !answered && std::time::Instant::now() < deadline {
        let Some(d) = sink.collect(1, Duration::from_millis(50)).pop() else { continue };
        for p in compound(&d) {
            if p.packet_type == 200 && !answered {
                let ntp = u64::from_be_bytes(p.data[8..16].try_into().unwrap());
                let mut rr = vec![];
                let block = ReportBlock { ssrc: cssrc, last_sr: (ntp >> 16) as u32, delay_since_last_sr: 0, ..Default::default() };
                write_rr(&mut rr, 1, &[block]);
                sink.socket.send_to(&rr, ("127.0.0.1", ct.tuple().local_port)).unwrap();
                answered = true;
            }
        }
    }
    assert!(answered, "the consumer sends sender reports");
    tokio::time::sleep(Duration::from_millis(100)).await;

    let ptr = traces(&events, producer.id());
    let keyframes: Vec<_> = ptr.iter().filter(|t| t.typ == TraceEventType::Keyframe).collect();
    assert_eq!(keyframes.len(), 1, "{ptr:?}");
    assert_eq!(keyframes[0].direction, TraceDirection::In);
    assert_eq!(keyframes[0].info["rtpPacket"]["sequenceNumber"], 1);
    assert_eq!(keyframes[0].info["rtpPacket"]["isKeyFrame"], true);
    assert!(ptr.iter().all(|t| t.typ != TraceEventType::Rtp), "rtp tracing was not enabled on the producer");
    let plis: Vec<_> = ptr.iter().filter(|t| t.typ == TraceEventType::Pli).collect();
    assert!(!plis.is_empty() && plis.iter().all(|t| t.direction == TraceDirection::Out && t.info["ssrc"] == 7000), "{ptr:?}");

    let ctr = traces(&events, consumer.id());
    let rtp_out: Vec<_> = ctr.iter().filter(|t| t.typ == TraceEventType::Rtp).collect();
    assert_eq!(rtp_out.len(), 3, "{ctr:?}");
    assert!(rtp_out.iter().all(|t| t.direction == TraceDirection::Out && t.info["rtpPacket"]["ssrc"] == cssrc));
    assert!(ctr.iter().any(|t| t.typ == TraceEventType::Pli && t.direction == TraceDirection::In && t.info["ssrc"] == cssrc), "{ctr:?}");

    let mut stats = consumer.get_stats().await.unwrap();
    for _ in 0..100 {
        if stats[0]["roundTripTime"].is_number() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        stats = consumer.get_stats().await.unwrap();
    }
    assert_eq!(stats[0]["pliCount"], 1, "{stats}");
    let rtt = stats[0]["roundTripTime"].as_f64().unwrap_or_else(|| panic!("roundTripTime in {stats}"));
    // Loopback, but the test thread answering the SR may be delayed on a loaded machine.
    assert!((0.0..1000.0).contains(&rtt), "loopback RTT {rtt}");

    // Disabling stops the events.
    consumer.enable_trace_event_blocking(vec![]).unwrap();
    let before = traces(&events, consumer.id()).len();
    tx.send(&rtp(96, 4, 9000, 7000, &[], &[0x10, 0x01, 0, 0])).unwrap();
    assert_eq!(sink.collect_rtp(1, Duration::from_secs(2)).len(), 1);
    assert_eq!(traces(&events, consumer.id()).len(), before);
    worker.close();
}
