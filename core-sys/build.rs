//! Builds and links the bundled libev 4.33 (the `-sys` convention: this
//! package owns the C build, `links = "ev"`).
//!
//! * The sources are the pristine release files in `vendor/libev`. In the
//!   repository `core-sys/vendor` is a symbolic link to the top-level
//!   `vendor/`; `cargo package` follows it, so the published package holds
//!   real copies at the same path. libev's files are never edited.
//! * The configuration is the one list of defines in `defines.rs`, shared
//!   with bindgen (feature `bindgen`), so the bindings and the C build
//!   cannot disagree on a struct layout.
//! * Dependents that build C against libev read `DEP_EV_INCLUDE` (the
//!   directory holding `ev.h`); `DEP_EV_BACKENDS` lists the compiled-in
//!   backends (`epoll,io_uring,...`).
//!
//! See ARCHITECTURE.md, "The C build".

include!("defines.rs");

use std::path::{Path, PathBuf};

/// libev's files that `ev.c` compiles or includes, relative to the package.
const LIBEV_SOURCES: &[&str] = &[
    "vendor/libev/ev.c",
    "vendor/libev/ev.h",
    "vendor/libev/ev_epoll.c",
    "vendor/libev/ev_iouring.c",
    "vendor/libev/ev_kqueue.c",
    "vendor/libev/ev_linuxaio.c",
    "vendor/libev/ev_poll.c",
    "vendor/libev/ev_port.c",
    "vendor/libev/ev_select.c",
    "vendor/libev/ev_vars.h",
    "vendor/libev/ev_wrap.h",
];

fn main() {
    let manifest = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let target_os = env("CARGO_CFG_TARGET_OS");
    let defines = libev_defines(&target_os);

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=defines.rs");
    println!("cargo:rerun-if-changed=csrc/layout.c");
    println!("cargo:rerun-if-changed=csrc/ev_syscall.c");
    for s in LIBEV_SOURCES {
        let path = manifest.join(s);
        if !path.is_file() {
            // A checkout without the symbolic link (e.g. on a file system
            // that has none) or a tarball missing the sources.
            panic!(
                "libev-sys: {} is missing; in the repository, core-sys/vendor must be a \
                 symbolic link to ../vendor (git config core.symlinks true)",
                path.display()
            );
        }
        println!("cargo:rerun-if-changed={s}");
    }
    println!("cargo:rerun-if-env-changed=CFLAGS");

    let include = manifest.join("vendor/libev");
    compile(&manifest, &include, &defines, uring_guarded(&defines));

    // Metadata for dependents' build scripts: DEP_EV_INCLUDE, DEP_EV_BACKENDS.
    println!("cargo:include={}", include.display());
    println!("cargo:backends={}", backends(&defines).join(","));

    #[cfg(feature = "bindgen")]
    bindings::regenerate(&manifest, &include, &defines);
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("libev-sys: cargo did not set {name}"))
}

/// Whether the io_uring backend is compiled in, and with it the guard in
/// `csrc/ev_syscall.c`.
fn uring_guarded(defines: &[(&str, &str)]) -> bool {
    defines.contains(&("EV_USE_IOURING", "1"))
}

/// Compiles `ev.c` (which includes the backend files), the layout report
/// and, with io_uring, the io_uring guard into `libev.a`, and tells rustc
/// to link it.
///
/// The guard (see `csrc/ev_syscall.c`) works around a libev 4.33 io_uring
/// defect without touching libev's files: `ev.c`'s calls to `syscall`,
/// `mmap` and `munmap` are renamed by the preprocessor to the guard's
/// functions, which forward everything and watch libev's submission ring.
/// The guard file itself `#undef`s the three names. These renames change
/// no struct layout, so they are not in `defines.rs` (bindgen never sees
/// them).
fn compile(manifest: &Path, include: &Path, defines: &[(&str, &str)], uring_guard: bool) {
    let mut build = cc::Build::new();
    build
        .file(manifest.join("vendor/libev/ev.c"))
        .file(manifest.join("csrc/layout.c"))
        .include(include)
        // libev is third-party code: its warnings are not ours to fix, and a
        // wall of them on every build hides the ones that matter.
        .warnings(false)
        .extra_warnings(false)
        .flag_if_supported("-w")
        // Some compilers' CFLAGS promote return-type warnings to errors;
        // libev has functions whose last statement is an abort path.
        .flag_if_supported("-Wno-error=return-type")
        .flag_if_supported("-fno-strict-aliasing");
    for (k, v) in defines {
        build.define(k, Some(*v));
    }
    if uring_guard {
        build
            .file(manifest.join("csrc/ev_syscall.c"))
            .define("syscall", Some("gevent_ev_syscall"))
            .define("mmap", Some("gevent_ev_mmap"))
            .define("munmap", Some("gevent_ev_munmap"));
    }
    build.compile("ev");
}

