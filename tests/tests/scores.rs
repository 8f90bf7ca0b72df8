//! Receive statistics, receiver reports and scores on real sockets: a lossy publisher gets RRs
//! saying so and its producer's score drops; a receiver's RR sets its consumer's score.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sfu_core::rtp::receive_stats::{write_rr, ReportBlock};
use sfu_core::rtp::rtcp::compound;
use sfu_core::*;
use sfu_tests::*;

#[tokio::test(flavor = "current_thread")]
async fn lossy_publisher_gets_receiver_reports_and_scores_follow_loss() {
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let events = Arc::new(Mutex::new(vec![]));
    let ev2 = events.clone();
    worker.subscribe(move |e| ev2.lock().unwrap().push(e.clone())).detach();
    let router = worker.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let pt = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" }, "comedia": true })).unwrap()).await.unwrap();
    let producer = pt
        .produce(from_json("o", json!({ "kind": "audio", "rtpParameters": {
            "codecs": [{ "mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2 }],
            "encodings": [{ "ssrc": 6000 }] } })).unwrap())
        .await
        .unwrap();
    let sink = Sink::new();
    let ct = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap()).await.unwrap();
    ct.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(sink.port()), ..Default::default() }).await.unwrap();
    let consumer = ct.consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities() })).unwrap()).await.unwrap();
    let cssrc = consumer.rtp_parameters().encodings[0].ssrc.unwrap();

    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.set_nonblocking(true).unwrap();
    tx.connect(("127.0.0.1", pt.tuple().local_port)).unwrap();
    // 2.5 s of 50 packet/s audio with every 5th packet lost (20%).
    let mut rr_blocks = vec![];
    let start = Instant::now();
    let mut seq = 0u16;
    let mut buf = [0u8; 1500];
    while start.elapsed() < Duration::from_millis(2500) {
        if seq % 5 != 2 {
            let _ = tx.send(&rtp(111, seq, seq as u32 * 960, 6000, &[], &[1; 60]));
        }
        seq += 1;
        std::thread::sleep(Duration::from_millis(20));
        while let Ok(n) = tx.recv(&mut buf) {
            for p in compound(&buf[..n]) {
                if p.packet_type == 201 {
                    rr_blocks.extend((0..p.count as usize).filter_map(|i| ReportBlock::parse(p.data.get(8 + 24 * i..)?)));
                }
            }
        }
    }
    let ours: Vec<&ReportBlock> = rr_blocks.iter().filter(|b| b.ssrc == 6000).collect();
    assert!(!ours.is_empty(), "the publisher receives receiver reports");
    let last = ours.last().unwrap();
    assert!((40..=64).contains(&last.fraction_lost), "fraction lost ≈ 20% of 256: {last:?}");
    assert!(last.cumulative_lost > 10, "{last:?}");
    let score = producer.score_blocking().unwrap();
    assert!(score[0]["score"].as_u64().unwrap() <= 5, "20% loss scores low: {score}");
    let stats = producer.get_stats().await.unwrap();
    assert!(stats[0]["packetsLost"].as_u64().unwrap() > 10, "{stats}");
    let producer_events = events.lock().unwrap().iter().filter(|e| e.target_id == producer.id() && matches!(e.kind, EventKind::Score { .. })).count();
    assert!(producer_events >= 1, "producer score events");

    // The receiver reports 25% loss on the consumer's stream.
    let mut rr = vec![];
    write_rr(&mut rr, 1, &[ReportBlock { ssrc: cssrc, fraction_lost: 64, cumulative_lost: 40, ..Default::default() }]);
    sink.socket.send_to(&rr, ("127.0.0.1", ct.tuple().local_port)).unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let cstats = consumer.get_stats().await.unwrap();
    assert_eq!(cstats[0]["score"], 3, "consumer score from 75% delivery: {cstats}");
    assert_eq!(cstats[0]["packetsLost"], 40);
    let consumer_scores: Vec<serde_json::Value> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Score { score } if e.target_id == consumer.id() => Some(score.clone()),
            _ => None,
        })
        .collect();
    assert!(consumer_scores.iter().any(|s| s["score"] == 3 && s["producerScores"].is_array()), "consumer score events: {consumer_scores:?}");
    worker.close();
}
