//! Benchmarks live in benches/ (criterion), benches/load and benches/soak; this library holds
//! what several of them share.

/// A VP8 packet of `ssrc`, `len` bytes: payload type 96, timestamp `seq * 3000`, a payload
/// descriptor with a 15-bit picture id (`seq`), TL0PICIDX and TID 0 (Y=1), and a VP8 payload
/// header that makes it a key frame when `key`.
pub fn vp8_packet(ssrc: u32, seq: u16, key: bool, len: usize) -> Vec<u8> {
    let mut v = vec![0x80, 96];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    let pid = seq & 0x7fff;
    v.extend_from_slice(&[0x90, 0xe0, 0x80 | (pid >> 8) as u8, pid as u8, seq as u8, 0x20, if key { 0x00 } else { 0x01 }]);
    v.resize(len, 0xab);
    v
}
