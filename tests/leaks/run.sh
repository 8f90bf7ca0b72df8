#!/usr/bin/env bash
# Leak check of libsfu's C and Node faces: runs their tests under a leak checker and fails on
# any leak from libsfu.
#
#   tests/leaks/run.sh [c] [node]      (no argument: both)
#
# C face (valgrind memcheck): builds sfu-ffi and the C programs as tests/c/run.sh does
# (tests/c/bad_input.c, webrtc.c, direct.c and examples/c/example.c linked to libsfu.a, and
# example.c once more linked to libsfu.so) and runs each under
#   valgrind --leak-check=full --show-leak-kinds=definite,indirect
#            --errors-for-leak-kinds=definite,indirect --error-exitcode=99
# Every definitely or indirectly lost block counts (a C program's own leak is a test bug, the
# rest is libsfu's), and so does any other memcheck error (invalid read or write, use of
# uninitialised memory, bad free). "Still reachable" blocks are not leaks: the statics of the
# Rust runtime and of `tracing` (the global subscriber) live until exit by design. "Possibly
# lost" is not reported: std keeps the main thread's handle behind a tagged pointer, which
# memcheck can only call possibly lost. No suppression file is needed.
#
# Node face (LeakSanitizer): builds the addon (node/sfu.node, debug) and runs each
# node/test/*.test.js file as `node FILE` (node:test then runs the tests in that process, so
# the process checked is the one running them; process-exit.test.js's child nodes inherit the
# preload and are checked too) with LD_PRELOAD=liblsan.so.0 (Debian's liblsan0). LSan checks
# at exit, after Node's environment teardown has run the finalizers of every wrapped native
# object, so what it reports was unreachable: a Box never reclaimed, a napi reference never
# deleted, an Rc/Arc cycle. The filter: each leak record (Direct or Indirect) is libsfu's
# when any frame of its allocation stack runs code of sfu.node (the module is printed per
# frame, so this covers sfu_node::, sfu_core:: and every crate linked into the addon,
# napi-rs glue included); records with no such frame are Node's own (V8, libuv, ICU, OpenSSL)
# and are counted but ignored. LSan unwinds with frame pointers, which ends a stack at the
# first Rust frame built without one, but the frame that called malloc is always there, and
# Node's frames keep their frame pointers (a napi call's allocations reach the Rust caller),
# so the sort holds; when a file has libsfu leaks, it runs again
# with DWARF unwinding (fast_unwind_on_malloc=0: whole stacks, 5x slower, so not the default:
# process-exit.test.js's child nodes would miss their timers) and those stacks are printed.
# tests/leaks/lsan.supp holds the one known leak that has sfu.node frames but is not
# libsfu's (see there).
#
# Neither tool sees memory that is still reachable at exit but grew while the tests ran (a map
# never pruned): that takes a long run watching the heap, not this check.
#
# Exits non-zero when a libsfu leak or a memory error is found (the stacks are printed), a
# program crashes, times out, or the leak check did not run. A test failing under the checker
# (both slow everything down; process-exit.test.js times its child nodes) is printed as a
# warning: its leak check still ran at exit. LEAKS_STRICT=1 counts those as failures too.
# PROFILE=release checks a release build of the C face; LEAKS_LOG_DIR=DIR keeps the logs.
# Needs valgrind and liblsan0 (apt). Takes 2-3 min on the 2-core VM once the crates are built.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
profile=${PROFILE:-debug}
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir=$root/$target_dir ;; esac
strict=${LEAKS_STRICT:-0}
liblsan=${LIBLSAN:-/usr/lib/x86_64-linux-gnu/liblsan.so.0}
faces=${*:-c node}

tmp=$(mktemp -d)
# LEAKS_LOG_DIR=DIR keeps every program's output and checker log there.
trap '[ -n "${LEAKS_LOG_DIR:-}" ] && mkdir -p "$LEAKS_LOG_DIR" && cp "$tmp"/*.out "$tmp"/*.vg "$tmp"/*.log* "$LEAKS_LOG_DIR"/ 2>/dev/null; rm -rf "$tmp"' EXIT

passed=0
failed=0
warnings=()

pass() {
    passed=$((passed + 1))
    echo "-- $1: no leaks"
}
fail() {
    failed=$((failed + 1))
    echo "-- $1: FAILED ($2)"
}
# test_failed NAME EXIT: the program's own checks failed under the checker (not a leak).
test_failed() {
    if [ "$strict" = 1 ]; then
        fail "$1" "tests failed under the checker, exit $2"
    else
        pass "$1"
        warnings+=("$1: tests failed under the checker (exit $2); its leak check ran")
    fi
}

