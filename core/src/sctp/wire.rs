//! Read-only views of SCTP packets (RFC 9260 §3): just enough to look at an inbound packet before
//! `rtc-sctp` does, so the association can work around the crate's gaps (see `mod.rs`).
//!
//! Nothing here allocates except [`reset_requests`], which runs only on RE-CONFIG chunks, and the
//! packet builders and rewriters ([`without_chunks_of_type`], [`invalid_stream_error`]).

/// Chunk type: DATA.
pub(super) const CT_DATA: u8 = 0;
/// Chunk type: INIT.
pub(super) const CT_INIT: u8 = 1;
/// Chunk type: INIT ACK.
pub(super) const CT_INIT_ACK: u8 = 2;
/// Chunk type: ABORT.
pub(super) const CT_ABORT: u8 = 6;
/// Chunk type: SHUTDOWN.
pub(super) const CT_SHUTDOWN: u8 = 7;
/// Chunk type: SHUTDOWN ACK.
pub(super) const CT_SHUTDOWN_ACK: u8 = 8;
/// Chunk type: ERROR.
pub(super) const CT_ERROR: u8 = 9;
/// Chunk type: SHUTDOWN COMPLETE.
pub(super) const CT_SHUTDOWN_COMPLETE: u8 = 14;
/// Chunk type: RE-CONFIG (RFC 6525).
pub(super) const CT_RECONFIG: u8 = 130;
/// Chunk type: FORWARD TSN (RFC 3758).
pub(super) const CT_FORWARD_TSN: u8 = 192;

/// RE-CONFIG parameter: Outgoing SSN Reset Request (RFC 6525 §4.1).
const PT_OUTGOING_RESET_REQUEST: u16 = 13;
/// Error cause: Invalid Stream Identifier (RFC 9260 §3.3.10.1).
pub(super) const CAUSE_INVALID_STREAM: u16 = 1;

/// DATA chunk flags (RFC 9260 §3.3.1): unordered, beginning and ending fragment.
const DATA_FLAGS_UBE: u8 = 0x07;
/// DATA chunk flag I (SACK-IMMEDIATELY, RFC 7053).
const DATA_FLAG_I: u8 = 0x08;

const COMMON_HEADER_LEN: usize = 12;
const CHUNK_HEADER_LEN: usize = 4;

/// One chunk of a packet: its type, flags and value (without the 4-byte chunk header or padding).
#[derive(Debug, Clone, Copy)]
pub(super) struct RawChunk<'a> {
    pub(super) typ: u8,
    pub(super) flags: u8,
    pub(super) value: &'a [u8],
}

/// Walks the chunks of one SCTP packet; stops at the first malformed chunk header.
pub(super) struct ChunkIter<'a> {
    buf: &'a [u8],
    off: usize,
}

impl<'a> Iterator for ChunkIter<'a> {
    type Item = RawChunk<'a>;

    fn next(&mut self) -> Option<RawChunk<'a>> {
        let rest = self.buf.get(self.off..)?;
        if rest.len() < CHUNK_HEADER_LEN {
            return None;
        }
        let len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
        if len < CHUNK_HEADER_LEN || len > rest.len() {
            self.off = self.buf.len();
            return None;
        }
        let chunk = RawChunk {
            typ: rest[0],
            flags: rest[1],
            value: &rest[CHUNK_HEADER_LEN..len],
        };
        // Chunks are padded to 4 bytes; the padding of the last chunk may be absent.
        self.off += (len + 3) & !3;
        Some(chunk)
    }
}

/// The chunks of `packet` (an empty iterator when the packet is shorter than its common header).
pub(super) fn chunks(packet: &[u8]) -> ChunkIter<'_> {
    ChunkIter {
        buf: packet.get(COMMON_HEADER_LEN..).unwrap_or(&[]),
        off: 0,
    }
}

/// The verification tag of the common header.
#[cfg(test)]
pub(super) fn verification_tag(packet: &[u8]) -> Option<u32> {
    be_u32(packet, 4)
}

/// CRC-32C of `packet` computed with its checksum field taken as zero (RFC 9260 Appendix A).
pub(super) fn checksum(packet: &[u8]) -> u32 {
    if packet.len() < COMMON_HEADER_LEN {
        return 0;
    }
    let crc = crc32c::crc32c(&packet[..8]);
    let crc = crc32c::crc32c_append(crc, &[0; 4]);
    crc32c::crc32c_append(crc, &packet[COMMON_HEADER_LEN..])
}

/// Whether `packet` has a common header and a correct CRC-32C.
pub(super) fn checksum_ok(packet: &[u8]) -> bool {
    packet.len() >= COMMON_HEADER_LEN
        && u32::from_le_bytes([packet[8], packet[9], packet[10], packet[11]]) == checksum(packet)
}

