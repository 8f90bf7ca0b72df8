//! `NativeWebRtcTransport`: a WebRTC (ICE-lite + DTLS + SRTP) transport handle.

use napi_derive::napi;
use serde::Deserialize;
use serde_json::Value;
use sfu_core::{DtlsParameters, WebRtcTransport};

use crate::error::{core, to_json};
use crate::transport_base;

/// `webRtcTransport.connect({ dtlsParameters })`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebRtcTransportConnect {
    dtls_parameters: DtlsParameters,
}

/// A WebRTC transport handle.
#[napi]
pub struct NativeWebRtcTransport {
    transport: WebRtcTransport,
    replier: crate::reply::Replier,
}

impl NativeWebRtcTransport {
    pub(crate) fn new(transport: WebRtcTransport, replier: crate::reply::Replier) -> Self {
        NativeWebRtcTransport { transport, replier }
    }
}

#[napi]
impl NativeWebRtcTransport {
    /// The transport's id.
    #[napi]
    pub fn id(&self) -> String {
        self.transport.id().to_owned()
    }

    /// Local `{role, fingerprints}`.
    #[napi]
    pub fn dtls_parameters(&self) -> napi::Result<Value> {
        to_json(&self.transport.dtls_parameters())
    }

    /// Caps what the remote's producers may send (REMB); 0 removes the cap.
    #[napi]
    pub fn set_max_incoming_bitrate(&self, bitrate: u32) -> napi::Result<()> {
        core(self.transport.set_max_incoming_bitrate_blocking(bitrate))
    }

    /// Floor of the REMB estimates announced to producers that use REMB; 0 removes it.
    #[napi]
    pub fn set_min_incoming_bitrate(&self, bitrate: u32) -> napi::Result<()> {
        core(self.transport.set_min_incoming_bitrate_blocking(bitrate))
    }

    /// Bounds of the send-side bandwidth estimate (`setMinOutgoingBitrate` /
    /// `setMaxOutgoingBitrate`; 0 restores the default).
    #[napi]
    pub fn set_outgoing_bitrate_bounds(&self, min: Option<u32>, max: Option<u32>) -> napi::Result<()> {
        core(self.transport.set_outgoing_bitrate_bounds_blocking(min, max))
    }

    /// `webRtcTransport.connect({ dtlsParameters })`, answered as request `id` (see `reply.rs`);
    /// the parameters are parsed on the worker thread.
    #[napi]
    pub fn connect_async(&self, params: Option<String>, id: u32) {
        let replier = self.replier.clone();
        self.transport.connect_then(
            move || Ok(crate::error::parse_core::<WebRtcTransportConnect>("parameters", params.as_deref())?.dtls_parameters),
            move |r| replier.reply(id, r.map(|()| crate::reply::Reply::Done)),
        );
    }

    /// New local ICE parameters (ICE restart).
    #[napi]
    pub fn restart_ice(&self) -> napi::Result<Value> {
        to_json(&core(self.transport.restart_ice_blocking())?)
    }

    /// `transport.produce(options)`, answered as request `id` (see `reply.rs`).
    #[napi]
    pub fn produce_async(&self, options: Option<String>, id: u32) {
        transport_base::produce_async(&self.transport, options, &self.replier, id)
    }

    /// `transport.consume(options)`, answered as request `id` (see `reply.rs`).
    #[napi]
    pub fn consume_async(&self, options: Option<String>, id: u32) {
        transport_base::consume_async(&self.transport, options, &self.replier, id)
    }

    /// `transport.produceData(options)`.
    #[napi]
    pub fn produce_data(&self, options: Option<String>) -> napi::Result<crate::data::NativeDataProducer> {
        transport_base::produce_data(&self.transport, options)
    }

    /// `transport.consumeData(options)`.
    #[napi]
    pub fn consume_data(&self, options: Option<String>) -> napi::Result<crate::data::NativeDataConsumer> {
        transport_base::consume_data(&self.transport, options)
    }

    /// mediasoup's `transport.getStats()`.
    #[napi]
    pub fn get_stats(&self) -> napi::Result<Value> {
        transport_base::get_stats(&self.transport)
    }

    /// mediasoup's `transport.enableTraceEvent()`.
    #[napi]
    pub fn enable_trace_event(&self, types: Vec<String>) -> napi::Result<()> {
        transport_base::enable_trace_event(&self.transport, types)
    }

    /// mediasoup's `transport.dump()`.
    #[napi]
    pub fn dump(&self) -> napi::Result<Value> {
        transport_base::dump(&self.transport)
    }

    /// Closes the transport (returns at once; the engine follows).
    #[napi]
    pub fn close(&self) {
        self.transport.close();
    }
}

/// Everything the JS WebRtcTransport caches at construction, as one JSON string (one
/// `JSON.parse` instead of a call and an object conversion per field), made on the worker thread
/// with a pipelined `createWebRtcTransport()`'s reply (see `reply.rs`).
pub(crate) fn snapshot(t: &WebRtcTransport) -> sfu_core::Result<String> {
    /// Serialized straight from the handle's fields (no `json!` tree in between).
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Snapshot<'a> {
        ice_role: &'static str,
        ice_parameters: sfu_core::IceParameters,
        ice_candidates: &'a [sfu_core::IceCandidate],
        ice_state: sfu_core::IceState,
        ice_selected_tuple: Option<sfu_core::TransportTuple>,
        dtls_parameters: DtlsParameters,
        dtls_state: sfu_core::DtlsState,
        sctp_parameters: Option<Value>,
        sctp_state: Option<&'static str>,
        dtls_remote_cert: Option<String>,
    }
    crate::error::json_string(&Snapshot {
        ice_role: t.ice_role(),
        ice_parameters: t.ice_parameters(),
        ice_candidates: t.ice_candidates(),
        ice_state: t.ice_state(),
        ice_selected_tuple: t.ice_selected_tuple(),
        dtls_parameters: t.dtls_parameters(),
        dtls_state: t.dtls_state(),
        sctp_parameters: t.sctp_parameters(),
        sctp_state: t.sctp_state(),
        dtls_remote_cert: t.dtls_remote_cert(),
    })
}
