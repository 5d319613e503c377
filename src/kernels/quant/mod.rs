//! Weight encodings and the matrix kernels of the hot path.
//!
//! Weights stay in their GGUF encoding inside the one model buffer ([`QMatrix`] is a view of it).
//! Quantized matrices are multiplied the way llama.cpp does it: the activations are quantized to
//! 8 bits first (q8_0 blocks of 32 for the 32-value encodings, with q8_1's block sums for the
//! minimums of q4_1 and q5_1; q8_K blocks of 256 for k-quants), then each output is a sum of
//! integer dot products scaled per block. That is why llama.cpp's logits are the reference for
//! quantized files. The integer kernels live in [`kernels`] and [`kquants`] (scalar, portable)
//! and [`simd128`] (wasm32 SIMD, used when the build enables `simd128`) or `x86` (AVX2, chosen
//! at run time on x86_64, for q8_0); the 32-value encodings are multiplied in tiles of rows
//! repacked by [`packed`].

pub mod dtype;
pub mod encode;
pub mod kernels;
pub mod kquants;
pub mod packed;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;
#[cfg(target_arch = "x86_64")]
pub mod x86;

use std::ops::Range;
use std::sync::Arc;

use crate::parallel::{for_each_chunk, DisjointOut};
pub use dtype::{GgmlType, UnsupportedType};
pub use kernels::{QuantizedActivations, TokenGroup, QK8_0, QK_K};
use packed::{KeptTile, PackedTile, Tile, TileFormat, TILE_ROWS};

/// A matrix (`rows` × `cols`) viewed in its encoded form inside a shared buffer: row after row,
/// or, for matrices packed when the model loaded ([`packed::pack_in_place`]), tiles of
/// [`TILE_ROWS`] rows in the tile kernel's layout ([`packed`]) up to `packed_rows`, then the
/// rows left over.
#[derive(Clone)]
pub struct QMatrix {
    buf: Arc<Vec<u8>>,
    offset: usize,
    /// Number of rows (output features).
    pub rows: usize,
    /// Row length (input features).
    pub cols: usize,
    /// Encoding.
    pub dtype: GgmlType,
    /// The leading rows stored as packed tiles (a multiple of [`TILE_ROWS`]; 0: none).
    packed_rows: usize,
}

impl std::fmt::Debug for QMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QMatrix({}x{} {:?})", self.rows, self.cols, self.dtype)
    }
}

impl QMatrix {
    /// A view of `rows` × `cols` elements at `offset`; the caller has bounds-checked the range.
    pub fn new(
        buf: Arc<Vec<u8>>,
        offset: usize,
        rows: usize,
        cols: usize,
        dtype: GgmlType,
    ) -> Self {
        debug_assert!(offset + rows * cols / dtype.block_len() * dtype.block_bytes() <= buf.len());
        QMatrix {
            buf,
            offset,
            rows,
            cols,
            dtype,
            packed_rows: 0,
        }
    }

    /// A view of a q8_0 matrix whose first `packed_rows` rows [`packed::pack_q8_0_in_place`]
    /// has packed; the caller has bounds-checked the range.
    ///
    /// # Panics
    /// When `packed_rows` is not a whole number of tiles within `rows`.
    pub fn new_packed(
        buf: Arc<Vec<u8>>,
        offset: usize,
        rows: usize,
        cols: usize,
        packed_rows: usize,
    ) -> Self {
        QMatrix::new(buf, offset, rows, cols, GgmlType::Q8_0).with_packed_rows(packed_rows)
    }

    /// This view, with its first `packed_rows` rows packed by [`packed::pack_in_place`].
    ///
    /// # Panics
    /// When `packed_rows` is not a whole number of tiles within `rows`, or the encoding is not
    /// packed in place.
    pub fn with_packed_rows(self, packed_rows: usize) -> Self {
        assert!(packed_rows % TILE_ROWS == 0 && packed_rows <= self.rows);
        let format = TileFormat::of(self.dtype);
        assert!(
            packed_rows == 0
                || format.is_some_and(|f| f.block_bytes() == TILE_ROWS * self.dtype.block_bytes()),
            "{:?} matrices are not packed in place",
            self.dtype
        );
        QMatrix {
            packed_rows,
            ..self
        }
    }

