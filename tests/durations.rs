//! Issue 8, item 2: every public function taking a `Duration` accepts
//! `Duration::ZERO` and `Duration::MAX` without panicking. `MAX` means "no
//! deadline" (or the largest the loop can represent); `ZERO` means "do not
//! wait". Every test runs on every usable backend. No timing is asserted:
//! waits with `MAX` are made to end by a partner, or the waiter is killed.

#[path = "util/greenlet.rs"]
mod gutil;

use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use gevent::core::{Events, Loop, Stat, Timer};
use gevent::net::{PollFd, TcpListener, TcpStream, UdpSocket};
use gevent::pool::{Group, Pool};
use gevent::queue::{Channel, JoinableQueue, LifoQueue, PriorityQueue, Queue};
use gevent::{
    AsyncResult, BoundedSemaphore, Error, Event, Greenlet, Lock, RLock, Semaphore, Timeout, iwait,
    joinall, joinall_raise, killall, sleep, spawn, spawn_later, try_sleep, wait, with_timeout,
};
use gutil::each_backend;

const MAX: Duration = Duration::MAX;
const ZERO: Duration = Duration::ZERO;

/// Something that finishes soon, after a real switch.
fn soon<T: 'static>(v: T) -> Greenlet<T> {
    spawn(move || {
        sleep(Duration::from_millis(1));
        v
    })
}

#[test]
fn sleeping_and_spawning() {
    each_backend(|| {
        sleep(ZERO);
        try_sleep(ZERO).unwrap();
        // Sleeping "forever": interrupted by a kill, never a panic.
        let g = spawn(|| sleep(MAX));
        let h = spawn(|| try_sleep(MAX));
        sleep(ZERO);
        assert!(!g.dead() && !h.dead());
        g.kill().unwrap();
        h.kill().unwrap();
        assert!(g.exited() && h.exited());
        // Started "never".
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        let late = spawn_later(MAX, move || r.set(true));
        let late2 = Greenlet::new(|| ());
        late2.start_later(MAX);
        assert_eq!(spawn_later(ZERO, || 5).get().unwrap(), 5);
        late.kill().unwrap();
        late2.kill().unwrap();
        assert!(!ran.get());
    });
}

#[test]
fn joining_killing_and_waiting_for_greenlets() {
    each_backend(|| {
        let g = soon(1);
        assert_eq!(g.get_timeout(MAX).unwrap(), 1);
        let g = spawn(|| sleep(Duration::from_secs(60)));
        assert!(g.get_timeout(ZERO).unwrap_err().is_timeout());
        assert!(!g.join_timeout(ZERO).unwrap());
        assert!(g.kill_timeout(MAX).unwrap());
        let g = soon(2);
        assert!(g.join_timeout(MAX).unwrap());
        let g = spawn(|| sleep(Duration::from_secs(60)));
        g.kill_opts(None, true, Some(MAX)).unwrap();
        let g = spawn(|| sleep(Duration::from_secs(60)));
        assert!(g.handle().kill_timeout(ZERO).is_ok());
        g.join_timeout(Duration::from_secs(5)).unwrap();

        let gs: Vec<_> = (0..3)
            .map(|_| spawn(|| sleep(Duration::from_secs(60))))
            .collect();
        sleep(ZERO);
        killall(&gs, true, Some(MAX)).unwrap();
        assert!(gs.iter().all(|g| g.dead()));
        let gs: Vec<_> = (0..3)
            .map(|_| spawn(|| sleep(Duration::from_secs(60))))
            .collect();
        killall(&gs, true, Some(ZERO)).unwrap();
        killall(&gs, true, None).unwrap();

        let gs: Vec<_> = (0..3).map(soon).collect();
        assert_eq!(joinall(&gs, Some(MAX)).unwrap().len(), 3);
        let gs: Vec<_> = (0..3).map(soon).collect();
        assert_eq!(wait(&gs, Some(MAX), Some(1)).unwrap().len(), 1);
        assert_eq!(joinall_raise(&gs, Some(MAX)).unwrap().len(), 3);
        let gs: Vec<_> = (0..3).map(soon).collect();
        assert_eq!(iwait(&gs, Some(MAX)).count(), 3);
        let gs = vec![spawn(|| sleep(Duration::from_secs(60)))];
        assert!(joinall(&gs, Some(ZERO)).unwrap().is_empty());
        assert_eq!(iwait(&gs, Some(ZERO)).count(), 0);
        killall(&gs, true, None).unwrap();
    });
}

