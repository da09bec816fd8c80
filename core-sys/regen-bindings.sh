#!/usr/bin/env bash
# Regenerates core-sys/src/bindings.rs from vendor/libev/ev.h with bindgen,
# using the defines in core-sys/defines.rs, and gives every generated public
# item its doc line from core-sys/bindings-docs.tsv (the build fails naming
# any item the table lacks). Needs libclang (Debian: libclang-dev).
#
#   core-sys/regen-bindings.sh           # rewrite src/bindings.rs
#   core-sys/regen-bindings.sh --check   # fail if src/bindings.rs is stale
set -euo pipefail
cd "$(dirname "$0")"
check=0
[ "${1:-}" = "--check" ] && check=1
touch build.rs
if [ "$check" = 1 ]; then
    before="$(mktemp)"
    trap 'rm -f "$before"' EXIT
    cp src/bindings.rs "$before"
fi
LIBEV_SYS_UPDATE_BINDINGS=1 cargo build -p libev-sys --features bindgen
if [ "$check" = 1 ]; then
    if ! diff -u "$before" src/bindings.rs; then
        cp "$before" src/bindings.rs
        echo "core-sys/src/bindings.rs is stale: run core-sys/regen-bindings.sh" >&2
        exit 1
    fi
    echo "core-sys/src/bindings.rs is up to date"
else
    echo "updated $(pwd)/src/bindings.rs"
fi
