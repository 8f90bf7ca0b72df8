//! Pipe transports between two workers over loopback UDP with SRTP: a simulcast producer on
//! worker A is consumed through a pipe consumer and recreated on worker B with the same id; B's
//! consumers get its media, key frame requests travel back to A's publisher per encoding, and
//! data messages cross the pipe over SCTP.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sfu_core::rtp::rtcp::{compound, write_pli};
use sfu_core::rtp::RtpPacket;
use sfu_core::*;
use sfu_tests::*;

fn vp8(seq: u16, ssrc: u32, key: bool) -> Vec<u8> {
    rtp(96, seq, seq as u32 * 3000, ssrc, &[], &[0x10, if key { 0x00 } else { 0x01 }, seq as u8, 0xcc])
}

/// How the two routers' pipe transports are linked.
#[derive(Clone, Copy, PartialEq)]
enum Link {
    /// Loopback UDP, with SRTP or not.
    Udp { srtp: bool },
    /// In memory, between the two workers' threads.
    Memory,
}

async fn pipe_pair(a: &Router, b: &Router, link: Link, sctp: bool) -> (PipeTransport, PipeTransport) {
    let srtp = link == Link::Udp { srtp: true };
    let o = json!({ "listenInfo": { "ip": "127.0.0.1" }, "enableSrtp": srtp, "enableSctp": sctp });
    let ta = a.create_pipe_transport(from_json("o", o.clone()).unwrap()).await.unwrap();
    let tb = b.create_pipe_transport(from_json("o", o).unwrap()).await.unwrap();
    if link == Link::Memory {
        ta.link_local_blocking(&tb).unwrap();
        return (ta, tb);
    }
    let connect = |t: &PipeTransport| PlainTransportConnect {
        ip: Some("127.0.0.1".into()),
        port: Some(t.tuple().local_port),
        srtp_parameters: t.srtp_parameters().cloned(),
        ..Default::default()
    };
    ta.connect(connect(&tb)).await.unwrap();
    tb.connect(connect(&ta)).await.unwrap();
    (ta, tb)
}

#[tokio::test(flavor = "current_thread")]
async fn simulcast_media_and_key_frame_requests_cross_an_srtp_pipe_between_workers() {
    media_and_key_frames_cross(Link::Udp { srtp: true }).await;
}

#[tokio::test(flavor = "current_thread")]
async fn simulcast_media_and_key_frame_requests_cross_an_in_memory_pipe_between_workers() {
    media_and_key_frames_cross(Link::Memory).await;
}

