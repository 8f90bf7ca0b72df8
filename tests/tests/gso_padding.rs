//! A frame's packets split about equally (the last ones a byte longer, as libwebrtc splits
//! them) reach each consumer padded to one size (RFC 3550 padding), so they can leave as one
//! UDP GSO send: through real sockets, the payloads arrive intact, the padding is well formed
//! and small, no packet grows beyond the frame's largest, and byteCount counts it.

use std::net::UdpSocket;
use std::time::Duration;

use serde_json::json;
use sfu_core::rtp::RtpPacket;
use sfu_core::*;
use sfu_tests::*;

/// Packets per frame, and the payload length of the shorter ones (the last 3 are a byte longer).
const PER_FRAME: u16 = 6;
const SHORT: usize = 1000;

/// Packet `p` of frame `f`: a VP8 payload descriptor (S on the first packet; a key frame
/// for frame 0), then filler naming the frame and packet, `SHORT` or `SHORT + 1` bytes in all.
fn payload(f: u16, p: u16) -> Vec<u8> {
    let mut v = if p == 0 { vec![0x10, if f == 0 { 0x00 } else { 0x01 }] } else { vec![0x00, 0x01] };
    v.extend_from_slice(&f.to_be_bytes());
    v.extend_from_slice(&p.to_be_bytes());
    v.resize(SHORT + usize::from(p >= PER_FRAME / 2), 0x55);
    v
}

#[tokio::test(flavor = "current_thread")]
async fn a_frame_reaches_each_consumer_padded_to_one_size_with_intact_payloads() {
    if std::env::var_os("LIBSFU_GSO_PADDING").is_some_and(|v| v == "0") || std::env::var_os("LIBSFU_UDP_GSO").is_some_and(|v| v == "0") {
        return; // (padding turned off for this run)
    }
    // One consumer (a 1:1 call) and several: both fan out at the end of a receive turn.
    for consumers in [1, 3] {
        frames_to(consumers).await;
    }
}

async fn frames_to(consumers: usize) {
    let (worker, router, pt) = comedia_room().await;
    let producer = pt
        .produce(
            from_json(
                "o",
                json!({ "kind": "video", "rtpParameters": {
                    "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000 }],
                    "encodings": [{ "ssrc": 4242 }]
                } }),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    // A consumer's packets of a receive turn are padded together at the turn's end.
    let mut ends = vec![];
    for _ in 0..consumers {
        let sink = Sink::new();
        let ct = router.create_plain_transport(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap()).await.unwrap();
        ct.connect(PlainTransportConnect { ip: Some("127.0.0.1".into()), port: Some(sink.port()), ..Default::default() }).await.unwrap();
        let c = ct.consume(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": router.rtp_capabilities() })).unwrap()).await.unwrap();
        ends.push((ct, c, sink));
    }
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.connect(("127.0.0.1", pt.tuple().local_port)).unwrap();
    const FRAMES: u16 = 20;
    let mut received = vec![vec![]; ends.len()];
    for f in 0..FRAMES {
        // A frame's packets back to back (one receive turn, mostly); each sink takes them in
        // before the next frame (its socket buffer would not hold them all).
        for p in 0..PER_FRAME {
            let seq = f * PER_FRAME + p;
            tx.send(&rtp(96, seq, u32::from(f) * 3000, 4242, &[], &payload(f, p))).unwrap();
        }
        for (i, (_, _, sink)) in ends.iter().enumerate() {
            received[i].extend(sink.collect_rtp(usize::from(PER_FRAME), Duration::from_secs(2)));
        }
    }
    let total = usize::from(FRAMES * PER_FRAME);
    for ((_, consumer, _), got) in ends.iter().zip(&received) {
        assert_eq!(got.len(), total, "consumer {} received {} of {total}", consumer.id(), got.len());
        let mut equalized_frames = 0;
        for (f, frame) in got.chunks(usize::from(PER_FRAME)).enumerate() {
            let largest = frame.iter().map(Vec::len).max().unwrap();
            for (p, d) in frame.iter().enumerate() {
                let pkt = RtpPacket::parse(d).expect("valid RTP");
                assert_eq!(pkt.payload(), payload(f as u16, p as u16), "frame {f} packet {p}: payload intact, padding stripped");
                if d[0] & 0x20 != 0 {
                    let pad = usize::from(*d.last().unwrap());
                    assert!((1..=sfu_core::rtp::gso_padding::max_padding(d.len() - pad)).contains(&pad), "frame {f} packet {p}: {pad} octets of padding");
                    assert!(d[d.len() - pad..d.len() - 1].iter().all(|b| *b == 0));
                    assert_eq!(d.len(), largest, "frame {f} packet {p}: padded to the frame's size, not beyond");
                }
            }
            if frame.iter().all(|d| d.len() == largest) {
                equalized_frames += 1;
            }
        }
        // A frame whose packets the worker read in two turns leaves in two runs (on a loaded
        // machine, often); benches/tests/deferred_fanout.rs feeds whole turns and checks each.
        assert!(equalized_frames >= 1, "consumer {}: no frame of {FRAMES} left as one size", consumer.id());
        let stats = consumer.get_stats().await.unwrap();
        let sent: usize = got.iter().map(|d| d.len()).sum();
        assert_eq!(stats[0]["byteCount"].as_u64(), Some(sent as u64), "byteCount counts the padding sent");
    }
    worker.close();
}
