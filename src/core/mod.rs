//! The safe libev layer, the counterpart of `gevent.core` and of Perl's EV.
//!
//! A [`Loop`] plus one type per libev watcher. Watchers take Rust closures
//! as callbacks, stop themselves when dropped, keep their loop alive, and
//! never move while libev holds a pointer to them. Everything libev would
//! `assert` on (and so abort the process) is checked first and returned as
//! an [`std::io::Error`] naming the problem: a negative fd, a bad event
//! mask, a signal number out of range or owned by another loop, a child
//! watcher on a non-default loop, a backend the machine cannot use.
//! Panics in callbacks are caught at the C boundary and resumed from
//! [`Loop::run`].
//!
//! Inside a program that uses greenlets, the hub runs its loop, and watcher
//! callbacks run in the hub; the same types serve for low-level
//! programming there.
//!
//! # Example
//!
//! ```
//! use gevent::core::{Events, Idle, Loop, Timer};
//! use std::{cell::Cell, rc::Rc, time::Duration};
//!
//! let lp = Loop::new()?;
//! println!("backend: {}", lp.backend());
//! let idle_runs = Rc::new(Cell::new(0));
//! let i = idle_runs.clone();
//! // Runs when nothing else is pending; stops itself after the first run.
//! let idle = Idle::new(&lp, move |w, _| { i.set(i.get() + 1); w.stop(); });
//! let fired = Rc::new(Cell::new(false));
//! let f = fired.clone();
//! let timer = Timer::new(&lp, Duration::from_millis(2), Duration::ZERO, move |_, ev| {
//!     assert_eq!(ev, Events::TIMER);
//!     f.set(true);
//! });
//! idle.start()?;
//! timer.start()?;
//! lp.run(); // returns when both are done: no active watcher is left
//! assert_eq!((idle_runs.get(), fired.get()), (1, true));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Counterparts
//!
//! | libev / Perl EV | gevent.core | here |
//! |---|---|---|
//! | `ev_default_loop`, `EV::default_loop` | `get_hub().loop`, `loop(default=True)` | [`Loop::default_loop`] |
//! | `ev_loop_new`, `EV::Loop->new` | `loop()` | [`Loop::new`], [`Loop::with_backend`], [`Loop::with_flags`] |
//! | `ev_run`, `EV::run` | `loop.run()` | [`Loop::run`], [`Loop::run_once`], [`Loop::run_nowait`] |
//! | `ev_break`, `EV::break` | `loop.break_()` | [`Loop::break_loop`] |
//! | `ev_now`, `ev_now_update` | `loop.now()`, `update_now()` | [`Loop::now`], [`Loop::now_update`] |
//! | `ev_time`, `ev_sleep` | — | [`Loop::time`], [`Loop::sleep`] |
//! | `ev_ref`, `ev_unref` | `loop.ref()`, `unref()`, watcher `.ref` | [`Loop::ref_`], [`Loop::unref`], `set_keepalive` on every watcher |
//! | `ev_suspend`, `ev_resume` | — | [`Loop::suspend`], [`Loop::resume`] |
//! | `ev_iteration`, `ev_depth` | `loop.iteration`, `loop.depth` | [`Loop::iteration`], [`Loop::depth`] |
//! | `ev_pending_count`, `ev_invoke_pending` | `loop.pendingcnt` | [`Loop::pending_count`], [`Loop::invoke_pending`] |
//! | `ev_verify` | `loop.verify()` | [`Loop::verify`] |
//! | `ev_set_io_collect_interval`, `ev_set_timeout_collect_interval` | — | [`Loop::set_io_collect_interval`], [`Loop::set_timeout_collect_interval`] |
//! | `ev_loop_fork` | `loop.reinit()` | [`Loop::loop_fork`] |
//! | `ev_backend` | `loop.backend`, `backend_int` | [`Loop::backend`] |
//! | `ev_supported_backends` etc. | `supported_backends()` etc. | [`Loop::supported_backends`], [`Loop::recommended_backends`], [`Loop::embeddable_backends`], [`Loop::usable_backends`] |
//! | `ev_version_major/minor` | `get_version()` | [`Loop::version`] |
//! | `ev_feed_signal_event`, `ev_feed_fd_event` | — | [`Loop::feed_signal_event`], [`Loop::feed_fd_event`] |
//! | `ev_once`, `EV::once` | — | [`Loop::once`] |
//! | `loop.run_callback` | `loop.run_callback()` | the hub's `run_callback` |
//! | `ev_io`, `EV::io` | `loop.io()` | [`Io`] |
//! | `ev_timer` (`again`, `remaining`) | `loop.timer()` (`again`) | [`Timer`] |
//! | `ev_periodic` (`at`, `again`) | — | [`Periodic`] |
//! | `ev_signal` | `loop.signal()` | [`Signal`] |
//! | `ev_child` | `loop.child()` | [`Child`] |
//! | `ev_stat` | `loop.stat()` | [`Stat`] |
//! | `ev_idle` | `loop.idle()` | [`Idle`] |
//! | `ev_prepare`, `ev_check` | `loop.prepare()`, `loop.check()` | [`Prepare`], [`Check`] |
//! | `ev_fork` | `loop.fork()` | [`Fork`] |
//! | `ev_cleanup` | — | [`Cleanup`] |
//! | `ev_async` (`send`, `async_pending`) | `loop.async_()` (`send`, `pending`) | [`Async`], [`AsyncSender`] |
//! | `ev_embed` (`sweep`) | — | [`Embed`] |
//! | `ev_is_active`, `ev_is_pending`, `ev_priority`, `ev_feed_event`, `ev_invoke`, `ev_clear_pending` | `.active`, `.pending`, `.priority`, `.feed()` | `is_active`, `is_pending`, `priority`/`set_priority`, `feed`, `invoke`, `clear_pending` on every watcher |
//!
//! The raw API, including the function-like macros, is in the `libev_sys`
//! crate, and [`Loop::as_ptr`] bridges the two.

mod async_;
mod backend;
mod check;
mod child;
mod cleanup;
mod embed;
mod event_loop;
mod events;
mod fork;
mod idle;
pub(crate) mod io;
mod periodic;
mod prepare;
mod signal;
pub(crate) mod signals;
mod stat;
mod timer;
pub(crate) mod watcher;

pub use async_::{Async, AsyncSender};
pub use backend::{Backend, Backends};
pub use check::Check;
pub use child::Child;
pub use cleanup::Cleanup;
pub use embed::Embed;
pub use event_loop::{Break, Loop};
pub use events::Events;
pub use fork::Fork;
pub use idle::Idle;
pub use io::Io;
pub use periodic::Periodic;
pub use prepare::Prepare;
pub use signal::Signal;
pub use stat::Stat;
pub use timer::Timer;
