//! The methods every buffered queue type shares, generated per type so
//! that each has its own documentation and examples.

macro_rules! queue_methods {
    ($name:ident, $path:literal, [$($bound:tt)*]) => {
        impl<T $($bound)*> $name<T> {
            #[doc = concat!("An unbounded queue: [`put`](", stringify!($name), "::put) never waits.")]
            ///
            /// ```
            #[doc = concat!("let q: ", $path, "<u8> = ", $path, "::new();")]
            /// assert_eq!(q.maxsize(), None);
            /// ```
            pub fn new() -> Self {
                $name {
                    core: std::rc::Rc::new($crate::queue::core::QueueCore::new(None)),
                }
            }

            /// A queue holding at most `maxsize` items: `put` waits while it
            /// is full. `maxsize` 0 makes a rendezvous queue (every put waits
            /// for a getter), like [`Channel`](crate::queue::Channel).
            ///
            /// ```
            #[doc = concat!("let q = ", $path, "::bounded(1);")]
            /// q.put(1)?;
            /// assert!(q.is_full());
            /// assert!(q.try_put(2).is_err());
            /// # Ok::<(), gevent::queue::PutError<i32>>(())
            /// ```
            pub fn bounded(maxsize: usize) -> Self {
                $name {
                    core: std::rc::Rc::new($crate::queue::core::QueueCore::new(Some(maxsize))),
                }
            }

            /// Puts an item, waiting as long as it takes for room. A getter
            /// already waiting gets it directly.
            ///
            /// # Errors
            ///
            /// With the item handed back: [`QueueError::ShutDown`](crate::queue::QueueError::ShutDown)
            /// if the queue is (or gets) shut down, [`QueueError::Wait`](crate::queue::QueueError::Wait)
            /// if waiting is impossible ([`Error::LoopExit`](crate::Error::LoopExit)
            /// and friends). Never fails on an unbounded queue that is not shut down.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = ", $path, "::new();")]
            /// q.put("job")?;
            /// assert_eq!(q.len(), 1);
            /// # Ok::<(), gevent::queue::PutError<&str>>(())
            /// ```
            pub fn put(&self, item: T) -> Result<(), $crate::queue::PutError<T>> {
                self.core.put(item, $crate::queue::core::Wait::Forever)
            }

            /// Puts an item, waiting at most `timeout` for room (zero: do
            /// not wait).
            ///
            /// # Errors
            ///
            /// [`QueueError::Full`](crate::queue::QueueError::Full) when the
            #[doc = concat!("time ran out; otherwise as for [`put`](", stringify!($name), "::put).")]
            /// The item is always handed back.
            ///
            /// # Examples
            ///
            /// ```
            /// use std::time::Duration;
            #[doc = concat!("let q = ", $path, "::bounded(1);")]
            /// q.put(1).unwrap();
            /// let e = q.put_timeout(2, Duration::from_millis(1)).unwrap_err();
            /// assert!(matches!(e.error(), gevent::queue::QueueError::Full));
            /// assert_eq!(e.into_item(), 2);
            /// ```
            pub fn put_timeout(&self, item: T, timeout: std::time::Duration) -> Result<(), $crate::queue::PutError<T>> {
                self.core.put(item, $crate::queue::core::Wait::timeout(timeout))
            }

            /// Puts an item if there is room (or a getter waiting), without
            /// waiting (gevent's `put_nowait`).
            ///
            /// # Errors
            ///
            /// [`QueueError::Full`](crate::queue::QueueError::Full) or
            /// [`QueueError::ShutDown`](crate::queue::QueueError::ShutDown),
            /// with the item handed back.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = ", $path, "::bounded(1);")]
            /// assert!(q.try_put('a').is_ok());
            /// assert_eq!(q.try_put('b').unwrap_err().into_item(), 'b');
            /// ```
            pub fn try_put(&self, item: T) -> Result<(), $crate::queue::PutError<T>> {
                self.core.put(item, $crate::queue::core::Wait::Try)
            }

            /// Takes the next item, waiting as long as it takes. Blocked
            /// getters are served in arrival order.
            ///
            /// # Errors
            ///
            /// [`QueueError::ShutDown`](crate::queue::QueueError::ShutDown)
            /// once the queue is shut down and drained;
            /// [`QueueError::Wait`](crate::queue::QueueError::Wait) if waiting
            /// is impossible (for example [`Error::LoopExit`](crate::Error::LoopExit):
            /// nothing could ever put an item).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = ", $path, "::new();")]
            /// let q2 = q.clone();
            /// gevent::spawn(move || q2.put(42).unwrap());
            /// assert_eq!(q.get()?, 42);
            /// # Ok::<(), gevent::queue::QueueError>(())
            /// ```
            pub fn get(&self) -> Result<T, $crate::queue::QueueError> {
                self.core.get($crate::queue::core::Wait::Forever)
            }

            /// Takes the next item, waiting at most `timeout` (zero: do not
            /// wait).
            ///
            /// # Errors
            ///
            /// [`QueueError::Empty`](crate::queue::QueueError::Empty) when the
            #[doc = concat!("time ran out; otherwise as for [`get`](", stringify!($name), "::get).")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q: ", $path, "<u8> = ", $path, "::new();")]
            /// let r = q.get_timeout(std::time::Duration::from_millis(1));
            /// assert!(matches!(r, Err(gevent::queue::QueueError::Empty)));
            /// ```
            pub fn get_timeout(&self, timeout: std::time::Duration) -> Result<T, $crate::queue::QueueError> {
                self.core.get($crate::queue::core::Wait::timeout(timeout))
            }

            /// Takes the next item if there is one, without waiting
            /// (gevent's `get_nowait`).
            ///
            /// # Errors
            ///
            /// [`QueueError::Empty`](crate::queue::QueueError::Empty), or
            /// [`QueueError::ShutDown`](crate::queue::QueueError::ShutDown)
            /// if it is also shut down.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = ", $path, "::new();")]
            /// assert!(q.try_get().is_err());
            /// q.put(1).unwrap();
            /// assert_eq!(q.try_get()?, 1);
            /// # Ok::<(), gevent::queue::QueueError>(())
            /// ```
            pub fn try_get(&self) -> Result<T, $crate::queue::QueueError> {
                self.core.get($crate::queue::core::Wait::Try)
            }

            /// Returns a clone of the next item without taking it, waiting
            /// as long as it takes for one.
            ///
            /// # Errors
            ///
            #[doc = concat!("As for [`get`](", stringify!($name), "::get).")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = ", $path, "::new();")]
            /// q.put(5).unwrap();
            /// assert_eq!(q.peek()?, 5);
            /// assert_eq!(q.len(), 1);
            /// # Ok::<(), gevent::queue::QueueError>(())
            /// ```
            pub fn peek(&self) -> Result<T, $crate::queue::QueueError>
            where
                T: Clone,
            {
                self.core.peek($crate::queue::core::Wait::Forever)
            }

            /// Like [`peek`](Self::peek), waiting at most `timeout`.
            ///
            /// # Errors
            ///
            #[doc = concat!("As for [`get_timeout`](", stringify!($name), "::get_timeout).")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q: ", $path, "<u8> = ", $path, "::new();")]
            /// assert!(q.peek_timeout(std::time::Duration::from_millis(1)).is_err());
            /// ```
            pub fn peek_timeout(&self, timeout: std::time::Duration) -> Result<T, $crate::queue::QueueError>
            where
                T: Clone,
            {
                self.core.peek($crate::queue::core::Wait::timeout(timeout))
            }

            /// Returns a clone of the next item, if any, without waiting.
            ///
            /// # Errors
            ///
            #[doc = concat!("As for [`try_get`](", stringify!($name), "::try_get).")]
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = ", $path, "::new();")]
            /// q.put("x").unwrap();
            /// assert_eq!(q.try_peek()?, "x");
            /// # Ok::<(), gevent::queue::QueueError>(())
            /// ```
            pub fn try_peek(&self) -> Result<T, $crate::queue::QueueError>
            where
                T: Clone,
            {
                self.core.peek($crate::queue::core::Wait::Try)
            }

            /// How many items it holds (gevent's `qsize()`).
            ///
            /// ```
            #[doc = concat!("let q = ", $path, "::new();")]
            /// q.put(()).unwrap();
            /// assert_eq!(q.len(), 1);
            /// ```
            pub fn len(&self) -> usize {
                self.core.len()
            }

            /// Whether it holds no item.
            ///
            /// ```
            #[doc = concat!("assert!(", $path, "::<u8>::new().is_empty());")]
            /// ```
            pub fn is_empty(&self) -> bool {
                self.core.len() == 0
            }

            /// Whether it holds `maxsize` items (never, if unbounded).
            ///
            /// ```
            #[doc = concat!("let q = ", $path, "::bounded(1);")]
            /// q.put(0).unwrap();
            /// assert!(q.is_full());
            /// ```
            pub fn is_full(&self) -> bool {
                self.core.is_full()
            }

            /// The bound, `None` if unbounded.
            ///
            /// ```
            #[doc = concat!("assert_eq!(", $path, "::<u8>::bounded(4).maxsize(), Some(4));")]
            /// ```
            pub fn maxsize(&self) -> Option<usize> {
                self.core.maxsize()
            }

            /// How many greenlets are blocked in a get (or peek), and in a put.
            ///
            /// ```
            #[doc = concat!("assert_eq!(", $path, "::<u8>::new().waiting(), (0, 0));")]
            /// ```
            pub fn waiting(&self) -> (usize, usize) {
                self.core.waiting()
            }

            /// Shuts the queue down: later puts fail with
            /// [`QueueError::ShutDown`](crate::queue::QueueError::ShutDown)
            /// (blocked putters get it too, with their items back); gets go
            /// on taking the remaining items, then fail with it too (blocked
            /// getters included). Iteration ends there. Idempotent.
            ///
            /// ```
            #[doc = concat!("let q = ", $path, "::new();")]
            /// q.put(1).unwrap();
            /// q.shutdown();
            /// assert!(q.put(2).is_err());
            /// assert_eq!(q.get().unwrap(), 1);
            /// assert!(matches!(q.get(), Err(gevent::queue::QueueError::ShutDown)));
            /// ```
            pub fn shutdown(&self) {
                self.core.shutdown()
            }

            /// Whether [`shutdown`](Self::shutdown) was called.
            ///
            /// ```
            #[doc = concat!("assert!(!", $path, "::<u8>::new().is_shutdown());")]
            /// ```
            pub fn is_shutdown(&self) -> bool {
                self.core.is_shutdown()
            }

            /// A blocking iterator over the items, ending when the queue is
            /// shut down and drained; see [`Iter`](crate::queue::Iter).
            ///
            /// ```
            #[doc = concat!("let q = ", $path, "::new();")]
            /// q.put(1).unwrap();
            /// q.shutdown();
            /// assert_eq!(q.iter().map(Result::unwrap).collect::<Vec<_>>(), [1]);
            /// ```
            pub fn iter(&self) -> $crate::queue::Iter<'_, T> {
                $crate::queue::Iter::new(&*self.core)
            }
        }

        impl<T $($bound)*> Default for $name<T> {
            fn default() -> Self {
                $name::new()
            }
        }

        impl<T> Clone for $name<T> {
            /// Another handle to the same queue.
            fn clone(&self) -> Self {
                $name {
                    core: self.core.clone(),
                }
            }
        }

        impl<T $($bound)*> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut d = f.debug_struct(stringify!($name));
                self.core.debug_fields(&mut d);
                d.finish()
            }
        }

        impl<T $($bound)*> $name<T> {
            /// Registers `callback` to run once, in the hub, when an item
            /// can be taken without waiting or the queue is shut down
            /// (soon, if that is so now): gevent's `Queue.rawlink`. It must
            /// not block; another greenlet may take the item first.
            ///
            /// ```
            /// use std::{cell::Cell, rc::Rc};
            #[doc = concat!("let q = ", $path, "::new();")]
            /// let seen = Rc::new(Cell::new(false));
            /// let s = seen.clone();
            /// q.rawlink(move || s.set(true));
            /// q.put(1)?;
            /// gevent::sleep(std::time::Duration::ZERO);
            /// assert!(seen.get());
            /// # Ok::<(), gevent::queue::PutError<i32>>(())
            /// ```
            pub fn rawlink<F: FnOnce() + 'static>(&self, callback: F) -> $crate::LinkId {
                self.core.links.add(Box::new(callback), self.core.get_ready())
            }

            /// Removes a callback added with `rawlink` that has not run
            /// yet; returns whether it was removed.
            ///
            /// ```
            #[doc = concat!("let q: ", $path, "<u8> = ", $path, "::new();")]
            /// let id = q.rawlink(|| ());
            /// assert!(q.unlink(id));
            /// ```
            pub fn unlink(&self, id: $crate::LinkId) -> bool {
                self.core.links.remove(id)
            }
        }

        impl<T $($bound)*> $crate::Waitable for $name<T> {
            fn is_ready(&self) -> bool {
                self.core.get_ready()
            }
            fn rawlink(&self, callback: Box<dyn FnOnce()>) -> $crate::LinkId {
                $name::rawlink(self, callback)
            }
            fn unlink(&self, id: $crate::LinkId) -> bool {
                $name::unlink(self, id)
            }
        }

        impl<'a, T $($bound)*> IntoIterator for &'a $name<T> {
            type Item = Result<T, $crate::queue::QueueError>;
            type IntoIter = $crate::queue::Iter<'a, T>;

            fn into_iter(self) -> Self::IntoIter {
                self.iter()
            }
        }
    };
}

pub(crate) use queue_methods;
