//! A transport's SCTP side (data channels): the numbers announced in `sctpParameters` and the
//! association carrying data producers' and consumers' streams.

use crate::data::SctpStreamParameters;

/// SCTP state of one transport.
pub(crate) struct SctpTransport {
    /// Outgoing streams (what our data consumers can use).
    pub(crate) os: u16,
    /// Incoming streams (what the remote's data producers can use).
    pub(crate) mis: u16,
}

impl SctpTransport {
    /// Queues a message on `stream` with its reliability.
    pub(crate) fn send(&mut self, _stream: SctpStreamParameters, _ppid: u32, _data: &[u8]) -> Result<(), String> {
        Err("the SCTP association is not established".into())
    }

    /// Bytes queued on an outgoing stream.
    pub(crate) fn buffered_amount(&self, _stream: u16) -> usize {
        0
    }

    /// Where `bufferedamountlow` fires for a stream.
    pub(crate) fn set_buffered_amount_low_threshold(&mut self, _stream: u16, _bytes: usize) {}

    /// Resets an outgoing stream (its data consumer closed).
    pub(crate) fn reset_stream(&mut self, _stream: u16) {}
}
