//! [`Group`] and [`Pool`]: sets of greenlets, the pool bounded (gevent's
//! `gevent.pool`).
//!
//! * A [`Group`] tracks greenlets (spawned through it or added): wait for
//!   them all ([`join`](Group::join)), kill them all
//!   ([`kill`](Group::kill)), map a function over an input with one
//!   greenlet per item ([`map`](Group::map), [`imap`](Group::imap),
//!   [`imap_unordered`](Group::imap_unordered)).
//! * A [`Pool`] is a group of at most `size` greenlets:
//!   [`spawn`](Pool::spawn) waits while it is full, which is how to limit
//!   concurrency — say, resolve 10,000 names 100 at a time. Waiting
//!   spawners are served first come, first served, and one that is killed
//!   or times out while waiting never takes a slot with it.
//!
//! Greenlets leave their group when they die. Groups and pools are `!Send`
//! and cheap to clone (clones share the set).
//!
//! # Example
//!
//! ```
//! use gevent::pool::Pool;
//! use std::time::Duration;
//!
//! let names = ["a.example", "b.example", "c.example", "d.example"];
//! let pool = Pool::new(2)?; // at most two lookups at a time
//! let lengths: Vec<usize> = pool
//!     .imap(names, |name| {
//!         gevent::sleep(Duration::from_millis(1)); // a lookup
//!         name.len()
//!     })
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(lengths, [9, 9, 9, 9]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod group;
mod imap;
mod imap_engine;
mod imap_unordered;
mod members;
#[allow(clippy::module_inception)]
mod pool;
mod pool_full;

pub use group::Group;
pub use imap::IMap;
pub use imap_unordered::IMapUnordered;
pub use pool::Pool;
pub use pool_full::PoolFull;

use std::rc::Rc;

use crate::{Error, Greenlet};
use imap_engine::{Engine, Source};
use members::Members;

/// Spawns `f` as a member, waiting for a slot in a pool.
fn spawn_member<T: 'static, F: FnOnce() -> T + 'static>(
    m: &Rc<Members>,
    f: F,
) -> Result<Greenlet<T>, Error> {
    let slot = if m.bounded() {
        Some(m.acquire(None)?)
    } else {
        None
    };
    let g = crate::spawn(f);
    m.insert(&g.handle(), slot);
    Ok(g)
}

/// `apply`: runs `f` in a member greenlet and waits for its value; runs it
/// directly if the caller already is a member (so a full pool cannot
/// deadlock on its own members).
fn apply<T: 'static, F: FnOnce() -> T + 'static>(m: &Rc<Members>, f: F) -> Result<T, Error> {
    if m.contains(crate::getcurrent().id()) {
        return Ok(f());
    }
    spawn_member(m, f)?.take()
}

/// Makes each input item an unstarted greenlet running `f` on it (one
/// allocation per item: the greenlet's closure).
fn bind<'a, I, It, T, E, F>(items: It, f: F) -> Source<'a, T, E>
where
    It: IntoIterator<Item = Result<I, E>>,
    It::IntoIter: 'a,
    I: 'static,
    T: 'static,
    E: 'a,
    F: Fn(I) -> T + 'static,
{
    let f = Rc::new(f);
    Box::new(items.into_iter().map(move |r| {
        r.map(|item| {
            let f = f.clone();
            Greenlet::new(move || f(item))
        })
    }))
}

/// The engine behind imap and friends: `f` bound to each input item, in
/// `members`, with the default bound — twice the pool's size (in flight
/// plus as many finished and waiting for their turn); none for a group.
fn engine<'a, I, It, T, E, F>(
    members: &Rc<Members>,
    items: It,
    f: F,
    ordered: bool,
) -> Engine<'a, T, E>
where
    It: IntoIterator<Item = Result<I, E>>,
    It::IntoIter: 'a,
    I: 'static,
    T: 'static,
    E: From<Error> + 'a,
    F: Fn(I) -> T + 'static,
{
    let max = members.size().saturating_mul(2);
    Engine::new(members.clone(), bind(items, f), ordered, max)
}