/// The fields of a DATA chunk header that the association looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DataHeader {
    pub(super) tsn: u32,
    pub(super) stream_id: u16,
    pub(super) unordered: bool,
}

/// Parses the header of a DATA chunk.
pub(super) fn data_header(chunk: &RawChunk<'_>) -> Option<DataHeader> {
    Some(DataHeader {
        tsn: be_u32(chunk.value, 0)?,
        stream_id: be_u16(chunk.value, 4)?,
        unordered: chunk.flags & 0x04 != 0,
    })
}

/// The Initial TSN of an INIT or INIT ACK chunk.
pub(super) fn init_initial_tsn(chunk: &RawChunk<'_>) -> Option<u32> {
    be_u32(chunk.value, 12)
}

/// The fields of an INIT or INIT ACK chunk that the association looks at (RFC 9260 §3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct InitParams {
    /// Initiate Tag: the verification tag its sender expects on the packets it receives.
    pub(super) tag: u32,
    /// Number of Outbound Streams its sender wishes to create.
    pub(super) os: u16,
    /// Maximum number of Inbound Streams its sender allows.
    pub(super) mis: u16,
}

/// Parses the fixed part of an INIT or INIT ACK chunk.
pub(super) fn init_params(chunk: &RawChunk<'_>) -> Option<InitParams> {
    Some(InitParams {
        tag: be_u32(chunk.value, 0)?,
        os: be_u16(chunk.value, 8)?,
        mis: be_u16(chunk.value, 10)?,
    })
}

/// The New Cumulative TSN of a FORWARD TSN chunk.
pub(super) fn forward_tsn(chunk: &RawChunk<'_>) -> Option<u32> {
    be_u32(chunk.value, 0)
}

/// The streams of a FORWARD TSN's (stream, SSN) pairs: the ordered streams it skips messages on.
pub(super) fn forward_tsn_streams<'a>(chunk: &RawChunk<'a>) -> impl Iterator<Item = u16> + 'a {
    chunk.value.get(4..).unwrap_or(&[]).chunks_exact(4).map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
}

/// `packet` without its chunks of type `typ`, with the checksum recomputed.
pub(super) fn without_chunks_of_type(packet: &[u8], typ: u8) -> Vec<u8> {
    let mut out = packet[..COMMON_HEADER_LEN.min(packet.len())].to_vec();
    let body = packet.get(COMMON_HEADER_LEN..).unwrap_or(&[]);
    let mut off = 0;
    for chunk in chunks(packet) {
        let len = (CHUNK_HEADER_LEN + chunk.value.len() + 3) & !3;
        if chunk.typ != typ {
            out.extend_from_slice(&body[off..(off + len).min(body.len())]);
        }
        off += len;
    }
    if out.len() >= COMMON_HEADER_LEN {
        let crc = checksum(&out);
        out[8..12].copy_from_slice(&crc.to_le_bytes());
    }
    out
}

/// Rewrites, in place, every DATA chunk of `packet` whose stream id is `limit` or above into a
/// complete unordered message (flags U, B, E; the I flag kept) on stream `sink` with SSN 0 and
/// PPID 0, and recomputes the checksum. Its TSN and length stay, so the receiver acknowledges it
/// as usual. Returns how many chunks it rewrote.
pub(super) fn redirect_data_beyond(packet: &mut [u8], limit: u16, sink: u16) -> usize {
    let mut rewritten = 0;
    let mut off = COMMON_HEADER_LEN;
    while off + CHUNK_HEADER_LEN <= packet.len() {
        let len = u16::from_be_bytes([packet[off + 2], packet[off + 3]]) as usize;
        if len < CHUNK_HEADER_LEN || off + len > packet.len() {
            break;
        }
        // DATA value: TSN (4), stream id (2), SSN (2), PPID (4), user data.
        if packet[off] == CT_DATA && len >= CHUNK_HEADER_LEN + 12 {
            let v = off + CHUNK_HEADER_LEN;
            let stream_id = u16::from_be_bytes([packet[v + 4], packet[v + 5]]);
            if stream_id >= limit {
                packet[off + 1] = (packet[off + 1] & DATA_FLAG_I) | DATA_FLAGS_UBE;
                packet[v + 4..v + 6].copy_from_slice(&sink.to_be_bytes());
                packet[v + 6..v + 12].fill(0);
                rewritten += 1;
            }
        }
        off += (len + 3) & !3;
    }
    if rewritten > 0 {
        let crc = checksum(packet);
        packet[8..12].copy_from_slice(&crc.to_le_bytes());
    }
    rewritten
}

