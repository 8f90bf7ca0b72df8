//! The forwarding hot path allocates nothing per packet: a counting global allocator around the
//! worker's real `on_rtp` (through `sfu_core::bench::Fanout`: a VP8 producer, simulcast or not,
//! fanned out to consumers on PlainTransports) in steady state, key frames included, and around
//! the in-place SRTP protect/unprotect the WebRTC path uses. Counts only this thread's
//! allocations, so the test harness's other threads do not disturb it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use sfu_benches::vp8_packet;
use sfu_core::bench::Fanout;
use sfu_core::webrtc::srtp_inplace::{SrtpContext, SrtpProfile, MAX_TRAILER_LEN};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counters are plain thread-local cells.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn note() {
    // try_with: the thread-locals may be gone while a thread exits.
    let _ = COUNTING.try_with(|c| {
        if c.get() {
            let _ = COUNT.try_with(|n| n.set(n.get() + 1));
        }
    });
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> u64 {
    COUNT.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(|n| n.get())
}

/// Packets of `encodings` simulcast streams (SSRC 1111…), a key frame on every stream every
/// `key_every` packets, built before counting.
fn stream(encodings: u32, count: u16, key_every: u16) -> Vec<Vec<u8>> {
    (0..count).flat_map(|s| (0..encodings).map(move |e| vp8_packet(1111 + e, s, s % key_every == 0, 1000 + 100 * e as usize))).collect()
}

#[test]
fn the_counter_counts() {
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 10]))), 1);
}

/// Feeds the first half of `units` (warm-up: consumers start at the first key frame,
/// histories, caches and reused buffers fill up, the send-side rewriters anchor, simulcast
/// consumers settle on an encoding), then counts the allocations of the second half; something
/// must have been forwarded.
fn steady_state_allocations<T>(f: &Fanout, units: &[T], feed: impl Fn(&Fanout, &T), what: &str) -> u64 {
    let (warm, measured) = units.split_at(units.len() / 2);
    for u in warm {
        feed(f, u);
    }
    let sent_before = f.bytes_sent();
    let n = allocations(|| {
        for u in measured {
            feed(f, u);
        }
    });
    assert!(f.bytes_sent() > sent_before, "{what}: nothing was forwarded");
    n
}

#[test]
fn forwarding_to_consumers_allocates_nothing_per_packet() {
    for (consumers, encodings) in [(1, 1), (20, 1), (20, 3)] {
        let f = Fanout::new(consumers, encodings as usize, |i| i % 5 == 4).expect("fanout");
        let pkts = stream(encodings, 6000, 300);
        let what = format!("{consumers} consumers, {encodings} encodings");
        let n = steady_state_allocations(&f, &pkts, |f, p| f.on_rtp(p), &what);
        assert_eq!(n, 0, "{what}: {n} allocations for {} packets", pkts.len() / 2);
        // The receive loops' way: a turn's packets (a frame's, here) fanned out at its end,
        // consumer by consumer.
        let turns: Vec<&[Vec<u8>]> = pkts.chunks(6 * encodings as usize).collect();
        let n = steady_state_allocations(&f, &turns, |f, t| f.on_rtp_turn(t), &what);
        assert_eq!(n, 0, "{what}, in turns: {n} allocations for {} turns", turns.len() / 2);
    }
}

/// The same over real UDP: consumers on plain transports sending to a socket, so a turn's
/// packets for a consumer are padded into GSO runs and leave through the send batch's
/// `sendmmsg` (frames split as libwebrtc splits them, the last packets a byte longer).
#[test]
fn forwarding_over_udp_with_gso_padding_allocates_nothing_per_packet() {
    let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for (consumers, encodings) in [(1usize, 1u32), (20, 1), (20, 3)] {
        let f = Fanout::new_udp(consumers, encodings as usize, |i| i % 5 == 4, sink.local_addr().unwrap()).expect("fanout");
        let pkts: Vec<Vec<u8>> = (0..6000u16)
            .flat_map(|s| (0..encodings).map(move |e| vp8_packet(1111 + e, s, s % 300 == 0, 1000 + usize::from(s % 6 >= 3) - 100 * e as usize)))
            .collect();
        let turns: Vec<&[Vec<u8>]> = pkts.chunks(6 * encodings as usize).collect();
        let what = format!("{consumers} consumers over UDP, {encodings} encodings");
        let n = steady_state_allocations(&f, &turns, |f, t| f.on_rtp_turn(t), &what);
        assert_eq!(n, 0, "{what}, in turns: {n} allocations for {} turns", turns.len() / 2);
    }
    // (The path measured is the padded one: some datagrams the sink kept carry padding.)
    sink.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 2048];
    let mut padded = 0;
    while let Ok(n) = sink.recv(&mut buf) {
        padded += usize::from(n > 12 && buf[0] & 0x20 != 0);
    }
    assert!(padded > 0, "no padded packet reached the sink");
}

#[test]
fn in_place_srtp_allocates_nothing_per_packet() {
    for profile in [SrtpProfile::AeadAes128Gcm, SrtpProfile::Aes128CmSha1_80] {
        let (key, salt) = (vec![7u8; profile.key_len()], vec![9u8; profile.salt_len()]);
        let mut tx = SrtpContext::new(profile, &key, &salt, false).unwrap();
        let mut rx = SrtpContext::new(profile, &key, &salt, true).unwrap();
        let mut buf = Vec::with_capacity(1500 + MAX_TRAILER_LEN);
        let mut first = true;
        for seq in 0..2000u16 {
            buf.clear();
            buf.extend_from_slice(&vp8_packet(42, seq, false, 1200));
            let n = allocations(|| {
                tx.protect_rtp(&mut buf).unwrap();
                rx.unprotect_rtp(&mut buf).unwrap();
            });
            // The first packet may set up per-SSRC state; every later one must not allocate.
            if !first {
                assert_eq!(n, 0, "{profile:?}: packet {seq} allocated {n} times");
            }
            first = false;
        }
    }
}
