//! Speech recognition: Whisper (encoder, cached decoder, Whisper's decoding rules).
//!
//! Load a [`Transcriber`] from `config.json`, `tokenizer.json` and the weights (safetensors or GGUF),
//! from bytes (browser) or files (CLI), then [`Transcriber::transcribe`] 16 kHz mono samples.
//!
//! ## Trimmed audio context: the accuracy trade-off
//! By default the encoder runs on the utterance plus [`DecodeOptions::audio_ctx_margin`] positions
//! (64 × 20 ms), as whisper.cpp's `audio_ctx` does, instead of the 1500 positions of the 30 s
//! window: a 5 s utterance costs about a fifth of the encoder work and the decoder's
//! cross-attention shrinks likewise. The result is not the reference computation: the encoder's
//! self-attention no longer sees the padding frames. On the parity model (random weights, whose
//! attention spreads evenly over all positions: the worst case) the encoder output moves by about
//! 2.2 and none of the 24 greedy ids survive (`tests/asr_parity.rs`, `trimmed_encoder_trade_off`);
//! trained checkpoints attend mostly to the speech and degrade far less, but not to zero.
//! [`DecodeOptions::full_window`] (CLI `--full-window`) restores exact parity.
//!
//! ## Long audio
//! Audio longer than 30 s is cut into consecutive 30 s windows, each decoded on its own and the
//! texts joined; unlike openai-whisper, windows do not move with the predicted timestamps.

mod config;
pub mod ctranslate2;
mod decode;
mod merges;
mod tokenizer;
mod transcriber;
mod weights;
pub mod whisper;

pub use config::Config;
pub use decode::{DecodeOptions, Transcript, TranscriptTimings};
pub use merges::{repair_missing_merges, MergesCheck};
pub use tokenizer::{
    is_multilingual_vocab, SpecialTokens, TextStream, WhisperTokenizer, ENGLISH_ONLY_VOCAB_SIZE,
};
pub use transcriber::Transcriber;
pub use weights::{Matrix, WeightFormat, Weights};

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
