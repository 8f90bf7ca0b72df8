//! Real peers on the wire: ffmpeg publishes VP8 and Opus over plain RTP, a second ffmpeg
//! receives a consumer's stream through an SDP built from the consumer's `rtpParameters` and
//! decodes it. (CI installs ffmpeg; without it this test fails rather than pretends.)

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use sfu_core::*;
use sfu_tests::*;

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Publishes a lavfi source with ffmpeg to `port`, receives the consumer's stream on another
/// port with a second ffmpeg, and returns what the receiver printed.
async fn relay_through_sfu(kind: &str, send_args: &[&str], codec_line: &str) -> String {
    let worker = Worker::new(WorkerSettings::default()).unwrap();
    let router = worker.create_router(RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let input = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" }, "comedia": true, "rtcpMux": true })).unwrap()).await.unwrap();
    let (mime, pt, clock, channels) = if kind == "audio" { ("audio/opus", 111, 48000, Some(2)) } else { ("video/VP8", 96, 90000, None) };
    let mut codec = json!({ "mimeType": mime, "payloadType": pt, "clockRate": clock });
    if let Some(ch) = channels {
        codec["channels"] = json!(ch);
    }
    let producer = input
        .produce(from_json("o", json!({ "kind": kind, "rtpParameters": { "codecs": [codec], "encodings": [{ "ssrc": 4242 }] } })).unwrap())
        .await
        .unwrap();

    // The receiving ffmpeg listens on a port we pick; the consumer's transport sends there.
    let recv_port = free_udp_port();
    let output = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap()).await.unwrap();
    let consumer = output
        .consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities() })).unwrap())
        .await
        .unwrap();
    let c = &consumer.rtp_parameters().codecs[0];
    let rtpmap = match c.channels {
        Some(ch) => format!("{}/{}/{}", c.mime_type.split('/').nth(1).unwrap(), c.clock_rate, ch),
        None => format!("{}/{}", c.mime_type.split('/').nth(1).unwrap(), c.clock_rate),
    };
    let sdp = format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=libsfu\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm={kind} {recv_port} RTP/AVP {pt}\r\na=rtpmap:{pt} {rtpmap}\r\n{codec_line}",
        pt = c.payload_type
    );
    let dir = std::env::temp_dir().join(format!("libsfu-ffmpeg-{}-{kind}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sdp_path = dir.join("recv.sdp");
    std::fs::write(&sdp_path, sdp).unwrap();
    let receiver = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "info", "-protocol_whitelist", "file,udp,rtp", "-i"])
        .arg(&sdp_path)
        .args(["-t", "3", "-f", "null", "-"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg must be installed (apt-get install ffmpeg)");
    tokio::time::sleep(Duration::from_millis(500)).await;
    output.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(recv_port), ..Default::default() }).await.unwrap();

    let target = format!("rtp://127.0.0.1:{}", input.tuple().local_port);
    let sender = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-re"])
        .args(send_args)
        .args(["-ssrc", "4242", "-payload_type", &pt.to_string(), "-f", "rtp", &target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let out = tokio::task::spawn_blocking(move || receiver.wait_with_output().unwrap()).await.unwrap();
    assert!(sender.unwrap().success(), "sending ffmpeg failed");
    let stats = producer.get_stats().await.unwrap();
    worker.close();
    let _ = std::fs::remove_dir_all(dir);
    format!("{}\nproducer stats: {stats}", String::from_utf8_lossy(&out.stderr))
}

fn last_counter(log: &str, key: &str) -> u64 {
    log.split(key).filter_map(|rest| rest.trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()).last().unwrap_or(0)
}

#[tokio::test(flavor = "current_thread")]
async fn ffmpeg_vp8_through_the_sfu_is_decoded_by_ffmpeg() {
    let log = relay_through_sfu(
        "video",
        &["-f", "lavfi", "-i", "testsrc=size=320x240:rate=30:duration=4", "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "500k", "-g", "30"],
        "",
    )
    .await;
    let frames = last_counter(&log, "frame=");
    assert!(frames >= 30, "receiving ffmpeg decoded {frames} VP8 frames (want ≥ 30); log:\n{log}");
}

#[tokio::test(flavor = "current_thread")]
async fn ffmpeg_opus_through_the_sfu_is_decoded_by_ffmpeg() {
    let log = relay_through_sfu("audio", &["-f", "lavfi", "-i", "sine=frequency=440:duration=4", "-c:a", "libopus", "-ac", "2"], "").await;
    // ffmpeg's null muxer reports decoded audio as time=; at least one second must have decoded.
    let ok = log.contains("time=00:00:01") || log.contains("time=00:00:02") || log.contains("time=00:00:03");
    assert!(ok, "receiving ffmpeg decoded less than a second of Opus; log:\n{log}");
}
