//! Chat LLMs as llama.cpp writes them: GGUF files plus the HF tokenizer files.

use std::path::Path;

use candle_core::quantized::gguf_file::Value;

use super::gguf::{write_gguf, GgufTensor};
use super::shapes::{llm_tensor_type, Quant};
use super::tokenizer::{self, BuiltTokenizer, TokenizerKind};
use super::weights::{stream_tensor, Init};
use super::{io_error, TestModelError};

/// Which real model family a tiny LLM mirrors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LlmFamily {
    /// Llama architecture with SmolLM2-Instruct's tokenizer layout (`<|endoftext|>`,
    /// `<|im_start|>`, `<|im_end|>` are ids 0–2), ChatML template and tied embeddings.
    Llama,
    /// Qwen2 architecture like Qwen2.5-Instruct: q/k/v biases, rope θ 1e6, tied embeddings,
    /// ChatML specials after the BPE vocabulary, NFC normaliser.
    Qwen2,
}

/// GGUF architecture names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arch {
    Llama,
    Qwen2,
    Qwen3,
    Gemma3,
}

impl Arch {
    fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Gemma3 => "gemma3",
        }
    }
}

/// Everything that defines one LLM file set.
#[derive(Clone, Debug)]
pub(crate) struct LlmSpec {
    /// `general.name`.
    pub(crate) name: &'static str,
    pub(crate) arch: Arch,
    /// Rows of the (tied) embedding; `None` = the tokenizer's size.
    pub(crate) vocab_rows: Option<usize>,
    pub(crate) hidden: usize,
    pub(crate) intermediate: usize,
    pub(crate) layers: usize,
    pub(crate) heads: usize,
    pub(crate) kv_heads: usize,
    pub(crate) head_dim: usize,
    pub(crate) context: usize,
    pub(crate) rope_theta: f32,
    pub(crate) rms_eps: f32,
    /// Ids below which the BPE vocabulary is padded with fillers (real shapes only).
    pub(crate) regular_end: Option<usize>,
    /// Tiny test models get N(0, 0.25) weights; real shapes get the fast uniform fill.
    pub(crate) test_init: bool,
    /// `attention.sliding_window` (Gemma 3's local layers).
    pub(crate) sliding_window: Option<usize>,
}

impl LlmSpec {
    /// The tiny model of a family (hidden 64, 2 layers, 4 heads, 2 KV heads, head_dim 16).
    pub(crate) fn tiny(family: LlmFamily) -> Self {
        let (name, arch, rope_theta, rms_eps) = match family {
            LlmFamily::Llama => ("SmolLM2 test", Arch::Llama, 100_000.0, 1e-5),
            LlmFamily::Qwen2 => ("Qwen2.5 test", Arch::Qwen2, 1_000_000.0, 1e-6),
        };
        Self {
            name,
            arch,
            vocab_rows: None,
            hidden: 64,
            intermediate: 192,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            head_dim: 16,
            context: 2048,
            rope_theta,
            rms_eps,
            regular_end: None,
            test_init: true,
            sliding_window: None,
        }
    }

    fn tokenizer_kind(&self) -> TokenizerKind {
        match self.arch {
            // Gemma 3's real tokenizer is SentencePiece; its benchmark shape only needs the
            // vocabulary's size.
            Arch::Llama | Arch::Gemma3 => TokenizerKind::SmolLm2,
            Arch::Qwen2 | Arch::Qwen3 => TokenizerKind::Qwen2,
        }
    }

    fn init(&self, name: &str) -> Init {
        let is_norm = name.contains("norm");
        Init::for_tensor(self.test_init, is_norm, name.ends_with(".bias"))
    }

    /// Tensor names and shapes (row-major), in the order llama.cpp's converter writes them.
    fn tensors(&self, vocab_rows: usize) -> Vec<(String, Vec<usize>)> {
        let (h, q, kv) = (
            self.hidden,
            self.heads * self.head_dim,
            self.kv_heads * self.head_dim,
        );
        let mut t = vec![("token_embd.weight".to_string(), vec![vocab_rows, h])];
        for i in 0..self.layers {
            let mut add = |n: &str, shape: Vec<usize>| t.push((format!("blk.{i}.{n}"), shape));
            add("attn_norm.weight", vec![h]);
            add("ffn_down.weight", vec![h, self.intermediate]);
            add("ffn_gate.weight", vec![self.intermediate, h]);
            add("ffn_up.weight", vec![self.intermediate, h]);
            add("ffn_norm.weight", vec![h]);
            let qk_norms = matches!(self.arch, Arch::Qwen3 | Arch::Gemma3);
            if qk_norms {
                add("attn_k_norm.weight", vec![self.head_dim]);
            }
            if self.arch == Arch::Qwen2 {
                add("attn_k.bias", vec![kv]);
            }
            add("attn_k.weight", vec![kv, h]);
            add("attn_output.weight", vec![h, q]);
            if qk_norms {
                add("attn_q_norm.weight", vec![self.head_dim]);
            }
            if self.arch == Arch::Qwen2 {
                add("attn_q.bias", vec![q]);
            }
            add("attn_q.weight", vec![q, h]);
            if self.arch == Arch::Qwen2 {
                add("attn_v.bias", vec![kv]);
            }
            add("attn_v.weight", vec![kv, h]);
            if self.arch == Arch::Gemma3 {
                add("post_attention_norm.weight", vec![h]);
                add("post_ffw_norm.weight", vec![h]);
            }
        }
        t.push(("output_norm.weight".to_string(), vec![h]));
        t
    }

