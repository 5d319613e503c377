//! wasm32 SIMD (`simd128`) versions of the q8_0 and q4_0 dot products, and of the q8_0
//! quantization of their activations.
//!
//! Same arithmetic as [`super::kernels`]: 8-bit values widened to i16 and multiplied pairwise with
//! `i32x4.dot_i16x8_s`, one integer sum per 32-element block, scaled in f32. Only the order of the
//! f32 block accumulation differs (4 lanes), hence the tolerance in the parity tests.

use core::arch::wasm32::*;

use super::kernels::{f16_at, round_to_f16, QuantizedActivations, TokenGroup, QK8_0};
use super::packed::{KeptTile, Tile, SCALE_BYTES, TILE_BLOCK_BYTES, TILE_ROWS};
use super::GgmlType;

/// The 16 bytes at the start of `p` (u8, i8, i16 or f32 values) as one vector.
#[inline(always)]
fn load<T: Copy>(p: &[T]) -> v128 {
    assert!(std::mem::size_of_val(p) >= 16);
    // SAFETY: 16 readable bytes checked above; wasm loads have no alignment requirement, and
    // every bit pattern is a valid v128.
    unsafe { (p.as_ptr() as *const v128).read_unaligned() }
}

/// Σ x·y over 16 signed bytes, as 4 i32 lanes.
#[inline(always)]
fn dot16(x: v128, y: v128) -> v128 {
    i32x4_add(
        i32x4_dot_i16x8(i16x8_extend_low_i8x16(x), i16x8_extend_low_i8x16(y)),
        i32x4_dot_i16x8(i16x8_extend_high_i8x16(x), i16x8_extend_high_i8x16(y)),
    )
}

#[inline(always)]
fn hsum(v: v128) -> f32 {
    f32x4_extract_lane::<0>(v)
        + f32x4_extract_lane::<1>(v)
        + f32x4_extract_lane::<2>(v)
        + f32x4_extract_lane::<3>(v)
}

/// Eight signed bytes at the start of `p`, sign-extended to one i16x8 vector in a single
/// instruction (`v128.load8x8_s`): cheaper than a 16-byte load and the two extend halves, whose
/// high half costs V8 two instructions on x64.
#[inline(always)]
fn load_widened<T: Copy>(p: &[T]) -> v128 {
    assert!(std::mem::size_of_val(p) >= 8);
    // SAFETY: 8 readable bytes checked above; wasm loads have no alignment requirement.
    unsafe { i16x8_load_extend_i8x8(p.as_ptr() as *const i8) }
}

/// q8_0 weights · q8_0 activations.
pub fn dot_q8_0_q8_0(w: &[u8], a: &QuantizedActivations) -> f32 {
    let mut acc = f32x4_splat(0.0);
    for ((block, qa), &da) in w
        .chunks_exact(34)
        .zip(a.qs.chunks_exact(QK8_0))
        .zip(&a.scales)
    {
        let x = [0, 1, 2, 3].map(|j| load_widened(&qa[8 * j..8 * j + 8]));
        let s = block_dot(&widen_q8_0(block), x);
        let d = f32x4_splat(f16_at(block) * da);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), d));
    }
    hsum(acc)
}

/// q4_0 weights · q8_0 activations: nibbles unpacked in registers, offset by 8.
pub fn dot_q4_0_q8_0(w: &[u8], a: &QuantizedActivations) -> f32 {
    let mut acc = f32x4_splat(0.0);
    for ((block, qa), &da) in w
        .chunks_exact(18)
        .zip(a.qs.chunks_exact(QK8_0))
        .zip(&a.scales)
    {
        let [lo, hi] = unpack_q4_0(block);
        let s = i32x4_add(dot16(lo, load(&qa[..16])), dot16(hi, load(&qa[16..])));
        let d = f32x4_splat(f16_at(block) * da);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), d));
    }
    hsum(acc)
}

/// One q4_0 block's 32 values as two i8x16 vectors: its nibbles minus 8, low nibbles
/// (values 0–15) first.
#[inline(always)]
fn unpack_q4_0(block: &[u8]) -> [v128; 2] {
    let q = load(&block[2..18]);
    let eight = i8x16_splat(8);
    [
        i8x16_sub(v128_and(q, u8x16_splat(0x0F)), eight),
        i8x16_sub(u8x16_shr(q, 4), eight),
    ]
}

