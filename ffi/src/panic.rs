//! Panic boundaries: no unwind ever crosses into C. Every export runs its body through one of
//! these; a panic becomes `SFU_PANIC` (with its message) or the export's neutral value.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{clear_last_error, set_last_error, sfu_result, FfiResult};

/// Runs a fallible export body: success clears the thread's last error, a failure records it,
/// a panic records `panic: <message>` and returns `SFU_PANIC`.
pub(crate) fn ffi_call(body: impl FnOnce() -> FfiResult) -> sfu_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            clear_last_error();
            sfu_result::SFU_OK
        }
        Ok(Err(failure)) => {
            set_last_error(failure.message);
            failure.code
        }
        Err(payload) => {
            set_last_error(format!("panic: {}", panic_message(&*payload)));
            sfu_result::SFU_PANIC
        }
    }
}

/// Runs an export that cannot report failure (`_free`, `_close`, getters): a panic yields
/// `on_panic`.
pub(crate) fn ffi_value<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::sfu_last_error_message;

    fn last_message() -> String {
        let mut buf = [0 as std::ffi::c_char; 256];
        let mut n = 0usize;
        // SAFETY: buf is 256 writable bytes.
        let r = unsafe { sfu_last_error_message(buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!(r, sfu_result::SFU_OK);
        // SAFETY: sfu_last_error_message NUL-terminates.
        unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap().to_owned()
    }

    #[test]
    fn panic_in_body_becomes_sfu_panic_with_its_message() {
        let r = ffi_call(|| panic!("boom at the boundary"));
        assert_eq!(r, sfu_result::SFU_PANIC);
        assert_eq!(last_message(), "panic: boom at the boundary");
    }

    #[test]
    fn success_clears_the_last_error() {
        let r = ffi_call(|| Err(crate::error::Failure::null("router")));
        assert_eq!(r, sfu_result::SFU_NULL_ARGUMENT);
        assert_eq!(last_message(), "NULL argument: router");
        assert_eq!(ffi_call(|| Ok(())), sfu_result::SFU_OK);
        assert_eq!(last_message(), "");
    }

    #[test]
    fn panic_in_value_export_yields_the_neutral_value() {
        let v: *const u8 = ffi_value(std::ptr::null(), || panic!("getter"));
        assert!(v.is_null());
    }
}
