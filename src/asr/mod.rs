//! Speech recognition: Whisper (encoder, cached decoder, Whisper's decoding rules).
//!
//! Load a [`Transcriber`] from `config.json`, `tokenizer.json` and the weights (safetensors or GGUF),
//! from bytes (browser) or files (CLI), then [`Transcriber::transcribe`] 16 kHz mono samples.
//!
//! ## Trimmed audio context, completed with encoded silence
//! By default the encoder runs on the utterance plus [`DecodeOptions::audio_ctx_margin`] positions
//! (64 × 20 ms), as whisper.cpp's `audio_ctx` does, instead of the 1500 positions of the 30 s
//! window: a 5 s utterance costs about a fifth of the encoder work. The decoder still
//! cross-attends over 1500 positions: after the utterance's come those of a window of pure
//! silence, encoded once and cached (`context.rs`; natively also on disk, per weight file:
//! [`SilenceCache`]). Without that tail real checkpoints loop
//! (real tiny.en: 18 of 85 utterances of the speech set ran to the token limit); with it the
//! default mode is as accurate as the full window on the speech set (`tests/asr_speech_set.rs`,
//! `examples/bench_speech_set.rs`). It is still not the reference computation: the encoder's
//! self-attention does not see the padding frames, so ids can differ from HF's;
//! [`DecodeOptions::full_window`] (CLI `--full-window`) restores exact parity. Every window's
//! tokens are also bounded by its duration and cut where they start to loop ([`StopReason`]).
//!
//! ## Long audio
//! Audio longer than 30 s is cut into consecutive 30 s windows, each decoded on its own and the
//! texts joined; unlike openai-whisper, windows do not move with the predicted timestamps.

mod config;
mod context;
pub mod ctranslate2;
mod decode;
mod merges;
#[cfg(not(target_arch = "wasm32"))]
mod silence_cache;
mod tokenizer;
mod transcriber;
mod weights;
pub mod whisper;

pub use config::Config;
pub use context::AUDIO_CTX_MARGIN;
pub use decode::{
    repetition_cut, token_budget, DecodeOptions, StopReason, Transcript, TranscriptTimings,
};
pub use merges::{repair_missing_merges, MergesCheck};
#[cfg(not(target_arch = "wasm32"))]
pub use silence_cache::{file_sha256, SilenceCache, SilenceTailSource, CACHE_VERSION};
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
