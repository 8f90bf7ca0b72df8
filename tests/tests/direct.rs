//! DirectTransport: RTP injected by the application reaches a plain-transport receiver, a plain
//! publisher's RTP reaches the application as consumer `rtp` events, application RTCP reaches the
//! publisher, and direct data producers/consumers route messages with subchannels, pause and
//! close cascades.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sfu_core::rtp::rtcp::{compound, write_pli};
use sfu_core::rtp::RtpPacket;
use sfu_core::*;
use sfu_tests::*;

fn opus(ssrc: u32) -> ProducerOptions {
    from_json("o", json!({ "kind": "audio", "rtpParameters": {
        "codecs": [{ "mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2 }],
        "encodings": [{ "ssrc": ssrc }] } }))
    .unwrap()
}

fn recorder(worker: &Worker) -> Arc<Mutex<Vec<Event>>> {
    let events = Arc::new(Mutex::new(vec![]));
    let ev2 = events.clone();
    worker.subscribe(move |e| ev2.lock().unwrap().push(e.clone())).detach();
    events
}

async fn wait_for(events: &Mutex<Vec<Event>>, what: &str, pred: impl Fn(&[Event]) -> bool) {
    for _ in 0..100 {
        if pred(&events.lock().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}: {:?}", events.lock().unwrap().iter().map(|e| &e.kind).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn rtp_flows_from_and_to_the_application() {
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let events = recorder(&worker);
    let router = worker.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let direct = router.create_direct_transport(DirectTransportOptions::default()).await.unwrap();

    // Application → plain receiver.
    let injected = direct.produce(opus(4444)).await.unwrap();
    let sink = Sink::new();
    let ct = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap()).await.unwrap();
    ct.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(sink.port()), ..Default::default() }).await.unwrap();
    let c = ct.consume(from_json("o", json!({ "producerId": injected.id(), "rtpCapabilities": router.rtp_capabilities() })).unwrap()).await.unwrap();
    for i in 0..5u16 {
        injected.send(rtp(111, 10 + i, 960 * i as u32, 4444, &[], &[i as u8, 0xab])).unwrap();
    }
    // (Generous: on a loaded CI machine the worker may be scheduled late.)
    let got = sink.collect_rtp(5, Duration::from_secs(10));
    assert_eq!(got.len(), 5);
    let first = RtpPacket::parse(&got[0]).unwrap();
    assert_eq!(first.ssrc(), c.rtp_parameters().encodings[0].ssrc.unwrap());
    assert_eq!(first.payload(), &[0, 0xab]);
    assert!(injected.send(vec![1, 2, 3]).is_err(), "not an RTP packet");

    // Plain publisher → application.
    let pt = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" }, "comedia": true })).unwrap()).await.unwrap();
    let published = pt.produce(from_json("o", json!({ "kind": "video", "rtpParameters": {
            "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "rtcpFeedback": [{ "type": "nack", "parameter": "pli" }] }],
            "encodings": [{ "ssrc": 5555 }] } })).unwrap()).await.unwrap();
    assert_eq!(published.send(rtp(96, 1, 0, 5555, &[], &[0x10, 0])).unwrap_err().js_name(), "UnsupportedError");
    let dc = direct.consume(from_json("o", json!({ "producerId": published.id(), "rtpCapabilities": router.rtp_capabilities() })).unwrap()).await.unwrap();
    let dc_ssrc = dc.rtp_parameters().encodings[0].ssrc.unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    tx.connect(("127.0.0.1", pt.tuple().local_port)).unwrap();
    for i in 0..3u16 {
        tx.send(&rtp(96, 100 + i, 3000 * i as u32, 5555, &[], &[0x10, if i == 0 { 0 } else { 1 }, 7])).unwrap();
    }
    let dc_id = dc.id().to_owned();
    wait_for(&events, "3 rtp events", |evs| evs.iter().filter(|e| e.target_id == dc_id && matches!(e.kind, EventKind::Rtp { .. })).count() == 3).await;
    let packets: Vec<Vec<u8>> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Rtp { packet } if e.target_id == dc_id => Some(packet.clone()),
            _ => None,
        })
        .collect();
    for p in &packets {
        let p = RtpPacket::parse(p).unwrap();
        assert_eq!(p.ssrc(), dc_ssrc);
        assert_eq!(p.payload()[2], 7);
    }

    // Application RTCP: a PLI about the direct consumer reaches the publisher.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut pli = vec![];
    write_pli(&mut pli, 1, dc_ssrc);
    direct.send_rtcp(pli).unwrap();
    assert!(direct.send_rtcp(vec![0x80, 96, 0, 0]).is_err(), "RTP is not RTCP");
    let mut buf = [0u8; 1500];
    let mut got_pli = false;
    for _ in 0..40 {
        if let Ok(n) = tx.recv(&mut buf) {
            got_pli |= compound(&buf[..n]).any(|p| p.is_pli() && p.media_ssrc() == Some(5555));
        }
        if got_pli {
            break;
        }
    }
    assert!(got_pli, "the publisher gets the application's PLI");
    let stats = direct.get_stats().await.unwrap();
    assert_eq!(stats[0]["type"], "direct-transport");
    assert_eq!(direct.dump().await.unwrap()["direct"], true);
    worker.close();
}

