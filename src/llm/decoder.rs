//! The blocks every decoder-only model here is made of: the token embedding (tied or not to the
//! output projection), rotary tables, grouped-query self-attention over the KV cache, the gated
//! MLP, and the buffers one forward pass reuses for all its layers. The model files
//! ([`super::llama`], [`super::gemma3`]) arrange them as their reference does.

use std::ops::Range;

use super::kv_cache::KvCache;
use super::loader::{layer_matrices, Loader};
use super::model::Config;
use super::LlmError;
use crate::kernels::attention::{attend_group, HeadLayout};
use crate::kernels::elementwise::{add_bias, gelu_tanh_in_place, rms_norm_in_place, rope};
use crate::kernels::quant::kernels::exp_f32;
use crate::kernels::quant::QMatrix;
use crate::parallel::{for_each_chunk, DisjointOut};

/// The token embedding table and the output projection, which tied models (SmolLM2, Qwen2.5
/// small, Gemma 3) read from the same quantized table: rows are decoded one at a time on lookup
/// and the logits are computed on the quantized rows, so no f32 copy of the table ever exists
/// (Gemma 3's would be 262 144 × 640 floats, 671 MB).
pub(crate) struct Embedding {
    table: QMatrix,
    output: QMatrix,
}

impl Embedding {
    /// `token_embd.weight`, and `output.weight` when the file has one.
    pub(crate) fn load(l: &Loader, c: &Config) -> Result<Self, LlmError> {
        let (vocab, d) = (c.vocab_size, c.embedding_length);
        let table = l.matrix("token_embd.weight", vocab, d)?;
        let output = match l.has("output.weight") {
            true => l.matrix("output.weight", vocab, d)?,
            false => table.clone(),
        };
        Ok(Embedding { table, output })
    }

    /// The rows of `tokens` (checked to be in the vocabulary), one after the other in `out`.
    pub(crate) fn lookup(&self, tokens: &[u32], out: &mut [f32]) {
        let d = self.table.cols;
        for (row, &tok) in out.chunks_exact_mut(d).zip(tokens) {
            self.table.dequantize_row(tok as usize, row);
        }
    }

    /// The logits of `rows` normed hidden states.
    pub(crate) fn logits(&self, normed: &[f32], rows: usize) -> Vec<f32> {
        let mut logits = vec![0f32; rows * self.output.rows];
        self.output.matmul(normed, rows, &mut logits);
        logits
    }
}

/// Rotary inverse frequencies of one base, computed once, not per token and head.
pub(crate) struct Rotary {
    inv_freq: Vec<f64>,
}

impl Rotary {
    /// θᵢ = 1 / base^(2i / head_dim), each divided by `factors[i]` when given (Llama 3.x's
    /// `rope_freqs.weight`) and by `scale` (linear position scaling: positions / scale).
    pub(crate) fn new(base: f64, head_dim: usize, factors: Option<&[f32]>, scale: f64) -> Self {
        let inv_freq = (0..head_dim / 2)
            .map(|i| {
                let f = 1.0 / base.powf(2.0 * i as f64 / head_dim as f64) / scale;
                factors.map_or(f, |factors| f / factors[i] as f64)
            })
            .collect();
        Rotary { inv_freq }
    }

    /// The (sin, cos) of every frequency for the positions `start..`, one row of `head_dim / 2`
    /// per position, filling `angles`.
    pub(crate) fn fill(&self, start: usize, angles: &mut [(f32, f32)]) {
        for (t, row) in angles.chunks_exact_mut(self.inv_freq.len()).enumerate() {
            let pos = (start + t) as f64;
            for (angle, f) in row.iter_mut().zip(&self.inv_freq) {
                let (sin, cos) = (pos * f).sin_cos();
                *angle = (sin as f32, cos as f32);
            }
        }
    }
}

/// How one layer's attention looks: which rotary table of [`LayerBuffers::angles`], the rotary
/// form, the score scale and the sliding window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttentionKind {
    /// Index of the layer's rotary angles in [`LayerBuffers::angles`].
    pub rope_table: usize,
    /// Interleaved pairs (GGUF llama's permuted rows) rather than the two halves (neox).
    pub interleaved: bool,
    /// What q·k is multiplied by before the softmax.
    pub scale: f32,
    /// A query sees only the last `window` positions, itself included (none: all of them).
    pub window: Option<usize>,
}

/// The projections of one layer's self-attention, with Qwen2's q/k/v biases and Qwen3's and
/// Gemma 3's per-head q/k RMS norms when the model has them.
pub(crate) struct SelfAttention {
    /// Query heads, key-value heads, and the length of one head.
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    /// The q/k norms' ε.
    eps: f32,
    wq: QMatrix,
    wk: QMatrix,
    wv: QMatrix,
    wo: QMatrix,
    bias_qkv: Option<[Vec<f32>; 3]>,
    qk_norms: Option<[Vec<f32>; 2]>,
}

