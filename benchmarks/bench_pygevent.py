#!/usr/bin/env python3
"""The benchmark's figures on Python gevent, for reference (optional peer).

Prints one `name value unit` line per figure, like gevent-rs's examples:

* switch_ns: two greenlets ping-pong with sleep(0); per sleep(0).
* spawn_join_ns: spawn + join one greenlet at a time; per greenlet.
* event_handoff_ns: two greenlets ping-pong through two Events; per hand-off.
* timeout_enter_exit_ns: Timeout(10).start() + cancel() without firing.
* rss_per_parked_greenlet_bytes: RSS growth per greenlet parked on an Event, 100k.
* queue_put_get_ns: ping-pong through two Queue(maxsize=1); per put or get.
* channel_handoff_ns: producer to consumer through a Channel; per item.
* semaphore_acquire_release_ns: uncontended Semaphore acquire + release.
* pool_map_per_item_ns: Pool(100).map over trivial items; per item.
* threadpool_roundtrip_us: the hub's threadpool.apply of a trivial function.

max_live_greenlets is not measured (a million Python greenlets take minutes).
Iteration counts are smaller than the Rust programs' (Python is slower), the
per-operation figures are comparable. Usage: bench_pygevent.py [figure]
"""

import os
import sys
import time

import gevent
import gevent.pool
import gevent.queue
from gevent.event import Event
from gevent.lock import Semaphore


def best_of(runs, f, n):
    f(max(n // 10, 1))  # warm up
    return min(f(n) for _ in range(runs))


def switch(n):
    def ping():
        for _ in range(n):
            gevent.sleep(0)

    t = time.perf_counter()
    gevent.joinall([gevent.spawn(ping), gevent.spawn(ping)])
    return (time.perf_counter() - t) * 1e9 / (2 * n)


def spawn_join(n):
    t = time.perf_counter()
    for i in range(n):
        g = gevent.spawn(lambda i=i: i)
        g.join()
    return (time.perf_counter() - t) * 1e9 / n


def event_handoff(n):
    ping, pong = Event(), Event()

    def echo():
        for _ in range(n):
            ping.wait()
            ping.clear()
            pong.set()

    g = gevent.spawn(echo)
    t = time.perf_counter()
    for _ in range(n):
        ping.set()
        pong.wait()
        pong.clear()
    ns = (time.perf_counter() - t) * 1e9 / (2 * n)
    g.join()
    return ns


def timeout_enter_exit(n):
    t = time.perf_counter()
    for _ in range(n):
        to = gevent.Timeout(10)
        to.start()
        to.cancel()
    return (time.perf_counter() - t) * 1e9 / n


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_per_parked(n):
    gate = Event()
    before = rss_bytes()
    gs = [gevent.spawn(gate.wait) for _ in range(n)]
    gevent.sleep(0)
    after = rss_bytes()
    gate.set()
    gevent.joinall(gs)
    return (after - before) / n


def queue_put_get(n):
    ping, pong = gevent.queue.Queue(1), gevent.queue.Queue(1)

    def echo():
        for _ in range(n):
            pong.put(ping.get())

    t = time.perf_counter()
    g = gevent.spawn(echo)
    for i in range(n):
        ping.put(i)
        pong.get()
    g.join()
    return (time.perf_counter() - t) * 1e9 / (4 * n)


def channel_handoff(n):
    ch = gevent.queue.Channel()

    def producer():
        for i in range(n):
            ch.put(i)

    t = time.perf_counter()
    g = gevent.spawn(producer)
    for _ in range(n):
        ch.get()
    g.join()
    return (time.perf_counter() - t) * 1e9 / n


def semaphore_acquire_release(n):
    sem = Semaphore(1)
    t = time.perf_counter()
    for _ in range(n):
        sem.acquire()
        sem.release()
    return (time.perf_counter() - t) * 1e9 / n


def pool_map(n):
    pool = gevent.pool.Pool(100)
    t = time.perf_counter()
    out = pool.map(lambda i: i + 1, range(n))
    ns = (time.perf_counter() - t) * 1e9 / n
    assert len(out) == n and out[7] == 8
    return ns


def threadpool_roundtrip(n):
    tp = gevent.get_hub().threadpool
    t = time.perf_counter()
    for i in range(n):
        assert tp.apply(lambda i=i: i + 1) == i + 1
    return (time.perf_counter() - t) * 1e6 / n


FIGURES = [
    ("switch_ns", "ns", lambda: best_of(3, switch, 100_000)),
    ("spawn_join_ns", "ns", lambda: best_of(3, spawn_join, 20_000)),
    ("event_handoff_ns", "ns", lambda: best_of(3, event_handoff, 100_000)),
    ("timeout_enter_exit_ns", "ns", lambda: best_of(3, timeout_enter_exit, 200_000)),
    ("rss_per_parked_greenlet_bytes", "bytes", lambda: rss_per_parked(100_000)),
    ("queue_put_get_ns", "ns", lambda: best_of(3, queue_put_get, 50_000)),
    ("channel_handoff_ns", "ns", lambda: best_of(3, channel_handoff, 50_000)),
    ("semaphore_acquire_release_ns", "ns", lambda: best_of(3, semaphore_acquire_release, 500_000)),
    ("pool_map_per_item_ns", "ns", lambda: best_of(3, pool_map, 20_000)),
    ("threadpool_roundtrip_us", "us", lambda: best_of(3, threadpool_roundtrip, 5_000)),
]


def main():
    only = sys.argv[1] if len(sys.argv) > 1 else None
    for name, unit, f in FIGURES:
        if only is not None and only != name:
            continue
        v = f()
        fmt = {"ns": "%.1f", "us": "%.2f"}.get(unit, "%.0f")
        print(("%s " + fmt + " %s") % (name, v, unit), flush=True)


if __name__ == "__main__":
    main()
