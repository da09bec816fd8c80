/* libev-sys's guard for libev 4.33's io_uring backend. Not part of libev.
 *
 * The defect (ev_iouring.c, unchanged here): libev fills only the fields of
 * a submission queue entry (SQE) that its two opcodes use and assumes the
 * rest of the slot is still zero, as it was when the ring was mapped. Slots
 * are reused when the 32-entry ring wraps, so a POLL_REMOVE written into a
 * slot that last held a POLL_ADD carries that add's poll_events. Kernels
 * since 5.13 reject such a remove with EINVAL while preparing it, and stop
 * consuming the batch there: io_uring_enter returns fewer submissions than
 * asked. libev then sets its to_submit count to zero anyway (its assert on
 * the count is compiled out by NDEBUG), so the entries after the failed one
 * stay in the ring, never armed, and every later io_uring_enter submits the
 * oldest pending entries instead of the newest: some fd is always left
 * unarmed, including the timerfd that wakes the loop for timers. The loop
 * waits forever (tests/core_io_rearm.rs reproduces it).
 *
 * Signals are not the cause: io_uring_enter submits before it waits, and a
 * wait interrupted after a submission returns the number submitted, not
 * EINTR; EINTR comes back only when nothing was submitted.
 *
 * The guard: ev.c is compiled with -Dsyscall=gevent_ev_syscall
 * -Dmmap=gevent_ev_mmap -Dmunmap=gevent_ev_munmap (build.rs, Linux only),
 * so libev's raw system calls and its ring mappings come here.
 *
 *  - io_uring_setup: the ring's fd and its SQ ring offsets are recorded.
 *  - mmap/munmap of that fd at IORING_OFF_SQ_RING / IORING_OFF_SQES: the
 *    SQ ring's and SQE array's addresses are recorded / forgotten.
 *  - io_uring_enter on a recorded ring: the number to submit is what the
 *    ring really holds (its tail minus the kernel's head); after
 *    the call, every slot the kernel consumed is zeroed, which restores
 *    libev's assumption that the slots it gets are clean; a partial
 *    submission is re-issued for the remainder (each round consumes at
 *    least one entry, so this ends) with the caller's flags, so the wait
 *    libev asked for still happens once all is submitted.
 *  - Every other system call number libev uses is forwarded with its own
 *    argument count and types; an unknown number forwards six arguments.
 *
 * A ring this file could not record (table allocation failed) is used
 * exactly as libev alone would use it. No SQPOLL rings are involved (libev
 * sets up its ring with flags 0), so only io_uring_enter consumes entries,
 * and the SQE array stays usable after io_uring_enter returns (all kernels
 * with io_uring poll support have IORING_FEAT_SUBMIT_STABLE).
 *
 * The table is shared by all threads (one ring per loop, a loop per
 * thread) under a mutex that is never held across a system call, and
 * which pthread_atfork keeps consistent in a forked child.
 */

/* The build renames these in ev.c only; here they are the C library's. */
#undef syscall
#undef mmap
#undef munmap

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* The same fallback numbers as ev.c for C libraries without them. */
#if !defined SYS_io_uring_setup && defined __linux__ && !defined __alpha__
#define SYS_io_uring_setup 425
#define SYS_io_uring_enter 426
#endif

/* Kernel ABI (include/uapi/linux/io_uring.h), spelled out so that old
 * kernel headers do not matter. Only what this file reads. */
#define GEV_IORING_OFF_SQ_RING 0x00000000ULL
#define GEV_IORING_OFF_SQES 0x10000000ULL
#define GEV_SQE_SIZE 64

struct gev_sqring_offsets
{
  uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
  uint64_t resv2;
};

struct gev_cqring_offsets
{
  uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
  uint64_t resv2;
};

struct gev_uring_params
{
  uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle;
  uint32_t features, wq_fd, resv[3];
  struct gev_sqring_offsets sq_off;
  struct gev_cqring_offsets cq_off;
};

/* One io_uring instance set up by libev. */
struct gev_ring
{
  int fd;
  uint32_t off_head, off_tail, off_mask, off_array;
  char *sq_ring;          /* NULL until libev maps it */
  unsigned char *sqes;    /* NULL until libev maps it */
};

static pthread_mutex_t gev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gev_ring *gev_rings;
static size_t gev_nrings, gev_caprings;
static pthread_once_t gev_atfork_once = PTHREAD_ONCE_INIT;

/* Counters for the test suite: partial submissions seen and re-issued,
 * and consumed slots zeroed. Relaxed atomics; diagnostics only. */
static unsigned long gev_partial_submits;
static unsigned long gev_zeroed_slots;

static void gev_prepare (void) { pthread_mutex_lock (&gev_lock); }
static void gev_release (void) { pthread_mutex_unlock (&gev_lock); }
static void gev_register_atfork (void) { pthread_atfork (gev_prepare, gev_release, gev_release); }

