//! The decoder-only transformer shared by the llama family (SmolLM2, Llama-3.2), Qwen2/2.5 and Qwen3.
//!
//! One file with per-architecture switches, because the three differ only in small, named places:
//! Qwen2 adds q/k/v biases, Qwen3 adds a per-head RMSNorm on q and k, and GGUF stores llama's q/k
//! rows permuted for interleaved ("normal") RoPE while the Qwens use the half-split ("neox") form.
//! References: HF `modeling_llama.py`
//! <https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py>,
//! `modeling_qwen2.py`, `modeling_qwen3.py`, and llama.cpp's `llm_build_llama` / `llm_build_qwen2` /
//! `llm_build_qwen3` in <https://github.com/ggml-org/llama.cpp/blob/master/src/llama-model.cpp>.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::attention::{attend_group, HeadLayout};
use super::elementwise::{add_bias, rms_norm, rms_norm_in_place, rope};
use super::gguf::GgufFile;
use super::kv_cache::KvCache;
use super::quant::kernels::exp_f32;
use super::quant::{packed, GgmlType, QMatrix};
use super::LlmError;
use crate::parallel::{for_each_chunk, DisjointOut};

/// Model families this crate runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// `llama` (SmolLM, SmolLM2, Llama 2/3.x).
    Llama,
    /// `qwen2` (Qwen2, Qwen2.5).
    Qwen2,
    /// `qwen3`.
    Qwen3,
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
}

