//! The C face's string entry points (`sfu-ffi`, called as C would: NUL-terminated strings through
//! the exported `extern "C"` functions) on one live worker.
//!
//! Input: up to 8 calls separated by NUL bytes (a C string ends at its NUL anyway); each call is
//! an entry byte (`ENTRIES[byte % ENTRIES.len()]`, see [`entry_byte`]) and then the string
//! argument, any bytes (non-UTF-8, non-JSON); the two byte-buffer entries (RTP, RTCP) read
//! `C0 80` as a zero byte. In the string, `%P`, `%D` and `%S` stand for the id of the current
//! producer, data producer and WebRtcServer, `%R` for the router's `rtpCapabilities` JSON; an
//! optional JSON argument given as `NULL` is passed as a NULL pointer. Objects a call creates
//! become the current ones for the following calls (a router created by the input gets the
//! transports created after it); transports are created fresh per input when a call needs one
//! that the input did not create; a fixture producer / consumer / data producer stand in until
//! the input creates its own.
//!
//! Checks, for every call: no panic (`SFU_PANIC` or any panic); a non-UTF-8 argument fails with
//! `SFU_INVALID_UTF8`, a non-JSON one with `SFU_INVALID_JSON` and only those; never
//! `SFU_NULL_ARGUMENT` or `SFU_WORKER_CLOSED` on the live worker; a failure leaves the
//! out-pointer NULL and a non-empty `sfu_last_error_message`, a success a non-NULL handle and an
//! empty message. After every input: every handle and string is released (objects closed, then
//! freed), the worker is alive, answers `dump` and holds exactly the fixture's objects again (no
//! router, transport, producer, server or observer survives its input); every event the worker
//! delivered was a JSON object with an `event` field.

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;
use sfu::*;

const MEDIA_CODECS: &str = r#"{"mediaCodecs":[{"kind":"audio","mimeType":"audio/opus","clockRate":48000,"channels":2},{"kind":"video","mimeType":"video/VP8","clockRate":90000},{"kind":"video","mimeType":"video/VP9","clockRate":90000,"parameters":{"profile-id":2}},{"kind":"video","mimeType":"video/H264","clockRate":90000,"parameters":{"packetization-mode":1,"profile-level-id":"42e01f","level-asymmetry-allowed":1}}]}"#;
const PLAIN: &str = r#"{"listenInfo":{"protocol":"udp","ip":"127.0.0.1"},"rtcpMux":true,"comedia":false}"#;
const WEBRTC: &str = r#"{"listenInfos":[{"protocol":"udp","ip":"127.0.0.1"},{"protocol":"tcp","ip":"127.0.0.1"}]}"#;
const PRODUCE_VP8: &str = r#"{"kind":"video","rtpParameters":{"codecs":[{"mimeType":"video/VP8","payloadType":96,"clockRate":90000}],"encodings":[{"ssrc":1111}]}}"#;
const MAX_CALLS: usize = 8;

/// What kind of string argument an entry takes.
#[derive(Clone, Copy, PartialEq)]
enum Arg {
    /// JSON, required.
    Json,
    /// JSON or NULL.
    OptJson,
    /// A UTF-8 string (an id).
    Str,
    /// Bytes with a length (no UTF-8 / JSON requirement).
    Bytes,
}

