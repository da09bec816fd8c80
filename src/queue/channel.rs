//! [`Channel`]: a rendezvous point between a putter and a getter.

use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::core::{QueueCore, Wait};
use super::{Iter, PutError, QueueError};

/// A queue of size zero (gevent's `Channel`): [`put`](Channel::put) waits
/// until a getter takes the item, [`get`](Channel::get) until a putter
/// brings one; the item passes straight from hand to hand.
/// [`try_put`](Channel::try_put) succeeds only if a getter is already
/// waiting, [`try_get`](Channel::try_get) only if a putter is.
///
/// Switch order is gevent's: a [`put`](Channel::put) that hands its item
/// to a waiting getter switches to that getter first and resumes the
/// putter only after the getter blocks or finishes (gevent's
/// `TestChannel.test_send`/`test_wait` orders). A getter that takes the
/// item of a blocked putter runs on, the putter resumes later.
///
/// Both sides are served in arrival order; no item is lost or duplicated
/// when a waiting greenlet times out or is killed (a putter that gives up
/// gets its item back in the [`PutError`]).
///
/// # Examples
///
/// ```
/// use gevent::{queue::Channel, spawn};
/// use std::{cell::Cell, rc::Rc};
///
/// let ch = Channel::new();
/// let delivered = Rc::new(Cell::new(false));
/// let (ch2, d2) = (ch.clone(), delivered.clone());
/// let producer = spawn(move || {
///     ch2.put("parcel").unwrap(); // blocks until someone takes it
///     d2.set(true);
/// });
/// gevent::sleep(std::time::Duration::from_millis(5));
/// assert!(!delivered.get());
/// assert_eq!(ch.get()?, "parcel");
/// producer.join()?;
/// assert!(delivered.get());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Channel<T> {
    core: Rc<QueueCore<T, VecDeque<T>>>,
}

impl<T> Channel<T> {
    /// A new channel.
    ///
    /// ```
    /// let ch: gevent::queue::Channel<u8> = gevent::queue::Channel::new();
    /// assert_eq!(ch.balance(), 0);
    /// ```
    pub fn new() -> Channel<T> {
        Channel {
            core: Rc::new(QueueCore::new(Some(0))),
        }
    }

    /// Hands an item to a getter, waiting as long as it takes for one. If
    /// a getter is already waiting, it gets the item and runs before this
    /// call returns (the putter yields to it, as in gevent).
    ///
    /// # Errors
    ///
    /// With the item handed back: [`QueueError::ShutDown`] if the channel
    /// is (or gets) shut down; [`QueueError::Wait`] if waiting is
    /// impossible (for example [`Error::LoopExit`](crate::Error::LoopExit):
    /// no getter will ever come).
    ///
    /// # Examples
    ///
    /// ```
    /// let ch = gevent::queue::Channel::new();
    /// let e = ch.put(1).unwrap_err(); // nobody will ever get it
    /// assert!(matches!(e.error(), gevent::queue::QueueError::Wait(gevent::Error::LoopExit)));
    /// assert_eq!(e.into_item(), 1);
    /// ```
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.core.put(item, Wait::Forever)
    }

    /// Hands an item to a getter, waiting at most `timeout` (zero: only
    /// if one is waiting already).
    ///
    /// # Errors
    ///
    /// [`QueueError::Full`] when the time ran out; otherwise as for
    /// [`put`](Channel::put). The item is always handed back.
    ///
    /// # Examples
    ///
    /// ```
    /// let ch = gevent::queue::Channel::new();
    /// let e = ch.put_timeout('x', std::time::Duration::from_millis(1)).unwrap_err();
    /// assert!(e.error().is_timeout());
    /// ```
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.core.put(item, Wait::timeout(timeout))
    }

    /// Hands an item to a getter that is already waiting.
    ///
    /// # Errors
    ///
    /// [`QueueError::Full`] if none is (or [`QueueError::ShutDown`]), with
    /// the item handed back.
    ///
    /// # Examples
    ///
    /// ```
    /// let ch = gevent::queue::Channel::new();
    /// assert!(ch.try_put(1).is_err()); // no getter
    /// let ch2 = ch.clone();
    /// let getter = gevent::spawn(move || ch2.get().unwrap());
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert!(ch.try_put(2).is_ok());
    /// assert_eq!(getter.get()?, 2);
    /// # Ok::<(), gevent::Error>(())
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        self.core.put(item, Wait::Try)
    }

    /// Takes an item from a putter, waiting as long as it takes for one.
    ///
    /// # Errors
    ///
    /// [`QueueError::ShutDown`] if the channel is (or gets) shut down;
    /// [`QueueError::Wait`] if waiting is impossible.
    ///
    /// # Examples
    ///
    /// ```
    /// let ch = gevent::queue::Channel::new();
    /// let ch2 = ch.clone();
    /// gevent::spawn(move || ch2.put(9).unwrap());
    /// assert_eq!(ch.get()?, 9);
    /// # Ok::<(), gevent::queue::QueueError>(())
    /// ```
    pub fn get(&self) -> Result<T, QueueError> {
        self.core.get(Wait::Forever)
    }

    /// Takes an item, waiting at most `timeout` for a putter.
    ///
    /// # Errors
    ///
    /// [`QueueError::Empty`] when the time ran out; otherwise as for
    /// [`get`](Channel::get).
    ///
    /// # Examples
    ///
    /// ```
    /// let ch: gevent::queue::Channel<u8> = gevent::queue::Channel::new();
    /// assert!(ch.get_timeout(std::time::Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, QueueError> {
        self.core.get(Wait::timeout(timeout))
    }

    /// Takes an item from a putter that is already waiting.
    ///
    /// # Errors
    ///
    /// [`QueueError::Empty`] if none is (or [`QueueError::ShutDown`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let ch: gevent::queue::Channel<u8> = gevent::queue::Channel::new();
    /// assert!(ch.try_get().is_err());
    /// ```
    pub fn try_get(&self) -> Result<T, QueueError> {
        self.core.get(Wait::Try)
    }

    /// Blocked putters minus blocked getters (gevent's `balance`): positive
    /// when items wait for takers.
    ///
    /// ```
    /// let ch = gevent::queue::Channel::new();
    /// let ch2 = ch.clone();
    /// gevent::spawn(move || ch2.put(()));
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert_eq!(ch.balance(), 1);
    /// ch.get().unwrap();
    /// assert_eq!(ch.balance(), 0);
    /// ```
    pub fn balance(&self) -> isize {
        let (getters, putters) = self.core.waiting();
        putters as isize - getters as isize
    }

    /// How many greenlets are blocked in a get, and in a put.
    ///
    /// ```
    /// assert_eq!(gevent::queue::Channel::<u8>::new().waiting(), (0, 0));
    /// ```
    pub fn waiting(&self) -> (usize, usize) {
        self.core.waiting()
    }

    /// Shuts the channel down: blocked and later putters fail with
    /// [`QueueError::ShutDown`] (items handed back), and so do getters.
    ///
    /// ```
    /// let ch: gevent::queue::Channel<u8> = gevent::queue::Channel::new();
    /// ch.shutdown();
    /// assert!(matches!(ch.get(), Err(gevent::queue::QueueError::ShutDown)));
    /// ```
    pub fn shutdown(&self) {
        self.core.shutdown()
    }

    /// Whether [`shutdown`](Channel::shutdown) was called.
    ///
    /// ```
    /// assert!(!gevent::queue::Channel::<u8>::new().is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.core.is_shutdown()
    }

    /// A blocking iterator over the items put, ending at shutdown; see
    /// [`Iter`].
    ///
    /// ```
    /// let ch = gevent::queue::Channel::new();
    /// let ch2 = ch.clone();
    /// gevent::spawn(move || {
    ///     for i in 0..3 {
    ///         ch2.put(i).unwrap();
    ///     }
    ///     ch2.shutdown();
    /// });
    /// let got: Vec<i32> = ch.iter().map(Result::unwrap).collect();
    /// assert_eq!(got, [0, 1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter::new(&*self.core)
    }
}

