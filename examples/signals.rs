//! Signal handlers that run in greenlets (gevent's `gevent.signal_handler`).
//!
//! ```text
//! cargo run --example signals                # prints its pid; then, from a shell:
//! kill -USR1 <pid>                           # handled in a new greenlet each time
//! kill -TERM <pid>                           # graceful exit: the workers finish, exit 0
//! cargo run --example signals -- --selftest  # sends itself SIGUSR1 twice, then SIGTERM
//! ```

use std::cell::Cell;
use std::io::{self, Write};
use std::rc::Rc;
use std::time::Duration;

use gevent::signal::{signal_handler, wait_signal};

fn main() -> io::Result<()> {
    let selftest = std::env::args().nth(1).as_deref() == Some("--selftest");
    println!(
        "pid {}: send SIGUSR1 to say hello, SIGTERM to stop",
        std::process::id()
    );
    io::stdout().flush()?;

    // SIGUSR1: each arrival runs this in a new greenlet, which may block.
    let hellos = Rc::new(Cell::new(0));
    let h = hellos.clone();
    let _usr1 = signal_handler(libc::SIGUSR1, move || {
        h.set(h.get() + 1);
        let me = gevent::getcurrent();
        println!("SIGUSR1 #{} handled in {me}", h.get());
        gevent::sleep(Duration::from_millis(10));
        println!("SIGUSR1 #{} handler done", h.get());
    })?;

    // Some work that must finish cleanly.
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    let worker = gevent::spawn(move || {
        let mut ticks = 0u64;
        while !d.get() {
            gevent::sleep(Duration::from_millis(20));
            ticks += 1;
        }
        println!("worker: stopping cleanly after {ticks} ticks");
    });

    if selftest {
        gevent::spawn(|| {
            for sig in [libc::SIGUSR1, libc::SIGUSR1, libc::SIGTERM] {
                gevent::sleep(Duration::from_millis(50));
                // SAFETY: every one of these signals is handled above or below.
                unsafe { libc::raise(sig) };
            }
        });
    }

    // The main greenlet waits for SIGTERM (or SIGINT), then shuts down.
    let sig = wait_signal(&[libc::SIGTERM, libc::SIGINT], None)?;
    println!("got {sig:?}: shutting down");
    done.set(true);
    worker.join().map_err(io::Error::from)?;
    if selftest {
        assert_eq!(hellos.get(), 2, "both SIGUSR1 handled");
        println!("selftest passed");
    }
    Ok(())
}
