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

/// Over real UDP, a consumer's packets of a receive turn leave padded to one size: a frame
/// split as libwebrtc splits one (the last packets a byte longer) arrives at each consumer's
/// remote as equal-size datagrams, the shorter ones with one octet of RFC 3550 padding, the
/// payloads intact and in order — for a single consumer (a 1:1 call) and for several.
#[test]
fn a_turns_packets_leave_padded_to_one_size_over_udp() {
    let off = |v: &str| std::env::var_os(v).is_some_and(|v| v == "0");
    if off("LIBSFU_GSO_PADDING") || off("LIBSFU_UDP_GSO") {
        return; // (padding turned off for this run)
    }
    for consumers in [1usize, 3] {
        let sink = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sink.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
        let f = Fanout::new_udp(consumers, 1, |_| false, sink.local_addr().unwrap()).expect("fanout");
        let mut buf = [0u8; 2048];
        for frame in 0..20u16 {
            let pkts: Vec<Vec<u8>> = (0..6u16).map(|p| vp8_packet(1111, frame * 6 + p, frame == 0 && p == 0, 1000 + usize::from(p >= 3))).collect();
            f.on_rtp_turn(&pkts);
            // Each consumer's six, grouped by its SSRC, in the order they arrived.
            let mut by_ssrc: std::collections::BTreeMap<u32, Vec<Vec<u8>>> = Default::default();
            for _ in 0..consumers * 6 {
                let n = sink.recv(&mut buf).unwrap_or_else(|e| panic!("{consumers} consumers, frame {frame}: {e}"));
                by_ssrc.entry(u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]])).or_default().push(buf[..n].to_vec());
            }
            assert_eq!(by_ssrc.len(), consumers);
            for got in by_ssrc.values() {
                let size = got[5].len();
                for (p, d) in got.iter().enumerate() {
                    assert_eq!(d.len(), size, "{consumers} consumers, frame {frame}, packet {p}: not padded to the frame's size");
                    assert_eq!(d[0] & 0x20 != 0, p < 3, "frame {frame}, packet {p}: padding bit");
                    if p < 3 {
                        assert_eq!(d[d.len() - 1], 1, "one octet of padding");
                    }
                    let pkt = sfu_core::rtp::RtpPacket::parse(d).expect("valid RTP");
                    assert_eq!(pkt.payload(), &pkts[p][12..], "frame {frame}, packet {p}: payload");
                }
            }
        }
    }
}
