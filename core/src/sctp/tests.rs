//! Two associations back to back over a simulated link (seeded loss, delay, jitter) on simulated
//! time.

use super::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// xorshift64*: deterministic, no dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// What happens to the n-th packet on a link (n counts from 0).
enum Fate {
    Deliver,
    Drop,
    DelayBy(u64),
}

struct Link {
    loss: f64,
    delay: u64,
    jitter: u64,
    queue: BinaryHeap<Reverse<(u64, u64, Vec<u8>)>>,
    seq: u64,
    sent: usize,
    record: Vec<Vec<u8>>,
    fate: Option<Box<dyn FnMut(usize) -> Fate>>,
}

impl Link {
    fn new(loss: f64, delay: u64, jitter: u64) -> Self {
        Link {
            loss,
            delay,
            jitter,
            queue: BinaryHeap::new(),
            seq: 0,
            sent: 0,
            record: Vec::new(),
            fate: None,
        }
    }

    fn send(&mut self, now: u64, packet: Bytes, rng: &mut Rng) {
        let n = self.sent;
        self.sent += 1;
        self.record.push(packet.to_vec());
        let mut at = now + self.delay + rng.below(self.jitter + 1);
        match self.fate.as_mut().map_or(Fate::Deliver, |f| f(n)) {
            Fate::Drop => return,
            Fate::DelayBy(ms) => at += ms,
            Fate::Deliver => {}
        }
        if rng.chance(self.loss) {
            return;
        }
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, packet.to_vec())));
    }

    fn next_due(&self) -> Option<u64> {
        self.queue.peek().map(|Reverse((at, _, _))| *at)
    }

    fn pop_due(&mut self, now: u64) -> Option<Vec<u8>> {
        if self.next_due()? <= now {
            self.queue.pop().map(|Reverse((_, _, p))| p)
        } else {
            None
        }
    }
}

/// `a` is the client, `b` the server.
struct Net {
    now: u64,
    rng: Rng,
    a: SctpAssociation,
    b: SctpAssociation,
    ab: Link,
    ba: Link,
    ev_a: Vec<SctpEvent>,
    ev_b: Vec<SctpEvent>,
}

impl Net {
    fn new(seed: u64, a: SctpOptions, b: SctpOptions, link: (f64, u64, u64)) -> Self {
        let epoch = Instant::now();
        Net {
            now: 0,
            rng: Rng(seed | 1),
            a: SctpAssociation::new(
                SctpOptions {
                    role: SctpRole::Client,
                    ..a
                },
                epoch,
            ),
            b: SctpAssociation::new(
                SctpOptions {
                    role: SctpRole::Server,
                    ..b
                },
                epoch,
            ),
            ab: Link::new(link.0, link.1, link.2),
            ba: Link::new(link.0, link.1, link.2),
            ev_a: Vec::new(),
            ev_b: Vec::new(),
        }
    }

    fn with_link(seed: u64, loss: f64, delay: u64, jitter: u64) -> Self {
        Net::new(
            seed,
            SctpOptions::default(),
            SctpOptions::default(),
            (loss, delay, jitter),
        )
    }

    /// A connected pair; the state events of the handshake are cleared.
    fn connected(seed: u64, loss: f64, delay: u64, jitter: u64) -> Self {
        let mut net = Net::with_link(seed, loss, delay, jitter);
        net.start();
        assert!(
            net.run_until(60_000, |n| n.both_connected()),
            "handshake did not complete"
        );
        net.ev_a.clear();
        net.ev_b.clear();
        net
    }

    fn start(&mut self) {
        self.b.start(self.now);
        self.a.start(self.now);
    }

    fn both_connected(&self) -> bool {
        self.a.state() == SctpState::Connected && self.b.state() == SctpState::Connected
    }

    /// Exchanges everything due at the current time.
    fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut progressed = false;
            for side in 0..2 {
                let (me, link, events) = if side == 0 {
                    (&mut self.a, &mut self.ab, &mut self.ev_a)
                } else {
                    (&mut self.b, &mut self.ba, &mut self.ev_b)
                };
                if me.poll_timeout().is_some_and(|t| t <= self.now) {
                    me.handle_timeout(self.now);
                }
                while let Some(p) = me.poll_transmit(self.now) {
                    link.send(self.now, p, &mut self.rng);
                    progressed = true;
                }
                while let Some(e) = me.poll_event() {
                    events.push(e);
                }
            }
            while let Some(p) = self.ab.pop_due(self.now) {
                self.b.handle_input(self.now, &p);
                progressed = true;
            }
            while let Some(p) = self.ba.pop_due(self.now) {
                self.a.handle_input(self.now, &p);
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
        panic!("no quiescence at t={}", self.now);
    }

    /// Runs until `done` or until `deadline` (simulated ms from now); returns `done`'s verdict.
    fn run_until(&mut self, duration: u64, mut done: impl FnMut(&Net) -> bool) -> bool {
        let deadline = self.now + duration;
        loop {
            self.pump();
            if done(self) {
                return true;
            }
            let next = [
                self.a.poll_timeout(),
                self.b.poll_timeout(),
                self.ab.next_due(),
                self.ba.next_due(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t <= deadline => self.now = t.max(self.now + 1),
                _ => {
                    self.now = deadline;
                    self.pump();
                    return done(self);
                }
            }
        }
    }

    /// Runs for `duration` ms.
    fn run_for(&mut self, duration: u64) {
        self.run_until(duration, |_| false);
    }

    fn advance(&mut self, ms: u64) {
        let t = self.now + ms;
        self.run_until(ms, |n| n.now >= t);
    }
}

fn messages(events: &[SctpEvent], stream: u16) -> Vec<(Ppid, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            SctpEvent::Message { stream_id, ppid, data } if *stream_id == stream => Some((*ppid, data.clone())),
            _ => None,
        })
        .collect()
}

fn states(events: &[SctpEvent]) -> Vec<SctpState> {
    events
        .iter()
        .filter_map(|e| match e {
            SctpEvent::StateChange(s) => Some(*s),
            _ => None,
        })
        .collect()
}

fn numbered(i: u32, len: usize) -> Vec<u8> {
    let mut v = i.to_be_bytes().to_vec();
    v.extend((0..len.saturating_sub(4)).map(|k| (k as u32).wrapping_mul(31).wrapping_add(i) as u8));
    v
}

