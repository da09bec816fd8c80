#!/usr/bin/env bash
# Echo benchmark: this crate's echo server (a plain accept loop, the same
# on StreamServer, and StreamServer with workers(2)) against tokio (current_thread),
# may (one worker), Python gevent (if pip can install it) and the floor, a
# minimal single-threaded C epoll server, all in the same run.
#
# Each server is pinned to core 0 and the load generator to core 1; the
# client runs CONNS connections of 64-byte round trips for DURATION seconds
# (after WARMUP), and samples the server's utime+stime from /proc/PID/stat
# at both ends. Reported per server: round trips/s, server CPU per round
# trip, and its ratio to the floor's CPU per round trip from the same
# round (absolute figures drift on shared machines; ratios are the result).
# ROUNDS rounds run the servers interleaved; the table shows medians.
#
# usage: benchmarks/echo/run.sh   (env: DURATION=5 WARMUP=1 CONNS=50 ROUNDS=3 SERVERS=...)
set -euo pipefail
# Where cargo puts a workspace's build output: target/ unless
# CARGO_TARGET_DIR (or build.target-dir) says otherwise.
target_dir() { # manifest path
    cargo metadata --format-version 1 --no-deps --manifest-path "$1" |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
}
cd "$(dirname "$0")"
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-50}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-16100}

if ! command -v taskset >/dev/null; then
    echo "taskset missing: installing util-linux" >&2
    apt-get update -qq && apt-get install -y -qq util-linux >/dev/null
fi
if [ "$(nproc)" -lt 2 ]; then
    echo "need at least 2 cores (server on core 0, client on core 1)" >&2
    exit 1
fi

echo "building (release)..." >&2
cargo build --release --quiet
BIN="$(target_dir Cargo.toml)/release"
gcc -O2 -o "$BIN/floor_echo" floor_echo.c

servers=(floor gevent gevent-server gevent-workers2 tokio may)
PY=""
if python3 -c 'import gevent' 2>/dev/null; then
    PY=python3
elif python3 -m pip install --quiet gevent >/dev/null 2>&1 && python3 -c 'import gevent' 2>/dev/null; then
    PY=python3
else
    echo "python gevent not installable here: skipping it" >&2
fi
[ -n "$PY" ] && servers+=(python-gevent)
# SERVERS="floor gevent" limits the run to some servers (the floor is always included).
if [ -n "${SERVERS:-}" ]; then
    read -r -a servers <<<"floor ${SERVERS//floor/}"
fi

start_server() { # name port -> pid
    case "$1" in
        floor) exec taskset -c 0 "$BIN/floor_echo" "$2" ;;
        gevent) exec taskset -c 0 "$BIN/gevent_echo" "127.0.0.1:$2" ;;
        gevent-server) exec taskset -c 0 "$BIN/gevent_server_echo" "127.0.0.1:$2" ;;
        # Two hubs on two threads (SO_REUSEPORT); on a 2-core machine the
        # second core is shared with the client, so this row shows the
        # cost of the workers machinery more than a scaling figure.
        gevent-workers2) exec taskset -c 0,1 "$BIN/gevent_server_echo" "127.0.0.1:$2" 2 ;;
        tokio) exec taskset -c 0 "$BIN/tokio_echo" "127.0.0.1:$2" ;;
        may) exec taskset -c 0 "$BIN/may_echo" "127.0.0.1:$2" ;;
        python-gevent) exec taskset -c 0 "$PY" echo_gevent.py "$2" ;;
    esac
}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq 1 "$ROUNDS"); do
    for s in "${servers[@]}"; do
        PORT=$((PORT + 1))
        fifo=$(mktemp -u)
        mkfifo "$fifo"
        start_server "$s" "$PORT" >"$fifo" &
        pid=$!
        read -r -t 30 ready <"$fifo" || { echo "$s did not start" >&2; kill "$pid"; exit 1; }
        rm -f "$fifo"
        line=$(taskset -c 1 "$BIN/client" "127.0.0.1:$PORT" "$pid" "$CONNS" "$DURATION" "$WARMUP")
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        echo "round $round $s: $line" >&2
        echo "$round $s $line" >>"$results"
    done
done

python3 - "$results" "$CONNS" "$DURATION" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    rnd, name, rest = line.split(maxsplit=2)
    kv = dict(re.findall(r"(\w+)=([\d.]+)", rest))
    rt, secs, ticks, hz = int(kv["rt"]), float(kv["secs"]), int(kv["cpu_ticks"]), int(kv["hz"])
    sched = int(kv["sched_ns"])
    rows.setdefault(rnd, {})[name] = (rt / secs, ticks / hz / rt * 1e6, sched / 1e3 / rt)
names = list(next(iter(rows.values())).keys())
print(f"\n{'server':<15}{'round trips/s':>15}{'server CPU/rt':>16}{'CPU vs floor':>14}"
      f"{'sched CPU/rt':>15}{'sched vs floor':>16}")
med = statistics.median
for n in names:
    rps = med(r[n][0] for r in rows.values())
    cpu = med(r[n][1] for r in rows.values())
    ratio = med(r[n][1] / r["floor"][1] for r in rows.values())
    scpu = med(r[n][2] for r in rows.values())
    sratio = med(r[n][2] / r["floor"][2] for r in rows.values())
    print(f"{n:<15}{rps:>15,.0f}{cpu:>13.2f} us{ratio:>13.2f}x{scpu:>12.2f} us{sratio:>15.2f}x")
print(f"\n{len(rows)} round(s), {sys.argv[2]} connections x 64-byte round trips, {sys.argv[3]} s each;"
      " medians over rounds; ratio = server CPU per round trip / the floor's in the same round."
      "\nserver CPU = utime+stime (/proc/PID/stat, 1/HZ ticks); sched CPU = on-CPU ns (/proc/PID/task/*/schedstat).")
PY
