//! Text ↔ token ids: from a `tokenizer.json`, or rebuilt from the GGUF's own vocabulary and merges.
//!
//! The GGUF route mirrors llama.cpp's byte-level BPE (`llm_tokenizer_bpe` in
//! <https://github.com/ggml-org/llama.cpp/blob/master/src/llama-vocab.cpp>): the pre-tokenizer regex is
//! chosen by `tokenizer.ggml.pre`, control and user-defined tokens become added tokens. It is expressed
//! as a `tokenizer.json` document and handed to the `tokenizers` crate, so both routes share one engine.

use serde_json::{json, Value};

use super::sentencepiece;
use super::LlmError;
use crate::gguf::{GgufFile, MetaValue};

/// GPT-2's split, also SmolLM's (after isolating digits).
const GPT2_REGEX: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
/// Llama 3 (`llama-bpe`): numbers in groups of up to three.
const LLAMA3_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2/3: single digits.
const QWEN2_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// GGUF token types (`llama_token_type`).
const TOKEN_TYPE_CONTROL: u64 = 3;
const TOKEN_TYPE_USER_DEFINED: u64 = 4;

/// A tokenizer plus the special tokens the chat layer needs.
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TextTokenizer({} tokens)", self.vocab_size())
    }
}

fn tok_err(e: impl std::fmt::Display) -> LlmError {
    LlmError::Tokenizer(e.to_string())
}

impl TextTokenizer {
    /// Reads a Hugging Face `tokenizer.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Self, LlmError> {
        Ok(TextTokenizer {
            inner: crate::tokenizer_from_json(bytes).map_err(tok_err)?,
        })
    }

    /// Rebuilds the tokenizer stored in the GGUF metadata: byte-level BPE (`gpt2`), or Gemma's
    /// SentencePiece vocabulary (`llama` in a Gemma file; see [`super::sentencepiece`]).
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self, LlmError> {
        let model = gguf.str("tokenizer.ggml.model")?;
        let architecture = gguf.str("general.architecture").unwrap_or("");
        let file_tokens = gguf
            .str_array("tokenizer.ggml.tokens")
            .ok_or_else(|| LlmError::Gguf("missing tokenizer.ggml.tokens".into()))?;
        let types: Vec<u64> = match gguf.get("tokenizer.ggml.token_type") {
            Some(MetaValue::Array(v)) => v.iter().map(|t| t.as_u64().unwrap_or(1)).collect(),
            _ => vec![1; file_tokens.len()],
        };
        let (tokens, [model, normalizer, pre_tokenizer, decoder]) = match model {
            "gpt2" => {
                let tokens: Vec<String> = file_tokens.iter().map(|t| t.to_string()).collect();
                let parts = byte_level_parts(gguf, &tokens)?;
                (tokens, parts)
            }
            "llama" if sentencepiece::is_gemma(architecture) => {
                let tokens = sentencepiece::respell(&file_tokens);
                let unk = gguf
                    .get("tokenizer.ggml.unknown_token_id")
                    .and_then(MetaValue::as_u64)
                    .and_then(|id| tokens.get(id as usize).map(String::as_str));
                let parts = sentencepiece::gemma_parts(&tokens, unk);
                (tokens, parts)
            }
            other => {
                return Err(LlmError::Unsupported(format!(
                    "GGUF tokenizer model `{other}` of a `{architecture}` file (rebuilt: byte-level BPE, \
                     `gpt2`, and Gemma's SentencePiece); pass a tokenizer.json"
                )))
            }
        };
        let added: Vec<Value> = tokens
            .iter()
            .zip(&types)
            .enumerate()
            .filter(|(_, (_, &ty))| ty == TOKEN_TYPE_CONTROL || ty == TOKEN_TYPE_USER_DEFINED)
            .map(|(i, (t, &ty))| {
                json!({"id": i, "content": t, "single_word": false, "lstrip": false, "rstrip": false,
                       "normalized": false, "special": ty == TOKEN_TYPE_CONTROL})
            })
            .collect();
        let add_bos = matches!(
            gguf.get("tokenizer.ggml.add_bos_token"),
            Some(MetaValue::Bool(true))
        );
        let bos = gguf
            .get("tokenizer.ggml.bos_token_id")
            .and_then(MetaValue::as_u64)
            .and_then(|id| tokens.get(id as usize).map(|t| (id, t.as_str())));
        let post_processor = match (add_bos, bos) {
            (true, Some((id, text))) => json!({
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": text, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": text, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": text, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {text: {"id": text, "ids": [id], "tokens": [text]}}
            }),
            _ => Value::Null,
        };
        let doc = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": normalizer,
            "pre_tokenizer": pre_tokenizer,
            "post_processor": post_processor,
            "decoder": decoder,
            "model": model,
        });
        Self::from_json(&serde_json::to_vec(&doc).map_err(tok_err)?)
    }

    /// Checks that this tokenizer's ids mean what the model's own vocabulary says they mean.
    pub fn check_matches(&self, gguf: &GgufFile, model_vocab: usize) -> Result<(), LlmError> {
        let n = self.vocab_size();
        if n > model_vocab {
            return Err(LlmError::VocabMismatch(format!(
                "the tokenizer has {n} tokens but the model's vocabulary has {model_vocab}"
            )));
        }
        if let Some(tokens) = gguf.str_array("tokenizer.ggml.tokens") {
            for (id, expected) in tokens.iter().enumerate().take(n) {
                // A Gemma vocabulary's tokens of spaces are respelled with `▁` (see `sentencepiece`).
                let expected = sentencepiece::respelled(expected);
                match self.inner.id_to_token(id as u32) {
                    Some(t) if t == *expected => {}
                    found => {
                        return Err(LlmError::VocabMismatch(format!(
                            "token {id} is {found:?} in the tokenizer but {expected:?} in the model"
                        )))
                    }
                }
            }
        }
        Ok(())
    }

    /// Number of ids, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Encodes text; `add_special` applies the post-processor (e.g. a BOS).
    pub fn encode(&self, text: &str, add_special: bool) -> Result<Vec<u32>, LlmError> {
        Ok(self
            .inner
            .encode(text, add_special)
            .map_err(tok_err)?
            .get_ids()
            .to_vec())
    }

    /// Decodes ids, leaving out special tokens when `skip_special`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, LlmError> {
        self.inner.decode(ids, skip_special).map_err(tok_err)
    }

    /// The id of a token's exact text, if it exists.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.inner.token_to_id(text)
    }

    /// The text of an id, if it exists.
    pub fn token_text(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }
}

