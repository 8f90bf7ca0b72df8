//! A real worker on loopback: every input is a UDP datagram from the network.
//!
//! Set up once per process: a router with the reference media codecs; a comedia plain
//! transport ("producer transport") with Chrome's three producers (opus; VP8 simulcast by RID
//! with RTX; H264 with SSRC and RTX); a second plain transport ("consumer transport") connected
//! to a local sink socket with one consumer per producer.
//!
//! Each input is sent as one datagram from the publisher's socket to the producer transport and
//! as one datagram from the sink socket to the consumer transport (so RTCP reaches both the
//! producer side — SR/RR/SDES from the publisher — and the consumer side — NACK/PLI/FIR/RR
//! from the receiver). Consumer SSRCs are random; a 32-bit word `CC CC CC k` at a 4-byte aligned
//! offset is replaced by the k-th consumer SSRC (k = 2·consumer + [0 media | 1 RTX]) so seeds and
//! mutations can aim RTCP feedback at them.
//!
//! The check waits until the worker has taken in the datagram (the transport's `bytesReceived`
//! counts it), so a panic it causes is attributed to the input that caused it (libFuzzer's panic
//! hook aborts on a panic in any thread, including the worker's). What the worker sends back is
//! checked too: RTCP to either side must walk as a compound to its end; RTP to the consumer side
//! must parse, come from a consumer SSRC with one of its payload types and carry only header
//! extensions that consumer negotiated. Every 64 inputs, control calls (dumps, stats) must
//! still succeed: the worker keeps serving.

use std::net::UdpSocket;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sfu_core::*;

const VECTORS: &str = include_str!("../../core/testdata/ortc-vectors.mediasoup.json");
const CHROME: &str = include_str!("../../core/testdata/chrome-mediasoup-client-produce.json");
const MEDIA_CODECS: &str = include_str!("../../core/testdata/router-media-codecs.json");

/// First three bytes of an SSRC placeholder word.
pub const SSRC_PLACEHOLDER: [u8; 3] = [0xCC, 0xCC, 0xCC];

struct Engine {
    worker: Worker,
    router: Router,
    producer_transport: PlainTransport,
    consumer_transport: PlainTransport,
    producers: Vec<Producer>,
    consumers: Vec<Consumer>,
    sender: UdpSocket,
    sink: UdpSocket,
    /// Placeholder k → consumer SSRC bytes.
    consumer_ssrcs: Vec<[u8; 4]>,
    /// Per consumer SSRC (media and RTX): its payload types and header extension ids.
    outputs: Vec<(u32, Vec<u8>, Vec<u8>)>,
    /// (bytes sent to the producer transport, bytes sent to the consumer transport, inputs).
    sent: Mutex<(u64, u64, u64)>,
}

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let worker = Worker::new(WorkerSettings::default()).expect("worker");
        let media_codecs: Vec<RtpCodecCapability> = serde_json::from_str(MEDIA_CODECS).expect("media codecs");
        let router = worker.create_router_blocking(RouterOptions { media_codecs, ..Default::default() }).expect("router");
        let producer_transport = router
            .create_plain_transport_blocking(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" }, "comedia": true })).unwrap())
            .expect("producer transport");
        let consumer_transport = router
            .create_plain_transport_blocking(from_json("o", json!({ "listenInfo": { "ip": "127.0.0.1" } })).unwrap())
            .expect("consumer transport");
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.connect(("127.0.0.1", producer_transport.tuple().local_port)).unwrap();
        let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
        sink.connect(("127.0.0.1", consumer_transport.tuple().local_port)).unwrap();
        sink.set_nonblocking(true).unwrap();
        sender.set_nonblocking(true).unwrap();
        consumer_transport
            .connect_blocking(PlainTransportConnect {
                ip: Some("127.0.0.1".into()),
                port: Some(sink.local_addr().unwrap().port()),
                ..Default::default()
            })
            .expect("consumer transport connect");

        let chrome: Value = serde_json::from_str(CHROME).unwrap();
        let vectors: Value = serde_json::from_str(VECTORS).unwrap();
        let caps = vectors["consumerRtpCapabilities"].clone();
        let mut producers = vec![];
        let mut consumers = vec![];
        let mut consumer_ssrcs = vec![];
        let mut outputs = vec![];
        for p in chrome["produce"].as_array().unwrap() {
            let producer = producer_transport
                .produce_blocking(from_json("producer", json!({ "kind": p["kind"], "rtpParameters": p["rtpParameters"] })).unwrap())
                .expect("produce");
            let consumer = consumer_transport
                .consume_blocking(from_json("consumer", json!({ "producerId": producer.id(), "rtpCapabilities": caps })).unwrap())
                .expect("consume");
            let params = consumer.rtp_parameters();
            let enc = params.encodings.first().cloned().unwrap_or_default();
            consumer_ssrcs.push(enc.ssrc.unwrap_or(0).to_be_bytes());
            consumer_ssrcs.push(enc.rtx.map(|r| r.ssrc).unwrap_or(0).to_be_bytes());
            let pts: Vec<u8> = params.codecs.iter().map(|c| c.payload_type).collect();
            let exts: Vec<u8> = params.header_extensions.iter().map(|e| e.id).collect();
            for ssrc in [enc.ssrc, enc.rtx.map(|r| r.ssrc)].into_iter().flatten() {
                outputs.push((ssrc, pts.clone(), exts.clone()));
            }
            producers.push(producer);
            consumers.push(consumer);
        }
        Engine {
            worker,
            router,
            producer_transport,
            consumer_transport,
            producers,
            consumers,
            sender,
            sink,
            consumer_ssrcs,
            outputs,
            sent: Mutex::new((0, 0, 0)),
        }
    })
}

