#!/usr/bin/env bash
# HTTP benchmark: the hello-world server of gevent::http against tokio +
# hyper (current_thread), may_minihttp (one worker), Go net/http
# (GOMAXPROCS=1), Python gevent's pywsgi and the floor, a minimal C epoll
# server, all answering the same 13-byte body, in the same run.
#
# Each server is pinned to core 0 and `wrk -t1 -c$CONNS` to core 1 for
# DURATION seconds (after a WARMUP run). The server's utime+stime is
# sampled from /proc/PID/stat around the measured run. Reported per
# server: requests/s, server CPU per request, and its ratio to the
# floor's CPU per request in the same round (absolute figures drift on a
# shared machine; ratios are the result). ROUNDS rounds run the servers
# interleaved; the table shows medians.
#
# Then IDLE keep-alive connections (default 10,000) are opened to each
# server, one request each, and held: RSS growth per connection.
#
# Missing tools are installed: wrk and Go with apt-get, gevent with pip
# (a server whose toolchain cannot be installed is skipped, and said so).
#
# usage: benchmarks/http/run.sh  (env: DURATION=5 WARMUP=1 CONNS=50 ROUNDS=3 IDLE=10000 SERVERS="gevent tokio ...")
set -euo pipefail
cd "$(dirname "$0")"
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-50}
ROUNDS=${ROUNDS:-3}
IDLE=${IDLE:-10000}
PORT=${PORT:-17100}

apt_install() { # package...
    { apt-get update -qq && apt-get install -y -qq "$@"; } >/dev/null 2>&1
}
command -v taskset >/dev/null || apt_install util-linux
command -v wrk >/dev/null || apt_install wrk || true
command -v wrk >/dev/null || { echo "wrk is missing and cannot be installed" >&2; exit 1; }
if [ "$(nproc)" -lt 2 ]; then
    echo "need at least 2 cores (server on core 0, wrk on core 1)" >&2
    exit 1
fi

echo "building (release)..." >&2
cargo build --release --quiet
BIN=target/release
gcc -O2 -o "$BIN/floor_http" floor_http.c

servers=(floor gevent tokio-hyper may_minihttp)
if ! command -v go >/dev/null; then
    apt_install golang-go || true
fi
if command -v go >/dev/null && (cd "$BIN" && GOCACHE=${GOCACHE:-/tmp/go-cache} go build -o go_http ../../hello.go) 2>/dev/null; then
    servers+=(go)
else
    echo "Go not installable here: skipping it" >&2
fi
PY=""
if python3 -c 'import gevent' 2>/dev/null ||
    { python3 -m pip install --quiet gevent >/dev/null 2>&1 && python3 -c 'import gevent' 2>/dev/null; }; then
    PY=python3
    servers+=(pywsgi)
else
    echo "python gevent not installable here: skipping pywsgi" >&2
fi
# SERVERS="gevent tokio-hyper" limits the run (the floor is always included).
if [ -n "${SERVERS:-}" ]; then
    read -r -a servers <<<"floor ${SERVERS//floor/}"
fi

start_server() { # name port (runs in the background, pinned to core 0)
    case "$1" in
        floor) exec taskset -c 0 "$BIN/floor_http" "$2" ;;
        gevent) exec taskset -c 0 "$BIN/gevent_http" "127.0.0.1:$2" ;;
        tokio-hyper) exec taskset -c 0 "$BIN/tokio_hyper" "127.0.0.1:$2" ;;
        may_minihttp) exec taskset -c 0 "$BIN/may_http" "127.0.0.1:$2" ;;
        go) GOMAXPROCS=1 exec taskset -c 0 "$BIN/go_http" "127.0.0.1:$2" ;;
        pywsgi) exec taskset -c 0 "$PY" hello_pywsgi.py "127.0.0.1:$2" ;;
    esac
}

