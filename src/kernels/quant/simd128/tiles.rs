//! The prefill kernel on packed tiles in simd128 ([`super::super::packed`]'s layouts), and the
//! simd128 packer of q8_0/q4_0 tiles.

use core::arch::wasm32::*;

use super::{finite_f16_to_f32x4, load, store, unpack_q4_0};
use crate::kernels::quant::kernels::{block_values, TokenGroup, QK8_0};
use crate::kernels::quant::packed::{KeptTile, Tile, TileFormat, SCALE_BYTES, TILE_ROWS};
use crate::kernels::quant::GgmlType;

/// [`packed_tokens`]' formats, as constants ([`TileFormat`] in a const generic).
const BYTES: u8 = 0;
const NIBBLES: u8 = 1;
const FIVE_BITS: u8 = 2;
const FIVE_BITS_WITH_MINIMUM: u8 = 3;

/// The [`TileFormat`] of a format constant.
const fn format_of(id: u8) -> TileFormat {
    match id {
        BYTES => TileFormat::Bytes,
        NIBBLES => TileFormat::Nibbles,
        FIVE_BITS => TileFormat::FiveBits,
        _ => TileFormat::FiveBitsWithMinimum,
    }
}

/// [`packed_tokens`]' modes: the values packed with the scales decoded in the loop (`IN_LOOP`)
/// or decoded already (`DECODED`); as `IN_LOOP`, keeping the decoded scales and the widened
/// values (`KEEP`); or the values widened and the scales decoded already (`WIDE`).
const IN_LOOP: u8 = 0;
const DECODED: u8 = 1;
const KEEP: u8 = 2;
const WIDE: u8 = 3;

/// Where [`packed_tokens`] reads a tile: its packed bytes, its values widened to i16 (`blocks`
/// × [`TILE_ROWS`] × 32, in pair order) and its decoded scales (and minimums; the format's
/// `decoded_len` per block), as its `MODE` needs.
#[derive(Clone, Copy)]
struct Source<'a> {
    packed: &'a [u8],
    wide: &'a [i16],
    scales: &'a [f32],
}

/// The packed tile · four tokens (the prefill kernel): [`crate::kernels::quant::packed::dot_packed_group`],
/// bit for bit. For each pair of a block, the pair's weights of rows 0–3 and of rows 4–7 are
/// two i16x8 vectors (from two 8-byte loads widened to i16, `v128.load8x8_s`, in a q8_0 tile;
/// from shifts and masks of the 4-bit fields in the others), and each token's pair of
/// activations is broadcast to the four lanes, so one `i32x4.dot_i16x8_s` adds the pair's
/// products to four rows' sums of one token: eight accumulators (two sets of rows × four
/// tokens), no horizontal sums. The integer sums are exact, and each lane's f32 accumulation is
/// the portable one, block by block.
///
/// `tokens` (1 to 4) of the group are multiplied, each count by its own instance of the loop:
/// a group padded to four tokens costs only its real ones.
pub fn dot_packed_group(tile: Tile<'_>, g: &TokenGroup, tokens: usize) -> [[f32; TILE_ROWS]; 4] {
    let blocks = tile.blocks();
    let no_keep = || (&mut [][..], &mut [][..]);
    let source = Source {
        packed: tile.bytes,
        wide: &[],
        scales: tile.scales.unwrap_or(&[]),
    };
    match (tile.format, tile.scales.is_some()) {
        (TileFormat::Bytes, false) => match tokens {
            1 => packed_tokens::<1, IN_LOOP, BYTES>(source, blocks, g, no_keep()),
            2 => packed_tokens::<2, IN_LOOP, BYTES>(source, blocks, g, no_keep()),
            3 => packed_tokens::<3, IN_LOOP, BYTES>(source, blocks, g, no_keep()),
            4 => packed_tokens::<4, IN_LOOP, BYTES>(source, blocks, g, no_keep()),
            _ => panic!("a group has one to four tokens, not {tokens}"),
        },
        (TileFormat::Bytes, true) => match tokens {
            1 => packed_tokens::<1, DECODED, BYTES>(source, blocks, g, no_keep()),
            2 => packed_tokens::<2, DECODED, BYTES>(source, blocks, g, no_keep()),
            3 => packed_tokens::<3, DECODED, BYTES>(source, blocks, g, no_keep()),
            4 => packed_tokens::<4, DECODED, BYTES>(source, blocks, g, no_keep()),
            _ => panic!("a group has one to four tokens, not {tokens}"),
        },
        (TileFormat::Nibbles, false) => in_loop::<NIBBLES>(source, blocks, g, tokens),
        (TileFormat::FiveBits, false) => in_loop::<FIVE_BITS>(source, blocks, g, tokens),
        (TileFormat::FiveBitsWithMinimum, false) => {
            in_loop::<FIVE_BITS_WITH_MINIMUM>(source, blocks, g, tokens)
        }
        // A scale that is not finite, which no valid model has: one instance per format, for
        // all four tokens, the padding ones cleared.
        (format, true) => {
            let mut out = match format {
                TileFormat::Nibbles => {
                    packed_tokens::<4, DECODED, NIBBLES>(source, blocks, g, no_keep())
                }
                TileFormat::FiveBits => {
                    packed_tokens::<4, DECODED, FIVE_BITS>(source, blocks, g, no_keep())
                }
                _ => packed_tokens::<4, DECODED, FIVE_BITS_WITH_MINIMUM>(
                    source,
                    blocks,
                    g,
                    no_keep(),
                ),
            };
            assert!((1..=4).contains(&tokens), "a group has one to four tokens");
            out[tokens..].iter_mut().for_each(|o| *o = [0.0; TILE_ROWS]);
            out
        }
    }
}

