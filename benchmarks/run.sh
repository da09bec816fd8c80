#!/usr/bin/env bash
# Runs gevent's greenlet benchmark and the same figures on tokio
# (current_thread) and may (one worker), then prints them side by side with
# the ratios ours / peer (below 1 is better for us on times and bytes,
# above 1 on max_live_greenlets).
#
#   benchmarks/run.sh            # every figure
#   benchmarks/run.sh switch_ns  # one figure
#
# Needs only crates.io (for tokio and may); builds into benchmarks/target
# and the repository's own target/. Takes about a minute or two.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
figure="${1:-}"
out="$here/target/results"
mkdir -p "$out"

echo "building (release) ..." >&2
(cd "$root" && cargo build --release --example bench_greenlet -q)
(cd "$here" && cargo build --release -q)

echo "running gevent ..." >&2
(cd "$root" && ./target/release/examples/bench_greenlet $figure) | tee "$out/gevent.txt" >&2
echo "running tokio ..." >&2
"$here/target/release/bench_tokio" $figure | tee "$out/tokio.txt" >&2
echo "running may ..." >&2
"$here/target/release/bench_may" $figure | tee "$out/may.txt" >&2

awk '
    FNR == 1 { src++ }
    { val[src, $1] = $2; unit[$1] = $3; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
    function cell(v) { return v == "" ? "-" : v }
    function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
    END {
        printf "%-30s %12s %12s %12s %10s %14s %10s\n", "figure", "gevent", "tokio", "may", "unit", "gevent/tokio", "gevent/may"
        for (i = 1; i <= n; i++) {
            f = order[i]
            printf "%-30s %12s %12s %12s %10s %14s %10s\n", f, cell(val[1, f]), cell(val[2, f]), cell(val[3, f]), unit[f], ratio(val[1, f], val[2, f]), ratio(val[1, f], val[3, f])
        }
    }
' "$out/gevent.txt" "$out/tokio.txt" "$out/may.txt"