impl SelfAttention {
    /// Layer `i`'s projections, its biases when `biases`, its q/k norms when `qk_norms`.
    pub(crate) fn load(
        l: &Loader,
        c: &Config,
        i: usize,
        biases: bool,
        qk_norms: bool,
    ) -> Result<Self, LlmError> {
        let [q, k, v, o, ..] = layer_matrices(c, i);
        let matrix = |(name, rows, cols): (String, usize, usize)| l.matrix(&name, rows, cols);
        let n = |s: &str| format!("blk.{i}.{s}");
        let hd = c.attention_key_length;
        Ok(SelfAttention {
            heads: c.attention_head_count,
            kv_heads: c.attention_head_count_kv,
            head_dim: hd,
            eps: c.attention_layer_norm_rms_epsilon,
            wq: matrix(q)?,
            wk: matrix(k)?,
            wv: matrix(v)?,
            wo: matrix(o)?,
            bias_qkv: match biases {
                true => Some([
                    l.vector(&n("attn_q.bias"), c.q_dim())?,
                    l.vector(&n("attn_k.bias"), c.kv_dim())?,
                    l.vector(&n("attn_v.bias"), c.kv_dim())?,
                ]),
                false => None,
            },
            qk_norms: match qk_norms {
                true => Some([
                    l.vector(&n("attn_q_norm.weight"), hd)?,
                    l.vector(&n("attn_k_norm.weight"), hd)?,
                ]),
                false => None,
            },
        })
    }

    // https://github.com/huggingface/transformers/blob/main/src/transformers/models/qwen3/modeling_qwen3.py (Qwen3Attention.forward: q_norm/k_norm before RoPE)
    /// The attention of the tokens `queries` (all of them, or the last one in the last layer),
    /// through the output projection into `buf.out` (one row per query): keys and values for
    /// all the pass's tokens (the rows of `h`) go into `cache` as layer `layer_idx`.
    pub(crate) fn forward(
        &self,
        kind: AttentionKind,
        h: &[f32],
        queries: Range<usize>,
        layer_idx: usize,
        cache: &mut KvCache,
        buf: &mut LayerBuffers,
    ) {
        // The new positions follow what the cache held before this pass (it commits at the end).
        let start = cache.len();
        let (hd, n_head, n_kv) = (self.head_dim, self.heads, self.kv_heads);
        let (q_dim, kv_dim, d) = (n_head * hd, n_kv * hd, self.wq.cols);
        let t_len = h.len() / d;
        let LayerBuffers {
            q,
            k,
            v,
            attn,
            out,
            angles,
            ..
        } = buf;
        let n_q = queries.len();
        let (q, attn) = (&mut q[..n_q * q_dim], &mut attn[..n_q * q_dim]);
        if n_q == t_len {
            QMatrix::matmul_each(
                &mut [
                    (&self.wq, &mut q[..]),
                    (&self.wk, &mut k[..]),
                    (&self.wv, &mut v[..]),
                ],
                h,
                t_len,
            );
        } else {
            let h_q = &h[queries.start * d..queries.end * d];
            self.wq.matmul(h_q, n_q, q);
            QMatrix::matmul_each(
                &mut [(&self.wk, &mut k[..]), (&self.wv, &mut v[..])],
                h,
                t_len,
            );
        }
        if let Some([bq, bk, bv]) = &self.bias_qkv {
            add_bias(q, bq);
            add_bias(k, bk);
            add_bias(v, bv);
        }
        if let Some([qn, kn]) = &self.qk_norms {
            rms_norm_in_place(q, qn, self.eps);
            rms_norm_in_place(k, kn, self.eps);
        }
        for (t, angles) in angles[kind.rope_table].chunks_exact(hd / 2).enumerate() {
            if let Some(j) = t.checked_sub(queries.start).filter(|&j| j < n_q) {
                rope(&mut q[j * q_dim..(j + 1) * q_dim], angles, kind.interleaved);
            }
            rope(
                &mut k[t * kv_dim..(t + 1) * kv_dim],
                angles,
                kind.interleaved,
            );
        }
        cache.append(layer_idx, k, v);
        let (keys, values) = cache.layer(layer_idx);
        let group = n_head / n_kv;
        let q = &q[..];
        let attn_out = DisjointOut::new(attn);
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
                let os = unsafe { attn_out.slice_mut(first..first + group * hd) };
                // The positions the query sees: up to itself, and within its window.
                let end = start + queries.start + j + 1;
                let from = kind.window.map_or(0, |w| end.saturating_sub(w));
                let kv = (&keys[from * kv_dim..], &values[from * kv_dim..]);
                attend_group(qs, kv, layout, end - from, kind.scale, &mut scores, os);
            }
        };
        let items = n_q * n_kv;
        // Scores and weighted sums: about 2 · visible · hd multiply-adds per head.
        for_each_chunk(items, 1, 2 * items * group * (start + t_len) * hd, &heads);
        self.wo.matmul(attn, n_q, &mut out[..n_q * d]);
    }
}

