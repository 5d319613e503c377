//! wasm32 SIMD (`simd128`) versions of the q8_0 and q4_0 dot products, and of the q8_0
//! quantization of their activations.
//!
//! Same arithmetic as [`super::kernels`]: 8-bit values widened to i16 and multiplied pairwise with
//! `i32x4.dot_i16x8_s`, one integer sum per 32-element block, scaled in f32. Only the order of the
//! f32 block accumulation differs (4 lanes), hence the tolerance in the parity tests.

use core::arch::wasm32::*;

use super::kernels::{f16_at, round_to_f16, QuantizedActivations, TokenGroup, QK8_0};
use super::packed::{PackedTile, TILE_ROWS};
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
/// bit for bit. For each pair of a block, two 16-byte loads hold that pair of weights of rows
/// 0–3 and 4–7 (widened when packed), and each token's pair of activations is broadcast to the
/// four lanes, so one `i32x4.dot_i16x8_s` adds the pair's products to four rows' sums of one
/// token: eight accumulators (two sets of rows × four tokens), no horizontal sums. The integer
/// sums are exact, and each lane's f32 accumulation is the portable one, block by block.
///
/// `tokens` (1 to 4) of the group are multiplied, each count by its own instance of the loop:
/// a group padded to four tokens costs only its real ones.
pub fn dot_packed_group(tile: &PackedTile, g: &TokenGroup, tokens: usize) -> [[f32; TILE_ROWS]; 4] {
    match tokens {
        1 => packed_tokens::<1>(tile, g),
        2 => packed_tokens::<2>(tile, g),
        3 => packed_tokens::<3>(tile, g),
        4 => packed_tokens::<4>(tile, g),
        _ => panic!("a group has one to four tokens, not {tokens}"),
    }
}

/// [`dot_packed_group`] of the group's first `T` tokens.
#[inline(always)]
fn packed_tokens<const T: usize>(tile: &PackedTile, g: &TokenGroup) -> [[f32; TILE_ROWS]; 4] {
    let blocks = tile.blocks;
    assert!(tile.values.len() >= blocks * QK8_0 * TILE_ROWS);
    assert!(tile.scales.len() >= blocks * TILE_ROWS);
    assert!(g.qs.len() >= blocks * 4 * QK8_0 && g.scales.len() >= blocks * 4);
    let (w, dw) = (tile.values.as_ptr(), tile.scales.as_ptr());
    let (qa, da) = (g.qs.as_ptr(), g.scales.as_ptr());
    // acc[k][half]: token k, rows 4·half..4·half + 4.
    let mut acc = [[f32x4_splat(0.0); 2]; T];
    for b in 0..blocks {
        // SAFETY: every pointer below stays inside the lengths asserted above: block `b` of the
        // tile is 256 values and 8 scales, of the group 4 × 32 values and 4 scales; wasm loads
        // need no alignment.
        unsafe {
            let wb = w.add(b * QK8_0 * TILE_ROWS);
            let qb = qa.add(b * 4 * QK8_0);
            let mut sums = [[i32x4_splat(0); 2]; T];
            // A rolled loop on purpose: V8 keeps one pair's loads next to their products, where
            // an unrolled block has it load everything first and spill.
            for p in 0..QK8_0 / 2 {
                let rows = [0, 1].map(|half| v128_load(wb.add(16 * p + 8 * half) as *const v128));
                for (k, sums) in sums.iter_mut().enumerate() {
                    let a = v128_load32_splat(qb.add(QK8_0 * k + 2 * p) as *const u32);
                    for (sum, &row) in sums.iter_mut().zip(&rows) {
                        *sum = i32x4_add(*sum, i32x4_dot_i16x8(row, a));
                    }
                }
            }
            let dw = [0, 1].map(|half| v128_load(dw.add(TILE_ROWS * b + 4 * half) as *const v128));
            for (k, (acc, sums)) in acc.iter_mut().zip(&sums).enumerate() {
                let da = f32x4_splat(*da.add(4 * b + k));
                for ((acc, &sum), &dw) in acc.iter_mut().zip(sums).zip(&dw) {
                    let products = f32x4_mul(f32x4_convert_i32x4(sum), f32x4_mul(dw, da));
                    *acc = f32x4_add(*acc, products);
                }
            }
        }
    }
    let mut out = [[0f32; TILE_ROWS]; 4];
    for (out, acc) in out.iter_mut().zip(&acc) {
        store(&mut out[..4], acc[0]);
        store(&mut out[4..], acc[1]);
    }
    out
}

