//! # sfu-core — the libsfu media engine
//!
//! An embeddable SFU (selective forwarding unit) with mediasoup v3's object model:
//! [`Worker`] → [`Router`] → transports ([`PlainTransport`]) → [`Producer`] / [`Consumer`].
//!
//! A worker is one OS thread that owns all the state of its routers and drives their I/O
//! (sockets, timers, a control channel). Public objects are cheap handles: the worker's channel
//! plus an id. Every method is a message to the worker and a reply back; `async` methods await the
//! reply, the `*_blocking` twins (used by the C and Node faces) wait for it on the calling thread.
//! Events (producer closed, tuple discovered, worker died, …) reach subscribers registered with
//! [`Worker::subscribe`].
//!
//! ```no_run
//! # async fn demo() -> sfu_core::Result<()> {
//! use sfu_core::*;
//! let worker = Worker::new(WorkerSettings::default())?;
//! let codecs: Vec<RtpCodecCapability> = serde_json::from_str(
//!     r#"[{"kind":"audio","mimeType":"audio/opus","clockRate":48000,"channels":2}]"#).unwrap();
//! let router = worker.create_router(RouterOptions { media_codecs: codecs, ..Default::default() }).await?;
//! let transport = router.create_plain_transport(serde_json::from_str(
//!     r#"{"listenInfo":{"protocol":"udp","ip":"127.0.0.1"},"comedia":true}"#).unwrap()).await?;
//! println!("send RTP to {:?}", transport.tuple());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod app_data;
mod error;
pub mod ortc;
pub mod rtp;
pub mod rtp_parameters;
pub mod webrtc;
pub mod supported_rtp_capabilities;
mod events;
mod ids;
mod logging;
mod rate;
mod worker;
mod router;
mod transport;
mod producer;
mod consumer;
mod data;
pub mod observers;
pub mod bwe;
mod rtp_observer;
pub mod sctp;
mod trace;

pub use app_data::AppData;
pub use error::{from_json, from_json_str, Error, ErrorCode, Result};
pub use events::{CloseReason, Event, EventKind, ObjectKind, Subscription};
pub use rtp_parameters::*;
pub use worker::{ResourceUsage, Worker, WorkerSettings, WorkerUpdateableSettings};
pub use router::{Router, RouterOptions};
pub use transport::{
    DirectTransport, DirectTransportOptions, IceCandidate, ListenInfo, PipeTransport, PipeTransportOptions, PlainTransport, PlainTransportConnect, PlainTransportOptions, PortRange, Protocol, TransportBase, TransportTuple,
    WebRtcServer, WebRtcServerOptions, WebRtcTransport, WebRtcTransportOptions,
};
pub use webrtc::{DtlsFingerprint, DtlsParameters, DtlsRole, DtlsState, IceParameters, IceState};
pub use producer::{Producer, ProducerOptions};
pub use consumer::{Consumer, ConsumerOptions};
pub use data::{ppid, DataConsumer, DataConsumerOptions, DataProducer, DataProducerOptions, DataType, SctpStreamParameters};
pub use rate::RateCalculator;
pub use rtp_observer::{ActiveSpeakerObserverOptions, AudioLevelObserverOptions, RtpObserver, RtpObserverType};
pub use trace::{TraceDirection, TraceEvent, TraceEventType};

/// Internals exposed only for the fuzz targets in `fuzz/`: not part of the API, may change
/// at any time.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::transport::io::{encode_frame, FrameDecoder};
    pub use crate::webrtc::fuzz_hook::{DtlsCertificate, DtlsOutput, DtlsSessionHook};
}

/// The client side of a WebRtcTransport (ICE check, DTLS client, SRTP) for the load bench and
/// tests: not part of the API, may change at any time.
#[doc(hidden)]
pub mod peer {
    pub use crate::webrtc::client::WebRtcClient;
}

/// Internals exposed only for the criterion benches in `benches/`: a worker's state driven
/// directly (see `Fanout`). Not part of the API, may change at any time.
#[doc(hidden)]
pub mod bench {
    pub use crate::transport::bench_hook::Fanout;
    /// (The load bench's batched raw forwarder sends with GSO, and its sink receives with GRO,
    /// the way the engine does.)
    pub use crate::transport::io::{enable_gro, gro_segment_size, set_udp_segment};
}

/// The libsfu version (also reported as mediasoup-compatible `version` by the Node face).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