#[test]
fn timeouts() {
    each_backend(|| {
        let t = Timeout::new(Some(MAX));
        assert!(t.pending());
        assert_eq!(t.duration(), Some(MAX));
        assert_eq!(t.catch(|| soon(3).get().unwrap()).unwrap(), 3);
        let mut t = Timeout::with_error(Some(MAX), Error::Timeout);
        t.restart();
        assert!(format!("{t} {t:?}").contains("pending"));
        drop(t);
        assert_eq!(with_timeout(MAX, || 4).unwrap(), 4);
        assert!(
            with_timeout(ZERO, || sleep(Duration::from_secs(60)))
                .unwrap_err()
                .is_timeout()
        );
        let t = Timeout::new(Some(ZERO));
        assert!(t.catch(|| sleep(Duration::from_secs(60))).is_err());
    });
}

#[test]
fn queues() {
    each_backend(|| {
        let q = Queue::bounded(1);
        q.put_timeout(1, MAX).unwrap();
        assert!(q.put_timeout(2, ZERO).is_err());
        assert_eq!(q.peek_timeout(MAX).unwrap(), 1);
        assert_eq!(q.get_timeout(MAX).unwrap(), 1);
        assert!(q.get_timeout(ZERO).is_err());
        assert!(q.peek_timeout(ZERO).is_err());
        // Blocking with MAX, released by a partner.
        let q2 = q.clone();
        let g = spawn(move || q2.get_timeout(MAX).unwrap());
        sleep(ZERO);
        q.put(7).unwrap();
        assert_eq!(g.get().unwrap(), 7);

        let lq = LifoQueue::new();
        lq.put_timeout(1, MAX).unwrap();
        assert_eq!(lq.get_timeout(MAX).unwrap(), 1);
        let pq = PriorityQueue::new();
        pq.put_timeout(1, MAX).unwrap();
        assert_eq!(pq.get_timeout(MAX).unwrap(), 1);
        let jq = JoinableQueue::new();
        jq.put_timeout(1, MAX).unwrap();
        assert!(!jq.join_timeout(ZERO).unwrap());
        assert_eq!(jq.get_timeout(MAX).unwrap(), 1);
        jq.task_done().unwrap();
        assert!(jq.join_timeout(MAX).unwrap());

        let ch = Channel::new();
        let c2 = ch.clone();
        let g = spawn(move || c2.get_timeout(MAX).unwrap());
        sleep(ZERO);
        ch.put_timeout(8, MAX).unwrap();
        assert_eq!(g.get().unwrap(), 8);
        let c2 = ch.clone();
        let g = spawn(move || c2.put_timeout(9, MAX).is_ok());
        assert_eq!(ch.get_timeout(MAX).unwrap(), 9);
        assert!(g.get().unwrap());
        assert!(ch.put_timeout(1, ZERO).is_err());
        assert!(ch.get_timeout(ZERO).is_err());
    });
}

