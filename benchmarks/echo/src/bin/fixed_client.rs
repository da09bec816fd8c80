//! Load generator for profile.sh: exactly TOTAL 64-byte round trips over
//! CONNS connections (driven by one thread with epoll), then it closes the
//! connections and exits. A fixed amount of work, so that counts taken on
//! the server (instructions under callgrind, syscalls under strace) can be
//! divided by the number of round trips; running it twice with different
//! TOTALs and taking the difference cancels start-up and accept costs.
//!
//! usage: fixed_client ADDR CONNS TOTAL

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;

const MSG: usize = 64;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: fixed_client ADDR CONNS TOTAL");
        std::process::exit(2);
    }
    let conns: usize = args[2].parse().expect("CONNS");
    let total: u64 = args[3].parse().expect("TOTAL");
    // SAFETY: plain epoll syscalls on descriptors we own.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(ep >= 0, "epoll_create1");
    let mut socks = Vec::with_capacity(conns);
    for i in 0..conns {
        let s = TcpStream::connect(args[1].as_str()).expect("connect");
        s.set_nodelay(true).unwrap();
        s.set_nonblocking(true).unwrap();
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        // SAFETY: valid epoll fd, socket fd and event.
        let r = unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) };
        assert_eq!(r, 0, "epoll_ctl");
        socks.push(s);
    }
    let payload = [b'x'; MSG];
    let (mut sent, mut done) = (0u64, 0u64);
    let mut got = vec![0usize; conns];
    for s in &mut socks {
        if sent < total {
            s.write_all(&payload).unwrap();
            sent += 1;
        }
    }
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; conns];
    let mut buf = [0u8; 4096];
    let start = std::time::Instant::now();
    while done < total {
        // SAFETY: `events` has room for `conns` entries.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), conns as i32, 10_000) };
        assert!(n > 0, "no echo within 10 s ({done} of {total} round trips done)");
        for e in &events[..n as usize] {
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
                done += 1;
                if sent < total {
                    s.write_all(&payload).unwrap();
                    sent += 1;
                }
            }
        }
    }
    eprintln!("{done} round trips in {:?}", start.elapsed());
}
