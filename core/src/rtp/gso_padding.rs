//! RTP padding that lets a consumer's packets of one receive turn leave as one UDP GSO send.
//!
//! A GSO send hands the kernel equal-size datagrams (the last may be shorter) as one: one pass
//! of the send path for all of them instead of one each, which is most of what forwarding a
//! packet costs. Packetizers split a frame about equally, not exactly: libwebrtc's make the
//! last `len % n` packets of a frame one byte longer, so a frame leaves as two sends (the short
//! ones, then the long ones), and any header extension present on some packets only splits it
//! further. RFC 3550 §5.1 provides for exactly this: padding "for carrying several RTP packets
//! in a lower-layer protocol data unit". Before a consumer's packets of a turn are sent, each
//! is padded (P bit, then `n` octets whose last holds `n`) up to the size of the run it joins —
//! by a few octets at most ([`max_padding`]: 1–16, under 2 % of the packet), never beyond the
//! largest packet of the run, so no datagram grows past what the path already carries. A
//! packet that already has padding is left as it is; receivers strip padding (RFC 3550
//! requires it; libwebrtc, ffmpeg and GStreamer do).

/// Octets of padding a packet of `len` bytes may get: 2 % of it, at least 1, at most 16.
pub fn max_padding(len: usize) -> usize {
    (len / 50).clamp(1, 16)
}

/// Plans the padding of packets of lengths `lens`, in the order they are sent to one
/// destination, as GSO runs of at most `max_run` packets and `max_bytes` bytes: `pads[k]`
/// gets the octets to append to packet `k` (0: none). `can_pad(k)` is false for a packet that
/// must not be padded (it has padding already). Greedy: a run takes the next packet when it
/// is as long, or shorter by no more than it may be padded, or longer by no more than every
/// packet of the run so far may be padded; a shorter packet that cannot be padded ends the
/// run as its last segment (GSO allows a shorter last one), unpadded.
pub fn plan(lens: &[usize], can_pad: impl Fn(usize) -> bool, max_run: usize, max_bytes: usize, pads: &mut Vec<usize>) {
    pads.clear();
    pads.resize(lens.len(), 0);
    let allow = |k: usize| if can_pad(k) { max_padding(lens[k]) } else { 0 };
    let mut i = 0;
    while i < lens.len() {
        // The run's segment size, and the largest it may still grow to.
        let (mut size, mut room) = (lens[i], lens[i] + allow(i));
        let mut end = i + 1;
        let mut short_last = false;
        while end < lens.len() && end - i < max_run && (end - i + 1) * size.max(lens[end]) <= max_bytes {
            let len = lens[end];
            if len <= size && size <= len + allow(end) {
                room = room.min(len + allow(end));
                end += 1;
            } else if len > size && len <= room {
                size = len;
                room = room.min(len + allow(end));
                end += 1;
            } else if len < size {
                end += 1;
                short_last = true;
                break;
            } else {
                break;
            }
        }
        let padded = if short_last { end - 1 } else { end };
        for k in i..padded {
            pads[k] = size - lens[k];
        }
        i = end;
    }
}

/// Whether the RTP packet starting with `first_octet` may be padded (it has no padding yet).
pub fn can_pad(first_octet: u8) -> bool {
    first_octet & 0x20 == 0
}