impl Config {
    /// Reads the hyper-parameters, rejecting unsupported architectures by name.
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self, LlmError> {
        let arch_name = gguf.str("general.architecture")?;
        let architecture = match arch_name {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            other => {
                return Err(LlmError::Unsupported(format!(
                    "architecture `{other}` (supported: llama, qwen2, qwen3)"
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
        };
        if attention_head_count % attention_head_count_kv != 0 || attention_key_length % 2 != 0 {
            return Err(LlmError::Gguf(format!(
                "inconsistent attention shape: {attention_head_count} heads, {attention_head_count_kv} kv heads, head size {attention_key_length}"
            )));
        }
        Ok(config)
    }
}

struct Layer {
    attn_norm: Vec<f32>,
    wq: QMatrix,
    wk: QMatrix,
    wv: QMatrix,
    bias_qkv: Option<[Vec<f32>; 3]>,
    q_norm: Option<Vec<f32>>,
    k_norm: Option<Vec<f32>>,
    wo: QMatrix,
    ffn_norm: Vec<f32>,
    gate: QMatrix,
    up: QMatrix,
    down: QMatrix,
}

/// A loaded model: weights are views into the one GGUF buffer; small vectors (norms, biases) are f32.
pub struct Model {
    /// Hyper-parameters.
    pub config: Config,
    token_embd: QMatrix,
    layers: Vec<Layer>,
    output_norm: Vec<f32>,
    output: QMatrix,
    /// RoPE inverse frequencies (`hd / 2`), with `rope_freqs.weight` (Llama 3.x long-context
    /// scaling) already applied: computed once, not per token and head.
    inv_freq: Vec<f64>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("config", &self.config)
            .finish()
    }
}

struct Loader<'a> {
    gguf: &'a GgufFile,
    buf: &'a Arc<Vec<u8>>,
    /// The matrices packed in place, by name: how many of their rows are packed tiles.
    packed: HashMap<String, usize>,
}

/// The matrices of layer `i`: name, rows and row length.
fn layer_matrices(config: &Config, i: usize) -> [(String, usize, usize); 7] {
    let d = config.embedding_length;
    let ff = config.feed_forward_length;
    let hd = config.attention_key_length;
    let (q_dim, kv_dim) = (
        config.attention_head_count * hd,
        config.attention_head_count_kv * hd,
    );
    [
        ("attn_q", q_dim, d),
        ("attn_k", kv_dim, d),
        ("attn_v", kv_dim, d),
        ("attn_output", d, q_dim),
        ("ffn_gate", ff, d),
        ("ffn_up", ff, d),
        ("ffn_down", d, ff),
    ]
    .map(|(name, rows, cols)| (format!("blk.{i}.{name}.weight"), rows, cols))
}

/// Packs every matrix of its expected shape in `bytes` whose encoding is packed in place
/// ([`packed::pack_in_place`]: q8_0, q4_1, q5_0, q5_1): the layers', and the embedding table
/// and output layer, whose rows are looked up from the tiles; the others are left for
/// [`Loader::matrix`] to check and refuse. Returns how many rows of each are packed.
fn pack_matrices(gguf: &GgufFile, config: &Config, bytes: &mut [u8]) -> HashMap<String, usize> {
    let mut packed = HashMap::new();
    let (vocab, d) = (config.vocab_size, config.embedding_length);
    let tables = ["token_embd.weight", "output.weight"].map(|name| (name.to_string(), vocab, d));
    let layers = (0..config.block_count).flat_map(|i| layer_matrices(config, i));
    for (name, rows, cols) in tables.into_iter().chain(layers) {
        let Some(t) = gguf.tensors.get(&name) else {
            continue;
        };
        if t.dims == [cols, rows] {
            let data = &mut bytes[t.offset..t.offset + t.len];
            packed.insert(name, packed::pack_in_place(t.dtype, data, rows, cols));
        }
    }
    packed
}

impl Loader<'_> {
    fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<QMatrix, LlmError> {
        let t = self
            .gguf
            .tensors
            .get(name)
            .ok_or_else(|| LlmError::MissingTensor(name.into()))?;
        if t.dims.len() != 2 || t.dims[0] != cols || t.dims[1] != rows {
            return Err(LlmError::Gguf(format!(
                "tensor `{name}` has shape {:?}, expected [{cols}, {rows}]",
                t.dims
            )));
        }
        let packed_rows = self.packed.get(name).copied().unwrap_or(0);
        Ok(
            QMatrix::new(self.buf.clone(), t.offset, rows, cols, t.dtype)
                .with_packed_rows(packed_rows),
        )
    }

    fn vector(&self, name: &str, len: usize) -> Result<Vec<f32>, LlmError> {
        let t = self
            .gguf
            .tensors
            .get(name)
            .ok_or_else(|| LlmError::MissingTensor(name.into()))?;
        if t.dims != [len] || !matches!(t.dtype, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16) {
            return Err(LlmError::Gguf(format!(
                "tensor `{name}` is {:?} {:?}, expected an f32/f16/bf16 vector of {len}",
                t.dtype, t.dims
            )));
        }
        let mut out = vec![0f32; len];
        super::quant::kernels::dequantize_row(
            t.dtype,
            &self.buf[t.offset..t.offset + t.len],
            &mut out,
        );
        Ok(out)
    }

    fn optional_vector(&self, name: &str, len: usize) -> Result<Option<Vec<f32>>, LlmError> {
        match self.gguf.tensors.contains_key(name) {
            true => self.vector(name, len).map(Some),
            false => Ok(None),
        }
    }
}

impl Model {
    /// Builds the model over `bytes` (the whole GGUF file), parsed as `gguf`. No tensor data is
    /// copied: the matrices of the 32-value encodings are repacked in place for the tile kernel, and the
    /// model keeps `bytes` as its one weight buffer.
    pub fn load(gguf: &GgufFile, mut bytes: Vec<u8>) -> Result<Self, LlmError> {
        let config = Config::from_gguf(gguf)?;
        let packed = pack_matrices(gguf, &config, &mut bytes);
        let buf = &Arc::new(bytes);
        let l = Loader { gguf, buf, packed };
        let (d, hd) = (config.embedding_length, config.attention_key_length);
        let (q_dim, kv_dim) = (
            config.attention_head_count * hd,
            config.attention_head_count_kv * hd,
        );
        let token_embd = l.matrix("token_embd.weight", config.vocab_size, d)?;
        let mut layers = Vec::with_capacity(config.block_count);
        for i in 0..config.block_count {
            let n = |s: &str| format!("blk.{i}.{s}");
            let [wq, wk, wv, wo, gate, up, down] =
                layer_matrices(&config, i).map(|(name, rows, cols)| l.matrix(&name, rows, cols));
            let bias_qkv = match config.architecture {
                Arch::Qwen2 => Some([
                    l.vector(&n("attn_q.bias"), q_dim)?,
                    l.vector(&n("attn_k.bias"), kv_dim)?,
                    l.vector(&n("attn_v.bias"), kv_dim)?,
                ]),
                _ => None,
            };
            let (q_norm, k_norm) = match config.architecture {
                Arch::Qwen3 => (
                    Some(l.vector(&n("attn_q_norm.weight"), hd)?),
                    Some(l.vector(&n("attn_k_norm.weight"), hd)?),
                ),
                _ => (None, None),
            };
            layers.push(Layer {
                attn_norm: l.vector(&n("attn_norm.weight"), d)?,
                wq: wq?,
                wk: wk?,
                wv: wv?,
                bias_qkv,
                q_norm,
                k_norm,
                wo: wo?,
                ffn_norm: l.vector(&n("ffn_norm.weight"), d)?,
                gate: gate?,
                up: up?,
                down: down?,
            });
        }
        // Tied embeddings (Qwen2.5 small, SmolLM2): the quantized table doubles as the LM head.
        let output = match gguf.tensors.contains_key("output.weight") {
            true => l.matrix("output.weight", config.vocab_size, d)?,
            false => token_embd.clone(),
        };
        let factors = l.optional_vector("rope_freqs.weight", hd / 2)?;
        let base = config.rope_freq_base as f64;
        let inv_freq = (0..hd / 2)
            .map(|i| {
                let f = 1.0 / base.powf(2.0 * i as f64 / hd as f64);
                factors.as_ref().map_or(f, |factors| f / factors[i] as f64)
            })
            .collect();
        Ok(Model {
            output_norm: l.vector("output_norm.weight", d)?,
            inv_freq,
            token_embd,
            layers,
            output,
            config,
        })
    }