/// [`super::packed`]'s interleaving of one block of up to eight q8_0/q4_0 rows: each row's 32
/// values widened to four i16x8 vectors (q4_0 nibbles unpacked, minus 8), then 4 × 4 transposes
/// of their 32-bit lanes (one pair each), so that the vectors of pair `p` hold that pair of rows
/// 0–3 and 4–7. The eight f16 scales are decoded together ([`f16_to_f32x4`]). Missing rows are
/// zero.
pub fn pack_block(dtype: GgmlType, blocks: &[&[u8]], packed: &mut [i16], scales: &mut [f32]) {
    assert!(blocks.len() <= TILE_ROWS && packed.len() >= QK8_0 * TILE_ROWS);
    assert!(scales.len() >= TILE_ROWS);
    let mut bits = [0u16; TILE_ROWS];
    for (bits, block) in bits.iter_mut().zip(blocks) {
        *bits = u16::from_le_bytes([block[0], block[1]]);
    }
    let bits = load(&bits);
    store(&mut scales[..4], f16_to_f32x4(u32x4_extend_low_u16x8(bits)));
    store(
        &mut scales[4..],
        f16_to_f32x4(u32x4_extend_high_u16x8(bits)),
    );
    // wide[r][j]: row r's pairs 4j..4j + 4 as i16, one pair per 32-bit lane.
    let mut wide = [[i16x8_splat(0); 4]; TILE_ROWS];
    for (wide, block) in wide.iter_mut().zip(blocks) {
        *wide = match dtype {
            GgmlType::Q8_0 => widen_q8_0(block),
            _ => {
                let [low, high] = unpack_q4_0(block);
                [
                    i16x8_extend_low_i8x16(low),
                    i16x8_extend_high_i8x16(low),
                    i16x8_extend_low_i8x16(high),
                    i16x8_extend_high_i8x16(high),
                ]
            }
        };
    }
    for (half, rows) in wide.chunks_exact(4).enumerate() {
        let columns = rows[0].iter().zip(&rows[1]).zip(&rows[2]).zip(&rows[3]);
        for (j, (((&r0, &r1), &r2), &r3)) in columns.enumerate() {
            for (i, pair) in transpose_lanes([r0, r1, r2, r3]).into_iter().enumerate() {
                let at = 2 * TILE_ROWS * (4 * j + i) + 8 * half;
                store(&mut packed[at..at + 8], pair);
            }
        }
    }
}

/// The 4 × 4 transpose of 32-bit lanes: output `p` lane `r` is input `r` lane `p`.
#[inline(always)]
fn transpose_lanes(x: [v128; 4]) -> [v128; 4] {
    let a0 = i32x4_shuffle::<0, 4, 1, 5>(x[0], x[1]);
    let a1 = i32x4_shuffle::<2, 6, 3, 7>(x[0], x[1]);
    let a2 = i32x4_shuffle::<0, 4, 1, 5>(x[2], x[3]);
    let a3 = i32x4_shuffle::<2, 6, 3, 7>(x[2], x[3]);
    [
        i64x2_shuffle::<0, 2>(a0, a2),
        i64x2_shuffle::<1, 3>(a0, a2),
        i64x2_shuffle::<0, 2>(a1, a3),
        i64x2_shuffle::<1, 3>(a1, a3),
    ]
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

/// Writes one vector over the 16 bytes at the start of `p`.
#[inline(always)]
fn store<T: Copy>(p: &mut [T], v: v128) {
    assert!(std::mem::size_of_val(p) >= 16);
    // SAFETY: 16 writable bytes checked above; wasm stores have no alignment requirement, and the
    // element types written (i8, i16, f32) accept every bit pattern.
    unsafe { (p.as_mut_ptr() as *mut v128).write_unaligned(v) }
}
