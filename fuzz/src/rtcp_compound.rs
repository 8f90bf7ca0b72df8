//! The compound RTCP walk, FIR SSRCs and Generic NACK parsing (and writing, as a round trip).

use sfu_core::rtp::nack::{parse_nack, write_nack};
use sfu_core::rtp::rtcp::compound;

/// The whole input is one RTCP datagram.
pub fn rtcp_compound(data: &[u8]) {
    let mut pos = 0usize;
    for p in compound(data) {
        // The walk yields consecutive, complete packets that start at their header.
        assert_eq!(p.data.as_ptr() as usize - data.as_ptr() as usize, pos, "packets are consecutive");
        assert!(p.data.len() >= 4 && p.data.len() % 4 == 0);
        assert_eq!(p.data.len(), (usize::from(u16::from_be_bytes([p.data[2], p.data[3]])) + 1) * 4);
        assert_eq!(p.data[0] >> 6, 2);
        assert_eq!(p.packet_type, p.data[1]);
        assert_eq!(p.count, p.data[0] & 0x1f);
        pos += p.data.len();

        assert_eq!(p.media_ssrc().is_some(), p.data.len() >= 12);
        let firs: Vec<u32> = p.fir_ssrcs().collect();
        if p.is_fir() {
            assert_eq!(firs.len(), p.data.len().saturating_sub(12) / 8);
        } else {
            assert!(firs.is_empty(), "FIR SSRCs from a packet that is not a FIR");
        }
        assert!(!(p.is_fir() && p.is_pli()));

        if p.packet_type == 205 && p.count == 1 {
            check_nack(p.data);
        }
    }
    assert!(pos <= data.len());
    // parse_nack is also called on whole datagrams (bytes past the length field are ignored).
    check_nack(data);
}

/// `parse_nack` on `packet`, compared with rtc-rtcp's decoder, then `write_nack` of the result
/// parsed back to the same set.
fn check_nack(packet: &[u8]) {
    let mut seqs = Vec::new();
    let Some(media_ssrc) = parse_nack(packet, &mut seqs) else {
        assert!(seqs.is_empty(), "parse_nack wrote seqs and then failed");
        return;
    };
    let end = (usize::from(u16::from_be_bytes([packet[2], packet[3]])) + 1) * 4;
    let padded = packet[0] & 0x20 != 0;
    let fci_bytes = end - 12 - if padded { usize::from(packet[end - 1]) } else { 0 };
    let pairs = fci_bytes / 4;
    let blp_bits: usize = (0..pairs)
        .map(|i| u16::from_be_bytes([packet[12 + 4 * i + 2], packet[12 + 4 * i + 3]]).count_ones() as usize)
        .sum();
    assert_eq!(seqs.len(), pairs + blp_bits, "one seq per PID plus one per BLP bit");

    // rtc-rtcp decodes the same packet to the same set (its parser handles no padding and
    // wants an exact length, so compare only those).
    if !padded {
        use shared::marshal::Unmarshal;
        let mut b = &packet[..end];
        if let Ok(n) = rtc_rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack::unmarshal(&mut b) {
            let theirs: std::collections::BTreeSet<u16> =
                n.nacks.iter().flat_map(|p| p.packet_list()).collect();
            let ours: std::collections::BTreeSet<u16> = seqs.iter().copied().collect();
            assert_eq!(ours, theirs, "parse_nack vs rtc-rtcp on {:02x?}", &packet[..end]);
            assert_eq!(n.media_ssrc, media_ssrc);
        }
    }

    // write_nack → parse_nack round trip: the same set of sequence numbers, sizes respected.
    let max_size = 12 + 4 * (1 + usize::from(packet[1] % 8));
    let mut out = Vec::new();
    write_nack(&mut out, 0x0102_0304, media_ssrc, &seqs, max_size);
    let mut back = Vec::new();
    for pkt in &out {
        assert!(pkt.len() <= max_size.max(16), "NACK of {} bytes > max_size {max_size}", pkt.len());
        assert_eq!(parse_nack(pkt, &mut back), Some(media_ssrc));
        let mut walked = compound(pkt);
        assert_eq!(walked.next().map(|p| p.data.len()), Some(pkt.len()), "written NACK walks as one packet");
    }
    let mut a = seqs.clone();
    a.sort_unstable();
    a.dedup();
    back.sort_unstable();
    let dups = back.len();
    back.dedup();
    assert_eq!(dups, back.len(), "write_nack requests a seq twice");
    assert_eq!(back, a, "write_nack/parse_nack round trip");
}
