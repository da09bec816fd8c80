//! Compiles the bundled libev 4.33 (vendor/libev, pristine) with the `cc`
//! crate. This package is the one owner of the C build (`links = "ev"`);
//! libev-sys only declares the functions.
//!
//! Configuration goes through the defines in core-sys/defines.rs (shared with
//! the bindgen script), never through edits to libev's files.

include!("core-sys/defines.rs");

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").expect("cargo sets CARGO_CFG_TARGET_OS");
    let defines = libev_defines(&target_os);

    let mut sources: Vec<&str> = vec![
        "vendor/libev/ev.c",
        "vendor/libev/ev.h",
        "vendor/libev/ev_vars.h",
        "vendor/libev/ev_wrap.h",
        "vendor/libev/ev_select.c",
        "vendor/libev/ev_poll.c",
        "vendor/libev/ev_epoll.c",
        "vendor/libev/ev_kqueue.c",
        "vendor/libev/ev_linuxaio.c",
        "vendor/libev/ev_iouring.c",
        "vendor/libev/ev_port.c",
        "core-sys/csrc/layout.c",
        "core-sys/defines.rs",
        "build.rs",
    ];
    sources.sort_unstable();
    for s in &sources {
        println!("cargo:rerun-if-changed={s}");
    }
    println!("cargo:rerun-if-env-changed=CFLAGS");

    let mut build = cc::Build::new();
    build
        .file("vendor/libev/ev.c")
        .file("core-sys/csrc/layout.c")
        .include("vendor/libev")
        // libev is third-party code: its warnings are not ours to fix, and a
        // wall of them on every build hides the ones that matter.
        .warnings(false)
        .extra_warnings(false)
        .flag_if_supported("-w")
        // Some compilers' CFLAGS promote return-type warnings to errors;
        // libev has functions whose last statement is an abort path.
        .flag_if_supported("-Wno-error=return-type")
        .flag_if_supported("-fno-strict-aliasing");
    for (k, v) in &defines {
        build.define(k, Some(*v));
    }
    build.compile("ev");

    let backends: Vec<&str> = defines
        .iter()
        .filter(|(k, v)| k.starts_with("EV_USE_") && *v == "1")
        .filter_map(|(k, _)| match *k {
            "EV_USE_SELECT" => Some("select"),
            "EV_USE_POLL" => Some("poll"),
            "EV_USE_EPOLL" => Some("epoll"),
            "EV_USE_KQUEUE" => Some("kqueue"),
            "EV_USE_PORT" => Some("port"),
            "EV_USE_LINUXAIO" => Some("linuxaio"),
            "EV_USE_IOURING" => Some("io_uring"),
            _ => None,
        })
        .collect();
    // Exposed to dependents as DEP_EV_BACKENDS and DEP_EV_INCLUDE.
    println!("cargo:backends={}", backends.join(","));
    let include =
        std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("vendor/libev");
    println!("cargo:include={}", include.display());
}
