//! gevent's build script. It compiles no C: the bundled libev is built and
//! linked by the `libev-sys` package (core-sys/), following the `-sys`
//! convention (see ARCHITECTURE.md, "The C build").
//!
//! It stays because the repository's layout keeps a top-level build script
//! and because it is where gevent's own native code would be compiled,
//! against the `ev.h` that libev-sys exports as `DEP_EV_INCLUDE`. Today it
//! checks that export, so a libev-sys that did not build the C library
//! fails here with a clear message instead of at link time.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_EV_INCLUDE");
    let include = std::env::var_os("DEP_EV_INCLUDE").map(PathBuf::from);
    match include {
        Some(dir) if dir.join("ev.h").is_file() => {}
        Some(dir) => panic!(
            "gevent: libev-sys exported DEP_EV_INCLUDE={} but it holds no ev.h",
            dir.display()
        ),
        None => panic!(
            "gevent: libev-sys did not export DEP_EV_INCLUDE; it must be the \
             `libev-sys` package that builds libev (links = \"ev\")"
        ),
    }
}