fn number_of(data: &[u8]) -> u32 {
    u32::from_be_bytes([data[0], data[1], data[2], data[3]])
}

fn unordered_rexmit(n: u32) -> Reliability {
    Reliability {
        ordered: false,
        max_packet_life_time: None,
        max_retransmits: Some(n),
    }
}

#[test]
fn association_comes_up_and_reports_state_changes() {
    let mut net = Net::with_link(1, 0.0, 10, 0);
    assert_eq!(net.a.state(), SctpState::New);
    net.start();
    assert!(net.run_until(5_000, |n| n.both_connected()));
    assert_eq!(states(&net.ev_a), [SctpState::Connecting, SctpState::Connected]);
    assert_eq!(states(&net.ev_b), [SctpState::Connecting, SctpState::Connected]);
    assert!(net.now < 100, "handshake took {} ms over a 10 ms link", net.now);
}

#[test]
fn sending_before_connected_or_out_of_range_is_refused() {
    let mut net = Net::with_link(2, 0.0, 10, 0);
    let r = net.a.send(0, 1, Ppid::String, b"x", Reliability::RELIABLE);
    assert_eq!(r, Err(SctpError::NotConnected));
    let mut net = Net::connected(2, 0.0, 10, 0);
    let r = net.a.send(net.now, 1024, Ppid::String, b"x", Reliability::RELIABLE);
    assert_eq!(
        r,
        Err(SctpError::InvalidStream {
            stream_id: 1024,
            num_streams: 1024
        })
    );
}

#[test]
fn text_binary_and_empty_messages_flow_both_ways() {
    let mut net = Net::connected(3, 0.0, 10, 0);
    let now = net.now;
    for (a, b) in [(&mut net.a, 1u16), (&mut net.b, 2u16)] {
        a.send(now, b, Ppid::String, b"hello", Reliability::RELIABLE).unwrap();
        a.send(now, b, Ppid::Binary, &[1, 2, 3], Reliability::RELIABLE).unwrap();
        a.send(now, b, Ppid::String, b"", Reliability::RELIABLE).unwrap();
        a.send(now, b, Ppid::Binary, b"", Reliability::RELIABLE).unwrap();
        a.send(now, b, Ppid::StringEmpty, b"", Reliability::RELIABLE).unwrap();
    }
    net.run_for(1_000);
    let expected = vec![
        (Ppid::String, b"hello".to_vec()),
        (Ppid::Binary, vec![1, 2, 3]),
        (Ppid::StringEmpty, vec![]),
        (Ppid::BinaryEmpty, vec![]),
        (Ppid::StringEmpty, vec![]),
    ];
    assert_eq!(messages(&net.ev_b, 1), expected);
    assert_eq!(messages(&net.ev_a, 2), expected);
}

#[test]
fn a_200_kb_message_and_a_max_size_message_arrive_intact_over_loss() {
    let mut net = Net::connected(4, 0.05, 20, 5);
    let mut rng = Rng(44);
    let big = rng.bytes(200 * 1024);
    let max = rng.bytes(262_144);
    net.a
        .send(net.now, 7, Ppid::Binary, &big, Reliability::RELIABLE)
        .unwrap();
    assert!(
        net.run_until(60_000, |n| !messages(&n.ev_b, 7).is_empty()),
        "200 KB message did not arrive"
    );
    // A max-size message fits the default send buffer only when nothing else is buffered.
    assert!(net.run_until(10_000, |n| n.a.total_buffered_amount() == 0));
    net.a
        .send(net.now, 7, Ppid::Binary, &max, Reliability::RELIABLE)
        .unwrap();
    assert!(
        net.run_until(60_000, |n| messages(&n.ev_b, 7).len() == 2),
        "262144-byte message did not arrive"
    );
    let got = messages(&net.ev_b, 7);
    assert!(got[0].1 == big, "200 KB message corrupted (len {})", got[0].1.len());
    assert!(got[1].1 == max, "max-size message corrupted (len {})", got[1].1.len());
}

#[test]
fn oversize_messages_are_refused_by_the_sender_and_dropped_by_the_receiver() {
    let mut net = Net::connected(5, 0.0, 10, 0);
    let err = net
        .a
        .send(net.now, 1, Ppid::Binary, &vec![0; 262_145], Reliability::RELIABLE)
        .unwrap_err();
    assert_eq!(
        err,
        SctpError::MessageTooLarge {
            size: 262_145,
            max_message_size: 262_144
        }
    );
    assert!(
        err.to_string().contains("262144"),
        "error does not name the limit: {err}"
    );

    // A sender with a larger limit than the receiver: the receiver drops it and goes on.
    let big = SctpOptions {
        max_message_size: 300_000,
        send_buffer_size: 1 << 20,
        ..SctpOptions::default()
    };
    let small = SctpOptions {
        max_message_size: 1_000,
        ..SctpOptions::default()
    };
    let mut net = Net::new(5, big, small, (0.0, 10, 0));
    net.start();
    assert!(net.run_until(5_000, |n| n.both_connected()));
    net.a
        .send(net.now, 1, Ppid::Binary, &vec![1; 1_001], Reliability::RELIABLE)
        .unwrap();
    net.a
        .send(net.now, 1, Ppid::Binary, &[2; 1_000], Reliability::RELIABLE)
        .unwrap();
    net.run_for(2_000);
    assert_eq!(messages(&net.ev_b, 1), [(Ppid::Binary, vec![2; 1_000])]);
    assert_eq!(
        net.b
            .send(net.now, 1, Ppid::Binary, &[0; 1_001], Reliability::RELIABLE)
            .unwrap_err()
            .code(),
        "message-too-large"
    );
}