/// `bytesReceived` of a transport's stats.
fn bytes_received(t: &TransportBase) -> u64 {
    let v = t.get_stats_blocking().unwrap_or_else(|e| panic!("transport.getStats() failed: {e}"));
    let s = if v.is_array() { &v[0] } else { &v };
    s["bytesReceived"].as_u64().expect("bytesReceived")
}

/// Waits until the transport has taken in `total` bytes.
fn wait_received(t: &TransportBase, total: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = bytes_received(t);
        if got >= total {
            return;
        }
        if let Some(reason) = engine().worker.died() {
            panic!("worker died: {reason}");
        }
        assert!(Instant::now() < deadline, "{what}: the worker took in {got} of {total} bytes within 10 s: it stopped serving");
        std::thread::yield_now();
    }
}

fn send(sock: &UdpSocket, data: &[u8]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match sock.send(data) {
            Ok(_) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "send buffer full for 5 s");
                std::thread::yield_now();
            }
            // Too large for UDP, or the remote's ICMP error from a previous datagram.
            Err(_) => return false,
        }
    }
}

/// Reads what the worker sent to `sock` and checks it: well-formed RTCP (a compound that walks
/// to its end) or, when `consumers` is given, RTP from a consumer SSRC with one of its payload
/// types and only the header extensions it negotiated.
fn check_output(sock: &UdpSocket, consumers: Option<&[(u32, Vec<u8>, Vec<u8>)]>) {
    let mut buf = [0u8; 65536];
    while let Ok(n) = sock.recv(&mut buf) {
        let d = &buf[..n];
        if sfu_core::rtp::is_rtcp(d) {
            let walked: usize = sfu_core::rtp::rtcp::compound(d).map(|p| p.data.len()).sum();
            assert_eq!(walked, d.len(), "the worker sent malformed RTCP: {d:02x?}");
            continue;
        }
        let Some(consumers) = consumers else {
            panic!("the worker sent a non-RTCP datagram to the publisher: {d:02x?}");
        };
        let p = sfu_core::rtp::RtpPacket::parse(d).unwrap_or_else(|| panic!("the worker forwarded malformed RTP: {d:02x?}"));
        let (_, pts, exts) = consumers
            .iter()
            .find(|(s, _, _)| *s == p.ssrc())
            .unwrap_or_else(|| panic!("RTP from SSRC {} which is no consumer's: {d:02x?}", p.ssrc()));
        assert!(pts.contains(&p.payload_type()), "forwarded payload type {} not in the consumer's {pts:?}", p.payload_type());
        for (id, _) in p.extensions() {
            assert!(exts.contains(&id), "forwarded extension id {id} not negotiated by the consumer ({exts:?}): {d:02x?}");
        }
    }
}

/// Replaces the SSRC placeholders of `data` (aligned words `CC CC CC k`) with consumer SSRCs.
pub fn substitute_ssrcs(data: &[u8], ssrcs: &[[u8; 4]]) -> Vec<u8> {
    let mut v = data.to_vec();
    for w in v.chunks_exact_mut(4) {
        if w[..3] == SSRC_PLACEHOLDER {
            if let Some(s) = ssrcs.get(usize::from(w[3])) {
                w.copy_from_slice(s);
            }
        }
    }
    v
}

/// The input is one datagram (see the module docs).
pub fn engine_datagrams(data: &[u8]) {
    let e = engine();
    let mut sent = e.sent.lock().unwrap_or_else(|p| p.into_inner());
    sent.2 += 1;
    // An empty datagram is received as 0 bytes: nothing to wait for, but still send it.
    if send(&e.sender, data) {
        sent.0 += data.len() as u64;
    }
    let to_consumer = substitute_ssrcs(data, &e.consumer_ssrcs);
    if send(&e.sink, &to_consumer) {
        sent.1 += to_consumer.len() as u64;
    }
    wait_received(&e.producer_transport, sent.0, "producer transport");
    wait_received(&e.consumer_transport, sent.1, "consumer transport");
    if let Some(reason) = e.worker.died() {
        panic!("worker died: {reason}");
    }
    check_output(&e.sink, Some(&e.outputs));
    check_output(&e.sender, None);
    if sent.2 % 64 == 0 {
        control_calls(e);
    }
}

/// Control calls that must keep working whatever the network sent.
fn control_calls(e: &Engine) {
    e.producer_transport.dump_blocking().unwrap_or_else(|err| panic!("producer transport dump failed: {err}"));
    e.consumer_transport.dump_blocking().unwrap_or_else(|err| panic!("consumer transport dump failed: {err}"));
    e.router.dump_blocking().unwrap_or_else(|err| panic!("router dump failed: {err}"));
    e.worker.dump_blocking().unwrap_or_else(|err| panic!("worker dump failed: {err}"));
    for p in &e.producers {
        p.get_stats_blocking().unwrap_or_else(|err| panic!("producer stats failed: {err}"));
        p.dump_blocking().unwrap_or_else(|err| panic!("producer dump failed: {err}"));
    }
    for c in &e.consumers {
        c.get_stats_blocking().unwrap_or_else(|err| panic!("consumer stats failed: {err}"));
        c.dump_blocking().unwrap_or_else(|err| panic!("consumer dump failed: {err}"));
    }
}
