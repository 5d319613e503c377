//! wasm32 SIMD (`simd128`) versions of the q8_0 and q4_0 dot products.
//!
//! Same arithmetic as [`super::kernels`]: 8-bit values widened to i16 and multiplied pairwise with
//! `i32x4.dot_i16x8_s`, one integer sum per 32-element block, scaled in f32. Only the order of the
//! f32 block accumulation differs (4 lanes), hence the tolerance in the parity tests.

use core::arch::wasm32::*;

use super::kernels::{f16_at, QuantizedActivations, QK8_0};

#[inline(always)]
fn load(p: &[u8]) -> v128 {
    assert!(p.len() >= 16);
    // SAFETY: 16 readable bytes checked above; wasm loads have no alignment requirement.
    unsafe { (p.as_ptr() as *const v128).read_unaligned() }
}

#[inline(always)]
fn load_i8(p: &[i8]) -> v128 {
    assert!(p.len() >= 16);
    // SAFETY: as in `load`.
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

/// q8_0 weights · q8_0 activations.
pub fn dot_q8_0_q8_0(w: &[u8], a: &QuantizedActivations) -> f32 {
    let mut acc = f32x4_splat(0.0);
    for ((block, qa), &da) in w
        .chunks_exact(34)
        .zip(a.qs.chunks_exact(QK8_0))
        .zip(&a.scales)
    {
        let s = i32x4_add(
            dot16(load(&block[2..18]), load_i8(&qa[..16])),
            dot16(load(&block[18..34]), load_i8(&qa[16..])),
        );
        let d = f32x4_splat(f16_at(block) * da);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), d));
    }
    hsum(acc)
}

/// q4_0 weights · q8_0 activations: nibbles unpacked in registers, offset by 8.
pub fn dot_q4_0_q8_0(w: &[u8], a: &QuantizedActivations) -> f32 {
    let mut acc = f32x4_splat(0.0);
    let mask = u8x16_splat(0x0F);
    let eight = i8x16_splat(8);
    for ((block, qa), &da) in w
        .chunks_exact(18)
        .zip(a.qs.chunks_exact(QK8_0))
        .zip(&a.scales)
    {
        let q = load(&block[2..18]);
        let lo = i8x16_sub(v128_and(q, mask), eight);
        let hi = i8x16_sub(u8x16_shr(q, 4), eight);
        let s = i32x4_add(dot16(lo, load_i8(&qa[..16])), dot16(hi, load_i8(&qa[16..])));
        let d = f32x4_splat(f16_at(block) * da);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), d));
    }
    hsum(acc)
}

/// q8_0 weights · four q8_0 activation rows: each weight block is loaded, widened and its scale
/// decoded once for four tokens (the prefill tile).
pub fn dot_q8_0_q8_0_x4(w: &[u8], a: [&QuantizedActivations; 4]) -> [f32; 4] {
    let mut acc = [f32x4_splat(0.0); 4];
    for (b, block) in w.chunks_exact(34).enumerate() {
        let (w0, w1) = (load(&block[2..18]), load(&block[18..34]));
        let wide = [
            i16x8_extend_low_i8x16(w0),
            i16x8_extend_high_i8x16(w0),
            i16x8_extend_low_i8x16(w1),
            i16x8_extend_high_i8x16(w1),
        ];
        accumulate_x4(&mut acc, &wide, f16_at(block), a, b);
    }
    acc.map(hsum)
}

/// q4_0 weights · four q8_0 activation rows (nibbles unpacked once per block for four tokens).
pub fn dot_q4_0_q8_0_x4(w: &[u8], a: [&QuantizedActivations; 4]) -> [f32; 4] {
    let mut acc = [f32x4_splat(0.0); 4];
    let mask = u8x16_splat(0x0F);
    let eight = i8x16_splat(8);
    for (b, block) in w.chunks_exact(18).enumerate() {
        let q = load(&block[2..18]);
        let lo = i8x16_sub(v128_and(q, mask), eight);
        let hi = i8x16_sub(u8x16_shr(q, 4), eight);
        let wide = [
            i16x8_extend_low_i8x16(lo),
            i16x8_extend_high_i8x16(lo),
            i16x8_extend_low_i8x16(hi),
            i16x8_extend_high_i8x16(hi),
        ];
        accumulate_x4(&mut acc, &wide, f16_at(block), a, b);
    }
    acc.map(hsum)
}

/// Adds block `b` of four activation rows against one widened weight block (32 values as 4 i16x8).
#[inline(always)]
fn accumulate_x4(
    acc: &mut [v128; 4],
    wide: &[v128; 4],
    dw: f32,
    a: [&QuantizedActivations; 4],
    b: usize,
) {
    for (acc, a) in acc.iter_mut().zip(a) {
        let qa = &a.qs[b * QK8_0..(b + 1) * QK8_0];
        let (a0, a1) = (load_i8(&qa[..16]), load_i8(&qa[16..]));
        let s = i32x4_add(
            i32x4_add(
                i32x4_dot_i16x8(wide[0], i16x8_extend_low_i8x16(a0)),
                i32x4_dot_i16x8(wide[1], i16x8_extend_high_i8x16(a0)),
            ),
            i32x4_add(
                i32x4_dot_i16x8(wide[2], i16x8_extend_low_i8x16(a1)),
                i32x4_dot_i16x8(wide[3], i16x8_extend_high_i8x16(a1)),
            ),
        );
        *acc = f32x4_add(
            *acc,
            f32x4_mul(f32x4_convert_i32x4(s), f32x4_splat(dw * a.scales[b])),
        );
    }
}
