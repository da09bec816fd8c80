#!/usr/bin/env bash
# Runs gevent's benchmarks (examples bench_greenlet, bench_sync,
# bench_pool and bench_async) and the same figures on tokio (current_thread) and may (one
# worker), then prints ONE table side by side with the ratios ours / peer
# (below 1 is better for us on times and bytes, above 1 on
# max_live_greenlets). The table is table.sh's, from the per-round files
# kept in benchmarks/target/results.
#
#   benchmarks/run.sh                   # every figure, once
#   RUNS=3 benchmarks/run.sh            # three rounds, the median per figure
#   benchmarks/run.sh queue_put_get_ns  # one figure
#
# Optional peers, each skipped cleanly when absent: Python gevent
# (bench_pygevent.py, when `python3 -c 'import gevent'` works, e.g. after
# `pip install gevent`) and Go (go/bench.go, standard library only, built
# without modules, when `go` is on PATH, e.g. after `apt-get install golang-go`).
#
# Needs only crates.io (for tokio and may); builds everything itself, into
# benchmarks/target and the repository's own target/ (both CARGO_TARGET_DIR
# when it is set). One round takes about a minute on a quiet 2-core machine
# (plus the builds).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Where cargo puts a workspace's build output: target/ unless
# CARGO_TARGET_DIR (or build.target-dir) says otherwise.
target_dir() { # manifest path
    cargo metadata --format-version 1 --no-deps --manifest-path "$1" |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
}
root="$(dirname "$here")"
figure="${1:-}"
runs="${RUNS:-1}"
out="$here/target/results"
rm -rf "$out"
mkdir -p "$out"

# Which of our programs prints which figure.
greenlet_figs="switch_ns spawn_join_ns event_handoff_ns timeout_enter_exit_ns rss_per_parked_greenlet_bytes max_live_greenlets rr_switch_1k_ns rr_switch_10k_ns rr_switch_100k_ns io_wake_10k_ns"
sync_figs="queue_put_get_ns channel_handoff_ns semaphore_acquire_release_ns"
pool_figs="pool_map_per_item_ns pool_map_per_item_cpu_ns threadpool_roundtrip_us resolve_localhost_us resolve_blocking_us"
# Ours only, std::process measured beside it by the same program.
process_figs="spawn_wait_process_us spawn_wait_process_std_us spawn_wait_process_vs_std"
# bench_async (feature tokio) prints ours; with --peer, tokio's own figures
# under the same names, for the tokio column.
async_figs="block_on_ready_ns block_on_cross_thread_us tokio_block_on_roundtrip_us"
has() { [ -z "$figure" ] || [[ " $1 " == *" $figure "* ]]; }
if [ -n "$figure" ] && ! has "$greenlet_figs $sync_figs $pool_figs $process_figs $async_figs"; then
    echo "unknown figure $figure; one of: $greenlet_figs $sync_figs $pool_figs $process_figs $async_figs" >&2
    exit 2
fi

echo "building (release) ..." >&2
(cd "$root" && cargo build --release -q --example bench_greenlet --example bench_sync --example bench_pool --example bench_process)
(cd "$root" && cargo build --release -q --features tokio --example bench_async)
(cd "$here" && cargo build --release -q)
ex="$(target_dir "$root/Cargo.toml")/release/examples"
peers="$(target_dir "$here/Cargo.toml")/release"

pygevent=0
if python3 -c 'import gevent' 2>/dev/null; then
    pygevent=1
else
    echo "python gevent not importable: its column is skipped (pip install gevent to add it)" >&2
fi

go=0
if command -v go >/dev/null 2>&1; then
    # Standard library only: GOPATH mode, no module proxy, no toolchain download.
    (cd "$here/go" && GO111MODULE=off GOPROXY=off GOTOOLCHAIN=local GOFLAGS= go build -o "$here/target/bench_go" bench.go)
    go=1
else
    echo "go not found: its column is skipped (apt-get install golang-go to add it)" >&2
fi

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs" >&2
for r in $(seq 1 "$runs"); do
    cut -d' ' -f1 /proc/loadavg >>"$out/load.txt"
    echo "round $r/$runs: gevent ..." >&2
    {
        if has "$greenlet_figs"; then "$ex/bench_greenlet" $figure; fi
        # bench_sync also prints event_handoff_ns (the same Event ping-pong
        # as bench_greenlet's, which the table uses) and yield_switch_ns
        # (switch_ns by another name): left out of the table.
        if has "$sync_figs"; then
            "$ex/bench_sync" $figure | grep -v -e '^event_handoff_ns ' -e '^yield_switch_ns '
        fi
        if has "$pool_figs"; then
            "$ex/bench_pool" | awk -v f="$figure" 'f == "" || $1 == f'
        fi
        if has "$process_figs"; then
            "$ex/bench_process" | awk -v f="$figure" 'f == "" || $1 == f'
        fi
        if has "$async_figs"; then
            "$ex/bench_async" | awk -v f="$figure" 'f == "" || $1 == f'
        fi
    } | tee "$out/gevent.$r.txt" >&2
    echo "round $r/$runs: tokio ..." >&2
    {
        if has "$greenlet_figs $sync_figs $pool_figs"; then "$peers/bench_tokio" $figure; fi
        if has "$async_figs"; then
            "$ex/bench_async" --peer | awk -v f="$figure" 'f == "" || $1 == f'
        fi
    } | tee "$out/tokio.$r.txt" >&2
    echo "round $r/$runs: may ..." >&2
    "$peers/bench_may" $figure | tee "$out/may.$r.txt" >&2
    if [ "$pygevent" = 1 ]; then
        echo "round $r/$runs: python gevent ..." >&2
        python3 "$here/bench_pygevent.py" $figure | tee "$out/pygevent.$r.txt" >&2
    fi
    if [ "$go" = 1 ]; then
        echo "round $r/$runs: go ..." >&2
        "$here/target/bench_go" $figure | tee "$out/go.$r.txt" >&2
    fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$here/table.sh" "$out" | tee "$out/table.txt"
