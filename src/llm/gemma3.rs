//! Gemma 3 (text): 270M, 1B and the text stack of the larger ones.
//!
//! What sets it apart from the llama family: five sliding-window ("local") layers for every
//! global one, each kind with its own rotary base; RMS norms around both sub-blocks (before and
//! after attention, before and after the MLP); per-head q/k RMS norms; GeGLU with tanh-GELU; the
//! embedding scaled by √hidden; and a 262k-row tied embedding, read from its quantized table.
//!
//! Gemma's RMSNorm multiplies by (1 + w); llama.cpp's converter adds the 1 to every stored norm
//! weight (`Gemma3Model.modify_tensors`; HF's GGUF loader subtracts it again), so the stored
//! weights multiply as they are.
//!
//! References: HF `modeling_gemma3.py`
//! <https://github.com/huggingface/transformers/blob/main/src/transformers/models/gemma3/modeling_gemma3.py>
//! and llama.cpp's graph <https://github.com/ggml-org/llama.cpp/blob/master/src/models/gemma3.cpp>
//! with its hyper-parameters (`LLM_ARCH_GEMMA3` in `llama_model::load_hparams`,
//! <https://github.com/ggml-org/llama.cpp/blob/master/src/llama-model.cpp>).

use std::ops::Range;

use super::decoder::{
    grow_heap_once, Activation, AttentionKind, Embedding, LayerBuffers, Mlp, Rotary, SelfAttention,
};
use super::kv_cache::KvCache;
use super::loader::Loader;
use super::model::Config;
use super::LlmError;
use crate::gguf::MetaValue;
use crate::kernels::elementwise::{rms_norm, rms_norm_in_place};

/// Every sixth layer is global, the others slide (HF `sliding_window_pattern`; GGUF does not
/// store it and llama.cpp sets it: `hparams.set_swa_pattern(6)`).
const SLIDING_WINDOW_PATTERN: usize = 6;

/// The rotary base of the sliding layers (HF `rope_local_base_freq`; llama.cpp's
/// `rope_freq_base_train_swa`): the global layers use `rope.freq_base`.
const LOCAL_ROPE_FREQ_BASE: f64 = 10_000.0;

/// Rotary tables in [`LayerBuffers::angles`].
const GLOBAL_ROPE: usize = 0;
const LOCAL_ROPE: usize = 1;

struct Layer {
    attn_norm: Vec<f32>,
    attn: SelfAttention,
    post_attention_norm: Vec<f32>,
    ffn_norm: Vec<f32>,
    mlp: Mlp,
    post_ffw_norm: Vec<f32>,
    kind: AttentionKind,
}

/// A Gemma 3 network over the weights of one GGUF buffer.
pub(crate) struct Gemma3 {
    embedding: Embedding,
    /// √hidden, which the embedding rows are multiplied by.
    embedding_scale: f32,
    layers: Vec<Layer>,
    output_norm: Vec<f32>,
    /// Indexed by [`GLOBAL_ROPE`] and [`LOCAL_ROPE`].
    rotary: [Rotary; 2],
}

/// Whether layer `i` is a sliding-window one.
// https://github.com/huggingface/transformers/blob/main/src/transformers/models/gemma3/configuration_gemma3.py (layer_types: "sliding_attention" if (i + 1) % sliding_window_pattern else "full_attention")
fn is_sliding(i: usize) -> bool {
    (i + 1) % SLIDING_WINDOW_PATTERN != 0
}

/// The global layers' linear position scaling (`rope.scaling.factor`, the 4B and larger
/// models): llama.cpp applies it to the global layers only (`rope_freq_scale_train_swa` is 1).
fn global_rope_scale(l: &Loader, arch: &str) -> Result<f64, LlmError> {
    let key = |k: &str| format!("{arch}.rope.scaling.{k}");
    let kind = l.gguf().get(&key("type")).and_then(MetaValue::as_str);
    let factor = l.gguf().get(&key("factor")).and_then(MetaValue::as_f64);
    match (kind, factor) {
        (None | Some("none"), _) | (_, None) => Ok(1.0),
        (Some("linear"), Some(f)) if f > 0.0 => Ok(f),
        (Some(other), Some(f)) => Err(LlmError::Unsupported(format!(
            "`{}` = {other} with factor {f} (Gemma 3 supports linear scaling only)",
            key("type")
        ))),
    }
}

