//! `gevent::io::Async<T>`, the cooperative fd wrapper, used directly: on a
//! pipe, a socket pair, a wrapped std `TcpStream`, with timeouts, close
//! waking waiters, the user's non-blocking mode, and bad input. Every test
//! runs on every usable backend.

#[path = "util/greenlet.rs"]
mod gutil;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use gevent::io::Async;
use gevent::{sleep, spawn, with_timeout};
use gutil::each_backend;

fn is_nonblocking(fd: RawFd) -> bool {
    // SAFETY: F_GETFL on an open descriptor.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    assert!(fl >= 0);
    fl & libc::O_NONBLOCK != 0
}

#[test]
fn pipe_read_parks_only_the_reader_and_into_inner_restores_blocking_mode() {
    each_backend(|| {
        let (r, w) = io::pipe().unwrap();
        let raw = r.as_raw_fd();
        let r = Async::new(r).unwrap();
        assert!(is_nonblocking(raw));
        assert!(!r.is_nonblocking());
        let mut w = Async::new(w).unwrap();
        let reader = spawn(move || {
            let mut buf = Vec::new();
            (&r).read_to_end(&mut buf).map(|_| (buf, r))
        });
        sleep(Duration::from_millis(5));
        assert!(!reader.ready(), "the reader must be parked, not done");
        w.write_all(b"first ").unwrap();
        sleep(Duration::from_millis(1));
        w.write_all(b"second").unwrap();
        drop(w);
        let (buf, r) = reader.take().unwrap().unwrap();
        assert_eq!(buf, b"first second");
        let r = r.into_inner().unwrap();
        assert_eq!(r.as_raw_fd(), raw);
        assert!(
            !is_nonblocking(raw),
            "into_inner gives the pipe back blocking"
        );
    });
}

#[test]
fn a_full_pipe_parks_the_writer_until_the_reader_drains_it() {
    each_backend(|| {
        let (r, w) = io::pipe().unwrap();
        let r = Async::new(r).unwrap();
        let w = Async::new(w).unwrap();
        // More than a pipe holds (64 KiB by default).
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let expect = data.clone();
        let writer = spawn(move || (&w).write_all(&data));
        let mut got = Vec::new();
        (&r).read_to_end(&mut got).unwrap();
        writer.take().unwrap().unwrap();
        assert_eq!(got, expect);
    });
}

#[test]
fn socketpair_echo_through_read_with_and_write_with() {
    each_backend(|| {
        let (a, b) = UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        let b = Async::new(b).unwrap();
        let echo = spawn(move || -> io::Result<usize> {
            let mut total = 0;
            let mut buf = [0; 256];
            loop {
                let n = b.read_with(|mut s| s.read(&mut buf))?;
                if n == 0 {
                    return Ok(total);
                }
                total += n;
                b.write_with(|mut s| s.write_all(&buf[..n]))?;
            }
        });
        for i in 0..50u8 {
            let msg = [i; 100];
            a.write_with(|mut s| s.write_all(&msg)).unwrap();
            let mut back = [0; 100];
            (&a).read_exact(&mut back).unwrap();
            assert_eq!(back, msg);
        }
        a.get_ref().shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(echo.take().unwrap().unwrap(), 5000);
    });
}

#[test]
fn wrapped_std_tcp_stream_round_trip_and_readable_writable() {
    each_backend(|| {
        let l = Async::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
        let addr = l.get_ref().local_addr().unwrap();
        let server = spawn(move || -> io::Result<Vec<u8>> {
            let (s, _) = l.read_with(|l| l.accept())?;
            let mut s = Async::new(s)?;
            s.readable()?;
            let mut buf = vec![0; 5];
            s.read_exact(&mut buf)?;
            s.writable()?;
            s.write_all(b"world")?;
            Ok(buf)
        });
        let c = TcpStream::connect(addr).unwrap();
        let mut c = Async::new(c).unwrap();
        c.write_all(b"hello").unwrap();
        let mut back = [0; 5];
        c.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"world");
        assert_eq!(server.take().unwrap().unwrap(), b"hello");
    });
}