/// One packet with an ERROR chunk carrying an "Invalid Stream Identifier" cause per stream id
/// (RFC 9260 §6.5), for the peer whose Initiate Tag is `tag`.
pub(super) fn invalid_stream_error(tag: u32, stream_ids: &[u16]) -> Vec<u8> {
    let chunk_len = CHUNK_HEADER_LEN + 8 * stream_ids.len();
    let mut p = Vec::with_capacity(COMMON_HEADER_LEN + chunk_len);
    p.extend_from_slice(&super::SCTP_PORT.to_be_bytes());
    p.extend_from_slice(&super::SCTP_PORT.to_be_bytes());
    p.extend_from_slice(&tag.to_be_bytes());
    p.extend_from_slice(&[0; 4]);
    p.extend_from_slice(&[CT_ERROR, 0]);
    p.extend_from_slice(&(chunk_len as u16).to_be_bytes());
    for id in stream_ids {
        p.extend_from_slice(&CAUSE_INVALID_STREAM.to_be_bytes());
        p.extend_from_slice(&8u16.to_be_bytes());
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
    }
    let crc = checksum(&p);
    p[8..12].copy_from_slice(&crc.to_le_bytes());
    p
}

/// Whether the error causes of an ABORT or ERROR chunk fit in the chunk. `rtc-sctp` 0.21.1
/// slices a cause by its declared length without checking it, and panics on a short chunk; this
/// walks the causes the same way it does (no padding between causes).
pub(super) fn error_causes_fit(chunk: &RawChunk<'_>) -> bool {
    let mut off = 0usize;
    while off + 4 <= chunk.value.len() {
        let len = u16::from_be_bytes([chunk.value[off + 2], chunk.value[off + 3]]) as usize;
        if len < 4 {
            return true; // rtc-sctp rejects this cause cleanly
        }
        if off + len > chunk.value.len() {
            return false;
        }
        off += len;
    }
    true
}

/// An Outgoing SSN Reset Request: the peer resets these outgoing streams of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ResetRequest {
    pub(super) request_sn: u32,
    pub(super) stream_ids: Vec<u16>,
}

/// The Outgoing SSN Reset Requests carried by a RE-CONFIG chunk.
pub(super) fn reset_requests(chunk: &RawChunk<'_>) -> Vec<ResetRequest> {
    let mut out = Vec::new();
    let mut off = 0;
    while let (Some(typ), Some(len)) = (be_u16(chunk.value, off), be_u16(chunk.value, off + 2)) {
        let len = len as usize;
        let Some(param) = chunk.value.get(off..off + len).filter(|_| len >= 4) else {
            break;
        };
        if typ == PT_OUTGOING_RESET_REQUEST && len >= 16 {
            if let Some(request_sn) = be_u32(param, 4) {
                let stream_ids = param[16..]
                    .chunks_exact(2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]))
                    .collect();
                out.push(ResetRequest { request_sn, stream_ids });
            }
        }
        off += (len + 3) & !3;
    }
    out
}

