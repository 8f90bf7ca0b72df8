//! The DTLS handshake of every WebRtcTransport (`sfu_core::fuzzing::DtlsSessionHook`, the
//! sans-IO session over rtc-dtls): a client and a server session on simulated time, connected with
//! each other's real fingerprints, over an in-memory link the input controls. `webrtc_datagrams`
//! stops at the HelloVerifyRequest unless its input echoes the random cookie; here every flight is
//! real, so the script reaches the cookie exchange, the certificate flights, ChangeCipherSpec and
//! Finished, and corrupts them.
//!
//! Input: byte 0 is the setup (bit 0: the server's `connect()` comes after the first op, what
//! reaches it before is kept as early datagrams; bit 1: the client's remote role is `auto`, else
//! `server`; bit 2: the server expects a wrong fingerprint; bit 3: the client does), then an op
//! script read with [`Reader`] until the input ends. Direction bit 4: 0 is client → server,
//! 1 server → client; "the next datagram" is the first one in flight that way.
//!
//! | op (low 4 bits of the tag byte) | fields |
//! | --- | --- |
//! | 0 deliver | bit 4: direction; the next datagram arrives unchanged |
//! | 1 drop | bit 4: direction; the next datagram is lost |
//! | 2 duplicate | bit 4: direction; the next datagram arrives and stays next |
//! | 3 reorder | bit 4: direction; the next two datagrams swap |
//! | 4 mutate | bit 4: direction; `edit: u8` (low 3 bits the kind, high 5 bits the record: its index in the datagram, past the last one the last), then the kind's fields; the next datagram is changed in place, offsets count from the record's start: 0 xor `off: u16, mask: u8`; 1 truncate to `len: u16`; 2 extend by `n: u8` bytes of the input; 3 content type `u8`; 4 epoch `u16`; 5 sequence number (low 32 bits) `u32`; 6 length `u16`; 7 splice `off: u16, n: u8` bytes of the input over it |
//! | 5 inject | bit 4: to the client, else the server; `len: u16` (mod 1501), then `len` bytes, delivered at once |
//! | 6 advance | `ms: u16`; time moves on and the retransmission timers run |
//! | 7 send | bit 4: from the server; `len: u16` (mod 1201) bytes of application data |
//! | 8 close | bit 4: the server, else the client |
//! | 9 flush | bit 4: direction; everything in flight that way arrives (not what that provokes) |
//! | other | settle: both ways until the link is quiet |
//!
//! When the script ends, unless a side was closed, the link runs out undisturbed: it settles and
//! time jumps to the next retransmission, for a bounded number of rounds.
//!
//! Checks, after every op: no panic; each datagram at most 1500 bytes, what one delivery or timer
//! provokes at most 32 datagrams and 48 KiB, what a side sends in all at most 64 KiB + 8x what
//! it received (application data the script sent allowed on top); the link gets quiet within 1024 deliveries; state events only on a change, never
//! out of `closed`, out of `failed` only to `closed` (our own `close()`), `connected` at most once,
//! after the SRTP keys, and the last one is `state()`; one `SrtpKeys`, of the right length for its
//! profile, from the right role; when both sides have keys, the same keys and profile, one client
//! and one server; a side expecting a wrong fingerprint never connects; application data that
//! arrives was sent by the peer, each send arriving at most once. An untampered script (no mutate,
//! inject or close; right fingerprints; at most 3 datagrams dropped; at most 3 s advanced) must end
//! with both sides `connected` on AES-128-GCM after the run-out: drops are recovered by
//! retransmissions.

use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;
use std::time::Instant;

use sfu_core::fuzzing::{DtlsCertificate, DtlsOutput, DtlsSessionHook};
use sfu_core::{DtlsParameters, DtlsRole, DtlsState};

use crate::harness::Reader;

const CLIENT: usize = 0;
const SERVER: usize = 1;
const NAMES: [&str; 2] = ["client", "server"];
/// Datagrams in flight per direction; the oldest are lost beyond.
const MAX_IN_FLIGHT: usize = 256;
const MAX_DATAGRAM: usize = 1500;
/// What one delivery, timer or call may make a side send.
const MAX_BURST_DATAGRAMS: usize = 32;
const MAX_BURST_BYTES: usize = 48 << 10;
/// What a side may send in all: this plus `AMPLIFICATION` times what it received.
const MAX_SENT_BASE: usize = 64 << 10;
const AMPLIFICATION: usize = 8;
/// Deliveries before the link must be quiet, without time moving.
const MAX_SETTLE: usize = 1024;
/// Rounds of the final run-out (settle, then jump to the next retransmission).
const RUN_OUT_ROUNDS: usize = 100;
/// What an untampered script may lose and wait and still be bound to connect.
const CLEAN_MAX_DROPS: usize = 3;
const CLEAN_MAX_ADVANCE_MS: u64 = 3000;
const MAX_INJECT: usize = 1500;
const MAX_SEND: usize = 1200;