/* With gev_lock held. */
static struct gev_ring *
gev_find (int fd)
{
  size_t i;
  for (i = 0; i < gev_nrings; ++i)
    if (gev_rings[i].fd == fd)
      return &gev_rings[i];
  return NULL;
}

/* With gev_lock held. */
static void
gev_remove_at (size_t i)
{
  gev_rings[i] = gev_rings[--gev_nrings];
}

static void
gev_record_setup (int fd, const struct gev_uring_params *p)
{
  struct gev_ring *r;

  pthread_once (&gev_atfork_once, gev_register_atfork);
  pthread_mutex_lock (&gev_lock);
  /* A number reused from a ring closed without its mappings undone. */
  r = gev_find (fd);
  if (!r)
    {
      if (gev_nrings == gev_caprings)
        {
          size_t cap = gev_caprings ? gev_caprings * 2 : 8;
          struct gev_ring *n = realloc (gev_rings, cap * sizeof *n);
          if (!n)
            {
              pthread_mutex_unlock (&gev_lock);
              return; /* unguarded: libev's own behaviour */
            }
          gev_rings = n;
          gev_caprings = cap;
        }
      r = &gev_rings[gev_nrings++];
    }
  r->fd = fd;
  r->off_head = p->sq_off.head;
  r->off_tail = p->sq_off.tail;
  r->off_mask = p->sq_off.ring_mask;
  r->off_array = p->sq_off.array;
  r->sq_ring = NULL;
  r->sqes = NULL;
  pthread_mutex_unlock (&gev_lock);
}

void *
gevent_ev_mmap (void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
  void *res = mmap (addr, len, prot, flags, fd, off);

  if (res != MAP_FAILED && fd >= 0
      && ((uint64_t)off == GEV_IORING_OFF_SQ_RING || (uint64_t)off == GEV_IORING_OFF_SQES))
    {
      struct gev_ring *r;
      pthread_mutex_lock (&gev_lock);
      r = gev_find (fd);
      if (r)
        {
          if ((uint64_t)off == GEV_IORING_OFF_SQ_RING)
            r->sq_ring = res;
          else
            r->sqes = res;
        }
      pthread_mutex_unlock (&gev_lock);
    }

  return res;
}

int
gevent_ev_munmap (void *addr, size_t len)
{
  size_t i;

  /* Forget the mapping before it goes away. */
  pthread_mutex_lock (&gev_lock);
  for (i = 0; i < gev_nrings; )
    {
      struct gev_ring *r = &gev_rings[i];
      int matched = 0;
      if (r->sq_ring && r->sq_ring == (char *)addr)
        r->sq_ring = NULL, matched = 1;
      if (r->sqes && r->sqes == (unsigned char *)addr)
        r->sqes = NULL, matched = 1;
      /* Both mappings gone: libev is tearing the ring down. */
      if (matched && !r->sq_ring && !r->sqes)
        {
          gev_remove_at (i);
          continue;
        }
      ++i;
    }
  pthread_mutex_unlock (&gev_lock);

  return munmap (addr, len);
}

static uint32_t
gev_load_acquire (const char *p)
{
  return __atomic_load_n ((const uint32_t *)p, __ATOMIC_ACQUIRE);
}

static long
gev_raw_enter (int fd, unsigned to_submit, unsigned min_complete, unsigned flags,
               const void *sig, size_t sigsz)
{
  return syscall (SYS_io_uring_enter, fd, to_submit, min_complete, flags, sig, sigsz);
}

static long
gev_uring_enter (int fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                 const void *sig, size_t sigsz)
{
  struct gev_ring ring;
  struct gev_ring *r;
  uint32_t head, tail, mask;
  long res, total = 0;

  pthread_mutex_lock (&gev_lock);
  r = gev_find (fd);
  if (r && r->sq_ring && r->sqes)
    ring = *r;
  else
    r = NULL;
  pthread_mutex_unlock (&gev_lock);

  /* Not a ring we know in full: exactly what libev alone does. The
   * mappings stay valid meanwhile: only the loop's own thread, which is
   * this one, unmaps them. */
  if (!r)
    return gev_raw_enter (fd, to_submit, min_complete, flags, sig, sigsz);

  mask = *(const uint32_t *)(ring.sq_ring + ring.off_mask);
  /* libev is the only producer, on this thread: a plain read of the tail. */
  tail = *(const uint32_t *)(ring.sq_ring + ring.off_tail);
  head = gev_load_acquire (ring.sq_ring + ring.off_head);

  for (;;)
    {
      /* What the ring holds: libev's count plus whatever an earlier call
       * left behind. Exactly that: asking for more than the ring holds
       * makes the kernel skip the wait (it sees a short submission). */
      uint32_t pending = tail - head, new_head, i;

      res = gev_raw_enter (fd, pending, min_complete, flags, sig, sigsz);

      new_head = gev_load_acquire (ring.sq_ring + ring.off_head);
      for (i = head; i != new_head; ++i)
        {
          uint32_t idx = ((const uint32_t *)(ring.sq_ring + ring.off_array))[i & mask];
          memset (ring.sqes + (size_t)(idx & mask) * GEV_SQE_SIZE, 0, GEV_SQE_SIZE);
        }
      __atomic_fetch_add (&gev_zeroed_slots, (unsigned long)(new_head - head), __ATOMIC_RELAXED);

      if (res < 0)
        return total ? total : res;

      total += res;
      /* All consumed, or no progress (nothing more to try). */
      if (new_head == tail || new_head == head)
        return total;

      /* A partial submission: the kernel stopped at an entry it rejected
       * (that entry's completion carries the error). Submit the rest. */
      __atomic_fetch_add (&gev_partial_submits, 1, __ATOMIC_RELAXED);
      head = new_head;
    }
}