wait_port() { # port
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

cpu_ticks() { # pid -> utime+stime of the process (all threads)
    awk '{print $14 + $15}' "/proc/$1/stat"
}

rss_kb() { # pid
    awk '/VmRSS/ {print $2}' "/proc/$1/status"
}

HZ=$(getconf CLK_TCK)
results=$(mktemp)
idle=$(mktemp)
trap 'rm -f "$results" "$idle"' EXIT
for round in $(seq 1 "$ROUNDS"); do
    for s in "${servers[@]}"; do
        PORT=$((PORT + 1))
        start_server "$s" "$PORT" >/dev/null 2>&1 &
        pid=$!
        wait_port "$PORT" || { echo "$s did not start" >&2; kill "$pid"; exit 1; }
        # the server's own pid (taskset execs; GOMAXPROCS env is inherited)
        url="http://127.0.0.1:$PORT/"
        taskset -c 1 wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$url" >/dev/null
        t0=$(cpu_ticks "$pid")
        out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" "$url")
        t1=$(cpu_ticks "$pid")
        reqs=$(echo "$out" | awk '/requests in/ {print $1}')
        rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        echo "round $round $s: $rps req/s, $reqs requests, $((t1 - t0)) ticks ${errs}" >&2
        echo "$round $s $rps $reqs $((t1 - t0))" >>"$results"
    done
done

if [ "$IDLE" -gt 0 ]; then
    ulimit -n $((IDLE + 1000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    for s in "${servers[@]}"; do
        PORT=$((PORT + 1))
        start_server "$s" "$PORT" >/dev/null 2>&1 &
        pid=$!
        wait_port "$PORT" || { echo "$s did not start" >&2; kill "$pid"; exit 1; }
        # warm the server up (first allocations, thread stacks) before the baseline
        taskset -c 1 wrk -t1 -c10 -d1s "http://127.0.0.1:$PORT/" >/dev/null
        before=$(rss_kb "$pid")
        fifo=$(mktemp -u)
        mkfifo "$fifo"
        taskset -c 1 "$BIN/idle_client" "127.0.0.1:$PORT" "$IDLE" <"$fifo" >"$fifo.out" &
        cpid=$!
        exec 4>"$fifo"
        for _ in $(seq 1 600); do
            grep -q held "$fifo.out" 2>/dev/null && break
            sleep 0.1
        done
        held=$(awk '/held/ {print $2}' "$fifo.out")
        sleep 1
        after=$(rss_kb "$pid")
        exec 4>&-
        wait "$cpid" 2>/dev/null || true
        rm -f "$fifo" "$fifo.out"
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        echo "idle $s: $held connections, RSS $before -> $after KiB" >&2
        echo "$s ${held:-0} $before $after" >>"$idle"
    done
fi

python3 - "$results" "$idle" "$CONNS" "$DURATION" "$HZ" <<'PY'
import statistics, sys
res, idle_f, conns, dur, hz = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
rows = {}
for line in open(res):
    rnd, name, rps, reqs, ticks = line.split()
    reqs = float(reqs)
    rows.setdefault(rnd, {})[name] = (float(rps), int(ticks) / hz / reqs * 1e6 if reqs else float("nan"))
idle = {}
for line in open(idle_f):
    name, held, before, after = line.split()
    held = int(held)
    idle[name] = (int(after) - int(before)) * 1024 / held if held else float("nan")
names = list(next(iter(rows.values())).keys())
med = statistics.median
print(f"\n| server | requests/s | vs floor | server CPU/request | CPU vs floor | RSS per idle keep-alive conn |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for n in names:
    rps = med(r[n][0] for r in rows.values())
    rps_ratio = med(r[n][0] / r["floor"][0] for r in rows.values())
    cpu = med(r[n][1] for r in rows.values())
    ratio = med(r[n][1] / r["floor"][1] for r in rows.values())
    rss = f"{idle[n] / 1024:.1f} KiB" if n in idle else "-"
    print(f"| {n} | {rps:,.0f} | {rps_ratio:.2f}x | {cpu:.2f} us | {ratio:.2f}x | {rss} |")
print(f"\n{len(rows)} round(s) of wrk -t1 -c{conns} for {dur} s per server, interleaved; medians;"
      " CPU = server utime+stime per request (/proc/PID/stat), ratio to the floor's in the same round."
      "\nIdle: RSS growth (VmRSS) per keep-alive connection after one request each.")
PY