fn certificates() -> &'static [DtlsCertificate; 3] {
    static CERTS: OnceLock<[DtlsCertificate; 3]> = OnceLock::new();
    CERTS.get_or_init(|| std::array::from_fn(|_| DtlsCertificate::generate().expect("DTLS certificate")))
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Keying material length for a profile: 2 x (key + salt).
fn material_len(profile: &str) -> Option<usize> {
    Some(match profile {
        "AeadAes128Gcm" => 2 * (16 + 12),
        "AeadAes256Gcm" => 2 * (32 + 12),
        "Aes128CmHmacSha1_80" | "Aes128CmHmacSha1_32" => 2 * (16 + 14),
        _ => return None,
    })
}

struct Side {
    session: DtlsSessionHook,
    connected: bool,
    remote: DtlsParameters,
    /// Expects the wrong fingerprint: must never connect.
    wrong_fingerprint: bool,
    states: Vec<DtlsState>,
    keys: Option<(String, Vec<u8>)>,
    /// Application data this side sent -> times not yet received.
    sent_data: HashMap<Vec<u8>, usize>,
    sent_bytes: usize,
    received_bytes: usize,
    /// Application data accepted by `send_application_data`: messages, and bytes with a record's
    /// overhead (what the session may send on top of the handshake; sent before the handshake
    /// completes, it goes out in one burst when it does).
    app_messages: usize,
    app_bytes: usize,
    closed: bool,
}

struct Sim {
    now: u64,
    sides: [Side; 2],
    /// `link[s]`: datagrams in flight from side `s`.
    link: [VecDeque<Vec<u8>>; 2],
    tampered: bool,
    drops: usize,
    advanced: u64,
    messages: u32,
}

/// Byte ranges `(start, end)` of the records of a datagram (the last one may be cut short).
fn records(d: &[u8]) -> Vec<usize> {
    let mut starts = vec![];
    let mut off = 0;
    while off < d.len() {
        starts.push(off);
        let Some(len) = d.get(off + 11..off + 13) else { break };
        off += 13 + usize::from(u16::from_be_bytes([len[0], len[1]]));
    }
    starts
}

fn put(d: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    if d.len() < at + bytes.len() {
        d.resize(at + bytes.len(), 0);
    }
    d[at..at + bytes.len()].copy_from_slice(bytes);
}

/// Op 4: changes `d` in place as the script says.
fn mutate(d: &mut Vec<u8>, r: &mut Reader) {
    let edit = r.u8();
    let starts = records(d);
    let at = starts.get(usize::from(edit >> 3)).or(starts.last()).copied().unwrap_or(0);
    match edit & 7 {
        0 => {
            let (off, mask) = (usize::from(r.u16()), r.u8());
            if d.len() > at {
                let i = at + off % (d.len() - at);
                d[i] ^= mask.max(1);
            }
        }
        1 => {
            let len = usize::from(r.u16());
            d.truncate(at + len % (d.len() - at).max(1));
        }
        2 => {
            let n = usize::from(r.u8());
            d.extend_from_slice(r.bytes(n));
        }
        3 => put(d, at, &[r.u8()]),
        4 => put(d, at + 3, &r.u16().to_be_bytes()),
        5 => put(d, at + 7, &r.u32().to_be_bytes()),
        6 => put(d, at + 11, &r.u16().to_be_bytes()),
        _ => {
            let (off, n) = (usize::from(r.u16()), usize::from(r.u8()));
            let bytes = r.bytes(n);
            let i = at + off % (d.len() - at + 1).max(1);
            put(d, i.min(d.len()), bytes);
        }
    }
}

