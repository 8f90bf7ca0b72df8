//! The load bench's traffic processes (driven by benches/load/load.js over stdin/stdout, one JSON
//! object per line):
//!
//! - `sfu-load gen`: the load generator. Synthetic VP8 simulcast (3 SSRCs at 30 fps: 6, 3 and 1
//!   packets per frame, 1200 / 1000 / 800 B, key frames every 2 s and on PLI/FIR) and opus-sized
//!   audio (100 B every 20 ms) to one address — a comedia PlainTransport, a WebRtcTransport (then it
//!   does the client side of ICE, DTLS and SRTP first) or the raw forwarder.
//! - `sfu-load sink`: one UDP socket receiving every consumer's stream (plain, or one WebRTC client
//!   session per consumer transport, told apart by source address; a session with a transport of
//!   a WebRtcServer gets a socket of its own, since they all share the server's address). Counts packets, loss (sequence
//!   gaps per source and SSRC) and one-way latency (the generator writes CLOCK_MONOTONIC ns into the
//!   last 8 payload bytes; both processes read the same clock).
//! - `sfu-load raw`: the raw forwarder baseline. It receives the generator's packets and sends each
//!   one whose SSRC it is told to forward to every sink destination, one socket per destination (as
//!   the engine has one per consumer transport), with the engine's I/O method: a readiness wait,
//!   then `recvfrom` per packet and `sendto` per destination. No SFU logic.
//!
//! Commands in, events out: see `handle_command` of each role.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sfu_core::peer::WebRtcClient;

const IP: &str = "127.0.0.1";
const FPS: u64 = 30;
const LAYER_PACKETS: [usize; 3] = [1, 3, 6];
const LAYER_BYTES: [usize; 3] = [800, 1000, 1200];
const KEY_FRAME_EVERY: Duration = Duration::from_secs(2);
const AUDIO_EVERY: Duration = Duration::from_millis(20);
const CONSENT_EVERY: Duration = Duration::from_secs(2);

fn mono_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn emit(v: Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

fn fail(msg: impl std::fmt::Display) -> ! {
    emit(json!({ "ev": "error", "message": msg.to_string() }));
    std::process::exit(1)
}

/// Commands from stdin, read on their own thread; end of input is a `stop`.
fn commands() -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => {
                    if tx.send(v).is_err() {
                        return;
                    }
                }
                Err(e) => emit(json!({ "ev": "error", "message": format!("bad command: {e}") })),
            }
        }
        let _ = tx.send(json!({ "cmd": "stop" }));
    });
    rx
}

fn bind(buffer: usize) -> UdpSocket {
    let s = UdpSocket::bind((IP, 0)).unwrap_or_else(|e| fail(format!("bind: {e}")));
    for (opt, force) in [(libc::SO_RCVBUF, libc::SO_RCVBUFFORCE), (libc::SO_SNDBUF, libc::SO_SNDBUFFORCE)] {
        let v = buffer as libc::c_int;
        let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: setsockopt reads one c_int from a live local.
        unsafe {
            if libc::setsockopt(s.as_raw_fd(), libc::SOL_SOCKET, force, (&v as *const libc::c_int).cast(), len) != 0 {
                libc::setsockopt(s.as_raw_fd(), libc::SOL_SOCKET, opt, (&v as *const libc::c_int).cast(), len);
            }
        }
    }
    s
}

fn addr(v: &Value, field: &str) -> SocketAddr {
    v[field].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| fail(format!("{field}: expected \"ip:port\"")))
}

/// A WebRTC client session from `{ice: {usernameFragment, password}, fingerprints: [...]}`.
fn client_from(v: &Value) -> WebRtcClient {
    let ufrag = v["ice"]["usernameFragment"].as_str().unwrap_or_else(|| fail("ice.usernameFragment missing"));
    let pwd = v["ice"]["password"].as_str().unwrap_or_else(|| fail("ice.password missing"));
    let fps = serde_json::from_value(v["fingerprints"].clone()).unwrap_or_else(|e| fail(format!("fingerprints: {e}")));
    WebRtcClient::new(ufrag, pwd, fps).unwrap_or_else(|e| fail(format!("WebRTC client: {e}")))
}

