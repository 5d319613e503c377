//! The wasm-bindgen surface that the engine worker drives. Compiled only for `wasm32`.

mod engine;
mod hash;
mod inspect;

pub use engine::{decode_wav, Engine};
pub use hash::Sha256Hasher;
pub use inspect::inspect_model_file;

use wasm_bindgen::prelude::*;

/// Installs a panic hook so that a Rust panic shows its message in the console instead of
/// `unreachable executed`. Called once by the engine worker right after instantiation.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The engine's version string (the crate version).
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_string()
}

/// Whether this wasm build uses SIMD (`+simd128`). The worker also checks that the browser
/// validates a SIMD module, so that both sides are reported.
#[wasm_bindgen(js_name = simdEnabled)]
pub fn simd_enabled() -> bool {
    crate::simd128_enabled()
}
