//! The RTCP the engine reads and writes itself: key-frame requests (PLI, FIR) and a walk over
//! compound packets. Parsing checks every length and never panics.

/// One RTCP packet inside a compound datagram.
#[derive(Debug, Clone, Copy)]
pub struct RtcpPacket<'a> {
    /// Packet type (200 SR, 201 RR, 205 RTPFB, 206 PSFB, …).
    pub packet_type: u8,
    /// The count / format field (5 bits).
    pub count: u8,
    /// The whole packet including its 4-byte header.
    pub data: &'a [u8],
}

impl<'a> RtcpPacket<'a> {
    /// For feedback packets (RTPFB/PSFB): the media source SSRC.
    pub fn media_ssrc(&self) -> Option<u32> {
        let d = self.data.get(8..12)?;
        Some(u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
    }
    /// True for a Picture Loss Indication.
    pub fn is_pli(&self) -> bool {
        self.packet_type == 206 && self.count == 1
    }
    /// True for a Full Intra Request.
    pub fn is_fir(&self) -> bool {
        self.packet_type == 206 && self.count == 4
    }
    /// The SSRCs a FIR asks key frames for.
    pub fn fir_ssrcs(&self) -> impl Iterator<Item = u32> + 'a {
        let fci = if self.is_fir() { self.data.get(12..).unwrap_or(&[]) } else { &[] };
        fci.chunks_exact(8).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// Iterates the packets of a compound RTCP datagram; stops at the first malformed one.
pub fn compound(buf: &[u8]) -> impl Iterator<Item = RtcpPacket<'_>> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let h = buf.get(pos..pos + 4)?;
        if h[0] >> 6 != 2 {
            return None;
        }
        let len = (u16::from_be_bytes([h[2], h[3]]) as usize + 1) * 4;
        let data = buf.get(pos..pos + len)?;
        pos += len;
        Some(RtcpPacket { packet_type: h[1], count: h[0] & 0x1f, data })
    })
}

/// NTP timestamp (RFC 3550 §4) for a Unix time in milliseconds.
pub fn ntp_now(unix_ms: u64) -> u64 {
    let secs = unix_ms / 1000 + 2_208_988_800;
    let frac = ((unix_ms % 1000) << 32) / 1000;
    (secs << 32) | frac
}

/// The RTP timestamp a sender report carries at `now_ms`: the last sent packet's timestamp,
/// advanced by the wall-clock time since it was sent (RFC 3550 §6.4.1: "the same time as the NTP
/// timestamp"), so a receiver can map both streams of a participant onto one clock (lip sync).
pub fn sr_rtp_timestamp(last_ts: u32, last_sent_ms: u64, now_ms: u64, clock_rate: u32) -> u32 {
    let elapsed = now_ms.saturating_sub(last_sent_ms);
    last_ts.wrapping_add((elapsed * u64::from(clock_rate) / 1000) as u32)
}

/// Writes a sender report without report blocks (RFC 3550 §6.4.1).
pub fn write_sr(out: &mut Vec<u8>, ssrc: u32, ntp: u64, rtp_ts: u32, packets: u32, octets: u32) {
    out.extend_from_slice(&[0x80, 200, 0, 6]);
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&ntp.to_be_bytes());
    out.extend_from_slice(&rtp_ts.to_be_bytes());
    out.extend_from_slice(&packets.to_be_bytes());
    out.extend_from_slice(&octets.to_be_bytes());
}

/// Writes a PLI from `sender_ssrc` about `media_ssrc` (12 bytes).
pub fn write_pli(out: &mut Vec<u8>, sender_ssrc: u32, media_ssrc: u32) {
    out.extend_from_slice(&[0x81, 206, 0, 2]);
    out.extend_from_slice(&sender_ssrc.to_be_bytes());
    out.extend_from_slice(&media_ssrc.to_be_bytes());
}

/// Writes a FIR from `sender_ssrc` asking `media_ssrc` for a key frame, with sequence `seq`.
pub fn write_fir(out: &mut Vec<u8>, sender_ssrc: u32, media_ssrc: u32, seq: u8) {
    out.extend_from_slice(&[0x84, 206, 0, 4]);
    out.extend_from_slice(&sender_ssrc.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&media_ssrc.to_be_bytes());
    out.extend_from_slice(&[seq, 0, 0, 0]);
}

