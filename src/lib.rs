//! gevent for Rust: coroutine-based networking on libev.
//!
//! * [`core`]: the safe libev layer (loops and every watcher type).
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod core;
