//! `gevent::os` (nb_read/nb_write, tp_read/tp_write, make_nonblocking) and
//! `gevent::fileobject::FileObject` on pipes (io watcher), regular files
//! and /dev/null (thread pool), with bad input. Every test runs on every
//! usable backend.

#[path = "util/greenlet.rs"]
mod gutil;

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use gevent::fileobject::FileObject;
use gevent::{os, sleep, spawn};
use gutil::each_backend;

fn temp_path(tag: &str) -> PathBuf {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!("gevent-test-{tag}-{}-{n}", std::process::id()))
}

fn is_nonblocking(fd: i32) -> bool {
    // SAFETY: F_GETFL on an open descriptor.
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    assert!(fl >= 0);
    fl & libc::O_NONBLOCK != 0
}

#[test]
fn nb_write_parks_on_a_full_pipe_until_the_reader_drains_it() {
    each_backend(|| {
        let (r, w) = io::pipe().unwrap();
        assert!(os::make_nonblocking(r.as_raw_fd()).unwrap());
        assert!(os::make_nonblocking(w.as_raw_fd()).unwrap());
        assert!(!os::make_nonblocking(w.as_raw_fd()).unwrap());
        // More than a pipe holds: the writer must park and let us read.
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let expect = data.clone();
        let writer = spawn(move || -> io::Result<()> {
            let mut off = 0;
            while off < data.len() {
                off += os::nb_write(w.as_raw_fd(), &data[off..])?;
            }
            Ok(())
        });
        let mut got = Vec::new();
        let mut buf = vec![0; 65536];
        loop {
            let n = os::nb_read(r.as_raw_fd(), &mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        writer.take().unwrap().unwrap();
        assert_eq!(got, expect);
    });
}

#[test]
fn nb_calls_refuse_bad_descriptors() {
    each_backend(|| {
        let mut buf = [0u8; 4];
        for fd in [-1, i32::MIN] {
            assert_eq!(
                os::nb_read(fd, &mut buf).unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
            assert_eq!(
                os::nb_write(fd, b"x").unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
            assert_eq!(
                os::tp_read(fd, 4).unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
            assert_eq!(
                os::tp_write(fd, b"x").unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
            assert_eq!(
                os::make_nonblocking(fd).unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
        }
        // Not open (huge numbers included): EBADF.
        for fd in [1_000_000, i32::MAX] {
            assert_eq!(
                os::nb_read(fd, &mut buf).unwrap_err().raw_os_error(),
                Some(libc::EBADF)
            );
            assert_eq!(
                os::tp_read(fd, 4).unwrap_err().raw_os_error(),
                Some(libc::EBADF)
            );
            assert_eq!(
                os::tp_write(fd, b"x").unwrap_err().raw_os_error(),
                Some(libc::EBADF)
            );
        }
        // A blocking descriptor would block the thread: refused.
        let (r, w) = io::pipe().unwrap();
        let e = os::nb_read(r.as_raw_fd(), &mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("make_nonblocking"), "{e}");
        assert_eq!(
            os::nb_write(w.as_raw_fd(), b"x").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        // Wrong direction: the kernel's error, no panic.
        os::make_nonblocking(r.as_raw_fd()).unwrap();
        assert_eq!(
            os::nb_write(r.as_raw_fd(), b"x")
                .unwrap_err()
                .raw_os_error(),
            Some(libc::EBADF)
        );
    });
}

#[test]
fn tp_read_and_write_regular_files() {
    each_backend(|| {
        let path = temp_path("tp");
        let f = std::fs::File::create(&path).unwrap();
        assert_eq!(os::tp_write(f.as_raw_fd(), b"hello ").unwrap(), 6);
        assert_eq!(os::tp_write(f.as_raw_fd(), b"world").unwrap(), 5);
        assert_eq!(os::tp_write(f.as_raw_fd(), b"").unwrap(), 0);
        drop(f);
        let f = std::fs::File::open(&path).unwrap();
        assert_eq!(os::tp_read(f.as_raw_fd(), 6).unwrap(), b"hello ");
        // A huge n reads what is there (no giant allocation, no panic).
        assert_eq!(os::tp_read(f.as_raw_fd(), usize::MAX).unwrap(), b"world");
        assert_eq!(os::tp_read(f.as_raw_fd(), 10).unwrap(), b"");
        assert_eq!(os::tp_read(f.as_raw_fd(), 0).unwrap(), b"");
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn fileobject_on_a_pipe_uses_the_io_watcher() {
    each_backend(|| {
        let (r, w) = io::pipe().unwrap();
        let mut r = FileObject::new(r).unwrap();
        let mut w = FileObject::new(w).unwrap();
        assert!(!r.uses_threadpool() && !w.uses_threadpool());
        assert!(is_nonblocking(r.as_raw_fd()));
        let reader = spawn(move || {
            let mut s = String::new();
            r.read_to_string(&mut s).map(|_| s)
        });
        // The reader parks on the empty pipe; we run meanwhile.
        sleep(Duration::ZERO);
        assert!(!reader.ready());
        w.write_all(b"line one\n").unwrap();
        sleep(Duration::ZERO);
        w.write_all(b"line two\n").unwrap();
        w.flush().unwrap();
        drop(w); // EOF
        assert_eq!(reader.take().unwrap().unwrap(), "line one\nline two\n");
        // Seeking a pipe is the kernel's error.
        let (r, _w) = io::pipe().unwrap();
        let mut r = FileObject::new(r).unwrap();
        assert_eq!(
            r.seek(SeekFrom::Start(0)).unwrap_err().raw_os_error(),
            Some(libc::ESPIPE)
        );
    });
}

#[test]
fn fileobject_restores_blocking_mode() {
    each_backend(|| {
        let (r, w) = io::pipe().unwrap();
        let raw = r.as_raw_fd();
        let fd: OwnedFd = FileObject::new(r).unwrap().into_inner().unwrap();
        assert_eq!(fd.as_raw_fd(), raw);
        assert!(!is_nonblocking(raw));
        // A descriptor that was non-blocking already stays so.
        os::make_nonblocking(w.as_raw_fd()).unwrap();
        let keep = w.try_clone().unwrap();
        drop(FileObject::new(w).unwrap());
        assert!(is_nonblocking(keep.as_raw_fd()));
        // Dropping one we switched switches the shared description back.
        let (r, _w2) = io::pipe().unwrap();
        let keep = r.try_clone().unwrap();
        drop(FileObject::new(r).unwrap());
        assert!(!is_nonblocking(keep.as_raw_fd()));
    });
}

#[test]
fn fileobject_on_regular_files_uses_the_thread_pool() {
    each_backend(|| {
        let path = temp_path("fo");
        let mut f = FileObject::create(&path).unwrap();
        assert!(f.uses_threadpool());
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        f.write_all(&big).unwrap();
        f.sync_all().unwrap();
        assert_eq!(f.metadata().unwrap().len(), big.len() as u64);
        drop(f);
        let mut f = FileObject::open(&path).unwrap();
        let mut got = Vec::new();
        f.read_to_end(&mut got).unwrap();
        assert_eq!(got, big);
        assert_eq!(f.seek(SeekFrom::Start(10)).unwrap(), 10);
        let mut ten = [0u8; 10];
        f.read_exact(&mut ten).unwrap();
        assert_eq!(&ten[..], &big[10..20]);
        assert_eq!(f.seek(SeekFrom::End(-1)).unwrap(), big.len() as u64 - 1);
        assert_eq!(
            f.seek(SeekFrom::Start(u64::MAX)).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(f.seek(SeekFrom::Current(i64::MIN)).is_err());
        // Writing a read-only file is the kernel's error.
        assert_eq!(f.write(b"x").unwrap_err().raw_os_error(), Some(libc::EBADF));
        // Many greenlets reading their own handles at once.
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let p = path.clone();
                spawn(move || {
                    let mut v = Vec::new();
                    FileObject::open(&p)?.read_to_end(&mut v)?;
                    Ok::<_, io::Error>(v.len())
                })
            })
            .collect();
        for g in readers {
            assert_eq!(g.take().unwrap().unwrap(), big.len());
        }
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            FileObject::open(&path).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    });
}

#[test]
fn fileobject_on_dev_null_uses_the_thread_pool() {
    each_backend(|| {
        let mut f = FileObject::new(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .unwrap(),
        )
        .unwrap();
        assert!(f.uses_threadpool());
        assert_eq!(f.write(b"discarded").unwrap(), 9);
        let mut buf = [0u8; 8];
        assert_eq!(f.read(&mut buf).unwrap(), 0);
        assert!(format!("{f:?}").contains("threadpool: true"));
    });
}
