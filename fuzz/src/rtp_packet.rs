//! `RtpPacket::parse`, the extension iterator and `write_forwarded` (the forwarding hot path).

use arbitrary::Unstructured;
use sfu_core::rtp::{write_forwarded, ExtensionMap, ForwardHeader, RtpPacket};

/// The whole input is one datagram; the remap, the new header fields and the MID override are
/// read from its last bytes.
pub fn rtp_packet(data: &[u8]) {
    let _ = sfu_core::rtp::is_rtcp(data);
    let Some(pkt) = RtpPacket::parse(data) else {
        return;
    };

    // Accessors never panic and agree with the bytes.
    assert_eq!(pkt.data(), data);
    assert_eq!(pkt.payload_type(), data[1] & 0x7f);
    assert_eq!(pkt.marker(), data[1] & 0x80 != 0);
    assert_eq!(pkt.sequence_number(), u16::from_be_bytes([data[2], data[3]]));
    let payload = pkt.payload();
    let payload_start = payload.as_ptr() as usize - data.as_ptr() as usize;
    assert!(payload_start + payload.len() <= data.len());
    let csrc_end = 12 + 4 * usize::from(data[0] & 0x0f);
    assert!(payload_start >= csrc_end, "payload overlaps the CSRC list");
    let padding = data.len() - payload_start - payload.len();
    if data[0] & 0x20 != 0 {
        assert_eq!(padding, usize::from(data[data.len() - 1]), "padding length");
    } else {
        assert_eq!(padding, 0, "padding without the P bit");
    }

    let exts: Vec<(u8, &[u8])> = pkt.extensions().collect();
    // Each element takes at least one byte of the extension block.
    assert!(exts.len() <= payload_start - csrc_end, "more extensions than bytes");
    for &(_, d) in &exts {
        // Note: a one-byte element byte 0x0N (id 0, N > 0) is yielded as (0, data) where
        // libwebrtc skips a single padding byte; extension(0) is None either way.
        let start = d.as_ptr() as usize - data.as_ptr() as usize;
        assert!(start >= csrc_end && start + d.len() <= payload_start, "extension data outside the extension block");
    }
    // extension(id) is the first element with that id: check every id present, 0 and a few absent.
    let probe = exts.iter().map(|(i, _)| *i).chain([0, 1, 14, 15, 255, data.len() as u8]);
    for id in probe {
        let want = if id == 0 { None } else { exts.iter().find(|(i, _)| *i == id).map(|(_, d)| *d) };
        assert_eq!(pkt.extension(id), want, "extension({id}) vs the iterator");
    }

    // The forwarding writer with a remap read from the tail.
    let mut u = Unstructured::new(crate::tail(data, 40));
    let mut map = ExtensionMap::default();
    let mut mapped = [0u8; 256];
    let n = u.int_in_range(0..=6u8).unwrap_or(0);
    for _ in 0..n {
        let from: u8 = u.arbitrary().unwrap_or(0);
        let to: u8 = u.arbitrary().unwrap_or(0);
        map.insert(from, to);
        mapped[usize::from(from)] = to;
    }
    // Also map the ids the packet has, so remapping is exercised on most inputs.
    for &(id, _) in &exts {
        if mapped[usize::from(id)] == 0 && u.arbitrary::<bool>().unwrap_or(true) {
            let to = u.int_in_range(1..=255u8).unwrap_or(id);
            map.insert(id, to);
            mapped[usize::from(id)] = to;
        }
    }
    let override_value: Vec<u8>;
    // The engine writes the consumer's MID: a non-empty value of at most 16 bytes, id 1..=255.
    let override_ext = if u.arbitrary::<bool>().unwrap_or(false) {
        let id = u.int_in_range(1..=255u8).unwrap_or(1);
        let len = u.int_in_range(1..=16usize).unwrap_or(1);
        override_value = (0..len).map(|i| u.arbitrary::<u8>().unwrap_or(b'0' + i as u8)).collect();
        Some((id, &override_value[..]))
    } else {
        None
    };
    let hdr = ForwardHeader {
        ssrc: u.arbitrary().unwrap_or(0x1234_5678),
        payload_type: u.arbitrary().unwrap_or(100),
        sequence_number: u.arbitrary().unwrap_or(7),
        timestamp: u.arbitrary().unwrap_or(99),
        override_ext,
        twcc_ext: 0,
    };
    let mut out = vec![0xAA; 3]; // not empty: the writer must clear it
    write_forwarded(&mut out, &pkt, &hdr, &map);
    let q = RtpPacket::parse(&out).unwrap_or_else(|| panic!("write_forwarded output does not re-parse: {out:02x?}"));
    assert_eq!(q.ssrc(), hdr.ssrc);
    assert_eq!(q.payload_type(), hdr.payload_type & 0x7f);
    assert_eq!(q.sequence_number(), hdr.sequence_number);
    assert_eq!(q.timestamp(), hdr.timestamp);
    assert_eq!(q.marker(), pkt.marker());
    assert_eq!(out[0] & 0xef, data[0] & 0xef, "version, padding and CSRC count are kept");
    assert_eq!(&out[12..12 + 4 * usize::from(data[0] & 0x0f)], &data[12..csrc_end], "CSRCs are kept");
    assert_eq!(q.payload(), payload, "payload is kept");
    assert!(out.ends_with(&data[payload_start..]), "payload and padding are kept");

    let mut want: Vec<(u8, &[u8])> = Vec::new();
    if let Some((oid, v)) = hdr.override_ext {
        want.push((oid, v));
    }
    for &(id, d) in &exts {
        let to = mapped[usize::from(id)];
        if to != 0 && hdr.override_ext.is_none_or(|(oid, _)| oid != to) {
            want.push((to, d));
        }
    }
    let got: Vec<(u8, &[u8])> = q.extensions().collect();
    assert_eq!(got, want, "forwarded extensions (remap {:?}, override {:?})", nonzero(&mapped), hdr.override_ext);
    assert_eq!(out[0] & 0x10 != 0, !want.is_empty(), "X bit iff an extension is written");
}

fn nonzero(m: &[u8; 256]) -> Vec<(usize, u8)> {
    m.iter().enumerate().filter(|(_, t)| **t != 0).map(|(f, t)| (f, *t)).collect()
}
