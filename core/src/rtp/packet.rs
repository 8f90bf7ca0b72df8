//! A zero-copy view of an RTP packet (RFC 3550, header extensions per RFC 8285) and the writer
//! that produces a consumer's copy with its SSRC, payload type, sequence number, timestamp and
//! extension ids.

/// True when a datagram multiplexed on the RTP port is RTCP (RFC 5761: PT 192–223).
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 4 && buf[0] >> 6 == 2 && (192..=223).contains(&buf[1])
}

/// A parsed, borrowed RTP packet. Parsing checks every length; it never panics on any input.
#[derive(Debug, Clone, Copy)]
pub struct RtpPacket<'a> {
    buf: &'a [u8],
    csrc_end: usize,
    ext_profile: u16,
    ext_start: usize,
    ext_end: usize,
    payload_start: usize,
    payload_end: usize,
}

const ONE_BYTE_PROFILE: u16 = 0xBEDE;

impl<'a> RtpPacket<'a> {
    /// Parses `buf`; `None` when it is not a well-formed RTP packet.
    pub fn parse(buf: &'a [u8]) -> Option<Self> {
        if buf.len() < 12 || buf[0] >> 6 != 2 {
            return None;
        }
        let cc = (buf[0] & 0x0f) as usize;
        let csrc_end = 12 + 4 * cc;
        if buf.len() < csrc_end {
            return None;
        }
        let (mut ext_profile, mut ext_start, mut ext_end) = (0u16, csrc_end, csrc_end);
        let mut pos = csrc_end;
        if buf[0] & 0x10 != 0 {
            if buf.len() < pos + 4 {
                return None;
            }
            ext_profile = u16::from_be_bytes([buf[pos], buf[pos + 1]]);
            let words = u16::from_be_bytes([buf[pos + 2], buf[pos + 3]]) as usize;
            ext_start = pos + 4;
            ext_end = ext_start + words * 4;
            if buf.len() < ext_end {
                return None;
            }
            pos = ext_end;
        }
        let mut payload_end = buf.len();
        if buf[0] & 0x20 != 0 {
            let pad = *buf.last()? as usize;
            if pad == 0 || payload_end < pos + pad {
                return None;
            }
            payload_end -= pad;
        }
        Some(RtpPacket { buf, csrc_end, ext_profile, ext_start, ext_end, payload_start: pos, payload_end })
    }

    /// The whole datagram.
    pub fn data(&self) -> &'a [u8] {
        self.buf
    }
    /// Marker bit.
    pub fn marker(&self) -> bool {
        self.buf[1] & 0x80 != 0
    }
    /// Payload type.
    pub fn payload_type(&self) -> u8 {
        self.buf[1] & 0x7f
    }
    /// Sequence number.
    pub fn sequence_number(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }
    /// RTP timestamp.
    pub fn timestamp(&self) -> u32 {
        u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]])
    }
    /// SSRC.
    pub fn ssrc(&self) -> u32 {
        u32::from_be_bytes([self.buf[8], self.buf[9], self.buf[10], self.buf[11]])
    }
    /// The payload (without padding).
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[self.payload_start..self.payload_end]
    }
    /// Whether the packet has a header extension block.
    pub fn has_extensions(&self) -> bool {
        self.ext_end > self.ext_start || self.buf[0] & 0x10 != 0
    }

    /// Iterates the RFC 8285 extension elements as `(id, data)`; other profiles yield nothing.
    pub fn extensions(&self) -> ExtensionIter<'a> {
        let two_byte = self.ext_profile & 0xfff0 == 0x1000;
        let one_byte = self.ext_profile == ONE_BYTE_PROFILE;
        let data = if one_byte || two_byte { &self.buf[self.ext_start..self.ext_end] } else { &[][..] };
        ExtensionIter { data, pos: 0, two_byte }
    }

    /// The data of extension `id`, if present.
    pub fn extension(&self, id: u8) -> Option<&'a [u8]> {
        if id == 0 {
            return None;
        }
        self.extensions().find(|(i, _)| *i == id).map(|(_, d)| d)
    }

    pub(crate) fn csrc_bytes(&self) -> &'a [u8] {
        &self.buf[12..self.csrc_end]
    }
}