impl Sim {
    fn new(setup: u8) -> Self {
        let [cc, sc, other] = certificates();
        let client_remote = DtlsParameters {
            role: if setup & 2 != 0 { DtlsRole::Auto } else { DtlsRole::Server },
            fingerprints: if setup & 8 != 0 { other } else { sc }.fingerprints().to_vec(),
        };
        let server_remote = DtlsParameters { role: DtlsRole::Client, fingerprints: if setup & 4 != 0 { other } else { cc }.fingerprints().to_vec() };
        let side = |cert: &DtlsCertificate, remote: DtlsParameters, wrong: bool| Side {
            session: DtlsSessionHook::new(cert, epoch()),
            connected: false,
            remote,
            wrong_fingerprint: wrong,
            states: vec![],
            keys: None,
            sent_data: HashMap::new(),
            sent_bytes: 0,
            received_bytes: 0,
            app_messages: 0,
            app_bytes: 0,
            closed: false,
        };
        Sim {
            now: 0,
            sides: [side(cc, client_remote, setup & 8 != 0), side(sc, server_remote, setup & 4 != 0)],
            link: [VecDeque::new(), VecDeque::new()],
            tampered: false,
            drops: 0,
            advanced: 0,
            messages: 0,
        }
    }

    fn connect(&mut self, s: usize) {
        let side = &mut self.sides[s];
        if !side.connected {
            side.connected = true;
            let closed = side.session.state() == DtlsState::Closed;
            let r = side.session.connect(self.now, side.remote.clone());
            // A closed session stays closed: connect() is refused then, else it must succeed.
            assert_eq!(r.is_err(), closed, "connect with valid parameters (closed before: {closed}): {r:?}");
        }
        self.drain();
    }

    /// Takes what both sides have to send and to report, checking it.
    fn drain(&mut self) {
        for s in [CLIENT, SERVER] {
            let name = NAMES[s];
            let (mut n, mut bytes) = (0, 0);
            while let Some(d) = self.sides[s].session.poll_transmit() {
                n += 1;
                bytes += d.len();
                assert!(d.len() <= MAX_DATAGRAM, "{name} sent a {}-byte datagram", d.len());
                let side = &mut self.sides[s];
                assert!(n <= MAX_BURST_DATAGRAMS + side.app_messages, "{name} sent {n} datagrams at once");
                assert!(bytes <= MAX_BURST_BYTES + side.app_bytes, "{name} sent {bytes} bytes at once");
                side.sent_bytes += d.len();
                let allowed = MAX_SENT_BASE + AMPLIFICATION * side.received_bytes + side.app_bytes;
                assert!(side.sent_bytes <= allowed, "{name} sent {} bytes having received {}", side.sent_bytes, side.received_bytes);
                if self.link[s].len() == MAX_IN_FLIGHT {
                    self.link[s].pop_front();
                    self.drops += 1;
                }
                self.link[s].push_back(d);
            }
            while let Some(e) = self.sides[s].session.poll_event() {
                self.on_event(s, e);
            }
            let side = &self.sides[s];
            assert_eq!(side.session.state(), side.states.last().copied().unwrap_or(DtlsState::New), "{name}: state() is not the last state event");
        }
        if let (Some((pc, kc)), Some((ps, ks))) = (&self.sides[CLIENT].keys, &self.sides[SERVER].keys) {
            assert_eq!(pc, ps, "client and server settled on different SRTP profiles");
            assert!(kc == ks, "client and server exported different SRTP keying material");
        }
    }

    fn on_event(&mut self, s: usize, e: DtlsOutput) {
        let name = NAMES[s];
        match e {
            DtlsOutput::StateChange(st) => {
                let side = &mut self.sides[s];
                let last = side.states.last().copied().unwrap_or(DtlsState::New);
                assert_ne!(st, last, "{name}: a state event without a change ({st:?})");
                assert!(last != DtlsState::Closed, "{name}: {st:?} after closed");
                assert!(last != DtlsState::Failed || st == DtlsState::Closed, "{name}: {st:?} after failed");
                if st == DtlsState::Connected {
                    assert!(!side.states.contains(&DtlsState::Connected), "{name}: connected twice ({:?})", side.states);
                    assert!(side.keys.is_some(), "{name}: connected without SRTP keys");
                    assert!(!side.wrong_fingerprint, "{name}: connected to a peer whose certificate does not match the fingerprints");
                    let role = if s == CLIENT { DtlsRole::Client } else { DtlsRole::Server };
                    assert_eq!(side.session.local_role(), role, "{name}: local role");
                }
                side.states.push(st);
            }
            DtlsOutput::SrtpKeys { profile, material, is_client } => {
                let side = &mut self.sides[s];
                assert!(side.keys.is_none(), "{name}: SRTP keys twice");
                assert_eq!(is_client, s == CLIENT, "{name}: is_client");
                assert_eq!(Some(material.len()), material_len(&profile), "{name}: {}-byte keying material for {profile}", material.len());
                side.keys = Some((profile, material));
            }
            DtlsOutput::ApplicationData(d) => {
                let left = self.sides[1 - s].sent_data.get_mut(&d);
                let Some(left) = left.filter(|n| **n > 0) else {
                    panic!("{name} received {} bytes of application data the peer did not send (or sent fewer times)", d.len());
                };
                *left -= 1;
            }
        }
    }

