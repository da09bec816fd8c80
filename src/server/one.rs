//! One hub's server: the listener, its accept loop and its handlers.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::accept_loop::{Action, Backoff, classify};
use super::drain::{Drain, Member};
use super::listener::{Kind, Listener};
use super::{Address, Stream};
use crate::core::{Events, Io};
use crate::hub::{self, Waker, hub_inner};
use crate::net::socket::Socket;
use crate::net::{TcpStream, UnixStream};
use crate::pool::{Group, Pool};
use crate::sync::Event;
use crate::tls::TlsAcceptor;
use crate::{Builder, Error, Greenlet, Timeout};

/// The handler as the server stores it.
pub(crate) type Handler = Rc<dyn Fn(Stream, Address)>;

/// The running handlers: unbounded, or bounded by a pool.
pub(crate) enum Handlers {
    Group(Group),
    Pool(Pool),
}

impl Handlers {
    fn len(&self) -> usize {
        match self {
            Handlers::Group(g) => g.len(),
            Handlers::Pool(p) => p.len(),
        }
    }
    fn join_timeout(&self, t: Duration) -> Result<bool, Error> {
        match self {
            Handlers::Group(g) => g.join_timeout(t),
            Handlers::Pool(p) => p.join_timeout(t),
        }
    }
    fn join(&self) -> Result<(), Error> {
        match self {
            Handlers::Group(g) => g.join(),
            Handlers::Pool(p) => p.join(),
        }
    }
    fn kill(&self) -> Result<(), Error> {
        match self {
            Handlers::Group(g) => g.kill(),
            Handlers::Pool(p) => p.kill(),
        }
    }
    fn discard_current(&self) {
        let me = crate::getcurrent();
        match self {
            Handlers::Group(g) => g.discard(&me),
            Handlers::Pool(p) => p.discard(&me),
        };
    }
    fn greenlets(&self) -> Vec<crate::GreenletRef> {
        match self {
            Handlers::Group(g) => g.greenlets(),
            Handlers::Pool(p) => p.greenlets(),
        }
    }
}

/// The options one hub's server runs with.
#[derive(Clone)]
pub(crate) struct Options {
    pub(crate) nodelay: bool,
    pub(crate) max_accept: usize,
    pub(crate) pool_size: Option<usize>,
    pub(crate) tls: Option<TlsAcceptor>,
    pub(crate) handshake_timeout: Duration,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Bound, not accepting yet.
    Ready,
    /// Accepting in its greenlet.
    Started,
    /// Closed: the listener is gone for good.
    Closed,
}

/// A server on this thread's hub.
pub(crate) struct One {
    listener: RefCell<Option<Listener>>,
    kind: Kind,
    addr: Address,
    handler: Handler,
    opts: Options,
    handlers: Handlers,
    phase: Cell<Phase>,
    accept_greenlet: RefCell<Option<Greenlet<()>>>,
    /// The listener's readiness watcher (started only while the accept
    /// greenlet waits) and that wait's waker.
    io: RefCell<Option<Io>>,
    waiter: Rc<RefCell<Option<Waker>>>,
    /// Set once `stop` or `close` has finished.
    stopped: Event,
    /// Shared with the other workers of a multi-worker server, so the
    /// controller reads the server's totals.
    counters: Arc<Counters>,
    /// Idle handlers, closed at once by `stop`.
    drain: Rc<Drain>,
}

/// A server's counters, summed over its workers (atomics: each worker's
/// hub runs on its own thread; relaxed, since they order nothing).
#[derive(Default)]
pub(crate) struct Counters {
    accepted: AtomicU64,
    accept_errors: AtomicU64,
    /// Handlers spawned and not yet finished (or dropped unrun).
    connections: AtomicUsize,
}

impl Counters {
    pub(crate) fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    pub(crate) fn accept_errors(&self) -> u64 {
        self.accept_errors.load(Ordering::Relaxed)
    }

    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    fn accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts one live handler: made before its greenlet is spawned and moved
/// into its closure, so it is dropped exactly once however the handler
/// ends (returns, panics, is killed, or is dropped before it ever ran).
struct LiveHandler(Arc<Counters>);

impl LiveHandler {
    fn new(c: &Arc<Counters>) -> LiveHandler {
        c.connections.fetch_add(1, Ordering::Relaxed);
        LiveHandler(c.clone())
    }
}

impl Drop for LiveHandler {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

impl One {
    /// `counters` are the server's (shared by every worker of it).
    pub(crate) fn new(
        listener: Listener,
        handler: Handler,
        opts: Options,
        counters: Arc<Counters>,
    ) -> io::Result<Rc<One>> {
        let addr = listener.local_addr()?;
        let handlers = match opts.pool_size {
            Some(n) => Handlers::Pool(Pool::new(n)?),
            None => Handlers::Group(Group::new()),
        };
        Ok(Rc::new(One {
            kind: listener.kind,
            listener: RefCell::new(Some(listener)),
            addr,
            handler,
            opts,
            handlers,
            phase: Cell::new(Phase::Ready),
            accept_greenlet: RefCell::new(None),
            io: RefCell::new(None),
            waiter: Rc::new(RefCell::new(None)),
            stopped: Event::new(),
            counters,
            drain: Rc::default(),
        }))
    }

