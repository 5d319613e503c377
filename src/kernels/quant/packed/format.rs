//! The byte layout of one packed block (the same 32-value block of [`TILE_ROWS`] rows) in each
//! [`TileFormat`], and the portable conversions between rows' blocks and it.

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use crate::kernels::quant::kernels::block_values as values_of;
use crate::kernels::quant::kernels::QK8_0;
use crate::kernels::quant::GgmlType;

/// Rows in one packed tile: two sets of four, one `i32x4` accumulator each per token.
pub const TILE_ROWS: usize = 8;

/// Bytes of the rows' f16 scales at the start of each packed block (and of their f16
/// minimums after them, in the formats with minimums).
pub const SCALE_BYTES: usize = 2 * TILE_ROWS;

/// Bytes of one [`TileFormat::Bytes`] block: the [`TILE_ROWS`] rows' f16 scales, then their 32
/// values each. For pair `p` (the block's values `2p` and `2p + 1`) and row `r`, the two values
/// are at `SCALE_BYTES + 16 * p + 2 * r`: the "pair order" every format decodes to.
pub const TILE_BLOCK_BYTES: usize = SCALE_BYTES + QK8_0 * TILE_ROWS;

/// Bytes of the low four bits of a block's 256 values in the formats that keep them packed.
const NIBBLE_BYTES: usize = QK8_0 * TILE_ROWS / 2;

/// Bytes of the fifth bits of a block's 256 values.
const FIFTH_BIT_BYTES: usize = QK8_0 * TILE_ROWS / 8;

/// How a packed block holds its rows' values. After the eight f16 scales (and, with minimums,
/// the eight f16 minimums):
///
/// - [`TileFormat::Bytes`]: the 256 values as i8 in pair order (see [`TILE_BLOCK_BYTES`]).
/// - The others keep each value's low four bits in eight chunks of 16 bytes, read as eight
///   16-bit lanes: in chunk `c`, bits `4n..4n + 4` of lane `l` belong to the value at position
///   `32c + 8n + l` of the pair order, so four shifts and masks of one 16-byte load give four
///   vectors of the kernel's i16 operands (pairs `2c` and `2c + 1`, rows 0–3 and 4–7). Five-bit
///   values put their fifth bits first, in two 16-byte vectors: bit `4(c % 4) + n` of lane `l`
///   of vector `c / 4`, for the same value.
///
/// Every format but `Bytes` of q4_0 takes exactly the bytes of its eight rows, so a matrix is
/// packed in place ([`super::pack_in_place`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileFormat {
    /// q8_0 rows, and q4_0 rows with their nibbles unpacked (minus 8): 272 bytes per block.
    Bytes,
    /// q4_1 rows: scales, minimums, 4-bit values (0..15). 160 bytes.
    Nibbles,
    /// q5_0 rows: scales, fifth bits stored inverted, low bits; the value (−16..15) is the low
    /// bits minus 16 times the stored bit. 176 bytes.
    FiveBits,
    /// q5_1 rows: scales, minimums, fifth bits, low bits; the value (0..31) is the low bits plus
    /// 16 times the stored bit. 192 bytes.
    FiveBitsWithMinimum,
}

impl TileFormat {
    /// The format of an encoding's tiles, if it has them.
    #[inline]
    pub fn of(dtype: GgmlType) -> Option<TileFormat> {
        match dtype {
            GgmlType::Q8_0 | GgmlType::Q4_0 => Some(TileFormat::Bytes),
            GgmlType::Q4_1 => Some(TileFormat::Nibbles),
            GgmlType::Q5_0 => Some(TileFormat::FiveBits),
            GgmlType::Q5_1 => Some(TileFormat::FiveBitsWithMinimum),
            _ => None,
        }
    }

    /// Bytes of one packed block.
    #[inline]
    pub fn block_bytes(self) -> usize {
        self.values_offset()
            + match self {
                TileFormat::Bytes => QK8_0 * TILE_ROWS,
                _ => NIBBLE_BYTES,
            }
    }

    /// Whether the rows have minimums (q4_1, q5_1).
    #[inline]
    pub fn has_minimum(self) -> bool {
        matches!(self, TileFormat::Nibbles | TileFormat::FiveBitsWithMinimum)
    }

    /// The floats one block's decoded scales take: its scales, and its minimums after them.
    #[inline]
    pub fn decoded_len(self) -> usize {
        TILE_ROWS * if self.has_minimum() { 2 } else { 1 }
    }

    /// Where the fifth bits start in a block, for the five-bit formats.
    #[inline]
    pub fn fifth_bits_offset(self) -> Option<usize> {
        match self {
            TileFormat::FiveBits | TileFormat::FiveBitsWithMinimum => {
                Some(SCALE_BYTES * self.decoded_len() / TILE_ROWS)
            }
            _ => None,
        }
    }

    /// Where the values (bytes, or their low four bits) start in a block.
    #[inline]
    pub fn values_offset(self) -> usize {
        let scales = SCALE_BYTES * self.decoded_len() / TILE_ROWS;
        scales
            + match self.fifth_bits_offset() {
                Some(_) => FIFTH_BIT_BYTES,
                None => 0,
            }
    }

