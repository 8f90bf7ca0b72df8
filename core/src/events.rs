//! Events flowing out of a worker to its subscribers.

use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;

use crate::transport::TransportTuple;

/// Which kind of object an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectKind {
    /// A worker.
    Worker,
    /// A router.
    Router,
    /// A transport.
    Transport,
    /// A producer.
    Producer,
    /// A consumer.
    Consumer,
    /// A WebRTC server.
    WebRtcServer,
    /// A data producer.
    DataProducer,
    /// A data consumer.
    DataConsumer,
    /// An audio level or active speaker observer.
    RtpObserver,
}

/// Why an object was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CloseReason {
    /// The application closed it.
    Closed,
    /// Its worker closed or died.
    WorkerClosed,
    /// Its router closed.
    RouterClosed,
    /// Its transport closed.
    TransportClosed,
    /// The producer it consumed closed.
    ProducerClosed,
    /// The data producer it consumed closed.
    DataProducerClosed,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum EventKind {
    /// The worker thread died (a panic); everything it owned is gone.
    Died {
        /// The panic message.
        reason: String,
    },
    /// The object was closed inside the engine (by the app, or by a cascade).
    Closed {
        /// What kind of object.
        object: ObjectKind,
        /// Why.
        reason: CloseReason,
    },
    /// A consumer's producer was paused.
    ProducerPause,
    /// A consumer's producer was resumed.
    ProducerResume,
    /// A comedia plain transport learnt its remote RTP tuple.
    Tuple {
        /// The tuple.
        tuple: TransportTuple,
    },
    /// A WebRTC transport's ICE state changed.
    IceStateChange {
        /// `new`, `connected`, `completed`, `disconnected` or `closed`.
        ice_state: crate::webrtc::IceState,
    },
    /// A WebRTC transport's selected ICE tuple changed.
    IceSelectedTupleChange {
        /// The new tuple.
        ice_selected_tuple: TransportTuple,
    },
    /// A WebRTC transport's DTLS state changed.
    DtlsStateChange {
        /// `new`, `connecting`, `connected`, `failed` or `closed`.
        dtls_state: crate::webrtc::DtlsState,
        /// The remote certificate (PEM) once connected.
        #[serde(skip_serializing_if = "Option::is_none")]
        dtls_remote_cert: Option<String>,
    },
    /// A simulcast/SVC consumer started forwarding other layers (`None`: none at the moment).
    LayersChange {
        /// The layers now forwarded.
        layers: Option<crate::rtp_parameters::ConsumerLayers>,
    },
    /// A producer's or consumer's quality score changed (mediasoup's `score` payload).
    Score {
        /// Producer: `[{encodingIdx, ssrc, rid?, score}]`; consumer: `{score, producerScore, producerScores}`.
        score: serde_json::Value,
    },
    /// A traced packet or feedback message (`enableTraceEvent`).
    Trace {
        /// mediasoup's `{type, timestamp, direction, info}`.
        trace: crate::trace::TraceEvent,
    },
    /// A consumer of a DirectTransport sent an RTP packet (to the application).
    Rtp {
        /// The packet.
        #[serde(skip)]
        packet: Vec<u8>,
    },
    /// A DirectTransport sent an RTCP packet (to the application).
    Rtcp {
        /// The packet.
        #[serde(skip)]
        packet: Vec<u8>,
    },
    /// A data consumer of a DirectTransport received a message (for the application).
    Message {
        /// PPID: 51 text, 53 binary, 56/57 empty.
        ppid: u32,
        /// The message.
        #[serde(skip)]
        message: Vec<u8>,
    },
    /// A data consumer's data producer was paused.
    DataProducerPause,
    /// A data consumer's data producer was resumed.
    DataProducerResume,
    /// A data consumer's message did not fit the SCTP send buffer and was dropped.
    SctpSendBufferFull,
    /// A data consumer's SCTP buffered amount fell to its threshold.
    BufferedAmountLow {
        /// Bytes still buffered.
        buffered_amount: usize,
    },
    /// A transport's SCTP association changed state.
    SctpStateChange {
        /// `new`, `connecting`, `connected`, `failed` or `closed`.
        sctp_state: String,
    },
    /// An audio level observer's loudest producers of the last interval, loudest first.
    Volumes {
        /// `[{producerId, volume}]` (volume in dBov, -127..=0).
        volumes: Vec<serde_json::Value>,
    },
    /// An audio level observer found nobody above its threshold.
    Silence,
    /// An active speaker observer's dominant speaker changed.
    DominantSpeaker {
        /// The producer now dominant.
        producer_id: String,
    },
    /// A comedia plain transport learnt its remote RTCP tuple.
    RtcpTuple {
        /// The tuple.
        tuple: TransportTuple,
    },
    /// A transport's socket reported an error for its remote: a send refused (`origin`
    /// `send`: EPERM from a firewall, no route, ...) or an ICMP error for datagrams sent to it
    /// (`icmp`: port or host unreachable). Not in mediasoup. At most one a second per
    /// transport; `count` is how many errors it stands for.
    SocketError {
        /// errno's name: `ECONNREFUSED`, `EHOSTUNREACH`, `EPERM`, ...
        error: String,
        /// The errno value.
        errno: i32,
        /// What happened, in words.
        message: String,
        /// `send`, `icmp` or `local`.
        origin: String,
        /// The destination the failed datagrams went to.
        remote_ip: String,
        /// Its port.
        remote_port: u16,
        /// Always `udp` (TCP connections report by closing).
        protocol: crate::transport::Protocol,
        /// ICMP type (`icmp` origin).
        #[serde(skip_serializing_if = "Option::is_none")]
        icmp_type: Option<u8>,
        /// ICMP code (`icmp` origin).
        #[serde(skip_serializing_if = "Option::is_none")]
        icmp_code: Option<u8>,
        /// Who sent the ICMP error: the remote host or a router on the way.
        #[serde(skip_serializing_if = "Option::is_none")]
        offender_ip: Option<String>,
        /// Errors since the previous `socketError` event of the transport (this one included).
        count: u64,
    },
}

