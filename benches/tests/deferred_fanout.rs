//! The receive loops defer a turn's fan-out to its end and run it consumer by consumer
//! (`WorkerState::receive_turn`); packet by packet, `on_rtp` fans out at once. Both must send
//! the same: fed the same packets, two identical routers send the same bytes, simulcast layer
//! switches and paused consumers included — also for a turn larger than the deferral buffer
//! (whose fan-out then runs early, in parts).

use sfu_benches::vp8_packet;
use sfu_core::bench::Fanout;

#[test]
fn deferred_and_immediate_fan_out_send_the_same() {
    for (consumers, encodings, per_turn) in [(5usize, 1u32, 6usize), (12, 3, 18), (3, 1, 1000)] {
        let pkts: Vec<Vec<u8>> =
            (0..3000u16).flat_map(|s| (0..encodings).map(move |e| vp8_packet(1111 + e, s, s % 300 == 0, 1200 - 100 * e as usize))).collect();
        let immediate = Fanout::new(consumers, encodings as usize, |i| i % 4 == 3).expect("fanout");
        let deferred = Fanout::new(consumers, encodings as usize, |i| i % 4 == 3).expect("fanout");
        for p in &pkts {
            immediate.on_rtp(p);
        }
        for turn in pkts.chunks(per_turn) {
            deferred.on_rtp_turn(turn);
        }
        let (a, b) = (immediate.bytes_sent(), deferred.bytes_sent());
        assert!(a > 0, "{consumers} consumers, {encodings} encodings: nothing sent");
        assert_eq!(a, b, "{consumers} consumers, {encodings} encodings, {per_turn} per turn");
    }
}