#[test]
fn ordered_delivery_survives_reordering_and_unordered_does_not_wait() {
    let mut net = Net::connected(6, 0.0, 20, 60);
    let unordered = Reliability {
        ordered: false,
        ..Reliability::RELIABLE
    };
    for i in 0..150u32 {
        net.a
            .send(net.now, 1, Ppid::Binary, &numbered(i, 40), Reliability::RELIABLE)
            .unwrap();
        net.a
            .send(net.now, 2, Ppid::Binary, &numbered(i, 40), unordered)
            .unwrap();
        net.advance(2);
    }
    net.run_for(10_000);
    let ordered: Vec<u32> = messages(&net.ev_b, 1).iter().map(|(_, d)| number_of(d)).collect();
    assert_eq!(ordered, (0..150).collect::<Vec<_>>());
    let mut got: Vec<u32> = messages(&net.ev_b, 2).iter().map(|(_, d)| number_of(d)).collect();
    let inversions = got.windows(2).filter(|w| w[0] > w[1]).count();
    assert!(
        inversions > 0,
        "unordered stream delivered strictly in order under 60 ms jitter: {got:?}"
    );
    got.sort_unstable();
    assert_eq!(got, (0..150).collect::<Vec<_>>());
}

#[test]
fn reliable_stream_under_10_percent_loss_delivers_everything_in_order() {
    let mut net = Net::connected(7, 0.10, 15, 10);
    let mut rng = Rng(77);
    let mut sent = Vec::new();
    for i in 0..300u32 {
        let len = 4 + rng.below(3_000) as usize;
        let msg = numbered(i, len);
        send_when_room(&mut net, 3, &msg, Reliability::RELIABLE);
        sent.push(msg);
        net.advance(3);
    }
    assert!(
        net.run_until(300_000, |n| messages(&n.ev_b, 3).len() == 300),
        "only {} of 300 messages arrived",
        messages(&net.ev_b, 3).len()
    );
    let got: Vec<Vec<u8>> = messages(&net.ev_b, 3).into_iter().map(|(_, d)| d).collect();
    assert!(got == sent, "messages reordered or corrupted");
    assert!(
        net.run_until(60_000, |n| n.a.total_buffered_amount() == 0),
        "sender still buffers data"
    );
}

/// Sends from `a`, waiting (simulated time) while the send buffer is full, as an application
/// honouring `sctpsendbufferfull` would.
fn send_when_room(net: &mut Net, stream: u16, msg: &[u8], rel: Reliability) {
    for _ in 0..100_000 {
        match net.a.send(net.now, stream, Ppid::Binary, msg, rel) {
            Err(SctpError::SendBufferFull { .. }) => net.advance(10),
            other => return other.unwrap(),
        }
    }
    panic!("send buffer never drained");
}

