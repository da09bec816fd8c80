//! wait_read/wait_write/wait_readwrite, select, poll and socketpair, on
//! every usable backend.

mod net_util;

use std::io::{ErrorKind, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

use gevent::core::Events;
use gevent::net::{
    PollFd, TcpListener, poll, select, socketpair, wait_read, wait_readwrite, wait_write,
};
use gevent::{Greenlet, spawn};
use net_util::{SHORT, each_backend};

fn get<T: 'static>(g: &Greenlet<T>) -> T {
    assert!(g.join_timeout(Duration::from_secs(10)).unwrap());
    g.take().expect("greenlet failed")
}

#[test]
fn wait_read_and_write() {
    each_backend(|| {
        let (mut a, b) = socketpair().unwrap();
        let fd = b.as_raw_fd();
        let e = wait_read(fd, Some(SHORT)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        let e = wait_read(fd, Some(Duration::ZERO)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        // Several greenlets may wait on one raw descriptor.
        let waiters: Vec<_> = (0..3)
            .map(|_| spawn(move || wait_read(fd, None).is_ok()))
            .collect();
        gevent::sleep(SHORT);
        a.write_all(b"x").unwrap();
        assert!(waiters.iter().all(get));
        wait_read(fd, Some(Duration::ZERO)).unwrap();
        wait_write(a.as_raw_fd(), Some(SHORT)).unwrap();
        wait_readwrite(a.as_raw_fd(), None).unwrap();
    });
}

#[test]
fn bad_descriptors() {
    each_backend(|| {
        let e = wait_read(-1, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("-1"), "{e}");
        // A descriptor number that is not open.
        let closed = {
            let (a, _b) = socketpair().unwrap();
            a.as_raw_fd()
        };
        let mut fds = [
            PollFd::new(closed, Events::READ),
            PollFd::new(-1, Events::READ),
        ];
        if poll(&mut fds, Some(Duration::ZERO)).unwrap() == 1 {
            // Not reused by a parallel test meanwhile.
            assert!(fds[0].is_invalid() && fds[0].revents().contains(Events::ERROR));
            assert!(wait_write(closed, None).is_err());
            assert!(select(&[closed], &[], None).is_err());
        }
        assert!(fds[1].revents().is_empty());
        assert_eq!(
            select(&[-3], &[], None).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    });
}

#[test]
fn select_and_poll() {
    each_backend(|| {
        let (mut a, b) = socketpair().unwrap();
        let (af, bf) = (a.as_raw_fd(), b.as_raw_fd());
        let (r, w) = select(&[bf], &[], Some(SHORT)).unwrap();
        assert!(r.is_empty() && w.is_empty());
        let g = spawn(move || select(&[bf, af], &[], None).unwrap());
        gevent::sleep(SHORT);
        a.write_all(b"x").unwrap();
        assert_eq!(get(&g), (vec![bf], vec![]));
        let (r, w) = select(&[af], &[af, bf], None).unwrap();
        assert_eq!((r, w), (vec![], vec![af, bf]));

        let mut fds = [
            PollFd::new(af, Events::READ),
            PollFd::new(bf, Events::READ | Events::WRITE),
        ];
        assert_eq!(poll(&mut fds, Some(SHORT)).unwrap(), 1);
        assert!(fds[0].revents().is_empty());
        assert!(fds[1].is_readable() && fds[1].is_writable());
        let mut fds = [PollFd::new(af, Events::READ)];
        assert_eq!(poll(&mut fds, Some(SHORT)).unwrap(), 0);
        drop(b);
        assert_eq!(poll(&mut fds, None).unwrap(), 1);
        assert!(fds[0].is_readable() || fds[0].is_hangup());
        // Many descriptors, beyond what one listener would need.
        let ls: Vec<_> = (0..20)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let fds: Vec<_> = ls.iter().map(|l| l.as_raw_fd()).collect();
        let (r, _) = select(&fds, &[], Some(SHORT)).unwrap();
        assert!(r.is_empty());
    });
}

#[test]
fn waits_under_timeout_and_kill_leave_nothing_behind() {
    each_backend(|| {
        let (mut a, b) = socketpair().unwrap();
        let fd = b.as_raw_fd();
        let r = gevent::with_timeout(SHORT, || wait_read(fd, None));
        assert!(r.unwrap_err().is_timeout());
        let g = spawn(move || select(&[fd], &[], None).map(|_| ()));
        gevent::sleep(SHORT);
        g.kill().unwrap();
        let g = spawn(move || {
            let mut fds = [PollFd::new(fd, Events::READ)];
            poll(&mut fds, None).map(|_| ())
        });
        gevent::sleep(SHORT);
        g.kill().unwrap();
        // The watchers of the interrupted waits are gone: only the readable
        // event below wakes this wait, and nothing is left active after it.
        a.write_all(b"x").unwrap();
        wait_read(fd, Some(Duration::from_secs(5))).unwrap();
        drop(b);
    });
}