/// [`dot_packed_group`] of a tile of `FORMAT` whose scales are decoded in the loop.
#[inline(always)]
fn in_loop<const FORMAT: u8>(
    source: Source<'_>,
    blocks: usize,
    g: &TokenGroup,
    tokens: usize,
) -> [[f32; TILE_ROWS]; 4] {
    let no_keep = || (&mut [][..], &mut [][..]);
    match tokens {
        1 => packed_tokens::<1, IN_LOOP, FORMAT>(source, blocks, g, no_keep()),
        2 => packed_tokens::<2, IN_LOOP, FORMAT>(source, blocks, g, no_keep()),
        3 => packed_tokens::<3, IN_LOOP, FORMAT>(source, blocks, g, no_keep()),
        4 => packed_tokens::<4, IN_LOOP, FORMAT>(source, blocks, g, no_keep()),
        _ => panic!("a group has one to four tokens, not {tokens}"),
    }
}

/// [`dot_packed_group`] of a tile whose scales are not decoded yet, the first of the tile's
/// groups: it also keeps what it computes for the next ones in `kept`, each block's scales
/// (and minimums) decoded and its values widened to i16. Both come out of the kernel's loop
/// anyway: two vector stores per pair of values, two per block of scales.
pub fn dot_packed_group_keeping(
    tile: Tile<'_>,
    g: &TokenGroup,
    tokens: usize,
    kept: &mut KeptTile,
) -> [[f32; TILE_ROWS]; 4] {
    assert!(
        tile.scales.is_none(),
        "the tile's scales are decoded already"
    );
    let blocks = tile.blocks();
    kept.scales.resize(blocks * tile.format.decoded_len(), 0.0);
    kept.wide.resize(blocks * TILE_ROWS * QK8_0, 0);
    let source = Source {
        packed: tile.bytes,
        wide: &[],
        scales: &[],
    };
    let keep = (&mut kept.scales[..], &mut kept.wide[..]);
    match tile.format {
        TileFormat::Bytes => keeping::<BYTES>(source, blocks, g, tokens, keep),
        TileFormat::Nibbles => keeping::<NIBBLES>(source, blocks, g, tokens, keep),
        TileFormat::FiveBits => keeping::<FIVE_BITS>(source, blocks, g, tokens, keep),
        TileFormat::FiveBitsWithMinimum => {
            keeping::<FIVE_BITS_WITH_MINIMUM>(source, blocks, g, tokens, keep)
        }
    }
}

/// [`dot_packed_group_keeping`] of a tile of `FORMAT`.
#[inline(always)]
fn keeping<const FORMAT: u8>(
    source: Source<'_>,
    blocks: usize,
    g: &TokenGroup,
    tokens: usize,
    keep: (&mut [f32], &mut [i16]),
) -> [[f32; TILE_ROWS]; 4] {
    match tokens {
        1 => packed_tokens::<1, KEEP, FORMAT>(source, blocks, g, keep),
        2 => packed_tokens::<2, KEEP, FORMAT>(source, blocks, g, keep),
        3 => packed_tokens::<3, KEEP, FORMAT>(source, blocks, g, keep),
        4 => packed_tokens::<4, KEEP, FORMAT>(source, blocks, g, keep),
        _ => panic!("a group has one to four tokens, not {tokens}"),
    }
}

