//! Weight rows in the prefill kernel's layout: tiles of [`TILE_ROWS`] q8_0 or q4_0 rows, their
//! values as i8 interleaved pair by pair, so that eight bytes hold the same pair of values of
//! four rows.
//!
//! Why: the kernel multiplies a tile by up to four tokens at once. With the rows interleaved,
//! those eight bytes widened to i16 (one `v128.load8x8_s`) times a broadcast pair of one
//! token's activations give four rows' partial sums in the four i32 lanes of one
//! `i32x4.dot_i16x8_s`, so the sums build up lane by lane over the block and need no
//! horizontal reduction (which, with its shuffles and the register pressure of row-major
//! kernels, cost about as many instructions as the products themselves).
//!
//! A q8_0 tile takes exactly the bytes of its rows (a block of eight rows is 8 × 34 bytes
//! either way: eight f16 scales and 256 values), so a model's q8_0 matrices are packed once,
//! in place, when it loads ([`pack_q8_0_in_place`]): no copy, and no packing per forward pass.
//! Other matrices (q4_0, whose unpacked nibbles take more room, and Whisper's) are packed per
//! product into a scratch [`PackedTile`], once per tile and read by every token group.

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use super::kernels::block_values;
use super::kernels::{f16_bits_to_f32, TokenGroup, QK8_0};
use super::GgmlType;

/// Rows in one packed tile: two sets of four, one `i32x4` accumulator each per token.
pub const TILE_ROWS: usize = 8;

/// Bytes of the rows' f16 scales at the start of each packed block.
pub const SCALE_BYTES: usize = 2 * TILE_ROWS;

/// Bytes of one packed block: the [`TILE_ROWS`] rows' f16 scales, then their 32 values each.
/// For pair `p` (the block's values `2p` and `2p + 1`) and row `r`, the two values are at
/// `SCALE_BYTES + 16 * p + 2 * r`.
pub const TILE_BLOCK_BYTES: usize = SCALE_BYTES + QK8_0 * TILE_ROWS;

/// A tile in the kernel's layout: `blocks` × [`TILE_BLOCK_BYTES`], and maybe its scales
/// decoded.
#[derive(Debug, Clone, Copy)]
pub struct Tile<'a> {
    /// The packed blocks.
    pub bytes: &'a [u8],
    /// For block `b`, row `r`: the scale at `8 * b + r` ([`decode_scales`]), or `None` to
    /// have the kernel decode each block's scales where it reads the block. `None` promises
    /// that every scale is finite ([`scales_are_finite`]): the kernel's in-loop decoding skips
    /// the infinity and NaN cases, whose constants cost it about a tenth of its speed.
    ///
    /// Why both: a tile met by several token groups is cheaper with its scales decoded once
    /// (decoding them in the loop costs the prefill kernel a tenth of its speed), but a pass
    /// over the scales of a tile not yet in cache waits on memory for every block: a third of
    /// a decode step. So the first group decodes them in the loop, which brings the tile in,
    /// and keeps them decoded for the later ones.
    pub scales: Option<&'a [f32]>,
}

impl Tile<'_> {
    /// Blocks of 32 values per row.
    pub fn blocks(&self) -> usize {
        self.bytes.len() / TILE_BLOCK_BYTES
    }
}

/// What the first token group's products with a tile keep for the tile's next groups: the
/// scales decoded ([`decode_scales`]' values) and, in wasm, the values widened to i16, which the
/// later groups read with plain loads ([`super::vec_dot_packed_group_keeping`]). Reused from
/// tile to tile.
#[derive(Debug, Clone, Default)]
pub struct KeptTile {
    /// For block `b`, row `r`: the scale at `8 * b + r`.
    pub scales: Vec<f32>,
    /// For block `b`, pair `p`, rows `4h..4h + 4` (`h` 0 or 1): their two values each at
    /// `256 * b + 16 * p + 8 * h`, as i16 (the packed block's order). Empty where the build's
    /// kernel does not use them.
    pub wide: Vec<i16>,
}

/// A tile packed from rows, its buffer reused from tile to tile.
#[derive(Debug, Clone, Default)]
pub struct PackedTile {
    bytes: Vec<u8>,
    scales: Vec<f32>,
}

