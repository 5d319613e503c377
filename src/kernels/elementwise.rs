//! Elementwise float functions of the chat model and Whisper (softmax, GELU; the chat model's
//! norms, rotary embedding and biases), written so their loops vectorize: no libm call per
//! element (in wasm, `expf`, `erff` and `fmaxf` are calls, and they showed up in both models'
//! profiles), and sums in lanes rather than in one chain.

use super::quant::kernels::{dot_f32_slices, exp_f32};

/// Softmax of one row in place: the maximum by a compare (not `f32::max`), the exponentials in a
/// loop of their own so it vectorizes, the sum in eight lanes, each value divided by it. The
/// steps of candle's `softmax_last_dim`, with [`exp_f32`] (within 2 ulp of libm) for the
/// exponential, and the maximum and sum in lanes so they vectorize too: a sum in order is one
/// chain of dependent adds (three cycles a value), which made softmax a third of a prefill's
/// attention time.
pub fn softmax_in_place(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if super::quant::x86::available() {
        // SAFETY: the CPU has AVX2 and FMA.
        return unsafe { avx2::softmax(x) };
    }
    softmax(x)
}

/// [`softmax_in_place`]'s steps, inlined into each build of it.
#[inline(always)]
fn softmax(x: &mut [f32]) {
    // The maximum is the same in any order (NaNs are skipped alike).
    let greater = |m: f32, v: f32| if v > m { v } else { m };
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (m, &v) in lanes.iter_mut().zip(chunk) {
            *m = greater(*m, v);
        }
    }
    let max = lanes
        .iter()
        .chain(tail)
        .fold(f32::NEG_INFINITY, |m, &v| greater(m, v));
    // `for` loops, not `for_each`: an iterator adapter may stay a function of its own, built
    // without the AVX2 of the caller that inlines this.
    for v in x.iter_mut() {
        *v = exp_f32(*v - max);
    }
    let sum = lane_sum(x);
    for v in x.iter_mut() {
        *v /= sum;
    }
}

/// Lanes of the vectorized reductions: two simd128 vectors.
const LANES: usize = 8;

/// Σ x in [`LANES`] lanes, added pairwise at the end, then the values past the last whole lane
/// set in order.
#[inline(always)]
fn lane_sum(x: &[f32]) -> f32 {
    let mut lanes = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (s, &v) in lanes.iter_mut().zip(chunk) {
            *s += v;
        }
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            lanes[i] += lanes[i + width];
        }
    }
    tail.iter().fold(lanes[0], |s, &v| s + v)
}

/// erf(x) in f32 without a branch or a call, so loops over it vectorize. Below |x| = 0.5 its
/// Taylor series (seven terms: the relative error stays near f32's, where 1 − erfc would cancel);
/// above, Abramowitz and Stegun's 7.1.26, 1 − t·P(t)·e^(−x²) with t = 1/(1 + p·|x|), whose error
/// is below 1.5e-7. Both are computed and one selected; x's sign is put back. Within 3e-7 of
/// erf everywhere (tested).
#[inline(always)]
pub fn erf_f32(x: f32) -> f32 {
    let z = x.abs();
    let z2 = z * z;
    // 2/√π · z · Σ (−z²)ⁿ / (n! (2n+1)), n < 7: the first term left out is below 2e-9 at 0.5.
    let mut series = 1.0 / 9360.0_f32;
    for c in [
        -1.0 / 1320.0,
        1.0 / 216.0,
        -1.0 / 42.0,
        1.0 / 10.0,
        -1.0 / 3.0,
        1.0,
    ] {
        series = series * z2 + c;
    }
    let small = series * z * std::f32::consts::FRAC_2_SQRT_PI;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let mut p = 1.061_405_4_f32;
    for c in [-1.453_152_1, 1.421_413_8, -0.284_496_74, 0.254_829_6] {
        p = p * t + c;
    }
    let large = 1.0 - t * p * exp_f32(-z2);
    (if z < 0.5 { small } else { large }).copysign(x)
}

/// GELU with the exact erf form, `x/2 · (1 + erf(x/√2))`, in place (Whisper's `F.gelu`).
pub fn gelu_erf_in_place(x: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if super::quant::x86::available() {
        // SAFETY: the CPU has AVX2 and FMA.
        return unsafe { avx2::gelu_erf(x) };
    }
    gelu_erf(x)
}

