//! The quantized kernels against the dequantized f32 path: each integer dot product must equal
//! Σ dequant(w)·dequant(a) up to f32 rounding (and, for q4_1/q5_1, the f16 rounding of the
//! activations' block sums, as llama.cpp's q8_1 stores them). Under `wasm32 + simd128` the
//! dispatching functions run the SIMD kernels, so the same tests are their parity tests.

use sotto::kernels::quant::encode::quantize_row;
use sotto::kernels::quant::kernels::f16_at;
use sotto::kernels::quant::kernels::{self, QuantizedActivations};
use sotto::kernels::quant::packed::{PackedTile, Tile, TILE_ROWS};
use sotto::kernels::quant::{
    vec_dot_packed_group, vec_dot_q4_0, vec_dot_q8_0, GgmlType, QMatrix, TokenGroup,
};
use std::sync::Arc;

mod quant_common;
use quant_common::{
    compare_with_one_token_kernel, one_token_dot,
    products_with_non_finite_scales_equal_the_one_token_kernel, TILED,
};

/// Deterministic values with outliers, like real activations.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            if i % 97 == 0 {
                u * 20.0
            } else {
                u
            }
        })
        .collect()
}

fn dequantized_acts(a: &QuantizedActivations, block: usize) -> Vec<f32> {
    a.qs.iter()
        .enumerate()
        .map(|(i, &q)| q as f32 * a.scales[i / block])
        .collect()
}

fn reference_dot(w: &[f32], x: &[f32]) -> f32 {
    w.iter()
        .zip(x)
        .map(|(a, b)| *a as f64 * *b as f64)
        .sum::<f64>() as f32
}