impl PackedTile {
    /// Packs `rows` (each a whole q8_0 or q4_0 row of the same length) into this tile. Its
    /// scales come decoded when one is not finite (see [`Tile::scales`]).
    ///
    /// # Panics
    /// On more than [`TILE_ROWS`] rows, rows of different lengths or another encoding: the
    /// matmul only calls it with its own tiles of q8_0/q4_0 rows.
    pub fn pack(&mut self, dtype: GgmlType, rows: &[&[u8]]) -> Tile<'_> {
        let blocks = rows.first().map_or(0, |r| r.len() / dtype.block_bytes());
        // Every byte is written (padding included), so the buffer is only resized, never
        // cleared: a tile is packed for every eight rows of every matrix.
        self.bytes.resize(blocks * TILE_BLOCK_BYTES, 0);
        pack_tile(dtype, rows, &mut self.bytes);
        let scales = match scales_are_finite(&self.bytes) {
            true => None,
            false => {
                decode_scales(&self.bytes, &mut self.scales);
                Some(&self.scales[..])
            }
        };
        Tile {
            bytes: &self.bytes,
            scales,
        }
    }
}

/// Packs `rows` (up to [`TILE_ROWS`] whole q8_0 or q4_0 rows of the same length) into `out`
/// (their blocks × [`TILE_BLOCK_BYTES`]). The rows a tile lacks are zero (values and scales),
/// so their products are 0.
///
/// # Panics
/// On more than [`TILE_ROWS`] rows, rows of different lengths, another encoding or an `out`
/// of another length.
pub fn pack_tile(dtype: GgmlType, rows: &[&[u8]], out: &mut [u8]) {
    assert!(rows.len() <= TILE_ROWS, "a tile holds {TILE_ROWS} rows");
    assert!(matches!(dtype, GgmlType::Q8_0 | GgmlType::Q4_0));
    let block_bytes = dtype.block_bytes();
    let blocks = out.len() / TILE_BLOCK_BYTES;
    assert_eq!(out.len(), blocks * TILE_BLOCK_BYTES);
    for row in rows {
        assert_eq!(
            row.len(),
            blocks * block_bytes,
            "tile rows differ in length"
        );
    }
    for (b, packed) in out.chunks_exact_mut(TILE_BLOCK_BYTES).enumerate() {
        let mut block_rows: [&[u8]; TILE_ROWS] = [&[]; TILE_ROWS];
        for (block, row) in block_rows.iter_mut().zip(rows) {
            *block = &row[b * block_bytes..(b + 1) * block_bytes];
        }
        pack_block(dtype, &block_rows[..rows.len()], packed);
    }
}

/// Packs the q8_0 matrix `bytes` (`rows` rows of `cols`) in place, tile by tile, and returns
/// how many of its rows are now packed: the whole tiles (all rows when `rows` is a multiple of
/// [`TILE_ROWS`]) up to the first whose scales are not all finite, which no valid model has;
/// the rows after them keep their layout (and their products take the per-product tiles,
/// which handle any scale).
///
/// # Panics
/// When `bytes` is not `rows` q8_0 rows of `cols` values.
pub fn pack_q8_0_in_place(bytes: &mut [u8], rows: usize, cols: usize) -> usize {
    let row_len = cols / QK8_0 * GgmlType::Q8_0.block_bytes();
    assert_eq!(bytes.len(), rows * row_len, "q8_0 matrix bytes");
    let tile_len = TILE_ROWS * row_len;
    let mut original = vec![0u8; tile_len];
    for (t, tile) in bytes.chunks_exact_mut(tile_len).enumerate() {
        original.copy_from_slice(tile);
        let rows: [&[u8]; TILE_ROWS] = std::array::from_fn(|r| &original[r * row_len..][..row_len]);
        pack_tile(GgmlType::Q8_0, &rows, tile);
        if !scales_are_finite(tile) {
            tile.copy_from_slice(&original);
            return t * TILE_ROWS;
        }
    }
    rows / TILE_ROWS * TILE_ROWS
}

/// Whether every f16 scale of the packed `bytes` is finite (no infinity, no NaN).
pub fn scales_are_finite(bytes: &[u8]) -> bool {
    bytes.chunks_exact(TILE_BLOCK_BYTES).all(|block| {
        block[..SCALE_BYTES]
            .chunks_exact(2)
            .all(|h| u16::from_le_bytes([h[0], h[1]]) & 0x7c00 != 0x7c00)
    })
}

/// Decodes the f16 scales of the packed `bytes` into `out` (eight per block).
pub fn decode_scales(bytes: &[u8], out: &mut Vec<f32>) {
    let blocks = bytes.len() / TILE_BLOCK_BYTES;
    out.resize(blocks * TILE_ROWS, 0.0);
    for (block, out) in bytes
        .chunks_exact(TILE_BLOCK_BYTES)
        .zip(out.chunks_exact_mut(TILE_ROWS))
    {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        super::simd128::decode_block_scales(block, out);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        out.copy_from_slice(&block_scales(block));
    }
}