/// Widens one q8_0 block's 32 weights to four i16x8 vectors.
#[inline(always)]
fn widen_q8_0(block: &[u8]) -> [v128; 4] {
    [
        load_widened(&block[2..10]),
        load_widened(&block[10..18]),
        load_widened(&block[18..26]),
        load_widened(&block[26..34]),
    ]
}

/// The packed tile · four tokens (the prefill kernel): [`super::packed::dot_packed_group`],
/// bit for bit. For each pair of a block, two 8-byte loads widened to i16 (`v128.load8x8_s`)
/// hold that pair of weights of rows 0–3 and 4–7, and each token's pair of activations is
/// broadcast to the four lanes, so one `i32x4.dot_i16x8_s` adds the pair's products to four
/// rows' sums of one token: eight accumulators (two sets of rows × four tokens), no horizontal
/// sums. The integer sums are exact, and each lane's f32 accumulation is the portable one,
/// block by block.
///
/// `tokens` (1 to 4) of the group are multiplied, each count by its own instance of the loop:
/// a group padded to four tokens costs only its real ones.
pub fn dot_packed_group(tile: Tile<'_>, g: &TokenGroup, tokens: usize) -> [[f32; TILE_ROWS]; 4] {
    let source = Source {
        packed: tile.bytes,
        wide: &[],
        scales: tile.scales.unwrap_or(&[]),
    };
    let blocks = tile.blocks();
    match (tokens, tile.scales.is_some()) {
        (1, false) => packed_tokens::<1, IN_LOOP>(source, blocks, g, (&mut [], &mut [])),
        (1, true) => packed_tokens::<1, DECODED>(source, blocks, g, (&mut [], &mut [])),
        (2, false) => packed_tokens::<2, IN_LOOP>(source, blocks, g, (&mut [], &mut [])),
        (2, true) => packed_tokens::<2, DECODED>(source, blocks, g, (&mut [], &mut [])),
        (3, false) => packed_tokens::<3, IN_LOOP>(source, blocks, g, (&mut [], &mut [])),
        (3, true) => packed_tokens::<3, DECODED>(source, blocks, g, (&mut [], &mut [])),
        (4, false) => packed_tokens::<4, IN_LOOP>(source, blocks, g, (&mut [], &mut [])),
        (4, true) => packed_tokens::<4, DECODED>(source, blocks, g, (&mut [], &mut [])),
        _ => panic!("a group has one to four tokens, not {tokens}"),
    }
}

/// [`dot_packed_group`] of a tile whose scales are not decoded yet, the first of the tile's
/// groups: it also keeps what it computes for the next ones in `kept`, each block's scales
/// decoded and its values widened to i16. Both come out of the kernel's loop anyway: two vector
/// stores per pair of values, two per block of scales.
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
    kept.scales.resize(blocks * TILE_ROWS, 0.0);
    kept.wide.resize(blocks * TILE_ROWS * QK8_0, 0);
    let source = Source {
        packed: tile.bytes,
        wide: &[],
        scales: &[],
    };
    let keep = (&mut kept.scales[..], &mut kept.wide[..]);
    match tokens {
        1 => packed_tokens::<1, KEEP>(source, blocks, g, keep),
        2 => packed_tokens::<2, KEEP>(source, blocks, g, keep),
        3 => packed_tokens::<3, KEEP>(source, blocks, g, keep),
        4 => packed_tokens::<4, KEEP>(source, blocks, g, keep),
        _ => panic!("a group has one to four tokens, not {tokens}"),
    }
}

/// [`dot_packed_group`] of a tile's later groups, from what its first group kept
/// ([`dot_packed_group_keeping`]): the values come widened, so each pair is two plain loads
/// where the packed tile needs two widening loads, which V8 runs on the same vector ports as
/// the products (8 of 18 such instructions per pair become 8 of 16).
pub fn dot_kept_group(kept: &KeptTile, g: &TokenGroup, tokens: usize) -> [[f32; TILE_ROWS]; 4] {
    let blocks = kept.scales.len() / TILE_ROWS;
    let source = Source {
        packed: &[],
        wide: &kept.wide,
        scales: &kept.scales,
    };
    match tokens {
        1 => packed_tokens::<1, WIDE>(source, blocks, g, (&mut [], &mut [])),
        2 => packed_tokens::<2, WIDE>(source, blocks, g, (&mut [], &mut [])),
        3 => packed_tokens::<3, WIDE>(source, blocks, g, (&mut [], &mut [])),
        4 => packed_tokens::<4, WIDE>(source, blocks, g, (&mut [], &mut [])),
        _ => panic!("a group has one to four tokens, not {tokens}"),
    }
}