/// The backends the defines switch on, by libev's names for them.
fn backends(defines: &[(&'static str, &'static str)]) -> Vec<&'static str> {
    defines
        .iter()
        .filter(|(_, v)| *v == "1")
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
        .collect()
}

#[cfg(feature = "bindgen")]
mod bindings {
    //! Regenerates the bindings from the packaged `ev.h` with bindgen, then
    //! gives every generated public item the doc line listed for it in
    //! `bindings-docs.tsv`. The result goes to `OUT_DIR/bindings.rs` (used
    //! by the crate with this feature on) and, when
    //! `LIBEV_SYS_UPDATE_BINDINGS` is set (regen-bindings.sh sets it), over
    //! the committed `src/bindings.rs`.

    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    pub(super) fn regenerate(manifest: &Path, include: &Path, defines: &[(&str, &str)]) {
        let header = include.join("ev.h");
        let table = manifest.join("bindings-docs.tsv");
        println!("cargo:rerun-if-changed=bindings-docs.tsv");
        println!("cargo:rerun-if-env-changed=LIBEV_SYS_UPDATE_BINDINGS");
        let mut builder = bindgen::Builder::default()
            .header(header.to_str().expect("the path of ev.h is not UTF-8"))
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
        for (k, v) in defines {
            builder = builder.clang_arg(format!("-D{k}={v}"));
        }
        let generated = builder
            .generate()
            .expect("bindgen failed on ev.h")
            .to_string();
        let docs = read_table(&table);
        let documented = add_docs(&generated, &docs);
        let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
            .join("bindings.rs");
        std::fs::write(&out, &documented).expect("cannot write OUT_DIR/bindings.rs");
        if std::env::var_os("LIBEV_SYS_UPDATE_BINDINGS").is_some() {
            std::fs::write(manifest.join("src/bindings.rs"), &documented)
                .expect("cannot update src/bindings.rs");
        }
    }

    /// `name<TAB>doc` lines; `#` starts a comment line. A field is named
    /// `struct.field`, or `*.field` for every struct that has it.
    fn read_table(path: &Path) -> HashMap<String, String> {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut map = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, doc) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("{}:{}: expected NAME<TAB>DOC", path.display(), n + 1));
            map.insert(name.trim().to_string(), doc.trim().to_string());
        }
        map
    }

    /// Inserts `/// doc` before every public item and field of `src`.
    /// Panics naming the first public item the table does not cover, so the
    /// committed bindings can never lose a doc line silently.
    fn add_docs(src: &str, docs: &HashMap<String, String>) -> String {
        let mut out: Vec<String> = Vec::new();
        let mut current_struct: Option<String> = None;
        let mut missing = Vec::new();
        for line in src.lines() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let key = if let Some(rest) = trimmed.strip_prefix("pub struct ") {
                let name = ident(rest);
                current_struct = Some(name.clone());
                Some(name)
            } else if let Some(rest) = trimmed.strip_prefix("pub const ") {
                Some(ident(rest))
            } else if let Some(rest) = trimmed.strip_prefix("pub type ") {
                Some(ident(rest))
            } else if let Some(rest) = trimmed.strip_prefix("pub fn ") {
                Some(ident(rest))
            } else if let (Some(rest), Some(s), 4) = (
                trimmed.strip_prefix("pub "),
                current_struct.as_ref(),
                indent.len(),
            ) {
                let field = ident(rest);
                let specific = format!("{s}.{field}");
                if docs.contains_key(&specific) {
                    Some(specific)
                } else {
                    Some(format!("*.{field}"))
                }
            } else {
                None
            };
            if trimmed == "}" && indent.is_empty() {
                current_struct = None;
            }
            if let Some(key) = key {
                match docs.get(&key) {
                    Some(doc) => {
                        // Above the item's attributes (`#[repr(C)]`, ...).
                        let mut at = out.len();
                        while at > 0 && out[at - 1].starts_with(&format!("{indent}#[")) {
                            at -= 1;
                        }
                        let lines = doc.split("\\n").map(|d| {
                            if d.is_empty() {
                                format!("{indent}///")
                            } else {
                                format!("{indent}/// {d}")
                            }
                        });
                        out.splice(at..at, lines);
                    }
                    None => missing.push(key),
                }
            }
            out.push(line.to_string());
        }
        if !missing.is_empty() {
            panic!(
                "bindings-docs.tsv has no doc line for: {}",
                missing.join(", ")
            );
        }
        let mut text = out.join("\n");
        text.push('\n');
        text
    }

    /// The identifier at the start of `s`.
    fn ident(s: &str) -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    }
}