/// Iterator over RFC 8285 extension elements.
pub struct ExtensionIter<'a> {
    data: &'a [u8],
    pos: usize,
    two_byte: bool,
}

impl<'a> Iterator for ExtensionIter<'a> {
    type Item = (u8, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let b = *self.data.get(self.pos)?;
            if b == 0 {
                self.pos += 1; // padding
                continue;
            }
            let (id, len, hdr) = if self.two_byte {
                let len = *self.data.get(self.pos + 1)? as usize;
                (b, len, 2)
            } else {
                if b >> 4 == 15 {
                    return None; // reserved id: stop parsing
                }
                (b >> 4, (b & 0x0f) as usize + 1, 1)
            };
            let start = self.pos + hdr;
            let end = start + len;
            if end > self.data.len() {
                self.pos = self.data.len();
                return None;
            }
            self.pos = end;
            return Some((id, &self.data[start..end]));
        }
    }
}

/// Maps an incoming extension id to the outgoing one (0 = drop).
#[derive(Debug, Clone)]
pub struct ExtensionMap {
    map: [u8; 256],
}

impl Default for ExtensionMap {
    fn default() -> Self {
        ExtensionMap { map: [0; 256] }
    }
}

impl ExtensionMap {
    /// Forwards incoming id `from` as `to`.
    pub fn insert(&mut self, from: u8, to: u8) {
        self.map[from as usize] = to;
    }
    /// The outgoing id for `from` (0 = dropped).
    pub fn get(&self, from: u8) -> u8 {
        self.map[from as usize]
    }
}

/// The header fields a consumer's copy gets.
#[derive(Debug, Clone, Copy)]
pub struct ForwardHeader<'m> {
    /// Outgoing SSRC.
    pub ssrc: u32,
    /// Outgoing payload type.
    pub payload_type: u8,
    /// Outgoing sequence number.
    pub sequence_number: u16,
    /// Outgoing timestamp.
    pub timestamp: u32,
    /// `(id, value)` of an extension to write with this value instead of the incoming one
    /// (the consumer's MID).
    pub override_ext: Option<(u8, &'m [u8])>,
    /// Id of the transport-wide sequence number extension to add (0: none); written as zero
    /// here, stamped by the sending transport ([`stamp_twcc`]).
    pub twcc_ext: u8,
}

/// Writes transport-wide sequence number `seq` into `packet`'s extension `id`; false when the
/// packet has no such 2-byte extension.
pub fn stamp_twcc(packet: &mut [u8], id: u8, seq: u16) -> bool {
    let Some(off) = RtpPacket::parse(packet).and_then(|p| {
        let v = p.extension(id).filter(|v| v.len() == 2)?;
        Some(v.as_ptr() as usize - p.data().as_ptr() as usize)
    }) else {
        return false;
    };
    packet[off..off + 2].copy_from_slice(&seq.to_be_bytes());
    true
}