/// [`dot_packed_group`] of a tile's later groups, from what its first group kept
/// ([`dot_packed_group_keeping`]) of a tile of `format`: the values come widened, so each pair
/// is two plain loads where a q8_0 tile needs two widening loads, which V8 runs on the same
/// vector ports as the products (8 of 18 such instructions per pair become 8 of 16), and the
/// other formats shifts and masks.
pub fn dot_kept_group(
    format: TileFormat,
    kept: &KeptTile,
    g: &TokenGroup,
    tokens: usize,
) -> [[f32; TILE_ROWS]; 4] {
    let blocks = kept.scales.len() / format.decoded_len();
    let source = Source {
        packed: &[],
        wide: &kept.wide,
        scales: &kept.scales,
    };
    let no_keep = || (&mut [][..], &mut [][..]);
    // The widened values read the same in every format: only the minimums tell them apart.
    match (format.has_minimum(), tokens) {
        (false, 1) => packed_tokens::<1, WIDE, BYTES>(source, blocks, g, no_keep()),
        (false, 2) => packed_tokens::<2, WIDE, BYTES>(source, blocks, g, no_keep()),
        (false, 3) => packed_tokens::<3, WIDE, BYTES>(source, blocks, g, no_keep()),
        (false, 4) => packed_tokens::<4, WIDE, BYTES>(source, blocks, g, no_keep()),
        (true, 1) => packed_tokens::<1, WIDE, NIBBLES>(source, blocks, g, no_keep()),
        (true, 2) => packed_tokens::<2, WIDE, NIBBLES>(source, blocks, g, no_keep()),
        (true, 3) => packed_tokens::<3, WIDE, NIBBLES>(source, blocks, g, no_keep()),
        (true, 4) => packed_tokens::<4, WIDE, NIBBLES>(source, blocks, g, no_keep()),
        _ => panic!("a group has one to four tokens, not {tokens}"),
    }
}