/// The entry points, by the input's entry byte.
const ENTRIES: &[(&str, Arg)] = &[
    ("sfu_worker_new", Arg::OptJson),
    ("sfu_worker_update_settings", Arg::Json),
    ("sfu_worker_create_router", Arg::Json),
    ("sfu_worker_create_webrtc_server", Arg::Json),
    ("sfu_router_create_plain_transport", Arg::Json),
    ("sfu_router_create_webrtc_transport", Arg::Json),
    ("sfu_router_create_direct_transport", Arg::OptJson),
    ("sfu_router_create_audio_level_observer", Arg::OptJson),
    ("sfu_router_create_active_speaker_observer", Arg::OptJson),
    ("sfu_router_can_consume", Arg::Json),
    ("sfu_plain_transport_connect", Arg::Json),
    ("sfu_webrtc_transport_connect", Arg::Json),
    ("sfu_plain_transport_produce", Arg::Json),
    ("sfu_plain_transport_consume", Arg::Json),
    ("sfu_webrtc_transport_produce", Arg::Json),
    ("sfu_webrtc_transport_consume", Arg::Json),
    ("sfu_direct_transport_produce", Arg::Json),
    ("sfu_direct_transport_consume", Arg::Json),
    ("sfu_direct_transport_produce_data", Arg::OptJson),
    ("sfu_direct_transport_consume_data", Arg::Json),
    ("sfu_consumer_set_preferred_layers", Arg::Json),
    ("sfu_producer_enable_trace_event", Arg::Json),
    ("sfu_consumer_enable_trace_event", Arg::Json),
    ("sfu_data_producer_send (subchannels)", Arg::OptJson),
    ("sfu_rtp_observer_add_producer", Arg::Str),
    ("sfu_router_can_consume (producer id)", Arg::Str),
    ("sfu_producer_send", Arg::Bytes),
    ("sfu_direct_transport_send_rtcp", Arg::Bytes),
];

/// The entry byte that calls `name` (never 0, the call separator).
pub fn entry_byte(name: &str) -> u8 {
    let i = ENTRIES.iter().position(|(n, _)| *n == name).unwrap_or_else(|| panic!("no entry {name}"));
    if i == 0 { ENTRIES.len() as u8 } else { i as u8 }
}

/// `C0 80` (an overlong NUL) -> `00`, for the byte-buffer entries.
fn unescape_nul(arg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(arg.len());
    let mut i = 0;
    while i < arg.len() {
        if arg[i] == 0xc0 && arg.get(i + 1) == Some(&0x80) {
            out.push(0);
            i += 2;
        } else {
            out.push(arg[i]);
            i += 1;
        }
    }
    out
}

/// The fixture: the live worker, its router, a producer (plain transport) with a consumer, a
/// direct transport with a data producer.
struct Fixture {
    worker: *mut sfu_worker,
    router: *mut sfu_router,
    caps: String,
    producer: *mut sfu_producer,
    consumer: *mut sfu_consumer,
    direct: *mut sfu_direct_transport,
    data_producer: *mut sfu_data_producer,
    /// worker / router / transport dumps with only the fixture: what every input must leave.
    worker_dump: Value,
    router_dump: Value,
    direct_dump: Value,
}

// SAFETY: the handles are heap boxes the C face documents as usable from any thread; the
// fixture is used under a mutex.
unsafe impl Send for Fixture {}

/// Bad events seen by the event callback (it runs on the worker thread and must not panic).
static BAD_EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn on_event(json: *const c_char, _user: *mut c_void) {
    let text = unsafe { CStr::from_ptr(json) }.to_bytes();
    let ok = serde_json::from_slice::<Value>(text).is_ok_and(|v| v.get("event").is_some_and(Value::is_string));
    if !ok {
        if let Ok(mut bad) = BAD_EVENTS.lock() {
            bad.push(String::from_utf8_lossy(text).into_owned());
        }
    }
}

