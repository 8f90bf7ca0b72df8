//! Shared helpers for libsfu's cross-face integration tests: reference data, RTP packet
//! builders and UDP sinks on loopback.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A worker with a router of [`media_codecs`] and a comedia PlainTransport on 127.0.0.1 to
/// produce on (the transport learns its remote from the first packet sent to it).
pub async fn comedia_room() -> (sfu_core::Worker, sfu_core::Router, sfu_core::PlainTransport) {
    let worker = sfu_core::Worker::new(sfu_core::WorkerSettings::default()).unwrap();
    let router = worker.create_router(sfu_core::RouterOptions { media_codecs: media_codecs(), ..Default::default() }).await.unwrap();
    let options = sfu_core::from_json("o", serde_json::json!({ "listenInfo": { "ip": "127.0.0.1" }, "comedia": true })).unwrap();
    let pt = router.create_plain_transport(options).await.unwrap();
    (worker, router, pt)
}

/// Reads a reference JSON file from `core/testdata`.
pub fn testdata(name: &str) -> Value {
    let path = format!("{}/../core/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

/// The router media codecs of the reference data.
pub fn media_codecs() -> Vec<sfu_core::RtpCodecCapability> {
    serde_json::from_value(testdata("router-media-codecs.json")).unwrap()
}

/// RTP capabilities of a consuming peer (from the ORTC reference vectors).
pub fn consumer_caps() -> Value {
    testdata("ortc-vectors.mediasoup.json")["consumerRtpCapabilities"].clone()
}

/// Builds an RTP packet with one-byte header extensions.
pub fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, exts: &[(u8, &[u8])], payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x80, pt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    v[2..4].copy_from_slice(&seq.to_be_bytes());
    v[4..8].copy_from_slice(&ts.to_be_bytes());
    v[8..12].copy_from_slice(&ssrc.to_be_bytes());
    if !exts.is_empty() {
        v[0] |= 0x10;
        let mut body = vec![];
        for (id, d) in exts {
            body.push((id << 4) | (d.len() as u8 - 1));
            body.extend_from_slice(d);
        }
        while body.len() % 4 != 0 {
            body.push(0);
        }
        v.extend_from_slice(&[0xbe, 0xde]);
        v.extend_from_slice(&((body.len() / 4) as u16).to_be_bytes());
        v.extend_from_slice(&body);
    }
    v.extend_from_slice(payload);
    v
}

/// A UDP socket on 127.0.0.1 that collects datagrams.
pub struct Sink {
    /// The socket.
    pub socket: UdpSocket,
}

impl Default for Sink {
    fn default() -> Self {
        Self::new()
    }
}

impl Sink {
    /// Binds a new sink on an ephemeral loopback port.
    pub fn new() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        Sink { socket }
    }
    /// The sink's port.
    pub fn port(&self) -> u16 {
        self.socket.local_addr().unwrap().port()
    }
    /// Collects datagrams until `n` arrived or `timeout` passed.
    pub fn collect(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut out = vec![];
        let mut buf = [0u8; 2048];
        while out.len() < n && Instant::now() < deadline {
            if let Ok(len) = self.socket.recv(&mut buf) {
                out.push(buf[..len].to_vec());
            }
        }
        out
    }
    /// Collects RTP (not RTCP) datagrams until `n` arrived or `timeout` passed.
    pub fn collect_rtp(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut out = vec![];
        while out.len() < n && Instant::now() < deadline {
            for d in self.collect(1, Duration::from_millis(50)) {
                if !sfu_core::rtp::is_rtcp(&d) {
                    out.push(d);
                }
            }
        }
        out
    }
}