    /// An empty KV cache for this model (it grows as tokens are fed).
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(
            self.config.block_count,
            self.config.attention_head_count_kv * self.config.attention_key_length,
        )
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
        let (t_len, d) = (tokens.len(), c.embedding_length);
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
        grow_heap_once(
            2 * t_len * d * std::mem::size_of::<f32>()
                + LayerBuffers::bytes(c, t_len)
                + cache.first_buffer_bytes(t_len),
        );
        // https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py (LlamaModel.forward: embed_tokens)
        let mut x = vec![0f32; t_len * d];
        for (row, &tok) in x.chunks_exact_mut(d).zip(tokens) {
            self.token_embd.dequantize_row(tok as usize, row);
        }
        let mut h = vec![0f32; t_len * d];
        // One set of per-layer buffers for the whole pass: every layer overwrites them, and
        // allocating them per layer showed up as dlmalloc time in the wasm prefill profile.
        let mut buf = LayerBuffers::new(c, t_len);
        debug_assert_eq!(buf.held_bytes(), LayerBuffers::bytes(c, t_len));
        cache.reserve(t_len);
        // The rotary angles of the pass's positions, for every layer.
        for (t, angles) in buf
            .angles
            .chunks_exact_mut(c.attention_key_length / 2)
            .enumerate()
        {
            let pos = (cache.len() + t) as f64;
            for (angle, f) in angles.iter_mut().zip(&self.inv_freq) {
                let (sin, cos) = (pos * f).sin_cos();
                *angle = (sin as f32, cos as f32);
            }
        }
        // Only the rows whose logits are wanted matter past the last layer's keys and values:
        // that layer's queries, attention, output projection and MLP skip the other tokens
        // (as llama.cpp's `inp_out_ids` does), a 32nd of a prefill on SmolLM2-360M.
        let rows = if all_logits {
            0..t_len
        } else {
            t_len - 1..t_len
        };
        let eps = c.attention_layer_norm_rms_epsilon;
        let q_dim = c.attention_head_count * c.attention_key_length;
        for (i, layer) in self.layers.iter().enumerate() {
            let last_layer = i + 1 == self.layers.len();
            let rows = if last_layer { rows.clone() } else { 0..t_len };
            let n = rows.len();
            // https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py (LlamaDecoderLayer.forward)
            rms_norm(&x, &layer.attn_norm, eps, &mut h);
            self.attention(layer, &h, rows.clone(), i, cache, &mut buf);
            let x = &mut x[rows.start * d..rows.end * d];
            let (h, out) = (&mut h[..n * d], &mut buf.out[..n * d]);
            layer.wo.matmul(&buf.attn[..n * q_dim], n, out);
            x.iter_mut().zip(&*out).for_each(|(x, o)| *x += o);
            rms_norm(x, &layer.ffn_norm, eps, h);
            self.mlp(layer, h, n, &mut buf);
            x.iter_mut().zip(&buf.out).for_each(|(x, o)| *x += o);
        }
        cache.commit(t_len);
        let last = &x[rows.start * d..];
        let rows = rows.len();
        let mut normed = vec![0f32; rows * d];
        rms_norm(
            last,
            &self.output_norm,
            c.attention_layer_norm_rms_epsilon,
            &mut normed,
        );
        let mut logits = vec![0f32; rows * c.vocab_size];
        self.output.matmul(&normed, rows, &mut logits);
        Ok(logits)
    }