/// The a_rwnd of the last SACK in `packets`.
fn last_advertised_window(packets: &[Vec<u8>]) -> Option<u32> {
    packets
        .iter()
        .flat_map(|p| {
            wire::chunks(p)
                .filter(|c| c.typ == 3 && c.value.len() >= 8)
                .map(|c| c.value[4..8].to_vec())
                .collect::<Vec<_>>()
        })
        .last()
        .map(|v| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
}

/// Partial reliability under heavy loss: some messages are lost, ordered delivery stays in
/// order, and the streams keep delivering (loss recovery runs on T3-rtx, RTO >= 1 s, under this
/// much loss).
#[test]
fn max_retransmits_zero_under_30_percent_loss_loses_some_but_never_stalls() {
    let mut net = Net::connected(8, 0.30, 15, 5);
    let ordered_pr = Reliability {
        ordered: true,
        max_packet_life_time: None,
        max_retransmits: Some(0),
    };
    let streams = [(1u16, ordered_pr), (2u16, unordered_rexmit(0))];
    for i in 0..300u32 {
        for (stream, rel) in streams {
            net.a
                .send(net.now, stream, Ppid::Binary, &numbered(i, 200), rel)
                .unwrap();
        }
        net.advance(100);
    }
    net.run_for(60_000);
    for (stream, _) in streams {
        let got: Vec<u32> = messages(&net.ev_b, stream).iter().map(|(_, d)| number_of(d)).collect();
        assert!(
            !got.is_empty() && got.len() < 300,
            "stream {stream}: {} of 300 arrived",
            got.len()
        );
        if stream == 1 {
            assert!(
                got.windows(2).all(|w| w[0] < w[1]),
                "ordered stream out of order: {got:?}"
            );
        }
    }

    // Loss stops: every new message on both streams gets through.
    net.ab.loss = 0.0;
    net.ba.loss = 0.0;
    let before = [messages(&net.ev_b, 1).len(), messages(&net.ev_b, 2).len()];
    for i in 1000..1020u32 {
        for (stream, rel) in streams {
            net.a
                .send(net.now, stream, Ppid::Binary, &numbered(i, 200), rel)
                .unwrap();
        }
        net.advance(100);
    }
    net.run_for(120_000);
    for (k, (stream, _)) in streams.into_iter().enumerate() {
        let mut after: Vec<u32> = messages(&net.ev_b, stream)[before[k]..]
            .iter()
            .map(|(_, d)| number_of(d))
            .collect();
        after.retain(|&n| n >= 1000);
        after.sort_unstable();
        assert_eq!(
            after,
            (1000..1020).collect::<Vec<_>>(),
            "stream {stream} stalled after the lossy phase"
        );
    }
    assert_eq!(net.a.total_buffered_amount(), 0);
}

/// Every 9th packet to the receiver is lost while 10 KB messages (9 chunks each) go out unordered
/// with maxRetransmits 0: ~2 MB of partly received messages are abandoned, twice the receive
/// window. The receiver must purge their fragments on FORWARD TSN, or its window closes for good.
#[test]
fn abandoned_fragments_do_not_pin_the_receive_window() {
    for (stream, rel) in [
        (2u16, unordered_rexmit(0)),
        (
            1u16,
            Reliability {
                ordered: true,
                ..unordered_rexmit(0)
            },
        ),
    ] {
        let mut net = Net::connected(20, 0.0, 15, 0);
        net.ab.fate = Some(Box::new(|n| if n % 9 == 4 { Fate::Drop } else { Fate::Deliver }));
        for i in 0..300u32 {
            send_when_room(&mut net, stream, &numbered(i, 10_000), rel);
            net.advance(20);
        }
        net.run_for(30_000);
        let lossy = messages(&net.ev_b, stream).len();
        assert!(lossy > 0 && lossy < 300, "stream {stream}: {lossy} of 300 arrived");
        net.ab.fate = None;
        for i in 1000..1040u32 {
            send_when_room(&mut net, stream, &numbered(i, 10_000), rel);
            net.advance(20);
        }
        net.run_for(30_000);
        assert_eq!(messages(&net.ev_b, stream).len(), lossy + 40, "stream {stream} stalled");
        assert_eq!(
            last_advertised_window(&net.ba.record),
            Some(1 << 20),
            "stream {stream}: receive window not fully reopened"
        );
    }
}

#[test]
fn max_packet_life_time_gives_up_on_late_messages_without_stalling() {
    let mut net = Net::connected(9, 0.30, 15, 5);
    let timed = Reliability {
        ordered: true,
        max_packet_life_time: Some(100),
        max_retransmits: None,
    };
    for i in 0..200u32 {
        net.a
            .send(net.now, 4, Ppid::String, &numbered(i, 2_000), timed)
            .unwrap();
        net.advance(10);
    }
    net.run_for(20_000);
    let got: Vec<u32> = messages(&net.ev_b, 4).iter().map(|(_, d)| number_of(d)).collect();
    assert!(!got.is_empty() && got.len() < 200, "{} of 200 arrived", got.len());
    assert!(got.windows(2).all(|w| w[0] < w[1]), "ordered stream out of order");
    net.ab.loss = 0.0;
    net.ba.loss = 0.0;
    net.a.send(net.now, 4, Ppid::String, &numbered(999, 10), timed).unwrap();
    assert!(net.run_until(5_000, |n| messages(&n.ev_b, 4)
        .last()
        .is_some_and(|(_, d)| number_of(d) == 999)));
}

#[test]
fn buffered_amount_rises_and_buffered_amount_low_fires_when_drained() {
    let mut net = Net::connected(10, 0.0, 25, 0);
    net.a.set_buffered_amount_low_threshold(1, 1_000);
    // Already at or below the threshold: fires at once (mediasoup does the same).
    assert_eq!(
        net.a.poll_event(),
        Some(SctpEvent::BufferedAmountLow {
            stream_id: 1,
            buffered_amount: 0
        })
    );
    for i in 0..20 {
        net.a
            .send(net.now, 1, Ppid::Binary, &numbered(i, 2_000), Reliability::RELIABLE)
            .unwrap();
    }
    net.a
        .send(net.now, 2, Ppid::Binary, &[0; 500], Reliability::RELIABLE)
        .unwrap();
    assert_eq!(net.a.buffered_amount(1), 40_000);
    assert_eq!(net.a.buffered_amount(2), 500);
    assert_eq!(net.a.total_buffered_amount(), 40_500);
    let low = |n: &Net| {
        n.ev_a
            .iter()
            .filter(|e| matches!(e, SctpEvent::BufferedAmountLow { stream_id: 1, .. }))
            .count()
    };
    net.advance(1);
    assert!(net.a.buffered_amount(1) > 1_000, "drained before any ack could arrive");
    assert_eq!(low(&net), 0);
    assert!(net.run_until(10_000, |n| low(n) == 1), "bufferedamountlow never fired");
    net.run_for(2_000);
    assert_eq!(low(&net), 1, "bufferedamountlow fired more than once");
    assert_eq!(net.a.buffered_amount(1), 0);
    assert_eq!(net.a.total_buffered_amount(), 0);
    assert_eq!(messages(&net.ev_b, 1).len(), 20);
}

#[test]
fn send_buffer_full_is_refused_with_an_error_and_an_event() {
    let small = SctpOptions {
        send_buffer_size: 10_000,
        ..SctpOptions::default()
    };
    let mut net = Net::new(11, small, SctpOptions::default(), (0.0, 10, 0));
    net.start();
    assert!(net.run_until(5_000, |n| n.both_connected()));
    net.a
        .send(net.now, 3, Ppid::Binary, &[1; 6_000], Reliability::RELIABLE)
        .unwrap();
    let err = net
        .a
        .send(net.now, 4, Ppid::Binary, &[2; 6_000], Reliability::RELIABLE)
        .unwrap_err();
    assert_eq!(
        err,
        SctpError::SendBufferFull {
            stream_id: 4,
            buffered_amount: 6_000,
            size: 6_000,
            send_buffer_size: 10_000
        }
    );
    assert_eq!(err.code(), "sctpsendbufferfull");
    net.pump();
    assert!(net.ev_a.contains(&SctpEvent::SendBufferFull { stream_id: 4 }));
    assert!(net.run_until(5_000, |n| n.a.total_buffered_amount() == 0));
    net.a
        .send(net.now, 4, Ppid::Binary, &[2; 6_000], Reliability::RELIABLE)
        .unwrap();
    net.run_for(1_000);
    assert_eq!(messages(&net.ev_b, 3).len() + messages(&net.ev_b, 4).len(), 2);
}

#[test]
fn stream_reset_surfaces_on_the_peer_only_and_the_id_can_be_reused() {
    let mut net = Net::connected(12, 0.0, 10, 0);
    net.a
        .send(net.now, 3, Ppid::String, b"before", Reliability::RELIABLE)
        .unwrap();
    net.run_for(500);
    assert_eq!(messages(&net.ev_b, 3).len(), 1);

    net.a.reset_stream(net.now, 3);
    assert_eq!(
        net.a
            .send(net.now, 3, Ppid::String, b"too early", Reliability::RELIABLE),
        Err(SctpError::StreamResetPending { stream_id: 3 })
    );
    net.run_for(2_000);
    assert!(
        net.ev_b.contains(&SctpEvent::StreamReset { stream_id: 3 }),
        "peer did not see the reset: {:?}",
        net.ev_b
    );
    assert!(
        !net.ev_a.iter().any(|e| matches!(e, SctpEvent::StreamReset { .. })),
        "initiator reported its own reset"
    );

    // The id is free again: a new channel on it delivers from the start.
    net.a
        .send(net.now, 3, Ppid::String, b"after", Reliability::RELIABLE)
        .unwrap();
    net.run_for(1_000);
    assert_eq!(
        messages(&net.ev_b, 3).last().map(|(_, d)| d.as_slice()),
        Some(&b"after"[..])
    );

    // A stream that never carried data is reported too, and the exchange settles (no ping-pong).
    net.b.reset_stream(net.now, 9);
    net.run_for(2_000);
    assert!(net.ev_a.contains(&SctpEvent::StreamReset { stream_id: 9 }));
    let resets = |n: &Net| n.ev_a.len() + n.ev_b.len();
    let settled = resets(&net);
    net.run_for(10_000);
    assert_eq!(resets(&net), settled, "events kept coming after the reset");
    assert!(net.ab.queue.is_empty() && net.ba.queue.is_empty());
    assert!(
        net.a.poll_timeout().is_none() && net.b.poll_timeout().is_none(),
        "timers still running"
    );
}

/// Builds a DCEP DATA_CHANNEL_OPEN for a reliable ordered channel.
fn dcep_open(label: &str) -> Vec<u8> {
    let mut m = vec![DCEP_OPEN, 0x00, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&(label.len() as u16).to_be_bytes());
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(label.as_bytes());
    m
}

/// Queues a message with PPID 50 on `assoc` as a browser creating an in-band channel would.
fn send_dcep(assoc: &mut SctpAssociation, now_ms: u64, stream: u16, msg: &[u8]) {
    let now = assoc.instant(now_ms);
    let slot = assoc.slots.first_mut().unwrap();
    assoc
        .book
        .write(&mut slot.assoc, now, stream, RtcPpid::Dcep, msg, None)
        .unwrap();
}

/// The (stream, PPID, payload) of every DATA chunk in `packets`.
fn data_chunks(packets: &[Vec<u8>]) -> Vec<(u16, u32, Vec<u8>)> {
    packets
        .iter()
        .flat_map(|p| wire::chunks(p).filter(|c| c.typ == wire::CT_DATA).collect::<Vec<_>>())
        .filter(|c| c.value.len() >= 12)
        .map(|c| {
            let v = c.value;
            (
                u16::from_be_bytes([v[4], v[5]]),
                u32::from_be_bytes([v[8], v[9], v[10], v[11]]),
                v[12..].to_vec(),
            )
        })
        .collect()
}

#[test]
fn dcep_open_is_answered_with_an_ack_and_not_surfaced() {
    let mut net = Net::connected(13, 0.0, 10, 0);
    net.ba.record.clear();
    send_dcep(&mut net.a, net.now, 5, &dcep_open("chat"));
    net.run_for(1_000);
    assert!(messages(&net.ev_b, 5).is_empty(), "DCEP OPEN surfaced as a message");
    assert!(messages(&net.ev_a, 5).is_empty(), "DCEP ACK surfaced as a message");
    let acks: Vec<_> = data_chunks(&net.ba.record)
        .into_iter()
        .filter(|(_, ppid, _)| *ppid == 50)
        .collect();
    assert_eq!(acks, [(5, 50, vec![DCEP_ACK])]);
    // The channel works afterwards.
    net.a
        .send(net.now, 5, Ppid::String, b"hi", Reliability::RELIABLE)
        .unwrap();
    net.run_for(500);
    assert_eq!(messages(&net.ev_b, 5), [(Ppid::String, b"hi".to_vec())]);
}

#[test]
fn a_lost_init_ack_is_recovered() {
    let mut net = Net::with_link(14, 0.0, 10, 0);
    net.ba.fate = Some(Box::new(|n| if n == 0 { Fate::Drop } else { Fate::Deliver }));
    net.start();
    assert!(net.run_until(10_000, |n| n.both_connected()));
}

/// The client retransmits INIT because the first INIT ACK is late; the late INIT ACK then arrives
/// first, so the cookie that comes back belongs to the first server-side association.
#[test]
fn a_late_init_ack_still_completes_the_handshake() {
    let mut net = Net::with_link(15, 0.0, 10, 0);
    net.ba.fate = Some(Box::new(|n| match n {
        0 => Fate::DelayBy(1_200),
        1 => Fate::DelayBy(5_000),
        _ => Fate::Deliver,
    }));
    net.start();
    assert!(net.run_until(3_000, |n| n.both_connected()), "handshake stalled");
    assert!(
        net.ab.sent >= 3,
        "scenario did not happen: client sent {} packets",
        net.ab.sent
    );
    net.a
        .send(net.now, 1, Ppid::String, b"x", Reliability::RELIABLE)
        .unwrap();
    net.run_for(10_000);
    assert_eq!(messages(&net.ev_b, 1).len(), 1);
    assert_eq!(net.b.slots.len(), 1);
}

#[test]
fn handshake_fails_when_the_peer_never_answers() {
    let mut net = Net::with_link(16, 1.0, 10, 0);
    net.start();
    assert!(
        net.run_until(1_000_000, |n| n.a.state() == SctpState::Failed),
        "client never gave up"
    );
    assert_eq!(states(&net.ev_a), [SctpState::Connecting, SctpState::Failed]);
    assert!(net.a.poll_timeout().is_none());
}

#[test]
fn close_is_closed_locally_and_failed_on_the_peer() {
    let mut net = Net::connected(17, 0.0, 10, 0);
    net.a.close(net.now);
    assert_eq!(net.a.state(), SctpState::Closed);
    net.run_for(1_000);
    assert_eq!(states(&net.ev_a), [SctpState::Closed]);
    assert_eq!(states(&net.ev_b), [SctpState::Failed]);
    assert_eq!(
        net.b.send(net.now, 1, Ppid::String, b"x", Reliability::RELIABLE),
        Err(SctpError::NotConnected)
    );
    assert!(net.a.poll_transmit(net.now).is_none() && net.a.poll_timeout().is_none());
}

/// Packets with a valid checksum, the peer's verification tag and random chunks.
fn forged_packet(rng: &mut Rng, tag: u32) -> Vec<u8> {
    const TYPES: [u8; 15] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 130, 192];
    let mut p = vec![0x13, 0x88, 0x13, 0x88];
    p.extend_from_slice(&tag.to_be_bytes());
    p.extend_from_slice(&[0; 4]);
    for _ in 0..1 + rng.below(3) {
        let typ = if rng.chance(0.9) {
            TYPES[rng.below(TYPES.len() as u64) as usize]
        } else {
            rng.next() as u8
        };
        let len = rng.below(48) as usize;
        let mut value = rng.bytes(len);
        if matches!(typ, 1 | 2 | 4 | 5 | 6 | 9 | 130) && rng.chance(0.6) {
            // Fixed part (INIT/INIT ACK) followed by type-length-value parameters or causes.
            value = if typ <= 2 { rng.bytes(16) } else { Vec::new() };
            for _ in 0..rng.below(4) {
                const PARAMS: [u16; 12] = [1, 5, 7, 9, 12, 13, 14, 16, 0x8000, 0x8002, 0x8008, 0xc000];
                let t = if rng.chance(0.8) {
                    PARAMS[rng.below(12) as usize]
                } else {
                    rng.next() as u16
                };
                let body_len = rng.below(24) as usize;
                let body = rng.bytes(body_len);
                let declared = if rng.chance(0.8) {
                    body.len() + 4
                } else {
                    rng.below(64) as usize
                };
                value.extend_from_slice(&t.to_be_bytes());
                value.extend_from_slice(&(declared as u16).to_be_bytes());
                value.extend_from_slice(&body);
                while rng.chance(0.7) && value.len() & 3 != 0 {
                    value.push(0);
                }
            }
        }
        if typ == wire::CT_RECONFIG && rng.chance(0.5) {
            // A plausible Outgoing SSN Reset Request.
            value = vec![0, 13, 0, 20];
            value.extend(rng.bytes(12));
            value.extend(rng.bytes(4));
        }
        p.extend_from_slice(&[typ, rng.next() as u8]);
        p.extend_from_slice(&((value.len() + 4) as u16).to_be_bytes());
        p.extend_from_slice(&value);
        while p.len() & 3 != 0 {
            p.push(0);
        }
    }
    let crc = wire::checksum(&p);
    p[8..12].copy_from_slice(&crc.to_le_bytes());
    p
}