    fn metadata(
        &self,
        quant: Quant,
        tok: &BuiltTokenizer,
        vocab_rows: usize,
    ) -> Result<Vec<(String, Value)>, TestModelError> {
        let arch = self.arch.name();
        let key = |k: &str| format!("{arch}.{k}");
        let u32v = |v: usize| Value::U32(v as u32);
        let mut m = vec![
            (
                "general.architecture".to_string(),
                Value::String(arch.to_string()),
            ),
            (
                "general.type".to_string(),
                Value::String("model".to_string()),
            ),
            (
                "general.name".to_string(),
                Value::String(self.name.to_string()),
            ),
            (key("block_count"), u32v(self.layers)),
            (key("context_length"), u32v(self.context)),
            (key("embedding_length"), u32v(self.hidden)),
            (key("feed_forward_length"), u32v(self.intermediate)),
            (key("attention.head_count"), u32v(self.heads)),
            (key("attention.head_count_kv"), u32v(self.kv_heads)),
            (key("rope.freq_base"), Value::F32(self.rope_theta)),
            (
                key("attention.layer_norm_rms_epsilon"),
                Value::F32(self.rms_eps),
            ),
            (key("attention.key_length"), u32v(self.head_dim)),
            (key("attention.value_length"), u32v(self.head_dim)),
            (
                "general.file_type".to_string(),
                Value::U32(quant.file_type()),
            ),
        ];
        if let Some(window) = self.sliding_window {
            m.push((key("attention.sliding_window"), u32v(window)));
        }
        if self.arch == Arch::Llama {
            m.push((key("vocab_size"), u32v(vocab_rows)));
            m.push((key("rope.dimension_count"), u32v(self.head_dim)));
        }
        m.push(("general.quantization_version".to_string(), Value::U32(2)));
        let pre = match self.tokenizer_kind() {
            TokenizerKind::SmolLm2 => "smollm",
            _ => "qwen2",
        };
        // llama.cpp pads the token list to the embedding rows with unused "[PAD<id>]" tokens.
        let mut tokens: Vec<Value> = tok
            .tokens
            .iter()
            .map(|t| Value::String(t.clone()))
            .collect();
        let mut types: Vec<Value> = tok
            .special
            .iter()
            .map(|&s| Value::I32(if s { 3 } else { 1 }))
            .collect();
        for i in tok.len()..vocab_rows {
            tokens.push(Value::String(format!("[PAD{i}]")));
            types.push(Value::I32(5));
        }
        let merges = tok
            .merges
            .iter()
            .map(|s| Value::String(s.clone()))
            .collect();
        let (bos, eos, pad) = match self.arch {
            Arch::Llama | Arch::Gemma3 => ("<|im_start|>", "<|im_end|>", "<|im_end|>"),
            Arch::Qwen2 | Arch::Qwen3 => ("<|endoftext|>", "<|im_end|>", "<|endoftext|>"),
        };
        m.extend([
            (
                "tokenizer.ggml.model".to_string(),
                Value::String("gpt2".to_string()),
            ),
            (
                "tokenizer.ggml.pre".to_string(),
                Value::String(pre.to_string()),
            ),
            ("tokenizer.ggml.tokens".to_string(), Value::Array(tokens)),
            ("tokenizer.ggml.token_type".to_string(), Value::Array(types)),
            ("tokenizer.ggml.merges".to_string(), Value::Array(merges)),
            (
                "tokenizer.ggml.bos_token_id".to_string(),
                Value::U32(tok.id(bos)?),
            ),
            (
                "tokenizer.ggml.eos_token_id".to_string(),
                Value::U32(tok.id(eos)?),
            ),
        ]);
        if matches!(self.arch, Arch::Llama | Arch::Gemma3) {
            m.push((
                "tokenizer.ggml.unknown_token_id".to_string(),
                Value::U32(tok.id("<|endoftext|>")?),
            ));
        }
        m.extend([
            (
                "tokenizer.ggml.padding_token_id".to_string(),
                Value::U32(tok.id(pad)?),
            ),
            (
                "tokenizer.ggml.add_bos_token".to_string(),
                Value::Bool(false),
            ),
            (
                "tokenizer.ggml.add_eos_token".to_string(),
                Value::Bool(false),
            ),
            (
                "tokenizer.chat_template".to_string(),
                Value::String(self.chat_template().to_string()),
            ),
        ]);
        Ok(m)
    }

