//! A walk through the greenlet section of the gevent introduction, in Rust.
//!
//! ```text
//! cargo run --example greenlets
//! ```
//!
//! 1. A greenlet that fails (division by zero) is reported on stderr as
//!    `<Greenlet "name"> failed with ...`, and the program goes on.
//! 2. A custom greenlet type with its own `run` and `Display`:
//!    `MyNoopGreenlet`, which just sleeps.
//! 3. `kill()` interrupts it: it is dead, and `GreenletExit` is not a failure.
//! 4. `kill_with` a custom error ("A time to kill"): reported as
//!    `MyNoopGreenlet(5) failed with A time to kill`.
//! 5. `kill_timeout`: waiting a bounded time for a greenlet that ignores the
//!    kill (it does not die within the timeout, a second kill ends it).
//! 6. A `Timeout` around a block of code, and `with_timeout`.

use std::fmt;
use std::time::Duration;

use gevent::{
    Builder, Error, Greenlet, GreenletRun, Timeout, sleep, spawn, spawn_run, with_timeout,
};

/// gevent's `class MyNoopGreenlet(Greenlet)`: overrides `_run` and `__str__`.
struct MyNoopGreenlet {
    seconds: f64,
}

impl GreenletRun for MyNoopGreenlet {
    type Output = ();
    fn run(self) {
        sleep(Duration::from_secs_f64(self.seconds));
    }
}

impl fmt::Display for MyNoopGreenlet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MyNoopGreenlet({})", self.seconds)
    }
}

fn main() -> Result<(), Error> {
    // Like Python's traceback, std's panic hook prints the panic first;
    // then the hub prints its one-line `... failed with ...` report.
    println!("1. >>> gevent.spawn(lambda: 1 / 0); gevent.sleep(1)");
    let zero = std::hint::black_box(0);
    let g = Builder::new().name("lambda").spawn(move || 1 / zero);
    sleep(Duration::from_millis(10));
    println!(
        "   dead: {}, successful: {}, error: {:?}",
        g.dead(),
        g.successful(),
        g.error()
    );
    println!("   the program continues");

    println!("2. a custom greenlet type");
    let g = Greenlet::from_run(MyNoopGreenlet { seconds: 4.0 });
    println!("   >>> g = MyNoopGreenlet(4) -> {g}");
    g.start();
    sleep(Duration::ZERO);

    println!("3. >>> g.kill(); g.dead");
    g.kill()?;
    println!(
        "   dead: {}, successful: {} (GreenletExit is not a failure)",
        g.dead(),
        g.successful()
    );

    println!("4. >>> g = MyNoopGreenlet.spawn(5); g.kill(Exception(\"A time to kill\"))");
    let g = spawn_run(MyNoopGreenlet { seconds: 5.0 });
    sleep(Duration::ZERO);
    g.kill_with(Error::killed(std::io::Error::other("A time to kill")))?;
    match g.get() {
        Err(e) => println!("   get() -> Err({e})"),
        Ok(()) => println!("   get() -> Ok (unexpected)"),
    }

    println!("5. kill with a timeout, on a greenlet that ignores the kill");
    let stubborn = Builder::new().name("stubborn").spawn(|| {
        // Swallows the kill once, then keeps sleeping ("cleanup" that blocks).
        let _ = std::panic::catch_unwind(|| sleep(Duration::from_secs(60)));
        sleep(Duration::from_secs(60));
    });
    sleep(Duration::ZERO);
    let died = stubborn.kill_timeout(Duration::from_millis(50))?;
    println!("   kill_timeout(50 ms) -> died: {died}");
    let died = stubborn.kill_timeout(Duration::from_secs(1))?;
    println!("   a second kill_timeout(1 s) -> died: {died}");

    println!("6. Timeout around a block of code");
    let t = Timeout::new(Some(Duration::from_millis(20)));
    let r = t.catch(|| {
        sleep(Duration::from_secs(10));
        "finished"
    });
    println!("   Timeout(20 ms) around sleep(10 s) -> {r:?}");
    let r = with_timeout(Duration::from_millis(20), || {
        sleep(Duration::from_millis(1));
        "finished in time"
    });
    println!("   with_timeout(20 ms, sleep(1 ms)) -> {r:?}");

    let worker = spawn(|| 6 * 7);
    println!("done: the hub still works ({})", worker.get()?);
    Ok(())
}
