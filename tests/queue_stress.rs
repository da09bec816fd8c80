//! No item lost or duplicated while getters time out (by deadline or by a
//! `Timeout` guard) and are killed at random, for every queue kind, on
//! every backend. Producers retry refused puts (the item comes back in the
//! error); at the end every item must have been received exactly once.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gevent::queue::{Channel, LifoQueue, PriorityQueue, PutError, Queue, QueueError};
use gevent::{Greenlet, joinall, sleep, spawn};
use gutil::each_backend;

const LONG: Duration = Duration::from_secs(20);
const ITEMS: u32 = 1500;
const PRODUCERS: u32 = 3;
const CONSUMERS: usize = 8;

/// The operations the stress test needs, for every queue kind.
trait AnyQueue: Clone + 'static {
    fn put_timeout(&self, item: u32, d: Duration) -> Result<(), PutError<u32>>;
    fn get_timeout(&self, d: Duration) -> Result<u32, QueueError>;
    fn get(&self) -> Result<u32, QueueError>;
    fn try_get(&self) -> Result<u32, QueueError>;
    fn shutdown(&self);
    fn waiting(&self) -> (usize, usize);
}

macro_rules! any_queue {
    ($t:ty) => {
        impl AnyQueue for $t {
            fn put_timeout(&self, item: u32, d: Duration) -> Result<(), PutError<u32>> {
                <$t>::put_timeout(self, item, d)
            }
            fn get_timeout(&self, d: Duration) -> Result<u32, QueueError> {
                <$t>::get_timeout(self, d)
            }
            fn get(&self) -> Result<u32, QueueError> {
                <$t>::get(self)
            }
            fn try_get(&self) -> Result<u32, QueueError> {
                <$t>::try_get(self)
            }
            fn shutdown(&self) {
                <$t>::shutdown(self)
            }
            fn waiting(&self) -> (usize, usize) {
                <$t>::waiting(self)
            }
        }
    };
}

any_queue!(Queue<u32>);
any_queue!(LifoQueue<u32>);
any_queue!(PriorityQueue<u32>);
any_queue!(Channel<u32>);

struct Rng(Cell<u64>);

impl Rng {
    fn next(&self, n: u64) -> u64 {
        let mut x = self.0.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.set(x);
        x % n
    }
}

fn consumer<Q: AnyQueue>(q: Q, seen: Rc<RefCell<Vec<u32>>>, rng: Rc<Rng>) -> Greenlet<()> {
    spawn(move || {
        loop {
            let r = match rng.next(4) {
                0 => q.get(),
                1 => match gevent::with_timeout(Duration::from_micros(rng.next(300)), || q.get()) {
                    Ok(r) => r,
                    Err(_) => continue, // the Timeout guard fired
                },
                _ => q.get_timeout(Duration::from_micros(1 + rng.next(300))),
            };
            match r {
                // Recorded before any switch: a kill cannot come in between.
                Ok(item) => seen.borrow_mut().push(item),
                Err(QueueError::Empty) => {}
                Err(QueueError::ShutDown) => return,
                Err(e) => panic!("consumer: {e}"),
            }
        }
    })
}

fn stress<Q: AnyQueue>(q: Q, seed: u64) {
    let rng = Rc::new(Rng(Cell::new(seed)));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (q, rng) = (q.clone(), rng.clone());
            spawn(move || {
                let mut item = p;
                while item < ITEMS {
                    match q.put_timeout(item, Duration::from_micros(1 + rng.next(200))) {
                        Ok(()) => item += PRODUCERS,
                        Err(e) => {
                            assert!(matches!(e.error(), QueueError::Full));
                            assert_eq!(e.into_item(), item, "the refused item comes back");
                        }
                    }
                    if rng.next(4) == 0 {
                        sleep(Duration::ZERO);
                    }
                }
            })
        })
        .collect();
    let consumers: Rc<RefCell<Vec<Greenlet<()>>>> = Rc::new(RefCell::new(
        (0..CONSUMERS)
            .map(|_| consumer(q.clone(), seen.clone(), rng.clone()))
            .collect(),
    ));
    // A killer: replaces a random consumer by a fresh one, often.
    let done = Rc::new(Cell::new(false));
    let killer = {
        let (q, seen, rng, consumers, done) = (
            q.clone(),
            seen.clone(),
            rng.clone(),
            consumers.clone(),
            done.clone(),
        );
        spawn(move || {
            let mut kills = 0;
            while !done.get() {
                let i = rng.next(CONSUMERS as u64) as usize;
                let victim = consumers.borrow()[i].clone();
                victim.kill_nowait();
                kills += 1;
                consumers.borrow_mut()[i] = consumer(q.clone(), seen.clone(), rng.clone());
                if rng.next(2) == 0 {
                    sleep(Duration::from_micros(rng.next(200)));
                } else {
                    sleep(Duration::ZERO);
                }
            }
            kills
        })
    };
    assert_eq!(
        joinall(&producers, Some(LONG)).unwrap().len(),
        producers.len()
    );
    done.set(true);
    let kills = killer.get_timeout(LONG).unwrap();
    assert!(kills > 0);
    q.shutdown();
    let cs = consumers.borrow().clone();
    assert_eq!(joinall(&cs, Some(LONG)).unwrap().len(), cs.len());
    // Consumers drain before they see ShutDown; whatever a killed one might
    // have left is still in the queue.
    while let Ok(item) = q.try_get() {
        seen.borrow_mut().push(item);
    }
    assert_eq!(q.waiting(), (0, 0));
    let mut all = seen.borrow().clone();
    all.sort_unstable();
    let dups = all.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(dups, 0, "duplicated items");
    assert_eq!(all.len(), ITEMS as usize, "lost items");
    assert!(all.iter().copied().eq(0..ITEMS));
}

#[test]
fn bounded_queue_loses_nothing() {
    each_backend(|| stress(Queue::bounded(4), 1));
}

#[test]
fn unbounded_queue_loses_nothing() {
    each_backend(|| stress(Queue::new(), 2));
}

#[test]
fn lifo_queue_loses_nothing() {
    each_backend(|| stress(LifoQueue::bounded(3), 3));
}

#[test]
fn priority_queue_loses_nothing() {
    each_backend(|| stress(PriorityQueue::bounded(5), 4));
}

#[test]
fn channel_loses_nothing() {
    each_backend(|| stress(Channel::new(), 5));
}