    /// The packed tiles' format (for an encoding that has tiles).
    fn tile_format(&self) -> TileFormat {
        TileFormat::of(self.dtype).expect("an encoding with tiles")
    }

    fn row_bytes_len(&self) -> usize {
        self.cols / self.dtype.block_len() * self.dtype.block_bytes()
    }

    /// The encoded bytes of one row that is not in a packed tile.
    fn row_bytes(&self, row: usize) -> &[u8] {
        debug_assert!(row >= self.packed_rows);
        let len = self.row_bytes_len();
        let start = self.offset + row * len;
        &self.buf[start..start + len]
    }

    /// The bytes of the packed tile that starts at row `tile` (the same bytes its rows had).
    fn packed_tile_bytes(&self, tile: usize) -> &[u8] {
        debug_assert!(tile % TILE_ROWS == 0 && tile < self.packed_rows);
        let len = TILE_ROWS * self.row_bytes_len();
        let start = self.offset + tile / TILE_ROWS * len;
        &self.buf[start..start + len]
    }

    /// Decodes one row into `out` (`cols` floats): how embeddings are looked up without expanding
    /// the whole table.
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        if row < self.packed_rows {
            let tile = row - row % TILE_ROWS;
            let bytes = self.packed_tile_bytes(tile);
            packed::dequantize_tile_row(self.tile_format(), bytes, row - tile, out);
        } else {
            kernels::dequantize_row(self.dtype, self.row_bytes(row), out);
        }
    }

    /// `out[t][r] = Σ_c w[r][c] · xs[t][c]` for `xs` of `n_tokens` rows of `cols`.
    ///
    /// Quantized weights use integer dot products against 8-bit activations; weight rows are walked
    /// in tiles of [`TILE_ROWS`] so each tile is read from memory once for all tokens.
    pub fn matmul(&self, xs: &[f32], n_tokens: usize, out: &mut [f32]) {
        let input = PreparedInput::new(self.activation_kind(n_tokens), xs, self.cols, n_tokens);
        self.matmul_prepared(&input, xs, n_tokens, out);
    }

    /// [`QMatrix::matmul`] of several matrices with the same input (q, k and v; gate and up):
    /// the activations are quantized, grouped and widened once for all of them, not once each.
    pub fn matmul_each(products: &mut [(&QMatrix, &mut [f32])], xs: &[f32], n_tokens: usize) {
        let mut inputs: Vec<PreparedInput> = Vec::new();
        for (matrix, out) in products.iter_mut() {
            let kind = matrix.activation_kind(n_tokens);
            let index = match inputs
                .iter()
                .position(|i| i.kind == kind && i.cols == matrix.cols)
            {
                Some(i) => i,
                None => {
                    inputs.push(PreparedInput::new(kind, xs, matrix.cols, n_tokens));
                    inputs.len() - 1
                }
            };
            matrix.matmul_prepared(&inputs[index], xs, n_tokens, out);
        }
    }

    /// The form this matrix's kernels read `n_tokens` tokens in. Matrices of the 32-value
    /// encodings are multiplied in tiles for four tokens or more, where each tile is read by
    /// several groups (packed per product when they were not packed as they loaded); packed
    /// matrices take every token count in groups.
    fn activation_kind(&self, n_tokens: usize) -> ActivationKind {
        match self.dtype {
            GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 => {
                match n_tokens >= 4 || self.packed_rows > 0 {
                    true => ActivationKind::Q8_0Groups,
                    false => ActivationKind::Q8_0,
                }
            }
            GgmlType::Q2K | GgmlType::Q3K | GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K => {
                ActivationKind::Q8K
            }
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => ActivationKind::Float,
        }
    }

    fn matmul_prepared(&self, input: &PreparedInput, xs: &[f32], n_tokens: usize, out: &mut [f32]) {
        assert_eq!(xs.len(), n_tokens * self.cols);
        assert_eq!(out.len(), n_tokens * self.rows);
        let out = DisjointOut::new(out);
        let macs = self.rows * self.cols * n_tokens;
        for_each_chunk(self.rows, TILE_ROWS, macs, &|rows: Range<usize>| {
            self.matmul_rows(input, xs, n_tokens, rows, out)
        });
    }

    /// The rows `rows` of every token's output: tiles of [`TILE_ROWS`] rows, each read once for
    /// all the token groups. Each call writes only `out[t * self.rows + r]` for `r` in `rows`.
    fn matmul_rows(
        &self,
        input: &PreparedInput,
        xs: &[f32],
        n_tokens: usize,
        rows: Range<usize>,
        out: DisjointOut,
    ) {
        let (acts, groups) = (&input.acts, &input.groups);
        // SAFETY (every `out.slice_mut` below): the slice's rows are in `rows`, which no other
        // chunk has, the slice is dropped before the next is taken, and `out` is the caller's
        // live buffer.
        let outputs = |t: usize, rows: Range<usize>| unsafe {
            out.slice_mut(t * self.rows + rows.start..t * self.rows + rows.end)
        };
        let (mut scratch, mut kept) = (PackedTile::default(), KeptTile::default());
        for tile in rows.clone().step_by(TILE_ROWS) {
            let tile_rows = tile..(tile + TILE_ROWS).min(rows.end);
            if !groups.is_empty() {
                // Packed when the model loaded, or here, once (rows interleaved, q4_0 nibbles
                // unpacked); read by every group.
                let tile = if tile_rows.end <= self.packed_rows {
                    Tile {
                        format: self.tile_format(),
                        bytes: self.packed_tile_bytes(tile),
                        scales: None,
                    }
                } else {
                    let mut bytes: [&[u8]; TILE_ROWS] = [&[]; TILE_ROWS];
                    for (b, r) in bytes.iter_mut().zip(tile_rows.clone()) {
                        *b = self.row_bytes(r);
                    }
                    scratch.pack(self.dtype, &bytes[..tile_rows.len()])
                };
                let tokens = |g: usize| (n_tokens - 4 * g).min(4);
                // Each kernel's result is written from where the kernel left it: a result moved
                // into a variable first (from one of two kernels) was a 128-byte `memory.copy`,
                // which V8 runs as a call out of wasm, once per tile and group.
                let write = |g: usize, dots: &[[f32; TILE_ROWS]; 4]| {
                    for (k, dots) in dots[..tokens(g)].iter().enumerate() {
                        let out = outputs(4 * g + k, tile_rows.clone());
                        match <&mut [f32; TILE_ROWS]>::try_from(&mut *out) {
                            Ok(out) => copy_tile_row(dots, out),
                            Err(_) => out.copy_from_slice(&dots[..tile_rows.len()]),
                        }
                    }
                };
                // The first group streams the tile in from memory, decoding each block's scales
                // and widening its values as it goes; the next groups read what it kept
                // ([`packed::KeptTile`]), from the cache. A tile with a scale that is not finite
                // comes with its scales decoded for every group.
                let keep = tile.scales.is_none() && groups.len() > 1;
                match keep {
                    true => write(
                        0,
                        &vec_dot_packed_group_keeping(tile, &groups[0], tokens(0), &mut kept),
                    ),
                    false => write(0, &vec_dot_packed_group(tile, &groups[0], tokens(0))),
                }
                for (g, group) in groups.iter().enumerate().skip(1) {
                    match keep {
                        true => write(g, &vec_dot_kept_group(tile, &kept, group, tokens(g))),
                        false => write(g, &vec_dot_packed_group(tile, group, tokens(g))),
                    }
                }
            }
            // The k-quants with a simd128 kernel: each super-block unpacked once for all tokens.
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            if simd128::kquants::has_kernel(self.dtype) {
                let len = self.row_bytes_len();
                let start = self.offset + tile_rows.start * len;
                let bytes = &self.buf[start..start + tile_rows.len() * len];
                simd128::kquants::dot_rows_tokens(self.dtype, bytes, len, acts, |t, r, v| {
                    outputs(t, tile_rows.clone())[r] = v
                });
                continue;
            }
            for t in 4 * groups.len()..n_tokens {
                let x = &xs[t * self.cols..(t + 1) * self.cols];
                let act = acts.get(t - 4 * groups.len());
                self.dot_rows(tile_rows.clone(), x, act, outputs(t, tile_rows.clone()));
            }
        }
    }

    /// One token's products with the rows `rows`, into `out` (one value per row): the dtype is
    /// matched once, not per row. `act` is the token's quantized row (none for float weights).
    fn dot_rows(
        &self,
        rows: Range<usize>,
        x: &[f32],
        act: Option<&QuantizedActivations>,
        out: &mut [f32],
    ) {
        let len = self.row_bytes_len();
        let start = self.offset + rows.start * len;
        let weights = self.buf[start..start + rows.len() * len].chunks_exact(len);
        // An Option check per row: a predictable branch beside a whole row's dot product.
        let a = || act.expect("quantized weights get quantized activations");
        match self.dtype {
            GgmlType::F32 => fill(out, weights, |w| kernels::dot_f32(w, x)),
            GgmlType::F16 => fill(out, weights, |w| kernels::dot_f16(w, x)),
            GgmlType::BF16 => fill(out, weights, |w| kernels::dot_bf16(w, x)),
            GgmlType::Q8_0 => fill(out, weights, |w| vec_dot_q8_0(w, a())),
            GgmlType::Q4_0 => fill(out, weights, |w| vec_dot_q4_0(w, a())),
            GgmlType::Q4_1 => fill(out, weights, |w| kernels::dot_q4_1_q8_1(w, a())),
            GgmlType::Q5_0 => fill(out, weights, |w| kernels::dot_q5_0_q8_0(w, a())),
            GgmlType::Q5_1 => fill(out, weights, |w| kernels::dot_q5_1_q8_1(w, a())),
            GgmlType::Q2K => fill(out, weights, |w| kquants::dot_q2k_q8k(w, a())),
            GgmlType::Q3K => fill(out, weights, |w| kquants::dot_q3k_q8k(w, a())),
            GgmlType::Q4K => fill(out, weights, |w| kquants::dot_q4k_q8k(w, a())),
            GgmlType::Q5K => fill(out, weights, |w| kquants::dot_q5k_q8k(w, a())),
            GgmlType::Q6K => fill(out, weights, |w| kquants::dot_q6k_q8k(w, a())),
        }
    }
}

