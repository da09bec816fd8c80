//! The machinery behind [`IMap`](super::IMap) and
//! [`IMapUnordered`](super::IMapUnordered).
//!
//! The consumer drives everything from `next()`: it takes items from the
//! input and spawns their tasks (each as soon as the pool has a slot, and
//! while fewer than `maxsize` items are taken but not yet yielded), then
//! parks until a task finishes or a slot is handed over. Nothing runs
//! ahead of the consumer by more than `maxsize` items, the input iterator
//! is only ever called from the consumer's greenlet (so it need not be
//! `'static`, and a panic in it reaches the consumer), and the consumer
//! waits for slots in the pool's FIFO queue like any other spawner.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use super::members::{Members, Ticket};
use crate::hub::{check_can_block, park};
use crate::wait_list::WakeCell;
use crate::{Error, Greenlet, GreenletRef};

/// The input, each item made into an unstarted greenlet running `f` on it.
pub(crate) type Source<'a, T, E> = Box<dyn Iterator<Item = Result<Greenlet<T>, E>> + 'a>;

/// One item taken from the input, by index (see `Engine::window`).
enum Entry<T> {
    Running(GreenletRef),
    /// Finished; waiting for its turn (ordered only).
    Done(Result<T, Error>),
    /// Handed out; kept only until the entries before it are.
    Yielded,
}

/// What finished tasks leave for the consumer.
struct Arrivals<T> {
    done: RefCell<VecDeque<(u64, Result<T, Error>)>>,
    consumer: Rc<WakeCell>,
}

pub(crate) struct Engine<'a, T: 'static, E> {
    members: Rc<Members>,
    source: Option<Source<'a, T, E>>,
    ordered: bool,
    maxsize: usize,
    /// Items taken from the input (the next one's index).
    taken: u64,
    /// Results yielded.
    yielded: u64,
    arrivals: Rc<Arrivals<T>>,
    /// The items from index `base` on that were taken and not yet
    /// yielded (with `Yielded` gaps when unordered).
    window: VecDeque<Entry<T>>,
    base: u64,
    /// Tasks spawned and not yet collected as finished.
    running: usize,
    /// The input's error and its index: the iteration ends there.
    input_error: Option<(u64, E)>,
    /// Our place in the pool's slot queue.
    ticket: Option<Ticket>,
    finished: bool,
}

