//! The Whisper network: audio encoder on a variable number of frames, and a text decoder with a
//! self-attention KV cache and cross-attention keys/values computed once per utterance.
//!
//! Shaped like candle-transformers' `whisper::model` (HF tensor names, `load(weights, &cfg)`), with
//! the reference lines from openai-whisper's `whisper/model.py` above each block.

use candle_core::quantized::QMatMul;
use candle_core::{Tensor, D};
use candle_nn::kv_cache::KvCache;

use super::weights::{Matrix, Weights};
use super::{AsrError, Config};
use crate::kernels::elementwise::{gelu_erf_in_place, softmax_in_place};
use crate::kernels::quant::kernels::dot_f32_slices;

const LN_EPS: f32 = 1e-5;

/// `nn.Linear` with an optional bias; the matrix may be quantized.
struct Linear {
    weight: Matrix,
    bias: Option<Tensor>,
}

impl Linear {
    fn load(
        w: &Weights,
        prefix: &str,
        out: usize,
        inp: usize,
        bias: bool,
    ) -> Result<Self, AsrError> {
        Ok(Self {
            weight: w.matmul(&format!("{prefix}.weight"), out, inp)?,
            bias: if bias {
                Some(w.tensor(&format!("{prefix}.bias"), &[out])?)
            } else {
                None
            },
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = match (&self.weight, x.dims()) {
            (Matrix::Candle(QMatMul::Tensor(w)), &[1, _]) => matvec(x, w)?,
            _ => self.weight.forward(x)?,
        };
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

/// `x · Wᵀ` for a single row `x` (`[1, in]`) and a dense f32 `W` (`[out, in]`): the decoder's
/// per-token shape, where candle's general matmul spends more time dispatching than computing
/// (measured in single-thread wasm). Eight independent accumulators let LLVM vectorise the dot
/// products (simd128 in wasm, SSE/AVX natively).
fn matvec(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let (out, inp) = w.dims2()?;
    let x = x.flatten_all()?.to_vec1::<f32>()?;
    let (storage, layout) = w.storage_and_layout();
    let weights = match (&*storage, layout.contiguous_offsets()) {
        (candle_core::Storage::Cpu(cpu), Some((start, end))) => &cpu.as_slice::<f32>()?[start..end],
        _ => {
            drop(storage);
            return x_matmul_fallback(&x, w);
        }
    };
    let y: Vec<f32> = weights
        .chunks_exact(inp)
        .map(|row| dot_f32_slices(&x, row))
        .collect();
    Tensor::from_vec(y, (1, out), w.device())
}

fn x_matmul_fallback(x: &[f32], w: &Tensor) -> candle_core::Result<Tensor> {
    Tensor::from_slice(x, (1, x.len()), w.device())?.matmul(&w.t()?)
}

/// `nn.LayerNorm(d, eps=1e-5)`.
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
}

impl LayerNorm {
    fn load(w: &Weights, prefix: &str, d: usize) -> Result<Self, AsrError> {
        Ok(Self {
            weight: w.tensor(&format!("{prefix}.weight"), &[d])?,
            bias: w.tensor(&format!("{prefix}.bias"), &[d])?,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::layer_norm(x, &self.weight, &self.bias, LN_EPS)
    }
}

// https://github.com/openai/whisper/blob/main/whisper/model.py#L83 (MultiHeadAttention)
struct Attention {
    query: Linear,
    key: Linear,
    value: Linear,
    out: Linear,
    heads: usize,
}

impl Attention {
    fn load(w: &Weights, prefix: &str, d: usize, heads: usize) -> Result<Self, AsrError> {
        Ok(Self {
            query: Linear::load(w, &format!("{prefix}.q_proj"), d, d, true)?,
            key: Linear::load(w, &format!("{prefix}.k_proj"), d, d, false)?,
            value: Linear::load(w, &format!("{prefix}.v_proj"), d, d, true)?,
            out: Linear::load(w, &format!("{prefix}.out_proj"), d, d, true)?,
            heads,
        })
    }

    /// `[t, d]` → `[heads, t, head_dim]`.
    fn split_heads(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (t, d) = x.dims2()?;
        x.reshape((t, self.heads, d / self.heads))?
            .transpose(0, 1)?
            .contiguous()
    }

    /// Keys and values of `x`, split into heads (the part a cache stores).
    fn keys_values(&self, x: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((
            self.split_heads(&self.key.forward(x)?)?,
            self.split_heads(&self.value.forward(x)?)?,
        ))
    }

    // https://github.com/openai/whisper/blob/main/whisper/model.py#L111 (qkv_attention)
    fn attend(
        &self,
        x: &Tensor,
        k: &Tensor,
        v: &Tensor,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let (t, d) = x.dims2()?;
        let scale = ((d / self.heads) as f64).powf(-0.5);
        let q = self.split_heads(&(self.query.forward(x)? * scale)?)?;
        let mut scores = q.matmul(&k.t()?)?;
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        let probs = softmax_last_dim(&scores)?;
        let y = probs.matmul(v)?.transpose(0, 1)?.reshape((t, d))?;
        self.out.forward(&y)
    }
}

// https://github.com/openai/whisper/blob/main/whisper/model.py#L139 (ResidualAttentionBlock)
struct Block {
    attn: Attention,
    attn_ln: LayerNorm,
    cross: Option<(Attention, LayerNorm)>,
    fc1: Linear,
    fc2: Linear,
    mlp_ln: LayerNorm,
}

impl Block {
    fn load(
        w: &Weights,
        prefix: &str,
        d: usize,
        heads: usize,
        ffn: usize,
        cross: bool,
    ) -> Result<Self, AsrError> {
        let cross = if cross {
            Some((
                Attention::load(w, &format!("{prefix}.encoder_attn"), d, heads)?,
                LayerNorm::load(w, &format!("{prefix}.encoder_attn_layer_norm"), d)?,
            ))
        } else {
            None
        };
        Ok(Self {
            attn: Attention::load(w, &format!("{prefix}.self_attn"), d, heads)?,
            attn_ln: LayerNorm::load(w, &format!("{prefix}.self_attn_layer_norm"), d)?,
            cross,
            fc1: Linear::load(w, &format!("{prefix}.fc1"), ffn, d, true)?,
            fc2: Linear::load(w, &format!("{prefix}.fc2"), d, ffn, true)?,
            mlp_ln: LayerNorm::load(w, &format!("{prefix}.final_layer_norm"), d)?,
        })
    }

    fn mlp(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let h = gelu_erf(&self.fc1.forward(&self.mlp_ln.forward(x)?)?)?;
        x + self.fc2.forward(&h)?
    }
}

/// The audio encoder (`model.encoder.*`).
// https://github.com/openai/whisper/blob/main/whisper/model.py#L174 (AudioEncoder)
pub struct Encoder {
    conv1: (Tensor, Tensor),
    conv2: (Tensor, Tensor),
    positions: Tensor,
    blocks: Vec<Block>,
    ln_post: LayerNorm,
}

impl Encoder {
    /// Loads the encoder, checking every tensor against `cfg`.
    pub fn load(w: &Weights, cfg: &Config) -> Result<Self, AsrError> {
        let (d, n_mels) = (cfg.d_model, cfg.num_mel_bins);
        let conv = |name: &str, inp: usize| -> Result<(Tensor, Tensor), AsrError> {
            Ok((
                w.tensor(&format!("model.encoder.{name}.weight"), &[d, inp, 3])?,
                w.tensor(&format!("model.encoder.{name}.bias"), &[d])?,
            ))
        };
        let blocks = (0..cfg.encoder_layers)
            .map(|i| {
                let p = format!("model.encoder.layers.{i}");
                Block::load(
                    w,
                    &p,
                    d,
                    cfg.encoder_attention_heads,
                    cfg.encoder_ffn(),
                    false,
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            conv1: conv("conv1", n_mels)?,
            conv2: conv("conv2", d)?,
            positions: w.tensor(
                "model.encoder.embed_positions.weight",
                &[cfg.max_source_positions, d],
            )?,
            blocks,
            ln_post: LayerNorm::load(w, "model.encoder.layer_norm", d)?,
        })
    }

    /// Encodes `mel` (`[n_mels, n_frames]` row-major, `n_frames` even and at most twice the
    /// encoder positions) into `[n_frames / 2, d_model]`.
    pub fn forward(
        &self,
        mel: &[f32],
        n_mels: usize,
        n_frames: usize,
    ) -> candle_core::Result<Tensor> {
        let x = Tensor::from_slice(mel, (1, n_mels, n_frames), self.positions.device())?;
        // x = F.gelu(self.conv1(x)); x = F.gelu(self.conv2(x))
        let x = gelu_erf(
            &x.conv1d(&self.conv1.0, 1, 1, 1, 1)?
                .broadcast_add(&self.conv1.1.reshape((1, (), 1))?)?,
        )?;
        let x = gelu_erf(
            &x.conv1d(&self.conv2.0, 1, 2, 1, 1)?
                .broadcast_add(&self.conv2.1.reshape((1, (), 1))?)?,
        )?;
        let x = x.squeeze(0)?.t()?.contiguous()?;
        let ctx = x.dim(0)?;
        let mut x = x.broadcast_add(&self.positions.narrow(0, 0, ctx)?)?;
        for block in &self.blocks {
            let h = block.attn_ln.forward(&x)?;
            let (k, v) = block.attn.keys_values(&h)?;
            x = (&x + block.attn.attend(&h, &k, &v, None)?)?;
            x = block.mlp(&x)?;
        }
        self.ln_post.forward(&x)
    }
}

/// Every decoder layer's cross-attention keys and values for one encoder output: each layer's
/// `([heads, positions, head_dim], [heads, positions, head_dim])`.
#[derive(Clone)]
pub struct CrossKv {
    layers: Vec<(Tensor, Tensor)>,
}

impl CrossKv {
    /// Every layer's keys and values, `([heads, positions, head_dim], [heads, positions,
    /// head_dim])`.
    pub fn layers(&self) -> &[(Tensor, Tensor)] {
        &self.layers
    }

    /// Keys and values made elsewhere (read back from [`CrossKv::layers`]).
    pub fn from_layers(layers: Vec<(Tensor, Tensor)>) -> Self {
        CrossKv { layers }
    }

    /// Encoder positions the decoder attends over.
    pub fn positions(&self) -> usize {
        self.layers.first().map_or(0, |(k, _)| k.dims()[1])
    }

    /// These positions followed by `tail`'s positions from `self.positions()` on: a trimmed
    /// encoder output completed to `tail`'s length.
    pub fn followed_by(&self, tail: &CrossKv) -> candle_core::Result<CrossKv> {
        let start = self.positions();
        let rest = tail.positions().saturating_sub(start);
        if rest == 0 {
            return Ok(self.clone());
        }
        let join = |head: &Tensor, tail: &Tensor| -> candle_core::Result<Tensor> {
            Tensor::cat(&[head, &tail.narrow(1, start, rest)?], 1)
        };
        let layers = self
            .layers
            .iter()
            .zip(&tail.layers)
            .map(|((k, v), (tk, tv))| Ok((join(k, tk)?, join(v, tv)?)))
            .collect::<candle_core::Result<_>>()?;
        Ok(CrossKv { layers })
    }
}

/// Per-utterance decoder state: the self-attention cache and the cross-attention keys/values.
pub struct DecoderState {
    self_kv: Vec<KvCache>,
    cross_kv: CrossKv,
    offset: usize,
}

impl DecoderState {
    /// Tokens already fed.
    pub fn len(&self) -> usize {
        self.offset
    }

    /// Whether no token has been fed yet.
    pub fn is_empty(&self) -> bool {
        self.offset == 0
    }
}

/// The text decoder (`model.decoder.*`); the output projection is tied to the token embedding.
// https://github.com/openai/whisper/blob/main/whisper/model.py#L205 (TextDecoder)
pub struct Decoder {
    embed: Tensor,
    proj_out: Matrix,
    positions: Tensor,
    blocks: Vec<Block>,
    ln: LayerNorm,
    max_positions: usize,
}

impl Decoder {
    /// Loads the decoder, checking every tensor against `cfg`.
    pub fn load(w: &Weights, cfg: &Config) -> Result<Self, AsrError> {
        let d = cfg.d_model;
        let name = "model.decoder.embed_tokens.weight";
        let blocks = (0..cfg.decoder_layers)
            .map(|i| {
                let p = format!("model.decoder.layers.{i}");
                Block::load(
                    w,
                    &p,
                    d,
                    cfg.decoder_attention_heads,
                    cfg.decoder_ffn(),
                    true,
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            embed: w.tensor(name, &[cfg.vocab_size, d])?,
            proj_out: w.matmul(name, cfg.vocab_size, d)?,
            positions: w.tensor(
                "model.decoder.embed_positions.weight",
                &[cfg.max_target_positions, d],
            )?,
            blocks,
            ln: LayerNorm::load(w, "model.decoder.layer_norm", d)?,
            max_positions: cfg.max_target_positions,
        })
    }

    /// Positions the decoder can attend over.
    pub fn max_positions(&self) -> usize {
        self.max_positions
    }

    /// Starts an utterance: computes every layer's cross-attention keys and values once.
    pub fn start(&self, encoder_out: &Tensor) -> candle_core::Result<DecoderState> {
        Ok(self.start_with(self.cross_kv(encoder_out)?))
    }

    /// Every layer's cross-attention keys and values of `encoder_out` (`[positions, d_model]`).
    pub fn cross_kv(&self, encoder_out: &Tensor) -> candle_core::Result<CrossKv> {
        let layers = self
            .blocks
            .iter()
            .map(|b| {
                b.cross
                    .as_ref()
                    .expect("decoder blocks have cross-attention")
                    .0
                    .keys_values(encoder_out)
            })
            .collect::<candle_core::Result<_>>()?;
        Ok(CrossKv { layers })
    }

    /// Starts an utterance on cross-attention keys and values computed before.
    pub fn start_with(&self, cross_kv: CrossKv) -> DecoderState {
        DecoderState {
            self_kv: (0..self.blocks.len())
                .map(|_| KvCache::new(1, self.max_positions))
                .collect(),
            cross_kv,
            offset: 0,
        }
    }

    /// Feeds `tokens` after those already in `state`; returns their logits `[tokens.len(), vocab]`.
    pub fn forward(&self, state: &mut DecoderState, tokens: &[u32]) -> candle_core::Result<Tensor> {
        let x = self.hidden(state, tokens)?;
        self.project(&x)
    }

    /// Feeds `tokens` after those already in `state`; returns the logits of the last one only,
    /// `[vocab]`: what decoding needs. A prompt's other positions skip the output projection,
    /// which reads the whole vocabulary-sized matrix once per position.
    pub fn forward_last(
        &self,
        state: &mut DecoderState,
        tokens: &[u32],
    ) -> candle_core::Result<Tensor> {
        let x = self.hidden(state, tokens)?;
        self.project(&x.narrow(0, tokens.len() - 1, 1)?)?.get(0)
    }

    /// The final layer norm and the output projection of hidden states `[n, d_model]`.
    fn project(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let x = self.ln.forward(x)?;
        self.proj_out
            .forward(&x)?
            .to_dtype(candle_core::DType::F32)?
            .contiguous()
    }

    /// The decoder blocks over `tokens` (appended to `state`'s caches): hidden states
    /// `[tokens.len(), d_model]` before the final layer norm.
    fn hidden(&self, state: &mut DecoderState, tokens: &[u32]) -> candle_core::Result<Tensor> {
        let n = tokens.len();
        if n == 0 {
            candle_core::bail!("the decoder needs at least one token");
        }
        if state.offset + n > self.max_positions {
            candle_core::bail!("the decoder holds at most {} positions", self.max_positions);
        }
        let dev = self.embed.device();
        let ids = Tensor::new(tokens, dev)?;
        let mut x =
            (self.embed.index_select(&ids, 0)? + self.positions.narrow(0, state.offset, n)?)?;
        // Causal mask over [cached + new] keys; a single new token needs none.
        let mask = if n > 1 {
            let (offset, total) = (state.offset, state.offset + n);
            let m: Vec<f32> = (0..n)
                .flat_map(|i| {
                    (0..total).map(move |j| {
                        if j > offset + i {
                            f32::NEG_INFINITY
                        } else {
                            0.0
                        }
                    })
                })
                .collect();
            Some(Tensor::from_vec(m, (n, total), dev)?)
        } else {
            None
        };
        for ((block, cache), (ck, cv)) in self
            .blocks
            .iter()
            .zip(&mut state.self_kv)
            .zip(&state.cross_kv.layers)
        {
            let h = block.attn_ln.forward(&x)?;
            let (k, v) = block.attn.keys_values(&h)?;
            let (k, v) = cache.append(&k, &v)?;
            x = (&x + block.attn.attend(&h, &k, &v, mask.as_ref())?)?;
            let (cross, cross_ln) = block
                .cross
                .as_ref()
                .expect("decoder blocks have cross-attention");
            x = (&x + cross.attend(&cross_ln.forward(&x)?, ck, cv, None)?)?;
            x = block.mlp(&x)?;
        }
        state.offset += n;
        Ok(x)
    }
}

/// Encoder and decoder of one checkpoint.
pub struct Whisper {
    /// The audio encoder.
    pub encoder: Encoder,
    /// The text decoder.
    pub decoder: Decoder,
    /// The configuration the weights were checked against.
    pub config: Config,
}

impl Whisper {
    /// Loads both halves from `weights`, checking every tensor's shape against `cfg`.
    pub fn load(weights: &Weights, cfg: &Config) -> Result<Self, AsrError> {
        Ok(Self {
            encoder: Encoder::load(weights, cfg)?,
            decoder: Decoder::load(weights, cfg)?,
            config: cfg.clone(),
        })
    }

    /// Logits of the last token of `tokens` computed from scratch, without any cache: the
    /// reference the cached path is tested against.
    pub fn logits_uncached(
        &self,
        encoder_out: &Tensor,
        tokens: &[u32],
    ) -> candle_core::Result<Tensor> {
        let mut state = self.decoder.start(encoder_out)?;
        self.decoder.forward_last(&mut state, tokens)
    }
}

/// `x` with `f` applied in place to its contiguous values, the shape kept.
fn map_values(x: &Tensor, f: impl FnOnce(&mut [f32])) -> candle_core::Result<Tensor> {
    let mut values = x.flatten_all()?.to_vec1::<f32>()?;
    f(&mut values);
    Tensor::from_vec(values, x.dims(), x.device())
}

/// Softmax over the last dimension, as candle's `softmax_last_dim` computes it but without a
/// libm `expf`/`fmaxf` call per score in wasm ([`softmax_in_place`]).
fn softmax_last_dim(x: &Tensor) -> candle_core::Result<Tensor> {
    let last = x.dim(D::Minus1)?;
    map_values(x, |v| v.chunks_exact_mut(last).for_each(softmax_in_place))
}

/// `F.gelu` (the erf form), vectorized ([`gelu_erf_in_place`]) instead of candle's libm `erff`.
fn gelu_erf(x: &Tensor) -> candle_core::Result<Tensor> {
    map_values(x, gelu_erf_in_place)
}
