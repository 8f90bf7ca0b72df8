#![no_main]
// The check lives in sfu_fuzz::dtls_handshake so that tests/regressions.rs runs the same code.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sfu_fuzz::dtls_handshake(data));
