//! The result enum every fallible export returns, and the per-thread message of the last failure.

use std::cell::RefCell;
use std::ffi::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};

use sfu_core::{Error, ErrorCode};

/// What a call did. `SFU_OK` is success; any other value comes with a message that
/// `sfu_last_error_message()` returns on the same thread. Values 1..=6 are the engine's error
/// codes (the same kinds the Node face throws as `TypeError`, `UnsupportedError`, ...); values
/// from 100 on are raised by the C face itself.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum sfu_result {
    /// Success.
    SFU_OK = 0,
    /// A bad argument: missing or wrongly typed JSON field, value out of range (mediasoup's
    /// `TypeError`). The message names the field, e.g. `invalid options.listenInfo.ip`.
    SFU_TYPE_ERROR = 1,
    /// The capabilities do not match: unknown codec, nothing consumable (`UnsupportedError`).
    SFU_UNSUPPORTED = 2,
    /// Unknown entity, e.g. consuming a producer id the router does not have (`NotFoundError`).
    SFU_NOT_FOUND = 3,
    /// The object's state does not allow the call: it is closed, or a blocking call was made
    /// from a worker thread, i.e. from inside an event callback (`InvalidStateError`).
    SFU_INVALID_STATE = 4,
    /// The worker is closed or died (`WorkerClosedError`).
    SFU_WORKER_CLOSED = 5,
    /// An operating-system error, e.g. a port that cannot be bound.
    SFU_IO_ERROR = 6,
    /// A required pointer argument (handle, string or out-pointer) was NULL.
    SFU_NULL_ARGUMENT = 100,
    /// A string argument was not valid UTF-8.
    SFU_INVALID_UTF8 = 101,
    /// A JSON argument was not syntactically valid JSON.
    SFU_INVALID_JSON = 102,
    /// libsfu panicked inside the call (a bug); the call had no effect or a partial one.
    SFU_PANIC = 103,
}

impl From<ErrorCode> for sfu_result {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::Type => sfu_result::SFU_TYPE_ERROR,
            ErrorCode::Unsupported => sfu_result::SFU_UNSUPPORTED,
            ErrorCode::NotFound => sfu_result::SFU_NOT_FOUND,
            ErrorCode::InvalidState => sfu_result::SFU_INVALID_STATE,
            ErrorCode::WorkerClosed => sfu_result::SFU_WORKER_CLOSED,
            ErrorCode::Io => sfu_result::SFU_IO_ERROR,
        }
    }
}

/// A failed call: its code and the message `sfu_last_error_message()` will return.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: sfu_result,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(code: sfu_result, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }

    pub(crate) fn null(arg: &str) -> Self {
        Failure::new(sfu_result::SFU_NULL_ARGUMENT, format!("NULL argument: {arg}"))
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::new(e.code().into(), e.message())
    }
}

/// What the body of an export returns.
pub(crate) type FfiResult<T = ()> = Result<T, Failure>;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

pub(crate) fn set_last_error(message: String) {
    LAST_ERROR.with(|m| *m.borrow_mut() = message);
}

pub(crate) fn clear_last_error() {
    LAST_ERROR.with(|m| m.borrow_mut().clear());
}

/// Copies the message of this thread's most recent failed call into `buf`.
///
/// Every function returning `sfu_result` records, per thread, a message when it fails and clears
/// it when it succeeds; this function reads it without changing it. The message is written
/// NUL-terminated and truncated to fit `len` bytes (an empty string after a success). `*out_n`,
/// when `out_n` is not NULL, receives the full message length without the NUL, so
/// `*out_n >= len` means it was truncated. `buf` may be NULL only when `len` is 0 (to ask for
/// the length). Returns `SFU_NULL_ARGUMENT` (without touching the message) when `buf` is NULL
/// and `len` is not 0.
#[no_mangle]
pub unsafe extern "C" fn sfu_last_error_message(buf: *mut c_char, len: usize, out_n: *mut usize) -> sfu_result {
    let r = catch_unwind(AssertUnwindSafe(|| {
        if buf.is_null() && len != 0 {
            return sfu_result::SFU_NULL_ARGUMENT;
        }
        LAST_ERROR.with(|m| {
            let m = m.borrow();
            if !buf.is_null() {
                let n = m.len().min(len - 1);
                // SAFETY: the caller guarantees `buf` holds `len` writable bytes; n + 1 <= len.
                unsafe {
                    std::ptr::copy_nonoverlapping(m.as_ptr(), buf.cast::<u8>(), n);
                    *buf.add(n) = 0;
                }
            }
            if !out_n.is_null() {
                // SAFETY: checked non-NULL; the caller guarantees it is writable.
                unsafe { *out_n = m.len() };
            }
        });
        sfu_result::SFU_OK
    }));
    r.unwrap_or(sfu_result::SFU_PANIC)
}

/// The name of a result code as a static string (`"SFU_NOT_FOUND"`), `"SFU_UNKNOWN"` for a
/// value that is not an `sfu_result`. Never NULL; do not free.
#[no_mangle]
pub extern "C" fn sfu_result_name(result: c_int) -> *const c_char {
    crate::panic::ffi_value(c"SFU_UNKNOWN".as_ptr(), || result_name(result).as_ptr())
}

fn result_name(result: c_int) -> &'static std::ffi::CStr {
    match result {
        0 => c"SFU_OK",
        1 => c"SFU_TYPE_ERROR",
        2 => c"SFU_UNSUPPORTED",
        3 => c"SFU_NOT_FOUND",
        4 => c"SFU_INVALID_STATE",
        5 => c"SFU_WORKER_CLOSED",
        6 => c"SFU_IO_ERROR",
        100 => c"SFU_NULL_ARGUMENT",
        101 => c"SFU_INVALID_UTF8",
        102 => c"SFU_INVALID_JSON",
        103 => c"SFU_PANIC",
        _ => c"SFU_UNKNOWN",
    }
}