    fn chat_template(&self) -> &'static str {
        match self.arch {
            Arch::Llama | Arch::Gemma3 => SMOLLM2_CHAT_TEMPLATE,
            Arch::Qwen2 | Arch::Qwen3 => QWEN25_CHAT_TEMPLATE,
        }
    }

    /// `tokenizer_config.json` as the HF hub repos of SmolLM2-Instruct / Qwen2.5-Instruct have it.
    fn tokenizer_config(&self, tok: &BuiltTokenizer) -> Result<serde_json::Value, TestModelError> {
        let mut decoder = serde_json::Map::new();
        for (id, token) in tok
            .tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| tok.special[*i])
        {
            decoder.insert(
                id.to_string(),
                serde_json::json!({"content": token, "lstrip": false, "normalized": false,
                                   "rstrip": false, "single_word": false, "special": true}),
            );
        }
        let specials = ["<|im_start|>", "<|im_end|>"];
        Ok(match self.arch {
            Arch::Llama | Arch::Gemma3 => serde_json::json!({
                "add_prefix_space": false,
                "added_tokens_decoder": decoder,
                "additional_special_tokens": specials,
                "bos_token": "<|im_start|>",
                "chat_template": SMOLLM2_CHAT_TEMPLATE,
                "clean_up_tokenization_spaces": false,
                "eos_token": "<|im_end|>",
                "model_max_length": self.context,
                "pad_token": "<|im_end|>",
                "tokenizer_class": "GPT2Tokenizer",
                "unk_token": "<|endoftext|>",
                "vocab_size": tok.len(),
            }),
            Arch::Qwen2 | Arch::Qwen3 => serde_json::json!({
                "add_bos_token": false,
                "add_prefix_space": false,
                "added_tokens_decoder": decoder,
                "additional_special_tokens": specials,
                "bos_token": null,
                "chat_template": QWEN25_CHAT_TEMPLATE,
                "clean_up_tokenization_spaces": false,
                "eos_token": "<|im_end|>",
                "errors": "replace",
                "model_max_length": self.context,
                "pad_token": "<|endoftext|>",
                "split_special_tokens": false,
                "tokenizer_class": "Qwen2Tokenizer",
                "unk_token": null,
            }),
        })
    }
}

/// SmolLM2-Instruct's chat template (ChatML with its default system prompt).
pub(crate) const SMOLLM2_CHAT_TEMPLATE: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// Qwen2.5-Instruct's chat template (ChatML, tool calls, default system prompt).
pub(crate) const QWEN25_CHAT_TEMPLATE: &str = include_str!("qwen25_chat_template.jinja");

/// Writes a tiny chat model of `family` into `dir`: `model-f32.gguf`, `model-q8_0.gguf`,
/// `tokenizer.json` and `tokenizer_config.json` (with the family's chat template).
///
/// Vocabulary: 1024 ids (a BPE trained on [`super::CORPUS`] plus three ChatML specials);
/// hidden 64, intermediate 192, 2 layers, 4 heads, 2 KV heads, head_dim 16, context 2048.
pub fn write_tiny_llm(dir: &Path, family: LlmFamily) -> Result<(), TestModelError> {
    write_llm(dir, &LlmSpec::tiny(family), &[Quant::F32, Quant::Q8_0]).map(|_| ())
}

/// Writes the tokenizer files and one GGUF per quantization; returns the files written.
pub(crate) fn write_llm(
    dir: &Path,
    spec: &LlmSpec,
    quants: &[Quant],
) -> Result<Vec<String>, TestModelError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let tok = tokenizer::build(
        spec.tokenizer_kind(),
        tokenizer::LLM_MERGES,
        spec.regular_end,
    )?;
    let vocab_rows = spec.vocab_rows.unwrap_or(tok.len());
    if vocab_rows < tok.len() {
        return Err(TestModelError::Unsupported(format!(
            "{}: {vocab_rows} embedding rows cannot hold {} tokens",
            spec.name,
            tok.len()
        )));
    }
    let mut files = vec![
        "tokenizer.json".to_string(),
        "tokenizer_config.json".to_string(),
    ];
    write_text(&dir.join(&files[0]), &tok.json)?;
    let config = serde_json::to_string_pretty(&spec.tokenizer_config(&tok)?)?;
    write_text(&dir.join(&files[1]), &config)?;

    let shapes = spec.tensors(vocab_rows);
    for &quant in quants {
        let tensors: Vec<GgufTensor> = shapes
            .iter()
            .map(|(name, shape)| GgufTensor {
                name: name.clone(),
                shape: shape.clone(),
                dtype: llm_tensor_type(quant, name, shape, spec.layers),
            })
            .collect();
        let file = format!("model-{}.gguf", quant.name());
        let path = dir.join(&file);
        let metadata = spec.metadata(quant, &tok, vocab_rows)?;
        write_gguf(&path, &metadata, &tensors, |t, out| {
            // Keyed by model too, so the two tiny families do not share weights.
            let key = format!("{}/{}", spec.name, t.name);
            stream_tensor(&path, t, &key, spec.init(&t.name), out)
        })?;
        files.push(file);
    }
    Ok(files)
}

/// Writes a text file (with a trailing newline, as HF's tools do).
pub(crate) fn write_text(path: &Path, text: &str) -> Result<(), TestModelError> {
    let mut text = text.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    std::fs::write(path, text).map_err(io_error(path))
}
