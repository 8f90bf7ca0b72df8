//! Temporal and spatial layer dropping on real sockets: a VP8 simulcast consumer at temporal
//! layer 0 gets only TL0 frames with continuous sequence numbers and picture ids, and climbs at a
//! layer-sync frame; a VP9 SVC consumer at spatial layer 0 gets only the base layer, marked as
//! complete pictures.

use std::net::UdpSocket;
use std::time::Duration;

use serde_json::json;
use sfu_core::rtp::RtpPacket;
use sfu_core::*;
use sfu_tests::*;

/// VP8 payload: X=1 S=1, I (15-bit picture id), L (TL0PICIDX), T (TID, Y), then the VP8 header.
fn vp8_payload(picture_id: u16, tl0: u8, tid: u8, sync: bool, key: bool) -> Vec<u8> {
    vec![0x90, 0xe0, 0x80 | (picture_id >> 8) as u8, picture_id as u8, tl0, (tid << 6) | if sync { 0x20 } else { 0 }, if key { 0x00 } else { 0x01 }, 0xaa]
}

/// VP9 payload, non-flexible mode with layer indices: I, P, L, B, E, 15-bit picture id, TID/U/SID/D, TL0PICIDX.
fn vp9_payload(picture_id: u16, sid: u8, tid: u8, inter: bool, begin: bool, end: bool) -> Vec<u8> {
    let b0 = 0x80 | if inter { 0x40 } else { 0 } | 0x20 | if begin { 0x08 } else { 0 } | if end { 0x04 } else { 0 };
    vec![b0, 0x80 | (picture_id >> 8) as u8, picture_id as u8, (tid << 5) | (sid << 1) | u8::from(sid > 0), 7, 0xbb]
}

fn vp8_picture_id(d: &[u8]) -> u16 {
    let pl = RtpPacket::parse(d).unwrap().payload();
    u16::from_be_bytes([pl[2] & 0x7f, pl[3]])
}

async fn setup(producer_params: serde_json::Value) -> (Worker, Router, PlainTransport, Producer, Sink, PlainTransport) {
    let (worker, router, pt) = comedia_room().await;
    let producer = pt.produce(from_json("o", json!({ "kind": "video", "rtpParameters": producer_params })).unwrap()).await.unwrap();
    let sink = Sink::new();
    let ct = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap()).await.unwrap();
    ct.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(sink.port()), ..Default::default() }).await.unwrap();
    (worker, router, pt, producer, sink, ct)
}