async fn media_and_key_frames_cross(link: Link) {
    let (wa, wb) = (Worker::new(WorkerSettings::default()).unwrap(), Worker::new(WorkerSettings::default()).unwrap());
    let ra = wa.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let rb = wb.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let pt = ra.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" }, "comedia": true })).unwrap()).await.unwrap();
    let producer = pt
        .produce(from_json("o", json!({ "kind": "video", "rtpParameters": {
            "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "rtcpFeedback": [{ "type": "nack", "parameter": "pli" }] }],
            "encodings": [{ "ssrc": 100 }, { "ssrc": 200 }] } })).unwrap())
        .await
        .unwrap();

    let (ta, tb) = pipe_pair(&ra, &rb, link, false).await;
    if link == (Link::Udp { srtp: true }) {
        assert_eq!(ta.srtp_parameters().unwrap().crypto_suite, "AEAD_AES_256_GCM");
    }
    let e = ta.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(1), ..Default::default() }).await.unwrap_err();
    assert_eq!(e.js_name(), "InvalidStateError", "connect twice");

    let pipe_consumer = ta.consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": ra.rtp_capabilities() })).unwrap()).await.unwrap();
    assert_eq!(pipe_consumer.consumer_type(), ConsumerType::Pipe);
    let params = pipe_consumer.rtp_parameters().clone();
    assert_eq!(params.encodings.len(), 2, "every layer crosses");
    let pipe_producer = tb
        .produce(from_json("o", json!({ "id": producer.id(), "kind": "video", "rtpParameters": params })).unwrap())
        .await
        .unwrap();
    assert_eq!(pipe_producer.id(), producer.id());
    assert_eq!(pipe_producer.producer_type(), ProducerType::Simulcast);

    // A viewer on worker B.
    let sink = Sink::new();
    let ct = rb.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap()).await.unwrap();
    ct.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(sink.port()), ..Default::default() }).await.unwrap();
    let viewer = ct.consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": rb.rtp_capabilities() })).unwrap()).await.unwrap();
    let vssrc = viewer.rtp_parameters().encodings[0].ssrc.unwrap();

    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    tx.connect(("127.0.0.1", pt.tuple().local_port)).unwrap();
    for seq in 0..6u16 {
        tx.send(&vp8(seq, 100, seq == 0)).unwrap();
        tx.send(&vp8(1000 + seq, 200, seq == 0)).unwrap();
    }
    let got = sink.collect_rtp(6, Duration::from_secs(2));
    assert!(got.len() >= 5, "the viewer on worker B receives the piped video: {} packets", got.len());
    let first = RtpPacket::parse(&got[0]).unwrap();
    assert_eq!(first.ssrc(), vssrc);
    assert_eq!(first.payload()[3], 0xcc);

    // The viewer asks for a key frame: it reaches A's publisher as a PLI for the layer it gets.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut pli = vec![];
    write_pli(&mut pli, 1, vssrc);
    sink.socket.send_to(&pli, ("127.0.0.1", ct.tuple().local_port)).unwrap();
    let mut buf = [0u8; 1500];
    let mut pli_for = vec![];
    for _ in 0..40 {
        if let Ok(n) = tx.recv(&mut buf) {
            pli_for.extend(compound(&buf[..n]).filter(|p| p.is_pli()).filter_map(|p| p.media_ssrc()));
        }
        if !pli_for.is_empty() {
            break;
        }
    }
    assert!(pli_for.contains(&200) || pli_for.contains(&100), "PLI crossed the pipe back to the publisher: {pli_for:?}");
    // The pipe consumer sends a sender report per stream (as mediasoup's PipeConsumer does): B's
    // producer answers with receiver reports that carry LSR/DLSR, so A learns the pipe's RTT.
    let mut rtt = None;
    for _ in 0..40 {
        let s = pipe_consumer.get_stats().await.unwrap();
        rtt = s[0].get("roundTripTime").and_then(|v| v.as_f64());
        if rtt.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rtt = rtt.expect("a round-trip time from the far producer's receiver reports");
    assert!((0.0..1000.0).contains(&rtt), "{rtt} ms");
    let stats = tb.get_stats().await.unwrap();
    assert_eq!(stats[0]["type"], "pipe-transport");
    assert!(stats[0]["rtpBytesReceived"].as_u64().unwrap() > 0, "{stats}");
    let dump = ta.dump().await.unwrap();
    assert_eq!(dump["srtpParameters"]["keyBase64"].is_string(), link == (Link::Udp { srtp: true }), "{dump}");
    wa.close();
    wb.close();
}

#[tokio::test(flavor = "current_thread")]
async fn data_messages_cross_a_pipe_over_sctp() {
    data_crosses(Link::Udp { srtp: false }).await;
}

#[tokio::test(flavor = "current_thread")]
async fn data_messages_cross_an_in_memory_pipe_over_sctp() {
    data_crosses(Link::Memory).await;
}