impl<T> Default for Channel<T> {
    fn default() -> Self {
        Channel::new()
    }
}

impl<T> Clone for Channel<T> {
    /// Another handle to the same channel.
    fn clone(&self) -> Self {
        Channel {
            core: self.core.clone(),
        }
    }
}

impl<T> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (getters, putters) = self.core.waiting();
        f.debug_struct("Channel")
            .field("getters", &getters)
            .field("putters", &putters)
            .field("shutdown", &self.core.is_shutdown())
            .finish()
    }
}

impl<'a, T> IntoIterator for &'a Channel<T> {
    type Item = Result<T, QueueError>;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> Channel<T> {
    /// Registers `callback` to run once, in the hub, when a putter is
    /// waiting (so a get would not wait) or the channel is shut down:
    /// gevent's `rawlink`. It must not block.
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// let ch: gevent::queue::Channel<u8> = gevent::queue::Channel::new();
    /// let seen = Rc::new(Cell::new(false));
    /// let s = seen.clone();
    /// ch.rawlink(move || s.set(true));
    /// let tx = ch.clone();
    /// gevent::spawn(move || tx.put(1));
    /// gevent::sleep(std::time::Duration::ZERO);
    /// gevent::sleep(std::time::Duration::ZERO);
    /// assert!(seen.get());
    /// assert_eq!(ch.get().unwrap(), 1);
    /// ```
    pub fn rawlink<F: FnOnce() + 'static>(&self, callback: F) -> crate::LinkId {
        self.core
            .links
            .add(Box::new(callback), self.core.get_ready())
    }

    /// Removes a callback added with [`rawlink`](Channel::rawlink) that
    /// has not run yet; returns whether it was removed.
    ///
    /// ```
    /// let ch: gevent::queue::Channel<u8> = gevent::queue::Channel::new();
    /// let id = ch.rawlink(|| ());
    /// assert!(ch.unlink(id));
    /// ```
    pub fn unlink(&self, id: crate::LinkId) -> bool {
        self.core.links.remove(id)
    }
}

impl<T> crate::Waitable for Channel<T> {
    fn is_ready(&self) -> bool {
        self.core.get_ready()
    }
    fn rawlink(&self, callback: Box<dyn FnOnce()>) -> crate::LinkId {
        Channel::rawlink(self, callback)
    }
    fn unlink(&self, id: crate::LinkId) -> bool {
        Channel::unlink(self, id)
    }
}