static long
gev_uring_setup (unsigned entries, void *params)
{
  long fd = syscall (SYS_io_uring_setup, entries, params);
  if (fd >= 0 && params)
    gev_record_setup ((int)fd, (const struct gev_uring_params *)params);
  return fd;
}

long
gevent_ev_syscall (long nr, ...)
{
  va_list ap;
  long res;

  va_start (ap, nr);
  switch (nr)
    {
#ifdef SYS_io_uring_setup
      case SYS_io_uring_setup:
        {
          unsigned entries = va_arg (ap, unsigned);
          void *params = va_arg (ap, void *);
          res = gev_uring_setup (entries, params);
          break;
        }
      case SYS_io_uring_enter:
        {
          int fd = va_arg (ap, int);
          unsigned to_submit = va_arg (ap, unsigned);
          unsigned min_complete = va_arg (ap, unsigned);
          unsigned flags = va_arg (ap, unsigned);
          const void *sig = va_arg (ap, const void *);
          size_t sigsz = va_arg (ap, size_t);
          res = gev_uring_enter (fd, to_submit, min_complete, flags, sig, sigsz);
          break;
        }
#endif
#ifdef SYS_io_setup
      case SYS_io_setup: /* (unsigned nr_events, aio_context_t *ctx) */
        {
          unsigned n = va_arg (ap, unsigned);
          void *ctx = va_arg (ap, void *);
          res = syscall (nr, n, ctx);
          break;
        }
      case SYS_io_destroy: /* (aio_context_t ctx) */
        {
          unsigned long ctx = va_arg (ap, unsigned long);
          res = syscall (nr, ctx);
          break;
        }
      case SYS_io_submit: /* (aio_context_t, long nr, struct iocb **) */
        {
          unsigned long ctx = va_arg (ap, unsigned long);
          long n = va_arg (ap, long);
          void *cbs = va_arg (ap, void *);
          res = syscall (nr, ctx, n, cbs);
          break;
        }
      case SYS_io_cancel: /* (aio_context_t, struct iocb *, struct io_event *) */
        {
          unsigned long ctx = va_arg (ap, unsigned long);
          void *cb = va_arg (ap, void *);
          void *ev = va_arg (ap, void *);
          res = syscall (nr, ctx, cb, ev);
          break;
        }
      case SYS_io_getevents: /* (aio_context_t, long, long, struct io_event *, struct timespec *) */
        {
          unsigned long ctx = va_arg (ap, unsigned long);
          long min_nr = va_arg (ap, long);
          long n = va_arg (ap, long);
          void *evs = va_arg (ap, void *);
          void *ts = va_arg (ap, void *);
          res = syscall (nr, ctx, min_nr, n, evs, ts);
          break;
        }
#endif
#ifdef SYS_clock_gettime
      case SYS_clock_gettime: /* (clockid_t, struct timespec *); EV_USE_CLOCK_SYSCALL */
        {
          int id = va_arg (ap, int);
          void *ts = va_arg (ap, void *);
          res = syscall (nr, id, ts);
          break;
        }
#endif
      default:
        {
          long a1 = va_arg (ap, long), a2 = va_arg (ap, long), a3 = va_arg (ap, long);
          long a4 = va_arg (ap, long), a5 = va_arg (ap, long), a6 = va_arg (ap, long);
          res = syscall (nr, a1, a2, a3, a4, a5, a6);
          break;
        }
    }
  va_end (ap);

  return res;
}

/* For the test suite (libev_sys::guard_stats): partial submissions re-issued,
 * consumed slots zeroed, rings recorded now. */
void
gevent_ev_uring_guard_stats (unsigned long *partial, unsigned long *zeroed, unsigned long *rings)
{
  *partial = __atomic_load_n (&gev_partial_submits, __ATOMIC_RELAXED);
  *zeroed = __atomic_load_n (&gev_zeroed_slots, __ATOMIC_RELAXED);
  pthread_mutex_lock (&gev_lock);
  *rings = gev_nrings;
  pthread_mutex_unlock (&gev_lock);
}
