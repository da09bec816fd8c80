//! [`Embed`]: one loop nested in another.

use std::io;
use std::rc::Rc;

use libev_sys as ffi;

use super::watcher::{WatcherCell, common_methods, watcher_kind};
use super::{Events, Loop};

watcher_kind!(EmbedKind, Embed, ffi::ev_embed, "embed", ffi::ev_embed_start, ffi::ev_embed_stop;
    // ev_embed_start starts the embed watcher and its internal io, prepare
    // and fork watchers: four loop references.
    const REFS: u32 = 4;
);

/// An embed watcher: makes an embeddable loop's events show up in this one
/// (`ev_embed`), for example a kqueue loop for sockets inside a select
/// loop. Without a callback the embedded loop is swept automatically;
/// with one, call [`sweep`](Embed::sweep) from it. Which of the two is
/// fixed at creation: on a watcher made without a callback,
/// [`set_callback`](Embed::set_callback) stores a callback that libev never
/// calls, and [`feed`](Embed::feed) and [`invoke`](Embed::invoke) do
/// nothing.
///
/// # Examples
///
/// ```
/// use gevent::core::{Embed, Loop};
///
/// let outer = Loop::new()?;
/// if let Some(b) = Loop::embeddable_backends().iter().find(|b| Loop::with_backend(*b).is_ok()) {
///     let inner = Loop::with_backend(b)?;
///     let e = Embed::new(&outer, &inner, None::<fn(&Embed, gevent::core::Events)>)?;
///     e.start()?;
///     e.stop();
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
#[repr(transparent)]
pub struct Embed {
    inner: Rc<WatcherCell<EmbedKind>>,
}

impl Embed {
    /// Creates a stopped watcher embedding `other` into `lp`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `other` is `lp` itself or its backend cannot be
    /// embedded (see [`Loop::embeddable_backends`]); libev would abort.
    ///
    /// # Examples
    ///
    /// ```
    /// use gevent::core::{Backend, Embed, Events, Loop};
    /// let lp = Loop::with_backend(Backend::Poll)?;
    /// let other = Loop::with_backend(Backend::Poll)?; // poll is not embeddable
    /// assert!(Embed::new(&lp, &other, None::<fn(&Embed, Events)>).is_err());
    /// assert!(Embed::new(&lp, &lp, None::<fn(&Embed, Events)>).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<F: FnMut(&Embed, Events) + 'static>(
        lp: &Loop,
        other: &Loop,
        cb: Option<F>,
    ) -> io::Result<Embed> {
        if lp.ptr_eq(other) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a loop cannot embed itself",
            ));
        }
        if !Loop::embeddable_backends().contains(other.backend()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a loop with the {} backend cannot be embedded; embeddable backends here: {}",
                    other.backend(),
                    Loop::embeddable_backends()
                ),
            ));
        }
        let has_cb = cb.is_some();
        let other_ptr = other.as_ptr();
        let inner = WatcherCell::new(
            lp,
            cb.map(|f| Box::new(f) as Box<dyn FnMut(&Embed, Events)>),
            |w| {
                // SAFETY: fresh, inactive watcher; `other` is kept alive in `extra`.
                unsafe {
                    ffi::ev_embed_set(w, other_ptr);
                    if !has_cb {
                        // A NULL callback asks libev to sweep automatically.
                        ffi::ev_set_cb(w, None);
                    }
                }
            },
        );
        *inner.extra.borrow_mut() = Some(Box::new(other.clone()));
        Ok(Embed { inner })
    }

    /// Runs the embedded loop once without blocking (`ev_embed_sweep`).
    /// Call it from the callback of an embed watcher made with one.
    ///
    /// ```
    /// use gevent::core::{Embed, Events, Loop, Timer};
    /// use std::{cell::Cell, rc::Rc, time::Duration};
    ///
    /// let outer = Loop::new()?;
    /// # let Some(b) = Loop::embeddable_backends().iter().find(|b| Loop::with_backend(*b).is_ok()) else { return Ok(()) };
    /// let inner = Loop::with_backend(b)?; // an embeddable backend
    /// let fired = Rc::new(Cell::new(false));
    /// let f = fired.clone();
    /// let t = Timer::new(&inner, Duration::ZERO, Duration::ZERO, move |_, _| f.set(true));
    /// t.start()?;
    /// let e = Embed::new(&outer, &inner, Some(|e: &Embed, _: Events| e.sweep()))?;
    /// e.start()?;
    /// e.sweep(); // runs the inner loop's due timer now
    /// assert!(fired.get());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sweep(&self) {
        // SAFETY: valid loops and watcher.
        unsafe { ffi::ev_embed_sweep(self.inner.lp.as_ptr(), self.inner.raw()) }
    }

    /// The embedded loop.
    ///
    /// ```
    /// use gevent::core::{Embed, Events, Loop};
    /// let outer = Loop::new()?;
    /// # let Some(b) = Loop::embeddable_backends().iter().find(|b| Loop::with_backend(*b).is_ok()) else { return Ok(()) };
    /// let inner = Loop::with_backend(b)?; // an embeddable backend
    /// let e = Embed::new(&outer, &inner, None::<fn(&Embed, Events)>)?;
    /// assert_eq!(e.other().as_ptr(), inner.as_ptr());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn other(&self) -> Loop {
        let extra = self.inner.extra.borrow();
        extra
            .as_ref()
            .and_then(|b| b.downcast_ref::<Loop>())
            .cloned()
            .expect("embedded loop")
    }
}

common_methods!(
    Embed,
    "# let lp = Loop::new()?;\n# // An embeddable backend usable here (none: nothing to show).\n# let Some(b) = Loop::embeddable_backends().iter().find(|b| Loop::with_backend(*b).is_ok()) else { return Ok(()) };\n# let other = Loop::with_backend(b)?;\n",
    "Embed::new(&lp, &other, Some(|e: &Embed, _| e.sweep()))?"
);