/// Where [`packed_tokens`] reads a tile: its packed bytes (the values as i8, the f16 scales),
/// its values widened to i16 (`blocks` × [`TILE_ROWS`] × 32, pair by pair as in the packed
/// block) and its decoded scales ([`TILE_ROWS`] per block), as its `MODE` needs.
#[derive(Clone, Copy)]
struct Source<'a> {
    packed: &'a [u8],
    wide: &'a [i16],
    scales: &'a [f32],
}

/// [`packed_tokens`]' modes: the values packed as i8 with the scales decoded in the loop
/// (`IN_LOOP`) or decoded already (`DECODED`); as `IN_LOOP`, keeping the decoded scales and the
/// widened values (`KEEP`); or the values widened and the scales decoded already (`WIDE`).
const IN_LOOP: u8 = 0;
const DECODED: u8 = 1;
const KEEP: u8 = 2;
const WIDE: u8 = 3;

/// [`dot_packed_group`] of the group's first `T` tokens, reading the tile as `MODE` says
/// ([`Source`]); `keep` receives the decoded scales and widened values in the `KEEP` mode.
#[inline(always)]
fn packed_tokens<const T: usize, const MODE: u8>(
    source: Source<'_>,
    blocks: usize,
    g: &TokenGroup,
    keep: (&mut [f32], &mut [i16]),
) -> [[f32; TILE_ROWS]; 4] {
    let values_per_block = TILE_ROWS * QK8_0;
    match MODE {
        WIDE => assert!(source.wide.len() >= blocks * values_per_block),
        _ => assert!(source.packed.len() >= blocks * TILE_BLOCK_BYTES),
    }
    assert!(!matches!(MODE, DECODED | WIDE) || source.scales.len() >= blocks * TILE_ROWS);
    assert!(
        MODE != KEEP
            || (keep.0.len() >= blocks * TILE_ROWS && keep.1.len() >= blocks * values_per_block)
    );
    assert!(g.qs.len() >= blocks * 4 * QK8_0 && g.scales.len() >= blocks * 4);
    let (w, wide, dw) = (
        source.packed.as_ptr(),
        source.wide.as_ptr(),
        source.scales.as_ptr(),
    );
    let (keep_scales, keep_wide) = (keep.0.as_mut_ptr(), keep.1.as_mut_ptr());
    let (qa, da) = (g.qs.as_ptr(), g.scales.as_ptr());
    // acc[k][half]: token k, rows 4·half..4·half + 4.
    let mut acc = [[f32x4_splat(0.0); 2]; T];
    for b in 0..blocks {
        // SAFETY: every pointer below stays inside the lengths asserted above for the mode:
        // block `b` of the packed tile is 272 bytes, of the widened values 256 i16, of the
        // decoded or kept scales 8 floats, of the group 4 × 32 values and 4 scales; wasm loads
        // and stores need no alignment.
        unsafe {
            // Each mode reads one of the first two and writes the third only when it keeps:
            // `wrapping_add` for the others, whose slices may be empty.
            let wb = w.wrapping_add(b * TILE_BLOCK_BYTES + SCALE_BYTES) as *const i8;
            let wide_b = wide.wrapping_add(b * values_per_block);
            let keep_b = keep_wide.wrapping_add(b * values_per_block);
            let qb = qa.add(b * 4 * QK8_0);
            let mut sums = [[i32x4_splat(0); 2]; T];
            // A rolled loop on purpose: V8 keeps one pair's loads next to their products, where
            // an unrolled block has it load everything first and spill.
            for p in 0..QK8_0 / 2 {
                let rows = [0, 1].map(|half| match MODE {
                    WIDE => v128_load(wide_b.add(16 * p + 8 * half) as *const v128),
                    _ => i16x8_load_extend_i8x8(wb.add(16 * p + 8 * half)),
                });
                if MODE == KEEP {
                    v128_store(keep_b.add(16 * p) as *mut v128, rows[0]);
                    v128_store(keep_b.add(16 * p + 8) as *mut v128, rows[1]);
                }
                for (k, sums) in sums.iter_mut().enumerate() {
                    let a = v128_load32_splat(qb.add(QK8_0 * k + 2 * p) as *const u32);
                    for (sum, &row) in sums.iter_mut().zip(&rows) {
                        *sum = i32x4_add(*sum, i32x4_dot_i16x8(row, a));
                    }
                }
            }
            let dw = if matches!(MODE, DECODED | WIDE) {
                [0, 1].map(|half| v128_load(dw.add(TILE_ROWS * b + 4 * half) as *const v128))
            } else {
                // Decoded here, from the cache lines the loop above streamed in; finite, as a
                // tile without decoded scales promises ([`Tile::scales`]).
                let bits = v128_load(w.add(b * TILE_BLOCK_BYTES) as *const v128);
                let dw = [
                    finite_f16_to_f32x4(u32x4_extend_low_u16x8(bits)),
                    finite_f16_to_f32x4(u32x4_extend_high_u16x8(bits)),
                ];
                if MODE == KEEP {
                    v128_store(keep_scales.add(TILE_ROWS * b) as *mut v128, dw[0]);
                    v128_store(keep_scales.add(TILE_ROWS * b + 4) as *mut v128, dw[1]);
                }
                dw
            };
            for (k, (acc, sums)) in acc.iter_mut().zip(&sums).enumerate() {
                let da = f32x4_splat(*da.add(4 * b + k));
                for ((acc, &sum), &dw) in acc.iter_mut().zip(sums).zip(&dw) {
                    let products = f32x4_mul(f32x4_convert_i32x4(sum), f32x4_mul(dw, da));
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

/// [`super::packed`]'s interleaving of the values of one block of up to eight q8_0/q4_0 rows
/// into `packed` (256 bytes): each row's 32 values as two i8x16 vectors (q4_0 nibbles unpacked,
/// minus 8), eight pairs each, then 8 × 8 transposes of their 16-bit lanes (one pair each), so
/// that the vector of pair `p` holds that pair of rows 0–7. Missing rows are zero.
pub fn pack_block_values(dtype: GgmlType, blocks: &[&[u8]], packed: &mut [u8]) {
    assert!(blocks.len() <= TILE_ROWS && packed.len() >= QK8_0 * TILE_ROWS);
    // values[half][r]: row r's pairs 8·half..8·half + 8.
    let mut values = [[i8x16_splat(0); TILE_ROWS]; 2];
    for (r, block) in blocks.iter().enumerate() {
        let [low, high] = match dtype {
            GgmlType::Q8_0 => [load(&block[2..18]), load(&block[18..34])],
            _ => unpack_q4_0(block),
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

/// The eight f16 scales at the start of a packed block as f32, into `out[..8]`.
pub fn decode_block_scales(block: &[u8], out: &mut [f32]) {
    let bits = load(&block[..SCALE_BYTES]);
    store(&mut out[..4], f16_to_f32x4(u32x4_extend_low_u16x8(bits)));
    store(&mut out[4..8], f16_to_f32x4(u32x4_extend_high_u16x8(bits)));
}

/// Four f16 values (the low 16 bits of each u32 lane) as f32, exactly as
/// [`super::kernels::f16_bits_to_f32`] converts one: the magnitude shifted into an f32 and
/// multiplied by 2¹¹² for finite values, and `half`'s bits for infinities and NaNs (quiet bit
/// set, payload kept).
#[inline(always)]
pub fn f16_to_f32x4(h: v128) -> v128 {
    let magnitude = v128_and(h, u32x4_splat(0x7fff));
    let sign = i32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16);
    let finite = f32x4_mul(
        i32x4_shl(magnitude, 13),
        f32x4_splat(f32::from_bits(0x7780_0000)),
    );
    let mantissa = v128_and(h, u32x4_splat(0x03ff));
    let quiet = v128_andnot(u32x4_splat(0x0040_0000), i32x4_eq(mantissa, u32x4_splat(0)));
    let special = v128_or(
        v128_or(u32x4_splat(0x7f80_0000), i32x4_shl(mantissa, 13)),
        quiet,
    );
    let is_special = u32x4_ge(magnitude, u32x4_splat(0x7c00));
    v128_or(v128_bitselect(special, finite, is_special), sign)
}

/// [`f16_to_f32x4`] for finite f16 values (the low 16 bits of each u32 lane): the magnitude
/// shifted into an f32 and multiplied by 2¹¹², and the sign put back. Equal to it on all 63,488
/// finite patterns (tested); its three operations fewer and no constants beside 2¹¹² keep the
/// prefill kernel's accumulators in registers.
#[inline(always)]
pub fn finite_f16_to_f32x4(h: v128) -> v128 {
    let magnitude = u32x4_shr(i32x4_shl(h, 17), 4);
    let sign = i32x4_shl(u32x4_shr(h, 15), 31);
    v128_or(
        f32x4_mul(magnitude, f32x4_splat(f32::from_bits(0x7780_0000))),
        sign,
    )
}

/// Σ over one block (32 values) of one token, given its four widened weight vectors and four
/// i16x8 activation vectors: 4 i32 lanes.
#[inline(always)]
fn block_dot(wide: &[v128; 4], x: [v128; 4]) -> v128 {
    i32x4_add(
        i32x4_add(
            i32x4_dot_i16x8(wide[0], x[0]),
            i32x4_dot_i16x8(wide[1], x[1]),
        ),
        i32x4_add(
            i32x4_dot_i16x8(wide[2], x[2]),
            i32x4_dot_i16x8(wide[3], x[3]),
        ),
    )
}

/// One block of activations quantized to q8_0 (two i8x16 vectors) and its scale: the values of
/// [`super::kernels::quantize_block_q8_0`], bit for bit. The maximum is order-free (so lanes may
/// take it), NaNs are skipped alike (`pmax` keeps its first operand unless the second is
/// greater, as the scalar compare does), rounding is to nearest even in both, and the
/// saturating narrowings give what the scalar `as i8` gives, infinities included.
#[inline(always)]
fn quantize_block_q8_0(block: &[f32]) -> (f32, [v128; 2]) {
    let block = &block[..QK8_0];
    let v: [v128; 8] = std::array::from_fn(|i| load(&block[4 * i..4 * i + 4]));
    let mut m = f32x4_splat(0.0);
    for x in v {
        m = f32x4_pmax(m, f32x4_abs(x));
    }
    m = f32x4_pmax(m, i32x4_shuffle::<2, 3, 0, 1>(m, m));
    m = f32x4_pmax(m, i32x4_shuffle::<1, 0, 3, 2>(m, m));
    let amax = f32x4_extract_lane::<0>(m);
    let d = amax / 127.0;
    let id = f32x4_splat(if amax != 0.0 { 127.0 / amax } else { 0.0 });
    let q = v.map(|x| i32x4_trunc_sat_f32x4(f32x4_nearest(f32x4_mul(x, id))));
    let halves = [
        i16x8_narrow_i32x4(q[0], q[1]),
        i16x8_narrow_i32x4(q[2], q[3]),
        i16x8_narrow_i32x4(q[4], q[5]),
        i16x8_narrow_i32x4(q[6], q[7]),
    ];
    (
        round_to_f16(d),
        [
            i8x16_narrow_i16x8(halves[0], halves[1]),
            i8x16_narrow_i16x8(halves[2], halves[3]),
        ],
    )
}

/// [`quantize_block_q8_0`] into `out[..32]`; returns the scale.
pub fn quantize_block_q8_0_i8(block: &[f32], out: &mut [i8]) -> f32 {
    let (d, q) = quantize_block_q8_0(block);
    store(&mut out[..16], q[0]);
    store(&mut out[16..32], q[1]);
    d
}

/// [`quantize_block_q8_0`] widened to i16 into `out[..32]`; returns the scale.
pub fn quantize_block_q8_0_i16(block: &[f32], out: &mut [i16]) -> f32 {
    let (d, q) = quantize_block_q8_0(block);
    store(&mut out[..8], i16x8_extend_low_i8x16(q[0]));
    store(&mut out[8..16], i16x8_extend_high_i8x16(q[0]));
    store(&mut out[16..24], i16x8_extend_low_i8x16(q[1]));
    store(&mut out[24..32], i16x8_extend_high_i8x16(q[1]));
    d
}

/// Eight floats copied as two vector loads and stores (see `quant::copy_tile_row`).
#[inline(always)]
pub fn copy_f32x8(from: &[f32; 8], to: &mut [f32; 8]) {
    store(&mut to[..4], load(&from[..4]));
    store(&mut to[4..], load(&from[4..]));
}

/// Writes one vector over the 16 bytes at the start of `p`.
#[inline(always)]
fn store<T: Copy>(p: &mut [T], v: v128) {
    assert!(std::mem::size_of_val(p) >= 16);
    // SAFETY: 16 writable bytes checked above; wasm stores have no alignment requirement, and the
    // element types written (i8, i16, f32) accept every bit pattern.
    unsafe { (p.as_mut_ptr() as *mut v128).write_unaligned(v) }
}
