#!/usr/bin/env bash
# Regenerates core-sys/src/bindings.rs from vendor/libev/ev.h with bindgen,
# using the defines in core-sys/defines.rs. Needs libclang (Debian: libclang-dev).
set -euo pipefail
cd "$(dirname "$0")"
touch build.rs
LIBEV_SYS_UPDATE_BINDINGS=1 cargo build -p libev-sys --features bindgen
echo "updated $(pwd)/src/bindings.rs"
