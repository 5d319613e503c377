//! Elementwise float functions the chat model and Whisper share, written so their loops
//! vectorize: no libm call per element (in wasm, `expf`, `erff` and `fmaxf` are calls, and they
//! showed up in both models' profiles).

use super::quant::kernels::exp_f32;

/// Softmax of one row in place: the maximum by a compare (not `f32::max`), the exponentials in a
/// loop of their own so it vectorizes, the sum in order. Same steps as candle's
/// `softmax_last_dim`, with [`exp_f32`] (within 2 ulp of libm) for the exponential.
pub fn softmax_in_place(x: &mut [f32]) {
    let max = x
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    x.iter_mut().for_each(|v| *v = exp_f32(*v - max));
    let sum: f32 = x.iter().sum();
    x.iter_mut().for_each(|v| *v /= sum);
}

/// erf(x) in f32 without a branch or a call. Below |x| = 0.5 its Taylor series (seven terms,
/// so the relative error stays near f32's); above, erfc by the Chebyshev-fitted form
/// t·exp(−z² + P(t)), t = 1/(1 + z/2) (Numerical Recipes' `erfcc`, fractional error below
/// 1.2e-7), then 1 − erfc with x's sign. Both are computed and one selected, so loops over it
/// vectorize. Within 3e-7 of erf everywhere (tested).
#[inline(always)]
pub fn erf_f32(x: f32) -> f32 {
    let z = x.abs();
    // 2/√π · x · Σ (−x²)ⁿ / (n! (2n+1)), n < 7: the last term left out is below 2e-9 at 0.5.
    let z2 = z * z;
    let mut series = -1.0 / 9360.0_f32;
    for c in [
        1.0 / 1320.0,
        -1.0 / 216.0,
        1.0 / 42.0,
        -1.0 / 10.0,
        1.0 / 3.0,
        -1.0,
    ] {
        series = series * z2 - c;
    }
    let small = -series * z * std::f32::consts::FRAC_2_SQRT_PI;
    let t = 1.0 / (1.0 + 0.5 * z);
    let mut p = 0.170_872_77_f32;
    for c in [
        -0.822_152_23,
        1.488_515_9,
        -1.135_204,
        0.278_868_07,
        -0.186_288_06,
        0.096_784_18,
        0.374_091_96,
        1.000_023_7,
        -1.265_512_2,
    ] {
        p = p * t + c;
    }
    let large = 1.0 - t * exp_f32(-z2 + p);
    (if z < 0.5 { small } else { large }).copysign(x)
}

/// GELU with the exact erf form, `x/2 · (1 + erf(x/√2))`, in place (Whisper's `F.gelu`).
pub fn gelu_erf_in_place(x: &mut [f32]) {
    x.iter_mut()
        .for_each(|v| *v = 0.5 * *v * (1.0 + erf_f32(*v * std::f32::consts::FRAC_1_SQRT_2)));
}
