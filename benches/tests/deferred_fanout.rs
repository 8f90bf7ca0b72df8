//! The receive loops defer a turn's fan-out to its end and run it consumer by consumer
//! (`WorkerState::receive_turn`); packet by packet, `on_rtp` fans out at once. Both must send
//! the same: fed the same packets, two identical routers send the same bytes, simulcast layer
//! switches and paused consumers included — also for a turn larger than the deferral buffer
//! (whose fan-out then runs early, in parts).

use sfu_benches::vp8_packet;
use sfu_core::bench::Fanout;

#[test]
fn deferred_and_immediate_fan_out_send_the_same() {
    for (consumers, encodings, per_turn) in [(5usize, 1u32, 6usize), (12, 3, 18), (3, 1, 1000), (1, 1, 6), (1, 3, 18)] {
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

/// A paused consumer is off the fan-out's list (it costs the media path nothing) and sends
/// nothing; resumed, it is back on it and sends again from the next key frame — the same in
/// both fan-outs. Pausing twice and resuming twice keep the list right.
#[test]
fn paused_consumers_leave_the_fan_out_and_come_back() {
    let (consumers, encodings) = (6usize, 3u32);
    let pkts: Vec<Vec<u8>> =
        (0..3000u16).flat_map(|s| (0..encodings).map(move |e| vp8_packet(1111 + e, s, s % 300 == 0, 1200 - 100 * e as usize))).collect();
    let immediate = Fanout::new(consumers, encodings as usize, |i| i == 0).expect("fanout");
    let deferred = Fanout::new(consumers, encodings as usize, |i| i == 0).expect("fanout");
    assert_eq!(deferred.fanout_consumers(), consumers - 1, "created paused: not on the list");
    let thirds: Vec<&[Vec<u8>]> = pkts.chunks(pkts.len() / 3).collect();
    let feed = |part: &[Vec<u8>]| {
        for p in part {
            immediate.on_rtp(p);
        }
        for turn in part.chunks(18) {
            deferred.on_rtp_turn(turn);
        }
    };
    feed(thirds[0]);
    assert_eq!(deferred.consumer_packets(0), 0, "paused from the start: nothing sent");
    let sent_before_pause = deferred.consumer_packets(1);
    assert!(sent_before_pause > 0);
    for f in [&immediate, &deferred] {
        f.set_paused(0, false).unwrap();
        f.set_paused(0, false).unwrap(); // (twice: still listed once)
        f.set_paused(1, true).unwrap();
        f.set_paused(1, true).unwrap();
    }
    assert_eq!(deferred.fanout_consumers(), consumers - 1);
    feed(thirds[1]);
    assert!(deferred.consumer_packets(0) > 0, "resumed: sends from the next key frame");
    assert_eq!(deferred.consumer_packets(1), sent_before_pause, "paused: sends nothing");
    for f in [&immediate, &deferred] {
        f.set_paused(1, false).unwrap();
    }
    assert_eq!(deferred.fanout_consumers(), consumers);
    feed(thirds[2]);
    assert!(deferred.consumer_packets(1) > sent_before_pause, "resumed again");
    for i in 0..consumers {
        assert_eq!(immediate.consumer_packets(i), deferred.consumer_packets(i), "consumer {i}");
    }
    assert_eq!(immediate.bytes_sent(), deferred.bytes_sent());
}
