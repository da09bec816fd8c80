#!/usr/bin/env bash
# Prints the side-by-side table from a results folder written by run.sh:
# files SOURCE.ROUND.txt (SOURCE one of gevent tokio may pygevent go) of
# `name value unit` lines, and load.txt (one load average per round).
# Each cell is the median over the rounds; "gevent min..max" shows the
# spread of our figure over the rounds; ratios are ours / peer of the medians.
#
#   benchmarks/table.sh benchmarks/target/results
#
# Rounds of several run.sh invocations can be pooled by copying their files
# into one folder under distinct round numbers.
set -euo pipefail

dir="${1:?usage: table.sh RESULTS_DIR}"
sources=""
for s in gevent tokio may pygevent go; do
    if ls "$dir/$s".*.txt >/dev/null 2>&1; then sources="$sources $s"; fi
done
rounds=$(ls "$dir"/gevent.*.txt | wc -l)
loads=""
if [ -s "$dir/load.txt" ]; then
    loads=", 1-min load during the rounds $(sort -n "$dir/load.txt" | head -1)..$(sort -n "$dir/load.txt" | tail -1)"
fi
echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, median of $rounds round(s)$loads"
# shellcheck disable=SC2046
awk -v sources="$sources" '
    BEGIN { ns = split(sources, src, " ") }
    {
        s = FILENAME; sub(/.*\//, "", s); sub(/\..*/, "", s)
        k = s SUBSEP $1
        vals[k] = (k in vals) ? vals[k] " " $2 : $2
        unit[$1] = $3
        if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
    }
    # Sorts the values of key k into a[1..m]; returns m (0 when none).
    function sorted(k, a,    m, i, j, t) {
        if (!(k in vals)) return 0
        m = split(vals[k], a, " ")
        for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return m
    }
    function median(k,    a, m) {
        m = sorted(k, a)
        if (m == 0) return ""
        return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    function range(k,    a, m) {
        m = sorted(k, a)
        return m == 0 ? "-" : a[1] ".." a[m]
    }
    function cell(v) { return v == "" ? "-" : v }
    function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b) }
    END {
        printf "%-30s", "figure"
        for (i = 1; i <= ns; i++) printf " %11s", src[i]
        printf " %9s %17s", "unit", "gevent min..max"
        for (i = 2; i <= ns; i++) printf " %15s", "gevent/" src[i]
        printf "\n"
        for (r = 1; r <= n; r++) {
            f = order[r]
            for (i = 1; i <= ns; i++) med[i] = median(src[i] SUBSEP f)
            printf "%-30s", f
            for (i = 1; i <= ns; i++) printf " %11s", cell(med[i])
            printf " %9s %17s", unit[f], range(src[1] SUBSEP f)
            for (i = 2; i <= ns; i++) printf " %15s", ratio(med[1], med[i])
            printf "\n"
        }
    }
' $(for s in $sources; do ls "$dir/$s".*.txt; done)