/// [`dot_packed_group`] of the group's first `T` tokens, for a tile of `FORMAT`, reading it as
/// `MODE` says ([`Source`]); `keep` receives the decoded scales and widened values in the
/// `KEEP` mode.
#[inline(always)]
fn packed_tokens<const T: usize, const MODE: u8, const FORMAT: u8>(
    source: Source<'_>,
    blocks: usize,
    g: &TokenGroup,
    keep: (&mut [f32], &mut [i16]),
) -> [[f32; TILE_ROWS]; 4] {
    let format = format_of(FORMAT);
    let (block_bytes, decoded_len) = (format.block_bytes(), format.decoded_len());
    let minimum = format.has_minimum();
    let values_per_block = TILE_ROWS * QK8_0;
    match MODE {
        WIDE => assert!(source.wide.len() >= blocks * values_per_block),
        _ => assert!(source.packed.len() >= blocks * block_bytes),
    }
    assert!(!matches!(MODE, DECODED | WIDE) || source.scales.len() >= blocks * decoded_len);
    assert!(
        MODE != KEEP
            || (keep.0.len() >= blocks * decoded_len && keep.1.len() >= blocks * values_per_block)
    );
    assert!(g.qs.len() >= blocks * 4 * QK8_0 && g.scales.len() >= blocks * 4);
    assert!(!minimum || g.block_sums.len() >= blocks * 4);
    let (w, wide, dw) = (
        source.packed.as_ptr(),
        source.wide.as_ptr(),
        source.scales.as_ptr(),
    );
    let (keep_scales, keep_wide) = (keep.0.as_mut_ptr(), keep.1.as_mut_ptr());
    let (qa, da, sa) = (g.qs.as_ptr(), g.scales.as_ptr(), g.block_sums.as_ptr());
    // acc[k][half]: token k, rows 4·half..4·half + 4.
    let mut acc = [[f32x4_splat(0.0); 2]; T];
    for b in 0..blocks {
        // SAFETY: every pointer below stays inside the lengths asserted above for the mode:
        // block `b` of the packed tile is `block_bytes` bytes, of the widened values 256 i16,
        // of the decoded or kept scales `decoded_len` floats, of the group 4 × 32 values, 4
        // scales and 4 sums (read only with minimums); wasm loads and stores need no alignment.
        unsafe {
            // Each mode reads one of the first two and writes the third only when it keeps:
            // `wrapping_add` for the others, whose slices may be empty.
            let block = w.wrapping_add(b * block_bytes);
            let wide_b = wide.wrapping_add(b * values_per_block);
            let keep_b = keep_wide.wrapping_add(b * values_per_block);
            let qb = qa.add(b * 4 * QK8_0);
            let mut sums = [[i32x4_splat(0); 2]; T];
            if MODE == WIDE || FORMAT == BYTES {
                let wb = block.wrapping_add(SCALE_BYTES) as *const i8;
                // A rolled loop on purpose: V8 keeps one pair's loads next to their products,
                // where an unrolled block has it load everything first and spill.
                for p in 0..QK8_0 / 2 {
                    let rows = [0, 1].map(|half| match MODE {
                        WIDE => v128_load(wide_b.add(16 * p + 8 * half) as *const v128),
                        _ => i16x8_load_extend_i8x8(wb.add(16 * p + 8 * half)),
                    });
                    if MODE == KEEP {
                        v128_store(keep_b.add(16 * p) as *mut v128, rows[0]);
                        v128_store(keep_b.add(16 * p + 8) as *mut v128, rows[1]);
                    }
                    add_pair_products::<T>(&mut sums, rows, qb, 2 * p);
                }
            } else {
                let values = block.add(format.values_offset());
                let fifth = block.wrapping_add(format.fifth_bits_offset().unwrap_or(0));
                // Two pairs per 16-byte chunk of 4-bit fields.
                for c in 0..QK8_0 / 4 {
                    let v = unpack_chunk::<FORMAT>(values.add(16 * c), fifth, c);
                    if MODE == KEEP {
                        for (n, &v) in v.iter().enumerate() {
                            v128_store(keep_b.add(32 * c + 8 * n) as *mut v128, v);
                        }
                    }
                    add_pair_products::<T>(&mut sums, [v[0], v[1]], qb, 4 * c);
                    add_pair_products::<T>(&mut sums, [v[2], v[3]], qb, 4 * c + 2);
                }
            }
            // [scales of rows 0–3, 4–7, minimums of rows 0–3, 4–7] (the last two only with
            // minimums).
            let decoded: [v128; 4] = if matches!(MODE, DECODED | WIDE) {
                let at = dw.add(decoded_len * b);
                std::array::from_fn(|i| match i < 2 || minimum {
                    true => v128_load(at.add(4 * i) as *const v128),
                    false => f32x4_splat(0.0),
                })
            } else {
                // Decoded here, from the cache lines the loop above streamed in; finite, as a
                // tile without decoded scales promises ([`Tile::scales`]). Without keeping, as
                // scaled-down values ([`scaled_f16_to_f32x4`]), whose products below take the
                // activations' scales scaled up.
                let halves = if minimum { 2 } else { 1 };
                let mut decoded = [f32x4_splat(0.0); 4];
                for half in 0..halves {
                    let bits = v128_load(block.add(SCALE_BYTES * half) as *const v128);
                    // Element by element: a copy of the pair (from one of two arms) becomes a
                    // `memory.copy`, which V8 runs as a call out of wasm, once per block.
                    let [low, high] = match MODE {
                        KEEP => [
                            finite_f16_to_f32x4(u32x4_extend_low_u16x8(bits)),
                            finite_f16_to_f32x4(u32x4_extend_high_u16x8(bits)),
                        ],
                        _ => scaled_f16_to_f32x4(bits),
                    };
                    decoded[2 * half] = low;
                    decoded[2 * half + 1] = high;
                }
                if MODE == KEEP {
                    for (i, &v) in decoded[..2 * halves].iter().enumerate() {
                        v128_store(keep_scales.add(decoded_len * b + 4 * i) as *mut v128, v);
                    }
                }
                decoded
            };
            for (k, (acc, sums)) in acc.iter_mut().zip(&sums).enumerate() {
                // The activations' scales (f16 values, so scaled up they stay finite) times
                // 2¹¹², which the in-loop scales lack: the same products, bit for bit.
                let unit = |scale: f32| match MODE {
                    IN_LOOP => scale * TWO_POW_112,
                    _ => scale,
                };
                let da = f32x4_splat(unit(*da.add(4 * b + k)));
                for (half, (acc, &sum)) in acc.iter_mut().zip(sums).enumerate() {
                    let mut products =
                        f32x4_mul(f32x4_convert_i32x4(sum), f32x4_mul(decoded[half], da));
                    if minimum {
                        let sa = f32x4_splat(unit(*sa.add(4 * b + k)));
                        products = f32x4_add(products, f32x4_mul(decoded[2 + half], sa));
                    }
                    *acc = f32x4_add(*acc, products);
                }
            }
        }
    }
    // Every value is stored as a vector, the tokens past `T` as zeros that LLVM cannot see are
    // zeros: known zeros, it merges into a `memory.fill` (of the whole array, or of the rows
    // past `T`), which V8 runs as a call out of wasm, once per tile and group (in every decode
    // step, whose one group has one token).
    let zero = std::hint::black_box(f32x4_splat(0.0));
    let mut out = [[0f32; TILE_ROWS]; 4];
    for (k, out) in out.iter_mut().enumerate() {
        let halves = acc.get(k).copied().unwrap_or([zero; 2]);
        store(&mut out[..4], halves[0]);
        store(&mut out[4..], halves[1]);
    }
    out
}

