//! Maps mediasoup's `logLevel` / `logTags` onto `tracing`, with a filter that
//! `updateSettings()` can change at run time.

use std::sync::OnceLock;

use tracing_subscriber::{filter::LevelFilter, layer::SubscriberExt, reload, util::SubscriberInitExt, Registry};

use crate::error::{Error, Result};

static HANDLE: OnceLock<Option<reload::Handle<LevelFilter, Registry>>> = OnceLock::new();

/// Parses a mediasoup log level (`debug`, `warn`, `error`, `none`).
pub(crate) fn parse_level(level: &str) -> Result<LevelFilter> {
    Ok(match level {
        "debug" => LevelFilter::DEBUG,
        "warn" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        "none" => LevelFilter::OFF,
        other => return Err(Error::type_err(format!("invalid logLevel: {other:?} (expected debug, warn, error or none)"))),
    })
}

/// Applies `level` to the process-wide tracing subscriber, installing it on first use unless the
/// host installed its own.
pub(crate) fn apply(level: LevelFilter) {
    let handle = HANDLE.get_or_init(|| {
        let (filter, handle) = reload::Layer::new(level);
        let ok = tracing_subscriber::registry()
            .with(filter)
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(true))
            .try_init()
            .is_ok();
        ok.then_some(handle)
    });
    if let Some(h) = handle {
        let _ = h.modify(|f| *f = level);
    }
}
