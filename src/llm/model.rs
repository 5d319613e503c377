//! A chat model loaded from GGUF: its hyper-parameters ([`Config`]) and the network of its
//! architecture, one file per model family: [`super::llama`] (llama, Qwen2/2.5, Qwen3) and
//! [`super::gemma3`], made of the blocks in [`super::decoder`].

use super::gemma3::Gemma3;
use super::kv_cache::KvCache;
use super::llama::Llama;
use super::loader::Loader;
use super::LlmError;
use crate::gguf::GgufFile;

/// Model families this crate runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// `llama` (SmolLM, SmolLM2, Llama 2/3.x).
    Llama,
    /// `qwen2` (Qwen2, Qwen2.5).
    Qwen2,
    /// `qwen3`.
    Qwen3,
    /// `gemma3` (Gemma 3 text models).
    Gemma3,
}

/// Hyper-parameters, named after the GGUF keys `{arch}.{key}` they are read from.
#[derive(Debug, Clone)]
pub struct Config {
    /// `general.architecture`.
    pub architecture: Arch,
    /// `block_count`: transformer layers.
    pub block_count: usize,
    /// `context_length`: the longest sequence the model was trained for.
    pub context_length: usize,
    /// `embedding_length`: hidden size.
    pub embedding_length: usize,
    /// `feed_forward_length`: MLP inner size.
    pub feed_forward_length: usize,
    /// `attention.head_count`.
    pub attention_head_count: usize,
    /// `attention.head_count_kv` (grouped-query attention).
    pub attention_head_count_kv: usize,
    /// `attention.key_length`: per-head size (defaults to hidden / heads).
    pub attention_key_length: usize,
    /// `rope.freq_base`.
    pub rope_freq_base: f32,
    /// `attention.layer_norm_rms_epsilon`.
    pub attention_layer_norm_rms_epsilon: f32,
    /// `vocab_size` (or the rows of `token_embd.weight`).
    pub vocab_size: usize,
    /// `attention.sliding_window`: the positions a sliding-window layer sees, itself included
    /// (Gemma 3's local layers).
    pub attention_sliding_window: Option<usize>,
}

impl Config {
    /// Reads the hyper-parameters, rejecting unsupported architectures by name.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self, LlmError> {
        let arch_name = gguf.str("general.architecture")?;
        let architecture = match arch_name {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "gemma3" => Arch::Gemma3,
            other => {
                return Err(LlmError::Unsupported(format!(
                    "architecture `{other}` (supported: llama, qwen2, qwen3, gemma3)"
                )))
            }
        };
        let key = |k: &str| format!("{arch_name}.{k}");
        let int = |k: &str| -> Result<usize, LlmError> {
            let v = gguf.u64(&key(k))?;
            usize::try_from(v)
                .ok()
                .filter(|v| *v > 0 && *v < 1 << 24)
                .ok_or_else(|| {
                    LlmError::Gguf(format!("metadata `{}` = {v} is out of range", key(k)))
                })
        };
        let float = |k: &str, default: f64| {
            gguf.get(&key(k))
                .and_then(|v| v.as_f64())
                .unwrap_or(default) as f32
        };
        let embedding_length = int("embedding_length")?;
        let attention_head_count = int("attention.head_count")?;
        let attention_head_count_kv = match gguf.get(&key("attention.head_count_kv")) {
            Some(_) => int("attention.head_count_kv")?,
            None => attention_head_count,
        };
        let attention_key_length = match gguf.get(&key("attention.key_length")) {
            Some(_) => int("attention.key_length")?,
            None => embedding_length / attention_head_count,
        };
        let vocab_size = match gguf.get(&key("vocab_size")) {
            Some(_) => int("vocab_size")?,
            None => gguf
                .tensors
                .get("token_embd.weight")
                .and_then(|t| t.dims.get(1).copied())
                .ok_or_else(|| LlmError::MissingTensor("token_embd.weight".into()))?,
        };
        let config = Config {
            architecture,
            block_count: int("block_count")?,
            context_length: int("context_length")?,
            embedding_length,
            feed_forward_length: int("feed_forward_length")?,
            attention_head_count,
            attention_head_count_kv,
            attention_key_length,
            rope_freq_base: float("rope.freq_base", 10_000.0),
            attention_layer_norm_rms_epsilon: float("attention.layer_norm_rms_epsilon", 1e-6),
            vocab_size,
            attention_sliding_window: match gguf.get(&key("attention.sliding_window")) {
                Some(_) => Some(int("attention.sliding_window")?),
                None => None,
            },
        };
        if attention_head_count % attention_head_count_kv != 0 || attention_key_length % 2 != 0 {
            return Err(LlmError::Gguf(format!(
                "inconsistent attention shape: {attention_head_count} heads, {attention_head_count_kv} kv heads, head size {attention_key_length}"
            )));
        }
        Ok(config)
    }

    /// The length of all query heads of a token.
    pub fn q_dim(&self) -> usize {
        self.attention_head_count * self.attention_key_length
    }

    /// The length of all key (or value) heads of a token.
    pub fn kv_dim(&self) -> usize {
        self.attention_head_count_kv * self.attention_key_length
    }
}

/// The network of one architecture.
enum Network {
    Llama(Llama),
    Gemma3(Gemma3),
}

/// A loaded model: weights are views into the one GGUF buffer; small vectors (norms, biases) are f32.
pub struct Model {
    /// Hyper-parameters.
    pub config: Config,
    network: Network,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("config", &self.config)
            .finish()
    }
}

impl Model {
    /// Builds the model over `bytes` (the whole GGUF file), parsed as `gguf`. No tensor data is
    /// copied: the q8_0 matrices are repacked in place for the prefill kernel, and the model
    /// keeps `bytes` as its one weight buffer.
    pub fn load(gguf: &GgufFile, bytes: Vec<u8>) -> Result<Self, LlmError> {
        let config = Config::from_gguf(gguf)?;
        let loader = Loader::new(gguf, &config, bytes);
        let network = match config.architecture {
            Arch::Llama | Arch::Qwen2 | Arch::Qwen3 => {
                Network::Llama(Llama::load(&loader, &config)?)
            }
            Arch::Gemma3 => Network::Gemma3(Gemma3::load(&loader, &config)?),
        };
        Ok(Model { config, network })
    }

    /// An empty KV cache for this model (it grows as tokens are fed).
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.config.block_count, self.config.kv_dim())
    }

    /// Feeds `tokens` after what `cache` holds and returns the logits of the last token, or of every
    /// token when `all_logits` (`n_tokens` × vocab, row-major).
    pub fn forward(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
        all_logits: bool,
    ) -> Result<Vec<f32>, LlmError> {
        let c = &self.config;
        let t_len = tokens.len();
        if t_len == 0 {
            return Err(LlmError::Shape("forward needs at least one token".into()));
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= c.vocab_size) {
            return Err(LlmError::Shape(format!(
                "token id {bad} is outside the vocabulary of {}",
                c.vocab_size
            )));
        }
        if cache.len() + t_len > c.context_length {
            return Err(LlmError::PromptTooLong {
                tokens: cache.len() + t_len,
                context: c.context_length,
            });
        }
        // The tokens whose logits are wanted.
        let rows = if all_logits {
            0..t_len
        } else {
            t_len - 1..t_len
        };
        Ok(match &self.network {
            Network::Llama(net) => net.forward(c, tokens, cache, rows),
            Network::Gemma3(net) => net.forward(c, tokens, cache, rows),
        })
    }
}
