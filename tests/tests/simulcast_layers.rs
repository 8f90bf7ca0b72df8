//! A consumer of a simulcast producer forwards one layer: the best one that is arriving, entered
//! only at a key frame, with continuous sequence numbers across switches.

use std::net::UdpSocket;
use std::time::Duration;

use serde_json::json;
use sfu_core::rtp::RtpPacket;
use sfu_core::*;
use sfu_tests::*;

/// A VP8 packet; `key` marks the start of a key frame. The payload names its layer.
fn vp8(ssrc: u32, seq: u16, key: bool, layer: u8) -> Vec<u8> {
    let descriptor = [0x10, if key { 0x00 } else { 0x01 }, layer];
    rtp(96, seq, seq as u32 * 3000, ssrc, &[], &descriptor)
}

#[tokio::test(flavor = "current_thread")]
async fn consumer_switches_layers_only_at_key_frames_and_keeps_sequence_continuous() {
    let (worker, router, pt) = comedia_room().await;
    let producer = pt
        .produce(
            from_json(
                "o",
                json!({ "kind": "video", "rtpParameters": {
                    "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000,
                                 "rtcpFeedback": [{ "type": "nack", "parameter": "pli" }] }],
                    "encodings": [{ "ssrc": 1000, "scalabilityMode": "L1T1" }, { "ssrc": 2000, "scalabilityMode": "L1T1" }, { "ssrc": 3000, "scalabilityMode": "L1T1" }]
                } }),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let sink = Sink::new();
    let ct = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap()).await.unwrap();
    ct.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(sink.port()), ..Default::default() }).await.unwrap();
    let consumer = ct.consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities() })).unwrap()).await.unwrap();
    assert_eq!(consumer.consumer_type(), ConsumerType::Simulcast);
    let events = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let ev2 = events.clone();
    worker.subscribe(move |e| ev2.lock().unwrap().push(e.clone())).detach();
    assert_eq!(consumer.rtp_parameters().encodings[0].scalability_mode.as_deref(), Some("L3T1"));

    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(("127.0.0.1", pt.tuple().local_port)).unwrap();
    let mut seqs = [0u16, 10_000, 20_000];
    let mut send_round = |layers: &[usize], key: bool| {
        for &l in layers {
            tx.send(&vp8([1000, 2000, 3000][l], seqs[l], key, l as u8)).unwrap();
            seqs[l] = seqs[l].wrapping_add(1);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let layers_of = |pkts: &[Vec<u8>]| pkts.iter().map(|d| RtpPacket::parse(d).unwrap().payload()[2]).collect::<Vec<u8>>();

    // All three layers flow; the top one becomes the target once the engine sees it active.
    for _ in 0..30 {
        send_round(&[0, 1, 2], false);
    }
    let before_key = sink.collect_rtp(100, Duration::from_millis(300));
    assert!(before_key.is_empty(), "nothing is forwarded before a key frame of the target layer, got {:?}", layers_of(&before_key));
    send_round(&[0, 1, 2], true);
    for _ in 0..10 {
        send_round(&[0, 1, 2], false);
    }
    let top = sink.collect_rtp(11, Duration::from_secs(2));
    assert_eq!(layers_of(&top), vec![2; 11], "only the top layer, from its key frame on");
    std::thread::sleep(Duration::from_millis(250)); // layerschange is reported from the worker tick
    assert_eq!(consumer.current_layers().map(|l| l.spatial_layer), Some(2), "currentLayers after the switch");

    // The top layer stops: after the active window the consumer targets layer 1 and switches at
    // its next key frame.
    for _ in 0..200 {
        send_round(&[0, 1], false);
    }
    let gap = sink.collect_rtp(100, Duration::from_millis(200));
    assert!(gap.is_empty(), "no delta frames of another layer before its key frame: {:?}", layers_of(&gap));
    send_round(&[0, 1], true);
    for _ in 0..5 {
        send_round(&[0, 1], false);
    }
    let mid = sink.collect_rtp(6, Duration::from_secs(2));
    assert_eq!(layers_of(&mid), vec![1; 6], "switched down to layer 1 at its key frame");
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(consumer.current_layers().map(|l| l.spatial_layer), Some(1), "currentLayers after switching down");
    let changes: Vec<Option<u8>> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::LayersChange { layers } if e.target_id == consumer.id() => Some(layers.map(|l| l.spatial_layer)),
            _ => None,
        })
        .collect();
    assert_eq!(changes, vec![Some(2), Some(1)], "layerschange events");
    let last_top = RtpPacket::parse(top.last().unwrap()).unwrap().sequence_number();
    assert_eq!(RtpPacket::parse(&mid[0]).unwrap().sequence_number(), last_top.wrapping_add(1), "sequence continues across the switch");

    // A preferred lower layer is honoured.
    consumer.set_preferred_layers_blocking(ConsumerLayers { spatial_layer: 0, temporal_layer: None }).unwrap();
    for _ in 0..20 {
        send_round(&[0, 1], false);
    }
    send_round(&[0, 1], true);
    let low = sink.collect_rtp(50, Duration::from_millis(500));
    assert_eq!(layers_of(&low).last(), Some(&0), "preferred spatial layer 0: {:?}", layers_of(&low));
    worker.close();
}
