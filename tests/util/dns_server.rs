//! A tiny DNS server for tests: UDP on 127.0.0.1, answering A and AAAA
//! queries for a fixed table of names and NXDOMAIN for everything else,
//! or (silent mode) reading queries and never answering. Runs on a std
//! thread; stops when dropped. Only what c-ares needs of RFC 1035.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const RCODE_NXDOMAIN: u16 = 3;

/// A running fake DNS server.
pub struct DnsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    queries: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

/// How the server answers.
#[derive(Clone)]
struct Table {
    records: HashMap<String, Vec<IpAddr>>,
    silent: bool,
    delay: Duration,
}

impl DnsServer {
    /// A server answering for `records` (name, address) pairs.
    pub fn start(records: &[(&str, IpAddr)]) -> io::Result<DnsServer> {
        Self::start_with(records, false, Duration::ZERO)
    }

    /// Like [`start`], answering each query after `delay`.
    pub fn start_delayed(records: &[(&str, IpAddr)], delay: Duration) -> io::Result<DnsServer> {
        Self::start_with(records, false, delay)
    }

    /// A server that reads queries and never answers.
    pub fn silent() -> io::Result<DnsServer> {
        Self::start_with(&[], true, Duration::ZERO)
    }

    fn start_with(
        records: &[(&str, IpAddr)],
        silent: bool,
        delay: Duration,
    ) -> io::Result<DnsServer> {
        let mut map: HashMap<String, Vec<IpAddr>> = HashMap::new();
        for (name, ip) in records {
            map.entry(name.to_ascii_lowercase()).or_default().push(*ip);
        }
        let table = Table {
            records: map,
            silent,
            delay,
        };
        let sock = UdpSocket::bind("127.0.0.1:0")?;
        sock.set_read_timeout(Some(Duration::from_millis(20)))?;
        let addr = sock.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let queries = Arc::new(AtomicUsize::new(0));
        let (s2, q2) = (stop.clone(), queries.clone());
        let thread = std::thread::Builder::new()
            .name("fake-dns".into())
            .spawn(move || serve(sock, table, s2, q2))?;
        Ok(DnsServer {
            addr,
            stop,
            queries,
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many queries it has received.
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(sock: UdpSocket, table: Table, stop: Arc<AtomicBool>, queries: Arc<AtomicUsize>) {
    let mut buf = [0u8; 1500];
    // Bounded life even if the test forgets to drop it.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !stop.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
        let (n, peer) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(_) => continue, // read timeout: check the stop flag
        };
        queries.fetch_add(1, Ordering::SeqCst);
        if table.silent {
            continue;
        }
        if let Some(reply) = answer(&buf[..n], &table) {
            if !table.delay.is_zero() {
                std::thread::sleep(table.delay);
            }
            let _ = sock.send_to(&reply, peer);
        }
    }
}

/// The reply to one query, or `None` if it cannot be parsed.
fn answer(q: &[u8], table: &Table) -> Option<Vec<u8>> {
    if q.len() < 12 {
        return None;
    }
    let flags = u16::from_be_bytes([q[2], q[3]]);
    let qdcount = u16::from_be_bytes([q[4], q[5]]);
    if qdcount != 1 || flags & 0x8000 != 0 {
        return None;
    }
    // QNAME: length-prefixed labels up to a zero byte.
    let mut off = 12;
    let mut labels = Vec::new();
    loop {
        let len = *q.get(off)? as usize;
        off += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(q.get(off..off + len)?).to_ascii_lowercase());
        off += len;
    }
    let qtype = u16::from_be_bytes([*q.get(off)?, *q.get(off + 1)?]);
    let qend = off + 4;
    if q.len() < qend {
        return None;
    }
    let name = labels.join(".");
    let found = table.records.get(&name);
    let answers: Vec<&IpAddr> = found
        .map(|ips| {
            ips.iter()
                .filter(|ip| match qtype {
                    TYPE_A => ip.is_ipv4(),
                    TYPE_AAAA => ip.is_ipv6(),
                    _ => false,
                })
                .collect()
        })
        .unwrap_or_default();
    let rcode = if found.is_some() { 0 } else { RCODE_NXDOMAIN };
    let mut r = Vec::with_capacity(512);
    r.extend_from_slice(&q[0..2]); // id
    let rflags = 0x8000 | (flags & 0x7800) | (flags & 0x0100) | 0x0080 | rcode;
    r.extend_from_slice(&rflags.to_be_bytes());
    r.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    r.extend_from_slice(&(answers.len() as u16).to_be_bytes()); // ANCOUNT
    r.extend_from_slice(&0u16.to_be_bytes()); // NSCOUNT
    r.extend_from_slice(&0u16.to_be_bytes()); // ARCOUNT
    r.extend_from_slice(&q[12..qend]); // the question, as asked
    for ip in answers {
        r.extend_from_slice(&[0xC0, 0x0C]); // name: pointer to the question's
        let (t, data): (u16, Vec<u8>) = match ip {
            IpAddr::V4(a) => (TYPE_A, a.octets().to_vec()),
            IpAddr::V6(a) => (TYPE_AAAA, a.octets().to_vec()),
        };
        r.extend_from_slice(&t.to_be_bytes());
        r.extend_from_slice(&1u16.to_be_bytes()); // class IN
        r.extend_from_slice(&60u32.to_be_bytes()); // TTL
        r.extend_from_slice(&(data.len() as u16).to_be_bytes());
        r.extend_from_slice(&data);
    }
    Some(r)
}
