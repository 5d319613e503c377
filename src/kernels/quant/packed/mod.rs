//! Weight rows in the prefill kernel's layout: tiles of [`TILE_ROWS`] rows of a 32-value
//! encoding (q8_0, q4_0, q4_1, q5_0, q5_1), their values interleaved pair by pair, so that
//! eight values hold the same pair of values of four rows.
//!
//! Why: the kernel multiplies a tile by up to four tokens at once. With the rows interleaved,
//! those eight values as i16 times a broadcast pair of one token's activations give four rows'
//! partial sums in the four i32 lanes of one `i32x4.dot_i16x8_s`, so the sums build up lane by
//! lane over the block and need no horizontal reduction (which, with its shuffles and the
//! register pressure of row-major kernels, cost about as many instructions as the products
//! themselves).
//!
//! Each encoding has its [`TileFormat`]. q8_0, q4_1, q5_0 and q5_1 tiles take exactly the
//! bytes of their rows (eight rows' scales, minimums and bits, rearranged), so a model's
//! matrices in those encodings are packed once, in place, when it loads ([`pack_in_place`]): no
//! copy, and no packing per forward pass. q4_0 matrices (whose tiles hold their nibbles
//! unpacked, which takes more room) and matrices not packed when they loaded are packed per
//! product into a scratch [`PackedTile`], once per tile and read by every token group.

use super::kernels::{f16_bits_to_f32, TokenGroup, QK8_0};
use super::GgmlType;

mod format;
pub use format::{TileFormat, SCALE_BYTES, TILE_BLOCK_BYTES, TILE_ROWS};

/// A tile in the kernel's layout: `blocks` × its format's block bytes, and maybe its scales
/// decoded.
#[derive(Debug, Clone, Copy)]
pub struct Tile<'a> {
    /// How the blocks hold the rows' values.
    pub format: TileFormat,
    /// The packed blocks.
    pub bytes: &'a [u8],
    /// For block `b`: its [`TILE_ROWS`] scales decoded, then for formats with minimums its
    /// [`TILE_ROWS`] minimums, at `b * format.decoded_len()` ([`Tile::decode_scales`]); or
    /// `None` to have the kernel decode each block's scales where it reads the block. `None`
    /// promises that every scale and minimum is finite ([`Tile::scales_are_finite`]): the
    /// kernel's in-loop decoding skips the infinity and NaN cases, whose constants cost it
    /// about a tenth of its speed.
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
        self.bytes.len() / self.format.block_bytes()
    }

    /// Whether every f16 scale and minimum of the tile is finite (no infinity, no NaN).
    pub fn scales_are_finite(&self) -> bool {
        let scale_bytes = self.format.decoded_len() * 2;
        self.bytes
            .chunks_exact(self.format.block_bytes())
            .all(|block| {
                block[..scale_bytes]
                    .chunks_exact(2)
                    .all(|h| u16::from_le_bytes([h[0], h[1]]) & 0x7c00 != 0x7c00)
            })
    }

    /// Decodes the tile's f16 scales (and minimums) into `out`, in [`Tile::scales`]' layout.
    pub fn decode_scales(&self, out: &mut Vec<f32>) {
        let len = self.format.decoded_len();
        out.resize(self.blocks() * len, 0.0);
        for (block, out) in self
            .bytes
            .chunks_exact(self.format.block_bytes())
            .zip(out.chunks_exact_mut(len))
        {
            for (half, out) in out.chunks_exact_mut(TILE_ROWS).enumerate() {
                let bytes = &block[half * SCALE_BYTES..];
                #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                super::simd128::decode_block_scales(bytes, out);
                #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
                out.copy_from_slice(&block_scales(bytes));
            }
        }
    }
}

/// What the first token group's products with a tile keep for the tile's next groups: the
/// scales (and minimums) decoded ([`Tile::decode_scales`]' values) and, in wasm, the values
/// widened to i16, which the later groups read with plain loads
/// ([`super::vec_dot_packed_group_keeping`]). Reused from tile to tile.
#[derive(Debug, Clone, Default)]
pub struct KeptTile {
    /// In [`Tile::scales`]' layout.
    pub scales: Vec<f32>,
    /// For block `b`, pair `p`, rows `4h..4h + 4` (`h` 0 or 1): their two values each at
    /// `256 * b + 16 * p + 8 * h`, as i16 (the order of a q8_0 tile's values). Empty where the
    /// build's kernel does not use them.
    pub wide: Vec<i16>,
}