/// 2¹¹²: an f16 value's magnitude bits shifted into an f32 are the value times 2⁻¹¹².
const TWO_POW_112: f32 = f32::from_bits(0x7780_0000);

/// The eight finite f16 values of `bits` as f32 times 2⁻¹¹² (rows 0–3, then 4–7): their sign,
/// and their magnitude bits shifted into an f32, in three operations per four values where
/// [`finite_f16_to_f32x4`] takes seven (the 2¹¹² multiply, a shift and the widening's).
///
/// Why that is exact: the product of such a value by an f16 activation scale times 2¹¹² (at
/// most 65504 × 2¹¹² < 2¹²⁸, so finite) is the same real number as the f16 value times the
/// activation scale, rounded once to f32 either way, normal or subnormal.
#[inline(always)]
fn scaled_f16_to_f32x4(bits: v128) -> [v128; 2] {
    let zero = u16x8_splat(0);
    // Each f16 in the upper half of its 32-bit lane: its sign at bit 31.
    let high = [
        i16x8_shuffle::<8, 0, 8, 1, 8, 2, 8, 3>(bits, zero),
        i16x8_shuffle::<8, 4, 8, 5, 8, 6, 8, 7>(bits, zero),
    ];
    // The magnitude down to bits 13–27 (exponent into the f32 exponent's low bits), the copies
    // of the sign the arithmetic shift made cleared.
    high.map(|h| v128_and(i32x4_shr(h, 3), u32x4_splat(0x8fff_ffff)))
}

/// Adds one pair's products to each token's sums: `rows` are the pair's weights of rows 0–3
/// and 4–7 (i16x8), `qb` the group's block of activations, `at` the pair's first value in the
/// block (`2p` for pair `p`: token `k`'s pair is at `32k + at`).
///
/// # Safety
/// `qb` points at a group's block of 4 × 32 i16 activations, and `at` is even and below 32.
#[inline(always)]
unsafe fn add_pair_products<const T: usize>(
    sums: &mut [[v128; 2]; T],
    rows: [v128; 2],
    qb: *const i16,
    at: usize,
) {
    for (k, sums) in sums.iter_mut().enumerate() {
        // SAFETY: as the caller promises, token k's pair lies in the group's block.
        let a = unsafe { v128_load32_splat(qb.add(QK8_0 * k + at) as *const u32) };
        for (sum, &row) in sums.iter_mut().zip(&rows) {
            *sum = i32x4_add(*sum, i32x4_dot_i16x8(row, a));
        }
    }
}

