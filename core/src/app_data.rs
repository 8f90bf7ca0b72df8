//! `appData`: the application's own JSON attached to an object, never read by the engine.

use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

/// The app's data attached to a handle (shared by clones of the handle).
#[derive(Clone, Default)]
pub struct AppData(Arc<Mutex<Value>>);

impl AppData {
    pub(crate) fn new(v: Value) -> Self {
        AppData(Arc::new(Mutex::new(if v.is_null() { Value::Object(Default::default()) } else { v })))
    }
    /// A copy of the current value (`{}` when none was given).
    pub fn get(&self) -> Value {
        self.0.lock().clone()
    }
    /// Replaces the value.
    pub fn set(&self, v: Value) {
        *self.0.lock() = v;
    }
}

impl std::fmt::Debug for AppData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.lock().fmt(f)
    }
}