    /// Side `s`'s next datagram in flight arrives (as `d`, when given).
    fn deliver(&mut self, from: usize, d: Vec<u8>) {
        let to = 1 - from;
        self.sides[to].received_bytes += d.len();
        self.sides[to].session.handle_datagram(self.now, &d);
        self.drain();
    }

    fn deliver_next(&mut self, from: usize) {
        if let Some(d) = self.link[from].pop_front() {
            self.deliver(from, d);
        }
    }

    /// Delivers both ways until nothing is in flight.
    fn settle(&mut self) {
        let mut n = 0;
        while !self.link[CLIENT].is_empty() || !self.link[SERVER].is_empty() {
            for from in [CLIENT, SERVER] {
                if let Some(d) = self.link[from].pop_front() {
                    n += 1;
                    assert!(n <= MAX_SETTLE, "the link is not quiet after {MAX_SETTLE} deliveries");
                    self.deliver(from, d);
                }
            }
        }
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
        for s in [CLIENT, SERVER] {
            self.sides[s].session.handle_timeout(self.now);
            self.drain();
        }
    }

    fn op(&mut self, r: &mut Reader) {
        let tag = r.u8();
        let dir = usize::from(tag >> 4 & 1);
        match tag & 15 {
            0 => self.deliver_next(dir),
            1 => {
                if self.link[dir].pop_front().is_some() {
                    self.drops += 1;
                }
            }
            2 => {
                if let Some(d) = self.link[dir].front().cloned() {
                    self.deliver(dir, d);
                }
            }
            3 => {
                if self.link[dir].len() >= 2 {
                    self.link[dir].swap(0, 1);
                }
            }
            4 => {
                // Fields are read whether or not something is in flight: the script stays aligned.
                let mut d = self.link[dir].front().cloned().unwrap_or_default();
                mutate(&mut d, r);
                if let Some(front) = self.link[dir].front_mut() {
                    *front = d;
                    self.tampered = true;
                }
            }
            5 => {
                let len = usize::from(r.u16()) % (MAX_INJECT + 1);
                let d = r.bytes(len).to_vec();
                self.tampered = true;
                // To the client (bit 4) is "from the server".
                self.deliver(dir, d);
            }
            6 => {
                let ms = u64::from(r.u16());
                self.advanced += ms;
                self.advance(ms);
            }
            7 => {
                let len = usize::from(r.u16()) % (MAX_SEND + 1);
                self.messages += 1;
                let mut data: Vec<u8> = (0..len).map(|i| (i as u32 ^ self.messages) as u8).collect();
                put(&mut data, 0, &self.messages.to_be_bytes()[4 - len.min(4)..]);
                let side = &mut self.sides[dir];
                if side.session.send_application_data(self.now, &data).is_ok() {
                    side.app_messages += 1;
                    side.app_bytes += data.len() + 64;
                    *side.sent_data.entry(data).or_default() += 1;
                }
                self.drain();
            }
            8 => {
                self.sides[dir].closed = true;
                self.sides[dir].session.close(self.now);
                self.drain();
            }
            9 => {
                for d in std::mem::take(&mut self.link[dir]) {
                    self.deliver(dir, d);
                }
            }
            _ => self.settle(),
        }
    }

    /// Settles and jumps to the next retransmission until both sides are done or nothing is due.
    fn run_out(&mut self) {
        for _ in 0..RUN_OUT_ROUNDS {
            self.settle();
            let states = [self.sides[CLIENT].session.state(), self.sides[SERVER].session.state()];
            if states.iter().all(|s| *s != DtlsState::Connecting) {
                return;
            }
            let next = [CLIENT, SERVER].iter().filter_map(|s| self.sides[*s].session.next_timeout()).min();
            let Some(at) = next else { return };
            self.advance(at.saturating_sub(self.now));
        }
    }
}

