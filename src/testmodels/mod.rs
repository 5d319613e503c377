//! Deterministic tiny random models in the real file formats, and random models in real shapes.
//!
//! No model weights can be downloaded on the build machines, so the project makes its own:
//! - [`write_tiny_whisper`]: a 2+2-layer multilingual Whisper (`config.json`, `tokenizer.json`,
//!   `model.safetensors`, `model.gguf` in candle's quantized-Whisper layout,
//!   `generation_config.json`);
//! - [`write_tiny_llm`]: a 2-layer chat model of the SmolLM2 (llama) or Qwen2.5 family
//!   (`model-f32.gguf`, `model-q8_0.gguf`, `tokenizer.json`, `tokenizer_config.json`);
//! - [`write_ct2_whisper`]: a Whisper folder as CTranslate2 (faster-whisper) stores it, in f32,
//!   f16 or int8, for testing `sotto import`;
//! - [`write_real_shape`]: random weights in the shapes of whisper-tiny/base, SmolLM2-135M/360M,
//!   Qwen2.5-0.5B and Qwen3-0.6B, for benchmarks (streamed tensor by tensor).
//!
//! Every byte is a function of the code alone: weights come from a seeded generator that uses
//! no platform maths, tokenizers are trained by a deterministic BPE trainer on an English corpus
//! embedded in the source, and files are written in a fixed order. Random weights produce
//! gibberish, but they exercise exactly the code paths real weights do.
//!
//! Everything here writes files, so it exists only on native targets.

#[cfg(not(target_arch = "wasm32"))]
mod bpe;
#[cfg(not(target_arch = "wasm32"))]
mod ctranslate2;
#[cfg(not(target_arch = "wasm32"))]
mod fillers;
#[cfg(not(target_arch = "wasm32"))]
mod gguf;
#[cfg(not(target_arch = "wasm32"))]
mod index;
#[cfg(not(target_arch = "wasm32"))]
mod llm;
#[cfg(not(target_arch = "wasm32"))]
mod rng;
#[cfg(not(target_arch = "wasm32"))]
mod shapes;
#[cfg(not(target_arch = "wasm32"))]
mod tokenizer;
#[cfg(not(target_arch = "wasm32"))]
mod weights;
#[cfg(not(target_arch = "wasm32"))]
mod whisper;

#[cfg(not(target_arch = "wasm32"))]
pub use ctranslate2::{
    ct2_model_bin, ct2_whisper_variables, write_ct2_whisper, Ct2Quantization, Ct2Var,
};
#[cfg(not(target_arch = "wasm32"))]
pub use gguf::{write_gguf, GgufTensor};
#[cfg(not(target_arch = "wasm32"))]
pub use index::{hash_files, write_index, IndexEntry, IndexFile, ModelRole};
#[cfg(not(target_arch = "wasm32"))]
pub use llm::{write_tiny_llm, LlmFamily};
#[cfg(not(target_arch = "wasm32"))]
pub use shapes::{write_real_shape, Quant, RealShape};
#[cfg(not(target_arch = "wasm32"))]
pub use tokenizer::CORPUS;
#[cfg(not(target_arch = "wasm32"))]
pub use whisper::write_tiny_whisper;

use std::path::PathBuf;

/// Why a test model could not be written.
#[derive(Debug, thiserror::Error)]
pub enum TestModelError {
    /// A file or folder could not be created or written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Building or validating a tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// Creating or quantizing a tensor failed.
    #[error("tensor {name}: {message}")]
    Tensor {
        /// The tensor's name in the file.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A JSON file could not be serialised.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// An argument asks for something the generator cannot produce.
    #[error("{0}")]
    Unsupported(String),
}

/// Helper: attach a path to an I/O error.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> TestModelError {
    let path = path.to_path_buf();
    move |source| TestModelError::Io { path, source }
}
