//! Shared by the native kernel tests and the wasm tests: whole quantized products against the
//! portable one-token kernel, output by output.

use std::sync::Arc;

use sotto::llm::quant::kernels::{self, QuantizedActivations};
use sotto::llm::quant::packed::{pack_q8_0_in_place, TILE_ROWS};
use sotto::llm::quant::{GgmlType, QMatrix};

/// Multiplies the `bytes` of `rows` q8_0 or q4_0 rows of `cols` by the `tokens` inputs `xs`
/// through [`QMatrix::matmul`], and calls `check(got, expected, what)` for every output with the
/// portable one-token scalar kernel's value for it.
///
/// A q8_0 matrix is also packed in place, as a model's layers are when it loads: its products
/// (the packed-tile kernel for every token count, the rows after the last whole tile packed
/// per product) must equal the one-token scalar kernel exactly, and its rows must decode to the
/// same values.
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
    if dtype == GgmlType::Q8_0 {
        let mut packed = bytes.to_vec();
        let packed_rows = pack_q8_0_in_place(&mut packed, rows, cols);
        assert_eq!(packed_rows, rows / TILE_ROWS * TILE_ROWS);
        let packed = QMatrix::new_packed(Arc::new(packed), 0, rows, cols, packed_rows);
        packed.matmul(xs, tokens, &mut packed_out);
        let (mut row, mut packed_row) = (vec![0f32; cols], vec![0f32; cols]);
        for r in 0..rows {
            matrix.dequantize_row(r, &mut row);
            packed.dequantize_row(r, &mut packed_row);
            assert_eq!(row, packed_row, "row {r} of the packed matrix");
        }
    }
    for t in 0..tokens {
        let a = QuantizedActivations::q8_0(&xs[t * cols..(t + 1) * cols]);
        for r in 0..rows {
            let w = &bytes[r * row_len..(r + 1) * row_len];
            let expected = match dtype {
                GgmlType::Q8_0 => kernels::dot_q8_0_q8_0(w, &a),
                _ => kernels::dot_q4_0_q8_0(w, &a),
            };
            check(
                out[t * rows + r],
                expected,
                format!("{dtype:?} {tokens} tokens: t{t} r{r}"),
            );
            if dtype == GgmlType::Q8_0 {
                let got = packed_out[t * rows + r];
                assert_eq!(got, expected, "packed q8_0, {tokens} tokens: t{t} r{r}");
            }
        }
    }
}

/// A q8_0 matrix of 24 rows whose rows 11 and 20 have a scale that is not finite (an infinity,
/// a NaN): packing in place stops before the tile of row 11, so only the first tile is packed,
/// and for 1 to 9 tokens every product (through the in-place tile, and through the per-product
/// tiles, which then carry decoded scales) equals the one-token scalar kernel bit for bit,
/// infinities and NaNs included.
pub fn products_with_non_finite_scales_equal_the_one_token_kernel(xs: impl Fn(usize) -> Vec<f32>) {
    let (rows, cols) = (24, 64);
    let row_len = cols / 32 * 34;
    let mut bytes = Vec::new();
    let weights: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0)
        .collect();
    sotto::llm::quant::encode::quantize_row(GgmlType::Q8_0, &weights, &mut bytes);
    // Row 11's second block scale: +inf; row 20's first: a NaN.
    bytes[11 * row_len + 34..][..2].copy_from_slice(&0x7c00u16.to_le_bytes());
    bytes[20 * row_len..][..2].copy_from_slice(&0x7e00u16.to_le_bytes());
    let mut packed = bytes.clone();
    let packed_rows = pack_q8_0_in_place(&mut packed, rows, cols);
    assert_eq!(
        packed_rows, TILE_ROWS,
        "packing stops at the tile of row 11"
    );
    assert_eq!(packed[TILE_ROWS * row_len..], bytes[TILE_ROWS * row_len..]);
    let packed = QMatrix::new_packed(Arc::new(packed), 0, rows, cols, packed_rows);
    for tokens in 1..=9 {
        let xs = xs(tokens * cols);
        let mut out = vec![0f32; tokens * rows];
        packed.matmul(&xs, tokens, &mut out);
        for t in 0..tokens {
            let a = QuantizedActivations::q8_0(&xs[t * cols..(t + 1) * cols]);
            for r in 0..rows {
                let expected = kernels::dot_q8_0_q8_0(&bytes[r * row_len..][..row_len], &a);
                let got = out[t * rows + r];
                assert!(
                    got.to_bits() == expected.to_bits() || (got.is_nan() && expected.is_nan()),
                    "{tokens} tokens: t{t} r{r}: {got} against {expected}"
                );
            }
        }
    }
}