/// Multiplies a 5 × `cols` matrix of `dtype` (encoded from random values) by 3 tokens and
/// holds every output to Σ dequant(w)·dequant(a) in f64, within f32 rounding (1e-4 relative,
/// 1e-5 per value) plus, for the encodings with minimums, the f16 rounding of each block's
/// activation sum `s` (|m|·|s|·2⁻¹⁰ per block: 2⁻¹¹ from the f16 rounding, 2⁻¹¹ from the scale
/// rounded to f16 beside it). `encode_error` bounds the encoding's own error, relative to the
/// row's largest value.
fn check(dtype: GgmlType, cols: usize, encode_error: f32) {
    let rows = 5;
    let w = values(rows * cols, 1);
    let mut bytes = Vec::new();
    w.chunks(cols)
        .for_each(|r| quantize_row(dtype, r, &mut bytes));
    let row_len = bytes.len() / rows;
    let m = QMatrix::new(Arc::new(bytes.clone()), 0, rows, cols, dtype);
    let x = values(3 * cols, 2);
    let mut out = vec![0f32; 3 * rows];
    m.matmul(&x, 3, &mut out);
    let mut row = vec![0f32; cols];
    for r in 0..rows {
        m.dequantize_row(r, &mut row);
        // The encoding itself is close to the original values.
        let scale = w[r * cols..(r + 1) * cols]
            .iter()
            .fold(0f32, |a, v| a.max(v.abs()));
        let err = max_diff(&row, &w[r * cols..(r + 1) * cols]);
        assert!(err <= scale * encode_error, "{dtype:?} encode error {err}");
        for t in 0..3 {
            let xt = &x[t * cols..(t + 1) * cols];
            let q8_0 = QuantizedActivations::q8_0(xt);
            let (expected, sums_error) = match dtype {
                GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => (reference_dot(&row, xt), 0.0),
                GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q5_0 => {
                    (reference_dot(&row, &dequantized_acts(&q8_0, 32)), 0.0)
                }
                GgmlType::Q4_1 | GgmlType::Q5_1 => {
                    let blocks =
                        bytes[r * row_len..(r + 1) * row_len].chunks(row_len / (cols / 32));
                    let bound: f32 = blocks
                        .zip(&q8_0.block_sums)
                        .map(|(block, s)| (f16_at(&block[2..]) * s).abs() / 1024.0)
                        .sum();
                    (reference_dot(&row, &dequantized_acts(&q8_0, 32)), bound)
                }
                _ => {
                    let q8_k = QuantizedActivations::q8_k(xt);
                    (reference_dot(&row, &dequantized_acts(&q8_k, 256)), 0.0)
                }
            };
            let got = out[t * rows + r];
            let tol = 1e-4 * (1.0 + expected.abs()) + 1e-5 * cols as f32 + sums_error;
            assert!(
                (got - expected).abs() < tol,
                "{dtype:?} r{r} t{t}: {got} vs {expected}"
            );
        }
    }
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn f32_f16_and_bf16_matmul() {
    check(GgmlType::F32, 96, 0.0);
    check(GgmlType::F16, 96, 1e-3);
    check(GgmlType::BF16, 96, 1e-2);
}

#[test]
fn q8_0_matmul_matches_dequantized() {
    check(GgmlType::Q8_0, 576, 0.2);
}

#[test]
fn q4_0_and_q4_1_matmul_match_dequantized() {
    check(GgmlType::Q4_0, 576, 0.2);
    check(GgmlType::Q4_1, 576, 0.2);
}

#[test]
fn q5_0_and_q5_1_matmul_match_dequantized() {
    check(GgmlType::Q5_0, 576, 0.2);
    check(GgmlType::Q5_1, 576, 0.2);
}

#[test]
fn q2_k_and_q3_k_matmul_match_dequantized() {
    check(GgmlType::Q2K, 512, 0.35);
    check(GgmlType::Q3K, 512, 0.35);
}

#[test]
fn q4_k_and_q5_k_matmul_match_dequantized() {
    check(GgmlType::Q4K, 512, 0.2);
    check(GgmlType::Q5K, 512, 0.2);
}

#[test]
fn q6_k_matmul_matches_dequantized() {
    check(GgmlType::Q6K, 512, 0.2);
}

/// A group quantized straight from four rows holds exactly what the rows quantized one by one
/// and interleaved hold (ties, zeros and a NaN-free extreme block included).
#[test]
fn token_group_quantized_from_rows_equals_interleaved_rows() {
    let mut rows: Vec<Vec<f32>> = (0..4).map(|k| values(1024, 40 + k)).collect();
    rows[1][..32].fill(0.0);
    rows[2][32..64].fill(0.5);
    rows[3][64] = 1e30;
    let quantized: Vec<QuantizedActivations> =
        rows.iter().map(|r| QuantizedActivations::q8_0(r)).collect();
    let interleaved = TokenGroup::new([&quantized[0], &quantized[1], &quantized[2], &quantized[3]]);
    let direct = TokenGroup::quantize([&rows[0], &rows[1], &rows[2], &rows[3]]);
    assert_eq!(direct, interleaved);
}

/// The dispatching (SIMD on wasm) q8_0/q4_0 dot products equal the portable kernels.
#[test]
fn dispatched_dots_equal_scalar_kernels() {
    let x = values(1024, 3);
    let a = QuantizedActivations::q8_0(&x);
    for seed in 0..8 {
        let w = values(1024, 10 + seed);
        let (mut q8, mut q4) = (Vec::new(), Vec::new());
        quantize_row(GgmlType::Q8_0, &w, &mut q8);
        quantize_row(GgmlType::Q4_0, &w, &mut q4);
        let (s8, v8) = (kernels::dot_q8_0_q8_0(&q8, &a), vec_dot_q8_0(&q8, &a));
        let (s4, v4) = (kernels::dot_q4_0_q8_0(&q4, &a), vec_dot_q4_0(&q4, &a));
        assert!((s8 - v8).abs() <= 1e-4 * (1.0 + s8.abs()), "{s8} {v8}");
        assert!((s4 - v4).abs() <= 1e-4 * (1.0 + s4.abs()), "{s4} {v4}");
    }
}

/// The tile kernel adds the same integer block sums in the same f32 order as the one-token
/// scalar kernels, so it agrees with them exactly: for a full tile of eight different rows, for
/// a partial tile (three rows, the rest padding that must give 0), for one to four tokens of a
/// group (the others 0), with the scales decoded in the kernel or before, for every 32-value
/// encoding.
#[test]
fn packed_tiles_equal_the_one_token_kernels_exactly() {
    let four: Vec<QuantizedActivations> = (0..4)
        .map(|k| QuantizedActivations::q8_0(&values(1024, 20 + k)))
        .collect();
    let group = TokenGroup::new([&four[0], &four[1], &four[2], &four[3]]);
    let mut tile = PackedTile::default();
    for dtype in TILED {
        let rows: Vec<Vec<u8>> = (0..TILE_ROWS as u64)
            .map(|seed| {
                let mut bytes = Vec::new();
                quantize_row(dtype, &values(1024, 60 + seed), &mut bytes);
                bytes
            })
            .collect();
        for n_rows in [TILE_ROWS, 3] {
            let tile_rows: Vec<&[u8]> = rows[..n_rows].iter().map(|r| &r[..]).collect();
            let tile = tile.pack(dtype, &tile_rows);
            let mut scales = Vec::new();
            tile.decode_scales(&mut scales);
            let decoded = Tile {
                scales: Some(&scales),
                ..tile
            };
            for (tokens, tile) in (1..=4).flat_map(|t| [(t, tile), (t, decoded)]) {
                let dots = vec_dot_packed_group(tile, &group, tokens);
                for (k, a) in four.iter().enumerate() {
                    for (r, &dot) in dots[k].iter().enumerate() {
                        let expected = match r < n_rows && k < tokens {
                            false => 0.0,
                            true => one_token_dot(dtype, &rows[r], a),
                        };
                        let at = format!("{n_rows} rows, {tokens} tokens: row {r}, token {k}");
                        assert_eq!(dot, expected, "{dtype:?}, {at}");
                    }
                }
            }
        }
    }
}

/// A q8_K row of zeros quantizes to zeros (no division by zero).
#[test]
fn zero_activations() {
    let a = QuantizedActivations::q8_k(&[0.0; 256]);
    assert_eq!(a.scales, [0.0]);
    let a = QuantizedActivations::q8_0(&[0.0; 32]);
    assert_eq!(a.qs, [0; 32]);
}

/// Our block decoding agrees with candle's for blocks candle (i.e. ggml's reference quantizers)
/// encoded: an independent check of every layout.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn decoding_matches_candle_for_ggml_encoded_blocks() {
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};
    let (rows, cols) = (3, 512);
    let w = values(rows * cols, 5);
    let t = Tensor::from_vec(w, (rows, cols), &Device::Cpu).unwrap();
    for (candle_type, ours) in [
        (GgmlDType::Q8_0, GgmlType::Q8_0),
        (GgmlDType::Q4_0, GgmlType::Q4_0),
        (GgmlDType::Q4_1, GgmlType::Q4_1),
        (GgmlDType::Q5_0, GgmlType::Q5_0),
        (GgmlDType::Q5_1, GgmlType::Q5_1),
        (GgmlDType::Q2K, GgmlType::Q2K),
        (GgmlDType::Q3K, GgmlType::Q3K),
        (GgmlDType::Q4K, GgmlType::Q4K),
        (GgmlDType::Q5K, GgmlType::Q5K),
        (GgmlDType::Q6K, GgmlType::Q6K),
        (GgmlDType::F16, GgmlType::F16),
        (GgmlDType::BF16, GgmlType::BF16),
    ] {
        let q = QTensor::quantize(&t, candle_type).unwrap();
        let expected: Vec<f32> = q
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let bytes = q.data().unwrap().into_owned();
        let m = QMatrix::new(Arc::new(bytes), 0, rows, cols, ours);
        let mut row = vec![0f32; cols];
        for r in 0..rows {
            m.dequantize_row(r, &mut row);
            let diff = max_diff(&row, &expected[r * cols..(r + 1) * cols]);
            assert!(diff < 1e-6, "{ours:?} row {r}: {diff}");
        }
    }
}

