/* Reports libev's struct sizes and field offsets as the C compiler sees them,
 * so the Rust test suite can compare them with core-sys's bindings. Compiled
 * with the same defines as ev.c (see core-sys/defines.rs). Not part of libev. */
#include <stddef.h>
#include "ev.h"

#define LAYOUT_TYPE(t) \
  size_t gevent_layout_sizeof_##t (void) { return sizeof (struct t); } \
  size_t gevent_layout_alignof_##t (void) { return _Alignof (struct t); }
#define LAYOUT_FIELD(t, f) \
  size_t gevent_layout_offsetof_##t##_##f (void) { return offsetof (struct t, f); }

LAYOUT_TYPE (ev_watcher)
LAYOUT_TYPE (ev_watcher_list)
LAYOUT_TYPE (ev_watcher_time)
LAYOUT_TYPE (ev_io)
LAYOUT_TYPE (ev_timer)
LAYOUT_TYPE (ev_periodic)
LAYOUT_TYPE (ev_signal)
LAYOUT_TYPE (ev_child)
LAYOUT_TYPE (ev_stat)
LAYOUT_TYPE (ev_idle)
LAYOUT_TYPE (ev_prepare)
LAYOUT_TYPE (ev_check)
LAYOUT_TYPE (ev_fork)
LAYOUT_TYPE (ev_cleanup)
LAYOUT_TYPE (ev_embed)
LAYOUT_TYPE (ev_async)

LAYOUT_FIELD (ev_watcher, active)
LAYOUT_FIELD (ev_watcher, pending)
LAYOUT_FIELD (ev_watcher, priority)
LAYOUT_FIELD (ev_watcher, data)
LAYOUT_FIELD (ev_watcher, cb)
LAYOUT_FIELD (ev_io, next)
LAYOUT_FIELD (ev_io, fd)
LAYOUT_FIELD (ev_io, events)
LAYOUT_FIELD (ev_timer, at)
LAYOUT_FIELD (ev_timer, repeat)
LAYOUT_FIELD (ev_periodic, offset)
LAYOUT_FIELD (ev_periodic, interval)
LAYOUT_FIELD (ev_periodic, reschedule_cb)
LAYOUT_FIELD (ev_signal, signum)
LAYOUT_FIELD (ev_child, flags)
LAYOUT_FIELD (ev_child, pid)
LAYOUT_FIELD (ev_child, rpid)
LAYOUT_FIELD (ev_child, rstatus)
LAYOUT_FIELD (ev_stat, timer)
LAYOUT_FIELD (ev_stat, interval)
LAYOUT_FIELD (ev_stat, path)
LAYOUT_FIELD (ev_stat, prev)
LAYOUT_FIELD (ev_stat, attr)
LAYOUT_FIELD (ev_stat, wd)
LAYOUT_FIELD (ev_embed, other)
LAYOUT_FIELD (ev_embed, io)
LAYOUT_FIELD (ev_embed, prepare)
LAYOUT_FIELD (ev_embed, check)
LAYOUT_FIELD (ev_embed, timer)
LAYOUT_FIELD (ev_embed, periodic)
LAYOUT_FIELD (ev_embed, idle)
LAYOUT_FIELD (ev_embed, fork)
LAYOUT_FIELD (ev_embed, cleanup)
LAYOUT_FIELD (ev_async, sent)

/* The compiled-in configuration, for tests and diagnostics. */
int gevent_layout_ev_minpri (void) { return EV_MINPRI; }
int gevent_layout_ev_maxpri (void) { return EV_MAXPRI; }