    /// What the stored value of a five-bit format adds to the signed value: 16 for q5_0, whose
    /// values are stored as unsigned (0..31) and read back minus 16.
    #[inline]
    fn offset(self) -> i16 {
        match self {
            TileFormat::FiveBits => 16,
            _ => 0,
        }
    }
}

/// Interleaves one block of up to eight rows (`blocks`, of `dtype`) into `packed` (the format's
/// block bytes): their f16 scales (and minimums), then their values. Everything is written:
/// missing rows as zeros (scales, minimums and values).
pub(super) fn pack_block(dtype: GgmlType, blocks: &[&[u8]], packed: &mut [u8]) {
    let format = TileFormat::of(dtype).expect("an encoding with tiles");
    let (head, values) = packed.split_at_mut(format.values_offset());
    head.fill(0);
    for (r, block) in blocks.iter().enumerate() {
        head[2 * r..2 * r + 2].copy_from_slice(&block[..2]);
        if format.has_minimum() {
            head[SCALE_BYTES + 2 * r..][..2].copy_from_slice(&block[2..4]);
        }
    }
    if format == TileFormat::Bytes {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        crate::kernels::quant::simd128::pack_block_values(dtype, blocks, values);
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        values.copy_from_slice(&pair_order(dtype, blocks).map(|v| v as u8));
        return;
    }
    // Each value as stored (q5_0's plus 16), in pair order.
    let stored = pair_order(dtype, blocks).map(|v| (i16::from(v) + format.offset()) as u16);
    let inverted = u16::from(format == TileFormat::FiveBits);
    let fifth = format.fifth_bits_offset();
    for c in 0..QK8_0 / 4 {
        for lane in 0..8 {
            let value = |n: usize| stored[32 * c + 8 * n + lane];
            let low = (0..4).fold(0u16, |w, n| w | (value(n) & 0x0F) << (4 * n));
            values[16 * c + 2 * lane..][..2].copy_from_slice(&low.to_le_bytes());
            // Merged into the bits of the other chunks of the vector (zeros above).
            if let Some(at) = fifth {
                let bits = (0..4).fold(0u16, |w, n| {
                    w | ((value(n) >> 4) ^ inverted) << (4 * (c % 4) + n)
                });
                let word = &mut head[at + 16 * (c / 4) + 2 * lane..][..2];
                let merged = u16::from_le_bytes([word[0], word[1]]) | bits;
                word.copy_from_slice(&merged.to_le_bytes());
            }
        }
    }
}

/// The values of up to eight rows' blocks (`blocks`, of `dtype`) in pair order, as
/// [`crate::kernels::quant::kernels::block_values`] gives them; missing rows are zeros.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn pair_order(dtype: GgmlType, blocks: &[&[u8]]) -> [i8; QK8_0 * TILE_ROWS] {
    let mut pairs = [0i8; QK8_0 * TILE_ROWS];
    for (r, block) in blocks.iter().enumerate() {
        for (p, pair) in values_of(dtype, block).chunks_exact(2).enumerate() {
            pairs[2 * TILE_ROWS * p + 2 * r] = pair[0];
            pairs[2 * TILE_ROWS * p + 2 * r + 1] = pair[1];
        }
    }
    pairs
}

/// [`pair_order`] in wasm: the simd128 packer's transposes, into an array.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn pair_order(dtype: GgmlType, blocks: &[&[u8]]) -> [i8; QK8_0 * TILE_ROWS] {
    let mut pairs = [0u8; QK8_0 * TILE_ROWS];
    crate::kernels::quant::simd128::pack_block_values(dtype, blocks, &mut pairs);
    pairs.map(|v| v as i8)
}

/// The 256 values of a packed block of `format` in pair order, as i8 (for the portable kernel
/// and row lookups).
pub(super) fn block_pair_values(format: TileFormat, block: &[u8]) -> [i8; QK8_0 * TILE_ROWS] {
    if format == TileFormat::Bytes {
        return std::array::from_fn(|i| block[SCALE_BYTES + i] as i8);
    }
    let lane = |at: usize, c: usize, lane: usize| {
        u16::from_le_bytes([
            block[at + 16 * c + 2 * lane],
            block[at + 16 * c + 2 * lane + 1],
        ])
    };
    // What a stored fifth bit adds: −16 in q5_0 (stored inverted), 16 in q5_1.
    let fifth_weight: i8 = if format == TileFormat::FiveBits {
        -16
    } else {
        16
    };
    let mut pairs = [0i8; QK8_0 * TILE_ROWS];
    for c in 0..QK8_0 / 4 {
        for l in 0..8 {
            let low = lane(format.values_offset(), c, l);
            let high = format
                .fifth_bits_offset()
                .map_or(0, |at| lane(at, c / 4, l) >> (4 * (c % 4)));
            for n in 0..4 {
                let bit = ((high >> n) & 1) as i8;
                pairs[32 * c + 8 * n + l] = ((low >> (4 * n)) & 0x0F) as i8 + fifth_weight * bit;
            }
        }
    }
    pairs
}
