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
