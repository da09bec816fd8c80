//! [`ChildStdin`], [`ChildStdout`], [`ChildStderr`]: the parent's ends of
//! a child's pipes, as cooperative streams.
//!
//! Each wraps an [`Async`] of the pipe end (the crate's cooperative fd
//! wrapper: try, wait on the fd's io watcher, retry), driven with
//! `read(2)`/`write(2)`.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::Stdio;

use super::reap::set_nonblocking;
use crate::io::Async;

/// One pipe end in non-blocking mode, wrapped for cooperative waits (a
/// `File` only for its `read(2)`/`write(2)` on `&File`).
pub(crate) struct Pipe {
    file: Async<File>,
}

impl Pipe {
    /// Takes over a pipe end from std (making it non-blocking).
    pub(crate) fn new(fd: OwnedFd) -> io::Result<Pipe> {
        set_nonblocking(&fd, true)?;
        Ok(Pipe {
            file: Async::from_nonblocking(File::from(fd)),
        })
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// `read(2)` once, without waiting.
    pub(crate) fn read_now(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.get_ref().read(buf)
    }

    /// `write(2)` once, without waiting (a closed reader gives
    /// `BrokenPipe`: Rust programs ignore `SIGPIPE`).
    pub(crate) fn write_now(&self, buf: &[u8]) -> io::Result<usize> {
        self.file.get_ref().write(buf)
    }

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.file).read(buf)
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        (&self.file).write(buf)
    }

    /// The descriptor in blocking mode again, for another process.
    fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        let fd = OwnedFd::from(self.file.into_inner_nonblocking());
        set_nonblocking(&fd, false)?;
        Ok(fd)
    }
}

macro_rules! pipe_type {
    ($name:ident, $what:literal, $std:ident) => {
        #[doc = concat!("The parent's end of a child's ", $what, " (`std::process::", stringify!($std), "`), cooperative: a read or write that would block parks only the calling greenlet.")]
        ///
        /// Dropping it closes the pipe. It converts into [`Stdio`] (to
        /// connect it to another child: a pipeline) and into an
        /// [`OwnedFd`]; both give the descriptor back in blocking mode.
        pub struct $name {
            pub(crate) pipe: Pipe,
        }

        impl $name {
            /// Takes over std's pipe end (made non-blocking).
            ///
            /// # Errors
            ///
            /// `fcntl`'s error if the descriptor's mode cannot be changed.
            ///
            /// ```
            /// use std::process::{Command, Stdio};
            #[doc = concat!("let mut c = Command::new(\"true\").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;")]
            #[doc = concat!("let p = gevent::process::", stringify!($name), "::from_std(c.", $what, ".take().unwrap())?;")]
            /// # drop(p); c.wait()?;
            /// # Ok::<(), std::io::Error>(())
            /// ```
            pub fn from_std(s: std::process::$std) -> io::Result<$name> {
                Ok($name {
                    pipe: Pipe::new(OwnedFd::from(s))?,
                })
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.pipe.fd()
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe.file.as_fd()
            }
        }

        impl TryFrom<$name> for OwnedFd {
            type Error = io::Error;
            /// The descriptor, back in blocking mode.
            fn try_from(p: $name) -> io::Result<OwnedFd> {
                p.pipe.into_blocking_fd()
            }
        }

        impl TryFrom<$name> for Stdio {
            type Error = io::Error;
            /// For another child's stdio (a pipeline), back in blocking mode.
            fn try_from(p: $name) -> io::Result<Stdio> {
                Ok(Stdio::from(p.pipe.into_blocking_fd()?))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("fd", &self.pipe.fd()).finish()
            }
        }
    };
}

pipe_type!(ChildStdin, "stdin", ChildStdin);
pipe_type!(ChildStdout, "stdout", ChildStdout);
pipe_type!(ChildStderr, "stderr", ChildStderr);

impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pipe.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pipe.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.pipe.read(buf)
    }
}

impl Read for &ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.pipe.read(buf)
    }
}

impl Read for ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.pipe.read(buf)
    }
}

impl Read for &ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.pipe.read(buf)
    }
}