    pub(crate) fn address(&self) -> &Address {
        &self.addr
    }

    pub(crate) fn started(&self) -> bool {
        self.phase.get() == Phase::Started
    }

    pub(crate) fn closed(&self) -> bool {
        self.phase.get() == Phase::Closed
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Starts accepting in a new greenlet.
    pub(crate) fn start(self: &Rc<One>) -> io::Result<()> {
        match self.phase.get() {
            Phase::Started => return Ok(()),
            Phase::Closed => {
                return Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    format!(
                        "the server on {} was closed; it cannot start again",
                        self.addr
                    ),
                ));
            }
            Phase::Ready => {}
        }
        let fd = match &*self.listener.borrow() {
            Some(l) => l.raw(),
            None => return Err(io::Error::from(io::ErrorKind::NotConnected)),
        };
        let waiter = self.waiter.clone();
        let io = Io::new(hub_inner().loop_(), fd, Events::READ, move |io, _| {
            io.stop();
            if let Some(w) = waiter.borrow_mut().take() {
                w.wake();
            }
        })?;
        *self.io.borrow_mut() = Some(io);
        self.phase.set(Phase::Started);
        let me = self.clone();
        let g = Builder::new()
            .name(format!("StreamServer {}", self.addr))
            .spawn(move || me.accept_loop());
        *self.accept_greenlet.borrow_mut() = Some(g);
        Ok(())
    }

    /// Waits until the server is stopped or closed.
    pub(crate) fn wait_stopped(&self) -> Result<(), Error> {
        self.stopped.wait()
    }

