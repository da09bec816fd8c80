//! libev-sys does not compile C itself: the `gevent` package's build script
//! owns the C build (one owner, see DESIGN.md). This script only regenerates
//! the Rust bindings when the `bindgen` feature is on.

#[cfg(feature = "bindgen")]
include!("defines.rs");

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=defines.rs");
    #[cfg(feature = "bindgen")]
    regenerate();
}

#[cfg(feature = "bindgen")]
fn regenerate() {
    use std::path::PathBuf;
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let header = manifest.join("../vendor/libev/ev.h");
    println!("cargo:rerun-if-changed={}", header.display());
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap();
    let mut builder = bindgen::Builder::default()
        .header(header.to_str().unwrap())
        .allowlist_function("ev_.*")
        .allowlist_type("ev_.*")
        .allowlist_var("EV.*")
        // System types come from the libc crate so the bindings stay portable.
        .blocklist_type("stat")
        .blocklist_type("sig_atomic_t")
        .blocklist_type("__sig_atomic_t")
        .blocklist_type("timespec")
        .blocklist_type("__.*")
        // Its size depends on the platform's struct stat; nothing needs it.
        .blocklist_type("ev_any_watcher")
        .opaque_type("ev_loop")
        .layout_tests(false)
        .translate_enum_integer_types(true)
        .derive_default(false)
        .derive_debug(false)
        .generate_comments(false)
        .raw_line("use libc::stat;")
        .raw_line("#[allow(dead_code)]")
        .raw_line("type sig_atomic_t = libc::c_int;")
        .formatter(bindgen::Formatter::Rustfmt);
    for (k, v) in libev_defines(&target_os) {
        builder = builder.clang_arg(format!("-D{k}={v}"));
    }
    let bindings = builder.generate().expect("bindgen failed on ev.h");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("bindings.rs");
    bindings.write_to_file(&out).expect("cannot write bindings");
    if std::env::var_os("LIBEV_SYS_UPDATE_BINDINGS").is_some() {
        std::fs::copy(&out, manifest.join("src/bindings.rs"))
            .expect("cannot update src/bindings.rs");
    }
}
