//! Whisper's `config.json`, with Hugging Face key names (as candle-transformers' `whisper::Config`).

use serde::Deserialize;

use super::AsrError;

/// The architecture and token ids of a Whisper checkpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Config {
    /// Mel bands of the input (80, or 128 for large-v3).
    pub num_mel_bins: usize,
    /// Encoder positions: 1500 for the 30 s window.
    pub max_source_positions: usize,
    /// Hidden width.
    pub d_model: usize,
    /// Encoder attention heads.
    pub encoder_attention_heads: usize,
    /// Encoder layers.
    pub encoder_layers: usize,
    /// Vocabulary size of the token embedding.
    pub vocab_size: usize,
    /// Decoder positions (448).
    pub max_target_positions: usize,
    /// Decoder attention heads.
    pub decoder_attention_heads: usize,
    /// Decoder layers.
    pub decoder_layers: usize,
    /// Encoder MLP width (4 × `d_model` when absent).
    #[serde(default)]
    pub encoder_ffn_dim: Option<usize>,
    /// Decoder MLP width (4 × `d_model` when absent).
    #[serde(default)]
    pub decoder_ffn_dim: Option<usize>,
    /// Tokens never sampled (Whisper's non-speech symbols and task tokens).
    #[serde(default)]
    pub suppress_tokens: Vec<u32>,
    /// Tokens suppressed at the first sampled step (blank and end-of-text).
    #[serde(default)]
    pub begin_suppress_tokens: Vec<u32>,
    /// `<|startoftranscript|>`.
    #[serde(default = "default_sot")]
    pub decoder_start_token_id: u32,
    /// `<|endoftext|>`.
    #[serde(default = "default_eot")]
    pub eos_token_id: u32,
}

fn default_sot() -> u32 {
    50258
}

fn default_eot() -> u32 {
    50257
}

impl Config {
    /// Parses `config.json`; `name` labels errors.
    pub fn from_json(bytes: &[u8], name: &str) -> Result<Self, AsrError> {
        let cfg: Self = serde_json::from_slice(bytes).map_err(|e| AsrError::Config {
            name: name.to_string(),
            reason: e.to_string(),
        })?;
        let bad = |reason: &str| AsrError::Config {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        if cfg.d_model == 0 || cfg.encoder_attention_heads == 0 || cfg.decoder_attention_heads == 0
        {
            return Err(bad("d_model and the head counts must be positive"));
        }
        if cfg.d_model % cfg.encoder_attention_heads != 0
            || cfg.d_model % cfg.decoder_attention_heads != 0
        {
            return Err(bad("d_model must be a multiple of the head counts"));
        }
        if cfg.vocab_size == 0 || cfg.max_target_positions == 0 || cfg.max_source_positions == 0 {
            return Err(bad("vocab_size and the position counts must be positive"));
        }
        // Far beyond any Whisper (large-v3: d_model 1280, 32 layers, 51866 tokens), so that
        // products of sizes cannot overflow (a d_model of 8.9e18 did; found by the
        // `whisper_json` fuzz target).
        let sizes = [
            ("num_mel_bins", cfg.num_mel_bins, 1024),
            ("d_model", cfg.d_model, 1 << 16),
            ("encoder_attention_heads", cfg.encoder_attention_heads, 1024),
            ("decoder_attention_heads", cfg.decoder_attention_heads, 1024),
            ("encoder_layers", cfg.encoder_layers, 1024),
            ("decoder_layers", cfg.decoder_layers, 1024),
            ("vocab_size", cfg.vocab_size, 1 << 22),
            ("max_source_positions", cfg.max_source_positions, 1 << 20),
            ("max_target_positions", cfg.max_target_positions, 1 << 20),
            ("encoder_ffn_dim", cfg.encoder_ffn_dim.unwrap_or(0), 1 << 20),
            ("decoder_ffn_dim", cfg.decoder_ffn_dim.unwrap_or(0), 1 << 20),
        ];
        if let Some((field, value, most)) = sizes.iter().find(|(_, value, most)| value > most) {
            return Err(bad(&format!("{field} is {value}, more than {most}")));
        }
        Ok(cfg)
    }

    /// Encoder MLP width.
    pub fn encoder_ffn(&self) -> usize {
        self.encoder_ffn_dim.unwrap_or(4 * self.d_model)
    }

    /// Decoder MLP width.
    pub fn decoder_ffn(&self) -> usize {
        self.decoder_ffn_dim.unwrap_or(4 * self.d_model)
    }
}