/// An event about one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Id of the object the event is about.
    pub target_id: String,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

type Listener = Arc<dyn Fn(&Event) + Send + Sync>;

/// The listeners of one worker. Events are delivered on the worker thread.
#[derive(Default, Clone)]
pub(crate) struct EventBus {
    inner: Arc<Mutex<BusInner>>,
}

#[derive(Default)]
struct BusInner {
    next: u64,
    listeners: Vec<(u64, Listener)>,
}

impl EventBus {
    pub(crate) fn subscribe(&self, f: Listener) -> Subscription {
        let mut g = self.inner.lock();
        g.next += 1;
        let id = g.next;
        g.listeners.push((id, f));
        Subscription { bus: Arc::downgrade(&self.inner), id }
    }

    pub(crate) fn emit(&self, target_id: &str, kind: EventKind) {
        let listeners: Vec<Listener> = self.inner.lock().listeners.iter().map(|(_, l)| l.clone()).collect();
        if listeners.is_empty() {
            return;
        }
        let ev = Event { target_id: target_id.to_owned(), kind };
        for l in listeners {
            // A listener that panics must not take the worker down.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l(&ev)));
        }
    }

    pub(crate) fn clear(&self) {
        self.inner.lock().listeners.clear();
    }
}

/// Keeps a listener registered; dropping it unregisters the listener.
#[must_use = "dropping a Subscription unregisters its listener"]
pub struct Subscription {
    bus: std::sync::Weak<Mutex<BusInner>>,
    id: u64,
}

impl Subscription {
    /// Keeps the listener registered for the worker's whole life.
    pub fn detach(mut self) {
        self.bus = std::sync::Weak::new();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(b) = self.bus.upgrade() {
            b.lock().listeners.retain(|(i, _)| *i != self.id);
        }
    }
}