#[test]
fn sync_primitives() {
    each_backend(|| {
        let ev = Event::new();
        assert!(!ev.wait_timeout(ZERO).unwrap());
        let e2 = ev.clone();
        spawn(move || {
            sleep(Duration::from_millis(1));
            e2.set();
        });
        assert!(ev.wait_timeout(MAX).unwrap());

        let ar: AsyncResult<u8> = AsyncResult::new();
        assert!(!ar.wait_timeout(ZERO).unwrap());
        assert!(ar.get_timeout(ZERO).is_err());
        let a2 = ar.clone();
        spawn(move || {
            sleep(Duration::from_millis(1));
            let _ = a2.set(5);
        });
        assert!(ar.wait_timeout(MAX).unwrap());
        assert_eq!(ar.get_timeout(MAX).unwrap(), 5);

        let lock = Lock::new();
        let held = lock.acquire_timeout(MAX).unwrap();
        assert!(lock.acquire_timeout(ZERO).is_err());
        drop(held);
        let rlock = RLock::new();
        let a = rlock.acquire_timeout(MAX).unwrap();
        let b = rlock.acquire_timeout(ZERO).unwrap();
        drop((b, a));

        let sem = Semaphore::new(1);
        assert!(sem.wait_timeout(MAX).unwrap());
        let p = sem.acquire_timeout(MAX).unwrap();
        assert!(sem.acquire_timeout(ZERO).is_err());
        assert!(!sem.wait_timeout(ZERO).unwrap());
        let s2 = sem.clone();
        let g = spawn(move || s2.acquire_timeout(MAX).map(|p| p.forget()).is_ok());
        sleep(ZERO);
        drop(p);
        assert!(g.get().unwrap());

        let bs = BoundedSemaphore::new(1);
        assert!(bs.wait_timeout(MAX).unwrap());
        let p = bs.acquire_timeout(MAX).unwrap();
        assert!(bs.acquire_timeout(ZERO).is_err());
        assert!(!bs.wait_timeout(ZERO).unwrap());
        drop(p);
    });
}

#[test]
fn pools_and_groups() {
    each_backend(|| {
        let pool = Pool::new(1).unwrap();
        assert_eq!(pool.wait_available_timeout(MAX).unwrap(), 1);
        let g = soon(1);
        pool.add_timeout(&g, MAX).unwrap();
        let h = spawn(|| ());
        assert!(pool.add_timeout(&h, ZERO).is_err());
        assert_eq!(pool.wait_available_timeout(ZERO).unwrap(), 0);
        assert!(pool.join_timeout(MAX).unwrap());
        pool.spawn(|| sleep(Duration::from_secs(60))).unwrap();
        assert!(!pool.join_timeout(ZERO).unwrap());
        assert!(pool.kill_timeout(MAX).unwrap());

        let group = Group::new();
        group.spawn(|| sleep(Duration::from_millis(1)));
        assert!(group.join_timeout(MAX).unwrap());
        group.spawn(|| sleep(Duration::from_secs(60)));
        assert!(!group.join_timeout(ZERO).unwrap());
        let _ = group.kill_timeout(ZERO);
        assert!(group.kill_timeout(MAX).unwrap());
    });
}

#[test]
fn thread_pool() {
    each_backend(|| {
        let pool = gevent::threadpool::ThreadPool::new(1).unwrap();
        pool.set_idle_timeout(MAX);
        assert_eq!(pool.idle_timeout(), MAX);
        let job = pool.spawn(|| 6);
        assert!(job.wait_timeout(MAX).unwrap());
        assert_eq!(job.get_timeout(MAX).unwrap(), 6);
        assert!(pool.join_timeout(MAX).unwrap());
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let slow = pool.spawn(move || rx.recv().is_ok());
        assert!(!slow.wait_timeout(ZERO).unwrap());
        assert!(slow.get_timeout(ZERO).unwrap_err().is_timeout());
        assert!(!pool.join_timeout(ZERO).unwrap());
        drop(tx);
        assert!(!slow.get_timeout(MAX).unwrap());
        // Idle workers retire at once with a zero idle timeout.
        pool.set_idle_timeout(ZERO);
        assert!(pool.join_timeout(MAX).unwrap());
    });
}