async fn data_crosses(link: Link) {
    let (wa, wb) = (Worker::new(WorkerSettings::default()).unwrap(), Worker::new(WorkerSettings::default()).unwrap());
    let events = Arc::new(Mutex::new(vec![]));
    let ev2 = events.clone();
    wb.subscribe(move |e| ev2.lock().unwrap().push(e.clone())).detach();
    let ra = wa.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let rb = wb.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let (ta, tb) = pipe_pair(&ra, &rb, link, true).await;
    assert!(ta.sctp_parameters().is_some());
    let da = ra.create_direct_transport(DirectTransportOptions::default()).await.unwrap();
    let source = da.produce_data_blocking(from_json("o", json!({ "label": "chat" })).unwrap()).unwrap();
    let pipe_dc = ta.consume_data_blocking(from_json("o", json!({ "dataProducerId": source.id() })).unwrap()).unwrap();
    let sp = pipe_dc.sctp_stream_parameters().unwrap();
    let pipe_dp = tb
        .produce_data_blocking(from_json("o", json!({ "id": source.id(), "label": "chat", "sctpStreamParameters": sp })).unwrap())
        .unwrap();
    let db = rb.create_direct_transport(DirectTransportOptions::default()).await.unwrap();
    let sink = db.consume_data_blocking(from_json("o", json!({ "dataProducerId": pipe_dp.id() })).unwrap()).unwrap();
    // Wait for the association, then send.
    let sink_id = sink.id().to_owned();
    let mut delivered = false;
    // (Up to 10 s: on a loaded machine the association may need an INIT retransmission.)
    for i in 0..200 {
        let _ = source.send_blocking(ppid::STRING, format!("hello {i}").into_bytes(), None, None);
        tokio::time::sleep(Duration::from_millis(50)).await;
        delivered = events.lock().unwrap().iter().any(|e| e.target_id == sink_id && matches!(&e.kind, EventKind::Message { .. }));
        if delivered {
            break;
        }
    }
    assert!(delivered, "a message crossed the pipe");
    let big = vec![7u8; 100_000];
    source.send_blocking(ppid::BINARY, big.clone(), None, None).unwrap();
    let mut got_big = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        got_big = events.lock().unwrap().iter().any(|e| e.target_id == sink_id && matches!(&e.kind, EventKind::Message { ppid: 53, message } if *message == big));
        if got_big {
            break;
        }
    }
    assert!(got_big, "a 100 KB message crossed intact");
    wa.close();
    wb.close();
}

#[tokio::test(flavor = "current_thread")]
async fn data_messages_cross_between_plain_transports_with_sctp() {
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let events = Arc::new(Mutex::new(vec![]));
    let ev2 = events.clone();
    worker.subscribe(move |e| ev2.lock().unwrap().push(e.clone())).detach();
    let router = worker.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let o = json!({ "listenInfo": { "ip": "127.0.0.1" }, "enableSctp": true, "numSctpStreams": { "OS": 8, "MIS": 8 } });
    let ta = router.create_plain_transport(from_json("o", o.clone()).unwrap()).await.unwrap();
    let tb = router.create_plain_transport(from_json("o", o).unwrap()).await.unwrap();
    assert_eq!(ta.sctp_parameters().unwrap()["OS"], 8);
    for (t, far) in [(&ta, &tb), (&tb, &ta)] {
        t.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(far.tuple().local_port), ..Default::default() }).await.unwrap();
    }
    // A direct data producer -> an SCTP data consumer on ta -> a data producer on tb (same stream)
    // -> a direct data consumer.
    let direct = router.create_direct_transport(DirectTransportOptions::default()).await.unwrap();
    let source = direct.produce_data_blocking(from_json("o", json!({ "label": "x" })).unwrap()).unwrap();
    let dc = ta.consume_data_blocking(from_json("o", json!({ "dataProducerId": source.id() })).unwrap()).unwrap();
    let dp = tb.produce_data_blocking(from_json("o", json!({ "label": "x", "sctpStreamParameters": dc.sctp_stream_parameters().unwrap() })).unwrap()).unwrap();
    let sink = direct.consume_data_blocking(from_json("o", json!({ "dataProducerId": dp.id() })).unwrap()).unwrap();
    let sink_id = sink.id().to_owned();
    let mut delivered = false;
    for i in 0..200 {
        let _ = source.send_blocking(ppid::STRING, format!("m{i}").into_bytes(), None, None);
        tokio::time::sleep(Duration::from_millis(50)).await;
        delivered = events.lock().unwrap().iter().any(|e| e.target_id == sink_id && matches!(&e.kind, EventKind::Message { .. }));
        if delivered {
            break;
        }
    }
    assert!(delivered, "a message crossed between the plain transports");
    let states: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::SctpStateChange { sctp_state } if e.target_id == ta.id() => Some(sctp_state.clone()),
            _ => None,
        })
        .collect();
    assert!(states.contains(&"connected".to_owned()), "{states:?}");
    worker.close();
}

