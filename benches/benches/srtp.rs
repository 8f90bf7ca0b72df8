//! SRTP cost per 1200-byte RTP packet and profile: libsfu's in-place `SrtpContext` against
//! rtc-srtp 0.21.1's `Context` (which copies into a new buffer and re-parses the header).
//! Also prints heap allocations per protect + unprotect, counted by a wrapping allocator.
//! Times are the bench thread's CPU time, not wall time, so other load on a shared machine
//! inflates them less (cache and SMT effects remain: compare within one run).
//! Run: `cargo bench -p sfu-benches --bench srtp`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rtc_srtp::context::Context;
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};
use rtc_srtp::protection_profile::ProtectionProfile;
use sfu_core::webrtc::srtp_inplace::{SrtpContext, SrtpProfile, MAX_TRAILER_LEN};

/// Counts allocations (and reallocations) so the bench can show which side allocates per packet.
struct CountingAlloc;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// CPU time consumed by the calling thread, in nanoseconds.
struct ThreadCpuTime;

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid out-pointer; this clock exists on every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Formats like wall time (both are nanoseconds).
static NANOS: WallTime = WallTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns() - start
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        NANOS.formatter()
    }
}

const PACKET_LEN: usize = 1200;

const PROFILES: [(SrtpProfile, ProtectionProfile, &str); 4] = [
    (SrtpProfile::Aes128CmSha1_80, ProtectionProfile::Aes128CmHmacSha1_80, "AES_CM_128_HMAC_SHA1_80"),
    (SrtpProfile::Aes128CmSha1_32, ProtectionProfile::Aes128CmHmacSha1_32, "AES_CM_128_HMAC_SHA1_32"),
    (SrtpProfile::AeadAes128Gcm, ProtectionProfile::AeadAes128Gcm, "AEAD_AES_128_GCM"),
    (SrtpProfile::AeadAes256Gcm, ProtectionProfile::AeadAes256Gcm, "AEAD_AES_256_GCM"),
];

/// A video-like packet: header, one-byte extensions (mid, abs-send-time, transport-cc), payload.
fn video_packet() -> Vec<u8> {
    let mut v = vec![0x90, 96, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef, 0xbe, 0xde, 0, 3];
    v.extend_from_slice(&[0x40, b'1', 0x22, 1, 2, 3, 0x31, 0, 7, 0, 0, 0]);
    v.resize(PACKET_LEN, 0xab);
    v
}

fn set_seq(p: &mut [u8], seq: u16) {
    p[2..4].copy_from_slice(&seq.to_be_bytes());
}

fn keys(profile: SrtpProfile) -> (Vec<u8>, Vec<u8>) {
    ((0..profile.key_len() as u8).collect(), (100..100 + profile.salt_len() as u8).collect())
}

fn ours(profile: SrtpProfile, replay: bool) -> SrtpContext {
    let (k, s) = keys(profile);
    SrtpContext::new(profile, &k, &s, replay).unwrap()
}

fn theirs(profile: SrtpProfile, rtc: ProtectionProfile, replay: bool) -> Context {
    let (k, s) = keys(profile);
    let provider = rtc_dtls::crypto_provider::default_provider().unwrap();
    let (rtp, rtcp) = if replay { (Some(srtp_replay_protection(1024)), Some(srtcp_replay_protection(1024))) } else { (None, None) };
    Context::new(&k, &s, rtc, rtp, rtcp, provider.crypto()).unwrap()
}

/// Allocations per protect + unprotect round trip, averaged over 1000 packets.
fn allocations_per_packet(mut round_trip: impl FnMut(u16)) -> f64 {
    round_trip(0); // first packet of the SSRC creates its state
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for seq in 1..=1000 {
        round_trip(seq);
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / 1000.0
}

fn srtp(c: &mut Criterion<ThreadCpuTime>) {
    let template = video_packet();
    for (profile, rtc, name) in PROFILES {
        let (mut tx, mut rx) = (ours(profile, false), ours(profile, true));
        let mut buf = Vec::with_capacity(PACKET_LEN + MAX_TRAILER_LEN);
        let ours_allocs = allocations_per_packet(|seq| {
            buf.clear();
            buf.extend_from_slice(&template);
            set_seq(&mut buf, seq);
            tx.protect_rtp(&mut buf).unwrap();
            rx.unprotect_rtp(&mut buf).unwrap();
        });
        let (mut ttx, mut trx) = (theirs(profile, rtc, false), theirs(profile, rtc, true));
        let mut pkt = template.clone();
        let theirs_allocs = allocations_per_packet(|seq| {
            set_seq(&mut pkt, seq);
            let enc = ttx.encrypt_rtp(&pkt).unwrap();
            black_box(trx.decrypt_rtp(&enc).unwrap());
        });
        eprintln!("{name}: heap allocations per protect+unprotect: libsfu {ours_allocs}, rtc-srtp {theirs_allocs}");

        let mut g = c.benchmark_group(format!("srtp/{name}"));
        g.throughput(Throughput::Bytes(PACKET_LEN as u64));
        g.bench_function(BenchmarkId::new("protect", "libsfu"), |b| {
            let mut tx = ours(profile, false);
            let mut seq = 0u16;
            b.iter(|| {
                seq = seq.wrapping_add(1);
                buf.clear();
                buf.extend_from_slice(&template);
                set_seq(&mut buf, seq);
                tx.protect_rtp(&mut buf).unwrap();
                black_box(buf.len())
            })
        });
        g.bench_function(BenchmarkId::new("protect", "rtc-srtp"), |b| {
            let mut tx = theirs(profile, rtc, false);
            let mut seq = 0u16;
            b.iter(|| {
                seq = seq.wrapping_add(1);
                set_seq(&mut pkt, seq);
                black_box(tx.encrypt_rtp(&pkt).unwrap())
            })
        });
        g.bench_function(BenchmarkId::new("protect+unprotect", "libsfu"), |b| {
            let (mut tx, mut rx) = (ours(profile, false), ours(profile, true));
            let mut seq = 0u16;
            b.iter(|| {
                seq = seq.wrapping_add(1);
                buf.clear();
                buf.extend_from_slice(&template);
                set_seq(&mut buf, seq);
                tx.protect_rtp(&mut buf).unwrap();
                rx.unprotect_rtp(&mut buf).unwrap();
                black_box(buf.len())
            })
        });
        g.bench_function(BenchmarkId::new("protect+unprotect", "rtc-srtp"), |b| {
            let (mut tx, mut rx) = (theirs(profile, rtc, false), theirs(profile, rtc, true));
            let mut seq = 0u16;
            b.iter(|| {
                seq = seq.wrapping_add(1);
                set_seq(&mut pkt, seq);
                let enc = tx.encrypt_rtp(&pkt).unwrap();
                black_box(rx.decrypt_rtp(&enc).unwrap())
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = srtp
}
criterion_main!(benches);
