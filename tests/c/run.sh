#!/bin/sh
# Builds libsfu's C face and runs the C programs against it:
#   bad_input           tests/c/bad_input.c, linked statically (libsfu.a)
#   webrtc              tests/c/webrtc.c (WebRtcServer, WebRTC transports), linked statically
#   direct              tests/c/direct.c (direct transports, data, audio observers), linked statically
#   example             examples/c/example.c, linked statically
#   example (pkg-config) the same program built from `pkg-config --cflags --libs sfu` with a
#                       sfu.pc made from ffi/sfu.pc.in for this tree, linked to libsfu.so
# Exits non-zero when any program fails to build or run. PROFILE=release tests a release build.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
profile=${PROFILE:-debug}
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir=$root/$target_dir ;; esac
libdir=$target_dir/$profile
cc=${CC:-cc}
cflags="-Wall -Wextra -Werror -g -I$root/include"
syslibs="-lpthread -ldl -lm"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cargo_flags=""
[ "$profile" = release ] && cargo_flags="--release"
echo "== cargo build -p sfu-ffi $cargo_flags"
# shellcheck disable=SC2086
cargo build -p sfu-ffi $cargo_flags || { echo "cargo build failed"; exit 1; }

passed=0
failed=0

# run NAME COMMAND...: runs a built program with a time limit and counts the outcome.
run() {
    name=$1
    shift
    echo "== $name"
    if timeout 120 "$@"; then
        passed=$((passed + 1))
        echo "-- $name: passed"
    else
        failed=$((failed + 1))
        echo "-- $name: FAILED (exit $?)"
    fi
}

# build NAME COMMAND...: compiles, counting a compile error as a failure. Returns non-zero then.
build() {
    name=$1
    shift
    if "$@"; then
        return 0
    fi
    failed=$((failed + 1))
    echo "-- $name: FAILED to build"
    return 1
}

# shellcheck disable=SC2086
if build bad_input $cc $cflags -o "$tmp/bad_input" tests/c/bad_input.c "$libdir/libsfu.a" $syslibs; then
    run bad_input "$tmp/bad_input"
fi

# shellcheck disable=SC2086
if build webrtc $cc $cflags -o "$tmp/webrtc" tests/c/webrtc.c "$libdir/libsfu.a" $syslibs; then
    run webrtc "$tmp/webrtc"
fi

# shellcheck disable=SC2086
if build direct $cc $cflags -o "$tmp/direct" tests/c/direct.c "$libdir/libsfu.a" $syslibs; then
    run direct "$tmp/direct"
fi

# shellcheck disable=SC2086
if build example $cc $cflags -o "$tmp/example" examples/c/example.c "$libdir/libsfu.a" $syslibs; then
    run example "$tmp/example"
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
mkdir -p "$tmp/pkgconfig"
sed -e "s|@prefix@|$root|" -e "s|@libdir@|$libdir|" -e "s|@includedir@|$root/include|" -e "s|@version@|$version|" \
    ffi/sfu.pc.in >"$tmp/pkgconfig/sfu.pc"
if command -v pkg-config >/dev/null 2>&1; then
    pc_cflags=$(PKG_CONFIG_PATH="$tmp/pkgconfig" pkg-config --cflags sfu)
    pc_libs=$(PKG_CONFIG_PATH="$tmp/pkgconfig" pkg-config --libs sfu)
    # shellcheck disable=SC2086
    if build "example (pkg-config, libsfu.so)" $cc -Wall -Wextra -Werror -g $pc_cflags -o "$tmp/example_shared" examples/c/example.c \
        $pc_libs "-Wl,-rpath,$libdir"; then
        run "example (pkg-config, libsfu.so)" "$tmp/example_shared"
    fi
else
    echo "== pkg-config not installed: skipping the shared-library build"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