    /// Waits for the listener to be readable. Returns false when closed.
    fn wait_readable(&self) -> Result<bool, Error> {
        if self.closed() {
            return Ok(false);
        }
        hub::check_can_block()?;
        {
            let io = self.io.borrow();
            let Some(io) = io.as_ref() else {
                return Ok(false);
            };
            *self.waiter.borrow_mut() = Some(Waker::current());
            if let Err(e) = io.start() {
                self.waiter.borrow_mut().take();
                eprintln!(
                    "gevent::server: {}: cannot watch the listener: {e}",
                    self.addr
                );
                return Ok(false);
            }
        }
        // Stop the watcher however the wait ends (a kill unwinds through here).
        struct StopOnDrop<'a>(&'a One);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                if let Some(io) = self.0.io.borrow().as_ref() {
                    io.stop();
                }
                self.0.waiter.borrow_mut().take();
            }
        }
        let _g = StopOnDrop(self);
        hub::park()?;
        Ok(!self.closed())
    }

    fn accept_loop(self: Rc<One>) {
        let mut backoff = Backoff::default();
        loop {
            if self.closed() {
                return;
            }
            // Backpressure: while the pool is full, accept nothing (the
            // kernel's backlog holds the connections).
            if let Handlers::Pool(p) = &self.handlers {
                if p.full() {
                    if let Err(e) = p.wait_available() {
                        eprintln!(
                            "gevent::server: {}: cannot wait for a free handler slot ({e}); the accept loop ends",
                            self.addr
                        );
                        return;
                    }
                    continue;
                }
            }
            match self.accept_burst(&mut backoff) {
                Burst::Wait => match self.wait_readable() {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        eprintln!(
                            "gevent::server: {}: cannot wait for connections ({e}); the accept loop ends",
                            self.addr
                        );
                        return;
                    }
                },
                Burst::PoolFull => {}
                Burst::Pause(d) => crate::sleep(d),
                Burst::Closed => return,
            }
        }
    }

    /// Accepts up to `max_accept` connections.
    fn accept_burst(&self, backoff: &mut Backoff) -> Burst {
        let mut n = 0;
        while n < self.opts.max_accept {
            let r = match &*self.listener.borrow() {
                Some(l) => l.accept(),
                None => return Burst::Closed,
            };
            n += 1;
            match r {
                Ok((fd, peer)) => {
                    backoff.reset();
                    self.counters.accepted.fetch_add(1, Ordering::Relaxed);
                    self.spawn_handler(fd, peer);
                    if let Handlers::Pool(p) = &self.handlers {
                        if p.full() {
                            return Burst::PoolFull;
                        }
                    }
                }
                Err(e) => match classify(&e) {
                    Action::Wait => return Burst::Wait,
                    Action::Skip => self.counters.accept_error(),
                    Action::Pause => {
                        self.counters.accept_error();
                        let (d, log) = backoff.next(&e);
                        if log {
                            eprintln!(
                                "gevent::server: {}: accept failed: {e}; pausing accepts ({} ms, doubling up to 1 s until one succeeds)",
                                self.addr,
                                d.as_millis()
                            );
                        }
                        return Burst::Pause(d);
                    }
                },
            }
        }
        // Give the other greenlets (and the loop) a turn; the listener is
        // still readable, so the wait returns at the next loop iteration.
        Burst::Wait
    }

    fn spawn_handler(&self, fd: OwnedFd, peer: Address) {
        let sock = Socket::new(fd);
        let stream = match self.kind {
            Kind::Tcp => {
                let s = TcpStream::from_socket(sock);
                if self.opts.nodelay {
                    let _ = s.set_nodelay(true);
                }
                Stream::Tcp(s)
            }
            Kind::Unix => Stream::Unix(UnixStream::from_socket(sock)),
        };
        let handler = self.handler.clone();
        let tls = self.opts.tls.clone();
        let hs_timeout = self.opts.handshake_timeout;
        let p = peer.clone();
        let live = LiveHandler::new(&self.counters);
        let drain = self.drain.clone();
        let g = Builder::new()
            .name(format!("handler {peer}"))
            .spawn(move || {
                let _live = live;
                let _member = Member::enter(drain);
                let stream = match tls {
                    None => stream,
                    Some(acceptor) => match handshake(&acceptor, stream, hs_timeout) {
                        Some(s) => s,
                        None => return,
                    },
                };
                handler(stream, p)
            });
        let server = self.addr.clone();
        g.link_exception(move |g| {
            if let Some(Error::Panicked(msg)) = g.error() {
                eprintln!(
                    "gevent::server: {server}: handler {g} for peer {peer} panicked: {msg}; its connection was closed, the server carries on"
                );
            }
        });
        match &self.handlers {
            Handlers::Group(grp) => grp.add(&g),
            Handlers::Pool(p) => {
                if p.try_add(&g).is_err() {
                    // Only if the pool was shared and filled meanwhile.
                    let _ = p.add(&g);
                }
            }
        }
    }

    /// Stops accepting and closes the listener; handlers go on.
    pub(crate) fn close(&self) {
        if self.phase.replace(Phase::Closed) == Phase::Closed {
            return;
        }
        // The watcher first: libev must not watch a closed descriptor.
        if let Some(io) = self.io.borrow_mut().take() {
            io.stop();
        }
        if let Some(w) = self.waiter.borrow_mut().take() {
            w.wake();
        }
        if let Some(g) = self.accept_greenlet.borrow_mut().take() {
            if g.id() != crate::getcurrent().id() {
                g.kill_nowait();
            }
        }
        self.listener.borrow_mut().take();
    }

    /// Closes, waits up to `timeout` for the handlers, kills the rest;
    /// returns how many were killed.
    pub(crate) fn stop(&self, timeout: Option<Duration>) -> usize {
        self.close();
        // Handlers idle between requests end now; busy ones finish.
        self.drain.stop();
        // A handler stopping its own server does not wait for itself.
        self.handlers.discard_current();
        let finished = match timeout {
            Some(t) => self.handlers.join_timeout(t).unwrap_or(false),
            None => self.handlers.join().is_ok(),
        };
        let mut killed = 0;
        if !finished {
            killed = self.handlers.len();
            if self.handlers.kill().is_err() {
                for g in self.handlers.greenlets() {
                    g.kill_nowait();
                }
            }
        }
        self.stopped.set();
        killed
    }

    /// `close` from `close()`: also marks the server stopped.
    pub(crate) fn close_now(&self) {
        self.close();
        self.stopped.set();
    }
}

enum Burst {
    Wait,
    PoolFull,
    Pause(Duration),
    Closed,
}

/// Runs the TLS handshake within `timeout`; `None` if it failed (the
/// connection is then closed).
fn handshake(acceptor: &TlsAcceptor, stream: Stream, timeout: Duration) -> Option<Stream> {
    let t = Timeout::new(Some(timeout));
    let r = t.catch(move || match stream {
        Stream::Tcp(s) => acceptor.accept(s).map(|t| Stream::TlsTcp(Box::new(t))),
        Stream::Unix(s) => acceptor.accept(s).map(|t| Stream::TlsUnix(Box::new(t))),
        other => Ok(other),
    });
    match r {
        Ok(Ok(s)) => Some(s),
        Ok(Err(_)) | Err(_) => None,
    }
}
