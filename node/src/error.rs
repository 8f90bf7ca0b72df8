//! Core errors → JS errors, and JSON in/out.
//!
//! napi-rs throws a plain `Error`; the core's error kind travels as a `[Name] ` prefix of the
//! message (`[TypeError] invalid options.kind: ...`) so that `lib/errors.js` can rethrow the class
//! mediasoup apps test with `instanceof`.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Converts a core error into a JS error carrying the core's JS class name.
pub(crate) fn to_napi(e: sfu_core::Error) -> napi::Error {
    napi::Error::from_reason(format!("[{}] {}", e.js_name(), e.message()))
}

/// Result of a core call, converted for napi.
pub(crate) fn core<T>(r: sfu_core::Result<T>) -> napi::Result<T> {
    r.map_err(to_napi)
}

/// Parses JS options into a core options struct; a bad field becomes a `TypeError` naming it.
/// Options cross napi as one JSON string (lib/options.js `toJson`): v8's `JSON.stringify` and
/// serde_json are several times cheaper than walking the object property by property through
/// napi, which dominated the cost of `transport.consume()` (rtpCapabilities is ~3 KB).
pub(crate) fn parse<T: DeserializeOwned>(what: &str, json: Option<String>) -> napi::Result<T> {
    core(parse_core(what, json.as_deref()))
}

/// [`parse`] with the core's error, for options parsed on the worker thread (`reply.rs`).
pub(crate) fn parse_core<T: DeserializeOwned>(what: &str, json: Option<&str>) -> sfu_core::Result<T> {
    // An absent options object is an empty one (mediasoup's defaults apply).
    match json.map(str::trim) {
        None | Some("null") => sfu_core::from_json(what, Value::Object(Default::default())),
        Some(text) => match sfu_core::from_json_str(what, text)? {
            Some(v) => Ok(v),
            // Not JSON: say where.
            None => Err(sfu_core::Error::type_err(match serde_json::from_str::<Value>(text) {
                Err(e) => format!("invalid JSON argument: {e}"),
                Ok(_) => "invalid JSON argument".to_owned(),
            })),
        },
    }
}

/// Serializes a core value as a JSON string for JS to `JSON.parse` (cheaper than building the
/// object through napi for anything but a few fields); a core error, as snapshots are also made
/// on the worker thread.
pub(crate) fn json_string<T: Serialize>(v: &T) -> sfu_core::Result<String> {
    serde_json::to_string(v).map_err(|e| sfu_core::Error::type_err(format!("cannot serialize: {e}")))
}

/// Serializes a core value for JS.
pub(crate) fn to_json<T: Serialize>(v: &T) -> napi::Result<Value> {
    serde_json::to_value(v)
        .map_err(|e| napi::Error::from_reason(format!("[Error] cannot serialize: {e}")))
}