unsafe extern "C" fn on_payload(target: *const c_char, _kind: sfu_payload_kind, data: *const u8, len: usize, _ppid: u32, _user: *mut c_void) {
    if target.is_null() || (data.is_null() && len != 0) {
        if let Ok(mut bad) = BAD_EVENTS.lock() {
            bad.push("payload callback with a NULL target or data".into());
        }
    }
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn must(r: sfu_result, what: &str) {
    assert_eq!(r, sfu_result::SFU_OK, "fixture: {what}: {}", last_error());
}

/// This thread's last error message (`sfu_last_error_message`, asked for its length first).
fn last_error() -> String {
    let mut n = 0usize;
    // SAFETY: NULL with length 0 asks for the length only.
    assert_eq!(unsafe { sfu_last_error_message(null_mut(), 0, &mut n) }, sfu_result::SFU_OK);
    let mut buf = vec![0 as c_char; n + 1];
    let mut m = 0usize;
    // SAFETY: buf holds n + 1 bytes.
    assert_eq!(unsafe { sfu_last_error_message(buf.as_mut_ptr(), buf.len(), &mut m) }, sfu_result::SFU_OK);
    assert_eq!(m, n, "the message length changed between two reads");
    // SAFETY: NUL-terminated by sfu_last_error_message.
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

/// Takes a JSON string a call returned, freeing it.
fn take_json(p: *mut c_char, what: &str) -> Value {
    assert!(!p.is_null(), "{what}: NULL JSON");
    // SAFETY: a string from libsfu, freed once here.
    let v = serde_json::from_slice(unsafe { CStr::from_ptr(p) }.to_bytes());
    unsafe { sfu_string_free(p) };
    v.unwrap_or_else(|e| panic!("{what}: not JSON: {e}"))
}

fn dump_worker(w: *const sfu_worker) -> Value {
    let mut out = null_mut();
    // SAFETY: live handle, writable out-pointer.
    let r = unsafe { sfu_worker_dump(w, &mut out) };
    assert_eq!(r, sfu_result::SFU_OK, "the worker does not answer dump: {}", last_error());
    take_json(out, "worker dump")
}

fn dump_router(r: *const sfu_router) -> Value {
    let mut out = null_mut();
    // SAFETY: live handle.
    let rc = unsafe { sfu_router_dump(r, &mut out) };
    assert_eq!(rc, sfu_result::SFU_OK, "router dump: {}", last_error());
    take_json(out, "router dump")
}

fn dump_direct(t: *const sfu_direct_transport) -> Value {
    let mut out = null_mut();
    // SAFETY: live handle.
    let rc = unsafe { sfu_direct_transport_dump(t, &mut out) };
    assert_eq!(rc, sfu_result::SFU_OK, "direct transport dump: {}", last_error());
    take_json(out, "direct transport dump")
}

/// The fields of a dump that list owned objects.
fn owned(v: &Value) -> Vec<(String, Value)> {
    let keys = ["routerIds", "webRtcServerIds", "transportIds", "rtpObserverIds", "producerIds", "consumerIds", "dataProducerIds", "dataConsumerIds", "mapProducerIdConsumerIds", "mapDataProducerIdDataConsumerIds"];
    let mut out: Vec<(String, Value)> = keys.iter().filter_map(|k| v.get(*k).map(|x| (k.to_string(), sorted(x)))).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Array(a) => {
            let mut a: Vec<Value> = a.iter().map(sorted).collect();
            a.sort_by_key(|x| x.to_string());
            Value::Array(a)
        }
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), sorted(x))).collect()),
        x => x.clone(),
    }
}

