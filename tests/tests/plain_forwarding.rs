//! RTP sent over loopback UDP into a plain-transport producer reaches every plain-transport
//! consumer rewritten as each consumer's `rtpParameters` announce.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sfu_core::rtp::RtpPacket;
use sfu_core::*;
use sfu_tests::*;

const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

fn audio_producer_options(ssrc: u32) -> ProducerOptions {
    from_json(
        "options",
        json!({
            "kind": "audio",
            "rtpParameters": {
                "mid": "0",
                "codecs": [{ "mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2,
                             "parameters": { "minptime": 10, "useinbandfec": 1 } }],
                "headerExtensions": [
                    { "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4 },
                    { "uri": AUDIO_LEVEL_URI, "id": 1 }
                ],
                "encodings": [{ "ssrc": ssrc }],
                "rtcp": { "cname": "test" }
            },
            "appData": { "label": "mic" }
        }),
    )
    .unwrap()
}

struct Room {
    worker: Worker,
    router: Router,
    producer_transport: PlainTransport,
    sender: UdpSocket,
}

async fn room() -> Room {
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let router = worker.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let producer_transport = router
        .create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" }, "comedia": true })).unwrap())
        .await
        .unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender.connect(("127.0.0.1", producer_transport.tuple().local_port)).unwrap();
    Room { worker, router, producer_transport, sender }
}

async fn consumer_endpoint(router: &Router, producer: &Producer, caps: serde_json::Value) -> (PlainTransport, Consumer, Sink) {
    let sink = Sink::new();
    let t = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap()).await.unwrap();
    t.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(sink.port()), ..Default::default() }).await.unwrap();
    let c = t
        .consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": caps })).unwrap())
        .await
        .unwrap();
    (t, c, sink)
}