/// The shift-and-multiply f16 conversion equals `half`'s on every one of the 65,536 bit patterns
/// (NaNs compared by class).
#[test]
fn f16_conversion_is_exact_for_every_value() {
    for bits in 0..=u16::MAX {
        let ours = kernels::f16_bits_to_f32(bits);
        let reference = half::f16::from_bits(bits).to_f32();
        if reference.is_nan() {
            assert!(ours.is_nan(), "{bits:#06x}");
        } else {
            assert_eq!(ours.to_bits(), reference.to_bits(), "{bits:#06x}");
        }
    }
}

/// The branch-free exp stays within 2 ulp of libm's over the whole normal range, and keeps the
/// special cases: e^-inf = 0, e^+inf = inf, NaN stays NaN.
#[test]
fn exp_f32_is_within_two_ulp_of_libm() {
    let mut worst = 0u32;
    let mut x = -87.3f32;
    while x < 88.7 {
        let (ours, reference) = (kernels::exp_f32(x), x.exp());
        let ulps = ours.to_bits().abs_diff(reference.to_bits());
        assert!(ulps <= 2, "e^{x}: {ours} against {reference}");
        worst = worst.max(ulps);
        x += 0.000_37;
    }
    assert!(worst <= 2);
    assert_eq!(kernels::exp_f32(0.0), 1.0);
    assert_eq!(kernels::exp_f32(f32::NEG_INFINITY), 0.0);
    assert_eq!(kernels::exp_f32(-1000.0), 0.0);
    assert_eq!(kernels::exp_f32(f32::INFINITY), f32::INFINITY);
    assert!(kernels::exp_f32(f32::NAN).is_nan());
}