#[tokio::test(flavor = "current_thread")]
async fn vp8_temporal_layers_are_dropped_without_gaps_and_climbed_at_layer_sync() {
    let (worker, router, pt, producer, sink, ct) = setup(json!({
        "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000 }],
        "encodings": [{ "ssrc": 100, "scalabilityMode": "L1T3" }, { "ssrc": 200, "scalabilityMode": "L1T3" }] }))
    .await;
    let consumer = ct
        .consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities(),
            "preferredLayers": { "spatialLayer": 1, "temporalLayer": 0 } })).unwrap())
        .await
        .unwrap();
    assert_eq!(consumer.consumer_type(), ConsumerType::Simulcast);
    assert_eq!(consumer.rtp_parameters().encodings[0].scalability_mode.as_deref(), Some("L2T3"));
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(("127.0.0.1", pt.tuple().local_port)).unwrap();

    // Encoding 1, L1T3 pattern 0,2,1,2,0,…: one packet per frame; the first is a key frame.
    let tids = [0u8, 2, 1, 2];
    let mut seq = 1000u16;
    let mut send = |frame: u16, sync: bool| {
        let tid = tids[frame as usize % 4];
        let tl0 = (frame / 4) as u8;
        tx.send(&rtp(96, seq, frame as u32 * 3000, 200, &[], &vp8_payload(3000 + frame, tl0, tid, sync, frame == 0))).unwrap();
        seq = seq.wrapping_add(1);
    };
    for f in 0..12 {
        send(f, false);
    }
    let got = sink.collect_rtp(12, Duration::from_millis(800));
    assert_eq!(got.len(), 3, "only the three TL0 frames of twelve");
    let seqs: Vec<u16> = got.iter().map(|d| RtpPacket::parse(d).unwrap().sequence_number()).collect();
    assert_eq!(seqs, vec![seqs[0], seqs[0].wrapping_add(1), seqs[0].wrapping_add(2)], "no sequence gaps for dropped frames");
    let pids: Vec<u16> = got.iter().map(|d| vp8_picture_id(d)).collect();
    assert!(pids.windows(2).all(|w| w[1] > w[0]), "picture ids increase: {pids:?}");
    assert_eq!(consumer.current_layers(), Some(ConsumerLayers { spatial_layer: 1, temporal_layer: Some(0) }));

    // Up to temporal layer 2: frames pass from the next layer-sync frame on.
    consumer.set_preferred_layers_blocking(ConsumerLayers { spatial_layer: 1, temporal_layer: Some(2) }).unwrap();
    send(12, false); // TL0 (passes)
    send(13, false); // TL2 without sync: still dropped
    send(14, false); // TL1 without sync: still dropped
    send(15, true); // TL2 with the layer-sync bit: climbs
    send(16, false);
    send(17, false);
    let got = sink.collect_rtp(6, Duration::from_millis(800));
    let got_pids: Vec<u16> = got.iter().map(|d| vp8_picture_id(d)).collect();
    assert_eq!(got.len(), 4, "TL0, then the sync frame and all after it: {got_pids:?}");
    let seqs: Vec<u16> = got.iter().map(|d| RtpPacket::parse(d).unwrap().sequence_number()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)), "{seqs:?}");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(consumer.current_layers(), Some(ConsumerLayers { spatial_layer: 1, temporal_layer: Some(2) }));

    // Down again: from the next frame start on, and currentLayers says so (the switch happens on
    // a dropped frame).
    consumer.set_preferred_layers_blocking(ConsumerLayers { spatial_layer: 1, temporal_layer: Some(0) }).unwrap();
    send(18, false); // TL1: dropped
    send(19, false); // TL2: dropped
    send(20, false); // TL0
    let got = sink.collect_rtp(3, Duration::from_millis(800));
    assert_eq!(got.iter().map(|d| vp8_picture_id(d)).count(), 1);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(consumer.current_layers(), Some(ConsumerLayers { spatial_layer: 1, temporal_layer: Some(0) }));

    // The producer's stats break the arriving stream down by layer (cumulative up to T).
    for f in 21..25 {
        send(f, false);
    }
    sink.collect_rtp(1, Duration::from_millis(300));
    let stats = producer.get_stats().await.unwrap();
    let by_layer = &stats.as_array().unwrap().iter().find(|s| s["ssrc"] == 200).unwrap()["bitrateByLayer"];
    let (l0, l1, l2) = (by_layer["0.0"].as_u64().unwrap(), by_layer["0.1"].as_u64().unwrap(), by_layer["0.2"].as_u64().unwrap());
    assert!(l0 > 0 && l1 > l0 && l2 > l1, "{by_layer}");
    worker.close();
}

#[tokio::test(flavor = "current_thread")]
async fn vp9_svc_consumer_forwards_the_base_spatial_layer_as_complete_pictures() {
    let (worker, router, pt, producer, sink, ct) = setup(json!({
        "codecs": [{ "mimeType": "video/VP9", "payloadType": 98, "clockRate": 90000, "parameters": { "profile-id": 0 } }],
        "encodings": [{ "ssrc": 300, "scalabilityMode": "L3T3_KEY" }] }))
    .await;
    assert_eq!(producer.producer_type(), ProducerType::Svc);
    let consumer = ct
        .consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities(),
            "preferredLayers": { "spatialLayer": 0 } })).unwrap())
        .await
        .unwrap();
    assert_eq!(consumer.consumer_type(), ConsumerType::Svc);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(("127.0.0.1", pt.tuple().local_port)).unwrap();
    // Four pictures of three spatial layers, two packets per layer frame; the first picture is a
    // key picture; the marker is only on the top layer's last packet, as the publisher sends it.
    let mut seq = 10u16;
    for pic in 0..4u16 {
        for sid in 0..3u8 {
            for part in 0..2 {
                let payload = vp9_payload(500 + pic, sid, 0, pic > 0, part == 0, part == 1);
                let mut pkt = rtp(98, seq, pic as u32 * 3000, 300, &[], &payload);
                if sid == 2 && part == 1 {
                    pkt[1] |= 0x80;
                }
                tx.send(&pkt).unwrap();
                seq += 1;
            }
        }
    }
    let got = sink.collect_rtp(24, Duration::from_millis(800));
    assert_eq!(got.len(), 8, "two packets of the base layer per picture");
    for (i, d) in got.iter().enumerate() {
        let p = RtpPacket::parse(d).unwrap();
        let sid = (p.payload()[3] >> 1) & 0x07;
        assert_eq!(sid, 0);
        assert_eq!(p.marker(), i % 2 == 1, "the base layer's end of frame is the end of the picture");
    }
    let seqs: Vec<u16> = got.iter().map(|d| RtpPacket::parse(d).unwrap().sequence_number()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)), "{seqs:?}");
    tokio::time::sleep(Duration::from_millis(250)).await;
    // The pictures are all temporal layer 0: that is what went out (the target allows 2), and
    // what is reported, as mediasoup reports the layers of the packets it forwarded.
    assert_eq!(consumer.current_layers(), Some(ConsumerLayers { spatial_layer: 0, temporal_layer: Some(0) }));
    worker.close();
}