fn fixture() -> &'static Mutex<Fixture> {
    static F: OnceLock<Mutex<Fixture>> = OnceLock::new();
    F.get_or_init(|| unsafe {
        let mut worker = null_mut();
        must(sfu_worker_new(c(r#"{"logLevel":"none"}"#).as_ptr(), &mut worker), "worker");
        must(sfu_worker_set_event_callback(worker, Some(on_event), null_mut()), "event callback");
        must(sfu_worker_set_payload_callback(worker, Some(on_payload), null_mut()), "payload callback");
        let mut router = null_mut();
        must(sfu_worker_create_router(worker, c(MEDIA_CODECS).as_ptr(), &mut router), "router");
        let mut caps = null_mut();
        must(sfu_router_rtp_capabilities(router, &mut caps), "caps");
        let caps_text = CStr::from_ptr(caps).to_str().unwrap().to_owned();
        sfu_string_free(caps);
        let mut plain = null_mut();
        must(sfu_router_create_plain_transport(router, c(PLAIN).as_ptr(), &mut plain), "plain transport");
        let mut producer = null_mut();
        must(sfu_plain_transport_produce(plain, c(PRODUCE_VP8).as_ptr(), &mut producer), "producer");
        let pid = CStr::from_ptr(sfu_producer_id(producer)).to_str().unwrap().to_owned();
        let mut consumer = null_mut();
        let opts = format!(r#"{{"producerId":"{pid}","rtpCapabilities":{caps_text}}}"#);
        must(sfu_plain_transport_consume(plain, c(&opts).as_ptr(), &mut consumer), "consumer");
        sfu_plain_transport_free(plain); // the transport stays open with the router
        let mut direct = null_mut();
        must(sfu_router_create_direct_transport(router, null(), &mut direct), "direct transport");
        let mut data_producer = null_mut();
        must(sfu_direct_transport_produce_data(direct, c(r#"{"label":"fixture"}"#).as_ptr(), &mut data_producer), "data producer");
        let worker_dump = dump_worker(worker);
        let router_dump = dump_router(router);
        let direct_dump = dump_direct(direct);
        Mutex::new(Fixture { worker, router, caps: caps_text, producer, consumer, direct, data_producer, worker_dump, router_dump, direct_dump })
    })
}

/// Everything one input created, released at its end (children first).
#[derive(Default)]
struct Created {
    workers: Vec<*mut sfu_worker>,
    servers: Vec<*mut sfu_webrtc_server>,
    routers: Vec<*mut sfu_router>,
    plains: Vec<*mut sfu_plain_transport>,
    webrtcs: Vec<*mut sfu_webrtc_transport>,
    directs: Vec<*mut sfu_direct_transport>,
    observers: Vec<*mut sfu_rtp_observer>,
    producers: Vec<*mut sfu_producer>,
    consumers: Vec<*mut sfu_consumer>,
    data_producers: Vec<*mut sfu_data_producer>,
    data_consumers: Vec<*mut sfu_data_consumer>,
}

impl Created {
    /// Closes and frees everything, newest first, children before parents.
    unsafe fn release(&mut self) {
        unsafe {
            for p in self.data_consumers.drain(..).rev() {
                sfu_data_consumer_close(p);
                sfu_data_consumer_free(p);
            }
            for p in self.data_producers.drain(..).rev() {
                sfu_data_producer_close(p);
                sfu_data_producer_free(p);
            }
            for p in self.consumers.drain(..).rev() {
                sfu_consumer_close(p);
                sfu_consumer_free(p);
            }
            for p in self.producers.drain(..).rev() {
                sfu_producer_close(p);
                sfu_producer_free(p);
            }
            for p in self.observers.drain(..).rev() {
                sfu_rtp_observer_close(p);
                sfu_rtp_observer_free(p);
            }
            for p in self.directs.drain(..).rev() {
                sfu_direct_transport_close(p);
                sfu_direct_transport_free(p);
            }
            for p in self.webrtcs.drain(..).rev() {
                sfu_webrtc_transport_close(p);
                sfu_webrtc_transport_free(p);
            }
            for p in self.plains.drain(..).rev() {
                sfu_plain_transport_close(p);
                sfu_plain_transport_free(p);
            }
            for p in self.routers.drain(..).rev() {
                sfu_router_close(p);
                sfu_router_free(p);
            }
            for p in self.servers.drain(..).rev() {
                sfu_webrtc_server_close(p);
                sfu_webrtc_server_free(p);
            }
            for p in self.workers.drain(..).rev() {
                sfu_worker_free(p);
            }
        }
    }
}

impl Drop for Created {
    /// Also on a failed check (a panic in `cargo test`), so the next input starts clean.
    fn drop(&mut self) {
        // SAFETY: the handles came from the input's calls and are released once (`release`
        // drains the lists).
        unsafe { self.release() };
    }
}

/// One input's calls: the fixture, what the input created, and the current objects.
struct Session<'f> {
    f: &'f Fixture,
    made: Created,
    router: Option<*mut sfu_router>,
    plain: Option<*mut sfu_plain_transport>,
    webrtc: Option<*mut sfu_webrtc_transport>,
    direct: Option<*mut sfu_direct_transport>,
    observer: Option<*mut sfu_rtp_observer>,
    producer: Option<*mut sfu_producer>,
    consumer: Option<*mut sfu_consumer>,
    data_producer: Option<*mut sfu_data_producer>,
    server: Option<*mut sfu_webrtc_server>,
}

fn id_of(p: *const c_char) -> String {
    assert!(!p.is_null(), "an id getter returned NULL");
    // SAFETY: ids are borrowed NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

impl Session<'_> {
    fn router(&self) -> *mut sfu_router {
        self.router.unwrap_or(self.f.router)
    }

    fn plain(&mut self) -> *mut sfu_plain_transport {
        if let Some(t) = self.plain {
            return t;
        }
        let mut t = null_mut();
        // SAFETY: live router; fresh out-pointer.
        let r = unsafe { sfu_router_create_plain_transport(self.router(), c(PLAIN).as_ptr(), &mut t) };
        must(r, "fresh plain transport");
        self.made.plains.push(t);
        self.plain = Some(t);
        t
    }

    fn webrtc(&mut self) -> *mut sfu_webrtc_transport {
        if let Some(t) = self.webrtc {
            return t;
        }
        let mut t = null_mut();
        // SAFETY: as above.
        let r = unsafe { sfu_router_create_webrtc_transport(self.router(), c(WEBRTC).as_ptr(), &mut t) };
        must(r, "fresh webrtc transport");
        self.made.webrtcs.push(t);
        self.webrtc = Some(t);
        t
    }

    fn direct(&self) -> *mut sfu_direct_transport {
        self.direct.unwrap_or(self.f.direct)
    }

    fn producer(&self) -> *mut sfu_producer {
        self.producer.unwrap_or(self.f.producer)
    }

    /// Expands the placeholders of the module docs.
    fn expand(&self, arg: &[u8]) -> Vec<u8> {
        if !arg.contains(&b'%') {
            return arg.to_vec();
        }
        // SAFETY: live handles; ids are borrowed strings.
        let (p, d) = unsafe { (id_of(sfu_producer_id(self.producer())), id_of(sfu_data_producer_id(self.data_producer.unwrap_or(self.f.data_producer)))) };
        let s = self.server.map(|s| id_of(unsafe { sfu_webrtc_server_id(s) })).unwrap_or_else(|| "no-server".into());
        let mut out = Vec::with_capacity(arg.len() + 64);
        let mut i = 0;
        while i < arg.len() {
            let sub = match (arg[i], arg.get(i + 1)) {
                (b'%', Some(b'P')) => Some(p.as_bytes()),
                (b'%', Some(b'D')) => Some(d.as_bytes()),
                (b'%', Some(b'S')) => Some(s.as_bytes()),
                (b'%', Some(b'R')) => Some(self.f.caps.as_bytes()),
                _ => None,
            };
            match sub {
                Some(x) => {
                    out.extend_from_slice(x);
                    i += 2;
                }
                None => {
                    out.push(arg[i]);
                    i += 1;
                }
            }
        }
        out
    }

    /// One call: `entry` with the string `arg` (no NUL inside).
    fn call(&mut self, entry: usize, arg: &[u8]) {
        let (name, kind) = ENTRIES[entry];
        let arg = self.expand(arg);
        let cs = CString::new(arg.clone()).expect("no NUL inside an argument");
        let null_arg = kind == Arg::OptJson && arg == b"NULL";
        let p: *const c_char = if null_arg { null() } else { cs.as_ptr() };
        // The out-pointer of the call, if it has one: null after a failure, set after success.
        let mut out_set: Option<bool> = None;
        macro_rules! create {
            ($f:expr, $owner:expr, $list:ident, $cur:ident) => {{
                let mut h = null_mut();
                // Expanded inside the unsafe block below.
                let r = $f($owner, p, &mut h);
                out_set = Some(!h.is_null());
                if !h.is_null() {
                    self.made.$list.push(h);
                    self.$cur = Some(h);
                }
                r
            }};
        }
        let w = self.f.worker;
        // SAFETY (every call below): handles are live (the fixture's or this input's), strings
        // are NUL-terminated and outlive the call, out-pointers are writable.
        let r = unsafe {
            match name {
                "sfu_worker_new" => {
                    let mut h = null_mut();
                    let r = sfu_worker_new(p, &mut h);
                    out_set = Some(!h.is_null());
                    if !h.is_null() {
                        self.made.workers.push(h);
                    }
                    r
                }
                "sfu_worker_update_settings" => sfu_worker_update_settings(w, p),
                "sfu_worker_create_router" => create!(sfu_worker_create_router, w, routers, router),
                "sfu_worker_create_webrtc_server" => create!(sfu_worker_create_webrtc_server, w, servers, server),
                "sfu_router_create_plain_transport" => create!(sfu_router_create_plain_transport, self.router(), plains, plain),
                "sfu_router_create_webrtc_transport" => create!(sfu_router_create_webrtc_transport, self.router(), webrtcs, webrtc),
                "sfu_router_create_direct_transport" => create!(sfu_router_create_direct_transport, self.router(), directs, direct),
                "sfu_router_create_audio_level_observer" => create!(sfu_router_create_audio_level_observer, self.router(), observers, observer),
                "sfu_router_create_active_speaker_observer" => create!(sfu_router_create_active_speaker_observer, self.router(), observers, observer),
                "sfu_router_can_consume" => {
                    let pid = sfu_producer_id(self.producer());
                    let mut can = true;
                    sfu_router_can_consume(self.router(), pid, p, &mut can)
                }
                "sfu_router_can_consume (producer id)" => {
                    let mut can = true;
                    let caps = c(&self.f.caps);
                    sfu_router_can_consume(self.router(), p, caps.as_ptr(), &mut can)
                }
                "sfu_plain_transport_connect" => sfu_plain_transport_connect(self.plain(), p),
                "sfu_webrtc_transport_connect" => sfu_webrtc_transport_connect(self.webrtc(), p),
                "sfu_plain_transport_produce" => create!(sfu_plain_transport_produce, self.plain(), producers, producer),
                "sfu_plain_transport_consume" => create!(sfu_plain_transport_consume, self.plain(), consumers, consumer),
                "sfu_webrtc_transport_produce" => create!(sfu_webrtc_transport_produce, self.webrtc(), producers, producer),
                "sfu_webrtc_transport_consume" => create!(sfu_webrtc_transport_consume, self.webrtc(), consumers, consumer),
                "sfu_direct_transport_produce" => create!(sfu_direct_transport_produce, self.direct(), producers, producer),
                "sfu_direct_transport_consume" => create!(sfu_direct_transport_consume, self.direct(), consumers, consumer),
                "sfu_direct_transport_produce_data" => create!(sfu_direct_transport_produce_data, self.direct(), data_producers, data_producer),
                "sfu_direct_transport_consume_data" => {
                    let mut h = null_mut();
                    let r = sfu_direct_transport_consume_data(self.direct(), p, &mut h);
                    out_set = Some(!h.is_null());
                    if !h.is_null() {
                        self.made.data_consumers.push(h);
                    }
                    r
                }
                "sfu_consumer_set_preferred_layers" => sfu_consumer_set_preferred_layers(self.consumer.unwrap_or(self.f.consumer), p),
                "sfu_producer_enable_trace_event" => sfu_producer_enable_trace_event(self.producer(), p),
                "sfu_consumer_enable_trace_event" => sfu_consumer_enable_trace_event(self.consumer.unwrap_or(self.f.consumer), p),
                "sfu_data_producer_send (subchannels)" => {
                    let msg = b"fuzz";
                    sfu_data_producer_send(self.data_producer.unwrap_or(self.f.data_producer), 51, msg.as_ptr(), msg.len(), p, -1)
                }
                "sfu_rtp_observer_add_producer" => match self.observer {
                    Some(o) => sfu_rtp_observer_add_producer(o, p),
                    None => return,
                },
                "sfu_producer_send" => {
                    let packet = unescape_nul(&arg);
                    sfu_producer_send(self.producer(), packet.as_ptr(), packet.len())
                }
                "sfu_direct_transport_send_rtcp" => {
                    let packet = unescape_nul(&arg);
                    sfu_direct_transport_send_rtcp(self.direct(), packet.as_ptr(), packet.len())
                }
                other => unreachable!("{other}"),
            }
        };
        self.check(name, kind, &arg, null_arg, r, out_set);
    }

    fn check(&self, name: &str, kind: Arg, arg: &[u8], null_arg: bool, r: sfu_result, out_set: Option<bool>) {
        use sfu_result::*;
        let message = last_error();
        let what = format!("{name}({:?})", String::from_utf8_lossy(arg));
        assert_ne!(r, SFU_PANIC, "{what}: {message}");
        assert_ne!(r, SFU_NULL_ARGUMENT, "{what}: {message}");
        if name != "sfu_worker_new" {
            assert_ne!(r, SFU_WORKER_CLOSED, "{what}: the live worker reports closed: {message}");
        }
        let utf8 = std::str::from_utf8(arg);
        if !null_arg && kind != Arg::Bytes {
            match utf8 {
                Err(_) => assert_eq!(r, SFU_INVALID_UTF8, "{what}: not UTF-8: {message}"),
                Ok(s) if kind != Arg::Str && serde_json::from_str::<Value>(s).is_err() => {
                    assert_eq!(r, SFU_INVALID_JSON, "{what}: not JSON: {message}")
                }
                Ok(_) => assert!(!matches!(r, SFU_INVALID_UTF8 | SFU_INVALID_JSON), "{what}: valid argument refused as {r:?}: {message}"),
            }
        } else {
            assert!(!matches!(r, SFU_INVALID_UTF8 | SFU_INVALID_JSON), "{what}: {r:?} without a string: {message}");
        }
        if r == SFU_OK {
            assert!(message.is_empty(), "{what}: success leaves the message {message:?}");
            assert_ne!(out_set, Some(false), "{what}: success without a handle");
        } else {
            assert!(!message.is_empty(), "{what}: {r:?} without a message");
            assert_ne!(out_set, Some(true), "{what}: {r:?} with a handle");
        }
    }
}

/// The input is a list of calls (see the module docs).
pub fn c_face_json(data: &[u8]) {
    let f = fixture().lock().unwrap_or_else(|e| e.into_inner());
    let mut s = Session {
        f: &f,
        made: Created::default(),
        router: None,
        plain: None,
        webrtc: None,
        direct: None,
        observer: None,
        producer: None,
        consumer: None,
        data_producer: None,
        server: None,
    };
    for call in data.split(|b| *b == 0).take(MAX_CALLS) {
        let Some((&entry, arg)) = call.split_first() else { continue };
        s.call(usize::from(entry) % ENTRIES.len(), arg);
    }
    // SAFETY: every handle in `made` came from this input and is released once.
    unsafe { s.made.release() };
    let w = f.worker;
    // SAFETY: the fixture's live handles.
    unsafe {
        // Logging back off (an input may have turned on debug logs, process-wide).
        must(sfu_worker_update_settings(w, c(r#"{"logLevel":"none"}"#).as_ptr()), "log level");
        assert!(!sfu_worker_closed(w), "the worker closed");
        let mut reason = null_mut();
        must(sfu_worker_died(w, &mut reason), "died");
        if !reason.is_null() {
            let text = CStr::from_ptr(reason).to_string_lossy().into_owned();
            sfu_string_free(reason);
            panic!("the worker died: {text}");
        }
    }
    assert_eq!(owned(&dump_worker(w)), owned(&f.worker_dump), "objects survive in the worker");
    assert_eq!(owned(&dump_router(f.router)), owned(&f.router_dump), "objects survive in the router");
    assert_eq!(owned(&dump_direct(f.direct)), owned(&f.direct_dump), "objects survive in the direct transport");
    let bad = std::mem::take(&mut *BAD_EVENTS.lock().unwrap_or_else(|e| e.into_inner()));
    assert!(bad.is_empty(), "events that are not JSON objects with an event: {bad:?}");
}
