//! Safe wrappers over the C client in `csrc/client.c`, used by this
//! crate's tests to prove that gevent's `monkey` hooks are live in a
//! downstream binary — for Rust's std and for C code linked into it.
#![deny(missing_docs)]

use std::ffi::{CString, c_char, c_int, c_uint};
use std::io;

unsafe extern "C" {
    fn monkey_c_echo(port: u16, msg: *const c_char, out: *mut c_char, outlen: c_int) -> c_int;
    fn monkey_c_sleep(ms: c_uint);
}

/// Runs the C client against `127.0.0.1:port`: it connects, sends `msg`,
/// `poll()`s for the reply and reads until the server closes (at most
/// `max` bytes), all with plain blocking C calls.
///
/// # Errors
///
/// The C calls' `errno`; `TimedOut` if its `poll` waited 10 s in vain;
/// `InvalidInput` if `msg` contains a NUL byte.
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// let l = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let port = l.local_addr()?.port();
/// let t = std::thread::spawn(move || -> std::io::Result<()> {
///     let (mut c, _) = l.accept()?;
///     let mut b = [0; 2];
///     c.read_exact(&mut b)?;
///     c.write_all(&b)
/// });
/// assert_eq!(monkey_check::c_echo(port, "hi", 16)?, b"hi");
/// t.join().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn c_echo(port: u16, msg: &str, max: usize) -> io::Result<Vec<u8>> {
    let msg = CString::new(msg).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut out = vec![0u8; max];
    let cap = c_int::try_from(max).unwrap_or(c_int::MAX);
    // SAFETY: `msg` is NUL-terminated; `out` has room for `cap` bytes.
    let r = unsafe { monkey_c_echo(port, msg.as_ptr(), out.as_mut_ptr().cast(), cap) };
    match r {
        -1000 => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the C client's poll timed out",
        )),
        r if r < 0 => Err(io::Error::from_raw_os_error(-r)),
        n => {
            out.truncate(n as usize);
            Ok(out)
        }
    }
}

/// Sleeps `ms` milliseconds in C: half with `usleep`, half with
/// `nanosleep`.
///
/// # Examples
///
/// ```
/// monkey_check::c_sleep(2);
/// ```
pub fn c_sleep(ms: u32) {
    // SAFETY: no preconditions.
    unsafe { monkey_c_sleep(ms) }
}
