#!/bin/sh
# The end-to-end load bench in one command: builds the release engine (Node addon) and the
# traffic processes, then runs benches/load/load.js with the given options (--help lists them).
# SFU_MODULE=mediasoup benches/load/run.sh   drives an installed mediasoup instead of libsfu.
set -eu
cd "$(dirname "$0")/../.."
cargo build --release -p sfu-benches --bin sfu-load
if [ -z "${SFU_MODULE:-}" ]; then
	(cd node && LIBSFU_PROFILE=release npm run --silent build)
fi
exec node benches/load/load.js "$@"