#[cfg(test)]
mod tests {
    #[test]
    fn sender_reports_map_wall_clock_to_each_stream_s_rtp_clock() {
        // Audio (48 kHz) and video (90 kHz) sent their last packets at different times; their SRs
        // taken at the same instant extrapolate to that instant on each clock.
        assert_eq!(super::sr_rtp_timestamp(1_000, 5_000, 5_020, 48_000), 1_000 + 960);
        assert_eq!(super::sr_rtp_timestamp(u32::MAX - 100, 4_990, 5_020, 90_000), (u32::MAX - 100).wrapping_add(2_700));
        // A clock that went backwards never moves the timestamp back.
        assert_eq!(super::sr_rtp_timestamp(7, 100, 50, 90_000), 7);
        // NTP: seconds since 1900 and a 32-bit fraction.
        let ntp = super::ntp_now(1_500);
        assert_eq!(ntp >> 32, 2_208_988_801);
        assert_eq!((ntp & 0xffff_ffff) as u32, 1u32 << 31, "half a second");
        let mut out = vec![];
        super::write_sr(&mut out, 0x1234, ntp, 42, 3, 300);
        let p = super::compound(&out).next().unwrap();
        assert_eq!((p.packet_type, out.len()), (200, 28));
    }

    use super::*;
    use rtc_rtcp::packet::Packet;
    use shared::marshal::{Marshal, Unmarshal};

    #[test]
    fn pli_matches_the_rtc_rtcp_crate() {
        let mut ours = vec![];
        write_pli(&mut ours, 1, 0xabcdef01);
        let theirs = rtc_rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication {
            sender_ssrc: 1,
            media_ssrc: 0xabcdef01,
        }
        .marshal()
        .unwrap();
        assert_eq!(&ours[..], &theirs[..]);
        let p = compound(&ours).next().unwrap();
        assert!(p.is_pli());
        assert_eq!(p.media_ssrc(), Some(0xabcdef01));
    }

    #[test]
    fn fir_round_trips_through_the_rtc_rtcp_crate() {
        let mut ours = vec![];
        write_fir(&mut ours, 9, 77, 3);
        let mut b = &ours[..];
        let fir = rtc_rtcp::payload_feedbacks::full_intra_request::FullIntraRequest::unmarshal(&mut b).unwrap();
        assert_eq!(fir.fir[0].ssrc, 77);
        assert_eq!(fir.fir[0].sequence_number, 3);
        assert_eq!(fir.destination_ssrc(), vec![77]);
        let p = compound(&ours).next().unwrap();
        assert_eq!(p.fir_ssrcs().collect::<Vec<_>>(), vec![77]);
    }

    #[test]
    fn sender_report_matches_the_rtc_rtcp_crate() {
        let mut ours = vec![];
        let ntp = ntp_now(1_700_000_000_500);
        write_sr(&mut ours, 77, ntp, 123_456, 10, 1000);
        let mut b = &ours[..];
        let sr = rtc_rtcp::sender_report::SenderReport::unmarshal(&mut b).unwrap();
        assert_eq!((sr.ssrc, sr.ntp_time, sr.rtp_time, sr.packet_count, sr.octet_count), (77, ntp, 123_456, 10, 1000));
        assert_eq!(ntp >> 32, 1_700_000_000 + 2_208_988_800);
        assert_eq!(((ntp & 0xffff_ffff) * 1000) >> 32, 500, "half a second in NTP fraction");
    }

    #[test]
    fn compound_walk_stops_on_garbage() {
        let mut buf = vec![];
        write_pli(&mut buf, 1, 2);
        write_pli(&mut buf, 3, 4);
        buf.extend_from_slice(&[0x81, 206, 0xff, 0xff]); // claims far more than is there
        assert_eq!(compound(&buf).count(), 2);
        for n in 0..buf.len() {
            let _ = compound(&buf[..n]).count();
        }
    }
}
