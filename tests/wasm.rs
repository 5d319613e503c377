//! Tests that run the engine compiled to wasm32 (in Node, through wasm-bindgen-test-runner):
//! `cargo xtask test` runs them with `--target wasm32-unknown-unknown --test wasm`.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn reports_version_and_simd() {
    assert_eq!(sotto::web::version(), env!("CARGO_PKG_VERSION"));
    assert!(
        sotto::web::simd_enabled(),
        "the wasm build must be compiled with +simd128"
    );
}
