//! wasm32 SIMD (`simd128`) versions of the q8_0 and q4_0 dot products, of the prefill
//! kernel on packed tiles ([`tiles`]), of the q4_K, q5_K and q6_K products ([`kquants`]), and
//! of the q8_0 quantization of their activations.
//!
//! Same arithmetic as [`super::kernels`]: 8-bit values widened to i16 and multiplied pairwise with
//! `i32x4.dot_i16x8_s`, one integer sum per 32-element block, scaled in f32. The one-row dot
//! products accumulate the blocks in four f32 lanes, hence the tolerance in their parity tests;
//! the tile kernels keep the portable order, bit for bit.

use core::arch::wasm32::*;

use super::kernels::{block_sum_scale, f16_at, round_to_f16, QuantizedActivations, QK8_0};
use super::packed::SCALE_BYTES;

pub mod kquants;
mod tiles;
pub use tiles::{dot_kept_group, dot_packed_group, dot_packed_group_keeping, pack_block_values};

/// The 16 bytes at the start of `p` (u8, i8, i16 or f32 values) as one vector.
#[inline(always)]
pub(super) fn load<T: Copy>(p: &[T]) -> v128 {
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

/// Σ x·y of two i8 slices (a multiple of 16 values each; the k-quants' sub-blocks), exactly
/// as the portable loop sums them.
pub fn dot_i8(x: &[i8], y: &[i8]) -> i32 {
    assert!(x.len() == y.len() && x.len() % 16 == 0);
    let mut acc = i32x4_splat(0);
    for (x, y) in x.chunks_exact(16).zip(y.chunks_exact(16)) {
        acc = i32x4_add(acc, dot16(load(x), load(y)));
    }
    i32x4_extract_lane::<0>(acc)
        + i32x4_extract_lane::<1>(acc)
        + i32x4_extract_lane::<2>(acc)
        + i32x4_extract_lane::<3>(acc)
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
pub(super) fn unpack_q4_0(block: &[u8]) -> [v128; 2] {
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

/// One block of activations quantized to q8_0 (two i8x16 vectors), its scale and its q8_1 `s`:
/// the values of [`super::kernels::quantize_block_q8_1`], bit for bit. The maximum is
/// order-free (so lanes may take it), NaNs are skipped alike (`pmax` keeps its first operand
/// unless the second is greater, as the scalar compare does), rounding is to nearest even in
/// both, the saturating narrowings give what the scalar `as i8` gives, infinities included, and
/// `s` is computed from the sum of those values as the scalar one is.
#[inline(always)]
fn quantize_block_q8_0(block: &[f32]) -> (f32, f32, [v128; 2]) {
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
    let q = [
        i8x16_narrow_i16x8(halves[0], halves[1]),
        i8x16_narrow_i16x8(halves[2], halves[3]),
    ];
    // The sum of the 32 values as narrowed (at most 32 × 127 in magnitude).
    let pairs = i16x8_add(
        i16x8_extadd_pairwise_i8x16(q[0]),
        i16x8_extadd_pairwise_i8x16(q[1]),
    );
    let quads = i32x4_extadd_pairwise_i16x8(pairs);
    let quads = i32x4_add(quads, i32x4_shuffle::<2, 3, 0, 1>(quads, quads));
    let sum = i32x4_extract_lane::<0>(quads) + i32x4_extract_lane::<1>(quads);
    (round_to_f16(d), block_sum_scale(amax, sum), q)
}

/// [`quantize_block_q8_0`] into `out[..32]`; returns the scale and `s`.
pub fn quantize_block_q8_0_i8(block: &[f32], out: &mut [i8]) -> (f32, f32) {
    let (d, s, q) = quantize_block_q8_0(block);
    store(&mut out[..16], q[0]);
    store(&mut out[16..32], q[1]);
    (d, s)
}

/// [`quantize_block_q8_0`] widened to i16 into `out[..32]`; returns the scale and `s`.
pub fn quantize_block_q8_0_i16(block: &[f32], out: &mut [i16]) -> (f32, f32) {
    let (d, s, q) = quantize_block_q8_0(block);
    store(&mut out[..8], i16x8_extend_low_i8x16(q[0]));
    store(&mut out[8..16], i16x8_extend_high_i8x16(q[0]));
    store(&mut out[16..24], i16x8_extend_low_i8x16(q[1]));
    store(&mut out[24..32], i16x8_extend_high_i8x16(q[1]));
    (d, s)
}

/// Eight floats copied as two vector loads and stores (see `quant::copy_tile_row`).
#[inline(always)]
pub fn copy_f32x8(from: &[f32; 8], to: &mut [f32; 8]) {
    store(&mut to[..4], load(&from[..4]));
    store(&mut to[4..], load(&from[4..]));
}

/// Writes one vector over the 16 bytes at the start of `p`.
#[inline(always)]
pub(super) fn store<T: Copy>(p: &mut [T], v: v128) {
    assert!(std::mem::size_of_val(p) >= 16);
    // SAFETY: 16 writable bytes checked above; wasm stores have no alignment requirement, and the
    // element types written (i8, i16, f32) accept every bit pattern.
    unsafe { (p.as_mut_ptr() as *mut v128).write_unaligned(v) }
}
