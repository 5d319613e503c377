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

/// Threads that share the matrix products: 1, plus each helper Worker that called
/// `runHelperThread` (only the threaded build has helpers).
#[wasm_bindgen(js_name = threadCount)]
pub fn thread_count() -> usize {
    crate::parallel::thread_count()
}

/// The body of a helper Worker in the threaded build: it registers and then runs chunks of the
/// engine's matrix products forever (it blocks its Worker, never the page).
#[cfg(target_feature = "atomics")]
#[wasm_bindgen(js_name = runHelperThread)]
pub fn run_helper_thread() {
    crate::parallel::run_helper()
}

/// The engine's memory, which the engine worker hands to the helper Workers of the threaded build
/// (shared, so every Worker instantiates the module on the same bytes).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}