#[test]
fn garbage_input_never_panics() {
    let mut rng = Rng(18);
    // A fresh server, and both ends of a working association, fed random datagrams.
    let mut fresh = SctpAssociation::new(SctpOptions::default(), Instant::now());
    fresh.start(0);
    let mut net = Net::connected(18, 0.0, 10, 0);
    for i in 0..3_000u64 {
        let len = rng.below(1_500) as usize;
        let junk = rng.bytes(len);
        fresh.handle_input(i, &junk);
        net.a.handle_input(net.now, &junk);
        net.b.handle_input(net.now, &junk);
    }
    while fresh.poll_transmit(3_000).is_some() {}
    net.a
        .send(net.now, 1, Ppid::String, b"still alive", Reliability::RELIABLE)
        .unwrap();
    net.run_for(1_000);
    assert_eq!(messages(&net.ev_b, 1), [(Ppid::String, b"still alive".to_vec())]);

    // Checksum-valid packets with the right verification tag: random chunks, and mutations of
    // real packets. The association may legitimately die (ABORT); it must not panic or hang.
    net.ab.record.clear();
    net.a
        .send(net.now, 1, Ppid::Binary, &[7; 3_000], unordered_rexmit(0))
        .unwrap();
    net.run_for(1_000);
    let real = net.ab.record.clone();
    let tag = wire::verification_tag(&real[0]).unwrap();
    let started = std::time::Instant::now();
    for i in 0..3_000 {
        let mut p = if i % 2 == 0 {
            forged_packet(&mut rng, tag)
        } else {
            let mut p = real[rng.below(real.len() as u64) as usize].clone();
            for _ in 0..1 + rng.below(4) {
                let at = 12 + rng.below((p.len() - 12) as u64) as usize;
                p[at] = rng.next() as u8;
            }
            p
        };
        let crc = wire::checksum(&p);
        p[8..12].copy_from_slice(&crc.to_le_bytes());
        net.b.handle_input(net.now, &p);
        if i % 100 == 0 {
            net.advance(50);
        }
    }
    net.run_for(5_000);
    assert!(
        started.elapsed().as_secs() < 60,
        "forged input took {:?}",
        started.elapsed()
    );
    // A FORWARD TSN 2^30 ahead is dropped, not stepped through.
    let mut net = Net::connected(19, 0.0, 10, 0);
    let tag = {
        net.ab.record.clear();
        net.a
            .send(net.now, 1, Ppid::Binary, b"x", Reliability::RELIABLE)
            .unwrap();
        net.pump();
        wire::verification_tag(&net.ab.record[0]).unwrap()
    };
    let base = net.b.book.peer_tsn.unwrap();
    let mut p = vec![0x13, 0x88, 0x13, 0x88];
    p.extend_from_slice(&tag.to_be_bytes());
    p.extend_from_slice(&[0; 4]);
    p.extend_from_slice(&[wire::CT_FORWARD_TSN, 0, 0, 8]);
    p.extend_from_slice(&base.wrapping_add(1 << 30).to_be_bytes());
    let crc = wire::checksum(&p);
    p[8..12].copy_from_slice(&crc.to_le_bytes());
    let started = std::time::Instant::now();
    net.b.handle_input(net.now, &p);
    assert!(started.elapsed().as_millis() < 1_000);
    net.run_for(1_000);
    assert_eq!(net.b.state(), SctpState::Connected);
}