#[tokio::test(flavor = "current_thread")]
async fn retransmissions_carry_the_rewritten_picture_id_after_a_layer_switch() {
    let (worker, router, pt, producer, sink, ct) = setup(json!({
        "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "rtcpFeedback": [{ "type": "nack" }] }],
        "encodings": [{ "ssrc": 100, "scalabilityMode": "L1T3" }, { "ssrc": 200, "scalabilityMode": "L1T3" }] }))
    .await;
    let consumer = ct
        .consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities(),
            "preferredLayers": { "spatialLayer": 0 } })).unwrap())
        .await
        .unwrap();
    let params = consumer.rtp_parameters().clone();
    let (ssrc, rtx_ssrc) = (params.encodings[0].ssrc.unwrap(), params.encodings[0].rtx.unwrap().ssrc);
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(("127.0.0.1", pt.tuple().local_port)).unwrap();
    // Encoding 0 numbers its pictures from 10, encoding 1 from 7000: after the switch the
    // consumer rewrites encoding 1's ids to continue encoding 0's.
    for f in 0..3u16 {
        tx.send(&rtp(96, 10 + f, f as u32 * 3000, 100, &[], &vp8_payload(10 + f, f as u8, 0, false, f == 0))).unwrap();
        tx.send(&rtp(96, 500 + f, f as u32 * 3000, 200, &[], &vp8_payload(7000 + f, f as u8, 0, false, f == 0))).unwrap();
    }
    assert_eq!(sink.collect_rtp(3, Duration::from_secs(1)).len(), 3);
    consumer.set_preferred_layers_blocking(ConsumerLayers { spatial_layer: 1, temporal_layer: None }).unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    for f in 3..6u16 {
        tx.send(&rtp(96, 500 + f, f as u32 * 3000, 200, &[], &vp8_payload(7000 + f, f as u8, 0, false, f == 3))).unwrap();
    }
    let sent = sink.collect_rtp(3, Duration::from_secs(1));
    assert_eq!(sent.len(), 3);
    let pids: Vec<u16> = sent.iter().map(|d| vp8_picture_id(d)).collect();
    assert_eq!(pids, vec![13, 14, 15], "picture ids continue across the switch");
    let lost = RtpPacket::parse(&sent[1]).unwrap();
    let mut nack = vec![];
    sfu_core::rtp::nack::write_nack(&mut nack, 1, ssrc, &[lost.sequence_number()], 1200);
    sink.socket.send_to(&nack[0], ("127.0.0.1", ct.tuple().local_port)).unwrap();
    let rtx = sink.collect_rtp(1, Duration::from_secs(1)).pop().expect("an RTX answer");
    let r = RtpPacket::parse(&rtx).unwrap();
    assert_eq!(r.ssrc(), rtx_ssrc);
    assert_eq!(&r.payload()[2..], lost.payload(), "the retransmission is the packet as it was sent (picture id 14)");
    assert_eq!(r.marker(), lost.marker());
    worker.close();
}
