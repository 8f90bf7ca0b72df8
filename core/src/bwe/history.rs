//! Sent-packet history keyed by transport-wide sequence number.
//!
//! Packets are stored in send order in a ring buffer indexed by their unwrapped sequence number,
//! so a feedback lookup is O(1) and nothing is allocated per packet beyond the ring's growth.

use std::collections::VecDeque;

/// Keep at most this many packets: well under half the 16-bit space, so unwrapping a
/// feedback's sequence number against the newest sent one is never ambiguous.
const MAX_PACKETS: usize = 1 << 14;
/// Forget packets sent longer ago than this: their feedback is useless by now.
const MAX_AGE_US: i64 = 3_000_000;
/// A forward jump in sent sequence numbers up to this size is filled with placeholders;
/// a longer one (or a jump backwards) restarts the history.
const MAX_GAP: i64 = 1_000;

/// What is known of a sent packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PacketState {
    /// Placeholder for a sequence number the engine skipped; feedback for it is ignored.
    Unsent,
    /// Sent, not reported yet.
    InFlight,
    /// Reported lost (a later feedback may still report it received).
    Lost,
    /// Reported received; later reports are duplicates.
    Received,
}

/// One sent packet.
#[derive(Debug, Clone, Copy)]
pub(super) struct SentPacket {
    /// Local send time, µs.
    pub send_us: i64,
    /// Size in bytes.
    pub size: u32,
    /// Probe cluster id, for probe packets.
    pub probe: Option<u32>,
    /// Feedback state.
    pub state: PacketState,
}

/// Sent packets in send order.
#[derive(Debug, Default)]
pub(super) struct SendHistory {
    packets: VecDeque<SentPacket>,
    /// Unwrapped sequence number of `packets[0]`.
    first_seq: i64,
    /// Unwrapped sequence number of the newest sent packet.
    last_seq: Option<i64>,
    /// Newest send time: send times are kept monotonic.
    last_send_us: i64,
}

impl SendHistory {
    /// Records a sent packet. Returns the (monotonic) send time stored.
    pub fn on_sent(&mut self, seq: u16, size: u32, send_us: i64, probe: Option<u32>) -> i64 {
        let send_us = send_us.max(self.last_send_us);
        self.last_send_us = send_us;
        let packet = SentPacket { send_us, size, probe, state: PacketState::InFlight };
        match self.last_seq {
            None => self.restart(i64::from(seq), packet),
            Some(last) => {
                let diff = i64::from(seq.wrapping_sub(last as u16) as i16);
                if diff == 1 {
                    self.packets.push_back(packet);
                    self.last_seq = Some(last + 1);
                } else if diff > 1 && diff <= MAX_GAP {
                    let hole = SentPacket { state: PacketState::Unsent, ..packet };
                    for _ in 1..diff {
                        self.packets.push_back(hole);
                    }
                    self.packets.push_back(packet);
                    self.last_seq = Some(last + diff);
                } else if diff <= 0 && diff > -MAX_GAP {
                    // The same number again, or an older one: keep the first send.
                } else {
                    self.restart(last + diff, packet);
                }
            }
        }
        self.trim(send_us);
        send_us
    }

    fn restart(&mut self, seq: i64, packet: SentPacket) {
        self.packets.clear();
        self.packets.push_back(packet);
        self.first_seq = seq;
        self.last_seq = Some(seq);
    }

    fn trim(&mut self, now_us: i64) {
        while let Some(front) = self.packets.front() {
            let too_many = self.packets.len() > MAX_PACKETS;
            let too_old = now_us.saturating_sub(front.send_us) > MAX_AGE_US;
            if !(too_many || too_old) || self.packets.len() == 1 {
                break;
            }
            self.packets.pop_front();
            self.first_seq += 1;
        }
    }

    /// The packet sent with `seq` (unwrapped against the newest sent), if still remembered.
    pub fn get_mut(&mut self, seq: u16) -> Option<&mut SentPacket> {
        let last = self.last_seq?;
        let unwrapped = last + i64::from(seq.wrapping_sub(last as u16) as i16);
        let index = unwrapped - self.first_seq;
        if index < 0 {
            return None;
        }
        self.packets.get_mut(usize::try_from(index).ok()?)
    }

    /// Number of remembered packets (tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.packets.len()
    }
}
