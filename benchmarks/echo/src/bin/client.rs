//! Load generator: CONNS connections, each doing 64-byte round trips back to
//! back, driven by one thread with epoll. After a warm-up it counts round
//! trips for DURATION seconds and samples the server's utime+stime from
//! /proc/PID/stat at both ends of that window.
//!
//! usage: client ADDR SERVER_PID [CONNS=50] [DURATION_S=5] [WARMUP_S=1]
//! prints: rt=<round trips> secs=<elapsed> cpu_ticks=<server utime+stime> hz=<CLK_TCK>
//!         sched_ns=<server on-CPU ns from /proc/PID/task/*/schedstat, a finer measure>

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

const MSG: usize = 64;

fn server_ticks(pid: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("server stat");
    // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

/// The server's on-CPU time in ns, summed over its threads (schedstat).
fn server_sched_ns(pid: &str) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(|t| t.ok())
                .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
                .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr = &args[1];
    let pid = &args[2];
    let conns: usize = args.get(3).map_or(50, |s| s.parse().unwrap());
    let duration = Duration::from_secs_f64(args.get(4).map_or(5.0, |s| s.parse().unwrap()));
    let warmup = Duration::from_secs_f64(args.get(5).map_or(1.0, |s| s.parse().unwrap()));

    // SAFETY: plain epoll syscalls on descriptors we own.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(ep >= 0);
    let mut socks = Vec::with_capacity(conns);
    let mut got = vec![0usize; conns];
    let payload = [b'x'; MSG];
    for i in 0..conns {
        let s = TcpStream::connect(addr.as_str()).expect("connect");
        s.set_nodelay(true).unwrap();
        s.set_nonblocking(true).unwrap();
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        // SAFETY: valid epoll fd, socket fd and event.
        assert_eq!(
            unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) },
            0
        );
        socks.push(s);
    }
    for s in &mut socks {
        s.write_all(&payload).unwrap();
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; conns];
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    let mut window: Option<(Instant, u64, u64)> = None;
    let mut rt = 0u64;
    loop {
        let now = Instant::now();
        match window {
            None if now - start >= warmup => {
                window = Some((now, server_ticks(pid), server_sched_ns(pid)));
                rt = 0;
            }
            Some((t0, c0, n0)) if now - t0 >= duration => {
                let c1 = server_ticks(pid);
                let n1 = server_sched_ns(pid);
                // SAFETY: sysconf has no preconditions.
                let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
                println!(
                    "rt={rt} secs={:.3} cpu_ticks={} hz={hz} sched_ns={}",
                    (now - t0).as_secs_f64(),
                    c1 - c0,
                    n1 - n0
                );
                return;
            }
            _ => {}
        }
        // SAFETY: `events` has room for `conns` entries.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), conns as i32, 100) };
        for e in &events[..n.max(0) as usize] {
            let i = e.u64 as usize;
            let s = &mut socks[i];
            loop {
                match s.read(&mut buf) {
                    Ok(0) => panic!("server closed connection {i}"),
                    Ok(k) => got[i] += k,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("read: {e}"),
                }
            }
            while got[i] >= MSG {
                got[i] -= MSG;
                rt += 1;
                s.write_all(&payload).unwrap();
            }
        }
    }
}
