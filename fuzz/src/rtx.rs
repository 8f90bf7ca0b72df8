//! RTX (RFC 4588) packets: `write_rtx`, `restore_rtx` and `rtx_osn` round trips.

use arbitrary::Unstructured;
use sfu_core::rtp::retransmission::{restore_rtx, rtx_osn, write_rtx};
use sfu_core::rtp::RtpPacket;

/// `pkt` without its padding and with the P bit cleared (what an RTX round trip gives back).
fn without_padding(pkt: &RtpPacket<'_>) -> Vec<u8> {
    let data = pkt.data();
    let end = pkt.payload().as_ptr() as usize - data.as_ptr() as usize + pkt.payload().len();
    let mut v = data[..end].to_vec();
    v[0] &= !0x20;
    v
}

/// The whole input is one datagram, taken both as an original packet and as an RTX packet; the
/// SSRCs, payload types and sequence number used are read from its last bytes.
pub fn rtx(data: &[u8]) {
    let mut u = Unstructured::new(crate::tail(data, 12));
    let rtx_ssrc: u32 = u.arbitrary().unwrap_or(2);
    let rtx_pt: u8 = u.arbitrary().unwrap_or(97);
    let rtx_seq: u16 = u.arbitrary().unwrap_or(1);
    let rtx_pt = rtx_pt & 0x7f;

    // As an original: write_rtx, then restore_rtx gives it back minus padding.
    let parsed = RtpPacket::parse(data);
    let mut out = vec![1, 2, 3];
    let ok = write_rtx(&mut out, data, rtx_ssrc, rtx_pt, rtx_seq);
    assert_eq!(ok, parsed.is_some(), "write_rtx and RtpPacket::parse disagree on {data:02x?}");
    if !ok {
        assert!(out.is_empty(), "write_rtx failed but left bytes in out");
    }
    if let Some(orig) = parsed {
        let r = RtpPacket::parse(&out).unwrap_or_else(|| panic!("write_rtx output does not parse: {out:02x?}"));
        assert_eq!((r.ssrc(), r.payload_type(), r.sequence_number()), (rtx_ssrc, rtx_pt, rtx_seq));
        assert_eq!((r.timestamp(), r.marker()), (orig.timestamp(), orig.marker()));
        assert_eq!(out[0] & 0x20, 0, "RTX packet keeps the P bit");
        assert_eq!(&r.payload()[..2], &orig.sequence_number().to_be_bytes(), "OSN");
        assert_eq!(&r.payload()[2..], orig.payload());
        assert_eq!(rtx_osn(&out), Some(orig.sequence_number()));
        assert_eq!(r.extensions().collect::<Vec<_>>(), orig.extensions().collect::<Vec<_>>());
        let mut back = vec![9];
        assert!(restore_rtx(&mut back, &out, orig.ssrc(), orig.payload_type()), "restore_rtx(write_rtx(x)) failed");
        assert_eq!(back, without_padding(&orig), "restore_rtx(write_rtx(x)) != x minus padding");
    }

    // As an RTX packet: restore_rtx, then write_rtx gives it back minus padding.
    let media_ssrc = rtx_ssrc ^ 0x5555_5555;
    let media_pt = rtx_pt ^ 0x11;
    let mut restored = vec![4, 5];
    let ok = restore_rtx(&mut restored, data, media_ssrc, media_pt);
    let osn = rtx_osn(data);
    assert_eq!(ok, osn.is_some(), "restore_rtx and rtx_osn disagree");
    match parsed {
        Some(p) => assert_eq!(ok, p.payload().len() >= 2, "restore_rtx vs payload length"),
        None => assert!(!ok, "restore_rtx accepted what RtpPacket::parse rejects"),
    }
    if !ok {
        assert!(restored.is_empty(), "restore_rtx failed but left bytes in out");
        return;
    }
    let (p, osn) = (parsed.unwrap(), osn.unwrap());
    let m = RtpPacket::parse(&restored).unwrap_or_else(|| panic!("restore_rtx output does not parse: {restored:02x?}"));
    assert_eq!((m.ssrc(), m.payload_type(), m.sequence_number()), (media_ssrc, media_pt & 0x7f, osn));
    assert_eq!((m.timestamp(), m.marker()), (p.timestamp(), p.marker()));
    assert_eq!(m.payload(), &p.payload()[2..]);
    let mut again = Vec::new();
    assert!(write_rtx(&mut again, &restored, p.ssrc(), p.payload_type(), p.sequence_number()));
    assert_eq!(again, without_padding(&p), "write_rtx(restore_rtx(x)) != x minus padding");
}
