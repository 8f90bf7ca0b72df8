//! `NativeRouter`: a router handle.

use napi_derive::napi;
use serde_json::Value;
use sfu_core::{PlainTransportOptions, Router};

use crate::error::{core, parse, parse_core, to_json};
use crate::transport::NativePlainTransport;
use crate::reply::{Replier, Reply};

/// A router handle.
#[napi]
pub struct NativeRouter {
    router: Router,
    replier: Replier,
}

impl NativeRouter {
    pub(crate) fn new(router: Router, replier: Replier) -> Self {
        NativeRouter { router, replier }
    }
}

#[napi]
impl NativeRouter {
    /// The router's id.
    #[napi]
    pub fn id(&self) -> String {
        self.router.id().to_owned()
    }

    /// The RTP capabilities generated from its media codecs.
    #[napi]
    pub fn rtp_capabilities(&self) -> napi::Result<Value> {
        to_json(self.router.rtp_capabilities())
    }

    /// Creates a plain transport.
    #[napi]
    pub fn create_plain_transport(
        &self,
        options: Option<String>,
    ) -> napi::Result<NativePlainTransport> {
        let o: PlainTransportOptions = parse("options", options)?;
        Ok(NativePlainTransport::new(core(self.router.create_plain_transport_blocking(o))?, self.replier.clone()))
    }

    /// Creates an audio level observer.
    #[napi]
    pub fn create_audio_level_observer(&self, options: Option<String>) -> napi::Result<crate::rtp_observer::NativeRtpObserver> {
        let o: sfu_core::AudioLevelObserverOptions = parse("options", options)?;
        Ok(crate::rtp_observer::NativeRtpObserver::new(core(self.router.create_audio_level_observer_blocking(o))?))
    }

    /// Creates an active speaker observer.
    #[napi]
    pub fn create_active_speaker_observer(&self, options: Option<String>) -> napi::Result<crate::rtp_observer::NativeRtpObserver> {
        let o: sfu_core::ActiveSpeakerObserverOptions = parse("options", options)?;
        Ok(crate::rtp_observer::NativeRtpObserver::new(core(self.router.create_active_speaker_observer_blocking(o))?))
    }

    /// Creates a pipe transport.
    #[napi]
    pub fn create_pipe_transport(&self, options: Option<String>) -> napi::Result<crate::pipe_transport::NativePipeTransport> {
        let o: sfu_core::PipeTransportOptions = parse("options", options)?;
        Ok(crate::pipe_transport::NativePipeTransport::new(core(self.router.create_pipe_transport_blocking(o))?, self.replier.clone()))
    }

    /// Creates a direct transport.
    #[napi]
    pub fn create_direct_transport(&self, options: Option<String>) -> napi::Result<crate::direct_transport::NativeDirectTransport> {
        let o: sfu_core::DirectTransportOptions = parse("options", options)?;
        Ok(crate::direct_transport::NativeDirectTransport::new(core(self.router.create_direct_transport_blocking(o))?, self.replier.clone()))
    }

    /// Creates a WebRTC transport (own ports, or a WebRtcServer's with `webRtcServerId`),
    /// answered as request `id` (see `reply.rs`): the options are parsed and the transport's
    /// snapshot serialized on the worker thread.
    #[napi(js_name = "createWebRtcTransportAsync")]
    pub fn create_webrtc_transport_async(&self, options: Option<String>, id: u32) {
        let replier = self.replier.clone();
        self.router.create_webrtc_transport_then(
            move || parse_core("options", options.as_deref()),
            move |r| {
                let reply = r.and_then(|t| Ok(Reply::WebRtcTransport(crate::webrtc_transport::snapshot(&t)?, t, replier.clone())));
                replier.reply(id, reply)
            },
        );
    }

    /// mediasoup's `router.dump()`.
    #[napi]
    pub fn dump(&self) -> napi::Result<Value> {
        core(self.router.dump_blocking())
    }

    /// Closes the router (returns at once; the engine follows).
    #[napi]
    pub fn close(&self) {
        self.router.close();
    }
}