/// A tile packed from rows, its buffer reused from tile to tile.
#[derive(Debug, Clone, Default)]
pub struct PackedTile {
    bytes: Vec<u8>,
    scales: Vec<f32>,
}

impl PackedTile {
    /// Packs `rows` (each a whole row of a 32-value encoding, all of the same length) into this
    /// tile. Its scales come decoded when one is not finite (see [`Tile::scales`]).
    ///
    /// # Panics
    /// On more than [`TILE_ROWS`] rows, rows of different lengths or an encoding without tiles:
    /// the matmul only calls it with its own tiles of such rows.
    pub fn pack(&mut self, dtype: GgmlType, rows: &[&[u8]]) -> Tile<'_> {
        let format = TileFormat::of(dtype).expect("an encoding with tiles");
        let blocks = rows.first().map_or(0, |r| r.len() / dtype.block_bytes());
        // Every byte is written (padding included), so the buffer is only resized, never
        // cleared: a tile is packed for every eight rows of every matrix.
        self.bytes.resize(blocks * format.block_bytes(), 0);
        pack_tile(dtype, rows, &mut self.bytes);
        let mut tile = Tile {
            format,
            bytes: &self.bytes,
            scales: None,
        };
        if !tile.scales_are_finite() {
            tile.decode_scales(&mut self.scales);
            tile.scales = Some(&self.scales[..]);
        }
        tile
    }
}

/// Packs `rows` (up to [`TILE_ROWS`] whole rows of `dtype`, of the same length) into `out`
/// (their blocks × the format's block bytes). The rows a tile lacks are zero (values, scales
/// and minimums), so their products are 0.
///
/// # Panics
/// On more than [`TILE_ROWS`] rows, rows of different lengths, an encoding without tiles or an
/// `out` of another length.
pub fn pack_tile(dtype: GgmlType, rows: &[&[u8]], out: &mut [u8]) {
    assert!(rows.len() <= TILE_ROWS, "a tile holds {TILE_ROWS} rows");
    let format = TileFormat::of(dtype).expect("an encoding with tiles");
    let block_bytes = dtype.block_bytes();
    let blocks = out.len() / format.block_bytes();
    assert_eq!(out.len(), blocks * format.block_bytes());
    for row in rows {
        assert_eq!(
            row.len(),
            blocks * block_bytes,
            "tile rows differ in length"
        );
    }
    for (b, packed) in out.chunks_exact_mut(format.block_bytes()).enumerate() {
        let mut block_rows: [&[u8]; TILE_ROWS] = [&[]; TILE_ROWS];
        for (block, row) in block_rows.iter_mut().zip(rows) {
            *block = &row[b * block_bytes..(b + 1) * block_bytes];
        }
        format::pack_block(dtype, &block_rows[..rows.len()], packed);
    }
}

/// Packs the matrix `bytes` (`rows` rows of `cols` values of `dtype`) in place, tile by tile,
/// when its tiles take the bytes of its rows (q8_0, q4_1, q5_0, q5_1), and returns how many of
/// its rows are now packed: the whole tiles (all rows when `rows` is a multiple of
/// [`TILE_ROWS`]) up to the first whose scales are not all finite, which no valid model has;
/// the rows after them keep their layout (and their products take the per-product tiles,
/// which handle any scale). Other encodings are left as they are (0 rows packed).
///
/// # Panics
/// When `bytes` is not `rows` rows of `cols` values of `dtype`.
pub fn pack_in_place(dtype: GgmlType, bytes: &mut [u8], rows: usize, cols: usize) -> usize {
    let in_place = |f: &TileFormat| f.block_bytes() == TILE_ROWS * dtype.block_bytes();
    let Some(format) = TileFormat::of(dtype).filter(in_place) else {
        return 0;
    };
    let row_len = cols / QK8_0 * dtype.block_bytes();
    assert_eq!(bytes.len(), rows * row_len, "{dtype:?} matrix bytes");
    let tile_len = TILE_ROWS * row_len;
    let mut original = vec![0u8; tile_len];
    for (t, tile) in bytes.chunks_exact_mut(tile_len).enumerate() {
        original.copy_from_slice(tile);
        let rows: [&[u8]; TILE_ROWS] = std::array::from_fn(|r| &original[r * row_len..][..row_len]);
        pack_tile(dtype, &rows, tile);
        let packed = Tile {
            format,
            bytes: tile,
            scales: None,
        };
        if !packed.scales_are_finite() {
            tile.copy_from_slice(&original);
            return t * TILE_ROWS;
        }
    }
    rows / TILE_ROWS * TILE_ROWS
}

