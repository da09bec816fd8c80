//! Several hubs: one OS thread per worker, each with its own hub, its own
//! listener and its own clone of the handler, supervised from the thread
//! that built the server.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::listener::Listener;
use super::one::{Counters, Handler, One, Options};
use super::{Address, Stream};
use crate::Error;
use crate::core::{Async, AsyncSender, Backend};
use crate::hub::hub_inner;
use crate::sync::Event;

/// What one worker tells the controller, and how the controller reaches it.
#[derive(Default)]
struct Slot {
    /// Wakes the worker's hub (set once the worker runs).
    sender: Option<AsyncSender>,
    /// Handlers killed by the worker's stop.
    killed: usize,
    /// The worker stopped cleanly (after a stop request).
    done: bool,
}

struct Shared {
    /// `Some(timeout)` once stop was requested.
    stop: Mutex<Option<Option<Duration>>>,
    slots: Mutex<Vec<Slot>>,
    /// Wakes the controller's hub.
    controller: AsyncSender,
    /// The server's counters, updated by every worker.
    counters: Arc<Counters>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn stop_requested(&self) -> Option<Option<Duration>> {
        *lock(&self.stop)
    }
}

type Spawner = Box<dyn Fn(usize, Listener) -> io::Result<JoinHandle<()>>>;

/// The controller's side of a multi-worker server.
pub(crate) struct Workers {
    addr: Address,
    /// The listeners until the workers start.
    pending: RefCell<Vec<Listener>>,
    /// One duplicate of each worker's listener, to restart a worker whose
    /// hub died (dropped when the server stops).
    spares: RefCell<Vec<Option<Listener>>>,
    threads: RefCell<Vec<Option<JoinHandle<()>>>>,
    /// Per worker: when it was last started, and the last restart delay.
    restarts: RefCell<Vec<(Instant, Duration)>>,
    shared: Arc<Shared>,
    spawn: Spawner,
    /// The controller's async watcher (wakes `changed`).
    _watcher: Async,
    changed: Event,
    started: Cell<bool>,
    stopped: Event,
    closed: Cell<bool>,
}

impl Workers {
    pub(crate) fn new<F, R>(
        listeners: Vec<Listener>,
        handler: F,
        opts: Options,
    ) -> io::Result<Rc<Workers>>
    where
        F: Fn(Stream, Address) -> R + Send + Sync + Clone + 'static,
        R: 'static,
    {
        let addr = listeners[0].local_addr()?;
        let n = listeners.len();
        let changed = Event::new();
        let c = changed.clone();
        let watcher = Async::new(hub_inner().loop_(), move |_, _| c.set());
        watcher.start()?;
        let shared = Arc::new(Shared {
            stop: Mutex::new(None),
            slots: Mutex::new((0..n).map(|_| Slot::default()).collect()),
            controller: watcher.sender(),
            counters: Arc::default(),
        });
        let backend = hub_inner().loop_().backend();
        let sh = shared.clone();
        let spawn: Spawner = Box::new(move |i, listener| {
            let (h, o, s) = (handler.clone(), opts.clone(), sh.clone());
            std::thread::Builder::new()
                .name(format!("gevent-worker-{i}"))
                .spawn(move || worker_main(i, listener, h, o, s, backend))
        });
        let mut spares = Vec::with_capacity(n);
        for l in &listeners {
            spares.push(Some(l.sibling_dup()?));
        }
        Ok(Rc::new(Workers {
            addr,
            pending: RefCell::new(listeners),
            spares: RefCell::new(spares),
            threads: RefCell::new((0..n).map(|_| None).collect()),
            restarts: RefCell::new((0..n).map(|_| (Instant::now(), Duration::ZERO)).collect()),
            shared,
            spawn,
            _watcher: watcher,
            changed,
            started: Cell::new(false),
            stopped: Event::new(),
            closed: Cell::new(false),
        }))
    }

