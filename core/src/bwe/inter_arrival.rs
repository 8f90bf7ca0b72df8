//! Groups packets into send-time bursts and yields the send/arrival time deltas between
//! consecutive groups (draft-ietf-rmcat-gcc-02 §5.1: a group is the packets sent within a
//! burst interval; libwebrtc also merges packets that arrive as a burst behind a queue).

/// Packets sent within this time of a group's first packet belong to the group.
const SEND_BURST_US: i64 = 5_000;
/// Packets arriving within this time of the previous one, with negative propagation delta,
/// belong to the same (queued) burst ...
const ARRIVAL_BURST_US: i64 = 5_000;
/// ... unless the burst already lasts this long.
const MAX_BURST_US: i64 = 100_000;
/// An arrival delta that runs this far ahead of the local clock means the receiver's clock
/// jumped: start over.
const ARRIVAL_OFFSET_RESET_US: i64 = 3_000_000;
/// This many consecutive groups arriving before their predecessor also start over.
const REORDERED_RESET: u32 = 3;

#[derive(Debug, Clone, Copy)]
struct Group {
    first_send_us: i64,
    /// Latest send time in the group.
    send_us: i64,
    first_arrival_us: i64,
    /// Arrival of the group's last packet.
    complete_us: i64,
    /// Local time the group's last packet was reported.
    local_us: i64,
}

impl Group {
    fn start(send_us: i64, arrival_us: i64, local_us: i64) -> Self {
        Self { first_send_us: send_us, send_us, first_arrival_us: arrival_us, complete_us: arrival_us, local_us }
    }
}

/// Deltas between two consecutive groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct GroupDelta {
    /// Send time delta, ms.
    pub send_ms: f64,
    /// Arrival time delta, ms.
    pub recv_ms: f64,
    /// Arrival time of the packet that closed the group (receiver clock), ms.
    pub arrival_ms: f64,
}

/// The inter-arrival grouper.
#[derive(Debug, Default)]
pub(super) struct InterArrival {
    current: Option<Group>,
    prev: Option<Group>,
    reordered: u32,
}

impl InterArrival {
    /// Feeds one received packet (in arrival order). Returns the deltas between the two
    /// previous groups when this packet starts a new group.
    pub fn on_packet(&mut self, send_us: i64, arrival_us: i64, local_us: i64) -> Option<GroupDelta> {
        let Some(mut cur) = self.current else {
            self.current = Some(Group::start(send_us, arrival_us, local_us));
            return None;
        };
        if send_us < cur.first_send_us {
            // Sent before the current group started: out of order, ignore.
            return None;
        }
        let mut out = None;
        if self.starts_new_group(&cur, send_us, arrival_us) {
            if let Some(prev) = self.prev {
                let send_delta = cur.send_us.saturating_sub(prev.send_us);
                let recv_delta = cur.complete_us.saturating_sub(prev.complete_us);
                let local_delta = cur.local_us.saturating_sub(prev.local_us);
                if recv_delta.saturating_sub(local_delta) >= ARRIVAL_OFFSET_RESET_US {
                    self.reset();
                    return None;
                }
                if recv_delta < 0 {
                    self.reordered += 1;
                    if self.reordered >= REORDERED_RESET {
                        self.reset();
                    }
                    return None;
                }
                self.reordered = 0;
                out = Some(GroupDelta {
                    send_ms: send_delta as f64 / 1000.0,
                    recv_ms: recv_delta as f64 / 1000.0,
                    arrival_ms: arrival_us as f64 / 1000.0,
                });
            }
            self.prev = Some(cur);
            cur = Group::start(send_us, arrival_us, local_us);
        } else {
            cur.send_us = cur.send_us.max(send_us);
        }
        cur.complete_us = arrival_us;
        cur.local_us = local_us;
        self.current = Some(cur);
        out
    }

    fn starts_new_group(&self, cur: &Group, send_us: i64, arrival_us: i64) -> bool {
        if self.belongs_to_burst(cur, send_us, arrival_us) {
            return false;
        }
        send_us.saturating_sub(cur.first_send_us) > SEND_BURST_US
    }

    fn belongs_to_burst(&self, cur: &Group, send_us: i64, arrival_us: i64) -> bool {
        let arrival_delta = arrival_us.saturating_sub(cur.complete_us);
        let send_delta = send_us.saturating_sub(cur.send_us);
        if send_delta == 0 {
            return true;
        }
        let propagation_delta = arrival_delta.saturating_sub(send_delta);
        propagation_delta < 0
            && arrival_delta <= ARRIVAL_BURST_US
            && arrival_us.saturating_sub(cur.first_arrival_us) < MAX_BURST_US
    }

    /// Forgets all groups.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_send_burst() {
        let mut ia = InterArrival::default();
        // Group A: sent 0..=4 ms, group B: 20 ms, group C: 40 ms.
        assert_eq!(ia.on_packet(0, 100_000, 0), None);
        assert_eq!(ia.on_packet(4_000, 104_000, 0), None);
        assert_eq!(ia.on_packet(20_000, 121_000, 0), None); // closes A
        assert_eq!(ia.on_packet(20_000, 122_000, 0), None);
        let d = ia.on_packet(40_000, 145_000, 0).expect("delta B-A");
        assert_eq!(d.send_ms, 16.0);
        assert_eq!(d.recv_ms, 18.0);
    }

    #[test]
    fn clock_jump_resets() {
        let mut ia = InterArrival::default();
        ia.on_packet(0, 0, 0);
        ia.on_packet(10_000, 10_000, 0);
        ia.on_packet(20_000, 10_000_000, 0);
        assert_eq!(ia.on_packet(30_000, 10_010_000, 0), None);
        assert!(ia.prev.is_none());
    }
}