/// Drives ICE and DTLS of `client` over `sock` until SRTP keys are in place (or 10 s passed).
fn handshake(sock: &UdpSocket, to: SocketAddr, client: &mut WebRtcClient) -> Result<(), String> {
    let end = Instant::now() + Duration::from_secs(10);
    let mut ice_ok = false;
    let mut last_check = Instant::now() - Duration::from_secs(1);
    sock.set_read_timeout(Some(Duration::from_millis(10))).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 2048];
    while !client.connected() {
        if Instant::now() > end || client.failed() {
            return Err(format!("handshake with {to} failed (ICE answered: {ice_ok})"));
        }
        if !ice_ok && last_check.elapsed() > Duration::from_millis(100) {
            last_check = Instant::now();
            let req = client.binding_request().map_err(|e| e.to_string())?;
            sock.send_to(&req, to).map_err(|e| e.to_string())?;
        }
        if ice_ok {
            client.handle_timeout();
            while let Some(d) = client.poll_transmit() {
                sock.send_to(&d, to).map_err(|e| e.to_string())?;
            }
        }
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            if from != to || n == 0 {
                continue;
            }
            match buf[0] {
                0..=3 => ice_ok = true,
                20..=63 => client.handle_dtls(&buf[..n]),
                _ => {}
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generator

struct Layer {
    ssrc: u32,
    seq: u16,
    ts: u32,
    picture_id: u16,
    last_key: Option<Instant>,
    key_pending: bool,
}

struct Gen {
    sock: UdpSocket,
    to: SocketAddr,
    client: Option<WebRtcClient>,
    video_pt: u8,
    audio_pt: u8,
    layers: Vec<Layer>,
    audio: Layer,
    buf: Vec<u8>,
    rng: u64,
    sent_packets: u64,
    sent_bytes: u64,
    send_errors: u64,
    key_frames: u64,
    key_requests: u64,
}

impl Gen {
    fn rand(&mut self) -> u32 {
        // xorshift64*: the payload filler and size jitter only.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    }

    fn send(&mut self) {
        let len = self.buf.len();
        let t = mono_ns().to_be_bytes();
        self.buf[len - 8..].copy_from_slice(&t);
        let r = match self.client.as_mut() {
            Some(c) => match c.protect_rtp(&self.buf) {
                Some(p) => self.sock.send_to(p, self.to),
                None => return,
            },
            None => self.sock.send_to(&self.buf, self.to),
        };
        match r {
            Ok(n) => {
                self.sent_packets += 1;
                self.sent_bytes += n as u64;
            }
            Err(_) => self.send_errors += 1,
        }
    }

    fn header(buf: &mut Vec<u8>, marker: bool, pt: u8, l: &Layer) {
        buf.clear();
        buf.extend_from_slice(&[0x80, (u8::from(marker) << 7) | pt]);
        buf.extend_from_slice(&l.seq.to_be_bytes());
        buf.extend_from_slice(&l.ts.to_be_bytes());
        buf.extend_from_slice(&l.ssrc.to_be_bytes());
    }

    fn video_frame(&mut self, now: Instant) {
        for i in 0..self.layers.len() {
            let key = {
                let l = &mut self.layers[i];
                let key = l.key_pending || l.last_key.is_none_or(|t| now - t >= KEY_FRAME_EVERY);
                if key {
                    l.key_pending = false;
                    l.last_key = Some(now);
                }
                l.picture_id = (l.picture_id + 1) & 0x7fff;
                l.ts = l.ts.wrapping_add((90_000 / FPS) as u32);
                key
            };
            if key {
                self.key_frames += 1;
            }
            let count = LAYER_PACKETS[i] * if key { 3 } else { 1 };
            // A frame of varying size split as libwebrtc's packetizers split one: about equally,
            // the last `larger` packets a byte longer than the others.
            let total = count * LAYER_BYTES[i] - (self.rand() % (64 * count as u32)) as usize;
            let (base, larger) = (total / count, total % count);
            for p in 0..count {
                let size = base + usize::from(p >= count - larger);
                let mut buf = std::mem::take(&mut self.buf);
                let l = &self.layers[i];
                Self::header(&mut buf, p == count - 1, self.video_pt, l);
                // VP8 payload descriptor: X, S on the first packet; I with a 15-bit PictureID.
                buf.extend_from_slice(&[0x80 | if p == 0 { 0x10 } else { 0 }, 0x80, 0x80 | (l.picture_id >> 8) as u8, l.picture_id as u8]);
                if p == 0 {
                    // VP8 frame tag (P bit clear on key frames) and the key frame start code + size.
                    let tag = u32::from(!key) | 0x10 | (1000 << 5);
                    buf.extend_from_slice(&tag.to_le_bytes()[..3]);
                    if key {
                        buf.extend_from_slice(&[0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);
                    }
                }
                buf.resize(size, 0x55);
                self.buf = buf;
                self.send();
                let l = &mut self.layers[i];
                l.seq = l.seq.wrapping_add(1);
            }
        }
    }

    fn audio_packet(&mut self) {
        let mut buf = std::mem::take(&mut self.buf);
        self.audio.ts = self.audio.ts.wrapping_add(960);
        Self::header(&mut buf, false, self.audio_pt, &self.audio);
        buf.resize(100, 0x33);
        self.buf = buf;
        self.send();
        self.audio.seq = self.audio.seq.wrapping_add(1);
    }

    /// RTCP from the engine: PLI (PT 206 FMT 1) and FIR (FMT 4) ask for a key frame.
    fn on_datagram(&mut self, data: &[u8]) {
        match data[0] {
            20..=63 => {
                if let Some(c) = self.client.as_mut() {
                    c.handle_dtls(data);
                }
                return;
            }
            128..=191 if (192..=223).contains(&data[1]) => {}
            _ => return,
        }
        let mut plain = data.to_vec();
        if let Some(c) = self.client.as_mut() {
            if !c.unprotect_rtcp(&mut plain) {
                return;
            }
        }
        let mut off = 0;
        while off + 12 <= plain.len() {
            let len = (u16::from_be_bytes([plain[off + 2], plain[off + 3]]) as usize + 1) * 4;
            let (fmt, pt) = (plain[off] & 0x1f, plain[off + 1]);
            if pt == 206 && (fmt == 1 || fmt == 4) {
                let media = if fmt == 1 { plain.get(off + 8..off + 12) } else { plain.get(off + 12..off + 16) };
                if let Some(m) = media {
                    let ssrc = u32::from_be_bytes([m[0], m[1], m[2], m[3]]);
                    for l in &mut self.layers {
                        if l.ssrc == ssrc && l.last_key.is_none_or(|t| t.elapsed() > Duration::from_millis(300)) {
                            l.key_pending = true;
                            self.key_requests += 1;
                        }
                    }
                }
            }
            off += len;
        }
    }
}

fn run_gen() {
    let rx = commands();
    let sock = bind(4 << 20);
    emit(json!({ "ev": "ready", "port": sock.local_addr().unwrap().port(), "pid": std::process::id() }));
    let mut client = None;
    let mut gen: Option<Gen> = None;
    let mut next_frame = Instant::now();
    let mut next_audio = Instant::now();
    let mut next_consent = Instant::now();
    let mut buf = vec![0u8; 2048];
    loop {
        while let Ok(cmd) = rx.try_recv() {
            match cmd["cmd"].as_str().unwrap_or("") {
                "client" => {
                    let c = client_from(&cmd);
                    emit(json!({ "ev": "dtls", "dtlsParameters": c.dtls_parameters() }));
                    client = Some(c);
                }
                "start" => {
                    let to = addr(&cmd, "target");
                    if let Some(c) = client.as_mut() {
                        if let Err(e) = handshake(&sock, to, c) {
                            fail(e);
                        }
                    }
                    sock.set_nonblocking(true).unwrap();
                    let ssrcs: Vec<u32> = serde_json::from_value(cmd["videoSsrcs"].clone()).unwrap_or_else(|e| fail(format!("videoSsrcs: {e}")));
                    let layer = |ssrc: u32, n: u32| Layer { ssrc, seq: (n * 7919) as u16, ts: n * 104_729, picture_id: 0, last_key: None, key_pending: false };
                    let suite = client.as_ref().and_then(|c| c.srtp_suite());
                    gen = Some(Gen {
                        sock: sock.try_clone().unwrap(),
                        to,
                        client: client.take(),
                        video_pt: cmd["videoPt"].as_u64().unwrap_or(96) as u8,
                        audio_pt: cmd["audioPt"].as_u64().unwrap_or(100) as u8,
                        layers: ssrcs.iter().enumerate().map(|(i, &s)| layer(s, i as u32 + 1)).collect(),
                        audio: layer(cmd["audioSsrc"].as_u64().unwrap_or_else(|| fail("audioSsrc missing")) as u32, 9),
                        buf: Vec::with_capacity(1500),
                        rng: 0x9e37_79b9_7f4a_7c15,
                        sent_packets: 0,
                        sent_bytes: 0,
                        send_errors: 0,
                        key_frames: 0,
                        key_requests: 0,
                    });
                    next_frame = Instant::now();
                    next_audio = Instant::now();
                    emit(json!({ "ev": "started", "srtpCryptoSuite": suite }));
                }
                "stats" => {
                    let g = gen.as_ref();
                    emit(json!({
                        "ev": "stats",
                        "packets": g.map_or(0, |g| g.sent_packets),
                        "bytes": g.map_or(0, |g| g.sent_bytes),
                        "sendErrors": g.map_or(0, |g| g.send_errors),
                        "keyFrames": g.map_or(0, |g| g.key_frames),
                        "keyFrameRequests": g.map_or(0, |g| g.key_requests),
                    }));
                }
                "stop" => {
                    emit(json!({ "ev": "stopped" }));
                    return;
                }
                other => emit(json!({ "ev": "error", "message": format!("unknown command {other:?}") })),
            }
        }
        let Some(g) = gen.as_mut() else {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        let now = Instant::now();
        if now >= next_frame {
            g.video_frame(now);
            next_frame += Duration::from_nanos(1_000_000_000 / FPS);
            if next_frame < now {
                next_frame = now;
            }
        }
        if now >= next_audio {
            g.audio_packet();
            next_audio += AUDIO_EVERY;
            if next_audio < now {
                next_audio = now;
            }
        }
        if now >= next_consent {
            next_consent = now + CONSENT_EVERY;
            if let Some(req) = g.client.as_ref().and_then(|c| c.binding_request().ok()) {
                let _ = g.sock.send_to(&req, g.to);
            }
        }
        while let Ok((n, from)) = g.sock.recv_from(&mut buf) {
            if from == g.to && n >= 2 {
                g.on_datagram(&buf[..n]);
            }
        }
        let wake = next_frame.min(next_audio).min(Instant::now() + Duration::from_millis(5));
        let now = Instant::now();
        if wake > now {
            std::thread::sleep(wake - now);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sink

/// One-way latency histogram: 1 µs buckets to 10 ms, 10 µs buckets to 100 ms, then 1 ms buckets
/// to 10 s (a quantile reads as its bucket's lower bound).
struct Histogram {
    buckets: Vec<u32>,
    count: u64,
    max_us: u64,
}

impl Histogram {
    const FINE: u64 = 10_000;
    const MID: u64 = 100_000;
    const MID_BUCKETS: u64 = (Self::MID - Self::FINE) / 10;
    const COARSE_BUCKETS: u64 = (10_000_000 - Self::MID) / 1000;

    fn new() -> Self {
        Histogram { buckets: vec![0; (Self::FINE + Self::MID_BUCKETS + Self::COARSE_BUCKETS) as usize], count: 0, max_us: 0 }
    }
    fn bucket(us: u64) -> usize {
        let b = if us < Self::FINE {
            us
        } else if us < Self::MID {
            Self::FINE + (us - Self::FINE) / 10
        } else {
            Self::FINE + Self::MID_BUCKETS + ((us - Self::MID) / 1000).min(Self::COARSE_BUCKETS - 1)
        };
        b as usize
    }
    fn lower_bound(b: usize) -> u64 {
        let b = b as u64;
        if b < Self::FINE {
            b
        } else if b < Self::FINE + Self::MID_BUCKETS {
            Self::FINE + (b - Self::FINE) * 10
        } else {
            Self::MID + (b - Self::FINE - Self::MID_BUCKETS) * 1000
        }
    }
    fn add(&mut self, us: u64) {
        self.buckets[Self::bucket(us)] += 1;
        self.count += 1;
        self.max_us = self.max_us.max(us);
    }
    fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let want = ((self.count as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += u64::from(n);
            if seen >= want {
                return Some(Self::lower_bound(i));
            }
        }
        Some(self.max_us)
    }
}

#[derive(Default)]
struct Stream {
    base: u64,
    highest: u64,
    received: u64,
    started: bool,
}

impl Stream {
    fn on_seq(&mut self, seq: u16) {
        if !self.started {
            self.started = true;
            self.base = u64::from(seq) + (1 << 16);
            self.highest = self.base;
            self.received = 1;
            return;
        }
        // Extend against the highest seen (RFC 3550 A.1 style).
        let cycle = self.highest & !0xffff;
        let mut ext = cycle | u64::from(seq);
        if ext + 0x8000 < self.highest {
            ext += 1 << 16;
        } else if ext > self.highest + 0x8000 && ext >= 1 << 16 {
            ext -= 1 << 16;
        }
        if ext < self.base {
            return;
        }
        self.highest = self.highest.max(ext);
        self.received += 1;
    }
    fn expected(&self) -> u64 {
        if self.started { self.highest - self.base + 1 } else { 0 }
    }
}

/// A multiplicative hash for the sink's per-packet stream lookup (SipHash costs more than the
/// rest of the bookkeeping).
#[derive(Default, Clone, Copy)]
struct BuildFast;
struct FastHasher(u64);
impl std::hash::BuildHasher for BuildFast {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}
impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7cc1_b727_220a_95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
    }
}

struct Session {
    client: WebRtcClient,
    to: SocketAddr,
    /// Index of the sink socket it uses (0: the shared one; a session with a WebRtcServer
    /// transport gets its own, since every such transport has the server's address).
    sock: usize,
    ice_ok: bool,
    last_check: Instant,
}

fn run_sink() {
    let rx = commands();
    let gro = std::env::args().nth(2).as_deref() != Some("no-gro");
    // A sink socket takes a sender's GSO send as one datagram (UDP_GRO), as a NIC with receive
    // offload would: over loopback the receiving side's per-datagram work runs in the sending
    // process and is charged to it, so without this the forwarder under test would pay for the
    // sink's socket deliveries, segment by segment.
    let enable_gro = |s: &UdpSocket| {
        if gro {
            sfu_core::bench::enable_gro(s);
        }
    };
    let main = bind(16 << 20);
    enable_gro(&main);
    main.set_nonblocking(true).unwrap();
    emit(json!({ "ev": "ready", "port": main.local_addr().unwrap().port(), "pid": std::process::id() }));
    let mut socks: Vec<UdpSocket> = vec![main];
    let mut sock_session: Vec<Option<usize>> = vec![None]; // own socket -> its session
    let mut sessions: Vec<Session> = vec![];
    let mut by_addr: HashMap<SocketAddr, usize> = HashMap::new(); // sessions on the shared socket
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut pending: HashMap<usize, (String, Instant)> = HashMap::new(); // session -> (id, started)
    let mut streams: HashMap<u64, Stream, BuildFast> = HashMap::default();
    let mut hist = Histogram::new();
    let (mut packets, mut bytes, mut undecryptable, mut datagrams) = (0u64, 0u64, 0u64, 0u64);
    let mut next_consent = Instant::now() + CONSENT_EVERY;
    const BATCH: usize = 128;
    // Room for a coalesced (UDP_GRO) datagram in every slot.
    let mut bufs = vec![vec![0u8; 1 << 16]; BATCH];
    let mut scratch: Vec<u8> = Vec::with_capacity(2048);
    let mut pollfds: Vec<libc::pollfd> = vec![];
    loop {
        while let Ok(cmd) = rx.try_recv() {
            match cmd["cmd"].as_str().unwrap_or("") {
                "client" => {
                    let c = client_from(&cmd);
                    let id = cmd["id"].as_str().unwrap_or_else(|| fail("client: id missing")).to_owned();
                    emit(json!({ "ev": "dtls", "id": id, "dtlsParameters": c.dtls_parameters() }));
                    let to = addr(&cmd, "target");
                    let sock = if cmd["ownSocket"].as_bool().unwrap_or(false) {
                        let s = bind(4 << 20);
                        s.set_nonblocking(true).unwrap();
                        enable_gro(&s);
                        socks.push(s);
                        sock_session.push(Some(sessions.len()));
                        socks.len() - 1
                    } else {
                        by_addr.insert(to, sessions.len());
                        0
                    };
                    by_id.insert(id, sessions.len());
                    sessions.push(Session { client: c, to, sock, ice_ok: false, last_check: Instant::now() });
                }
                "connect" => {
                    // ICE first; DTLS follows when the transport answers (driven below).
                    let id = cmd["id"].as_str().unwrap_or("").to_owned();
                    let Some(&i) = by_id.get(&id) else { fail(format!("no session {id:?}")) };
                    sessions[i].last_check = Instant::now() - Duration::from_secs(1);
                    pending.insert(i, (id, Instant::now()));
                }
                "reset" => {
                    streams.clear();
                    hist = Histogram::new();
                    (packets, bytes, undecryptable, datagrams) = (0, 0, 0, 0);
                    emit(json!({ "ev": "reset" }));
                }
                "stats" => {
                    let expected: u64 = streams.values().map(Stream::expected).sum();
                    let received: u64 = streams.values().map(|s| s.received).sum();
                    emit(json!({
                        "ev": "stats",
                        "packets": packets,
                        "datagrams": datagrams,
                        "bytes": bytes,
                        "streams": streams.len(),
                        "expected": expected,
                        "lost": expected.saturating_sub(received),
                        "undecryptable": undecryptable,
                        "latencyUs": { "p50": hist.quantile(0.5), "p99": hist.quantile(0.99), "max": hist.max_us, "count": hist.count },
                    }));
                }
                "stop" => {
                    emit(json!({ "ev": "stopped" }));
                    return;
                }
                other => emit(json!({ "ev": "error", "message": format!("unknown command {other:?}") })),
            }
        }
        // Handshakes in progress: ICE checks every 100 ms until answered, DTLS timers, completion.
        if !pending.is_empty() {
            let mut done = vec![];
            for (&i, (id, started)) in &pending {
                let s = &mut sessions[i];
                let sock = &socks[s.sock];
                if !s.ice_ok {
                    if s.last_check.elapsed() >= Duration::from_millis(100) {
                        s.last_check = Instant::now();
                        if let Ok(req) = s.client.binding_request() {
                            let _ = sock.send_to(&req, s.to);
                        }
                    }
                } else {
                    s.client.handle_timeout();
                    while let Some(d) = s.client.poll_transmit() {
                        let _ = sock.send_to(&d, s.to);
                    }
                }
                if s.client.connected() {
                    emit(json!({ "ev": "connected", "id": id, "srtpCryptoSuite": s.client.srtp_suite() }));
                    done.push(i);
                } else if s.client.failed() || started.elapsed() > Duration::from_secs(20) {
                    fail(format!("handshake of {id} with {} failed (ICE answered: {})", s.to, s.ice_ok));
                }
            }
            for i in done {
                pending.remove(&i);
            }
        }
        if !sessions.is_empty() && Instant::now() >= next_consent {
            next_consent = Instant::now() + CONSENT_EVERY;
            for s in &sessions {
                if let Ok(req) = s.client.binding_request() {
                    let _ = socks[s.sock].send_to(&req, s.to);
                }
            }
        }
        // Wait (2 ms at most) for any socket, then drain the ready ones.
        if pollfds.len() != socks.len() {
            pollfds = socks.iter().map(|s| libc::pollfd { fd: s.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
        }
        // SAFETY: pollfds is a live array of pollfd of the length given.
        let ready = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, 2) };
        if ready <= 0 {
            continue;
        }
        for si in 0..socks.len() {
            if pollfds[si].revents == 0 {
                continue;
            }
            pollfds[si].revents = 0;
            let got = recv_batch(&socks[si], &mut bufs);
            let now_ns = mono_ns();
            datagrams += got.len() as u64;
            // A datagram may hold several that the sender passed as one GSO send (UDP_GRO on
            // the sink's sockets): segments of `seg` bytes, the last one shorter.
            for (from, data) in got.iter().flat_map(|&(slot, len, seg, from)| bufs[slot][..len].chunks(seg.max(1)).map(move |d| (from, d))) {
                let n = data.len();
                if n < 12 {
                    continue;
                }
                let session = match sock_session[si] {
                    Some(s) => Some(s),
                    None if sessions.is_empty() => None,
                    None => by_addr.get(&from).copied(),
                };
                match data[0] {
                    0..=3 => {
                        // ICE answers
                        if let Some(s) = session {
                            sessions[s].ice_ok = true;
                        }
                        continue;
                    }
                    20..=63 => {
                        if let Some(s) = session {
                            sessions[s].client.handle_dtls(data);
                            // Answer with the next flight at once (not at the next timer).
                            while let Some(d) = sessions[s].client.poll_transmit() {
                                let _ = socks[si].send_to(&d, from);
                            }
                        }
                        continue;
                    }
                    128..=191 if !(192..=223).contains(&data[1]) => {}
                    _ => continue, // RTCP (sender reports): not counted
                }
                let pkt: &[u8] = match session {
                    Some(s) => {
                        scratch.clear();
                        scratch.extend_from_slice(data);
                        if !sessions[s].client.unprotect_rtp(&mut scratch) {
                            undecryptable += 1;
                            continue;
                        }
                        &scratch
                    }
                    None => data,
                };
                packets += 1;
                bytes += n as u64;
                let ssrc = u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]);
                let seq = u16::from_be_bytes([pkt[2], pkt[3]]);
                let key = ((si as u64) << 48) | (u64::from(from.port()) << 32) | u64::from(ssrc);
                streams.entry(key).or_default().on_seq(seq);
                // (Padding, RFC 3550: the last octet counts it; the engine pads packets of a
                // frame to one size for GSO.)
                let end = if pkt[0] & 0x20 != 0 { pkt.len().saturating_sub(usize::from(pkt[pkt.len() - 1])) } else { pkt.len() };
                if end >= 20 {
                    let t = u64::from_be_bytes(pkt[end - 8..end].try_into().unwrap());
                    if t <= now_ns && now_ns - t < 10_000_000_000 {
                        hist.add((now_ns - t) / 1000);
                    }
                }
            }
        }
    }
}

/// Up to `bufs.len()` datagrams in one `recvmmsg` (nothing when none is queued), each as
/// `(slot, length, segment size, sender)`: the segment size is the UDP_GRO one when the kernel
/// handed over a coalesced datagram, else its length.
fn recv_batch(sock: &UdpSocket, bufs: &mut [Vec<u8>]) -> Vec<(usize, usize, usize, SocketAddr)> {
    let n = bufs.len();
    const CMSG_SPACE: usize = 64;
    // SAFETY: zeroed sockaddr_in / mmsghdr / iovec are valid "empty" values.
    let mut addrs: Vec<libc::sockaddr_in> = vec![unsafe { std::mem::zeroed() }; n];
    let mut ctrl = vec![[0u64; CMSG_SPACE / 8]; n];
    let mut iovs: Vec<libc::iovec> = bufs.iter_mut().map(|b| libc::iovec { iov_base: b.as_mut_ptr().cast(), iov_len: b.len() }).collect();
    let mut msgs: Vec<libc::mmsghdr> = (0..n)
        .map(|i| {
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_in).cast();
            m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as u32;
            m.msg_hdr.msg_iov = &mut iovs[i];
            m.msg_hdr.msg_iovlen = 1;
            m.msg_hdr.msg_control = ctrl[i].as_mut_ptr().cast();
            m.msg_hdr.msg_controllen = CMSG_SPACE as _;
            m
        })
        .collect();
    // SAFETY: every mmsghdr points at a live iovec, sockaddr and control buffer of the vectors above.
    let got = unsafe { libc::recvmmsg(sock.as_raw_fd(), msgs.as_mut_ptr(), n as u32, libc::MSG_DONTWAIT, std::ptr::null_mut()) };
    if got <= 0 {
        return vec![];
    }
    (0..got as usize)
        .map(|i| {
            let a = &addrs[i];
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            let len = msgs[i].msg_len as usize;
            let seg = sfu_core::bench::gro_segment_size(&msgs[i].msg_hdr).unwrap_or(len);
            (i, len, seg, SocketAddr::from((ip, u16::from_be(a.sin_port))))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Raw forwarder

fn run_raw(batched: bool) {
    let rx = commands();
    let sock = bind(4 << 20);
    emit(json!({ "ev": "ready", "port": sock.local_addr().unwrap().port(), "pid": std::process::id() }));
    let mut outs: Vec<(UdpSocket, SocketAddr)> = vec![];
    let mut allowed: Vec<u32> = vec![];
    let mut buf = vec![0u8; 2048];
    let (mut received, mut sent, mut send_errors) = (0u64, 0u64, 0u64);
    // Batched: a turn's packets (bytes back to back, their lengths), then per destination.
    let (mut turn, mut lens) = (Vec::<u8>::new(), Vec::<usize>::new());
    let mut gso = GsoBatch::default();
    sock.set_nonblocking(true).unwrap();
    loop {
        while let Ok(cmd) = rx.try_recv() {
            match cmd["cmd"].as_str().unwrap_or("") {
                "start" => {
                    let dests: Vec<String> = serde_json::from_value(cmd["dests"].clone()).unwrap_or_else(|e| fail(format!("dests: {e}")));
                    allowed = serde_json::from_value(cmd["ssrcs"].clone()).unwrap_or_else(|e| fail(format!("ssrcs: {e}")));
                    outs = dests
                        .iter()
                        .map(|d| {
                            let s = bind(1 << 20);
                            s.set_nonblocking(true).unwrap();
                            (s, d.parse().unwrap_or_else(|_| fail(format!("dests: bad address {d}"))))
                        })
                        .collect();
                    emit(json!({ "ev": "started" }));
                }
                "stats" => emit(json!({ "ev": "stats", "received": received, "sent": sent, "sendErrors": send_errors })),
                "stop" => {
                    emit(json!({ "ev": "stopped" }));
                    return;
                }
                other => emit(json!({ "ev": "error", "message": format!("unknown command {other:?}") })),
            }
        }
        // Readiness wait (the engine's reactor does epoll; poll on one fd is the same work).
        let mut pfd = libc::pollfd { fd: sock.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one live pollfd.
        unsafe { libc::poll(&mut pfd, 1, 5) };
        turn.clear();
        lens.clear();
        for _ in 0..64 {
            let Ok((n, _)) = sock.recv_from(&mut buf) else { break };
            received += 1;
            if n < 12 {
                continue;
            }
            let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
            if !allowed.contains(&ssrc) {
                continue;
            }
            if batched {
                turn.extend_from_slice(&buf[..n]);
                lens.push(n);
                continue;
            }
            for (s, to) in &outs {
                match s.send_to(&buf[..n], to) {
                    Ok(_) => sent += 1,
                    Err(_) => send_errors += 1,
                }
            }
        }
        if !lens.is_empty() {
            gso.prepare(&turn, &lens);
            for (s, to) in &outs {
                let ok = gso.send(s, to);
                sent += ok;
                send_errors += lens.len() as u64 - ok;
            }
        }
    }
}

/// The raw forwarder's batched sends, the engine's I/O method: the turn's datagrams for one
/// destination in one `sendmmsg`, each run of equal-size datagrams (the last may be shorter)
/// as one UDP GSO message. The messages depend only on the turn, so they are built once per
/// turn ([`GsoBatch::prepare`]) and sent to each destination in turn; the arrays are reused.
#[derive(Default)]
struct GsoBatch {
    iovs: Vec<libc::iovec>,
    /// Per message: (first datagram, datagrams, segment size or 0).
    msgs: Vec<(usize, usize, u16)>,
    controls: Vec<[u64; 4]>,
    hdrs: Vec<libc::mmsghdr>,
}

impl GsoBatch {
    /// Builds the messages for the datagrams of `lens`, back to back in `data` (which must stay
    /// as it is until the last [`GsoBatch::send`]).
    fn prepare(&mut self, data: &[u8], lens: &[usize]) {
        self.iovs.clear();
        let mut off = 0;
        for &n in lens {
            self.iovs.push(libc::iovec { iov_base: data[off..].as_ptr() as *mut libc::c_void, iov_len: n });
            off += n;
        }
        self.msgs.clear();
        let mut j = 0;
        while j < lens.len() {
            let mut count = 1;
            while j + count < lens.len() && count < 64 && lens[j + count] <= lens[j] {
                count += 1;
                if lens[j + count - 1] < lens[j] {
                    break;
                }
            }
            self.msgs.push((j, count, if count > 1 { lens[j] as u16 } else { 0 }));
            j += count;
        }
        self.controls.clear();
        self.controls.resize(self.msgs.len(), [0; 4]);
        self.hdrs.clear();
        // SAFETY: an all-zero mmsghdr is a valid empty header.
        self.hdrs.resize_with(self.msgs.len(), || unsafe { std::mem::zeroed() });
        // (No vector grows from here on: the pointers taken below stay valid.)
        for (e, &(first, count, seg)) in self.msgs.iter().enumerate() {
            let h = &mut self.hdrs[e].msg_hdr;
            h.msg_iov = &mut self.iovs[first];
            h.msg_iovlen = count;
            if seg > 0 {
                sfu_core::bench::set_udp_segment(h, &mut self.controls[e], seg);
            }
        }
    }

    /// Sends the prepared messages to `to` on `sock`; returns the datagrams the kernel took.
    fn send(&mut self, sock: &UdpSocket, to: &SocketAddr) -> u64 {
        let SocketAddr::V4(v4) = to else { return 0 }; // (the bench runs on 127.0.0.1)
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() },
            sin_zero: [0; 8],
        };
        for h in &mut self.hdrs {
            h.msg_hdr.msg_name = &addr as *const libc::sockaddr_in as *mut libc::c_void;
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        }
        // SAFETY: hdrs point at live iovecs, the address, control buffers and bytes.
        let n = unsafe { libc::sendmmsg(sock.as_raw_fd(), self.hdrs.as_mut_ptr(), self.hdrs.len() as u32, libc::MSG_DONTWAIT) };
        if n <= 0 {
            return 0;
        }
        self.msgs[..n as usize].iter().map(|m| m.1 as u64).sum()
    }
}

// ---------------------------------------------------------------------------------------------
// Control plane through the Rust API (the engine's own cost, no Node face)

/// `count` createWebRtcTransport + consume pairs on a fresh worker, awaited one after another:
/// (pairs/s, pairs per CPU second, latency p50/p99 µs, RSS growth per pair KiB). `consume`: false
/// for transports alone.
/// Requests in flight in the pipelined control-plane rounds.
const PIPELINE_DEPTH: usize = 32;
/// Pairs alive during the churn rounds (each new pair closes the oldest).
const CHURN_LIVE: usize = 1000;

fn control_round(count: usize, consume: bool, depth: usize, server: bool, live: usize) -> Value {
    use sfu_core::{ConsumerOptions, PlainTransportOptions, ProducerOptions, RouterOptions, Worker, WorkerSettings, WebRtcTransportOptions};
    fn from<T: serde::de::DeserializeOwned>(v: Value) -> T {
        serde_json::from_value(v).unwrap_or_else(|e| fail(e))
    }
    let worker = Worker::new(WorkerSettings::default()).unwrap_or_else(|e| fail(e));
    let router = worker
        .create_router_blocking(RouterOptions {
            media_codecs: from(json!([
                { "kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2 },
                { "kind": "video", "mimeType": "video/VP8", "clockRate": 90000 }])),
            ..Default::default()
        })
        .unwrap_or_else(|e| fail(e));
    let pt = router
        .create_plain_transport_blocking(from::<PlainTransportOptions>(json!({ "listenInfo": { "protocol": "udp", "ip": IP }, "rtcpMux": true, "comedia": true })))
        .unwrap_or_else(|e| fail(e));
    let producer = pt
        .produce_blocking(from::<ProducerOptions>(json!({
            "kind": "video",
            "rtpParameters": { "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000 }], "encodings": [{ "ssrc": 1 }, { "ssrc": 2 }, { "ssrc": 3 }] },
        })))
        .unwrap_or_else(|e| fail(e));
    let web_rtc_server = server.then(|| {
        worker
            .create_webrtc_server_blocking(from(json!({ "listenInfos": [{ "protocol": "udp", "ip": IP, "port": 0 }] })))
            .unwrap_or_else(|e| fail(e))
    });
    // What a face hands the engine: options parsed from JSON on the calling thread (the
    // capabilities object is the client's, built once, parsed per call).
    let consume_json = json!({ "producerId": producer.id(), "rtpCapabilities": serde_json::to_value(router.rtp_capabilities()).unwrap() });
    let transport_json = match &web_rtc_server {
        Some(s) => json!({ "webRtcServerId": s.id() }),
        None => json!({ "listenInfos": [{ "protocol": "udp", "ip": IP }] }),
    };
    let cpu = || {
        // SAFETY: getrusage fills the struct we own.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
        let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
        t(u.ru_utime) + t(u.ru_stime)
    };
    let rss = || -> u64 {
        let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        s.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok()).unwrap_or(0)
    };
    // Churn (`live` > 0): a population of `live` pairs exists first (untimed); then each new
    // pair closes the oldest, as on a server in steady state, where freed memory is reused.
    let population = std::rc::Rc::new(std::cell::RefCell::new(std::collections::VecDeque::new()));
    for _ in 0..live {
        let t = router.create_webrtc_transport_blocking(from::<WebRtcTransportOptions>(transport_json.clone())).unwrap_or_else(|e| fail(e));
        t.consume_blocking(from::<ConsumerOptions>(consume_json.clone())).unwrap_or_else(|e| fail(e));
        population.borrow_mut().push_back(t);
    }
    let rss0 = rss();
    let (c0, t0) = (cpu(), Instant::now());
    // `depth` callers on this thread, each awaiting its own pairs in turn: depth 1 is one
    // request at a time; more is what a signaling server with many clients does.
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap_or_else(|e| fail(e));
    let local = tokio::task::LocalSet::new();
    let (kept, mut lat) = local.block_on(&rt, async {
        let mut tasks = vec![];
        for i in 0..depth {
            let n = count / depth + usize::from(i < count % depth);
            let (router, transport_json, consume_json, population) = (router.clone(), transport_json.clone(), consume_json.clone(), population.clone());
            tasks.push(tokio::task::spawn_local(async move {
                let (mut kept, mut lat) = (Vec::with_capacity(n), Vec::with_capacity(n));
                for _ in 0..n {
                    let a = Instant::now();
                    let t = router.create_webrtc_transport(from::<WebRtcTransportOptions>(transport_json.clone())).await.unwrap_or_else(|e| fail(e));
                    let c = if consume { Some(t.consume(from::<ConsumerOptions>(consume_json.clone())).await.unwrap_or_else(|e| fail(e))) } else { None };
                    lat.push(a.elapsed().as_micros() as u64);
                    if live > 0 {
                        let mut p = population.borrow_mut();
                        p.push_back(t);
                        if p.len() > live {
                            if let Some(old) = p.pop_front() {
                                old.close();
                            }
                        }
                        continue;
                    }
                    kept.push((t, c));
                }
                (kept, lat)
            }));
        }
        let (mut kept, mut lat) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for t in tasks {
            let (k, l) = t.await.unwrap_or_else(|e| fail(e));
            kept.extend(k);
            lat.extend(l);
        }
        (kept, lat)
    });
    let (wall, cpu_s) = (t0.elapsed().as_secs_f64(), cpu() - c0);
    let kib = rss().saturating_sub(rss0) as f64 / count as f64;
    // What the pairs cost while nothing happens (unconnected: ICE/DTLS timers, ticks).
    let (c1, t1) = (cpu(), Instant::now());
    std::thread::sleep(std::time::Duration::from_secs(2));
    let idle = (cpu() - c1) / t1.elapsed().as_secs_f64() * 100.0;
    lat.sort_unstable();
    drop(kept);
    drop(web_rtc_server);
    worker.close();
    json!({
        "pairs": count,
        "inFlight": depth,
        "webRtcServer": server,
        "live": live,
        "pairsPerSecond": (count as f64 / wall).round(),
        "pairsPerCpuSecond": (count as f64 / cpu_s).round(),
        "pairLatencyUs": { "p50": lat[count / 2], "p99": lat[(count * 99 / 100).min(count - 1)] },
        "memoryPerPairKiB": (kib * 10.0).round() / 10.0,
        "idleCpuPercent": (idle * 100.0).round() / 100.0,
    })
}

/// The control plane through the Rust API (the engine's own cost, no Node face), and the memory
/// of a consumer transport before media: transports alone, then transport + consumer pairs.
fn run_control(count: usize) {
    // Each round in a fresh process: memory freed by one round would hide the next one's growth.
    let round = |mode: &str, depth: usize, server: bool| -> Value {
        let exe = std::env::current_exe().unwrap_or_else(|e| fail(e));
        let args = [String::from("control-round"), count.to_string(), mode.into(), depth.to_string(), if server { "server" } else { "ports" }.into()];
        let out = std::process::Command::new(exe).args(args).output().unwrap_or_else(|e| fail(e));
        if !out.status.success() {
            fail(format!("control-round {mode}: {}", String::from_utf8_lossy(&out.stdout)));
        }
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| fail(format!("control-round {mode}: {e}")))
    };
    let transports = round("transports", 1, false);
    let mut pairs = round("pairs", 1, false);
    let kib = |v: &Value| v["memoryPerPairKiB"].as_f64().unwrap_or(0.0);
    pairs["ev"] = json!("control");
    // Before media: a consumer's send history (its NACK retransmission buffer, 512 slots of 20 B)
    // is allocated at its first packet.
    pairs["memoryKiB"] = json!({
        "transport": kib(&transports),
        "consumer": ((kib(&pairs) - kib(&transports)) * 10.0).round() / 10.0,
    });
    // The same pairs with many requests in flight (as many signaling clients at once), each
    // transport with its own port or all on one WebRtcServer.
    pairs["pipelined"] = json!({
        "ports": round("pairs", PIPELINE_DEPTH, false),
        "webRtcServer": round("pairs", PIPELINE_DEPTH, true),
    });
    pairs["webRtcServer"] = round("pairs", 1, true);
    // Steady state: CHURN_LIVE pairs exist and each new one closes the oldest (create + consume
    // + close per pair), so the heap reuses freed memory instead of growing.
    pairs["churn"] = json!({
        "ports": round("churn", PIPELINE_DEPTH, false),
        "webRtcServer": round("churn", PIPELINE_DEPTH, true),
    });
    pairs["transportsOnly"] = transports;
    emit(pairs);
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("gen") => run_gen(),
        Some("sink") => run_sink(),
        Some("raw") => run_raw(std::env::args().nth(2).as_deref() == Some("batched")),
        Some("control") => run_control(std::env::args().nth(2).and_then(|n| n.parse().ok()).filter(|&n| n > 0).unwrap_or(2000)),
        Some("control-round") => {
            let count = std::env::args().nth(2).and_then(|n| n.parse().ok()).filter(|&n| n > 0).unwrap_or(2000);
            let depth = std::env::args().nth(4).and_then(|n| n.parse().ok()).filter(|&n| n > 0).unwrap_or(1);
            let server = std::env::args().nth(5).as_deref() == Some("server");
            let mode = std::env::args().nth(3);
            let live = if mode.as_deref() == Some("churn") { CHURN_LIVE } else { 0 };
            let v = control_round(count, mode.as_deref() != Some("transports"), depth, server, live);
            println!("{v}");
        }
        _ => {
            eprintln!("usage: sfu-load gen|sink [no-gro]|raw [batched]|control [pairs]   (driven by benches/load/load.js over stdin/stdout)");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Histogram;

    /// Every value lands in the bucket whose lower bound is the largest one not above it, and
    /// quantiles read those bounds (10 µs steps between 10 and 100 ms, 1 ms beyond).
    #[test]
    fn histogram_buckets_round_down_to_their_resolution() {
        for (us, bound) in [(0, 0), (9_999, 9_999), (10_000, 10_000), (10_009, 10_000), (26_123, 26_120), (99_999, 99_990), (100_000, 100_000), (123_456, 123_000), (50_000_000, 9_999_000)] {
            assert_eq!(Histogram::lower_bound(Histogram::bucket(us)), bound, "{us} µs");
        }
        let mut h = Histogram::new();
        for us in [5, 15_004, 15_006, 26_123] {
            h.add(us);
        }
        assert_eq!((h.quantile(0.25), h.quantile(0.5), h.quantile(0.75), h.quantile(1.0)), (Some(5), Some(15_000), Some(15_000), Some(26_120)));
        assert_eq!(Histogram::new().quantile(0.5), None);
    }
}
