//! Piping between two workers of one process: the same producer → pipe → consumer chain over
//! loopback UDP (plain and with SRTP) and over the in-memory link, measured end to end: the
//! application injects RTP on worker A (DirectTransport producer) and waits until worker B's
//! DirectTransport consumer has handed every packet back. Two measures per path, in the same
//! run: `pipe_between_workers` (wall time per burst: latency, dominated by thread wake-ups on a
//! loaded machine) and `pipe_cpu_between_workers` (the process's CPU time — both workers, the
//! sender, the event delivery — per burst, with the waiting thread asleep: the cost of the
//! path, which is what an in-memory link saves). The ratio between the rows is the point.
//! Run: `cargo bench -p sfu-benches --bench pipe`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use sfu_core::*;

/// Packets per round: one video frame's worth, small enough for the default socket buffers.
const BATCH: u64 = 20;

struct Chain {
    _workers: (Worker, Worker),
    producer: Producer,
    received: Arc<AtomicU64>,
    _sub: Subscription,
    seq: u16,
}

fn codecs() -> Vec<RtpCodecCapability> {
    from_json("mediaCodecs", json!([{ "kind": "video", "mimeType": "video/VP8", "clockRate": 90000 }])).unwrap()
}

fn chain(mode: &str) -> Chain {
    let (wa, wb) = (Worker::new(WorkerSettings::default()).unwrap(), Worker::new(WorkerSettings::default()).unwrap());
    let ra = wa.create_router_blocking(RouterOptions { media_codecs: codecs(), ..Default::default() }).unwrap();
    let rb = wb.create_router_blocking(RouterOptions { media_codecs: codecs(), ..Default::default() }).unwrap();
    let srtp = mode == "udp+srtp";
    let o = json!({ "listenInfo": { "ip": "127.0.0.1" }, "enableSrtp": srtp });
    let ta = ra.create_pipe_transport_blocking(from_json("o", o.clone()).unwrap()).unwrap();
    let tb = rb.create_pipe_transport_blocking(from_json("o", o).unwrap()).unwrap();
    if mode == "memory" {
        ta.link_local_blocking(&tb).unwrap();
    } else {
        for (t, far) in [(&ta, &tb), (&tb, &ta)] {
            t.connect_blocking(PlainTransportConnect {
                ip: Some("127.0.0.1".into()),
                port: Some(far.tuple().local_port),
                srtp_parameters: far.srtp_parameters().cloned(),
                ..Default::default()
            })
            .unwrap();
        }
    }
    let da = ra.create_direct_transport_blocking(DirectTransportOptions::default()).unwrap();
    let producer = da
        .produce_blocking(from_json("o", json!({ "kind": "video", "rtpParameters": {
            "codecs": [{ "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000 }], "encodings": [{ "ssrc": 1111 }] } })).unwrap())
        .unwrap();
    let pc = ta.consume_blocking(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": ra.rtp_capabilities() })).unwrap()).unwrap();
    tb.produce_blocking(from_json("o", json!({ "id": producer.id(), "kind": "video", "rtpParameters": pc.rtp_parameters() })).unwrap()).unwrap();
    let db = rb.create_direct_transport_blocking(DirectTransportOptions::default()).unwrap();
    let c = db.consume_blocking(from_json("o", json!({ "producerId": producer.id(), "rtpCapabilities": rb.rtp_capabilities() })).unwrap()).unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let (r2, cid) = (received.clone(), c.id().to_owned());
    let sub = wb.subscribe(move |e| {
        if e.target_id == cid && matches!(e.kind, EventKind::Rtp { .. }) {
            r2.fetch_add(1, Ordering::Release);
        }
    });
    Chain { _workers: (wa, wb), producer, received, _sub: sub, seq: 0 }
}

fn packet(seq: u16) -> Vec<u8> {
    let mut v = vec![0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0x57];
    v[2..4].copy_from_slice(&seq.to_be_bytes());
    v[4..8].copy_from_slice(&(seq as u32 * 3000).to_be_bytes());
    v.extend_from_slice(&[0x10, if seq == 0 { 0 } else { 1 }]);
    v.resize(1200, 0xab);
    v
}

/// Sends `n` packets and waits until all arrived (or a second passes), spinning (latency) or
/// sleeping (so the waiting thread costs no CPU).
fn run(ch: &mut Chain, n: u64, sleep: bool) -> Duration {
    let start = Instant::now();
    let target = ch.received.load(Ordering::Acquire) + n;
    for _ in 0..n {
        ch.producer.send(packet(ch.seq)).unwrap();
        ch.seq = ch.seq.wrapping_add(1);
    }
    while ch.received.load(Ordering::Acquire) < target && start.elapsed() < Duration::from_secs(1) {
        if sleep {
            std::thread::sleep(Duration::from_micros(200));
        } else {
            std::hint::spin_loop();
        }
    }
    start.elapsed()
}

/// CPU time (user + system) of the whole process so far.
fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the zeroed struct.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn pipe(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipe_between_workers");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(30);
    for mode in ["udp", "udp+srtp", "memory"] {
        let mut ch = chain(mode);
        run(&mut ch, 50, false); // warm up: the key frame, sockets, caches
        g.bench_function(mode, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| run(&mut ch, BATCH, false)).sum());
        });
    }
    g.finish();
    let mut g = c.benchmark_group("pipe_cpu_between_workers");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(20);
    for mode in ["udp", "udp+srtp", "memory"] {
        let mut ch = chain(mode);
        run(&mut ch, 50, true);
        g.bench_function(mode, |b| {
            b.iter_custom(|iters| {
                let before = process_cpu();
                for _ in 0..iters {
                    run(&mut ch, BATCH, true);
                }
                process_cpu().saturating_sub(before)
            });
        });
    }
    g.finish();
}

criterion_group!(benches, pipe);
criterion_main!(benches);
