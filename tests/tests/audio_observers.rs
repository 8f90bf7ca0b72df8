//! Audio level and active speaker observers fed by real RTP with the ssrc-audio-level extension:
//! `volumes` orders producers loudest first within maxEntries, `silence` comes once when nobody
//! is above the threshold, `dominantspeaker` follows who talks, and producers that close or
//! are not audio are handled.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sfu_core::*;
use sfu_tests::*;

const LEVEL_EXT: u8 = 1;

fn opus_with_level(ssrc: u32) -> ProducerOptions {
    from_json("o", json!({ "kind": "audio", "rtpParameters": {
        "codecs": [{ "mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2 }],
        "headerExtensions": [{ "uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "id": LEVEL_EXT }],
        "encodings": [{ "ssrc": ssrc }] } }))
    .unwrap()
}

/// Sends 20 ms packets for `ms` from each `(ssrc, level)` (level 127 = silence).
fn talk(tx: &UdpSocket, seq: &mut u16, streams: &[(u32, u8)], ms: u64) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(ms) {
        for (ssrc, level) in streams {
            let v = if *level < 127 { 0x80 } else { 0 };
            let _ = tx.send(&rtp(111, *seq, *seq as u32 * 960, *ssrc, &[(LEVEL_EXT, &[v | level])], &[0xf8, 0xff, 0xfe]));
        }
        *seq = seq.wrapping_add(1);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn observers_report_volumes_silence_and_the_dominant_speaker() {
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let events = Arc::new(Mutex::new(vec![]));
    let ev2 = events.clone();
    worker.subscribe(move |e| ev2.lock().unwrap().push(e.clone())).detach();
    let router = worker.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let pt = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" }, "comedia": true })).unwrap()).await.unwrap();
    let (a, b, c) = (pt.produce(opus_with_level(1)).await.unwrap(), pt.produce(opus_with_level(2)).await.unwrap(), pt.produce(opus_with_level(3)).await.unwrap());
    let video = pt
        .produce(from_json("o", json!({ "kind": "video", "rtpParameters": {
            "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000 }], "encodings": [{ "ssrc": 9 }] } })).unwrap())
        .await
        .unwrap();

    let e = router.create_audio_level_observer_blocking(from_json("o", json!({ "maxEntries": 0 })).unwrap()).unwrap_err();
    assert!(e.message().contains("maxEntries"), "{}", e.message());
    let levels = router.create_audio_level_observer_blocking(from_json("o", json!({ "maxEntries": 2, "threshold": -70, "interval": 500 })).unwrap()).unwrap();
    let speaker = router.create_active_speaker_observer_blocking(from_json("o", json!({ "interval": 200 })).unwrap()).unwrap();
    for p in [&a, &b, &c] {
        levels.add_producer_blocking(p.id()).unwrap();
        speaker.add_producer_blocking(p.id()).unwrap();
    }
    assert_eq!(levels.add_producer_blocking(video.id()).unwrap_err().js_name(), "TypeError", "video producers cannot be observed");
    assert_eq!(levels.add_producer_blocking("nope").unwrap_err().js_name(), "NotFoundError");

    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(("127.0.0.1", pt.tuple().local_port)).unwrap();
    let mut seq = 0u16;
    // A loud (-20 dBov), B quieter (-60), C silent.
    talk(&tx, &mut seq, &[(1, 20), (2, 60), (3, 127)], 1600);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let of = |id: &str| -> Vec<EventKind> { events.lock().unwrap().iter().filter(|e| e.target_id == id).map(|e| e.kind.clone()).collect() };
    let vols: Vec<Vec<serde_json::Value>> = of(levels.id())
        .into_iter()
        .filter_map(|k| match k {
            EventKind::Volumes { volumes } => Some(volumes),
            _ => None,
        })
        .collect();
    assert!(!vols.is_empty(), "volumes events: {:?}", of(levels.id()));
    assert_eq!(vols.last().unwrap(), &vec![json!({ "producerId": a.id(), "volume": -20 }), json!({ "producerId": b.id(), "volume": -60 })]);
    let dominant: Vec<String> = of(speaker.id())
        .into_iter()
        .filter_map(|k| match k {
            EventKind::DominantSpeaker { producer_id } => Some(producer_id),
            _ => None,
        })
        .collect();
    assert_eq!(dominant, vec![a.id().to_owned()], "A talks, so A dominates");

    // B talks, A goes quiet: B takes over; everyone below the threshold: one silence.
    talk(&tx, &mut seq, &[(1, 127), (2, 15), (3, 127)], 2500);
    talk(&tx, &mut seq, &[(1, 127), (2, 127), (3, 127)], 1300);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let dominant: Vec<String> = of(speaker.id())
        .into_iter()
        .filter_map(|k| match k {
            EventKind::DominantSpeaker { producer_id } => Some(producer_id),
            _ => None,
        })
        .collect();
    assert_eq!(dominant.last().map(String::as_str), Some(b.id()), "{dominant:?}");
    let silences = of(levels.id()).iter().filter(|k| matches!(k, EventKind::Silence)).count();
    assert_eq!(silences, 1, "silence is reported once per silent period");

    // A producer that closes leaves the observers; closing the router closes them.
    a.close();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(levels.remove_producer_blocking(a.id()).is_err(), "a closed producer is gone");
    levels.pause_blocking().unwrap();
    assert!(levels.paused());
    router.close();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(levels.closed() && speaker.closed());
    assert!(of(levels.id()).iter().any(|k| matches!(k, EventKind::Closed { reason: CloseReason::RouterClosed, .. })));
    worker.close();
}
