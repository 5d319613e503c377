//! The wasm-bindgen surface that the engine worker drives. Compiled only for `wasm32`.

mod engine;
mod hash;
mod inspect;
mod settings;

pub use engine::{decode_wav, Engine};
pub use hash::Sha256Hasher;
pub use inspect::inspect_model_file;

use wasm_bindgen::prelude::*;

/// The global property where the panic hook leaves the last panic's message (on the global of
/// the Worker whose thread panicked), for the engine worker to report after the trap.
const PANIC_MESSAGE_PROPERTY: &str = "sottoPanicMessage";

/// Installs a panic hook so that a Rust panic shows its message in the console instead of
/// `unreachable executed`, and leaves it in `self.sottoPanicMessage` as well: under
/// `panic=abort` the panic then traps the instance, and the engine worker reads the message there
/// (calling into the trapped instance is not safe) to report the crash and recover. Runs once,
/// right after instantiation.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        let message = JsValue::from_str(&info.to_string());
        let _ = js_sys::Reflect::set(&js_sys::global(), &PANIC_MESSAGE_PROPERTY.into(), &message);
        console_error_panic_hook::hook(info);
    }));
}

/// Why the helper threads were given up (a helper trapped; the engine then runs its parallel
/// work alone), or `undefined` while they work.
#[wasm_bindgen(js_name = threadsDegraded)]
pub fn threads_degraded() -> Option<String> {
    crate::parallel::degraded_reason()
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

/// Called by a helper Worker before `runHelperThread`: the byte address in the shared memory of
/// the word its Worker sets to 1 (with `Atomics.store`, without calling into the instance) when
/// the thread traps, so the engine takes over the work the helper left unfinished instead of
/// waiting for it.
#[cfg(target_feature = "atomics")]
#[wasm_bindgen(js_name = claimHelperSlot)]
pub fn claim_helper_slot() -> usize {
    crate::parallel::claim_helper_slot()
}

/// The engine's memory, which the engine worker hands to the helper Workers of the threaded build
/// (shared, so every Worker instantiates the module on the same bytes).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}