/// Pads the RTP packet in `pkt`, whose last `pad` bytes are room after it: sets the P bit and
/// writes the padding (zeros, then the count). Nothing when `pad` is 0.
pub fn apply(pkt: &mut [u8], pad: usize) {
    if pad == 0 || pad > 255 || pkt.len() < 12 + pad {
        return;
    }
    pkt[0] |= 0x20;
    let n = pkt.len();
    pkt[n - pad..n - 1].fill(0);
    pkt[n - 1] = pad as u8;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(lens: &[usize], paddable: impl Fn(usize) -> bool) -> Vec<usize> {
        let mut pads = vec![];
        plan(lens, paddable, 64, 60_000, &mut pads);
        pads
    }

    /// The GSO runs the batch would make of these lengths (each a list of packet indices).
    fn runs(lens: &[usize]) -> usize {
        let mut n = 0;
        let mut i = 0;
        while i < lens.len() {
            let mut j = i + 1;
            while j < lens.len() && lens[j] <= lens[i] {
                j += 1;
                if lens[j - 1] < lens[i] {
                    break;
                }
            }
            n += 1;
            i = j;
        }
        n
    }

    fn padded(lens: &[usize], pads: &[usize]) -> Vec<usize> {
        lens.iter().zip(pads).map(|(l, p)| l + p).collect()
    }

    #[test]
    fn a_frame_split_about_equally_leaves_as_one_run() {
        // libwebrtc: the last `len % n` packets one byte longer.
        let lens = [1000, 1000, 1000, 1001, 1001, 1001];
        assert_eq!(runs(&lens), 2);
        let pads = planned(&lens, |_| true);
        assert_eq!(pads, [1, 1, 1, 0, 0, 0]);
        assert_eq!(runs(&padded(&lens, &pads)), 1);
        // A shorter packet after the run (audio, a frame's small tail) ends it unpadded.
        let lens = [1000, 1001, 1001, 160];
        let pads = planned(&lens, |_| true);
        assert_eq!(pads, [1, 0, 0, 0]);
        assert_eq!(runs(&padded(&lens, &pads)), 1);
    }

    #[test]
    fn padding_stays_small_and_never_exceeds_the_largest_packet() {
        // 300 bytes may take 6 octets: 8 is too many, so the first packet leaves alone.
        let lens = [300, 308, 308];
        let pads = planned(&lens, |_| true);
        assert_eq!(pads, [0, 0, 0]);
        let lens = [300, 306, 306, 306];
        assert_eq!(planned(&lens, |_| true), [6, 0, 0, 0]);
        // Growing the run stops where an earlier packet could not follow.
        let lens = [1200, 1210, 1220, 1230];
        let pads = planned(&lens, |_| true);
        assert_eq!(padded(&lens, &pads), [1210, 1210, 1230, 1230]);
        for (l, p) in lens.iter().zip(&pads) {
            assert!(*p <= max_padding(*l));
        }
        let max = *lens.iter().max().unwrap();
        assert!(padded(&lens, &pads).iter().all(|l| *l <= max));
    }

    #[test]
    fn packets_with_padding_are_left_alone() {
        let lens = [1000, 1000, 1001, 1001];
        // Packet 1 has padding already: the run cannot grow past it; it stays 1000.
        let pads = planned(&lens, |k| k != 1);
        assert_eq!(pads[1], 0);
        assert_eq!(padded(&lens, &pads)[..2], [1000, 1000]);
        // One that cannot be padded and is shorter ends the run as its last segment.
        let lens = [1001, 1000, 1001];
        assert_eq!(planned(&lens, |k| k != 1), [0, 0, 0]);
        assert_eq!(planned(&lens, |_| true), [0, 1, 0]);
    }

    #[test]
    fn runs_respect_the_gso_limits() {
        let lens = vec![1000; 10];
        let mut pads = vec![];
        plan(&lens, |_| true, 4, 60_000, &mut pads);
        assert_eq!(pads, vec![0; 10]);
        let lens: Vec<usize> = (0..10).map(|k| 1000 + k % 2).collect();
        plan(&lens, |_| true, 4, 60_000, &mut pads);
        // Runs of 4: [1000 1001 1000 1001] -> all 1001.
        assert_eq!(padded(&lens, &pads)[..4], [1001; 4]);
        plan(&lens, |_| true, 64, 3_003, &mut pads);
        assert_eq!(padded(&lens, &pads)[..3], [1001; 3]);
        assert_eq!(padded(&lens, &pads)[3], 1001);
    }

    #[test]
    fn apply_writes_rfc3550_padding() {
        let mut pkt = vec![0x80u8; 20];
        pkt.extend_from_slice(&[0xaa; 3]);
        apply(&mut pkt, 3);
        assert_eq!(pkt[0], 0xa0);
        assert_eq!(&pkt[20..], &[0, 0, 3]);
        let mut one = vec![0x80u8; 13];
        apply(&mut one, 1);
        assert_eq!((one[0], one[12]), (0xa0, 1));
        let mut none = vec![0x80u8; 13];
        apply(&mut none, 0);
        assert_eq!(none, vec![0x80u8; 13]);
        assert!(can_pad(0x80) && !can_pad(0xa0));
    }
}
