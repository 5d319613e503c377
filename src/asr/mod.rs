//! Speech recognition: Whisper (encoder, cached decoder, Whisper's decoding rules).
//!
//! Load a [`Transcriber`] from `config.json`, `tokenizer.json` and the weights (safetensors or GGUF),
//! from bytes (browser) or files (CLI), then [`Transcriber::transcribe`] 16 kHz mono samples.

mod config;
mod decode;
mod tokenizer;
mod transcriber;
mod weights;
pub mod whisper;

pub use config::Config;
pub use decode::{DecodeOptions, Transcript, TranscriptTimings};
pub use tokenizer::{SpecialTokens, TextStream, WhisperTokenizer};
pub use transcriber::Transcriber;
pub use weights::{WeightFormat, Weights};

/// Why a model could not be loaded or run. File errors name the file.
#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    /// A file could not be read.
    #[error("{name}: {source}")]
    Io {
        /// The file.
        name: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `config.json` is not valid JSON or describes an impossible model.
    #[error("{name}: invalid Whisper config: {reason}")]
    Config {
        /// The file.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The weight file is corrupt, truncated or of an unknown format.
    #[error("{name}: {reason}")]
    Weights {
        /// The file.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The weights lack a tensor the config requires.
    #[error("{name}: tensor {tensor} is missing (does the config match these weights?)")]
    MissingTensor {
        /// The weight file.
        name: String,
        /// The missing tensor.
        tensor: String,
    },
    /// A tensor's shape differs from what the config implies.
    #[error("{name}: tensor {tensor} has shape {found:?}, the config implies {expected:?}")]
    ShapeMismatch {
        /// The weight file.
        name: String,
        /// The tensor.
        tensor: String,
        /// Shape from the config.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// `tokenizer.json` is invalid or belongs to another vocabulary.
    #[error("{name}: {reason}")]
    Tokenizer {
        /// The file.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The audio could not be read.
    #[error(transparent)]
    Audio(#[from] crate::audio::AudioError),
    /// A caller option is invalid (unknown language code, ...).
    #[error("{0}")]
    Option(String),
    /// A tensor operation failed (a bug or an exhausted resource, not bad input).
    #[error("model computation failed: {0}")]
    Compute(#[from] candle_core::Error),
}