/// The methods Group and Pool share, with docs and examples for each.
macro_rules! shared_methods {
    ($ty:ident, $new:literal, $spawn:literal) => {
        impl $ty {
            /// How many greenlets are members (alive, or dead a moment ago).
            ///
            /// ```
            #[doc = concat!("let group = ", $new, ";")]
            /// assert_eq!(group.len(), 0);
            #[doc = concat!("let g = group.spawn(|| ())", $spawn, ";")]
            /// assert_eq!(group.len(), 1);
            /// g.join()?;
            /// assert_eq!(group.len(), 0);
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn len(&self) -> usize {
                self.members.len()
            }

            /// Whether there are no members.
            ///
            /// ```
            #[doc = concat!("assert!(", $new, ".is_empty());")]
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn is_empty(&self) -> bool {
                self.members.len() == 0
            }

            /// Whether `g` is a member.
            ///
            /// ```
            #[doc = concat!("let group = ", $new, ";")]
            #[doc = concat!("let g = group.spawn(|| ())", $spawn, ";")]
            /// assert!(group.contains(&g));
            /// assert!(!group.contains(&gevent::spawn(|| ())));
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn contains<G: AsGreenlet>(&self, g: &G) -> bool {
                self.members.contains(g.greenlet_ref().id())
            }

            /// The members, oldest greenlet first.
            ///
            /// ```
            #[doc = concat!("let group = ", $new, ";")]
            #[doc = concat!("let g = group.spawn(|| ())", $spawn, ";")]
            /// assert_eq!(group.greenlets()[0].id(), g.id());
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn greenlets(&self) -> Vec<GreenletRef> {
                self.members.snapshot()
            }

            /// Removes `g` from the set without touching it (in a pool,
            /// its slot is freed); returns whether it was a member.
            ///
            /// ```
            #[doc = concat!("let group = ", $new, ";")]
            #[doc = concat!("let g = group.spawn(|| ())", $spawn, ";")]
            /// assert!(group.discard(&g));
            /// assert!(!group.discard(&g));
            /// assert!(group.is_empty());
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn discard<G: AsGreenlet>(&self, g: &G) -> bool {
                self.members.discard(g.greenlet_ref().id())
            }

            /// Waits until every member has finished, including greenlets
            /// that join meanwhile. A member calling this waits for the
            /// others.
            ///
            /// # Errors
            ///
            /// Only if waiting is impossible: [`Error::LoopExit`],
            /// [`Error::BlockingInHub`], [`Error::Unwinding`].
            ///
            /// ```
            #[doc = concat!("let group = ", $new, ";")]
            /// for ms in [3, 1, 2] {
            #[doc = concat!("    group.spawn(move || gevent::sleep(std::time::Duration::from_millis(ms)))", $spawn, ";")]
            /// }
            /// group.join()?;
            /// assert!(group.is_empty());
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn join(&self) -> Result<(), Error> {
                self.members.join(None, false).map(|_| ())
            }

            /// Like [`join`](Self::join), at most `timeout`; returns
            /// whether every member finished.
            ///
            /// # Errors
            ///
            /// As for [`join`](Self::join).
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let group = ", $new, ";")]
            #[doc = concat!("group.spawn(|| gevent::sleep(Duration::from_secs(60)))", $spawn, ";")]
            /// assert!(!group.join_timeout(Duration::from_millis(1))?);
            /// group.kill()?;
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn join_timeout(&self, timeout: Duration) -> Result<bool, Error> {
                self.members.join(Some(timeout), false)
            }

            /// Kills every member (with `GreenletExit`), including greenlets
            /// that join meanwhile, and waits until they are gone. A member
            /// calling this kills the others, not itself.
            ///
            /// # Errors
            ///
            /// As for [`join`](Self::join).
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let group = ", $new, ";")]
            #[doc = concat!("let g = group.spawn(|| gevent::sleep(Duration::from_secs(60)))", $spawn, ";")]
            /// group.kill()?;
            /// assert!(g.dead() && group.is_empty());
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn kill(&self) -> Result<(), Error> {
                self.members.join(None, true).map(|_| ())
            }

            /// Like [`kill`](Self::kill), waiting at most `timeout` for the
            /// members to die (they may run cleanup that blocks); returns
            /// whether they all did.
            ///
            /// # Errors
            ///
            /// As for [`join`](Self::join).
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let group = ", $new, ";")]
            #[doc = concat!("group.spawn(|| gevent::sleep(Duration::from_secs(60)))", $spawn, ";")]
            /// assert!(group.kill_timeout(Duration::from_secs(5))?);
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn kill_timeout(&self, timeout: Duration) -> Result<bool, Error> {
                self.members.join(Some(timeout), true)
            }

            /// Kills `g` and waits for it to die, if it is a member (does
            /// nothing otherwise).
            ///
            /// # Errors
            ///
            /// As for [`join`](Self::join).
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let group = ", $new, ";")]
            #[doc = concat!("let a = group.spawn(|| gevent::sleep(Duration::from_secs(60)))", $spawn, ";")]
            #[doc = concat!("let b = group.spawn(|| gevent::sleep(Duration::from_millis(1)))", $spawn, ";")]
            /// group.killone(&a)?;
            /// assert!(a.dead() && !group.contains(&a));
            /// group.join()?;
            /// assert!(b.successful());
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn killone<G: AsGreenlet>(&self, g: &G) -> Result<(), Error> {
                let g = g.greenlet_ref();
                if self.members.contains(g.id()) {
                    g.kill()?;
                }
                Ok(())
            }

            /// Runs `f` in a new member greenlet and waits for its value
            /// (directly, if the caller already is a member).
            ///
            /// # Errors
            ///
            /// The greenlet's failure (`Error::Panicked`, ...) or why
            /// waiting was impossible.
            ///
            /// ```
            #[doc = concat!("let group = ", $new, ";")]
            /// assert_eq!(group.apply(|| 6 * 7)?, 42);
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn apply<T: 'static, F: FnOnce() -> T + 'static>(&self, f: F) -> Result<T, Error> {
                apply(&self.members, f)
            }

            /// Runs `f` on every item, each in its own member greenlet, and
            /// returns the values in input order.
            ///
            /// # Errors
            ///
            /// The first failure in input order (the tasks still running
            /// are then killed), or why waiting was impossible.
            ///
            /// ```
            #[doc = concat!("let group = ", $new, ";")]
            /// assert_eq!(group.map(1..=4, |x| x * 10)?, [10, 20, 30, 40]);
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn map<I, It, T, F>(&self, items: It, f: F) -> Result<Vec<T>, Error>
            where
                It: IntoIterator<Item = I>,
                I: 'static,
                T: 'static,
                F: Fn(I) -> T + 'static,
            {
                self.imap(items, f).maxsize(usize::MAX).collect()
            }

            /// Like [`map`](Self::map), lazily: an iterator of the results
            /// in input order, with bounded buffering (see [`IMap`]).
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let group = ", $new, ";")]
            /// let out: Vec<_> = group
            ///     .imap([3u64, 1, 2], |ms| { gevent::sleep(Duration::from_millis(ms)); ms })
            ///     .map(Result::unwrap)
            ///     .collect();
            /// assert_eq!(out, [3, 1, 2]);
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn imap<'a, I, It, T, F>(&self, items: It, f: F) -> IMap<'a, T>
            where
                It: IntoIterator<Item = I>,
                It::IntoIter: 'a,
                I: 'static,
                T: 'static,
                F: Fn(I) -> T + 'static,
            {
                self.try_imap(items.into_iter().map(Ok), f)
            }

            /// Like [`imap`](Self::imap), yielding results as they finish
            /// (see [`IMapUnordered`]).
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let group = ", $new, ";")]
            /// let out: Vec<_> = group
            ///     .imap_unordered([30u64, 1], |ms| { gevent::sleep(Duration::from_millis(ms)); ms })
            ///     .map(Result::unwrap)
            ///     .collect();
            /// assert_eq!(out, [1, 30]);
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn imap_unordered<'a, I, It, T, F>(&self, items: It, f: F) -> IMapUnordered<'a, T>
            where
                It: IntoIterator<Item = I>,
                It::IntoIter: 'a,
                I: 'static,
                T: 'static,
                F: Fn(I) -> T + 'static,
            {
                self.try_imap_unordered(items.into_iter().map(Ok), f)
            }

            /// [`imap`](Self::imap) over a fallible input (lines of a file,
            /// say): an `Err(e)` from the input is yielded at its position,
            /// after the results before it, and ends the iteration (nothing
            /// after it is taken). Task failures become `E` through
            /// `From<gevent::Error>` (`io::Error` qualifies).
            ///
            /// ```
            /// use std::io;
            #[doc = concat!("let group = ", $new, ";")]
            /// let input = vec![Ok(1), Ok(2), Err(io::Error::other("bad line")), Ok(4)];
            /// let out: Vec<io::Result<i32>> = group.try_imap(input, |x| x * 2).collect();
            /// assert_eq!(out.len(), 3);
            /// assert_eq!(*out[1].as_ref().unwrap(), 4);
            /// assert_eq!(out[2].as_ref().unwrap_err().to_string(), "bad line");
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn try_imap<'a, I, E, It, T, F>(&self, items: It, f: F) -> IMap<'a, T, E>
            where
                It: IntoIterator<Item = Result<I, E>>,
                It::IntoIter: 'a,
                I: 'static,
                E: From<Error> + 'a,
                T: 'static,
                F: Fn(I) -> T + 'static,
            {
                IMap::new(engine(&self.members, items, f, true))
            }

            /// [`imap_unordered`](Self::imap_unordered) over a fallible
            /// input: an `Err(e)` from the input is yielded once everything
            /// taken before it has been, and ends the iteration.
            ///
            /// ```
            /// use std::io;
            #[doc = concat!("let group = ", $new, ";")]
            /// let input = vec![Ok(1), Err(io::Error::other("bad")), Ok(3)];
            /// let out: Vec<io::Result<i32>> = group.try_imap_unordered(input, |x| x).collect();
            /// assert_eq!(out.len(), 2);
            /// assert!(out[1].is_err());
            /// # Ok::<(), Box<dyn std::error::Error>>(())
            /// ```
            pub fn try_imap_unordered<'a, I, E, It, T, F>(
                &self,
                items: It,
                f: F,
            ) -> IMapUnordered<'a, T, E>
            where
                It: IntoIterator<Item = Result<I, E>>,
                It::IntoIter: 'a,
                I: 'static,
                E: From<Error> + 'a,
                T: 'static,
                F: Fn(I) -> T + 'static,
            {
                IMapUnordered::new(engine(&self.members, items, f, false))
            }
        }
    };
}

use shared_methods;