    pub(crate) fn address(&self) -> &Address {
        &self.addr
    }

    pub(crate) fn started(&self) -> bool {
        self.started.get() && !self.closed.get()
    }

    /// The server's counters, summed over the workers.
    pub(crate) fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    pub(crate) fn count(&self) -> usize {
        self.threads.borrow().len()
    }

    /// Starts every worker thread and the supervisor greenlet.
    pub(crate) fn start(self: &Rc<Workers>) -> io::Result<()> {
        if self.closed.get() {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                format!(
                    "the server on {} was closed; it cannot start again",
                    self.addr
                ),
            ));
        }
        if self.started.replace(true) {
            return Ok(());
        }
        let listeners = std::mem::take(&mut *self.pending.borrow_mut());
        for (i, l) in listeners.into_iter().enumerate() {
            let h = (self.spawn)(i, l)?;
            self.threads.borrow_mut()[i] = Some(h);
            self.restarts.borrow_mut()[i].0 = Instant::now();
        }
        let me = self.clone();
        crate::Builder::new()
            .name(format!("StreamServer {} supervisor", self.addr))
            .spawn(move || me.supervise());
        Ok(())
    }

    /// Restarts workers that died, until the server stops.
    fn supervise(self: Rc<Workers>) {
        loop {
            self.changed.clear();
            if self.shared.stop_requested().is_some() {
                return;
            }
            let n = self.threads.borrow().len();
            for i in 0..n {
                let finished = self.threads.borrow()[i]
                    .as_ref()
                    .is_some_and(|h| h.is_finished());
                if !finished || self.shared.stop_requested().is_some() {
                    continue;
                }
                let h = self.threads.borrow_mut()[i].take();
                let why = match h.map(|h| h.join()) {
                    Some(Err(p)) => crate::hub::panic_message(&*p),
                    _ => "its hub stopped".to_string(),
                };
                let spare = self.spares.borrow()[i].as_ref().map(|l| l.sibling_dup());
                match spare {
                    Some(Ok(l)) => {
                        // A worker that keeps dying right after its start
                        // is restarted less and less often (0.1 s doubling
                        // up to 10 s), never in a tight loop.
                        let delay = {
                            let mut r = self.restarts.borrow_mut();
                            let (started, delay) = &mut r[i];
                            *delay = if started.elapsed() < Duration::from_secs(10) {
                                (*delay * 2)
                                    .clamp(Duration::from_millis(100), Duration::from_secs(10))
                            } else {
                                Duration::ZERO
                            };
                            *delay
                        };
                        eprintln!(
                            "gevent::server: {}: worker {i} died ({why}); restarting it in {} ms",
                            self.addr,
                            delay.as_millis()
                        );
                        crate::sleep(delay);
                        if self.shared.stop_requested().is_some() {
                            return;
                        }
                        self.restarts.borrow_mut()[i].0 = Instant::now();
                        lock(&self.shared.slots)[i] = Slot::default();
                        match (self.spawn)(i, l) {
                            Ok(h) => self.threads.borrow_mut()[i] = Some(h),
                            Err(e) => eprintln!(
                                "gevent::server: {}: cannot restart worker {i}: {e}",
                                self.addr
                            ),
                        }
                    }
                    Some(Err(e)) => eprintln!(
                        "gevent::server: {}: worker {i} died ({why}) and cannot be restarted: {e}",
                        self.addr
                    ),
                    None => {}
                }
            }
            if self.changed.wait().is_err() {
                return;
            }
        }
    }

    /// Stops every worker: each closes its listener, waits up to `timeout`
    /// for its handlers and kills the rest. Returns how many were killed.
    pub(crate) fn stop(&self, timeout: Option<Duration>) -> usize {
        self.closed.set(true);
        {
            let mut stop = lock(&self.shared.stop);
            if stop.is_none() {
                *stop = Some(timeout);
            }
        }
        // No spare keeps a listening socket open from now on.
        for s in self.spares.borrow_mut().iter_mut() {
            s.take();
        }
        self.pending.borrow_mut().clear();
        let senders: Vec<AsyncSender> = lock(&self.shared.slots)
            .iter()
            .filter_map(|s| s.sender.clone())
            .collect();
        for s in senders {
            let _ = s.send();
        }
        // Wait for the threads (they wake us through the async watcher).
        loop {
            self.changed.clear();
            let running = self
                .threads
                .borrow()
                .iter()
                .flatten()
                .any(|h| !h.is_finished());
            if !running {
                break;
            }
            // A worker that started after the senders were collected
            // checks the stop flag itself; the bounded wait covers a
            // wake-up that raced with `clear`.
            if self
                .changed
                .wait_timeout(Duration::from_millis(100))
                .is_err()
            {
                break;
            }
            let senders: Vec<AsyncSender> = lock(&self.shared.slots)
                .iter()
                .filter(|s| !s.done)
                .filter_map(|s| s.sender.clone())
                .collect();
            for s in senders {
                let _ = s.send();
            }
        }
        let mut killed = 0;
        for h in self.threads.borrow_mut().iter_mut() {
            if let Some(h) = h.take() {
                let _ = h.join();
            }
        }
        for s in lock(&self.shared.slots).iter() {
            killed += s.killed;
        }
        self.stopped.set();
        killed
    }

    pub(crate) fn wait_stopped(&self) -> Result<(), Error> {
        self.stopped.wait()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // Workers must not outlive their controller unnoticed: ask them to
        // close (without waiting for their handlers).
        let mut stop = lock(&self.shared.stop);
        if stop.is_none() {
            *stop = Some(Some(Duration::ZERO));
            drop(stop);
            for s in lock(&self.shared.slots).iter() {
                if let Some(s) = &s.sender {
                    let _ = s.send();
                }
            }
        }
    }
}

