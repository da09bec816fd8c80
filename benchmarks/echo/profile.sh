#!/usr/bin/env bash
# Stable per-round-trip counts for the echo servers, for work on the hot
# path: wall-clock CPU on a shared 2-core machine drifts by 30 %, these do
# not. For each server, with CONNS connections of 64-byte round trips from
# fixed_client (server pinned to core 0, client to core 1):
#
#  * user-space instructions per round trip, and callgrind's simulated L1
#    data-cache read and write misses per round trip (valgrind; the
#    difference between a run of N1 and one of N2 round trips, divided by
#    N2 - N1, so start-up and accepts cancel out);
#  * syscalls per round trip by name (strace -c -f, the same difference).
#
# The kernel's own work (about 90 % of every server's CPU here) is not in
# these counts; benchmarks/echo/run.sh measures the whole.
#
# Server `monkey` is the plain std::net echo after gevent::monkey::patch_all()
# (std_echo_monkey, built with the `monkey` feature in a second invocation);
# SERVERS="gevent monkey" compares it with gevent::net.
#
# usage: benchmarks/echo/profile.sh   (env: SERVERS="floor gevent tokio" CONNS=50 N1=3000 N2=13000)
set -euo pipefail
# Where cargo puts a workspace's build output: target/ unless
# CARGO_TARGET_DIR (or build.target-dir) says otherwise.
target_dir() { # manifest path
    cargo metadata --format-version 1 --no-deps --manifest-path "$1" |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
}
cd "$(dirname "$0")"
SERVERS=${SERVERS:-floor gevent tokio}
CONNS=${CONNS:-50}
N1=${N1:-3000}
N2=${N2:-13000}
PORT=${PORT:-16300}

for tool in valgrind strace taskset; do
    if ! command -v "$tool" >/dev/null; then
        pkg=$tool
        [ "$tool" = taskset ] && pkg=util-linux
        echo "$tool missing: installing $pkg" >&2
        apt-get update -qq && apt-get install -y -qq "$pkg" >/dev/null
    fi
done

echo "building (release)..." >&2
cargo build --release --quiet
case " $SERVERS " in
    *" monkey "*) cargo build --release --quiet --features monkey --bin std_echo_monkey ;;
esac
BIN="$(target_dir Cargo.toml)/release"
gcc -O2 -D_GNU_SOURCE -o "$BIN/floor_echo" floor_echo.c
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

server_cmd() { # name port
    case "$1" in
        floor) echo "$BIN/floor_echo $2" ;;
        monkey) echo "$BIN/std_echo_monkey 127.0.0.1:$2" ;;
        *) echo "$BIN/${1}_echo 127.0.0.1:$2" ;;
    esac
}

# run NAME MODE TOTAL -> output file of the tool
run() {
    local name=$1 mode=$2 total=$3 out="$work/$1.$2.$3"
    PORT=$((PORT + 1))
    local fifo="$work/fifo"
    rm -f "$fifo"
    mkfifo "$fifo"
    # shellcheck disable=SC2046
    case $mode in
        callgrind) taskset -c 0 valgrind --tool=callgrind --cache-sim=yes \
            --callgrind-out-file="$out" $(server_cmd "$name" $PORT) >"$fifo" 2>"$out.log" & ;;
        strace) taskset -c 0 strace -c -f -o "$out" $(server_cmd "$name" $PORT) >"$fifo" 2>/dev/null & ;;
    esac
    local pid=$!
    read -r -t 60 _ <"$fifo"
    taskset -c 1 "$BIN/fixed_client" "127.0.0.1:$PORT" "$CONNS" "$total" 2>/dev/null
    sleep 0.3
    if [ "$mode" = callgrind ]; then
        # Dump the counts now (a process killed by a signal may not write
        # them), then stop the server.
        callgrind_control -d "$pid" >/dev/null 2>&1
        sleep 0.5
        kill "$pid"
    else
        # Stop the traced server, not strace, which then writes its table.
        for c in $(pgrep -P "$pid"); do kill "$c"; done
    fi
    wait "$pid" 2>/dev/null || true
    echo "$out"
}

printf '%-8s %14s %10s %10s   %s\n' server "instr/rt" "L1 rd/rt" "L1 wr/rt" "syscalls/rt"
for s in $SERVERS; do
    a=$(run "$s" callgrind "$N1")
    b=$(run "$s" callgrind "$N2")
    sta=$(run "$s" strace "$N1")
    stb=$(run "$s" strace "$N2")
    python3 - "$a" "$b" "$sta" "$stb" "$N1" "$N2" "$s" <<'PY'
import glob, sys
a, b, sta, stb = sys.argv[1:5]
n1, n2, name = int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
def summary(prefix):
    # events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw, summed over the dump files
    tot = None
    for f in glob.glob(prefix + "*"):
        if f.endswith(".log"):
            continue
        for line in open(f):
            if line.startswith("summary:"):
                v = [int(x) for x in line.split()[1:]]
                tot = v if tot is None else [x + y for x, y in zip(tot, v)]
    return tot
sa, sb = summary(a), summary(b)
d = [(y - x) / (n2 - n1) for x, y in zip(sa, sb)]
def calls(path):
    c = {}
    for line in open(path):
        f = line.split()
        # % time, seconds, usecs/call, calls, [errors,] syscall
        if len(f) in (5, 6) and f[-1].isidentifier() and f[3].isdigit() and f[-1] != "total":
            c[f[-1]] = int(f[3])
    return c
ca, cb = calls(sta), calls(stb)
per = {n: (cb.get(n, 0) - ca.get(n, 0)) / (n2 - n1) for n in set(ca) | set(cb)}
hot = sorted(((r, n) for n, r in per.items() if r >= 0.005), reverse=True)
sc = ", ".join(f"{n} {r:.2f}" for r, n in hot)
print(f"{name:<8} {d[0]:14.0f} {d[4]:10.1f} {d[5]:10.1f}   {sc}")
PY
done
echo
echo "$CONNS connections; instructions and simulated L1 misses from callgrind (user space only),"
echo "syscalls from strace -c; all per round trip, from the difference of $N1 and $N2 round trips."