    // https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py (LlamaMLP: down(silu(gate(x)) * up(x)))
    fn mlp(&self, layer: &Layer, h: &[f32], t_len: usize, buf: &mut LayerBuffers) {
        let LayerBuffers { gate, up, out, .. } = buf;
        let ff = self.config.feed_forward_length;
        let d = self.config.embedding_length;
        let (gate, up, out) = (
            &mut gate[..t_len * ff],
            &mut up[..t_len * ff],
            &mut out[..t_len * d],
        );
        QMatrix::matmul_each(
            &mut [(&layer.gate, &mut gate[..]), (&layer.up, &mut up[..])],
            h,
            t_len,
        );
        gate.iter_mut()
            .zip(up.iter())
            .for_each(|(g, u)| *g = *g / (1.0 + exp_f32(-*g)) * u);
        layer.down.matmul(gate, t_len, out);
    }

    // https://github.com/huggingface/transformers/blob/main/src/transformers/models/qwen3/modeling_qwen3.py (Qwen3Attention.forward: q_norm/k_norm before RoPE)
    /// The attention of the tokens `queries` (all of them, or the last one in the last layer):
    /// keys and values for all the pass's tokens (the rows of `h`) go into `cache`, queries and
    /// outputs (`buf.attn`, one row per query) only for `queries`.
    fn attention(
        &self,
        layer: &Layer,
        h: &[f32],
        queries: Range<usize>,
        layer_idx: usize,
        cache: &mut KvCache,
        buf: &mut LayerBuffers,
    ) {
        // The new positions follow what the cache held before this pass (it commits at the end).
        let start = cache.len();
        let c = &self.config;
        let hd = c.attention_key_length;
        let (n_head, n_kv) = (c.attention_head_count, c.attention_head_count_kv);
        let (q_dim, kv_dim) = (n_head * hd, n_kv * hd);
        let d = c.embedding_length;
        let t_len = h.len() / d;
        let LayerBuffers {
            q,
            k,
            v,
            attn,
            angles,
            ..
        } = buf;
        let n_q = queries.len();
        let (q, attn) = (&mut q[..n_q * q_dim], &mut attn[..n_q * q_dim]);
        if n_q == t_len {
            QMatrix::matmul_each(
                &mut [
                    (&layer.wq, &mut q[..]),
                    (&layer.wk, &mut k[..]),
                    (&layer.wv, &mut v[..]),
                ],
                h,
                t_len,
            );
        } else {
            let h_q = &h[queries.start * d..queries.end * d];
            layer.wq.matmul(h_q, n_q, q);
            QMatrix::matmul_each(
                &mut [(&layer.wk, &mut k[..]), (&layer.wv, &mut v[..])],
                h,
                t_len,
            );
        }
        if let Some([bq, bk, bv]) = &layer.bias_qkv {
            add_bias(q, bq);
            add_bias(k, bk);
            add_bias(v, bv);
        }
        let eps = c.attention_layer_norm_rms_epsilon;
        if let (Some(qn), Some(kn)) = (&layer.q_norm, &layer.k_norm) {
            rms_norm_in_place(q, qn, eps);
            rms_norm_in_place(k, kn, eps);
        }
        let interleaved = c.architecture == Arch::Llama;
        for (t, angles) in angles.chunks_exact(hd / 2).enumerate() {
            if let Some(j) = t.checked_sub(queries.start).filter(|&j| j < n_q) {
                rope(&mut q[j * q_dim..(j + 1) * q_dim], angles, interleaved);
            }
            rope(&mut k[t * kv_dim..(t + 1) * kv_dim], angles, interleaved);
        }
        cache.append(layer_idx, k, v);
        let (keys, values) = cache.layer(layer_idx);
        let group = n_head / n_kv;
        let scale = 1.0 / (hd as f32).sqrt();
        let q = &q[..];
        let out = DisjointOut::new(attn);
        // One item per (token, key-value head): the query heads that share the key-value head
        // share its loads of keys and values; each item writes only those heads' slice of
        // `attn`, with the same arithmetic in the same order however the items are split, so
        // threads change no bit.
        let heads = |items: Range<usize>| {
            let mut scores = Vec::with_capacity(group * (start + t_len));
            for item in items {
                // Query row `j` is token `queries.start + j` of the pass.
                let (j, kv_head) = (item / n_kv, item % n_kv);
                let layout = HeadLayout {
                    stride: kv_dim,
                    offset: kv_head * hd,
                    len: hd,
                };
                let first = j * q_dim + kv_head * group * hd;
                let qs = &q[first..first + group * hd];
                // SAFETY: this item's heads' slice belongs to no other item, and `attn`
                // outlives the fork-join.
                let os = unsafe { out.slice_mut(first..first + group * hd) };
                let visible = start + queries.start + j + 1;
                attend_group(qs, (keys, values), layout, visible, scale, &mut scores, os);
            }
        };
        let items = n_q * n_kv;
        // Scores and weighted sums: about 2 · visible · hd multiply-adds per head.
        for_each_chunk(items, 1, 2 * items * group * (start + t_len) * hd, &heads);
    }
}

