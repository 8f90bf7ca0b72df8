//! `NativeWebRtcServer`: shared UDP/TCP ports for many WebRTC transports.

use napi_derive::napi;
use serde_json::Value;
use sfu_core::WebRtcServer;

use crate::error::core;

/// A WebRtcServer handle.
#[napi]
pub struct NativeWebRtcServer {
    server: WebRtcServer,
}

impl NativeWebRtcServer {
    pub(crate) fn new(server: WebRtcServer) -> Self {
        NativeWebRtcServer { server }
    }
}

#[napi]
impl NativeWebRtcServer {
    /// The server's id (transports name it as `webRtcServerId`).
    #[napi]
    pub fn id(&self) -> String {
        self.server.id().to_owned()
    }

    /// Whether the server (or its worker) is closed.
    #[napi]
    pub fn closed(&self) -> bool {
        self.server.closed()
    }

    /// mediasoup's `webRtcServer.dump()`.
    #[napi]
    pub fn dump(&self) -> napi::Result<Value> {
        core(self.server.dump_blocking())
    }

    /// Closes the server and the transports using it (returns at once; the engine follows).
    #[napi]
    pub fn close(&self) {
        self.server.close();
    }
}