/// Tells the controller that worker `i` changed state, however it ends.
struct NotifyOnExit {
    shared: Arc<Shared>,
}

impl Drop for NotifyOnExit {
    fn drop(&mut self) {
        let _ = self.shared.controller.send();
    }
}

fn worker_main<F, R>(
    i: usize,
    listener: Listener,
    handler: F,
    opts: Options,
    shared: Arc<Shared>,
    backend: Backend,
) where
    F: Fn(Stream, Address) -> R + 'static,
    R: 'static,
{
    let _notify = NotifyOnExit {
        shared: shared.clone(),
    };
    if let Err(e) = crate::set_hub_backend(backend) {
        eprintln!("gevent::server: worker {i}: cannot create its hub: {e}");
        return;
    }
    let h: Handler = Rc::new(move |s, a| {
        let _ = handler(s, a);
    });
    let one = match One::new(listener, h, opts, shared.counters.clone()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("gevent::server: worker {i}: {e}");
            return;
        }
    };
    let wake = Event::new();
    let w2 = wake.clone();
    let watcher = Async::new(hub_inner().loop_(), move |_, _| w2.set());
    if let Err(e) = watcher.start() {
        eprintln!("gevent::server: worker {i}: cannot watch for stop requests: {e}");
        return;
    }
    lock(&shared.slots)[i].sender = Some(watcher.sender());
    if let Err(e) = one.start() {
        eprintln!("gevent::server: worker {i}: cannot start: {e}");
        return;
    }
    let timeout = loop {
        wake.clear();
        if let Some(t) = shared.stop_requested() {
            break t;
        }
        if let Err(e) = wake.wait() {
            eprintln!("gevent::server: worker {i}: {e}");
            return;
        }
    };
    let killed = one.stop(timeout);
    let mut slots = lock(&shared.slots);
    slots[i].killed = killed;
    slots[i].done = true;
    slots[i].sender = None;
    drop(slots);
    drop(watcher);
}
