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
    if let Some(model) = json.get("model") {
        check_bpe_merges(model)?;
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

/// Every BPE merge must make a token no longer than the vocabulary's longest: tokenizers builds
/// each merged token in a buffer of that length and panics past it ("range end index … out of
/// range"), or when the second half is shorter than `continuing_subword_prefix` (found by the
/// `chat_tokenizer` fuzz target). Merges tokenizers rejects itself (a half not in the
/// vocabulary, a line that is not two halves) are left to it.
fn check_bpe_merges(model: &serde_json::Value) -> Result<(), String> {
    let (Some(vocab), Some(merges)) = (
        model.get("vocab").and_then(|v| v.as_object()),
        model.get("merges").and_then(|m| m.as_array()),
    ) else {
        return Ok(());
    };
    let longest = vocab.keys().map(String::len).max().unwrap_or(0);
    let prefix = model
        .get("continuing_subword_prefix")
        .and_then(|p| p.as_str())
        .map_or(0, str::len);
    for merge in merges {
        let halves: Vec<&str> = match merge {
            serde_json::Value::String(line) => line.split(' ').collect(),
            serde_json::Value::Array(pair) => pair.iter().filter_map(|h| h.as_str()).collect(),
            _ => continue,
        };
        let [a, b] = halves[..] else { continue };
        if !(vocab.contains_key(a) && vocab.contains_key(b)) {
            continue;
        }
        if b.len() < prefix || a.len() + b.len() - prefix > longest {
            return Err(format!(
                "model.merges: the merge {a:?} + {b:?} makes a token longer than any in model.vocab ({longest} bytes)"
            ));
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::tokenizer_from_json;

    /// A byte-level BPE whose only merge joins two vocabulary tokens into one longer than any
    /// in the vocabulary.
    fn bpe(merges: &str, prefix: &str) -> String {
        format!(
            r#"{{"version":"1.0","added_tokens":[],"normalizer":null,"pre_tokenizer":null,"post_processor":null,"decoder":null,
"model":{{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":{prefix},"end_of_word_suffix":null,
"fuse_unk":false,"byte_fallback":false,"vocab":{{"ab":0,"cd":1,"abcd":2,"efghij":3}},"merges":{merges}}}}}"#
        )
    }

    #[test]
    fn a_merge_longer_than_the_vocabulary_is_refused_not_a_panic() {
        assert!(tokenizer_from_json(bpe(r#"["ab cd"]"#, "null").as_bytes()).is_ok());
        let long = bpe(r#"["efghij efghij"]"#, "null");
        let message = tokenizer_from_json(long.as_bytes()).unwrap_err();
        assert!(
            message.contains("model.merges") && message.contains("efghij"),
            "{message}"
        );
        let array_form = bpe(r#"[["efghij","abcd"]]"#, "null");
        assert!(tokenizer_from_json(array_form.as_bytes()).is_err());
        let short_half = bpe(r#"["ab cd"]"#, "\"#####\"");
        assert!(tokenizer_from_json(short_half.as_bytes()).is_err());
    }
}