impl<'a, T: 'static, E: From<Error>> Engine<'a, T, E> {
    pub(crate) fn new(
        members: Rc<Members>,
        source: Source<'a, T, E>,
        ordered: bool,
        maxsize: usize,
    ) -> Engine<'a, T, E> {
        Engine {
            members,
            source: Some(source),
            ordered,
            maxsize: maxsize.max(1),
            taken: 0,
            yielded: 0,
            arrivals: Rc::new(Arrivals {
                done: RefCell::new(VecDeque::new()),
                consumer: WakeCell::new_rc(),
            }),
            window: VecDeque::new(),
            base: 0,
            running: 0,
            input_error: None,
            ticket: None,
            finished: false,
        }
    }

    pub(crate) fn set_maxsize(&mut self, maxsize: usize) {
        self.maxsize = maxsize.max(1);
    }

    /// Takes input and spawns tasks while the bound and the slots allow.
    fn fill(&mut self) {
        while self.source.is_some() && (self.taken - self.yielded) < self.maxsize as u64 {
            let slot = if self.members.bounded() {
                let granted = self.ticket.as_ref().and_then(|t| t.take_granted());
                match granted {
                    Some(s) => {
                        self.ticket = None;
                        Some(s)
                    }
                    None if self.ticket.is_some() => return, // still queued
                    None => match self.members.try_acquire() {
                        Some(s) => Some(s),
                        None if self.members.size() == 0 => {
                            // A pool of size 0 can never run an item: end
                            // the iteration with LoopExit instead of
                            // waiting forever for a slot.
                            self.input_error = Some((self.taken, Error::LoopExit.into()));
                            self.source = None;
                            return;
                        }
                        None => {
                            self.ticket = Some(self.members.request(&self.arrivals.consumer));
                            return;
                        }
                    },
                }
            } else {
                None
            };
            // A panic in the input drops `slot`, which gives it back.
            let next = self.source.as_mut().and_then(|s| s.next());
            match next {
                None => self.source = None,
                Some(Err(e)) => {
                    self.input_error = Some((self.taken, e));
                    self.source = None;
                }
                Some(Ok(g)) => {
                    let index = self.taken;
                    self.taken += 1;
                    g.start();
                    let r = g.handle();
                    self.members.insert(&r, slot);
                    let arrivals = self.arrivals.clone();
                    let g2 = g.clone();
                    // Cannot be dead yet: it has not even started.
                    let _ = r.on_death_inline(Box::new(move || {
                        let v = g2.take();
                        arrivals.done.borrow_mut().push_back((index, v));
                        arrivals.consumer.wake();
                    }));
                    self.window.push_back(Entry::Running(r));
                    self.running += 1;
                }
            }
        }
        // Done taking input: give up our place in the slot queue.
        if self.source.is_none() {
            self.ticket = None;
        }
    }

    /// Moves finished tasks out of the shared queue (ordered only; the
    /// unordered iterator yields straight from it).
    fn collect(&mut self) {
        if !self.ordered {
            return;
        }
        let mut done = self.arrivals.done.borrow_mut();
        for (i, v) in done.drain(..) {
            self.running -= 1;
            self.window[(i - self.base) as usize] = Entry::Done(v);
        }
    }

    /// Drops the handed-out entries at the front of the window.
    fn trim(&mut self) {
        while matches!(self.window.front(), Some(Entry::Yielded)) {
            self.window.pop_front();
            self.base += 1;
        }
    }

    fn finish(&mut self) {
        self.finished = true;
        self.source = None;
        self.ticket = None;
        self.kill_running();
    }

    fn kill_running(&mut self) {
        // Killing an unstarted task runs its death callbacks at once; they
        // only touch `arrivals` and the group, never the window.
        for e in std::mem::take(&mut self.window) {
            if let Entry::Running(g) = e {
                g.kill_nowait();
            }
        }
    }

    pub(crate) fn next_result(&mut self) -> Option<Result<T, E>> {
        if self.finished {
            return None;
        }
        loop {
            self.collect();
            self.fill();
            self.collect();
            if self.ordered {
                if matches!(self.window.front(), Some(Entry::Done(_))) {
                    if let Some(Entry::Done(v)) = self.window.pop_front() {
                        self.base += 1;
                        self.yielded += 1;
                        return Some(v.map_err(E::from));
                    }
                }
            } else {
                let first = self.arrivals.done.borrow_mut().pop_front();
                if let Some((i, v)) = first {
                    self.window[(i - self.base) as usize] = Entry::Yielded;
                    self.trim();
                    self.running -= 1;
                    self.yielded += 1;
                    return Some(v.map_err(E::from));
                }
            }
            // Everything taken has been yielded (in order: an input error
            // comes after every item before it).
            if self.running == 0 && self.source.is_none() {
                self.finished = true;
                self.ticket = None;
                return self.input_error.take().map(|(_, e)| Err(e));
            }
            if let Err(e) = check_can_block() {
                self.finish();
                return Some(Err(E::from(e)));
            }
            self.arrivals.consumer.arm();
            if let Err(e) = park() {
                self.finish();
                return Some(Err(E::from(e)));
            }
        }
    }
}

impl<T: 'static, E> Drop for Engine<'_, T, E> {
    fn drop(&mut self) {
        self.ticket = None;
        for e in std::mem::take(&mut self.window) {
            if let Entry::Running(g) = e {
                g.kill_nowait();
            }
        }
    }
}