fn be_u16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT_SACK_FOR_TEST: u8 = 3;

    fn packet(chunks: &[(u8, u8, &[u8])]) -> Vec<u8> {
        let mut p = vec![0x13, 0x88, 0x13, 0x88, 0, 0, 0, 7, 0, 0, 0, 0];
        for (typ, flags, value) in chunks {
            p.extend_from_slice(&[*typ, *flags]);
            p.extend_from_slice(&((value.len() + 4) as u16).to_be_bytes());
            p.extend_from_slice(value);
            while p.len() & 3 != 0 {
                p.push(0);
            }
        }
        let crc = checksum(&p);
        p[8..12].copy_from_slice(&crc.to_le_bytes());
        p
    }

    #[test]
    fn walks_padded_chunks_and_checks_crc() {
        let data = [0, 0, 0, 9, 0, 3, 0, 0, 0, 0, 0, 53, 0xaa];
        let p = packet(&[(CT_DATA, 0x07, &data), (CT_FORWARD_TSN, 0, &[0, 0, 0, 42])]);
        assert!(checksum_ok(&p));
        let got: Vec<_> = chunks(&p).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(
            data_header(&got[0]),
            Some(DataHeader {
                tsn: 9,
                stream_id: 3,
                unordered: true
            })
        );
        assert_eq!(forward_tsn(&got[1]), Some(42));
        assert_eq!(verification_tag(&p), Some(7));
        let mut bad = p.clone();
        bad[20] ^= 1;
        assert!(!checksum_ok(&bad));
    }

    #[test]
    fn parses_outgoing_reset_requests() {
        // One Outgoing SSN Reset Request (req 5, resp 0, last TSN 1) for streams 3 and 7.
        let mut v = vec![0, 13, 0, 20];
        v.extend_from_slice(&[0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 0, 7]);
        let p = packet(&[(CT_RECONFIG, 0, &v)]);
        let c = chunks(&p).next().unwrap();
        assert_eq!(
            reset_requests(&c),
            vec![ResetRequest {
                request_sn: 5,
                stream_ids: vec![3, 7]
            }]
        );
    }

    #[test]
    fn removes_chunks_of_one_type() {
        let p = packet(&[
            (CT_ERROR, 0, &[0, 1, 0, 8, 0, 5, 0, 0]),
            (CT_DATA, 3, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 51, 7]),
        ]);
        let q = without_chunks_of_type(&p, CT_ERROR);
        assert!(checksum_ok(&q));
        let types: Vec<u8> = chunks(&q).map(|c| c.typ).collect();
        assert_eq!(types, [CT_DATA]);
        assert_eq!(data_header(&chunks(&q).next().unwrap()).map(|d| d.tsn), Some(1));
    }

    #[test]
    fn parses_init_streams() {
        let mut v = vec![0, 0, 0, 9, 0, 1, 0, 0, 0x04, 0, 0, 16];
        v.extend_from_slice(&[0, 0, 0, 77]);
        let p = packet(&[(CT_INIT, 0, &v)]);
        let c = chunks(&p).next().unwrap();
        assert_eq!(init_params(&c), Some(InitParams { tag: 9, os: 1024, mis: 16 }));
        assert_eq!(init_initial_tsn(&c), Some(77));
    }

    #[test]
    fn redirects_data_on_streams_beyond_the_limit() {
        let ok = [0, 0, 0, 1, 0, 3, 0, 4, 0, 0, 0, 51, 7];
        let bad = [0, 0, 0, 2, 0, 16, 0, 5, 0, 0, 0, 50, 8, 9];
        let mut p = packet(&[(CT_DATA, 0x02, &ok), (CT_DATA, 0x0a, &bad), (CT_SACK_FOR_TEST, 0, &[0; 12])]);
        assert_eq!(redirect_data_beyond(&mut p, 16, 0xffff), 1);
        assert!(checksum_ok(&p));
        let got: Vec<_> = chunks(&p).collect();
        assert_eq!((got[0].flags, got[0].value), (0x02, &ok[..]));
        assert_eq!(got[1].flags, 0x0f);
        assert_eq!(got[1].value, [0, 0, 0, 2, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 8, 9]);
        assert_eq!(got[2].typ, CT_SACK_FOR_TEST);
        let mut q = p.clone();
        assert_eq!(redirect_data_beyond(&mut q, 0xffff, 0xffff), 1, "the sink is beyond every limit");
        let mut only_ok = packet(&[(CT_DATA, 0x02, &ok)]);
        let before = only_ok.clone();
        assert_eq!(redirect_data_beyond(&mut only_ok, 4, 0xffff), 0);
        assert_eq!(only_ok, before);
    }

    #[test]
    fn builds_invalid_stream_errors() {
        let p = invalid_stream_error(0x0102_0304, &[16, 4000]);
        assert!(checksum_ok(&p));
        assert_eq!(verification_tag(&p), Some(0x0102_0304));
        let c = chunks(&p).next().unwrap();
        assert_eq!(c.typ, CT_ERROR);
        assert_eq!(c.value, [0, 1, 0, 8, 0, 16, 0, 0, 0, 1, 0, 8, 0x0f, 0xa0, 0, 0]);
        assert!(error_causes_fit(&c));
    }

    #[test]
    fn error_causes_must_fit_their_chunk() {
        let fits = |value: &[u8]| {
            error_causes_fit(&RawChunk {
                typ: CT_ABORT,
                flags: 0,
                value,
            })
        };
        assert!(fits(&[]));
        assert!(fits(&[0, 12, 0, 4]));
        assert!(fits(&[0, 1, 0, 6, 9, 9, 0, 12, 0, 4]));
        assert!(!fits(&[0, 1, 0, 9, 9, 9]));
        assert!(!fits(&[0, 12, 0, 4, 0, 1, 0, 40, 0, 0]));
    }

    #[test]
    fn truncated_input_yields_nothing() {
        for len in 0..20 {
            let mut p = vec![0xffu8; len];
            redirect_data_beyond(&mut p, 0, 0);
            for c in chunks(&p) {
                let _ = (
                    data_header(&c),
                    forward_tsn(&c),
                    init_initial_tsn(&c),
                    init_params(&c),
                    reset_requests(&c),
                );
            }
        }
    }
}