/// Writes the consumer's copy of `pkt` into `out` (cleared first): new header fields, extension
/// ids mapped through `map` (unmapped ones dropped), the same CSRCs, payload and padding.
pub fn write_forwarded(out: &mut Vec<u8>, pkt: &RtpPacket<'_>, hdr: &ForwardHeader<'_>, map: &ExtensionMap) {
    let src = pkt.data();
    out.clear();
    out.extend_from_slice(&src[..2]);
    out[0] &= !0x10; // extension bit set below if any extension is written
    out[1] = (src[1] & 0x80) | (hdr.payload_type & 0x7f);
    out.extend_from_slice(&hdr.sequence_number.to_be_bytes());
    out.extend_from_slice(&hdr.timestamp.to_be_bytes());
    out.extend_from_slice(&hdr.ssrc.to_be_bytes());
    out.extend_from_slice(pkt.csrc_bytes());

    // Decide the extension format: one-byte unless an id > 14 or a length outside 1..=16 appears.
    let mut two_byte = false;
    let mut any = false;
    let mut consider = |id: u8, len: usize| {
        any = true;
        if id > 14 || len == 0 || len > 16 {
            two_byte = true;
        }
    };
    let keep = |to: u8| to != 0 && to != hdr.twcc_ext && hdr.override_ext.is_none_or(|(oid, _)| oid != to);
    for (id, data) in pkt.extensions() {
        if keep(map.get(id)) {
            consider(map.get(id), data.len());
        }
    }
    if let Some((oid, v)) = hdr.override_ext {
        consider(oid, v.len());
    }
    if hdr.twcc_ext != 0 {
        consider(hdr.twcc_ext, 2);
    }
    if any {
        out[0] |= 0x10;
        let start = out.len();
        let profile: u16 = if two_byte { 0x1000 } else { ONE_BYTE_PROFILE };
        out.extend_from_slice(&profile.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        let put = |out: &mut Vec<u8>, id: u8, data: &[u8]| {
            if two_byte {
                out.push(id);
                out.push(data.len() as u8);
            } else {
                out.push((id << 4) | (data.len() as u8 - 1));
            }
            out.extend_from_slice(data);
        };
        if let Some((oid, v)) = hdr.override_ext {
            put(out, oid, v);
        }
        if hdr.twcc_ext != 0 {
            put(out, hdr.twcc_ext, &[0, 0]);
        }
        for (id, data) in pkt.extensions() {
            let to = map.get(id);
            if keep(to) {
                put(out, to, data);
            }
        }
        while !(out.len() - start).is_multiple_of(4) {
            out.push(0);
        }
        let words = ((out.len() - start - 4) / 4) as u16;
        out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
    }
    out.extend_from_slice(&src[pkt.payload_start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(exts: &[(u8, &[u8])], payload: &[u8], padding: u8) -> Vec<u8> {
        let mut v = vec![0x80, 96, 0x12, 0x34, 0, 0, 0x10, 0, 0xde, 0xad, 0xbe, 0xef];
        if padding > 0 {
            v[0] |= 0x20;
        }
        if !exts.is_empty() {
            v[0] |= 0x10;
            let mut body = vec![];
            for (id, d) in exts {
                body.push((id << 4) | (d.len() as u8 - 1));
                body.extend_from_slice(d);
            }
            while body.len() % 4 != 0 {
                body.push(0);
            }
            v.extend_from_slice(&[0xbe, 0xde]);
            v.extend_from_slice(&((body.len() / 4) as u16).to_be_bytes());
            v.extend_from_slice(&body);
        }
        v.extend_from_slice(payload);
        for i in 0..padding {
            v.push(if i + 1 == padding { padding } else { 0 });
        }
        v
    }

    #[test]
    fn parses_header_fields_extensions_and_payload() {
        let buf = packet(&[(4, b"0"), (1, &[0x85])], b"hello", 3);
        let p = RtpPacket::parse(&buf).unwrap();
        assert_eq!(p.payload_type(), 96);
        assert_eq!(p.sequence_number(), 0x1234);
        assert_eq!(p.timestamp(), 0x1000);
        assert_eq!(p.ssrc(), 0xdeadbeef);
        assert_eq!(p.extension(4), Some(&b"0"[..]));
        assert_eq!(p.extension(1), Some(&[0x85][..]));
        assert_eq!(p.extension(2), None);
        assert_eq!(p.payload(), b"hello");
    }

    #[test]
    fn rejects_truncated_and_non_rtp_input_without_panicking() {
        let good = packet(&[(4, b"abc")], b"payload", 2);
        for n in 0..good.len() {
            let _ = RtpPacket::parse(&good[..n]);
        }
        assert!(RtpPacket::parse(&[0u8; 12]).is_none(), "version 0");
        let mut bad_pad = packet(&[], b"x", 0);
        bad_pad[0] |= 0x20;
        *bad_pad.last_mut().unwrap() = 200;
        assert!(RtpPacket::parse(&bad_pad).is_none());
        // Every byte pattern of a short buffer: never panics.
        for b0 in 0..=255u8 {
            let buf = [b0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0xff, 0xff];
            if let Some(p) = RtpPacket::parse(&buf) {
                let _ = p.extensions().count();
            }
        }
    }

    #[test]
    fn forwarded_copy_rewrites_header_and_remaps_extension_ids() {
        let buf = packet(&[(4, b"0"), (1, &[0x85]), (3, &[1, 2])], b"media", 0);
        let p = RtpPacket::parse(&buf).unwrap();
        let mut map = ExtensionMap::default();
        map.insert(1, 10); // audio level 1 -> 10
        map.insert(4, 1); // mid 4 -> 1 (overridden)
        // 3 unmapped -> dropped
        let hdr = ForwardHeader { ssrc: 42, payload_type: 100, sequence_number: 7, timestamp: 99, override_ext: Some((1, b"5")), twcc_ext: 0 };
        let mut out = vec![];
        write_forwarded(&mut out, &p, &hdr, &map);
        let q = RtpPacket::parse(&out).unwrap();
        assert_eq!((q.ssrc(), q.payload_type(), q.sequence_number(), q.timestamp()), (42, 100, 7, 99));
        assert_eq!(q.extension(1), Some(&b"5"[..]));
        assert_eq!(q.extension(10), Some(&[0x85][..]));
        assert_eq!(q.extension(3), None);
        assert_eq!(q.extension(4), None);
        assert_eq!(q.payload(), b"media");
    }

    #[test]
    fn forwarded_copy_carries_a_transport_wide_sequence_number_stamped_at_send() {
        let src = packet(&[(4, b"x"), (3, &[9, 9])], b"payload", 0);
        let pkt = RtpPacket::parse(&src).unwrap();
        let mut map = ExtensionMap::default();
        map.insert(4, 1);
        map.insert(3, 5); // the source's own transport-cc is replaced, not copied
        let hdr = ForwardHeader { ssrc: 1, payload_type: 96, sequence_number: 2, timestamp: 3, override_ext: None, twcc_ext: 5 };
        let mut out = vec![];
        write_forwarded(&mut out, &pkt, &hdr, &map);
        assert!(stamp_twcc(&mut out, 5, 0xbeef));
        let q = RtpPacket::parse(&out).unwrap();
        assert_eq!(q.extension(5), Some(&[0xbe, 0xef][..]));
        assert_eq!(q.extension(1), Some(&b"x"[..]));
        assert_eq!(q.extensions().count(), 2);
        assert_eq!(q.payload(), b"payload");
        assert!(!stamp_twcc(&mut out, 7, 1), "no such extension");
    }

    #[test]
    fn forwarded_copy_without_extensions_clears_the_extension_bit() {
        let buf = packet(&[(3, &[1, 2])], b"m", 4);
        let p = RtpPacket::parse(&buf).unwrap();
        let hdr = ForwardHeader { ssrc: 1, payload_type: 1, sequence_number: 1, timestamp: 1, override_ext: None, twcc_ext: 0 };
        let mut out = vec![];
        write_forwarded(&mut out, &p, &hdr, &ExtensionMap::default());
        assert_eq!(out[0] & 0x10, 0);
        let q = RtpPacket::parse(&out).unwrap();
        assert_eq!(q.payload(), b"m");
        assert_eq!(out.len(), 12 + 1 + 4);
    }

    #[test]
    fn rtcp_is_told_apart_from_rtp() {
        assert!(is_rtcp(&[0x81, 200, 0, 6]));
        assert!(!is_rtcp(&[0x80, 96, 0, 6]));
        assert!(!is_rtcp(&[0x80, 200]));
    }
}