#[tokio::test(flavor = "current_thread")]
async fn direct_data_messages_follow_subchannels_pause_and_close() {
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let events = recorder(&worker);
    let router = worker.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let t = router.create_direct_transport(DirectTransportOptions { max_message_size: Some(1000), ..Default::default() }).await.unwrap();
    let dp = t.produce_data_blocking(from_json("o", json!({ "label": "chat", "protocol": "json" })).unwrap()).unwrap();
    assert_eq!(dp.data_type(), DataType::Direct);
    let all = t.consume_data_blocking(from_json("o", json!({ "dataProducerId": dp.id() })).unwrap()).unwrap();
    let sub = t.consume_data_blocking(from_json("o", json!({ "dataProducerId": dp.id(), "subchannels": [7] })).unwrap()).unwrap();
    assert_eq!((all.label(), all.protocol()), ("chat", "json"));
    let e = t.consume_data_blocking(from_json("o", json!({ "dataProducerId": "nope" })).unwrap()).unwrap_err();
    assert_eq!(e.js_name(), "NotFoundError");

    let messages = |id: &str| -> Vec<(u32, Vec<u8>)> {
        events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Message { ppid, message } if e.target_id == id => Some((*ppid, message.clone())),
                _ => None,
            })
            .collect()
    };
    dp.send_blocking(ppid::STRING, b"hello".to_vec(), None, None).unwrap();
    dp.send_blocking(ppid::BINARY, vec![1, 2, 3], Some(vec![7]), None).unwrap();
    dp.send_blocking(ppid::STRING, b"only 7".to_vec(), None, Some(7)).unwrap();
    let e = dp.send_blocking(ppid::BINARY, vec![0; 1001], None, None).unwrap_err();
    assert!(e.message().contains("maxMessageSize"), "{}", e.message());
    assert_eq!(messages(all.id()), vec![(51, b"hello".to_vec())], "subchannel-targeted messages skip a consumer without subchannels");
    assert_eq!(messages(sub.id()), vec![(51, b"hello".to_vec()), (53, vec![1, 2, 3]), (51, b"only 7".to_vec())]);

    all.pause_blocking().unwrap();
    dp.send_blocking(ppid::STRING, b"while paused".to_vec(), None, None).unwrap();
    assert_eq!(messages(all.id()).len(), 1);
    all.resume_blocking().unwrap();
    dp.pause_blocking().unwrap();
    assert!(all.data_producer_paused());
    dp.send_blocking(ppid::STRING, b"producer paused".to_vec(), None, None).unwrap();
    dp.resume_blocking().unwrap();
    dp.send_blocking(ppid::STRING, b"again".to_vec(), None, None).unwrap();
    assert_eq!(messages(all.id()).last().unwrap().1, b"again".to_vec());
    let stats = dp.get_stats_blocking().unwrap();
    assert_eq!(stats[0]["messagesReceived"], 6);
    assert_eq!(all.get_stats_blocking().unwrap()[0]["messagesSent"], 2);

    dp.close();
    let all_id = all.id().to_owned();
    wait_for(&events, "dataproducerclose", |evs| {
        evs.iter().any(|e| e.target_id == all_id && matches!(e.kind, EventKind::Closed { reason: CloseReason::DataProducerClosed, .. }))
    })
    .await;
    assert!(all.closed() && sub.closed());
    assert!(dp.send_blocking(ppid::STRING, b"x".to_vec(), None, None).is_err());
    assert_eq!(t.dump_blocking().unwrap()["dataConsumerIds"], json!([]));
    worker.close();
}
