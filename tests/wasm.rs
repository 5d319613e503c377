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

#[wasm_bindgen_test]
fn sha256_streams_like_a_one_shot_digest() {
    let mut hasher = sotto::web::Sha256Hasher::new();
    hasher.update(b"hello ");
    hasher.update(b"world");
    assert_eq!(
        hasher.hex_digest(),
        "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    );
    assert_eq!(hasher.bytes(), 11.0);
    hasher.reset();
    assert_eq!(
        hasher.hex_digest(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[wasm_bindgen_test]
fn model_files_are_recognised_and_damage_is_named() {
    let mut gguf = b"GGUF".to_vec();
    gguf.extend(3u32.to_le_bytes());
    gguf.extend(1u64.to_le_bytes());
    gguf.extend(1u64.to_le_bytes());
    gguf.extend([0u8; 64]);
    assert!(sotto::web::inspect_model_file("m.gguf", &gguf).is_ok());
    let mut corrupt = gguf.clone();
    corrupt[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(sotto::web::inspect_model_file("m.gguf", &corrupt).is_err());
    assert!(sotto::web::inspect_model_file("m.gguf", &gguf[..10]).is_err());
    assert!(sotto::web::inspect_model_file("config.json", br#"{"d_model": 64}"#).is_ok());
    assert!(sotto::web::inspect_model_file("config.json", b"{ not json").is_err());
    assert!(sotto::web::inspect_model_file("empty.bin", b"").is_err());
    let mut safetensors = 2u64.to_le_bytes().to_vec();
    safetensors.extend(b"{}");
    assert!(sotto::web::inspect_model_file("model.safetensors", &safetensors).is_ok());
}
