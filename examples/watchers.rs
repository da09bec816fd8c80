//! Low-level watcher programming on the default loop, the way one writes
//! libev (or gevent.core / Perl EV) programs: an io watcher on a socket
//! another thread writes to, a repeating timer, a periodic on the wall
//! clock, a SIGINT watcher that stops everything, an idle/prepare/check trio
//! and an async watcher woken from another thread.
//!
//! ```text
//! cargo run --example watchers            # press Ctrl-C, or wait ~1.5 s
//! LIBEV_FLAGS=2 cargo run --example watchers
//! ```
//!
//! If no SIGINT arrives within 1.5 s, the program raises one on itself, so
//! it also terminates when run unattended.

use std::cell::Cell;
use std::io::{self, ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use gevent::core::{Async, Break, Check, Events, Idle, Io, Loop, Periodic, Prepare, Signal, Timer};

fn main() -> io::Result<()> {
    let lp = Loop::default_loop()?;
    println!("default loop, backend {}", lp.backend());
    let start = lp.now();
    let elapsed = {
        let lp = lp.clone();
        move || lp.now() - start
    };

    // io: another thread writes to one end of a socket pair.
    let (mut reader, mut writer) = UnixStream::pair()?;
    reader.set_nonblocking(true)?;
    let writer_thread = thread::spawn(move || {
        for i in 1..=3 {
            thread::sleep(Duration::from_millis(300));
            let line = format!("message {i} from the writer thread\n");
            if writer.write_all(line.as_bytes()).is_err() {
                break; // the reader is gone
            }
        }
    });
    let el = elapsed.clone();
    let io = Io::new(&lp, reader.as_raw_fd(), Events::READ, move |w, _ev| {
        let mut buf = [0u8; 256];
        match reader.read(&mut buf) {
            Ok(0) => {
                println!("[{:5.3}] io: the writer closed its end", el());
                w.stop();
            }
            Ok(n) => print!("[{:5.3}] io: {}", el(), String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => {
                println!("io: {e}");
                w.stop();
            }
        }
    })?;
    io.start()?;

    // The idle/prepare/check trio: prepare runs before the loop blocks,
    // check right after it wakes up, idle when there is nothing else to do.
    let (prepares, checks, idles) = (
        Rc::new(Cell::new(0u32)),
        Rc::new(Cell::new(0u32)),
        Rc::new(Cell::new(0u32)),
    );
    let p = prepares.clone();
    let prepare = Prepare::new(&lp, move |_, _| p.set(p.get() + 1));
    let c = checks.clone();
    let check = Check::new(&lp, move |_, _| c.set(c.get() + 1));
    // Neither should keep the loop alive by itself.
    prepare.set_keepalive(false);
    check.set_keepalive(false);
    prepare.start()?;
    check.start()?;
    let i = idles.clone();
    let el = elapsed.clone();
    let idle = Rc::new(Idle::new(&lp, move |w, _| {
        i.set(i.get() + 1);
        println!("[{:5.3}] idle: nothing else to do", el());
        w.stop(); // once per tick; an active idle watcher never lets the loop sleep
    }));

    // A repeating timer, which also re-arms the idle watcher.
    let ticks = Rc::new(Cell::new(0u32));
    let (t, el, idle2) = (ticks.clone(), elapsed.clone(), idle.clone());
    let timer = Timer::new(
        &lp,
        Duration::from_millis(250),
        Duration::from_millis(250),
        move |_, _| {
            t.set(t.get() + 1);
            println!("[{:5.3}] timer: tick {}", el(), t.get());
            idle2.start().expect("start idle");
        },
    );
    timer.start()?;

    // A periodic: every half second of wall-clock time (x.0, x.5, ...).
    let el = elapsed.clone();
    let periodic = Periodic::new(&lp, 0.0, 0.5, move |p, _| {
        println!(
            "[{:5.3}] periodic: wall clock {:.3}, next at {:.3}",
            el(),
            p.loop_().now(),
            p.at()
        );
    })?;
    periodic.start()?;

    // An async watcher, woken from another thread.
    let el = elapsed.clone();
    let wakeup = Async::new(&lp, move |w, ev| {
        println!("[{:5.3}] async: woken from another thread ({ev:?})", el());
        w.stop();
    });
    wakeup.start()?;
    let sender = wakeup.sender();
    let async_thread = thread::spawn(move || {
        thread::sleep(Duration::from_millis(700));
        sender.send()
    });

    // SIGINT stops everything.
    let el = elapsed.clone();
    let sigint = Signal::new(&lp, libc::SIGINT, move |w, _| {
        println!("[{:5.3}] signal: SIGINT, stopping", el());
        w.loop_().break_loop(Break::All);
    })?;
    sigint.start()?;
    // ...and arrives by itself after 1.5 s when nobody presses Ctrl-C.
    let el = elapsed.clone();
    let fallback = Timer::new(
        &lp,
        Duration::from_millis(1500),
        Duration::ZERO,
        move |_, _| {
            println!("[{:5.3}] no Ctrl-C so far: raising SIGINT", el());
            // SAFETY: raising a signal our watcher handles.
            unsafe { libc::raise(libc::SIGINT) };
        },
    );
    fallback.set_keepalive(false);
    fallback.start()?;

    lp.run();

    println!(
        "done after {:.3} s: {} ticks; prepare ran {} times, check {} times, idle {} times",
        elapsed(),
        ticks.get(),
        prepares.get(),
        checks.get(),
        idles.get()
    );
    drop(io); // closes the reader: the writer thread stops
    writer_thread.join().expect("writer thread");
    async_thread.join().expect("async thread")?;
    Ok(())
}
