//! The engine's one error type. Its [`Error::code`] is what the C result enum and the JS error
//! class names reuse.

use std::fmt;

/// Every error the engine returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A bad argument: missing or wrongly typed field, value out of range (JS `TypeError`).
    Type(String),
    /// Capabilities do not match: unsupported codec, nothing consumable (JS `UnsupportedError`).
    Unsupported(String),
    /// Unknown or already-closed entity (JS `NotFoundError`... or `InvalidStateError` in mediasoup).
    NotFound(String),
    /// The object is in a state that does not allow the call (JS `InvalidStateError`).
    InvalidState(String),
    /// The worker is closed or died (JS `WorkerClosedError`).
    WorkerClosed(String),
    /// An operating-system error, e.g. no free port (JS `Error`).
    Io(String),
}

/// Short alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable machine-readable error codes, shared by all faces.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Bad argument.
    Type = 1,
    /// Unsupported capabilities.
    Unsupported = 2,
    /// Unknown or closed entity.
    NotFound = 3,
    /// Wrong state for the call.
    InvalidState = 4,
    /// Worker closed.
    WorkerClosed = 5,
    /// Operating-system error.
    Io = 6,
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Type(_) => ErrorCode::Type,
            Error::Unsupported(_) => ErrorCode::Unsupported,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::InvalidState(_) => ErrorCode::InvalidState,
            Error::WorkerClosed(_) => ErrorCode::WorkerClosed,
            Error::Io(_) => ErrorCode::Io,
        }
    }

    /// The name of the JS error class the Node face throws for this error.
    pub fn js_name(&self) -> &'static str {
        match self {
            Error::Type(_) => "TypeError",
            Error::Unsupported(_) => "UnsupportedError",
            Error::NotFound(_) => "NotFoundError",
            Error::InvalidState(_) => "InvalidStateError",
            Error::WorkerClosed(_) => "WorkerClosedError",
            Error::Io(_) => "Error",
        }
    }

    /// The human-readable message (without the kind).
    pub fn message(&self) -> &str {
        match self {
            Error::Type(m)
            | Error::Unsupported(m)
            | Error::NotFound(m)
            | Error::InvalidState(m)
            | Error::WorkerClosed(m)
            | Error::Io(m) => m,
        }
    }

    /// Shorthand for a [`Error::Type`] error.
    pub fn type_err(msg: impl Into<String>) -> Self {
        Error::Type(msg.into())
    }

    /// Shorthand for an [`Error::Unsupported`] error.
    pub fn unsupported(msg: impl Into<String>) -> Self {
        Error::Unsupported(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.js_name(), self.message())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// Parses a JSON value into `T`, turning serde's error into a [`Error::Type`] that names the
/// offending field path (e.g. `rtpParameters.codecs[0].clockRate`).
pub fn from_json<T: serde::de::DeserializeOwned>(what: &str, value: serde_json::Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path.is_empty() || path == "." {
            Error::Type(format!("invalid {what}: {inner}"))
        } else {
            Error::Type(format!("invalid {what}.{path}: {inner}"))
        }
    })
}

/// [`from_json`] from JSON text, as the faces receive options. Valid input is deserialized
/// straight from the text (no intermediate `Value`: for `consume()`'s ~3 KB of capabilities that
/// was most of the call's cost); anything else takes the `Value` path, so every error is the one
/// [`from_json`] gives, and `Ok(None)` means the text is not JSON at all.
pub fn from_json_str<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<Option<T>> {
    let mut de = serde_json::Deserializer::from_str(text);
    if let Ok(v) = T::deserialize(&mut de) {
        if de.end().is_ok() {
            return Ok(Some(v));
        }
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => from_json(what, value).map(Some),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConsumerOptions, RtpCapabilities};

    #[test]
    fn from_json_str_matches_from_json() {
        let caps = serde_json::to_value(crate::supported_rtp_capabilities::supported_rtp_capabilities()).unwrap();
        let text = serde_json::json!({ "producerId": "p", "rtpCapabilities": caps, "paused": true, "appData": { "a": [1, 2.5, "x"] } }).to_string();
        let fast: ConsumerOptions = from_json_str("options", &text).unwrap().unwrap();
        let slow: ConsumerOptions = from_json("options", serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(serde_json::to_value(&fast.rtp_capabilities).unwrap(), serde_json::to_value(&slow.rtp_capabilities).unwrap());
        assert_eq!((fast.paused, &fast.producer_id), (slow.paused, &slow.producer_id));
        // Errors are from_json's, with the field path and no line/column.
        for bad in [r#"{"codecs": [{"kind": "video", "mimeType": "video/VP8", "clockRate": "x"}]}"#, r#"{"codecs": 3}"#, "[]", r#"{"codecs": []} trailing"#] {
            let fast = from_json_str::<RtpCapabilities>("rtpCapabilities", bad);
            match serde_json::from_str::<serde_json::Value>(bad) {
                Ok(v) => {
                    let slow = from_json::<RtpCapabilities>("rtpCapabilities", v);
                    assert_eq!(fast.map(|c| c.map(|c| c.codecs.len())).map_err(|e| e.message().to_owned()), slow.map(|c| Some(c.codecs.len())).map_err(|e| e.message().to_owned()), "{bad}");
                }
                Err(_) => assert!(matches!(fast, Ok(None)), "{bad}: not JSON"),
            }
        }
        // A repeated key: the last one wins, as with from_json (a JSON object parsed to a map).
        let dup: RtpCapabilities = from_json_str("rtpCapabilities", r#"{"codecs": 1, "codecs": []}"#).unwrap().unwrap();
        assert!(dup.codecs.is_empty());
    }
}
