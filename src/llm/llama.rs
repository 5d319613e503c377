//! The llama family (SmolLM2, Llama-3.2), Qwen2/2.5 and Qwen3: one file with per-architecture
//! switches, because the three differ only in small, named places. Qwen2 adds q/k/v biases, Qwen3
//! adds a per-head RMSNorm on q and k, and GGUF stores llama's q/k rows permuted for interleaved
//! ("normal") RoPE while the Qwens use the half-split ("neox") form.
//!
//! References: HF `modeling_llama.py`
//! <https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py>,
//! `modeling_qwen2.py`, `modeling_qwen3.py`, and llama.cpp's `llm_build_llama` / `llm_build_qwen2` /
//! `llm_build_qwen3` in <https://github.com/ggml-org/llama.cpp/tree/master/src/models>.

use std::ops::Range;

use super::decoder::{
    grow_heap_once, Activation, AttentionKind, Embedding, LayerBuffers, Mlp, Rotary, SelfAttention,
};
use super::kv_cache::KvCache;
use super::loader::Loader;
use super::model::{Arch, Config};
use super::LlmError;
use crate::kernels::elementwise::rms_norm;

struct Layer {
    attn_norm: Vec<f32>,
    attn: SelfAttention,
    ffn_norm: Vec<f32>,
    mlp: Mlp,
}

/// A llama, Qwen2 or Qwen3 network over the weights of one GGUF buffer.
pub(crate) struct Llama {
    embedding: Embedding,
    layers: Vec<Layer>,
    output_norm: Vec<f32>,
    /// With `rope_freqs.weight` (Llama 3.x long-context scaling) already applied.
    rotary: Rotary,
    attention: AttentionKind,
}

impl Llama {
    /// Loads the layers `c` describes.
    pub(crate) fn load(l: &Loader, c: &Config) -> Result<Self, LlmError> {
        let d = c.embedding_length;
        let hd = c.attention_key_length;
        let layers = (0..c.block_count)
            .map(|i| {
                let n = |s: &str| format!("blk.{i}.{s}");
                Ok(Layer {
                    attn_norm: l.vector(&n("attn_norm.weight"), d)?,
                    attn: SelfAttention::load(
                        l,
                        c,
                        i,
                        c.architecture == Arch::Qwen2,
                        c.architecture == Arch::Qwen3,
                    )?,
                    ffn_norm: l.vector(&n("ffn_norm.weight"), d)?,
                    mlp: Mlp::load(l, c, i)?,
                })
            })
            .collect::<Result<_, LlmError>>()?;
        let factors = l.optional_vector("rope_freqs.weight", hd / 2)?;
        Ok(Llama {
            embedding: Embedding::load(l, c)?,
            layers,
            output_norm: l.vector("output_norm.weight", d)?,
            rotary: Rotary::new(c.rope_freq_base as f64, hd, factors.as_deref(), 1.0),
            attention: AttentionKind {
                rope_table: 0,
                interleaved: c.architecture == Arch::Llama,
                scale: 1.0 / (hd as f32).sqrt(),
                window: None,
            },
        })
    }

    /// [`super::Model::forward`] once the input is checked; `rows` are the tokens whose logits
    /// are wanted.
    pub(crate) fn forward(
        &self,
        c: &Config,
        tokens: &[u32],
        cache: &mut KvCache,
        rows: Range<usize>,
    ) -> Vec<f32> {
        let (t_len, d) = (tokens.len(), c.embedding_length);
        grow_heap_once(
            2 * t_len * d * std::mem::size_of::<f32>()
                + LayerBuffers::bytes(c, t_len, 1)
                + cache.first_buffer_bytes(t_len),
        );
        // https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py (LlamaModel.forward: embed_tokens)
        let mut x = vec![0f32; t_len * d];
        self.embedding.lookup(tokens, &mut x);
        let mut h = vec![0f32; t_len * d];
        // One set of per-layer buffers for the whole pass: every layer overwrites them, and
        // allocating them per layer showed up as dlmalloc time in the wasm prefill profile.
        let mut buf = LayerBuffers::new(c, t_len, 1);
        debug_assert_eq!(buf.held_bytes(), LayerBuffers::bytes(c, t_len, 1));
        cache.reserve(t_len);
        self.rotary.fill(cache.len(), &mut buf.angles[0]);
        let eps = c.attention_layer_norm_rms_epsilon;
        for (i, layer) in self.layers.iter().enumerate() {
            // Only the rows whose logits are wanted matter past the last layer's keys and
            // values: that layer's queries, attention, output projection and MLP skip the other
            // tokens (as llama.cpp's `inp_out_ids` does), a 32nd of a prefill on SmolLM2-360M.
            let last_layer = i + 1 == self.layers.len();
            let rows = if last_layer { rows.clone() } else { 0..t_len };
            let n = rows.len();
            // https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py (LlamaDecoderLayer.forward)
            rms_norm(&x, &layer.attn_norm, eps, &mut h);
            let kind = self.attention;
            layer
                .attn
                .forward(kind, &h, rows.clone(), i, cache, &mut buf);
            let x = &mut x[rows.start * d..rows.end * d];
            x.iter_mut().zip(&buf.out).for_each(|(x, o)| *x += o);
            let h = &mut h[..n * d];
            rms_norm(x, &layer.ffn_norm, eps, h);
            layer.mlp.forward(Activation::Silu, h, n, &mut buf);
            x.iter_mut().zip(&buf.out).for_each(|(x, o)| *x += o);
        }
        cache.commit(t_len);
        let last = &x[rows.start * d..];
        let mut normed = vec![0f32; rows.len() * d];
        rms_norm(last, &self.output_norm, eps, &mut normed);
        self.embedding.logits(&normed, rows.len())
    }
}