/// The remote's MIS bounds the streams a transport sends on, its OS those it receives on: once
/// the association is up, consumeData() assigns stream ids below the remote's MIS and past them
/// fails naming the limit, produceData() refuses a stream id at or above the remote's OS;
/// getStats() counts DATA the remote sent on streams it was not granted (none here).
#[tokio::test(flavor = "current_thread")]
async fn consume_data_stays_within_the_remotes_inbound_streams() {
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let events = Arc::new(Mutex::new(vec![]));
    let ev2 = events.clone();
    worker.subscribe(move |e| ev2.lock().unwrap().push(e.clone())).detach();
    let router = worker.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let plain = |os: u16, mis: u16| json!({ "listenInfo": { "ip": "127.0.0.1" }, "enableSctp": true, "numSctpStreams": { "OS": os, "MIS": mis } });
    let ta = router.create_plain_transport(from_json("o", plain(8, 8)).unwrap()).await.unwrap();
    let tb = router.create_plain_transport(from_json("o", plain(3, 2)).unwrap()).await.unwrap();
    for (t, far) in [(&ta, &tb), (&tb, &ta)] {
        t.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(far.tuple().local_port), ..Default::default() }).await.unwrap();
    }
    let direct = router.create_direct_transport(DirectTransportOptions::default()).await.unwrap();
    let source = direct.produce_data_blocking(from_json("o", json!({ "label": "x" })).unwrap()).unwrap();
    let consume = || ta.consume_data_blocking(from_json("o", json!({ "dataProducerId": source.id() })).unwrap());
    // Wait for the association (a DataConsumer made now may still get a stream tb refuses).
    let connected = || events.lock().unwrap().iter().any(|e| e.target_id == ta.id() && matches!(&e.kind, EventKind::SctpStateChange { sctp_state } if sctp_state == "connected"));
    for _ in 0..250 {
        if connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(connected(), "the association came up");
    let ids: Vec<u16> = (0..2).map(|_| consume().unwrap().sctp_stream_parameters().unwrap().stream_id).collect();
    assert_eq!(ids, vec![0, 1]);
    let err = consume().unwrap_err();
    assert!(matches!(err, Error::InvalidState(_)) && err.to_string().contains("accepts 2 streams"), "{err}");
    // tb sends on at most 3 streams (its OS; rtc-sctp's INIT ACK can lower it to 2), below ta's
    // MIS of 8: a data producer on ta's stream 5 would never get a message.
    let produce = |id: u16| ta.produce_data_blocking(from_json("o", json!({ "label": "in", "sctpStreamParameters": { "streamId": id, "ordered": true } })).unwrap());
    let err = produce(5).unwrap_err();
    assert!(matches!(err, Error::Type(_)) && err.to_string().contains("streamId 5 out of range (the remote sends on"), "{err}");
    let inbound = produce(1).unwrap();
    // dump(): mediasoup's sctpParameters (OS now the negotiated count), sctpState, sctpListener.
    let d = ta.dump().await.unwrap();
    assert_eq!((d["sctpParameters"]["OS"].as_u64(), d["sctpParameters"]["MIS"].as_u64()), (Some(2), Some(8)), "{d}");
    assert_eq!(d["sctpState"], "connected");
    assert_eq!(d["sctpListener"]["streamIdTable"], json!([{ "key": 1, "value": inbound.id() }]));
    let stats = ta.get_stats().await.unwrap();
    assert_eq!(stats[0]["sctpInvalidStreamChunks"], 0, "{stats}");
    worker.close();
}