impl Gemma3 {
    /// Loads the layers `c` describes.
    pub(crate) fn load(l: &Loader, c: &Config) -> Result<Self, LlmError> {
        let (d, hd) = (c.embedding_length, c.attention_key_length);
        let window = c.attention_sliding_window.ok_or_else(|| {
            LlmError::Gguf("missing metadata `gemma3.attention.sliding_window`".into())
        })?;
        // https://github.com/google/gemma_pytorch/blob/014acb7ac4563a5f77c76d7ff98f31b568c16508/gemma/config.py#L289
        // The scores are scaled by 1/√query_pre_attn_scalar, which GGUF does not store: it is the
        // head size in every Gemma 3 but the 27B (62 layers), where it is hidden / heads. llama.cpp
        // tells them apart the same way.
        let query_pre_attn_scalar = match c.block_count {
            62 => d / c.attention_head_count,
            _ => hd,
        };
        let scale = 1.0 / (query_pre_attn_scalar as f32).sqrt();
        let layers = (0..c.block_count)
            .map(|i| {
                let n = |s: &str| format!("blk.{i}.{s}");
                let sliding = is_sliding(i);
                Ok(Layer {
                    attn_norm: l.vector(&n("attn_norm.weight"), d)?,
                    attn: SelfAttention::load(l, c, i, false, true)?,
                    post_attention_norm: l.vector(&n("post_attention_norm.weight"), d)?,
                    ffn_norm: l.vector(&n("ffn_norm.weight"), d)?,
                    mlp: Mlp::load(l, c, i)?,
                    post_ffw_norm: l.vector(&n("post_ffw_norm.weight"), d)?,
                    kind: AttentionKind {
                        rope_table: if sliding { LOCAL_ROPE } else { GLOBAL_ROPE },
                        interleaved: false,
                        scale,
                        window: sliding.then_some(window),
                    },
                })
            })
            .collect::<Result<_, LlmError>>()?;
        let global_scale = global_rope_scale(l, "gemma3")?;
        Ok(Gemma3 {
            embedding: Embedding::load(l, c)?,
            // https://github.com/huggingface/transformers/blob/main/src/transformers/models/gemma3/modeling_gemma3.py (Gemma3TextScaledWordEmbedding: embed_scale = hidden_size ** 0.5)
            embedding_scale: (d as f32).sqrt(),
            layers,
            output_norm: l.vector("output_norm.weight", d)?,
            rotary: [
                Rotary::new(c.rope_freq_base as f64, hd, None, global_scale),
                Rotary::new(LOCAL_ROPE_FREQ_BASE, hd, None, 1.0),
            ],
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
                + LayerBuffers::bytes(c, t_len, 2)
                + cache.first_buffer_bytes(t_len),
        );
        // https://github.com/huggingface/transformers/blob/main/src/transformers/models/gemma3/modeling_gemma3.py (Gemma3TextModel.forward: inputs_embeds = embed_tokens(input_ids))
        let mut x = vec![0f32; t_len * d];
        self.embedding.lookup(tokens, &mut x);
        x.iter_mut().for_each(|v| *v *= self.embedding_scale);
        let mut h = vec![0f32; t_len * d];
        let mut buf = LayerBuffers::new(c, t_len, 2);
        debug_assert_eq!(buf.held_bytes(), LayerBuffers::bytes(c, t_len, 2));
        cache.reserve(t_len);
        for (table, rotary) in buf.angles.iter_mut().zip(&self.rotary) {
            rotary.fill(cache.len(), table);
        }
        let eps = c.attention_layer_norm_rms_epsilon;
        for (i, layer) in self.layers.iter().enumerate() {
            // Past the last layer's keys and values only the rows whose logits are wanted
            // matter (llama.cpp's `inp_out_ids`).
            let last_layer = i + 1 == self.layers.len();
            let rows = if last_layer { rows.clone() } else { 0..t_len };
            let n = rows.len();
            // https://github.com/huggingface/transformers/blob/main/src/transformers/models/gemma3/modeling_gemma3.py (Gemma3DecoderLayer.forward)
            rms_norm(&x, &layer.attn_norm, eps, &mut h);
            layer
                .attn
                .forward(layer.kind, &h, rows.clone(), i, cache, &mut buf);
            let out = &mut buf.out[..n * d];
            rms_norm_in_place(out, &layer.post_attention_norm, eps);
            let x = &mut x[rows.start * d..rows.end * d];
            x.iter_mut().zip(&*out).for_each(|(x, o)| *x += o);
            let h = &mut h[..n * d];
            rms_norm(x, &layer.ffn_norm, eps, h);
            layer.mlp.forward(Activation::GeluTanh, h, n, &mut buf);
            let out = &mut buf.out[..n * d];
            rms_norm_in_place(out, &layer.post_ffw_norm, eps);
            x.iter_mut().zip(&*out).for_each(|(x, o)| *x += o);
        }
        cache.commit(t_len);
        let last = &x[rows.start * d..];
        let mut normed = vec![0f32; rows.len() * d];
        rms_norm(last, &self.output_norm, eps, &mut normed);
        // Gemma 3 has no final logit soft-capping (HF `final_logit_softcapping` is None; llama.cpp
        // caps only in its non-sliding variant).
        self.embedding.logits(&normed, rows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::is_sliding;

    #[test]
    fn every_sixth_layer_is_global() {
        let global: Vec<usize> = (0..18).filter(|&i| !is_sliding(i)).collect();
        assert_eq!(global, [5, 11, 17]);
    }
}
