//! Incremental SHA-256 for the download manager: WebCrypto's `digest` needs the whole file in one
//! buffer, while model files arrive in chunks (and are hashed again, chunk by chunk, on every load).

use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::*;

/// A SHA-256 hasher fed chunk by chunk from JavaScript.
#[wasm_bindgen(js_name = Sha256Hasher)]
#[derive(Default)]
pub struct Sha256Hasher {
    inner: Sha256,
    bytes: f64,
}

#[wasm_bindgen(js_class = Sha256Hasher)]
impl Sha256Hasher {
    /// A fresh hasher.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Sha256Hasher {
        Sha256Hasher::default()
    }

    /// Adds the next chunk of the file.
    pub fn update(&mut self, chunk: &[u8]) {
        self.inner.update(chunk);
        self.bytes += chunk.len() as f64;
    }

    /// How many bytes were hashed so far.
    #[wasm_bindgen(getter)]
    pub fn bytes(&self) -> f64 {
        self.bytes
    }

    /// Starts over (when a server ignores a Range request and resends from the first byte).
    pub fn reset(&mut self) {
        *self = Sha256Hasher::default();
    }

    /// The lowercase hex digest of everything hashed so far; the hasher can go on afterwards.
    #[wasm_bindgen(js_name = hexDigest)]
    pub fn hex_digest(&self) -> String {
        crate::hex(&self.inner.clone().finalize())
    }
}