/// The eight f16 scales at the start of a packed `block`, as f32.
#[inline(always)]
fn block_scales(block: &[u8]) -> [f32; TILE_ROWS] {
    std::array::from_fn(|r| f16_bits_to_f32(u16::from_le_bytes([block[2 * r], block[2 * r + 1]])))
}

/// Row `r` of the packed tile `bytes`, dequantized into `out` (`blocks` × 32 values): how a
/// packed matrix's rows are looked up.
pub fn dequantize_tile_row(bytes: &[u8], r: usize, out: &mut [f32]) {
    assert!(r < TILE_ROWS);
    for (block, out) in bytes
        .chunks_exact(TILE_BLOCK_BYTES)
        .zip(out.chunks_exact_mut(QK8_0))
    {
        let d = f16_bits_to_f32(u16::from_le_bytes([block[2 * r], block[2 * r + 1]]));
        let values = &block[SCALE_BYTES..];
        for (p, out) in out.chunks_exact_mut(2).enumerate() {
            out[0] = f32::from(values[16 * p + 2 * r] as i8) * d;
            out[1] = f32::from(values[16 * p + 2 * r + 1] as i8) * d;
        }
    }
}

/// Interleaves one block of up to eight rows (`blocks`) into `packed` ([`TILE_BLOCK_BYTES`]):
/// their f16 scales, then their values. Everything is written: missing rows as zeros.
fn pack_block(dtype: GgmlType, blocks: &[&[u8]], packed: &mut [u8]) {
    let (scales, values) = packed.split_at_mut(SCALE_BYTES);
    scales.fill(0);
    for (scale, block) in scales.chunks_exact_mut(2).zip(blocks) {
        scale.copy_from_slice(&block[..2]);
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        super::simd128::pack_block_values(dtype, blocks, values)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        values.fill(0);
        for (r, block) in blocks.iter().enumerate() {
            for (p, pair) in block_values(dtype, block).chunks_exact(2).enumerate() {
                let at = 2 * TILE_ROWS * p + 2 * r;
                values[at] = pair[0] as u8;
                values[at + 1] = pair[1] as u8;
            }
        }
    }
}

/// The packed tile · the first `tokens` (1 to 4) tokens of a group: `out[k][r]` = row `r` ·
/// token `k`, for all [`TILE_ROWS`] rows (padding rows give 0), and 0 for `k >= tokens`. The
/// portable kernel: per row and token, the same integer block sums added in the same f32 order
/// (`acc += sum · (dw · da)`, block by block) as the one-token scalar kernels, so the results
/// are equal to theirs bit for bit.
pub fn dot_packed_group(tile: Tile<'_>, g: &TokenGroup, tokens: usize) -> [[f32; TILE_ROWS]; 4] {
    assert!((1..=4).contains(&tokens), "a group has one to four tokens");
    let blocks = tile.blocks();
    assert!(g.qs.len() >= blocks * 4 * QK8_0 && g.scales.len() >= blocks * 4);
    let mut acc = [[0f32; TILE_ROWS]; 4];
    for (b, block) in tile.bytes.chunks_exact(TILE_BLOCK_BYTES).enumerate() {
        let w = &block[SCALE_BYTES..];
        let dw: [f32; TILE_ROWS] = match tile.scales {
            Some(scales) => scales[TILE_ROWS * b..TILE_ROWS * (b + 1)]
                .try_into()
                .unwrap(),
            None => block_scales(block),
        };
        for (k, acc) in acc[..tokens].iter_mut().enumerate() {
            let a = &g.qs[(4 * b + k) * QK8_0..(4 * b + k + 1) * QK8_0];
            let da = g.scales[4 * b + k];
            let mut sums = [0i32; TILE_ROWS];
            for (p, pair) in w.chunks_exact(2 * TILE_ROWS).enumerate() {
                let (a0, a1) = (a[2 * p] as i32, a[2 * p + 1] as i32);
                for (s, w) in sums.iter_mut().zip(pair.chunks_exact(2)) {
                    *s += (w[0] as i8) as i32 * a0 + (w[1] as i8) as i32 * a1;
                }
            }
            for ((acc, &s), &d) in acc.iter_mut().zip(&sums).zip(&dw) {
                *acc += s as f32 * (d * da);
            }
        }
    }
    acc
}