/// rtc-sctp's default stops retransmitting DATA after 5 timeouts in a row (about a minute) without
/// failing the association; data queued across such an outage would never arrive.
#[test]
fn data_survives_a_two_minute_outage() {
    let mut net = Net::connected(21, 0.0, 10, 0);
    net.ab.loss = 1.0;
    net.ba.loss = 1.0;
    net.a
        .send(net.now, 1, Ppid::String, b"across the outage", Reliability::RELIABLE)
        .unwrap();
    net.run_for(120_000);
    net.ab.loss = 0.0;
    net.ba.loss = 0.0;
    assert!(
        net.run_until(70_000, |n| !messages(&n.ev_b, 1).is_empty()),
        "message lost after the outage"
    );
    assert_eq!(net.a.state(), SctpState::Connected);
}

#[test]
fn an_error_chunk_from_the_peer_does_not_end_the_association() {
    let mut net = Net::connected(22, 0.0, 10, 0);
    net.ab.record.clear();
    net.a
        .send(net.now, 1, Ppid::Binary, b"x", Reliability::RELIABLE)
        .unwrap();
    net.pump();
    let tag = wire::verification_tag(&net.ab.record[0]).unwrap();
    // ERROR with the cause "Invalid Stream Identifier" (stream 4000).
    let mut p = vec![0x13, 0x88, 0x13, 0x88];
    p.extend_from_slice(&tag.to_be_bytes());
    p.extend_from_slice(&[0; 4]);
    p.extend_from_slice(&[wire::CT_ERROR, 0, 0, 12, 0, 1, 0, 8, 0x0f, 0xa0, 0, 0]);
    let crc = wire::checksum(&p);
    p[8..12].copy_from_slice(&crc.to_le_bytes());
    net.b.handle_input(net.now, &p);
    net.run_for(1_000);
    assert_eq!(net.b.state(), SctpState::Connected);
    net.a
        .send(net.now, 1, Ppid::Binary, b"y", Reliability::RELIABLE)
        .unwrap();
    net.run_for(1_000);
    assert_eq!(messages(&net.ev_b, 1).len(), 2);
}

