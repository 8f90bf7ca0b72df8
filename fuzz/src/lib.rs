//! Fuzz checks for sfu-core: one `pub fn <target>(data: &[u8])` per fuzz target.
//!
//! Each function is the whole body of its libFuzzer target (`fuzz_targets/<target>.rs`) and is
//! also what `tests/regressions.rs` feeds the saved crash inputs and the seed corpus to, so a
//! regression test runs exactly the check that found the crash. A check panics (the fuzzer
//! reports a crash) when sfu-core panics or when an invariant stated in sfu-core's docs fails.
//!
//! Inputs are raw bytes everywhere. Targets that need more than one value (a remap, a header,
//! a sequence of calls) read it with `arbitrary::Unstructured`, from the tail of a packet where
//! the packet itself is the input, so a seed can stay a plain captured packet.

pub mod c_face;
pub mod dtls;
pub mod engine;
pub mod harness;
pub mod layer_sequences;
pub mod nack_generator;
pub mod ortc_json;
pub mod payload_descriptors;
pub mod rtcp_compound;
pub mod rtp_packet;
pub mod rtx;
pub mod sctp;
pub mod tcp_framing;
pub mod twcc;
pub mod webrtc;

pub use c_face::c_face_json;
pub use dtls::dtls_handshake;
pub use engine::engine_datagrams;
pub use layer_sequences::layer_sequences;
pub use nack_generator::nack_generator;
pub use ortc_json::ortc_json;
pub use payload_descriptors::payload_descriptors;
pub use rtcp_compound::rtcp_compound;
pub use rtp_packet::rtp_packet;
pub use rtx::rtx;
pub use sctp::sctp_packets;
pub use tcp_framing::tcp_framing;
pub use twcc::twcc;
pub use webrtc::webrtc_datagrams;

/// Every target by name, for the regression test runner.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("rtp_packet", rtp_packet),
    ("rtcp_compound", rtcp_compound),
    ("payload_descriptors", payload_descriptors),
    ("rtx", rtx),
    ("twcc", twcc),
    ("nack_generator", nack_generator),
    ("ortc_json", ortc_json),
    ("engine_datagrams", engine_datagrams),
    ("webrtc_datagrams", webrtc_datagrams),
    ("sctp_packets", sctp_packets),
    ("tcp_framing", tcp_framing),
    ("c_face_json", c_face_json),
    ("layer_sequences", layer_sequences),
    ("dtls_handshake", dtls_handshake),
];

/// The last `n` bytes of `data` (all of it when shorter): where packet targets read their
/// parameters from, so that the packet itself stays the whole input.
pub(crate) fn tail(data: &[u8], n: usize) -> &[u8] {
    &data[data.len().saturating_sub(n)..]
}
