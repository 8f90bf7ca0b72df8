//! Pipelined requests: a native call that returns at once and settles a JS promise later.
//!
//! A blocking call costs two thread wake-ups (the worker's, then the JS thread's) every time.
//! The `*Async(options, requestId)` methods instead post the request to the worker and return;
//! the worker runs it and queues the reply on the worker's event channel (the threadsafe function
//! that already carries its events), where JS (`lib/engineEvents.js` `request`/`settle`) resolves
//! or rejects the promise. Requests made together are run in one worker wake-up and answered in
//! one JS wake-up. Replies share the events' queue, so they keep the engine's order: whatever
//! the request emitted (e.g. a new transport's state) is delivered before the reply, and events
//! about the new object after it, once JS has subscribed.

use std::sync::{Arc, Weak};

use napi::bindgen_prelude::{Buffer, Either, Either4};

use crate::consumer::NativeConsumer;
use crate::error::to_napi;
use crate::producer::NativeProducer;
use crate::webrtc_transport::NativeWebRtcTransport;

/// What the worker's channel carries to JS.
pub(crate) enum Delivery {
    /// An engine event: its target's id, the event as JSON (JS parses it only if an object
    /// still listens for that target; the events about objects the app closed itself are
    /// dropped unparsed), and the packet or message of 'rtp', 'rtcp' and 'message' events.
    Event(String, String, Option<Vec<u8>>),
    /// The outcome of request `id`.
    Reply(u32, sfu_core::Result<Reply>),
}

/// A request's result.
pub(crate) enum Reply {
    /// A new transport's snapshot and handle, with where its own requests are answered.
    WebRtcTransport(String, sfu_core::WebRtcTransport, Replier),
    /// A new consumer's snapshot and handle, with where its own requests are answered.
    Consumer(String, sfu_core::Consumer, Replier),
    /// A new producer's snapshot and handle.
    Producer(String, sfu_core::Producer),
    /// Done, nothing to return (connect, pause, resume).
    Done,
}

/// The callback's arguments: `(targetId, eventJson, data)` for an event, `(requestId, result,
/// snapshot)` for a reply, where `result` is the new handle, undefined, or the error message
/// (`[Name] message`, for `lib/errors.js` to turn into the right class).
pub(crate) type Args = (
    Either<String, u32>,
    Option<Either4<String, NativeWebRtcTransport, NativeConsumer, NativeProducer>>,
    Option<Either<Buffer, String>>,
);

impl Delivery {
    pub(crate) fn into_args(self) -> Args {
        match self {
            Delivery::Event(target, json, data) => (Either::A(target), Some(Either4::A(json)), data.map(|d| Either::A(Buffer::from(d)))),
            Delivery::Reply(id, r) => {
                let (value, snapshot) = match r {
                    Ok(Reply::WebRtcTransport(s, t, replier)) => (Some(Either4::B(NativeWebRtcTransport::new(t, replier))), Some(s)),
                    Ok(Reply::Consumer(s, c, replier)) => (Some(Either4::C(NativeConsumer::new(c, replier))), Some(s)),
                    Ok(Reply::Producer(s, p)) => (Some(Either4::D(NativeProducer::new(p))), Some(s)),
                    Ok(Reply::Done) => (None, None),
                    Err(e) => (Some(Either4::A(to_napi(e).reason)), None),
                };
                (Either::B(id), value, snapshot.map(Either::B))
            }
        }
    }
}

type Sink = dyn Fn(Delivery) + Send + Sync;

/// Where a handle's requests are answered: the worker's channel, held weakly so that handles
/// kept by JS do not keep the channel (and so the event loop) alive after the worker ended.
#[derive(Clone)]
pub(crate) struct Replier(Weak<Sink>);

impl Replier {
    pub(crate) fn new(sink: &Arc<Sink>) -> Self {
        Replier(Arc::downgrade(sink))
    }

    /// Settles request `id` with `r` (a no-op once the worker's channel is gone: JS rejects the
    /// requests still pending when its worker closes or dies).
    pub(crate) fn reply(&self, id: u32, r: sfu_core::Result<Reply>) {
        if let Some(sink) = self.0.upgrade() {
            sink(Delivery::Reply(id, r));
        }
    }
}

/// The channel's sending side, as the worker's listener and every `Replier` use it.
pub(crate) fn sink(f: impl Fn(Delivery) + Send + Sync + 'static) -> Arc<Sink> {
    Arc::new(f)
}
