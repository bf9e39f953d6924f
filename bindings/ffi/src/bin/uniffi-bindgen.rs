//! `uniffi-bindgen`: generates the Python, Kotlin and Swift bindings of `ferrio-ffi`.
//!
//! Library mode: `cargo run -p ferrio-ffi --bin uniffi-bindgen -- generate --library
//! <libferrio_ffi.so> --language python --out-dir <dir>`; settings come from the
//! `uniffi.toml` of `ferrio-ffi` (a link to the repository's top-level `uniffi.toml`), or
//! `--config uniffi.toml`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
