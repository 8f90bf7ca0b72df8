#!/usr/bin/env bash
# Builds every fuzz target and runs each for SECONDS (default 30) with libFuzzer.
#
#   fuzz/run.sh [SECONDS] [TARGET...]        e.g. fuzz/run.sh 60, fuzz/run.sh 10 rtp_packet twcc
#
# Exits non-zero when any target crashes (or the build fails) and ends with the line
# `N passed, M failed`. A crash input lands in fuzz/artifacts/<target>/crash-*; minimize it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz tmin -O -a -s none --features fuzz <target> <file>
# copy it to fuzz/regressions/<target>/ and `cargo test --manifest-path fuzz/Cargo.toml` then
# replays it (tests/regressions.rs) without libFuzzer.
#
# Toolchain: cargo-fuzz passes nightly-only flags (-Z..., sanitizer coverage), and this machine has
# only a stable Rust toolchain, so RUSTC_BOOTSTRAP=1 lets stable rustc accept them.
#
# Environment:
#   SANITIZER=none|address   default none: sfu-core is safe Rust on every path fuzzed here (its two
#                            `unsafe` blocks are getrusage and a zeroing write), and ASan costs 4x
#                            throughput; use address to hunt memory errors in C/unsafe deps.
#   FUZZ_ARGS="..."          extra libFuzzer flags, e.g. "-max_len=1500 -jobs=2".
# -a turns on debug assertions, so integer overflow panics as in `cargo test`.
# New corpus entries go to fuzz/target/corpus-work/<target> (ignored by git); fuzz/corpus/<target>
# holds the committed seeds and is only read.
set -u
cd "$(dirname "$0")/.."

secs=${1:-30}
[ $# -gt 0 ] && shift
export RUSTC_BOOTSTRAP=1
flags=(-O -a -s "${SANITIZER:-none}" --features fuzz)

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked || exit 2
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# One target: build just it; otherwise build them all (one cargo invocation).
build_args=()
[ ${#targets[@]} -eq 1 ] && build_args=("${targets[0]}")
if ! cargo fuzz build "${flags[@]}" "${build_args[@]}"; then
    echo "fuzz build failed"
    echo "0 passed, ${#targets[@]} failed"
    exit 2
fi

mkdir -p fuzz/target/logs
passed=0
failed=0
failures=()
for t in "${targets[@]}"; do
    work="fuzz/target/corpus-work/$t"
    mkdir -p "$work" "fuzz/corpus/$t"
    log="fuzz/target/logs/$t.log"
    # shellcheck disable=SC2086
    cargo fuzz run "${flags[@]}" "$t" "$work" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -timeout=30 -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        printf '%-22s ok     %8s execs  %6s exec/s  cov %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}"
    else
        failed=$((failed + 1))
        artifact=$(grep -o 'Test unit written to [^ ]*' "$log" | tail -1 | sed 's/Test unit written to //')
        failures+=("$t")
        printf '%-22s FAILED (exit %s) %s  log: %s\n' "$t" "$rc" "${artifact:-}" "$log"
        grep -m1 -A3 "panicked at" "$log" | sed 's/^/    /'
    fi
done
[ ${#failures[@]} -gt 0 ] && echo "failed targets: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
