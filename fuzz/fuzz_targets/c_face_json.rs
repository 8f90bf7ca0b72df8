#![no_main]
// The check lives in sfu_fuzz::c_face_json so that tests/regressions.rs runs the same code.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sfu_fuzz::c_face_json(data));