fn send_burst(sender: &UdpSocket, ssrc: u32, seqs: std::ops::Range<u16>) {
    for seq in seqs {
        let ts = seq as u32 * 960;
        let payload = format!("pkt-{seq}");
        sender.send(&rtp(111, seq, ts, ssrc, &[(4, b"0"), (1, &[0x80 | 30])], payload.as_bytes())).unwrap();
        std::thread::sleep(Duration::from_micros(300));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn rtp_reaches_every_consumer_with_its_own_ssrc_pt_seq_and_timestamps() {
    let r = room().await;
    let producer = r.producer_transport.produce(audio_producer_options(1111)).await.unwrap();
    assert_eq!(producer.app_data().get()["label"], "mic", "appData kept on the handle");
    let clone = producer.clone();
    clone.app_data().set(serde_json::json!({ "label": "changed" }));
    assert_eq!(producer.app_data().get()["label"], "changed", "clones share appData");
    assert_eq!(r.router.app_data().get(), serde_json::json!({}), "no appData given: {{}}");
    let mut ends = vec![];
    for _ in 0..3 {
        ends.push(consumer_endpoint(&r.router, &producer, consumer_caps()).await);
    }
    send_burst(&r.sender, 1111, 100..130);

    let mut ssrcs = vec![];
    for (_, consumer, sink) in &ends {
        let got = sink.collect_rtp(30, Duration::from_secs(3));
        let params = consumer.rtp_parameters();
        let want_ssrc = params.encodings[0].ssrc.unwrap();
        let want_pt = params.codecs[0].payload_type;
        assert_eq!(got.len(), 30, "consumer {} received {} of 30 packets", consumer.id(), got.len());
        let pkts: Vec<RtpPacket> = got.iter().map(|d| RtpPacket::parse(d).expect("valid RTP")).collect();
        for (i, p) in pkts.iter().enumerate() {
            assert_eq!(p.ssrc(), want_ssrc, "ssrc of packet {i}");
            assert_eq!(p.payload_type(), want_pt, "payload type of packet {i}");
            assert_eq!(p.payload(), format!("pkt-{}", 100 + i).as_bytes(), "payload of packet {i}");
            if i > 0 {
                assert_eq!(p.sequence_number(), pkts[i - 1].sequence_number().wrapping_add(1), "seq continuity at {i}");
                assert_eq!(p.timestamp().wrapping_sub(pkts[i - 1].timestamp()), 960, "timestamp delta at {i}");
            }
        }
        // The consumer gets the router's ids: audio level only if its caps list it with that id.
        let has_level = params.header_extensions.iter().find(|e| e.uri == AUDIO_LEVEL_URI);
        match has_level {
            Some(e) => assert_eq!(pkts[0].extension(e.id), Some(&[0x80 | 30][..])),
            None => assert!(
                pkts[0].extensions().all(|(_, d)| d != [0x80 | 30]),
                "audio level must not reach a consumer that did not negotiate it"
            ),
        }
        // Every extension carried is one the consumer negotiated, and MID is the consumer's own.
        for (id, _) in pkts[0].extensions() {
            assert!(params.header_extensions.iter().any(|e| e.id == id), "extension id {id} not in consumer rtpParameters");
        }
        if let Some(mid_ext) = params.header_extensions.iter().find(|e| e.uri == "urn:ietf:params:rtp-hdrext:sdes:mid") {
            assert_eq!(pkts[0].extension(mid_ext.id), params.mid.as_deref().map(str::as_bytes), "consumer MID in the packet");
        }
        ssrcs.push(want_ssrc);
    }
    ssrcs.dedup();
    assert_eq!(ssrcs.len(), 3, "each consumer has its own SSRC");

    let stats = producer.get_stats().await.unwrap();
    assert_eq!(stats[0]["packetCount"], 30, "producer stats: {stats}");
    let cstats = ends[0].1.get_stats().await.unwrap();
    assert_eq!(cstats[0]["packetCount"], 30, "consumer stats: {cstats}");
    r.worker.close();
}

/// Packets arriving back to back are read in one receive loop turn, and their fan-out then
/// runs consumer by consumer at the turn's end: every consumer still gets every packet, in
/// order, with continuous sequence numbers.
#[tokio::test(flavor = "current_thread")]
async fn a_back_to_back_burst_reaches_every_consumer_whole_and_in_order() {
    let r = room().await;
    let producer = r.producer_transport.produce(audio_producer_options(1111)).await.unwrap();
    let mut ends = vec![];
    for _ in 0..4 {
        ends.push(consumer_endpoint(&r.router, &producer, consumer_caps()).await);
    }
    // (No pause between sends: the worker finds them queued together.)
    for seq in 500..560u16 {
        r.sender.send(&rtp(111, seq, seq as u32 * 960, 1111, &[(4, b"0")], format!("pkt-{seq}").as_bytes())).unwrap();
    }
    for (_, consumer, sink) in &ends {
        let got = sink.collect_rtp(60, Duration::from_secs(3));
        assert_eq!(got.len(), 60, "consumer {} received {} of 60 packets", consumer.id(), got.len());
        let pkts: Vec<RtpPacket> = got.iter().map(|d| RtpPacket::parse(d).unwrap()).collect();
        for (i, p) in pkts.iter().enumerate() {
            assert_eq!(p.payload(), format!("pkt-{}", 500 + i).as_bytes(), "packet {i} in order");
            if i > 0 {
                assert_eq!(p.sequence_number(), pkts[i - 1].sequence_number().wrapping_add(1), "seq continuity at {i}");
            }
        }
    }
    r.worker.close();
}

#[tokio::test(flavor = "current_thread")]
async fn nothing_arrives_while_paused_and_sequence_stays_continuous_after_resume() {
    let r = room().await;
    let events = Arc::new(Mutex::new(vec![]));
    let ev2 = events.clone();
    r.worker.subscribe(move |e| ev2.lock().unwrap().push(e.clone())).detach();
    let producer = r.producer_transport.produce(audio_producer_options(2222)).await.unwrap();
    let (_t, consumer, sink) = consumer_endpoint(&r.router, &producer, consumer_caps()).await;

    send_burst(&r.sender, 2222, 0..10);
    let before = sink.collect_rtp(10, Duration::from_secs(3));
    assert_eq!(before.len(), 10);
    let last_seq = RtpPacket::parse(before.last().unwrap()).unwrap().sequence_number();

    consumer.pause().await.unwrap();
    assert!(consumer.paused());
    send_burst(&r.sender, 2222, 10..20);
    let during = sink.collect_rtp(10, Duration::from_millis(400));
    assert!(during.is_empty(), "{} packets arrived while the consumer was paused", during.len());

    consumer.resume().await.unwrap();
    send_burst(&r.sender, 2222, 20..25);
    let after = sink.collect_rtp(5, Duration::from_secs(3));
    assert_eq!(after.len(), 5);
    let first_after = RtpPacket::parse(&after[0]).unwrap().sequence_number();
    assert_eq!(first_after, last_seq.wrapping_add(1), "no gap in sequence numbers across consumer pause/resume");

    producer.pause().await.unwrap();
    send_burst(&r.sender, 2222, 25..35);
    let during = sink.collect_rtp(10, Duration::from_millis(400));
    assert!(during.is_empty(), "{} packets arrived while the producer was paused", during.len());
    assert!(consumer.producer_paused());
    producer.resume().await.unwrap();
    send_burst(&r.sender, 2222, 35..40);
    let after2 = sink.collect_rtp(5, Duration::from_secs(3));
    assert_eq!(after2.len(), 5);
    let last_after = RtpPacket::parse(after.last().unwrap()).unwrap().sequence_number();
    assert_eq!(RtpPacket::parse(&after2[0]).unwrap().sequence_number(), last_after.wrapping_add(1), "no gap across producer pause/resume");

    let evs = events.lock().unwrap().clone();
    let kinds: Vec<&EventKind> = evs.iter().filter(|e| e.target_id == consumer.id()).map(|e| &e.kind).collect();
    assert!(kinds.contains(&&EventKind::ProducerPause) && kinds.contains(&&EventKind::ProducerResume), "consumer events: {kinds:?}");
    r.worker.close();
}

#[tokio::test(flavor = "current_thread")]
async fn comedia_transport_learns_its_tuple_from_the_first_packet() {
    let r = room().await;
    let events = Arc::new(Mutex::new(vec![]));
    let ev2 = events.clone();
    let _sub = r.worker.subscribe(move |e| ev2.lock().unwrap().push(e.clone()));
    let _producer = r.producer_transport.produce(audio_producer_options(3333)).await.unwrap();
    assert_eq!(r.producer_transport.tuple().remote_port, None);
    send_burst(&r.sender, 3333, 0..3);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let tuple = r.producer_transport.tuple();
    assert_eq!(tuple.remote_port, Some(r.sender.local_addr().unwrap().port()));
    assert!(events.lock().unwrap().iter().any(|e| matches!(e.kind, EventKind::Tuple { .. })), "tuple event");
    r.worker.close();
}

#[tokio::test(flavor = "current_thread")]
async fn closing_a_producer_closes_its_consumers_with_producerclose() {
    let r = room().await;
    let events = Arc::new(Mutex::new(vec![]));
    let ev2 = events.clone();
    let _sub = r.worker.subscribe(move |e| ev2.lock().unwrap().push(e.clone()));
    let producer = r.producer_transport.produce(audio_producer_options(4444)).await.unwrap();
    let (t, consumer, _sink) = consumer_endpoint(&r.router, &producer, consumer_caps()).await;
    producer.close();
    // Any round trip after the close has been processed.
    let dump = r.router.dump().await.unwrap();
    assert!(consumer.closed(), "consumer closed by the cascade; router dump {dump}");
    assert_eq!(t.dump().await.unwrap()["consumerIds"], json!([]));
    let evs = events.lock().unwrap().clone();
    assert!(
        evs.iter().any(|e| e.target_id == consumer.id()
            && e.kind == EventKind::Closed { object: ObjectKind::Consumer, reason: CloseReason::ProducerClosed }),
        "events: {evs:?}"
    );
    // Closing the router closes its transports.
    r.router.close();
    let _ = r.worker.dump().await.unwrap();
    assert!(t.closed() && r.producer_transport.closed());
    let err = t.dump().await.unwrap_err();
    assert!(matches!(err, Error::InvalidState(_)), "{err}");
    r.worker.close();
}

#[tokio::test(flavor = "current_thread")]
async fn a_panic_in_the_worker_is_reported_as_died_and_the_host_survives() {
    let r = room().await;
    let died = Arc::new(Mutex::new(None));
    let d2 = died.clone();
    r.worker
        .subscribe(move |e| {
            if let EventKind::Died { reason } = &e.kind {
                *d2.lock().unwrap() = Some(reason.clone());
            }
        })
        .detach();
    r.worker.inject_panic_for_tests("boom for the test");
    // Up to 10 s: printing the panic's backtrace on a loaded machine took over a second once.
    for _ in 0..1000 {
        if r.worker.closed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(r.worker.closed());
    assert_eq!(r.worker.died().as_deref(), Some("boom for the test"), "died() answers once closed() does");
    // The event follows once the worker's objects are closed.
    for _ in 0..500 {
        if died.lock().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(died.lock().unwrap().as_deref(), Some("boom for the test"));
    assert!(r.producer_transport.closed());
    let err = r.router.create_plain_transport(PlainTransportOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::WorkerClosed(_)), "{err}");
    // A new worker still works in this process.
    let w = Worker::new(WorkerSettings::default()).unwrap();
    w.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    w.close();
}

#[tokio::test(flavor = "current_thread")]
async fn bad_arguments_give_type_errors_that_name_the_field() {
    let r = room().await;
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (json!({ "listenInfo": { "ip": "not-an-ip" } }), "listenInfo.ip"),
        (json!({ "listenInfo": { "ip": "127.0.0.1", "portRange": { "min": 5000, "max": 4000 } } }), "listenInfo.portRange"),
        (json!({}), "listenInfo"),
    ];
    for (opts, field) in cases {
        let err = match from_json::<PlainTransportOptions>("options", opts.clone()) {
            Err(e) => e,
            Ok(o) => r.router.create_plain_transport(o).await.unwrap_err(),
        };
        assert!(matches!(err, Error::Type(_)), "{opts}: {err}");
        assert!(err.message().contains(field), "{opts}: {err} should name {field}");
    }
    let err = from_json::<ProducerOptions>("options", json!({ "kind": "audio" })).unwrap_err();
    assert!(err.message().contains("rtpParameters"), "{err}");
    let err = from_json::<ProducerOptions>("options", json!({ "kind": "audio", "rtpParameters": { "codecs": [{ "mimeType": "audio/opus", "payloadType": "x", "clockRate": 48000 }] } })).unwrap_err();
    assert!(err.message().contains("codecs[0].payloadType"), "{err}");
    let unknown = from_json::<ProducerOptions>("options", json!({ "kind": "audio", "rtpParameters": { "codecs": [{ "mimeType": "audio/G729", "payloadType": 18, "clockRate": 8000 }], "encodings": [{ "ssrc": 1 }] } })).unwrap();
    let err = r.producer_transport.produce(unknown).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
    let err = r
        .producer_transport
        .consume(from_json("o", json!({ "producerId": "nope", "rtpCapabilities": consumer_caps() })).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)) && err.message().contains("nope"), "{err}");
    let dir = std::env::temp_dir().join(format!("libsfu-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, "not a certificate").unwrap();
    std::fs::write(&key, "not a key").unwrap();
    let err = Worker::new(WorkerSettings {
        dtls_certificate_file: Some(cert.to_string_lossy().into()),
        dtls_private_key_file: Some(key.to_string_lossy().into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(err, Error::Type(_)) && err.message().contains("dtlsCertificateFile"), "{err}");
    let err = Worker::new(WorkerSettings { dtls_certificate_file: Some("/nonexistent/cert.pem".into()), dtls_private_key_file: Some("/nonexistent/key.pem".into()), ..Default::default() }).unwrap_err();
    assert!(matches!(err, Error::Type(_)) && err.message().contains("dtlsCertificateFile"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
    let err = Worker::new(WorkerSettings { rtc_min_port: 5000, rtc_max_port: 4000, ..Default::default() }).unwrap_err();
    assert!(matches!(err, Error::Type(_)) && err.message().contains("rtcMinPort"), "{err}");
    r.worker.close();
}

#[tokio::test(flavor = "current_thread")]
async fn dtls_certificate_files_are_loaded_and_their_fingerprint_announced() {
    let dir = std::env::temp_dir().join(format!("libsfu-goodcert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let ok = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=libsfu", "-days", "2", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl CLI (Debian package openssl)");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let fp = std::process::Command::new("openssl").args(["x509", "-noout", "-fingerprint", "-sha256", "-in"]).arg(&cert).output().unwrap();
    let want = String::from_utf8_lossy(&fp.stdout).trim().rsplit('=').next().unwrap().to_owned();
    let worker = Worker::new(WorkerSettings {
        dtls_certificate_file: Some(cert.to_string_lossy().into()),
        dtls_private_key_file: Some(key.to_string_lossy().into()),
        ..Default::default()
    })
    .unwrap();
    let router = worker.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let t = router.create_webrtc_transport(from_json("o", json!({ "listenInfos": [{ "protocol": "udp", "ip": "127.0.0.1" }] })).unwrap()).await.unwrap();
    let fps = t.dtls_parameters().fingerprints;
    let sha256 = fps.iter().find(|f| f.algorithm == "sha-256").unwrap();
    assert_eq!(sha256.value, want, "announced fingerprint is the configured certificate's");
    worker.close();
    let _ = std::fs::remove_dir_all(dir);
}