/// `out[i] = dot(row i)` over the rows `weights` yields.
#[inline]
fn fill<'a>(out: &mut [f32], weights: impl Iterator<Item = &'a [u8]>, dot: impl Fn(&[u8]) -> f32) {
    for (o, w) in out.iter_mut().zip(weights) {
        *o = dot(w);
    }
}

/// Which quantized activations a matrix multiplies with ([`QMatrix::activation_kind`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ActivationKind {
    /// q8_0 (q8_1) blocks of 32 for the tile kernel (the 32-value encodings): all tokens in
    /// groups of four, the last one padded.
    Q8_0Groups,
    /// q8_0 (q8_1) blocks of 32, every token as a row.
    Q8_0,
    /// q8_K super-blocks of 256 (k-quants).
    Q8K,
    /// f32 as it is (f32, f16 and bf16 weights).
    Float,
}

/// A matmul's input in the forms the kernels read: groups of four tokens (i16, interleaved; the
/// last one padded with zero rows) for the prefill kernel, or quantized rows, one per token.
struct PreparedInput {
    kind: ActivationKind,
    cols: usize,
    /// Tokens `4g..4g + 4` in group `g`, up to the last token.
    groups: Vec<TokenGroup>,
    /// The rows of tokens `4 * groups.len()..` (all of them when there are no groups).
    acts: Vec<QuantizedActivations>,
}