/// The block scale's f16 rounding equals `half`'s, across the whole f32 range (a stride through
/// every bit pattern, plus each side of the fast path's bounds and of every rounding tie).
#[test]
fn scale_rounding_to_f16_equals_half() {
    let check = |bits: u32| {
        let x = f32::from_bits(bits);
        let ours = kernels::round_to_f16(x);
        let half = half::f16::from_f32(x).to_f32();
        assert!(
            ours.to_bits() == half.to_bits() || (ours.is_nan() && half.is_nan()),
            "{x:e} ({bits:#x}): {ours:e} against {half:e}"
        );
    };
    (0..=u32::MAX).step_by(251).for_each(check);
    for exponent in [112u32, 113, 141, 142, 143] {
        for mantissa in [
            0, 1, 0x0fff, 0x1000, 0x1001, 0x2fff, 0x3000, 0x7f_e000, 0x7f_f000, 0x7f_ffff,
        ] {
            check((exponent << 23) | mantissa);
            check(0x8000_0000 | (exponent << 23) | mantissa);
        }
    }
}

/// erf(x) as a float series in f64: the reference for `erf_f32` on |x| ≤ 4 (beyond, erf is ±1
/// in f32: erfc(4) ≈ 1.5e-8 is below half an ulp of 1).
fn erf_reference(x: f64) -> f64 {
    if x.abs() > 4.0 {
        return x.signum();
    }
    // 2/√π · Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)); at |x| = 4 the largest term is about 1e5, so f64
    // keeps about 1e-11 of the sum.
    let (mut term, mut sum) = (x, x);
    for n in 1..200 {
        term *= -x * x / n as f64;
        let next = term / (2 * n + 1) as f64;
        sum += next;
        if next.abs() < 1e-17 {
            break;
        }
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

/// The vectorizable erf (GELU's) is within 3e-7 of erf everywhere (and 1e-6 relative below
/// 0.5), odd, and saturates to ±1;
/// GELU built on it is within what that implies (x/2 · 3e-7, plus f32 rounding) of the f64
/// formula.
#[test]
fn erf_f32_is_within_three_tenths_of_a_millionth() {
    use sotto::kernels::elementwise::{erf_f32, gelu_erf_in_place};
    let mut x = -6.0f32;
    while x < 6.0 {
        let ours = f64::from(erf_f32(x));
        let reference = erf_reference(f64::from(x));
        assert!(
            (ours - reference).abs() < 3e-7,
            "erf({x}): {ours} against {reference}"
        );
        if x.abs() < 0.5 && x != 0.0 {
            let relative = ((ours - reference) / reference).abs();
            assert!(relative < 1e-6, "erf({x}): relative error {relative}");
        }
        assert_eq!(erf_f32(-x), -erf_f32(x));
        let mut gelu = [x];
        gelu_erf_in_place(&mut gelu);
        let expected = 0.5 * f64::from(x) * (1.0 + erf_reference(f64::from(x) / 2f64.sqrt()));
        let error = (f64::from(gelu[0]) - expected).abs();
        let bound = 0.5 * f64::from(x.abs()) * 3e-7 + 1e-6 * expected.abs() + 1e-9;
        assert!(error < bound, "gelu({x}): {} against {expected}", gelu[0]);
        x += 0.000_61;
    }
    assert_eq!(erf_f32(0.0), 0.0);
    assert_eq!(erf_f32(100.0), 1.0);
    assert_eq!(erf_f32(f32::NEG_INFINITY), -1.0);
    assert!(erf_f32(f32::NAN).is_nan());
}

/// Whole matmuls of every 32-value encoding for every token count from 1 to 9 (one-token rows
/// below four tokens unless packed; from four on, groups, the last one partial) equal the
/// one-token scalar kernel exactly, for 19 rows (two tiles and a part).
#[test]
fn matmul_equals_the_one_token_kernel_for_every_token_count() {
    let (rows, cols) = (19, 96);
    for dtype in TILED {
        let mut bytes = Vec::new();
        for r in 0..rows {
            quantize_row(dtype, &values(cols, 80 + r as u64), &mut bytes);
        }
        for tokens in 1..=9 {
            let xs = values(tokens * cols, 7);
            let exactly =
                |got: f32, expected: f32, what: String| assert_eq!(got, expected, "{what}");
            compare_with_one_token_kernel(dtype, &bytes, (rows, cols), &xs, tokens, exactly);
        }
    }
}

/// A scale that is not finite stops packing in place, and its products stay exact (the shared
/// case in `quant_common`).
#[test]
fn non_finite_scales_are_not_packed_in_place_and_stay_exact() {
    products_with_non_finite_scales_equal_the_one_token_kernel(|n| values(n, 90));
}
