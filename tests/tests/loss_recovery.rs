//! Loss recovery on real sockets: the engine NACKs gaps from a publisher and restores its RTX,
//! and answers a receiver's NACK with RTX built from what it sent.

use std::net::UdpSocket;
use std::time::Duration;

use serde_json::json;
use sfu_core::rtp::nack::{parse_nack, write_nack};
use sfu_core::rtp::rtcp::compound;
use sfu_core::rtp::RtpPacket;
use sfu_core::*;
use sfu_tests::*;

fn vp8(seq: u16, ssrc: u32, pt: u8) -> Vec<u8> {
    rtp(pt, seq, seq as u32 * 3000, ssrc, &[], &[0x10, if seq == 0 { 0x00 } else { 0x01 }, seq as u8, (seq >> 8) as u8])
}

#[tokio::test(flavor = "current_thread")]
async fn gaps_from_the_publisher_are_nacked_and_its_rtx_is_forwarded_as_the_original() {
    let (worker, router, pt) = comedia_room().await;
    let producer = pt
        .produce(from_json("o", json!({ "kind": "video", "rtpParameters": {
            "codecs": [
                { "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "rtcpFeedback": [{ "type": "nack" }, { "type": "nack", "parameter": "pli" }] },
                { "mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000, "parameters": { "apt": 96 } }],
            "encodings": [{ "ssrc": 7000, "rtx": { "ssrc": 7001 } }] } })).unwrap())
        .await
        .unwrap();
    let sink = Sink::new();
    let ct = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap()).await.unwrap();
    ct.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(sink.port()), ..Default::default() }).await.unwrap();
    let _consumer = ct.consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities() })).unwrap()).await.unwrap();

    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    tx.connect(("127.0.0.1", pt.tuple().local_port)).unwrap();
    for seq in (0..10u16).filter(|s| *s != 5) {
        tx.send(&vp8(seq, 7000, 96)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    // The engine asks for 5.
    let mut buf = [0u8; 1500];
    let mut asked = vec![];
    for _ in 0..40 {
        if let Ok(n) = tx.recv(&mut buf) {
            for p in compound(&buf[..n]) {
                if p.packet_type == 205 && p.count == 1 {
                    assert_eq!(parse_nack(p.data, &mut asked), Some(7000));
                }
            }
        }
        if !asked.is_empty() {
            break;
        }
    }
    assert!(asked.contains(&5), "NACK for the missing packet, got {asked:?}");
    // The publisher answers with RTX (own SSRC/PT/seq, OSN first in the payload).
    let original = vp8(5, 7000, 96);
    let mut rtx = original[..12].to_vec();
    rtx[1] = 97;
    rtx[2..4].copy_from_slice(&900u16.to_be_bytes());
    rtx[8..12].copy_from_slice(&7001u32.to_be_bytes());
    rtx.extend_from_slice(&5u16.to_be_bytes());
    rtx.extend_from_slice(&original[12..]);
    tx.send(&rtx).unwrap();
    let got = sink.collect_rtp(10, Duration::from_secs(2));
    let payloads: Vec<u8> = got.iter().map(|d| RtpPacket::parse(d).unwrap().payload()[2]).collect();
    assert!(payloads.contains(&5), "the restored packet 5 reaches the consumer: {payloads:?}");
    let stats = producer.get_stats().await.unwrap();
    assert_eq!(stats[0]["packetsRepaired"], 1, "{stats}");
    assert!(stats[0]["nackCount"].as_u64().unwrap() >= 1, "{stats}");

    // RTX nobody asked for (a bandwidth probe resending packet 3, or a second copy of 5) is
    // not forwarded again.
    for (osn, rtx_seq) in [(3u16, 901u16), (5, 902)] {
        let original = vp8(osn, 7000, 96);
        let mut rtx = original[..12].to_vec();
        rtx[1] = 97;
        rtx[2..4].copy_from_slice(&rtx_seq.to_be_bytes());
        rtx[8..12].copy_from_slice(&7001u32.to_be_bytes());
        rtx.extend_from_slice(&osn.to_be_bytes());
        rtx.extend_from_slice(&original[12..]);
        tx.send(&rtx).unwrap();
    }
    assert!(sink.collect_rtp(1, Duration::from_millis(400)).is_empty(), "duplicates forwarded");
    let stats = producer.get_stats().await.unwrap();
    assert_eq!(stats[0]["rtxPacketsDiscarded"], 2, "{stats}");
    assert_eq!(stats[0]["packetsRepaired"], 1, "{stats}");
    worker.close();
}

#[tokio::test(flavor = "current_thread")]
async fn a_receivers_nack_is_answered_with_rtx_carrying_the_original_packet() {
    let (worker, router, pt) = comedia_room().await;
    let producer = pt
        .produce(from_json("o", json!({ "kind": "video", "rtpParameters": {
            "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000 }],
            "encodings": [{ "ssrc": 8000 }] } })).unwrap())
        .await
        .unwrap();
    let sink = Sink::new();
    let ct = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap()).await.unwrap();
    ct.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(sink.port()), ..Default::default() }).await.unwrap();
    let consumer = ct.consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities() })).unwrap()).await.unwrap();
    let params = consumer.rtp_parameters().clone();
    let (ssrc, rtx_ssrc) = (params.encodings[0].ssrc.unwrap(), params.encodings[0].rtx.unwrap().ssrc);
    let rtx_pt = params.codecs.iter().find(|c| c.mime_type == "video/rtx").unwrap().payload_type;

    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(("127.0.0.1", pt.tuple().local_port)).unwrap();
    for seq in 0..10u16 {
        tx.send(&vp8(seq, 8000, 96)).unwrap();
    }
    let sent = sink.collect_rtp(10, Duration::from_secs(2));
    assert_eq!(sent.len(), 10);
    let lost = RtpPacket::parse(&sent[3]).unwrap();
    let mut nack = vec![];
    write_nack(&mut nack, 1, ssrc, &[lost.sequence_number()], 1200);
    // The receiver repeats its NACK at once: the repeat comes within a round trip (unknown
    // here: 50 ms assumed) of the answer, which is on its way, so it is not answered again.
    sink.socket.send_to(&nack[0], ("127.0.0.1", ct.tuple().local_port)).unwrap();
    sink.socket.send_to(&nack[0], ("127.0.0.1", ct.tuple().local_port)).unwrap();
    // (Sender reports may arrive in between: plain transports send them too.)
    let rtx = sink.collect_rtp(1, Duration::from_secs(2)).pop().expect("an RTX answer");
    let r = RtpPacket::parse(&rtx).unwrap();
    assert_eq!((r.ssrc(), r.payload_type()), (rtx_ssrc, rtx_pt), "RTX stream of the consumer");
    assert_eq!(&r.payload()[..2], &lost.sequence_number().to_be_bytes(), "OSN");
    assert_eq!(&r.payload()[2..], lost.payload(), "original payload");
    assert_eq!(r.timestamp(), lost.timestamp());
    assert!(sink.collect_rtp(1, Duration::from_millis(300)).is_empty(), "the repeated NACK was not answered");
    let stats = consumer.get_stats().await.unwrap();
    assert_eq!((stats[0]["nackCount"].as_u64(), stats[0]["packetsRetransmitted"].as_u64()), (Some(2), Some(1)), "{stats}");
    // Later than a round trip, the packet is resent again (the first copy may have been lost).
    sink.socket.send_to(&nack[0], ("127.0.0.1", ct.tuple().local_port)).unwrap();
    let again = sink.collect_rtp(1, Duration::from_secs(2)).pop().expect("a second RTX answer");
    assert_eq!(RtpPacket::parse(&again).unwrap().payload(), r.payload());
    let stats = consumer.get_stats().await.unwrap();
    assert_eq!((stats[0]["nackCount"].as_u64(), stats[0]["packetsRetransmitted"].as_u64()), (Some(3), Some(2)), "{stats}");
    worker.close();
}