/// Chunk `c` of a packed block's 4-bit fields (at `values`) as the four i16x8 vectors of pairs
/// `2c` (rows 0–3, 4–7) and `2c + 1` (rows 0–3, 4–7), with their fifth bits (at `fifth`, the
/// block's two vectors of them) in the five-bit formats.
///
/// # Safety
/// `values` points at 16 readable bytes, and in the five-bit formats `fifth` at 32.
#[inline(always)]
unsafe fn unpack_chunk<const FORMAT: u8>(
    values: *const u8,
    fifth: *const u8,
    c: usize,
) -> [v128; 4] {
    // SAFETY: as the caller promises.
    let x = unsafe { v128_load(values as *const v128) };
    let low = u16x8_splat(0x000F);
    let fields = [
        v128_and(x, low),
        v128_and(u16x8_shr(x, 4), low),
        v128_and(u16x8_shr(x, 8), low),
        u16x8_shr(x, 12),
    ];
    if FORMAT == NIBBLES {
        return fields;
    }
    // Bits 4(c % 4)..4(c % 4) + 4 of the lanes of vector c / 4, brought to bit 4 one by one.
    // SAFETY: as the caller promises.
    let bits = unsafe { v128_load(fifth.add(16 * (c / 4)) as *const v128) };
    let bits = u16x8_shr(bits, (4 * (c % 4)) as u32);
    let sixteen = u16x8_splat(0x0010);
    let fifth = [4, 3, 2, 1].map(|shift| v128_and(i16x8_shl(bits, shift), sixteen));
    std::array::from_fn(|n| match FORMAT {
        FIVE_BITS => i16x8_sub(fields[n], fifth[n]),
        _ => v128_or(fields[n], fifth[n]),
    })
}

/// [`crate::kernels::quant::packed`]'s interleaving of the values of one block of up to eight rows
/// of a 32-value encoding into `packed` (256 bytes, pair order): each row's 32 values as two
/// i8x16 vectors (q8_0's as stored, q4_0's nibbles minus 8, the others' as
/// [`block_values`] gives them), eight pairs each, then 8 × 8 transposes of their 16-bit lanes
/// (one pair each), so that the vector of pair `p` holds that pair of rows 0–7. Missing rows are
/// zero.
pub fn pack_block_values(dtype: GgmlType, blocks: &[&[u8]], packed: &mut [u8]) {
    assert!(blocks.len() <= TILE_ROWS && packed.len() >= QK8_0 * TILE_ROWS);
    // values[half][r]: row r's pairs 8·half..8·half + 8.
    let mut values = [[i8x16_splat(0); TILE_ROWS]; 2];
    for (r, block) in blocks.iter().enumerate() {
        let [low, high] = match dtype {
            GgmlType::Q8_0 => [load(&block[2..18]), load(&block[18..34])],
            GgmlType::Q4_0 => unpack_q4_0(block),
            _ => {
                let v = block_values(dtype, block);
                [load(&v[..16]), load(&v[16..])]
            }
        };
        values[0][r] = low;
        values[1][r] = high;
    }
    for (half, rows) in values.iter().enumerate() {
        for (i, pair) in transpose_pairs(*rows).into_iter().enumerate() {
            let at = 2 * TILE_ROWS * (8 * half + i);
            store(&mut packed[at..at + 16], pair);
        }
    }
}

/// The 8 × 8 transpose of 16-bit lanes: output `p` lane `r` is input `r` lane `p`.
#[inline(always)]
fn transpose_pairs(x: [v128; 8]) -> [v128; 8] {
    let low = |a, b| i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(a, b);
    let high = |a, b| i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(a, b);
    // a[j]: rows 2j, 2j + 1 interleaved; pairs 0–3 in a[j].0, 4–7 in a[j].1.
    let a: [(v128, v128); 4] =
        std::array::from_fn(|j| (low(x[2 * j], x[2 * j + 1]), high(x[2 * j], x[2 * j + 1])));
    // b[h][q]: rows 4h..4h + 4 of pairs 2q, 2q + 1 (two 64-bit halves).
    let quads = |lo: (v128, v128), hi: (v128, v128)| {
        [
            i32x4_shuffle::<0, 4, 1, 5>(lo.0, hi.0),
            i32x4_shuffle::<2, 6, 3, 7>(lo.0, hi.0),
            i32x4_shuffle::<0, 4, 1, 5>(lo.1, hi.1),
            i32x4_shuffle::<2, 6, 3, 7>(lo.1, hi.1),
        ]
    };
    let b = [quads(a[0], a[1]), quads(a[2], a[3])];
    std::array::from_fn(|p| match p % 2 {
        0 => i64x2_shuffle::<0, 2>(b[0][p / 2], b[1][p / 2]),
        _ => i64x2_shuffle::<1, 3>(b[0][p / 2], b[1][p / 2]),
    })
}
