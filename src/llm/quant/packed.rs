//! Weight rows repacked for the prefill kernel: a tile of up to [`TILE_ROWS`] q8_0 or q4_0 rows,
//! widened to i16 and interleaved pair by pair, so that one 16-byte load holds the same pair of
//! weights of four rows.
//!
//! Why: the prefill kernel multiplies the tile by four tokens at once. With the rows interleaved,
//! one load (four rows × one pair) times a broadcast pair of one token's
//! activations gives four rows' partial sums in the four i32 lanes of one `i32x4.dot_i16x8_s`,
//! so the sums build up lane by lane over the block and need no horizontal reduction (which,
//! with its shuffles and the register pressure of row-major kernels, cost about as many
//! instructions as the products themselves). A tile is packed once and then meets every token
//! group of the matmul; q4_0 nibbles are unpacked then too, not once per group.

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use super::kernels::{block_values, f16_at};
use super::kernels::{TokenGroup, QK8_0};
use super::GgmlType;

/// Rows in one packed tile: two sets of four, one `i32x4` accumulator each per token.
pub const TILE_ROWS: usize = 8;

/// Values in one packed block: 32 of each of the [`TILE_ROWS`] rows.
const PACKED_BLOCK: usize = QK8_0 * TILE_ROWS;

/// Up to [`TILE_ROWS`] weight rows in the prefill kernel's layout; the rows a tile lacks are
/// zero (weights and scales), so their products are 0 and ignored.
#[derive(Debug, Clone, Default)]
pub struct PackedTile {
    /// For block `b`, pair `p` (the block's values `2p` and `2p + 1`), row `r`: the two values
    /// at `b * 256 + 16 * p + 2 * r`.
    ///
    /// Widened to i16 when packed, so the kernel's loads need no widening: the tile is packed
    /// once and read by every token group.
    pub values: Vec<i16>,
    /// For block `b`, row `r`: the block's scale at `8 * b + r`.
    pub scales: Vec<f32>,
    /// Blocks of 32 values per row.
    pub blocks: usize,
}

impl PackedTile {
    /// Packs `rows` (each a whole q8_0 or q4_0 row of the same length) into this tile, reusing
    /// its buffers.
    ///
    /// # Panics
    /// On more than [`TILE_ROWS`] rows, rows of different lengths or another encoding: the
    /// matmul only calls it with its own tiles of q8_0/q4_0 rows.
    pub fn pack(&mut self, dtype: GgmlType, rows: &[&[u8]]) {
        assert!(rows.len() <= TILE_ROWS, "a tile holds {TILE_ROWS} rows");
        let block_bytes = dtype.block_bytes();
        assert!(matches!(dtype, GgmlType::Q8_0 | GgmlType::Q4_0));
        let blocks = rows.first().map_or(0, |r| r.len() / block_bytes);
        for row in rows {
            assert_eq!(
                row.len(),
                blocks * block_bytes,
                "tile rows differ in length"
            );
        }
        self.blocks = blocks;
        // Every value and scale is written below (padding included), so the buffers are only
        // resized, never cleared: a tile is packed for every eight rows of every matrix.
        self.values.resize(blocks * PACKED_BLOCK, 0);
        self.scales.resize(blocks * TILE_ROWS, 0.0);
        let packed_blocks = self.values.chunks_exact_mut(PACKED_BLOCK);
        for (b, (packed, scales)) in packed_blocks
            .zip(self.scales.chunks_exact_mut(TILE_ROWS))
            .enumerate()
        {
            let mut block_rows: [&[u8]; TILE_ROWS] = [&[]; TILE_ROWS];
            for (block, row) in block_rows.iter_mut().zip(rows) {
                *block = &row[b * block_bytes..(b + 1) * block_bytes];
            }
            pack_block(dtype, &block_rows[..rows.len()], packed, scales);
        }
    }
}

/// Interleaves one block of up to eight rows (`blocks`) into `packed` (256 values) and decodes
/// their scales into `scales` (8). Everything is written: missing rows as zeros.
fn pack_block(dtype: GgmlType, blocks: &[&[u8]], packed: &mut [i16], scales: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        super::simd128::pack_block(dtype, blocks, packed, scales)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        packed.fill(0);
        scales.fill(0.0);
        for (r, block) in blocks.iter().enumerate() {
            scales[r] = f16_at(block);
            for (p, pair) in block_values(dtype, block).chunks_exact(2).enumerate() {
                let at = 2 * TILE_ROWS * p + 2 * r;
                packed[at] = pair[0].into();
                packed[at + 1] = pair[1].into();
            }
        }
    }
}

/// The packed tile · the first `tokens` (1 to 4) tokens of a group: `out[k][r]` = row `r` ·
/// token `k`, for all [`TILE_ROWS`] rows (padding rows give 0), and 0 for `k >= tokens`. The
/// portable kernel: per row and token, the same integer block sums added in the same f32 order
/// (`acc += sum · (dw · da)`, block by block) as the one-token scalar kernels, so the results
/// are equal to theirs bit for bit.
pub fn dot_packed_group(tile: &PackedTile, g: &TokenGroup, tokens: usize) -> [[f32; TILE_ROWS]; 4] {
    assert!((1..=4).contains(&tokens), "a group has one to four tokens");
    assert!(g.qs.len() >= tile.blocks * 4 * QK8_0 && g.scales.len() >= tile.blocks * 4);
    let mut acc = [[0f32; TILE_ROWS]; 4];
    for b in 0..tile.blocks {
        let w = &tile.values[b * PACKED_BLOCK..(b + 1) * PACKED_BLOCK];
        let dw = &tile.scales[TILE_ROWS * b..TILE_ROWS * (b + 1)];
        for (k, acc) in acc[..tokens].iter_mut().enumerate() {
            let a = &g.qs[(4 * b + k) * QK8_0..(4 * b + k + 1) * QK8_0];
            let da = g.scales[4 * b + k];
            let mut sums = [0i32; TILE_ROWS];
            for (p, pair) in w.chunks_exact(2 * TILE_ROWS).enumerate() {
                let (a0, a1) = (a[2 * p] as i32, a[2 * p + 1] as i32);
                for (s, w) in sums.iter_mut().zip(pair.chunks_exact(2)) {
                    *s += w[0] as i32 * a0 + w[1] as i32 * a1;
                }
            }
            for ((acc, &s), &d) in acc.iter_mut().zip(&sums).zip(dw) {
                *acc += s as f32 * (d * da);
            }
        }
    }
    acc
}
