//! The values the SCTP association takes and gives: options, states, events, errors.

use std::fmt;

/// The SCTP port WebRTC uses on both sides (RFC 8841); announced as `sctpParameters.port`.
pub const SCTP_PORT: u16 = 5000;

/// Which side starts the association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SctpRole {
    /// Sends the INIT once started (used between two libsfu instances over a pipe transport).
    Client,
    /// Waits for the peer's INIT (browsers always send one).
    #[default]
    Server,
}

/// Construction parameters; the first four are what mediasoup announces as `sctpParameters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SctpOptions {
    /// Outgoing streams requested (`numSctpStreams.OS`, 1..=65535; 0 is taken as 1).
    pub os: u16,
    /// Incoming streams accepted (`numSctpStreams.MIS`, 1..=65535; 0 is taken as 1).
    pub mis: u16,
    /// Largest message sent or accepted, in bytes (`maxSctpMessageSize`).
    pub max_message_size: usize,
    /// Limit on bytes queued and not yet acknowledged, over all streams (`sctpSendBufferSize`).
    pub send_buffer_size: usize,
    /// Client (sends INIT) or server (accepts INIT).
    pub role: SctpRole,
}

impl Default for SctpOptions {
    fn default() -> Self {
        SctpOptions {
            os: 1024,
            mis: 1024,
            max_message_size: 262_144,
            send_buffer_size: 262_144,
            role: SctpRole::Server,
        }
    }
}

/// mediasoup's `sctpState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SctpState {
    /// Created; DTLS not connected yet.
    New,
    /// DTLS connected, SCTP handshake in progress.
    Connecting,
    /// Messages flow.
    Connected,
    /// Handshake gave up, the peer aborted, or the association broke.
    Failed,
    /// Closed locally, or shut down gracefully by the peer.
    Closed,
}

impl SctpState {
    /// The string mediasoup uses (`'new'`, `'connecting'`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SctpState::New => "new",
            SctpState::Connecting => "connecting",
            SctpState::Connected => "connected",
            SctpState::Failed => "failed",
            SctpState::Closed => "closed",
        }
    }

    /// Whether the association is gone for good (`failed` or `closed`).
    pub fn is_terminal(self) -> bool {
        matches!(self, SctpState::Failed | SctpState::Closed)
    }
}

/// WebRTC payload protocol identifiers of data-channel messages (RFC 8831 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Ppid {
    /// UTF-8 text (51).
    String = 51,
    /// Binary (53).
    Binary = 53,
    /// Empty text (56); travels as one zero byte, surfaces as an empty message.
    StringEmpty = 56,
    /// Empty binary (57); travels as one zero byte, surfaces as an empty message.
    BinaryEmpty = 57,
}

impl Ppid {
    /// The PPID for a numeric value, or `None` for anything but 51, 53, 56, 57.
    pub fn from_u32(value: u32) -> Option<Ppid> {
        match value {
            51 => Some(Ppid::String),
            53 => Some(Ppid::Binary),
            56 => Some(Ppid::StringEmpty),
            57 => Some(Ppid::BinaryEmpty),
            _ => None,
        }
    }

    /// The numeric value on the wire.
    pub fn as_u32(self) -> u32 {
        self as u32
    }

    /// Whether this is a text PPID (51 or 56).
    pub fn is_string(self) -> bool {
        matches!(self, Ppid::String | Ppid::StringEmpty)
    }
}

/// How one outgoing message is delivered: mediasoup's `sctpStreamParameters` of the sender.
///
/// Both limits absent means reliable; when both are given `max_packet_life_time` wins (mediasoup
/// rejects that combination before it gets here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reliability {
    /// In-order delivery on the stream.
    pub ordered: bool,
    /// Give up on the message this many ms after it was queued (`maxPacketLifeTime`).
    pub max_packet_life_time: Option<u32>,
    /// Give up on the message after this many retransmissions (`maxRetransmits`).
    pub max_retransmits: Option<u32>,
}

impl Default for Reliability {
    fn default() -> Self {
        Reliability::RELIABLE
    }
}

impl Reliability {
    /// Ordered and reliable (the data-channel default).
    pub const RELIABLE: Reliability = Reliability {
        ordered: true,
        max_packet_life_time: None,
        max_retransmits: None,
    };
}

