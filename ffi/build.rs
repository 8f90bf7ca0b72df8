//! Generates the C header from this crate's exports with cbindgen.
//!
//! The fresh header is always written to `$OUT_DIR/sfu.h`. It is copied to the committed
//! `include/sfu.h` when it differs, except when `SFU_HEADER_CHECK` or `CI` is set: then the
//! committed header is left alone so that `check-header.sh` (which sets `SFU_HEADER_CHECK`)
//! compares it with a fresh generation, whatever CI built before.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SFU_HEADER_CHECK");
    println!("cargo:rerun-if-env-changed=CI");

    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("ffi/cbindgen.toml");
    let bindings = match cbindgen::Builder::new().with_config(config).with_src(crate_dir.join("src/lib.rs")).generate() {
        Ok(b) => b,
        Err(e) => panic!("cbindgen could not generate include/sfu.h: {e}"),
    };
    bindings.write_to_file(out_dir.join("sfu.h"));
    if std::env::var_os("SFU_HEADER_CHECK").is_none() && std::env::var_os("CI").is_none() {
        // write_to_file leaves the file (and its mtime) alone when the content is unchanged.
        bindings.write_to_file(crate_dir.join("../include/sfu.h"));
    }
}