#[test]
fn read_timeout_gives_would_block_and_other_greenlets_run_meanwhile() {
    each_backend(|| {
        let (a, _b) = UnixStream::pair().unwrap();
        let mut a = Async::new(a).unwrap();
        a.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        assert_eq!(a.read_timeout().unwrap(), Some(Duration::from_millis(20)));
        let ticker = spawn(|| {
            sleep(Duration::from_millis(1));
            7
        });
        let e = a.read(&mut [0; 8]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
        assert!(ticker.ready(), "the other greenlet ran while we waited");
        assert_eq!(ticker.take().unwrap(), 7);
        assert_eq!(a.readable().unwrap_err().kind(), ErrorKind::WouldBlock);
        // Still usable afterwards.
        a.set_read_timeout(None).unwrap();
        assert_eq!(a.read_timeout().unwrap(), None);
    });
}

#[test]
fn write_timeout_on_a_full_pipe() {
    each_backend(|| {
        let (_r, w) = io::pipe().unwrap();
        let mut w = Async::new(w).unwrap();
        w.set_write_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let chunk = vec![0u8; 1 << 16];
        let mut written = 0usize;
        let e = loop {
            match w.write(&chunk) {
                Ok(n) => written += n,
                Err(e) => break e,
            }
        };
        assert!(written > 0, "the pipe took some data before it filled up");
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
        assert_eq!(w.writable().unwrap_err().kind(), ErrorKind::WouldBlock);
    });
}

#[test]
fn an_enclosing_timeout_interrupts_a_read() {
    each_backend(|| {
        let (r, _w) = io::pipe().unwrap();
        let r = Async::new(r).unwrap();
        let e = with_timeout(Duration::from_millis(10), || (&r).read(&mut [0; 4])).unwrap_err();
        assert!(e.is_timeout());
        // The slot was released: a later read can wait again.
        r.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        assert_eq!(
            (&r).read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    });
}

#[test]
fn duration_max_and_zero_timeouts() {
    each_backend(|| {
        let (r, mut w) = io::pipe().unwrap();
        let r = Async::new(r).unwrap();
        r.set_read_timeout(Some(Duration::MAX)).unwrap();
        assert_eq!(r.read_timeout().unwrap(), Some(Duration::MAX));
        let e = r.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(r.read_timeout().unwrap(), Some(Duration::MAX), "unchanged");
        let e = r.set_write_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        // A read with an unrepresentable deadline waits, and completes.
        let reader = spawn(move || {
            let mut buf = [0; 3];
            (&r).read_exact(&mut buf).map(|_| buf)
        });
        sleep(Duration::from_millis(2));
        w.write_all(b"max").unwrap();
        assert_eq!(&reader.take().unwrap().unwrap(), b"max");
    });
}

#[test]
fn close_wakes_a_waiting_reader_with_not_connected() {
    each_backend(|| {
        let (a, b) = UnixStream::pair().unwrap();
        let a = std::rc::Rc::new(Async::new(a).unwrap());
        let a2 = a.clone();
        let reader = spawn(move || (&*a2).read(&mut [0; 8]));
        sleep(Duration::from_millis(2));
        assert!(!reader.ready());
        a.close();
        let e = reader.take().unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotConnected);
        assert!(a.is_closed());
        // Every later operation fails the same way; closing twice is fine.
        a.close();
        assert_eq!(
            a.read_with(|_| Ok(())).unwrap_err().kind(),
            ErrorKind::NotConnected
        );
        assert_eq!(a.writable().unwrap_err().kind(), ErrorKind::NotConnected);
        assert_eq!(
            a.set_nonblocking(true).unwrap_err().kind(),
            ErrorKind::NotConnected
        );
        assert_eq!(
            a.read_timeout().unwrap_err().kind(),
            ErrorKind::NotConnected
        );
        // The peer sees the end, although `a` is not dropped yet (at the
        // hub's next loop iteration with linuxaio and io_uring, which hold
        // the socket until then: hence a cooperative read).
        let b = Async::new(b).unwrap();
        b.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        assert_eq!((&b).read(&mut [0; 8]).unwrap(), 0);
        let a = std::rc::Rc::try_unwrap(a).ok().unwrap();
        assert_eq!(a.into_inner().unwrap_err().kind(), ErrorKind::NotConnected);
    });
}

#[test]
fn close_keeps_the_descriptor_number_reserved_until_drop() {
    each_backend(|| {
        let (r, _w) = io::pipe().unwrap();
        let r = Async::new(r).unwrap();
        let raw = r.as_raw_fd();
        r.close();
        // A new descriptor never takes the closed one's number while the
        // Async lives.
        let (r2, w2) = io::pipe().unwrap();
        assert_ne!(r2.as_raw_fd(), raw);
        assert_ne!(w2.as_raw_fd(), raw);
        // SAFETY: F_GETFD on a number we still own (parked on /dev/null).
        assert!(unsafe { libc::fcntl(raw, libc::F_GETFD) } >= 0);
        drop(r);
        // SAFETY: F_GETFD on a number nobody owns any more: EBADF.
        assert!(unsafe { libc::fcntl(raw, libc::F_GETFD) } < 0 || raw == r2.as_raw_fd());
    });
}

#[test]
fn user_non_blocking_mode_returns_would_block() {
    each_backend(|| {
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let mut a = Async::new(a).unwrap();
        assert!(a.is_nonblocking());
        assert_eq!(
            a.read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(
            a.read_with(|mut s| s.read(&mut [0; 4])).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // Back to cooperative: now it waits (bounded by the timeout).
        a.set_nonblocking(false).unwrap();
        a.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        assert_eq!(
            a.read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // into_inner keeps the user's non-blocking mode.
        a.set_nonblocking(true).unwrap();
        let raw = a.as_raw_fd();
        let _s = a.into_inner().unwrap();
        assert!(is_nonblocking(raw));
    });
}

#[test]
fn socket_timeouts_are_taken_over_and_given_back() {
    each_backend(|| {
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_read_timeout(Some(Duration::from_millis(15))).unwrap();
        let mut a = Async::new(a).unwrap();
        // The kernel rounds to its clock tick.
        let t = a.read_timeout().unwrap().unwrap();
        assert!(
            t >= Duration::from_millis(15) && t < Duration::from_secs(1),
            "{t:?}"
        );
        assert_eq!(
            a.read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
        let a = a.into_inner().unwrap();
        assert!(!is_nonblocking(a.as_raw_fd()));
        assert_eq!(a.write_timeout().unwrap(), Some(Duration::from_secs(3)));
        assert!(a.read_timeout().unwrap().is_some());
    });
}

/// An I/O object whose descriptor number is whatever the test says: a
/// number that is not open, or a huge one.
#[derive(Debug)]
struct Bogus(RawFd);

impl AsFd for Bogus {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: only `Async::new` sees it, which must reject it with
        // `EBADF` before anything else uses it.
        unsafe { BorrowedFd::borrow_raw(self.0) }
    }
}

#[test]
fn a_descriptor_that_is_not_open_is_refused_with_an_error() {
    each_backend(|| {
        // A number that was open and is closed now.
        let (r, w) = io::pipe().unwrap();
        let raw = r.as_raw_fd();
        drop(r);
        drop(w);
        for fd in [raw, i32::MAX - 1, 1 << 24] {
            let e = Async::new(Bogus(fd)).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EBADF), "fd {fd}");
        }
    });
}

#[test]
fn a_second_reader_on_one_handle_gets_resource_busy() {
    each_backend(|| {
        let (r, mut w) = io::pipe().unwrap();
        let r = std::rc::Rc::new(Async::new(r).unwrap());
        let r2 = r.clone();
        let first = spawn(move || (&*r2).read(&mut [0; 1]));
        sleep(Duration::from_millis(2));
        let e = (&*r).read(&mut [0; 1]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ResourceBusy);
        w.write_all(b"x").unwrap();
        assert_eq!(first.take().unwrap().unwrap(), 1);
    });
}

#[test]
fn owned_fd_and_get_mut_and_debug() {
    each_backend(|| {
        let (r, w) = io::pipe().unwrap();
        let r: Async<OwnedFd> = Async::new(OwnedFd::from(r)).unwrap();
        let mut w = Async::new(w).unwrap();
        // SAFETY: writes through the pipe end; its descriptor stays.
        unsafe { w.get_mut() }.write_all(b"via get_mut").unwrap();
        let mut buf = [0; 11];
        let n = r
            .read_with(|fd| {
                // SAFETY: read(2) into a valid buffer on an open descriptor.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            })
            .unwrap();
        assert_eq!(&buf[..n], b"via get_mut");
        let dbg = format!("{r:?}");
        assert!(
            dbg.contains("Async") && dbg.contains("closed: false"),
            "{dbg}"
        );
        assert_eq!(r.as_fd().as_raw_fd(), r.as_raw_fd());
    });
}

#[test]
fn from_the_hub_itself_an_operation_that_would_wait_is_an_error_not_a_hang() {
    each_backend(|| {
        let (r, _w) = io::pipe().unwrap();
        let r = std::rc::Rc::new(Async::new(r).unwrap());
        let r2 = r.clone();
        // A watcher callback runs in the hub: it must not block there.
        let hub = gevent::get_hub();
        let res = std::rc::Rc::new(std::cell::RefCell::new(None));
        let res2 = res.clone();
        let t =
            gevent::core::Timer::new(hub.loop_(), Duration::ZERO, Duration::ZERO, move |_, _| {
                *res2.borrow_mut() = Some((&*r2).read(&mut [0; 1]).map_err(|e| e.kind()));
            });
        t.start().unwrap();
        sleep(Duration::from_millis(5));
        let got = res.borrow_mut().take().expect("the timer ran");
        assert!(got.is_err(), "{got:?}");
        drop(r);
    });
}

#[test]
fn a_regular_file_reads_at_once_and_readiness_waits_end() {
    each_backend(|| {
        let path = std::env::temp_dir().join(format!(
            "gevent-async-fd-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, b"file data").unwrap();
        let f = Async::new(std::fs::File::open(&path).unwrap()).unwrap();
        std::fs::remove_file(&path).unwrap();
        // Regular files never say WouldBlock: read_with never waits.
        let mut s = String::new();
        (&f).read_to_string(&mut s).unwrap();
        assert_eq!(s, "file data");
        // epoll refuses to watch a regular file (libev then reports it
        // always ready); other backends see it ready: an explicit
        // readiness wait ends at once, never hangs or aborts.
        f.readable().unwrap();
    });
}
