//! The dialog model: GGUF chat models, chat templates, sampling and a cross-turn KV cache.
//!
//! - [`crate::gguf`] parses the container without copying tensor data; [`model`] runs the llama family,
//!   Qwen2/2.5, Qwen3 and Gemma 3 over views of that one buffer, on the shared [`crate::kernels`]
//!   (quantized products, elementwise functions, attention).
//! - [`ChatModel`] bundles model, [`tokenizer`] and chat [`template`]; a [`Conversation`] keeps its
//!   KV cache between turns and streams replies ([`ReplyStream`]) that can be cancelled between tokens;
//!   [`think`] keeps a model's think blocks out of the reply.

pub mod chat_model;
pub mod conversation;
mod decoder;
mod gemma3;
pub mod kv_cache;
mod llama;
mod loader;
pub mod model;
pub mod sampling;
mod sentencepiece;
pub mod session;
pub mod template;
pub mod think;
pub mod tokenizer;

pub use chat_model::ChatModel;
pub use conversation::{Conversation, PromptStats, ReadAhead, ReplyStream, DEFAULT_SYSTEM_PROMPT};
pub use model::{Arch, Config, Model};
pub use sampling::SamplingParams;
pub use session::{FinishReason, GenerateOptions, GenerationStats, Session};
pub use template::{Message, Role};

/// Everything that can go wrong loading or running a chat model.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// A file could not be read.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The OS error (shown in this error's message, so not chained as its source).
        cause: std::io::Error,
    },
    /// An error while loading a particular file (wraps the cause with the file's name).
    #[error("{path}: {cause}")]
    InFile {
        /// The file.
        path: String,
        /// What was wrong with it (shown in this error's message).
        cause: Box<LlmError>,
    },
    /// The GGUF container is malformed or truncated.
    #[error("invalid GGUF: {0}")]
    Gguf(String),
    /// A valid file using something this crate does not implement.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// A tensor the architecture needs is absent.
    #[error("invalid GGUF: missing tensor `{0}`")]
    MissingTensor(String),
    /// The tokenizer could not be read or used.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The tokenizer does not belong to this model.
    #[error("tokenizer does not match the model: {0}")]
    VocabMismatch(String),
    /// The chat template is missing, does not compile or failed to render.
    #[error("chat template: {0}")]
    Template(String),
    /// The prompt does not fit in the model's context.
    #[error("the prompt needs {tokens} tokens but the model's context holds {context}")]
    PromptTooLong {
        /// Tokens needed.
        tokens: usize,
        /// Context length.
        context: usize,
    },
    /// Inputs of the wrong shape (e.g. an empty prompt).
    #[error("invalid input: {0}")]
    Shape(String),
}

impl From<crate::gguf::GgufError> for LlmError {
    fn from(e: crate::gguf::GgufError) -> Self {
        match e {
            crate::gguf::GgufError::Invalid(reason) => LlmError::Gguf(reason),
            crate::gguf::GgufError::Unsupported(e) => e.into(),
        }
    }
}

impl From<crate::kernels::quant::UnsupportedType> for LlmError {
    fn from(e: crate::kernels::quant::UnsupportedType) -> Self {
        LlmError::Unsupported(e.to_string())
    }
}

impl LlmError {
    /// Attaches a file name to an error.
    pub fn in_file(self, path: impl Into<String>) -> Self {
        match self {
            LlmError::Io { .. } | LlmError::InFile { .. } => self,
            other => LlmError::InFile {
                path: path.into(),
                cause: Box::new(other),
            },
        }
    }
}

/// Milliseconds from an arbitrary origin (for timings; `Instant` does not exist in browsers).
pub(crate) fn now_ms() -> f64 {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    {
        js_sys::Date::now()
    }
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    {
        use std::sync::OnceLock;
        static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
        ORIGIN
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
            * 1e3
    }
}