# ---------------------------------------------------------------------------- C face (valgrind)
c_face() {
    if ! command -v valgrind >/dev/null 2>&1; then
        fail "C face" "valgrind not installed (apt-get install valgrind)"
        return
    fi
    local cargo_flags="" libdir=$target_dir/$profile
    [ "$profile" = release ] && cargo_flags="--release"
    echo "== cargo build -p sfu-ffi $cargo_flags"
    # shellcheck disable=SC2086
    if ! cargo build -p sfu-ffi $cargo_flags; then
        fail "C face" "cargo build failed"
        return
    fi
    # Copies, so that another build into the same target dir cannot swap them mid-run.
    mkdir -p "$tmp/lib"
    cp "$libdir/libsfu.a" "$libdir/libsfu.so" "$tmp/lib/"

    local cc=${CC:-cc} cflags="-Wall -Wextra -Werror -g -I$root/include" name src p
    local progs=(bad_input:tests/c/bad_input.c webrtc:tests/c/webrtc.c direct:tests/c/direct.c example:examples/c/example.c)
    for p in "${progs[@]}"; do
        name=${p%%:*} src=${p#*:}
        # shellcheck disable=SC2086
        if $cc $cflags -o "$tmp/$name" "$src" "$tmp/lib/libsfu.a" -lpthread -ldl -lm; then
            memcheck "$name" "$tmp/$name"
        else
            fail "$name" "did not build"
        fi
    done
    # shellcheck disable=SC2086
    if $cc $cflags -o "$tmp/example_shared" examples/c/example.c -L"$tmp/lib" -lsfu "-Wl,-rpath,$tmp/lib"; then
        memcheck "example (libsfu.so)" "$tmp/example_shared"
    else
        fail "example (libsfu.so)" "did not build"
    fi
}

# memcheck NAME PROGRAM: runs PROGRAM under valgrind; the log's error records on failure.
memcheck() {
    local name=$1 prog=$2 log rc
    log=$tmp/$(basename "$prog").vg
    echo "== $name (valgrind memcheck)"
    timeout 900 valgrind --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=40 \
        --log-file="$log" "$prog" >"$tmp/$name.out" 2>&1
    rc=$?
    tail -n 1 "$tmp/$name.out"
    grep -E 'definitely lost:|indirectly lost:|ERROR SUMMARY' "$log" | sed 's/^==[0-9]*== */   /'
    if [ "$rc" = 99 ]; then
        # Every record between the banner and the heap summary, and the leak records after it.
        sed -e '1,/^==[0-9]*== Parent PID:/d' -e '/^==[0-9]*== Reachable blocks/,$d' "$log"
        fail "$name" "memcheck errors or leaks, see above"
    elif [ "$rc" = 124 ]; then
        fail "$name" "timed out under valgrind"
    elif ! grep -q 'ERROR SUMMARY' "$log"; then
        cat "$log"
        fail "$name" "valgrind did not finish (exit $rc)"
    elif [ "$rc" != 0 ]; then
        tail -n 20 "$tmp/$name.out"
        test_failed "$name" "$rc"
    else
        pass "$name"
    fi
}

# ---------------------------------------------------------------------- Node face (LeakSanitizer)
node_face() {
    if [ ! -e "$liblsan" ]; then
        fail "Node face" "$liblsan missing (apt-get install liblsan0)"
        return
    fi
    echo "== node/scripts/build.js (LIBSFU_PROFILE=debug)"
    if ! (cd node && LIBSFU_PROFILE=debug node scripts/build.js); then
        fail "Node face" "addon build failed"
        return
    fi
    local f name log rc
    for f in node/test/*.test.js; do
        name=node/test/$(basename "$f")
        log=$tmp/$(basename "$f").log
        echo "== $name (LeakSanitizer)"
        lsan_node "$f" 1 >"$log" 2>&1
        rc=$?
        grep -E '^# (pass|fail) ' "$log" | tr '\n' ' '
        echo
        lsan_verdict "$name" "$log" "$rc" "$f"
    done
}

# lsan_node FILE FAST: runs node FILE under LSan; FAST=0 unwinds allocation stacks with DWARF.
lsan_node() {
    # exitcode=23 tells a leak exit from a test failure (1); report_objects=0 keeps the
    # per-object address lists out of the log; the module printed per frame is what
    # lsan_verdict sorts by. RUST_BACKTRACE=0: symbolizing the backtrace of process-exit's and
    # worker-died's injected panics is slow under LSan and would trip their timers.
    local opts="suppressions=$root/tests/leaks/lsan.supp:print_suppressions=1:exitcode=23"
    opts="$opts:report_objects=0:fast_unwind_on_malloc=$2:malloc_context_size=40"
    opts="$opts:stack_trace_format='    #%n %p %F %L [%m]'"
    (cd node && RUST_BACKTRACE=0 LD_PRELOAD=$liblsan LSAN_OPTIONS=$opts timeout 900 node "../$1")
}

# lsan_split LOG: writes LOG's libsfu leak records to $tmp/ours (see the header for the rule)
# and the number of Node's own to $tmp/theirs. A record runs from "Direct leak of" or
# "Indirect leak of" to the next blank line; child nodes' reports sit indented in TAP output.
lsan_split() {
    rm -f "$tmp/ours"
    awk -v ours="$tmp/ours" -v theirs="$tmp/theirs" '
        function flush() {
            if (rec == "") return
            if (mine) { printf "%s\n\n", rec >> ours } else { n_theirs++ }
            rec = ""; mine = 0
        }
        /^[ \t]*(Direct|Indirect) leak of / { flush(); rec = $0; next }
        rec != "" && /^[ \t]*$/ { flush(); next }
        rec != "" {
            rec = rec "\n" $0
            if ($0 ~ /\[[^]]*\/(sfu\.node|libsfu[^\/]*\.so)\]$/) mine = 1
            next
        }
        END { flush(); printf "%d\n", n_theirs > theirs }
    ' "$1"
}

# lsan_verdict NAME LOG EXIT FILE
lsan_verdict() {
    local name=$1 log=$2 rc=$3 file=$4 ours=0 theirs
    lsan_split "$log"
    [ -s "$tmp/ours" ] && ours=$(grep -cE '^[[:space:]]*(Direct|Indirect) leak of ' "$tmp/ours")
    theirs=$(cat "$tmp/theirs")
    [ "$theirs" -gt 0 ] && echo "   $theirs leak record(s) without an sfu.node frame (Node's own): ignored"
    # The "Suppressions used" tables (this process's and any child's): count, bytes, template.
    awk '/Suppressions used:/ { on = 1; next } on && /^[ \t]*-+$/ { on = 0 } on && !/count +bytes/' "$log" |
        sed 's/^[ \t]*/   suppressed (count bytes template): /'
    if [ "$ours" -gt 0 ]; then
        # Fast unwinding loses the frames past the first Rust frame without a frame pointer
        # (the rest of its stacks is noise): only the sfu.node frames here, whole stacks below.
        echo "   $ours libsfu leak record(s) (fast unwinding, sfu.node frames only):"
        grep -E '(leak of |\[[^]]*/sfu\.node\]$)' "$tmp/ours"
        echo "   the same file again with DWARF unwinding, for whole stacks (slower; tests may time out):"
        lsan_node "$file" 0 >"$log.full" 2>&1
        lsan_split "$log.full"
        if [ -s "$tmp/ours" ]; then cat "$tmp/ours"; else echo "   (no libsfu leak this time)"; fi
        fail "$name" "libsfu leaks, see above"
    elif grep -q 'LeakSanitizer has encountered a fatal error' "$log"; then
        grep -B2 -A5 'LeakSanitizer has encountered a fatal error' "$log"
        fail "$name" "the leak check did not run"
    elif [ "$rc" = 124 ]; then
        fail "$name" "timed out"
    elif [ "$rc" -ge 128 ]; then
        tail -n 30 "$log"
        fail "$name" "killed by signal $((rc - 128)), no leak check"
    elif [ "$rc" != 0 ] && [ "$rc" != 23 ]; then
        grep -E '^not ok' "$log" | head -n 20
        test_failed "$name" "$rc"
    else
        pass "$name"
    fi
}

for face in $faces; do
    case "$face" in
    c) c_face ;;
    node) node_face ;;
    *)
        echo "usage: $0 [c] [node]"
        exit 2
        ;;
    esac
done

for w in "${warnings[@]+"${warnings[@]}"}"; do
    echo "warning: $w"
done
echo "leaks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