impl PreparedInput {
    fn new(kind: ActivationKind, xs: &[f32], cols: usize, n_tokens: usize) -> Self {
        assert_eq!(xs.len(), n_tokens * cols);
        // Every token goes into a group, the last one padded with zero rows (whose products are
        // 0 and ignored): the kernel meets a packed tile while it is in cache, where a token
        // left out would stream every weight from memory once more.
        let n_groups = match kind {
            ActivationKind::Q8_0Groups => n_tokens.div_ceil(4),
            _ => 0,
        };
        let padding = vec![0f32; if 4 * n_groups > n_tokens { cols } else { 0 }];
        let row = |t: usize| match t < n_tokens {
            true => &xs[t * cols..(t + 1) * cols],
            false => &padding[..],
        };
        let mut groups = vec![TokenGroup::default(); n_groups];
        let out = DisjointOut::new(&mut groups[..]);
        let quantize = |range: Range<usize>| {
            for g in range {
                let group = TokenGroup::quantize([
                    row(4 * g),
                    row(4 * g + 1),
                    row(4 * g + 2),
                    row(4 * g + 3),
                ]);
                // SAFETY: each group index is in one chunk only, and `groups` outlives the
                // fork-join.
                unsafe { out.set(g, group) };
            }
        };
        // About two operations per value: only a long prefill's input is worth splitting.
        for_each_chunk(n_groups, 1, 2 * 4 * n_groups * cols, &quantize);
        let rest = (4 * n_groups).min(n_tokens)..n_tokens;
        let acts: Vec<QuantizedActivations> = match kind {
            ActivationKind::Q8_0Groups | ActivationKind::Q8_0 => {
                rest.map(|t| QuantizedActivations::q8_0(row(t))).collect()
            }
            ActivationKind::Q8K => rest.map(|t| QuantizedActivations::q8_k(row(t))).collect(),
            ActivationKind::Float => Vec::new(),
        };
        PreparedInput {
            kind,
            cols,
            groups,
            acts,
        }
    }
}

