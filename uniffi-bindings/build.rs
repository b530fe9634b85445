//! Link settings for the shared library the apps load.
//!
//! Relative relocations packed: the library's pointers into itself (vtables, string tables,
//! static data) take about 230 KB as ordinary `RELA` entries and a few kilobytes packed, and the
//! loader applies them the same way. Android uses its own packing (`APS2`), which its loader has
//! read since API 23 (the apps' `minSdk` is 24); glibc reads `DT_RELR` since 2.36, and a library
//! linked so refuses to load on an older glibc with a message naming `GLIBC_ABI_DT_RELR` rather
//! than misbehaving. Apple's linker has its own compact format and needs no flag.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    match (os.as_str(), env.as_str()) {
        ("android", _) => println!("cargo::rustc-cdylib-link-arg=-Wl,--pack-dyn-relocs=android"),
        ("linux", "gnu") => println!("cargo::rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs"),
        _ => {}
    }
}
