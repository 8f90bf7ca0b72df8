//! ICE-TCP's RFC 4571 framing: `sfu_core::fuzzing::FrameDecoder` (what every ICE-TCP
//! connection of a WebRtcTransport / WebRtcServer reads its datagrams with) fed one byte stream
//! cut into pieces in several ways, and `encode_frame` (what the transport writes with).
//!
//! Input: byte 0 seeds the piece sizes of one of the cuts; the rest is the TCP stream.

use sfu_core::fuzzing::{encode_frame, FrameDecoder};

/// A frame's length field can say at most this much.
const MAX_FRAME: usize = 65535;

/// The reference: frames read off the whole stream at once, and how many bytes are left over
/// (the start of a frame the stream does not complete).
fn reference(stream: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut frames = vec![];
    let mut rest = stream;
    while rest.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + n {
            break;
        }
        frames.push(&rest[2..2 + n]);
        rest = &rest[2 + n..];
    }
    (frames, rest.len())
}

/// Decodes `stream` pushed as the given pieces; checks the decoder's bounds after every push.
fn decode(stream: &[u8], pieces: impl Iterator<Item = usize>) -> (Vec<Vec<u8>>, usize) {
    let mut d = FrameDecoder::new();
    let mut frames = vec![];
    let mut at = 0;
    for len in pieces {
        let end = (at + len).min(stream.len());
        d.push(&stream[at..end], |f| {
            assert!(f.len() <= MAX_FRAME, "a frame of {} bytes", f.len());
            frames.push(f.to_vec());
        });
        at = end;
        let held = d.buffered();
        assert!(held <= 2 + MAX_FRAME, "decoder holds {held} bytes");
        // What is held is the start of one frame the stream has not completed yet.
        let consumed: usize = frames.iter().map(|f| f.len() + 2).sum();
        assert_eq!(consumed + held, at, "decoder lost or invented bytes");
        if held >= 2 {
            let n = usize::from(u16::from_be_bytes([stream[consumed], stream[consumed + 1]]));
            assert!(held < 2 + n, "decoder holds a complete frame ({held} bytes of a {n}-byte frame)");
        }
        if at == stream.len() {
            break;
        }
    }
    assert_eq!(at, stream.len(), "the pieces cover the stream");
    (frames, d.buffered())
}

/// xorshift32: the piece sizes of the seeded cut.
fn pieces(seed: u8) -> impl Iterator<Item = usize> {
    let mut x = 0x9e37_79b9u32 ^ u32::from(seed);
    std::iter::repeat_with(move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        // Mostly short pieces (across length fields), some empty, some long.
        match x % 8 {
            0 => 0,
            1..=4 => (x >> 8) as usize % 4 + 1,
            5 | 6 => (x >> 8) as usize % 1600,
            _ => (x >> 8) as usize % 70_000,
        }
    })
}

/// The input is a seed byte then a TCP stream (see the module docs).
pub fn tcp_framing(data: &[u8]) {
    let Some((&seed, stream)) = data.split_first() else { return };
    let (want, left) = reference(stream);
    let cuts: [(&str, Box<dyn Iterator<Item = usize>>); 4] = [
        ("whole", Box::new(std::iter::once(stream.len()))),
        ("byte by byte", Box::new(std::iter::repeat(1))),
        ("seeded", Box::new(pieces(seed))),
        // Pieces that end exactly on frame boundaries, then one-byte-short ones.
        (
            "frame boundaries",
            Box::new(want.iter().map(|f| f.len() + 2).chain(std::iter::repeat(usize::from(seed).max(1)))),
        ),
    ];
    for (name, cut) in cuts {
        let (frames, held) = decode(stream, cut);
        assert!(frames.iter().map(Vec::as_slice).eq(want.iter().copied()), "{name}: frames differ from the reference");
        assert_eq!(held, left, "{name}: leftover differs");
    }

    // Encoding what came out gives back the stream's complete part.
    let mut again = vec![];
    for f in &want {
        again.extend_from_slice(&encode_frame(f).expect("a decoded frame re-encodes"));
    }
    assert_eq!(again[..], stream[..stream.len() - left], "encode(decode(s)) != s");
    // Datagrams longer than a frame can say are refused, the longest one is not.
    if seed == 0xff {
        assert!(encode_frame(&vec![0; MAX_FRAME + 1]).is_none());
        assert_eq!(encode_frame(&vec![0; MAX_FRAME]).map(|f| f.len()), Some(MAX_FRAME + 2));
    }
}