/// q8_0 weights · q8_0 activations, with the fastest kernel this build has.
#[inline]
pub fn vec_dot_q8_0(w: &[u8], a: &QuantizedActivations) -> f32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::dot_q8_0_q8_0(w, a)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        #[cfg(target_arch = "x86_64")]
        if let Some(dot) = x86::dot_q8_0_q8_0(w, a) {
            return dot;
        }
        kernels::dot_q8_0_q8_0(w, a)
    }
}

/// A packed tile · the first `tokens` (1 to 4) tokens of a group (the tile kernel), with the fastest kernel this build has: `out[k][r]` is row `r` · token `k` for
/// `k < tokens`, 0 after ([`packed::dot_packed_group`]).
#[inline]
pub fn vec_dot_packed_group(
    tile: Tile<'_>,
    g: &TokenGroup,
    tokens: usize,
) -> [[f32; TILE_ROWS]; 4] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::dot_packed_group(tile, g, tokens)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        #[cfg(target_arch = "x86_64")]
        if let Some(dots) = x86::dot_packed_group(tile, g, tokens) {
            return dots;
        }
        packed::dot_packed_group(tile, g, tokens)
    }
}

/// [`vec_dot_packed_group`] of the first token group of a tile whose scales are not decoded
/// (`tile.scales` is `None`), keeping in `kept` what the tile's next groups read instead of the
/// tile ([`vec_dot_kept_group`]): its scales decoded, and in wasm its values widened to i16.
/// The simd128 kernel decodes and widens them as it goes, so keeping them costs a few stores,
/// and spares the next groups a pass over the scales and a widening of every value.
#[inline]
pub fn vec_dot_packed_group_keeping(
    tile: Tile<'_>,
    g: &TokenGroup,
    tokens: usize,
    kept: &mut KeptTile,
) -> [[f32; TILE_ROWS]; 4] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::dot_packed_group_keeping(tile, g, tokens, kept)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        tile.decode_scales(&mut kept.scales);
        vec_dot_packed_group(tile, g, tokens)
    }
}

/// [`vec_dot_packed_group`] of a later token group of `tile`, from what its first group kept
/// ([`vec_dot_packed_group_keeping`]). Equal to [`vec_dot_packed_group`] bit for bit.
#[inline]
pub fn vec_dot_kept_group(
    tile: Tile<'_>,
    kept: &KeptTile,
    g: &TokenGroup,
    tokens: usize,
) -> [[f32; TILE_ROWS]; 4] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::dot_kept_group(tile.format, kept, g, tokens)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let tile = Tile {
            scales: Some(&kept.scales),
            ..tile
        };
        vec_dot_packed_group(tile, g, tokens)
    }
}

/// Copies one token's products with a whole tile into its output rows. Written as stores of its
/// own in wasm: LLVM merges a plain copy of this constant length with the partial tile's copy
/// into one `memory.copy` of variable length, which V8 runs as a call out of wasm, four per tile
/// and token group: 5% of a prefill.
#[inline(always)]
fn copy_tile_row(dots: &[f32; TILE_ROWS], out: &mut [f32; TILE_ROWS]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::copy_f32x8(dots, out)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        *out = *dots
    }
}

/// q4_0 weights · q8_0 activations, with the fastest kernel this build has.
#[inline]
pub fn vec_dot_q4_0(w: &[u8], a: &QuantizedActivations) -> f32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        simd128::dot_q4_0_q8_0(w, a)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        kernels::dot_q4_0_q8_0(w, a)
    }
}