#[test]
fn sockets() {
    each_backend(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        assert!(TcpStream::connect_timeout(&addr, ZERO).is_err());
        let mut c = TcpStream::connect_timeout(&addr, MAX).unwrap();
        let (mut s, _) = l.accept().unwrap();
        c.set_read_timeout(Some(MAX)).unwrap();
        c.set_write_timeout(Some(MAX)).unwrap();
        assert_eq!(c.read_timeout().unwrap(), Some(MAX));
        assert!(c.set_read_timeout(Some(ZERO)).is_err());
        let writer = spawn(move || {
            sleep(Duration::from_millis(1));
            s.write_all(b"ping").unwrap();
            s
        });
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).unwrap(); // waits with the MAX read timeout
        assert_eq!(&buf, b"ping");
        c.write_all(b"pong").unwrap();
        let mut s = writer.take().unwrap();
        s.read_exact(&mut buf).unwrap();
        c.set_linger(Some(MAX)).unwrap();
        assert!(c.linger().unwrap().is_some());
        c.set_linger(None).unwrap();

        // wait_* / poll / select with both extremes.
        let fd = c.as_raw_fd();
        assert!(gevent::net::wait_read(fd, Some(ZERO)).is_err());
        gevent::net::wait_write(fd, Some(MAX)).unwrap();
        gevent::net::wait_readwrite(fd, Some(MAX)).unwrap();
        let mut fds = [PollFd::new(fd, Events::READ)];
        assert_eq!(gevent::net::poll(&mut fds, Some(ZERO)).unwrap(), 0);
        let (r, _) = gevent::net::select(&[fd], &[], Some(ZERO)).unwrap();
        assert!(r.is_empty());
        let g = spawn(move || {
            sleep(Duration::from_millis(1));
            s.write_all(b"x").unwrap();
            s
        });
        assert_eq!(gevent::net::poll(&mut fds, Some(MAX)).unwrap(), 1);
        let (r, _) = gevent::net::select(&[fd], &[], Some(MAX)).unwrap();
        assert_eq!(r, [fd]);
        gevent::net::wait_read(fd, Some(MAX)).unwrap();
        drop(g.take().unwrap());

        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        u.set_read_timeout(Some(MAX)).unwrap();
        u.set_write_timeout(Some(MAX)).unwrap();
        u.send_to(b"d", u.local_addr().unwrap()).unwrap();
        let mut b = [0u8; 1];
        assert_eq!(u.recv_from(&mut b).unwrap().0, 1);

        let (a, mut b2) = gevent::net::socketpair().unwrap();
        a.set_read_timeout(Some(MAX)).unwrap();
        b2.write_all(b"u").unwrap();
        let mut one = [0u8; 1];
        (&a).read_exact(&mut one).unwrap();
    });
}

#[test]
fn core_watchers_with_extreme_durations() {
    for b in gutil::backends() {
        let lp = Loop::with_backend(b).unwrap();
        let t = Timer::new(&lp, MAX, MAX, |_, _| {});
        assert_eq!(t.repeat(), Timer::new(&lp, MAX, MAX, |_, _| {}).repeat());
        assert!(t.repeat() > Duration::from_secs(1 << 50));
        t.start().unwrap();
        assert!(t.remaining() > Duration::from_secs(1 << 50));
        t.set_repeat(MAX);
        t.again();
        assert!(t.remaining() > Duration::from_secs(1 << 50));
        t.stop();
        t.set(ZERO, ZERO).unwrap();
        assert_eq!(t.repeat(), ZERO);
        t.set(MAX, ZERO).unwrap();
        t.start().unwrap();
        assert!(t.remaining() > Duration::from_secs(1 << 50));
        t.stop();

        let st = Stat::new(&lp, "/nonexistent-gevent-test", MAX, |_, _| {}).unwrap();
        assert!(st.interval() > Duration::from_secs(1 << 50));
        st.set("/nonexistent-gevent-test", ZERO).unwrap();
        assert_eq!(st.interval(), ZERO);

        lp.set_io_collect_interval(MAX);
        lp.set_timeout_collect_interval(MAX);
        lp.set_io_collect_interval(ZERO);
        lp.set_timeout_collect_interval(ZERO);
        Loop::sleep(ZERO);
        let fired = Rc::new(Cell::new(false));
        let f = fired.clone();
        lp.once(None, Events::NONE, Some(ZERO), move |_| f.set(true))
            .unwrap();
        lp.run();
        assert!(fired.get());
        // A one-shot "never": registered without a panic, then abandoned
        // with the loop (its callback simply never runs).
        let lp2 = Loop::with_backend(b).unwrap();
        lp2.once(None, Events::NONE, Some(MAX), |_| unreachable!())
            .unwrap();
    }
}

#[test]
fn loop_sleep_of_duration_max_sleeps() {
    // Loop::sleep blocks the thread: with MAX it must sleep (as good as
    // forever), not return at once from a garbled timespec. The thread is
    // left sleeping; it ends with the test process.
    let t = std::thread::spawn(|| Loop::sleep(MAX));
    std::thread::sleep(Duration::from_millis(50));
    assert!(!t.is_finished(), "Loop::sleep(Duration::MAX) returned");
}
