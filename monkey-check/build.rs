//! Compiles the small C client whose blocking socket calls, `poll` and
//! sleeps the tests make cooperative.
fn main() {
    println!("cargo:rerun-if-changed=csrc/client.c");
    cc::Build::new()
        .file("csrc/client.c")
        .warnings(true)
        .compile("monkey_check_client");
}