/// [`pack_in_place`] of a q8_0 matrix.
pub fn pack_q8_0_in_place(bytes: &mut [u8], rows: usize, cols: usize) -> usize {
    pack_in_place(GgmlType::Q8_0, bytes, rows, cols)
}

/// The eight f16 values at the start of `bytes`, as f32.
#[inline(always)]
fn block_scales(bytes: &[u8]) -> [f32; TILE_ROWS] {
    std::array::from_fn(|r| f16_bits_to_f32(u16::from_le_bytes([bytes[2 * r], bytes[2 * r + 1]])))
}

/// Row `r` of the packed tile `bytes` (of `format`), dequantized into `out` (`blocks` × 32
/// values), as the row's own encoding decodes: how a packed matrix's rows are looked up.
pub fn dequantize_tile_row(format: TileFormat, bytes: &[u8], r: usize, out: &mut [f32]) {
    assert!(r < TILE_ROWS);
    for (block, out) in bytes
        .chunks_exact(format.block_bytes())
        .zip(out.chunks_exact_mut(QK8_0))
    {
        let d = block_scales(block)[r];
        let values = format::block_pair_values(format, block);
        let value = |e: usize| f32::from(values[16 * (e / 2) + 2 * r + e % 2]);
        match format.has_minimum() {
            true => {
                let m = block_scales(&block[SCALE_BYTES..])[r];
                out.iter_mut()
                    .enumerate()
                    .for_each(|(e, o)| *o = d * value(e) + m);
            }
            false => out
                .iter_mut()
                .enumerate()
                .for_each(|(e, o)| *o = value(e) * d),
        }
    }
}

/// The packed tile · the first `tokens` (1 to 4) tokens of a group: `out[k][r]` = row `r` ·
/// token `k`, for all [`TILE_ROWS`] rows (padding rows give 0), and 0 for `k >= tokens`. The
/// portable kernel: per row and token, the same integer block sums added in the same f32 order
/// (`acc += sum · (dw · da)`, plus `m · s` for formats with minimums, block by block) as the
/// one-token scalar kernels, so the results are equal to theirs bit for bit.
pub fn dot_packed_group(tile: Tile<'_>, g: &TokenGroup, tokens: usize) -> [[f32; TILE_ROWS]; 4] {
    assert!((1..=4).contains(&tokens), "a group has one to four tokens");
    let (format, blocks) = (tile.format, tile.blocks());
    assert!(g.qs.len() >= blocks * 4 * QK8_0 && g.scales.len() >= blocks * 4);
    let mut acc = [[0f32; TILE_ROWS]; 4];
    for (b, block) in tile.bytes.chunks_exact(format.block_bytes()).enumerate() {
        let values = format::block_pair_values(format, block);
        // The scales, and the minimums (zeros when the format has none).
        let (dw, mw): ([f32; TILE_ROWS], [f32; TILE_ROWS]) = match tile.scales {
            Some(scales) => {
                let decoded = &scales[format.decoded_len() * b..];
                let mins = |r| {
                    if format.has_minimum() {
                        decoded[TILE_ROWS + r]
                    } else {
                        0.0
                    }
                };
                (
                    std::array::from_fn(|r| decoded[r]),
                    std::array::from_fn(mins),
                )
            }
            None => match format.has_minimum() {
                true => (block_scales(block), block_scales(&block[SCALE_BYTES..])),
                false => (block_scales(block), [0.0; TILE_ROWS]),
            },
        };
        for (k, acc) in acc[..tokens].iter_mut().enumerate() {
            let a = &g.qs[(4 * b + k) * QK8_0..(4 * b + k + 1) * QK8_0];
            let (da, sa) = (g.scales[4 * b + k], g.block_sums[4 * b + k]);
            let mut sums = [0i32; TILE_ROWS];
            for (p, pair) in values.chunks_exact(2 * TILE_ROWS).enumerate() {
                let (a0, a1) = (a[2 * p] as i32, a[2 * p + 1] as i32);
                for (s, w) in sums.iter_mut().zip(pair.chunks_exact(2)) {
                    *s += w[0] as i32 * a0 + w[1] as i32 * a1;
                }
            }
            for (r, (acc, &s)) in acc.iter_mut().zip(&sums).enumerate() {
                *acc += match format.has_minimum() {
                    true => s as f32 * (dw[r] * da) + mw[r] * sa,
                    false => s as f32 * (dw[r] * da),
                };
            }
        }
    }
    acc
}
