#!/usr/bin/env bash
# Downstream smoke test: builds and runs two scratch crates that use the
# *packaged* crates (the .crate tarballs `cargo package --workspace` left
# in target/package), the way a user of crates.io would get them:
#
#   sys-only  depends on libev-sys alone: links the C library by itself
#             and runs a raw libev timer;
#   app       depends on gevent: runs greenlets and a core watcher.
#
# The tarballs are unpacked into a temporary directory and substituted for
# the crates.io versions with [patch.crates-io], so nothing of the
# repository's own tree (vendor/, core-sys/) is visible to the build.
# Run `cargo package --workspace` first. Other dependencies come from
# crates.io (or the local cache).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
# Where `cargo package` left the tarballs: the workspace's target directory
# (target/ unless CARGO_TARGET_DIR or build.target-dir says otherwise).
target="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
pkg="$target/package"

version() {
    sed -n 's/^version = "\(.*\)"$/\1/p' "$1" | head -n 1
}
gevent_v="$(version Cargo.toml)"
sys_v="$(version core-sys/Cargo.toml)"
for c in "gevent-$gevent_v" "libev-sys-$sys_v"; do
    [ -f "$pkg/$c.crate" ] || { echo "missing $pkg/$c.crate: run cargo package --workspace first" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tar -xzf "$pkg/gevent-$gevent_v.crate" -C "$work"
tar -xzf "$pkg/libev-sys-$sys_v.crate" -C "$work"
# The tarballs must not point back into the repository.
if grep -n 'path = "\(\.\.\|/\)' "$work/gevent-$gevent_v/Cargo.toml" "$work/libev-sys-$sys_v/Cargo.toml"; then
    echo "a packaged Cargo.toml points outside its package" >&2
    exit 1
fi

mkdir -p "$work/smoke/sys-only/src" "$work/smoke/app/src"
cat > "$work/smoke/Cargo.toml" <<TOML
[workspace]
members = ["sys-only", "app"]
resolver = "2"

[patch.crates-io]
gevent = { path = "../gevent-$gevent_v" }
libev-sys = { path = "../libev-sys-$sys_v" }
TOML

cat > "$work/smoke/sys-only/Cargo.toml" <<TOML
[package]
name = "sys-only"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
libev-sys = "$sys_v"
TOML
cat > "$work/smoke/sys-only/src/main.rs" <<'RS'
use libev_sys::*;
use std::os::raw::c_int;

unsafe extern "C" fn on_timer(_l: *mut ev_loop, w: *mut ev_timer, _revents: c_int) {
    // SAFETY: data points at `fired` below, alive while the loop runs.
    unsafe { *((*w).data as *mut u32) += 1 };
}

fn main() {
    // SAFETY: a fresh loop and a zeroed, initialised timer that outlives it.
    unsafe {
        assert_eq!(ev_version_major(), EV_VERSION_MAJOR as c_int);
        let lp = ev_loop_new(EVFLAG_AUTO);
        assert!(!lp.is_null());
        let mut fired = 0u32;
        let mut t: ev_timer = std::mem::zeroed();
        ev_timer_init(&mut t, Some(on_timer), 0.001, 0.0);
        t.data = &mut fired as *mut u32 as *mut _;
        ev_timer_start(lp, &mut t);
        ev_run(lp, 0);
        ev_loop_destroy(lp);
        assert_eq!(fired, 1);
    }
    println!("sys-only: libev {}.{} linked, timer fired", unsafe { ev_version_major() }, unsafe { ev_version_minor() });
}
RS

cat > "$work/smoke/app/Cargo.toml" <<TOML
[package]
name = "app"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
gevent = "$gevent_v"
TOML
cat > "$work/smoke/app/src/main.rs" <<'RS'
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use gevent::core::Timer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Greenlets: spawn two, join both, read their values.
    let a = gevent::spawn(|| {
        gevent::sleep(Duration::from_millis(2));
        21
    });
    let b = gevent::spawn(|| 2);
    gevent::joinall(&[a.clone(), b.clone()], Some(Duration::from_secs(10)))?;
    assert_eq!(a.get()? * b.get()?, 42);

    // A core watcher on the hub's loop.
    let ticks = Rc::new(Cell::new(0));
    let t2 = ticks.clone();
    let hub = gevent::get_hub();
    let timer = Timer::new(hub.loop_(), Duration::from_millis(1), Duration::ZERO, move |_, _| {
        t2.set(t2.get() + 1)
    });
    timer.start()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ticks.get() == 0 && std::time::Instant::now() < deadline {
        gevent::sleep(Duration::from_millis(1));
    }
    assert_eq!(ticks.get(), 1, "the timer did not fire");
    println!("app: greenlets joined, timer fired on the {} backend", hub.loop_().backend());
    Ok(())
}
RS

cd "$work/smoke"
# A target directory kept between runs, so CI does not rebuild every dependency.
export CARGO_TARGET_DIR="${SMOKE_TARGET_DIR:-$target/downstream-smoke}"
cargo run -q -p sys-only
cargo run -q -p app
echo "downstream smoke test: ok"
