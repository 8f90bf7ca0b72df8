//! Runs inputs through a target's check without libFuzzer, with the panic message and a
//! backtrace on failure: `cargo run --manifest-path fuzz/Cargo.toml --example replay -- TARGET FILE...`
//! (for debugging a crash; `cargo test` replays `regressions/` and `corpus/`).

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().expect("usage: replay TARGET FILE...");
    let check = sfu_fuzz::TARGETS.iter().find(|(n, _)| *n == target).unwrap_or_else(|| panic!("unknown target {target}")).1;
    for file in args {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        println!("{file}: {} bytes", data.len());
        check(&data);
        println!("{file}: ok");
    }
}
