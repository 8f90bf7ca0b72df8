//! RTP on the hot path: an in-place packet view, the forwarding writer, and the per-consumer
//! sequence-number/timestamp rewriter. No allocation per packet.

pub mod gso_padding;
mod packet;
mod rewriter;
pub mod layers;
pub mod nack;
pub mod retransmission;
pub mod receive_stats;
pub mod rtcp;
pub mod twcc;

pub use packet::{is_rtcp, stamp_twcc, write_forwarded, ExtensionMap, ForwardHeader, RtpPacket};
pub use rewriter::SeqTsRewriter;