/// The outputs of one layer's stages for `t_len` tokens, made once per forward pass and
/// overwritten by every layer.
struct LayerBuffers {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    /// The attention heads' outputs, the input of `wo`.
    attn: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    /// The output of `wo`, then of `down`: what the layer adds to the residual stream.
    out: Vec<f32>,
    /// For token `t` of the pass and frequency `i`, the (sin, cos) of its rotary angle at
    /// `t * hd / 2 + i`: the same in every layer, so computed once per pass.
    angles: Vec<(f32, f32)>,
}

impl LayerBuffers {
    /// The bytes [`LayerBuffers::new`] allocates.
    fn bytes(c: &Config, t_len: usize) -> usize {
        let q_dim = c.attention_head_count * c.attention_key_length;
        let kv_dim = c.attention_head_count_kv * c.attention_key_length;
        let (ff, d) = (c.feed_forward_length, c.embedding_length);
        let floats = 2 * q_dim + 2 * kv_dim + 2 * ff + d + c.attention_key_length;
        t_len * floats * std::mem::size_of::<f32>()
    }

    /// The bytes these buffers hold (to check [`LayerBuffers::bytes`]).
    fn held_bytes(&self) -> usize {
        let floats = [
            &self.q, &self.k, &self.v, &self.attn, &self.gate, &self.up, &self.out,
        ];
        let floats: usize = floats.iter().map(|b| b.capacity()).sum();
        (floats + 2 * self.angles.capacity()) * std::mem::size_of::<f32>()
    }

    fn new(c: &Config, t_len: usize) -> Self {
        let q_dim = c.attention_head_count * c.attention_key_length;
        let kv_dim = c.attention_head_count_kv * c.attention_key_length;
        let ff = c.feed_forward_length;
        let zeros = |n: usize| vec![0f32; t_len * n];
        LayerBuffers {
            q: zeros(q_dim),
            k: zeros(kv_dim),
            v: zeros(kv_dim),
            attn: zeros(q_dim),
            gate: zeros(ff),
            up: zeros(ff),
            out: zeros(c.embedding_length),
            angles: vec![(0.0, 1.0); t_len * c.attention_key_length / 2],
        }
    }
}

/// Asks the allocator for `bytes` in one piece and gives them back, so that the allocations of a
/// forward pass that follow find their room at the top of the heap. Why: in wasm the heap grows
/// by growing the memory, and V8 answers every growth with a full garbage collection (1–3 ms);
/// a first 128-token prefill grew it eight times, allocation by allocation.
fn grow_heap_once(bytes: usize) {
    // `black_box`: an allocation that is only freed would otherwise be removed.
    drop(std::hint::black_box(Vec::<u8>::with_capacity(bytes)));
}
