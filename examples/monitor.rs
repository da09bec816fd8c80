//! The blocking monitor: a greenlet that calls `std::thread::sleep` (and
//! so blocks every other greenlet of its hub) is reported by name, with
//! where it was spawned; then `run_info` lists the live greenlets.
//!
//! ```text
//! cargo run --example monitor
//! GEVENT_MONITOR_THREAD_ENABLE=1 GEVENT_MAX_BLOCKING_TIME=0.05 cargo run --example monitor
//! ```
//!
//! Without the variables, the example turns the monitor on itself
//! (`gevent::monitor::start`) with gevent's default limit, 0.1 s.

use std::sync::mpsc;
use std::time::Duration;

use gevent::events::{self, Event};
use gevent::{Builder, monitor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The first greenlet operation creates the hub, which reads the
    // environment variables.
    gevent::sleep(Duration::ZERO);
    if !monitor::is_running() {
        monitor::start(monitor::DEFAULT_MAX_BLOCKING_TIME)?;
    }
    println!(
        "monitor on, limit {:?}",
        monitor::max_blocking_time().unwrap_or_default()
    );

    // Reports also go to subscribers (here: forwarded to main).
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let sub = events::subscribe(move |e| {
        if let Event::BlockingDetected(r) = e {
            let _ = tx.lock().unwrap().send(r.clone());
        }
    });

    // A well-behaved greenlet...
    let ticker = Builder::new().name("ticker").spawn(|| {
        for _ in 0.. {
            gevent::sleep(Duration::from_millis(20));
        }
    });
    // ...and one that blocks the hub for 300 ms.
    let sleepy = Builder::new().name("sleepy-worker").spawn(|| {
        std::thread::sleep(Duration::from_millis(300));
    });
    sleepy.join()?;

    // The report arrives once the stall is over (stderr shows it too).
    let mut got = None;
    for _ in 0..100 {
        gevent::sleep(Duration::from_millis(20));
        if let Ok(r) = rx.try_recv() {
            got = Some(r);
            break;
        }
    }
    match got {
        Some(r) => println!(
            "subscriber saw: greenlet {:?} blocked thread {:?} for {:?}, spawned at {}",
            r.greenlet.unwrap_or_default(),
            r.thread,
            r.duration,
            r.spawned_at.unwrap_or_default()
        ),
        None => println!("no report arrived"),
    }

    print!("{}", monitor::format_run_info());
    ticker.kill()?;
    events::unsubscribe(sub);
    monitor::stop();
    Ok(())
}