/// The gate's activation in a gated MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    /// x·σ(x) (SwiGLU: llama, Qwen).
    Silu,
    /// GELU, tanh approximation (GeGLU: Gemma's `gelu_pytorch_tanh`).
    GeluTanh,
}

/// A gated MLP: down(act(gate(x)) · up(x)).
pub(crate) struct Mlp {
    gate: QMatrix,
    up: QMatrix,
    down: QMatrix,
}

impl Mlp {
    /// Layer `i`'s three matrices.
    pub(crate) fn load(l: &Loader, c: &Config, i: usize) -> Result<Self, LlmError> {
        let [.., gate, up, down] = layer_matrices(c, i);
        let matrix = |(name, rows, cols): (String, usize, usize)| l.matrix(&name, rows, cols);
        Ok(Mlp {
            gate: matrix(gate)?,
            up: matrix(up)?,
            down: matrix(down)?,
        })
    }

    // https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py (LlamaMLP: down(act(gate(x)) * up(x)))
    /// The MLP of the `t_len` rows of `h`, into `buf.out`.
    pub(crate) fn forward(&self, act: Activation, h: &[f32], t_len: usize, buf: &mut LayerBuffers) {
        let LayerBuffers { gate, up, out, .. } = buf;
        let (ff, d) = (self.gate.rows, self.down.rows);
        let (gate, up, out) = (
            &mut gate[..t_len * ff],
            &mut up[..t_len * ff],
            &mut out[..t_len * d],
        );
        QMatrix::matmul_each(
            &mut [(&self.gate, &mut gate[..]), (&self.up, &mut up[..])],
            h,
            t_len,
        );
        match act {
            Activation::Silu => gate.iter_mut().for_each(|g| *g = *g / (1.0 + exp_f32(-*g))),
            Activation::GeluTanh => gelu_tanh_in_place(gate),
        }
        gate.iter_mut().zip(up.iter()).for_each(|(g, u)| *g *= u);
        self.down.matmul(gate, t_len, out);
    }
}

/// The outputs of one layer's stages for `t_len` tokens, made once per forward pass and
/// overwritten by every layer.
pub(crate) struct LayerBuffers {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    /// The attention heads' outputs, the input of `wo`.
    attn: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    /// The output of `wo`, then of `down`: what the layer adds to the residual stream.
    pub out: Vec<f32>,
    /// For each rotary table, token `t` of the pass and frequency `i`: the (sin, cos) of its
    /// rotary angle at `t * hd / 2 + i`. The same in every layer of a table, so computed once per
    /// pass ([`Rotary::fill`]).
    pub angles: Vec<Vec<(f32, f32)>>,
}

impl LayerBuffers {
    /// The bytes [`LayerBuffers::new`] allocates.
    pub(crate) fn bytes(c: &Config, t_len: usize, rope_tables: usize) -> usize {
        let (ff, d, hd) = (
            c.feed_forward_length,
            c.embedding_length,
            c.attention_key_length,
        );
        let floats = 2 * c.q_dim() + 2 * c.kv_dim() + 2 * ff + d + rope_tables * hd;
        t_len * floats * std::mem::size_of::<f32>()
    }

    /// The bytes these buffers hold (to check [`LayerBuffers::bytes`]).
    pub(crate) fn held_bytes(&self) -> usize {
        let floats = [
            &self.q, &self.k, &self.v, &self.attn, &self.gate, &self.up, &self.out,
        ];
        let floats: usize = floats.iter().map(|b| b.capacity()).sum();
        let angles: usize = self.angles.iter().map(|a| 2 * a.capacity()).sum();
        (floats + angles) * std::mem::size_of::<f32>()
    }

    /// Buffers for `t_len` tokens, with `rope_tables` sets of rotary angles.
    pub(crate) fn new(c: &Config, t_len: usize, rope_tables: usize) -> Self {
        let zeros = |n: usize| vec![0f32; t_len * n];
        let angles = vec![(0.0, 1.0); t_len * c.attention_key_length / 2];
        LayerBuffers {
            q: zeros(c.q_dim()),
            k: zeros(c.kv_dim()),
            v: zeros(c.kv_dim()),
            attn: zeros(c.q_dim()),
            gate: zeros(c.feed_forward_length),
            up: zeros(c.feed_forward_length),
            out: zeros(c.embedding_length),
            angles: vec![angles; rope_tables],
        }
    }
}

/// Asks the allocator for `bytes` in one piece and gives them back, so that the allocations of a
/// forward pass that follow find their room at the top of the heap. Why: in wasm the heap grows
/// by growing the memory, and V8 answers every growth with a full garbage collection (1–3 ms);
/// a first 128-token prefill grew it eight times, allocation by allocation.
pub(crate) fn grow_heap_once(bytes: usize) {
    // `black_box`: an allocation that is only freed would otherwise be removed.
    drop(std::hint::black_box(Vec::<u8>::with_capacity(bytes)));
}