/// The whole check (see the module docs).
pub fn dtls_handshake(data: &[u8]) {
    let mut r = Reader::new(data);
    let setup = r.u8();
    let mut sim = Sim::new(setup);
    sim.connect(CLIENT);
    let late = setup & 1 != 0;
    if !late {
        sim.connect(SERVER);
    }
    let mut first = true;
    while !r.is_empty() {
        sim.op(&mut r);
        if std::mem::take(&mut first) && late {
            sim.connect(SERVER);
        }
    }
    if late {
        sim.connect(SERVER);
    }
    let closed = sim.sides.iter().any(|s| s.closed);
    if !closed {
        sim.run_out();
    }
    let wrong = setup & 12 != 0;
    if !sim.tampered && !closed && !wrong && sim.drops <= CLEAN_MAX_DROPS && sim.advanced <= CLEAN_MAX_ADVANCE_MS {
        let [c, s] = &sim.sides;
        assert_eq!(
            (c.session.state(), s.session.state()),
            (DtlsState::Connected, DtlsState::Connected),
            "an untampered handshake did not complete: client {:?}, server {:?} ({} dropped, {} ms advanced)",
            c.states,
            s.states,
            sim.drops,
            sim.advanced
        );
        assert_eq!(c.keys.as_ref().map(|k| k.0.as_str()), Some("AeadAes128Gcm"), "untampered: the preferred SRTP profile");
        assert_eq!((c.states.as_slice(), s.states.as_slice()), (&[DtlsState::Connecting, DtlsState::Connected][..], &[DtlsState::Connecting, DtlsState::Connected][..]));
    }
}

/// Op scripts for the seeds (`make-seeds.rs`).
pub mod script {
    /// Client → server (`false`) or server → client (`true`).
    fn dir(to_client: bool) -> u8 {
        u8::from(to_client) << 4
    }

    /// An op script under construction.
    pub struct Script(Vec<u8>);

    impl Script {
        /// `setup` is the first byte (bit 0: late server `connect()`, bit 1: `auto` role, bits 2
        /// and 3: wrong fingerprint on the server / client).
        pub fn new(setup: u8) -> Self {
            Script(vec![setup])
        }
        /// The next datagram from the server (else the client) arrives.
        pub fn deliver(mut self, from_server: bool) -> Self {
            self.0.push(dir(from_server));
            self
        }
        /// The next datagram from the server (else the client) is lost.
        pub fn drop(mut self, from_server: bool) -> Self {
            self.0.push(1 | dir(from_server));
            self
        }
        /// The next datagram arrives and stays next.
        pub fn duplicate(mut self, from_server: bool) -> Self {
            self.0.push(2 | dir(from_server));
            self
        }
        /// The next two datagrams swap.
        pub fn reorder(mut self, from_server: bool) -> Self {
            self.0.push(3 | dir(from_server));
            self
        }
        /// Mutates the next datagram: `edit` (kind | record << 3) and its fields.
        pub fn mutate(mut self, from_server: bool, edit: u8, fields: &[u8]) -> Self {
            self.0.extend_from_slice(&[4 | dir(from_server), edit]);
            self.0.extend_from_slice(fields);
            self
        }
        /// A datagram of the script's own to the client (else the server).
        pub fn inject(mut self, to_client: bool, d: &[u8]) -> Self {
            self.0.push(5 | dir(to_client));
            self.0.extend_from_slice(&(d.len() as u16).to_be_bytes());
            self.0.extend_from_slice(d);
            self
        }
        /// Time moves on by `ms`.
        pub fn advance(mut self, ms: u16) -> Self {
            self.0.push(6);
            self.0.extend_from_slice(&ms.to_be_bytes());
            self
        }
        /// `len` bytes of application data from the server (else the client).
        pub fn send(mut self, from_server: bool, len: u16) -> Self {
            self.0.push(7 | dir(from_server));
            self.0.extend_from_slice(&len.to_be_bytes());
            self
        }
        /// `close()` on the server (else the client).
        pub fn close(mut self, server: bool) -> Self {
            self.0.push(8 | dir(server));
            self
        }
        /// Everything in flight from the server (else the client) arrives.
        pub fn flush(mut self, from_server: bool) -> Self {
            self.0.push(9 | dir(from_server));
            self
        }
        /// Both ways until the link is quiet.
        pub fn settle(mut self) -> Self {
            self.0.push(15);
            self
        }
        /// The script.
        pub fn bytes(self) -> Vec<u8> {
            self.0
        }
    }
}
