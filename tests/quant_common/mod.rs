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
