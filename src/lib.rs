//! Sotto: a private voice assistant that runs entirely on the user's device.
//!
//! One module per pipeline stage, in the order audio flows through them:
//! [`audio`] (WAV, resampling, log-mel) → [`vad`] (voice activity, endpointing) → [`asr`] (Whisper)
//! → [`llm`] (chat model) → [`tts`] (speech synthesis), wired by [`assistant`] (turn taking).
//! [`kernels`] holds the compute loops Whisper and the chat model share (quantized matrix
//! products, elementwise functions, attention), so neither model depends on the other, and
//! [`gguf`] is the one reader of GGUF files, used by both and by the browser's file check.
//! `web` holds the wasm-bindgen surface and exists only on `wasm32`; the native CLI
//! (`src/bin/sotto`) and the tests use the same core; [`eval`] (native only) scores transcripts
//! (openai-whisper's English normalizer, WER) on the real-speech test set. [`testmodels`] writes the deterministic tiny
//! models (and real-shape random models for benchmarks) that the tests and the offline demo use,
//! since no real weights can be downloaded on the build machines.

pub mod asr;
pub mod assistant;
pub mod audio;
#[cfg(not(target_arch = "wasm32"))]
pub mod eval;
pub mod gguf;
pub mod kernels;
pub mod llm;
pub mod parallel;
pub mod settings;
pub mod testmodels;
pub mod tts;
pub mod vad;
#[cfg(target_arch = "wasm32")]
pub mod web;

/// The crate version, as reported by the engine worker and the CLI.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Whether this build was compiled with WebAssembly SIMD (`+simd128`).
///
/// Always `false` on native targets, where the hot paths use the host's own vector units instead.
pub const fn simd128_enabled() -> bool {
    cfg!(all(target_arch = "wasm32", target_feature = "simd128"))
}

/// Parses a `tokenizer.json`. The bytes are checked to be JSON first: tokenizers 0.23 panics
/// (`expect("Helper")` in its decoder's deserializer) instead of failing when the document breaks
/// off or goes wrong inside the `decoder` field (found by the `chat_tokenizer` and `whisper_json`
/// fuzz targets).
pub fn tokenizer_from_json(bytes: &[u8]) -> Result<tokenizers::Tokenizer, String> {
    // A whole parse: skipping values (`IgnoredAny`) does not check a string's escapes, and a
    // lone surrogate (`"\ud800"`) in `decoder` panics as well.
    let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if let Some(processor) = json.get("post_processor") {
        check_template_special_tokens(processor)?;
    }
    tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| e.to_string())
}

/// Every special token a post-processor's template names must be among its `special_tokens`.
/// tokenizers checks that only when the processor's `type` tag is read; a processor it reaches
/// untagged (in a `Sequence`, with the tag misspelt) loads, then panics on the first encode
/// ("no entry found for key"; found by the `chat_tokenizer` fuzz target).
fn check_template_special_tokens(value: &serde_json::Value) -> Result<(), String> {
    match value {
        serde_json::Value::Array(items) => items.iter().try_for_each(check_template_special_tokens),
        serde_json::Value::Object(fields) => {
            if let Some(defined) = fields.get("special_tokens").and_then(|t| t.as_object()) {
                let templates = ["single", "pair"].into_iter().filter_map(|k| fields.get(k));
                for piece in templates.filter_map(|t| t.as_array()).flatten() {
                    let named = piece.pointer("/SpecialToken/id").and_then(|id| id.as_str());
                    if let Some(name) = named.filter(|name| !defined.contains_key(*name)) {
                        return Err(format!(
                            "post_processor: the template names the special token {name:?}, which its special_tokens do not define"
                        ));
                    }
                }
            }
            fields.values().try_for_each(check_template_special_tokens)
        }
        _ => Ok(()),
    }
}

/// Lowercase hexadecimal of a byte string (digests in catalogs and logs).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}
