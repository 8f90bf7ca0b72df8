//! A Rust host embedding libsfu: one producer fed over plain RTP (e.g. by ffmpeg), fanned out to
//! N consumers that each send to a local UDP port, with live stats.
//!
//! ```text
//! cargo run -p rust-host -- [consumers=2] [seconds=10]
//! ffmpeg -re -f lavfi -i sine=frequency=440 -c:a libopus -payload_type 111 -ssrc 1111 \
//!        -f rtp rtp://127.0.0.1:<printed port>
//! ```
//! Without ffmpeg it feeds itself a synthetic 50 packet/s opus-like stream.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use serde_json::json;
use sfu_core::{from_json, Event, PlainTransportConnect, RouterOptions, Worker, WorkerSettings};

#[tokio::main(flavor = "current_thread")]
async fn main() -> sfu_core::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);

    let worker = Worker::new(WorkerSettings { log_level: "warn".into(), ..Default::default() })?;
    let _events = worker.subscribe(|e: &Event| println!("event: {}", serde_json::to_string(e).unwrap_or_default()));
    let router = worker
        .create_router(RouterOptions {
            media_codecs: from_json("mediaCodecs", json!([{ "kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2 }]))?,
            ..Default::default()
        })
        .await?;

    let input = router.create_plain_transport(from_json("options", json!({ "listenInfo": { "ip": "127.0.0.1" }, "comedia": true }))?).await?;
    let port = input.tuple().local_port;
    println!("send opus RTP (payload type 111, ssrc 1111) to 127.0.0.1:{port}");
    let producer = input
        .produce(from_json(
            "options",
            json!({ "kind": "audio", "rtpParameters": {
                "codecs": [{ "mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2 }],
                "encodings": [{ "ssrc": 1111 }] } }),
        )?)
        .await?;

    let mut sinks = vec![];
    let mut consumers = vec![];
    for _ in 0..n {
        let sink = UdpSocket::bind("127.0.0.1:0")?;
        sink.set_nonblocking(true)?;
        let t = router.create_plain_transport(from_json("options", json!({ "listenInfo": { "ip": "127.0.0.1" } }))?).await?;
        t.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(sink.local_addr()?.port()), ..Default::default() }).await?;
        let c = t.consume(from_json("options", json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities() }))?).await?;
        println!("consumer {} → 127.0.0.1:{} ssrc {:?}", c.id(), sink.local_addr()?.port(), c.rtp_parameters().encodings[0].ssrc);
        sinks.push(sink);
        consumers.push((t, c));
    }

    // Self-feed a synthetic stream so the example shows forwarding even without ffmpeg.
    let feeder = UdpSocket::bind("127.0.0.1:0")?;
    let start = Instant::now();
    let mut seq: u16 = 0;
    let mut received = vec![0u64; n];
    let mut buf = [0u8; 1500];
    while start.elapsed() < Duration::from_secs(seconds) {
        let mut pkt = vec![0x80, 111];
        pkt.extend_from_slice(&seq.to_be_bytes());
        pkt.extend_from_slice(&(seq as u32 * 960).to_be_bytes());
        pkt.extend_from_slice(&1111u32.to_be_bytes());
        pkt.extend_from_slice(&[0u8; 100]);
        feeder.send_to(&pkt, ("127.0.0.1", port))?;
        seq = seq.wrapping_add(1);
        tokio::time::sleep(Duration::from_millis(20)).await;
        for (i, s) in sinks.iter().enumerate() {
            while s.recv(&mut buf).is_ok() {
                received[i] += 1;
            }
        }
        if seq % 50 == 0 {
            println!("sent {seq}, received per consumer {received:?}");
        }
    }
    println!("producer stats: {}", producer.get_stats().await?);
    println!("consumer stats: {}", consumers[0].1.get_stats().await?);
    worker.close();
    Ok(())
}