/// The model, normalizer, pre-tokenizer and decoder of a byte-level BPE (`tokenizer.ggml.model =
/// "gpt2"`): the pre-tokenizer's split is chosen by `tokenizer.ggml.pre`.
fn byte_level_parts(gguf: &GgufFile, tokens: &[String]) -> Result<[Value; 4], LlmError> {
    let merges = gguf
        .str_array("tokenizer.ggml.merges")
        .ok_or_else(|| LlmError::Gguf("missing tokenizer.ggml.merges".into()))?;
    let pre = gguf
        .get("tokenizer.ggml.pre")
        .and_then(MetaValue::as_str)
        .unwrap_or("default");
    let split = |pattern: &str| json!({"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false});
    let byte_level = |use_regex: bool| json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex});
    let (pretokenizers, ignore_merges, normalizer) = match pre {
        "llama-bpe" | "llama3" | "llama-v3" => {
            (vec![split(LLAMA3_REGEX), byte_level(false)], true, Value::Null)
        }
        "qwen2" | "qwen3" | "deepseek-r1-qwen" => (
            vec![split(QWEN2_REGEX), byte_level(false)],
            false,
            json!({"type": "NFC"}),
        ),
        "smollm" => (
            vec![
                json!({"type": "Digits", "individual_digits": true}),
                byte_level(true),
            ],
            false,
            Value::Null,
        ),
        "gpt2" | "default" => (vec![split(GPT2_REGEX), byte_level(false)], false, Value::Null),
        other => {
            return Err(LlmError::Unsupported(format!(
                "GGUF pre-tokenizer `{other}` (supported: llama-bpe, qwen2, smollm, gpt2); pass a tokenizer.json"
            )))
        }
    };
    let vocab: serde_json::Map<String, Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), json!(i)))
        .collect();
    let model = json!({"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                       "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                       "ignore_merges": ignore_merges, "vocab": vocab, "merges": merges});
    let pre_tokenizer = json!({"type": "Sequence", "pretokenizers": pretokenizers});
    let decoder = json!({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true});
    Ok([model, normalizer, pre_tokenizer, decoder])
}