/// rtc-sctp drops the SSN a FORWARD TSN skips on a stream it has not seen: when every fragment of
/// the first ordered message on a stream is lost and abandoned, the next message would wait for
/// it forever (found by fuzz/ `sctp_packets`).
#[test]
fn an_abandoned_first_ordered_message_does_not_block_its_stream() {
    let mut net = Net::connected(23, 0.0, 10, 0);
    let ordered_no_rexmit = Reliability {
        ordered: true,
        max_packet_life_time: None,
        max_retransmits: Some(0),
    };
    net.ab.loss = 1.0;
    net.a
        .send(net.now, 3, Ppid::Binary, &[1; 3_000], ordered_no_rexmit)
        .unwrap();
    net.run_for(5_000);
    net.ab.loss = 0.0;
    // The FORWARD TSN reaches the peer before any DATA of the stream does.
    net.ab.record.clear();
    assert!(net.run_until(120_000, |n| n.ab.record.iter().any(|p| wire::chunks(p).any(|c| c.typ == wire::CT_FORWARD_TSN))));
    net.run_for(1_000);
    net.a
        .send(net.now, 3, Ppid::Binary, b"after the lost one", Reliability::RELIABLE)
        .unwrap();
    assert!(
        net.run_until(120_000, |n| !messages(&n.ev_b, 3).is_empty()),
        "the stream stays blocked behind the abandoned message"
    );
    assert_eq!(messages(&net.ev_b, 3), [(Ppid::Binary, b"after the lost one".to_vec())]);
}

/// Queues a message on `assoc` through rtc-sctp directly, past the wrapper's stream check: a peer
/// that sends on streams it was not granted.
fn send_unchecked(assoc: &mut SctpAssociation, now_ms: u64, stream: u16, msg: &[u8]) {
    let now = assoc.instant(now_ms);
    let slot = assoc.slots.first_mut().unwrap();
    assoc
        .book
        .write(&mut slot.assoc, now, stream, RtcPpid::Binary, msg, None)
        .unwrap();
}

/// The stream ids of every "Invalid Stream Identifier" cause in the ERROR chunks of `packets`.
fn invalid_stream_causes(packets: &[Vec<u8>]) -> Vec<u16> {
    packets
        .iter()
        .flat_map(|p| wire::chunks(p).filter(|c| c.typ == wire::CT_ERROR).collect::<Vec<_>>())
        .flat_map(|c| c.value.chunks_exact(8).map(|cause| cause.to_vec()).collect::<Vec<_>>())
        .filter(|cause| u16::from_be_bytes([cause[0], cause[1]]) == wire::CAUSE_INVALID_STREAM)
        .map(|cause| u16::from_be_bytes([cause[4], cause[5]]))
        .collect()
}

/// The distinct TSNs of the DATA chunks on `stream` in `packets`.
fn data_tsns_on(packets: &[Vec<u8>], stream: u16) -> HashSet<u32> {
    packets
        .iter()
        .flat_map(|p| wire::chunks(p).filter(|c| c.typ == wire::CT_DATA).collect::<Vec<_>>())
        .filter_map(|c| wire::data_header(&c))
        .filter(|d| d.stream_id == stream)
        .map(|d| d.tsn)
        .collect()
}

fn connected_with(seed: u64, a: SctpOptions, b: SctpOptions) -> Net {
    let mut net = Net::new(seed, a, b, (0.0, 10, 0));
    net.start();
    assert!(net.run_until(60_000, |n| n.both_connected()), "handshake did not complete");
    net.ev_a.clear();
    net.ev_b.clear();
    net
}

fn streams(os: u16, mis: u16) -> SctpOptions {
    SctpOptions {
        os,
        mis,
        ..SctpOptions::default()
    }
}

#[test]
fn both_ends_agree_on_the_negotiated_stream_counts() {
    // (client OS, client MIS, server OS, server MIS)
    for (k, (a_os, a_mis, b_os, b_mis)) in [
        (1024, 1024, 1024, 1024),
        (1024, 1024, 1024, 16),
        (1024, 8, 1024, 1024),
        (4, 1024, 1024, 1024),
        (1024, 1024, 3, 1024),
        (65535, 65535, 65535, 65535),
        (10, 20, 30, 5),
    ]
    .into_iter()
    .enumerate()
    {
        let net = connected_with(40 + k as u64, streams(a_os, a_mis), streams(b_os, b_mis));
        let case = format!("a OS {a_os} MIS {a_mis}, b OS {b_os} MIS {b_mis}");
        assert_eq!(net.a.outbound_streams(), net.b.inbound_streams(), "{case}");
        assert_eq!(net.b.outbound_streams(), net.a.inbound_streams(), "{case}");
        assert!(net.a.outbound_streams() <= a_os.min(b_mis), "{case}");
        assert!(net.b.outbound_streams() <= b_os.min(a_mis), "{case}");
        assert!(net.a.inbound_streams() <= a_mis && net.b.inbound_streams() <= b_mis, "{case}");
    }
    // The client announces what it was configured with, so the server's limits are exact there.
    let net = connected_with(50, streams(1024, 1024), streams(1024, 16));
    assert_eq!((net.a.outbound_streams(), net.b.inbound_streams()), (16, 16));
    assert_eq!((net.b.outbound_streams(), net.a.inbound_streams()), (1024, 1024));
}

