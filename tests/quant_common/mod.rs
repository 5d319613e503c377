//! Shared by the native kernel tests and the wasm tests: whole quantized products against the
//! portable one-token kernel, output by output.
#![allow(dead_code)]

use std::sync::Arc;

use sotto::kernels::quant::kernels::{self, QuantizedActivations};
use sotto::kernels::quant::packed::{pack_in_place, TILE_ROWS};
use sotto::kernels::quant::{GgmlType, QMatrix};

/// The 32-value encodings, which the tile kernel multiplies.
pub const TILED: [GgmlType; 5] = [
    GgmlType::Q8_0,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
];

/// Whether `dtype` matrices are packed in place when a model loads.
pub fn packs_in_place(dtype: GgmlType) -> bool {
    dtype != GgmlType::Q4_0
}

/// The portable one-token scalar kernel of a 32-value encoding: one row `w` · one token's q8_0
/// (q8_1) activations.
pub fn one_token_dot(dtype: GgmlType, w: &[u8], a: &QuantizedActivations) -> f32 {
    match dtype {
        GgmlType::Q8_0 => kernels::dot_q8_0_q8_0(w, a),
        GgmlType::Q4_0 => kernels::dot_q4_0_q8_0(w, a),
        GgmlType::Q4_1 => kernels::dot_q4_1_q8_1(w, a),
        GgmlType::Q5_0 => kernels::dot_q5_0_q8_0(w, a),
        GgmlType::Q5_1 => kernels::dot_q5_1_q8_1(w, a),
        other => panic!("{other:?} is not a 32-value encoding"),
    }
}

/// Multiplies the `bytes` of `rows` rows of `cols` of a 32-value encoding by the `tokens`
/// inputs `xs` through [`QMatrix::matmul`], and calls `check(got, expected, what)` for every
/// output with the portable one-token scalar kernel's value for it.
///
/// A matrix of an encoding packed in place is also packed, as a model's layers are when it
/// loads: its products (the tile kernel for every token count, the rows after the last whole
/// tile packed per product) must equal the one-token scalar kernel exactly, and its rows must
/// decode to the same values.
pub fn compare_with_one_token_kernel(
    dtype: GgmlType,
    bytes: &[u8],
    (rows, cols): (usize, usize),
    xs: &[f32],
    tokens: usize,
    check: impl Fn(f32, f32, String),
) {
    let row_len = bytes.len() / rows;
    let matrix = QMatrix::new(Arc::new(bytes.to_vec()), 0, rows, cols, dtype);
    let mut out = vec![0f32; tokens * rows];
    matrix.matmul(xs, tokens, &mut out);
    let mut packed_out = vec![0f32; tokens * rows];
    if packs_in_place(dtype) {
        let mut packed = bytes.to_vec();
        let packed_rows = pack_in_place(dtype, &mut packed, rows, cols);
        assert_eq!(packed_rows, rows / TILE_ROWS * TILE_ROWS);
        let packed =
            QMatrix::new(Arc::new(packed), 0, rows, cols, dtype).with_packed_rows(packed_rows);
        packed.matmul(xs, tokens, &mut packed_out);
        let (mut row, mut packed_row) = (vec![0f32; cols], vec![0f32; cols]);
        for r in 0..rows {
            matrix.dequantize_row(r, &mut row);
            packed.dequantize_row(r, &mut packed_row);
            assert_eq!(row, packed_row, "row {r} of the packed {dtype:?} matrix");
        }
    }
    for t in 0..tokens {
        let a = QuantizedActivations::q8_0(&xs[t * cols..(t + 1) * cols]);
        for r in 0..rows {
            let expected = one_token_dot(dtype, &bytes[r * row_len..(r + 1) * row_len], &a);
            check(
                out[t * rows + r],
                expected,
                format!("{dtype:?} {tokens} tokens: t{t} r{r}"),
            );
            if packs_in_place(dtype) {
                let got = packed_out[t * rows + r];
                assert_eq!(
                    got, expected,
                    "packed {dtype:?}, {tokens} tokens: t{t} r{r}"
                );
            }
        }
    }
}

/// A matrix of 24 rows (of an encoding packed in place) whose rows 11 and 20 have a scale that
/// is not finite (an infinity, a NaN), and for q4_1/q5_1 row 17 a minimum that is not: packing
/// in place stops before the tile of row 11, so only the first tile is packed, and for 1 to 9
/// tokens every product (through the in-place tile, and through the per-product tiles, which
/// then carry decoded scales) equals the one-token scalar kernel bit for bit, infinities and
/// NaNs included.
pub fn products_with_non_finite_scales_equal_the_one_token_kernel(xs: impl Fn(usize) -> Vec<f32>) {
    let (rows, cols) = (24, 64);
    for dtype in TILED.into_iter().filter(|&d| packs_in_place(d)) {
        let row_len = cols / 32 * dtype.block_bytes();
        let mut bytes = Vec::new();
        let weights: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
            .collect();
        sotto::kernels::quant::encode::quantize_row(dtype, &weights, &mut bytes);
        // Row 11's second block scale: +inf; row 20's first: a NaN; row 17's first minimum: -inf.
        let block = dtype.block_bytes();
        bytes[11 * row_len + block..][..2].copy_from_slice(&0x7c00u16.to_le_bytes());
        bytes[20 * row_len..][..2].copy_from_slice(&0x7e00u16.to_le_bytes());
        if matches!(dtype, GgmlType::Q4_1 | GgmlType::Q5_1) {
            bytes[17 * row_len + 2..][..2].copy_from_slice(&0xfc00u16.to_le_bytes());
        }
        let mut packed = bytes.clone();
        let packed_rows = pack_in_place(dtype, &mut packed, rows, cols);
        assert_eq!(
            packed_rows, TILE_ROWS,
            "{dtype:?}: packing stops at the tile of row 11"
        );
        assert_eq!(packed[TILE_ROWS * row_len..], bytes[TILE_ROWS * row_len..]);
        let packed =
            QMatrix::new(Arc::new(packed), 0, rows, cols, dtype).with_packed_rows(packed_rows);
        for tokens in 1..=9 {
            let xs = xs(tokens * cols);
            let mut out = vec![0f32; tokens * rows];
            packed.matmul(&xs, tokens, &mut out);
            for t in 0..tokens {
                let a = QuantizedActivations::q8_0(&xs[t * cols..(t + 1) * cols]);
                for r in 0..rows {
                    let expected = one_token_dot(dtype, &bytes[r * row_len..][..row_len], &a);
                    let got = out[t * rows + r];
                    assert!(
                        got.to_bits() == expected.to_bits() || (got.is_nan() && expected.is_nan()),
                        "{dtype:?}, {tokens} tokens: t{t} r{r}: {got} against {expected}"
                    );
                }
            }
        }
    }
}