/// Something that happened on the association; drained with `SctpAssociation::poll_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SctpEvent {
    /// `sctpState` changed (mediasoup's `sctpstatechange`).
    StateChange(SctpState),
    /// A complete message from the peer. Empty messages (PPID 56/57) carry empty `data`.
    Message {
        /// The SCTP stream (= data-channel id) it arrived on.
        stream_id: u16,
        /// Its payload protocol identifier.
        ppid: Ppid,
        /// The message.
        data: Vec<u8>,
    },
    /// The stream's buffered amount fell to or below its threshold (`bufferedamountlow`).
    BufferedAmountLow {
        /// The stream.
        stream_id: u16,
        /// Its buffered amount now.
        buffered_amount: usize,
    },
    /// A send was refused because the send buffer is full (`sctpsendbufferfull`); `send` returned
    /// [`SctpError::SendBufferFull`] for the same message.
    SendBufferFull {
        /// The stream the refused message was for.
        stream_id: u16,
    },
    /// The peer reset its outgoing stream (RFC 6525): its data channel with this id is closed.
    StreamReset {
        /// The stream.
        stream_id: u16,
    },
}

/// Why a call on the association was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SctpError {
    /// The association is not in the `connected` state.
    NotConnected,
    /// The stream id is not below the number of outgoing streams: our `OS` and, once connected,
    /// the peer's `MIS` (RFC 9260 §5.1.1).
    InvalidStream {
        /// The stream asked for.
        stream_id: u16,
        /// The number of outgoing streams.
        num_streams: u16,
    },
    /// The message is larger than `maxMessageSize`.
    MessageTooLarge {
        /// The message size in bytes.
        size: usize,
        /// The limit in bytes.
        max_message_size: usize,
    },
    /// Queuing the message would exceed `sctpSendBufferSize` (also reported as
    /// [`SctpEvent::SendBufferFull`]).
    SendBufferFull {
        /// The stream the message was for.
        stream_id: u16,
        /// Bytes already buffered over all streams.
        buffered_amount: usize,
        /// The message size in bytes.
        size: usize,
        /// The limit in bytes.
        send_buffer_size: usize,
    },
    /// The stream was reset locally and the peer has not confirmed it yet; retry once it has.
    StreamResetPending {
        /// The stream.
        stream_id: u16,
    },
    /// The SCTP stack refused the operation.
    Internal(String),
}

impl SctpError {
    /// A stable short name for the error (for logs and error mapping).
    pub fn code(&self) -> &'static str {
        match self {
            SctpError::NotConnected => "not-connected",
            SctpError::InvalidStream { .. } => "invalid-stream",
            SctpError::MessageTooLarge { .. } => "message-too-large",
            SctpError::SendBufferFull { .. } => "sctpsendbufferfull",
            SctpError::StreamResetPending { .. } => "stream-reset-pending",
            SctpError::Internal(_) => "internal",
        }
    }
}

impl fmt::Display for SctpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SctpError::NotConnected => write!(f, "SCTP association is not connected"),
            SctpError::InvalidStream { stream_id, num_streams } => {
                write!(
                    f,
                    "SCTP streamId {stream_id} is out of range: the association has {num_streams} outgoing \
                     streams (numSctpStreams.OS and the peer's MIS)"
                )
            }
            SctpError::MessageTooLarge { size, max_message_size } => {
                write!(
                    f,
                    "message of {size} bytes exceeds maxMessageSize ({max_message_size} bytes)"
                )
            }
            SctpError::SendBufferFull {
                stream_id,
                buffered_amount,
                size,
                send_buffer_size,
            } => write!(
                f,
                "sctpsendbufferfull: {size} more bytes on stream {stream_id} would exceed \
                 sctpSendBufferSize ({send_buffer_size} bytes, {buffered_amount} buffered)"
            ),
            SctpError::StreamResetPending { stream_id } => {
                write!(f, "SCTP stream {stream_id} is being reset")
            }
            SctpError::Internal(m) => write!(f, "SCTP: {m}"),
        }
    }
}

impl std::error::Error for SctpError {}