#[test]
fn data_on_a_stream_beyond_mis_is_acknowledged_discarded_counted_and_reported() {
    let mut net = connected_with(51, streams(1024, 1024), streams(1024, 16));
    net.ab.record.clear();
    net.ba.record.clear();
    net.a
        .send(net.now, 1, Ppid::String, b"before", Reliability::RELIABLE)
        .unwrap();
    // One small message and one of three fragments on streams the server never granted.
    send_unchecked(&mut net.a, net.now, 100, b"not for you");
    send_unchecked(&mut net.a, net.now, 16, &[7; 3_000]);
    net.run_for(2_000);
    let bad_tsns = data_tsns_on(&net.ab.record, 100).len() + data_tsns_on(&net.ab.record, 16).len();
    assert_eq!(bad_tsns, 4);

    // Not delivered, on any stream; counted once per chunk.
    assert_eq!(messages(&net.ev_b, 1), [(Ppid::String, b"before".to_vec())]);
    assert!(
        !net.ev_b.iter().any(|e| matches!(e, SctpEvent::Message { stream_id, .. } if *stream_id != 1)),
        "{:?}",
        net.ev_b
    );
    assert_eq!(net.b.invalid_stream_chunks(), 4);
    // Reported: ERROR chunks with "Invalid Stream Identifier" naming the streams.
    let mut reported = invalid_stream_causes(&net.ba.record);
    reported.sort_unstable();
    reported.dedup();
    assert_eq!(reported, [16, 100]);
    // Acknowledged: nothing stays buffered at the sender and nothing is retransmitted.
    assert_eq!(net.a.buffered_amount(100), 0);
    assert_eq!(net.a.buffered_amount(16), 0);
    assert_eq!(net.a.total_buffered_amount(), 0);
    net.ab.record.clear();
    net.run_for(120_000);
    assert!(data_tsns_on(&net.ab.record, 100).is_empty() && data_tsns_on(&net.ab.record, 16).is_empty());
    assert_eq!(net.b.invalid_stream_chunks(), 4);

    // The association keeps working on the valid streams, both ways.
    assert!(net.both_connected());
    net.a
        .send(net.now, 15, Ppid::Binary, b"after", Reliability::RELIABLE)
        .unwrap();
    net.b
        .send(net.now, 3, Ppid::Binary, b"back", Reliability::RELIABLE)
        .unwrap();
    net.run_for(1_000);
    assert_eq!(messages(&net.ev_b, 15), [(Ppid::Binary, b"after".to_vec())]);
    assert_eq!(messages(&net.ev_a, 3), [(Ppid::Binary, b"back".to_vec())]);
    // No per-stream state for the refused streams.
    let b_streams = net.b.slots[0].assoc.stream_ids();
    assert!(b_streams.iter().all(|&id| id < 16 || id == SINK_STREAM), "{b_streams:?}");
    assert!(net.b.book.streams.keys().all(|&id| id < 16));
}

#[test]
fn sending_beyond_the_peers_mis_is_refused() {
    let mut net = connected_with(52, streams(1024, 8), streams(1024, 1024));
    assert_eq!(net.b.outbound_streams(), 8);
    net.ba.record.clear();
    let r = net.b.send(net.now, 8, Ppid::String, b"x", Reliability::RELIABLE);
    assert_eq!(
        r,
        Err(SctpError::InvalidStream {
            stream_id: 8,
            num_streams: 8
        })
    );
    let text = r.unwrap_err().to_string();
    assert!(text.contains("streamId 8") && text.contains("MIS"), "{text}");
    // Resetting such a stream (its data consumer closed) puts nothing on the wire either.
    net.b.reset_stream(net.now, 8);
    net.b
        .send(net.now, 7, Ppid::String, b"y", Reliability::RELIABLE)
        .unwrap();
    net.run_for(1_000);
    assert!(data_tsns_on(&net.ba.record, 8).is_empty());
    assert!(!net.ba.record.iter().any(|p| wire::chunks(p).any(|c| c.typ == wire::CT_RECONFIG)));
    assert_eq!(messages(&net.ev_a, 7), [(Ppid::String, b"y".to_vec())]);
    // Before the association is up the configured OS applies (and NotConnected wins anyway).
    let net = Net::new(53, streams(1024, 8), streams(1024, 1024), (0.0, 10, 0));
    assert_eq!(net.b.outbound_streams(), 1024);
}

#[test]
fn data_on_every_invalid_stream_id_keeps_the_stream_state_bounded() {
    let mut net = connected_with(54, streams(65535, 1024), streams(1024, 16));
    net.ab.record.clear();
    net.ba.record.clear();
    let mut next = 16u32;
    while next <= 65535 {
        let end = (next + 4096).min(65536);
        for id in next..end {
            send_unchecked(&mut net.a, net.now, id as u16, &[1]);
        }
        next = end;
        assert!(net.run_until(600_000, |n| n.a.total_buffered_amount() == 0), "not acknowledged");
    }
    assert_eq!(net.b.invalid_stream_chunks(), 65536 - 16);
    assert!(net.ev_b.iter().all(|e| !matches!(e, SctpEvent::Message { .. } | SctpEvent::StreamReset { .. })));
    let b_streams = net.b.slots[0].assoc.stream_ids();
    assert!(b_streams.len() <= 1 && b_streams.iter().all(|&id| id == SINK_STREAM), "{b_streams:?}");
    assert!(net.b.book.streams.is_empty());
    // A reset request naming streams beyond both counts opens none either; it is still answered.
    {
        let now = net.a.instant(net.now);
        let slot = net.a.slots.first_mut().unwrap();
        slot.assoc.stream(40_000).unwrap().close(now).unwrap();
        net.a.book.wrote = true;
    }
    net.run_for(5_000);
    assert!(net.b.slots[0].assoc.stream_ids().iter().all(|&id| id == SINK_STREAM));
    assert!(net.ev_b.iter().all(|e| !matches!(e, SctpEvent::StreamReset { .. })));
    // One ERROR packet at most per packet received, each cause at most once per ERROR chunk.
    let errors = net.ba.record.iter().filter(|p| wire::chunks(p).any(|c| c.typ == wire::CT_ERROR)).count();
    assert!(errors > 0 && errors <= net.ab.record.len());
    // Still usable.
    net.a
        .send(net.now, 2, Ppid::String, b"still here", Reliability::RELIABLE)
        .unwrap();
    net.run_for(1_000);
    assert_eq!(messages(&net.ev_b, 2), [(Ppid::String, b"still here".to_vec())]);
    assert!(net.both_connected());
}