/// [`gelu_erf_in_place`]'s loop, inlined into each build of it.
#[inline(always)]
fn gelu_erf(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = 0.5 * *v * (1.0 + erf_f32(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// The functions above built for AVX2 and FMA, chosen at run time on x86_64 (the native
/// build's baseline is SSE2, where `exp_f32`'s two roundings are libm calls, a third of
/// softmax's time): the same Rust operations, so the same results bit for bit (Rust never
/// fuses a multiply and an add), in eight lanes, each rounding one instruction.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn softmax(x: &mut [f32]) {
        super::softmax(x)
    }

    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn gelu_erf(x: &mut [f32]) {
        super::gelu_erf(x)
    }
}

/// GELU with the tanh approximation, `x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`, in place
/// (PyTorch's `gelu(approximate="tanh")`, Gemma's `gelu_pytorch_tanh`). tanh(u) is computed as
/// 1 − 2 / (e^{2u} + 1), without a call per element: at u → ±∞ the quotient goes to 0 or 2
/// exactly, and near 0, where the form loses relative precision, the error is absolute (below
/// 1e-7) and vanishes in 1 + tanh.
// https://github.com/huggingface/transformers/blob/main/src/transformers/activations.py (PytorchGELUTanh)
pub fn gelu_tanh_in_place(x: &mut [f32]) {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    x.iter_mut().for_each(|v| {
        let u = SQRT_2_OVER_PI * (*v + 0.044_715 * *v * *v * *v);
        let tanh = 1.0 - 2.0 / (exp_f32(2.0 * u) + 1.0);
        *v = 0.5 * *v * (1.0 + tanh);
    });
}

/// Rotary embedding of every head in `x`, with the (sin, cos) of each frequency at this position.
/// GGUF llama q/k rows are permuted so that rotated pairs are adjacent (ggml `ROPE_TYPE_NORM`);
/// Qwen pairs `i` with `i + hd/2` (neox).
// https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py (apply_rotary_pos_emb, rotate_half)
pub(crate) fn rope(x: &mut [f32], angles: &[(f32, f32)], interleaved: bool) {
    let half = angles.len();
    for head in x.chunks_exact_mut(2 * half) {
        for (i, &(sin, cos)) in angles.iter().enumerate() {
            let (a, b) = if interleaved {
                (2 * i, 2 * i + 1)
            } else {
                (i, i + half)
            };
            let (x0, x1) = (head[a], head[b]);
            head[a] = x0 * cos - x1 * sin;
            head[b] = x0 * sin + x1 * cos;
        }
    }
}

/// Adds `bias` to every row of `x` (rows of the bias's length).
pub(crate) fn add_bias(x: &mut [f32], bias: &[f32]) {
    for row in x.chunks_exact_mut(bias.len()) {
        row.iter_mut().zip(bias).for_each(|(x, b)| *x += b);
    }
}

/// RMS norm of every row of `x` (rows of `w`'s length), scaled by `w`, into `out`.
// https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py (LlamaRMSNorm)
pub(crate) fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    for (row, o) in x.chunks_exact(w.len()).zip(out.chunks_exact_mut(w.len())) {
        let inv = inverse_rms(row, eps);
        o.iter_mut()
            .zip(row.iter().zip(w))
            .for_each(|(o, (x, w))| *o = x * inv * w);
    }
}

/// [`rms_norm`] in place.
pub(crate) fn rms_norm_in_place(x: &mut [f32], w: &[f32], eps: f32) {
    for row in x.chunks_exact_mut(w.len()) {
        let inv = inverse_rms(row, eps);
        row.iter_mut().zip(w).for_each(|(x, w)| *x = *x * inv * w);
    }
}

/// 1 / √(mean(x²) + ε). The squares are summed in eight lanes: a sum in order is one chain of
/// dependent adds, which kept the two norms of every layer from vectorizing (PyTorch's sum is
/// not in order either).
fn inverse_rms(row: &[f32], eps: f32) -> f32 {
    let mean_sq = dot_f32_slices(row, row) / row.len() as f32;
    1.0 / (mean_sq + eps).sqrt()
}
