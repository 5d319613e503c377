//! wasm32 SIMD (`simd128`) versions of the q8_0 and q4_0 dot products, and of the q8_0
//! quantization of their activations.
//!
//! Same arithmetic as [`super::kernels`]: 8-bit values widened to i16 and multiplied pairwise with
//! `i32x4.dot_i16x8_s`, one integer sum per 32-element block, scaled in f32. Only the order of the
//! f32 block accumulation differs (4 lanes), hence the tolerance in the parity tests.

use core::arch::wasm32::*;

use super::kernels::{f16_at, round_to_f16, QuantizedActivations, TokenGroup, QK8_0};

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
        let s = i32x4_add(dot16(lo, load(&qa[..16])), dot16(hi, load(&qa[16..])));
        let d = f32x4_splat(f16_at(block) * da);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), d));
    }
    hsum(acc)
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

/// Unpacks one q4_0 block's 32 nibbles (offset by 8) to four i16x8 vectors.
#[inline(always)]
fn widen_q4_0(block: &[u8]) -> [v128; 4] {
    let q = load(&block[2..18]);
    let lo = i8x16_sub(v128_and(q, u8x16_splat(0x0F)), i8x16_splat(8));
    let hi = i8x16_sub(u8x16_shr(q, 4), i8x16_splat(8));
    [
        i16x8_extend_low_i8x16(lo),
        i16x8_extend_high_i8x16(lo),
        i16x8_extend_low_i8x16(hi),
        i16x8_extend_high_i8x16(hi),
    ]
}

/// q8_0 weights · a [`TokenGroup`] (the prefill kernel), two weight rows at a time: each weight
/// block is widened once for four tokens whose activations are already i16, and each activation
/// vector loaded once for both rows. The four tokens' block sums are reduced into one vector
/// (lane k = token k) and scaled together. `dw` holds the two rows' block scales, decoded once
/// per tile of rows ([`super::kernels::block_scales`]) rather than once per token group. Same
/// integer sums and same f32 order as the scalar kernel, row by row.
pub fn dot_q8_0_group_x2(w: [&[u8]; 2], dw: [&[f32]; 2], g: &TokenGroup) -> [[f32; 4]; 2] {
    group_x2::<34>(w, dw, g, widen_q8_0)
}

/// q4_0 weights · a [`TokenGroup`], two rows at a time (see [`dot_q8_0_group_x2`]).
pub fn dot_q4_0_group_x2(w: [&[u8]; 2], dw: [&[f32]; 2], g: &TokenGroup) -> [[f32; 4]; 2] {
    group_x2::<18>(w, dw, g, widen_q4_0)
}

/// q8_0 weights · a [`TokenGroup`], one row (the odd row of a tile).
pub fn dot_q8_0_group(w: &[u8], dw: &[f32], g: &TokenGroup) -> [f32; 4] {
    group_x1::<34>(w, dw, g, widen_q8_0)
}

/// q4_0 weights · a [`TokenGroup`], one row.
pub fn dot_q4_0_group(w: &[u8], dw: &[f32], g: &TokenGroup) -> [f32; 4] {
    group_x1::<18>(w, dw, g, widen_q4_0)
}

#[inline(always)]
fn group_x1<const BLOCK: usize>(
    w: &[u8],
    dw: &[f32],
    g: &TokenGroup,
    widen: impl Fn(&[u8]) -> [v128; 4],
) -> [f32; 4] {
    let mut acc = f32x4_splat(0.0);
    for (((block, qa), da), &d) in w
        .chunks_exact(BLOCK)
        .zip(g.qs.chunks_exact(4 * QK8_0))
        .zip(g.scales.chunks_exact(4))
        .zip(dw)
    {
        let wide = widen(block);
        let s = [0, 1, 2, 3].map(|k| {
            let a = &qa[32 * k..32 * k + 32];
            block_dot(&wide, [0, 1, 2, 3].map(|j| load(&a[8 * j..8 * j + 8])))
        });
        acc = scale_add(acc, reduce4(s), d, da);
    }
    lanes(acc)
}

#[inline(always)]
fn group_x2<const BLOCK: usize>(
    w: [&[u8]; 2],
    dw: [&[f32]; 2],
    g: &TokenGroup,
    widen: impl Fn(&[u8]) -> [v128; 4],
) -> [[f32; 4]; 2] {
    let (mut acc0, mut acc1) = (f32x4_splat(0.0), f32x4_splat(0.0));
    for (((((b0, b1), qa), da), &d0), &d1) in w[0]
        .chunks_exact(BLOCK)
        .zip(w[1].chunks_exact(BLOCK))
        .zip(g.qs.chunks_exact(4 * QK8_0))
        .zip(g.scales.chunks_exact(4))
        .zip(dw[0])
        .zip(dw[1])
    {
        let (w0, w1) = (widen(b0), widen(b1));
        let mut s0 = [i32x4_splat(0); 4];
        let mut s1 = [i32x4_splat(0); 4];
        for k in 0..4 {
            let a = &qa[32 * k..32 * k + 32];
            let x = [
                load(&a[0..8]),
                load(&a[8..16]),
                load(&a[16..24]),
                load(&a[24..32]),
            ];
            s0[k] = i32x4_add(
                i32x4_add(i32x4_dot_i16x8(w0[0], x[0]), i32x4_dot_i16x8(w0[1], x[1])),
                i32x4_add(i32x4_dot_i16x8(w0[2], x[2]), i32x4_dot_i16x8(w0[3], x[3])),
            );
            s1[k] = i32x4_add(
                i32x4_add(i32x4_dot_i16x8(w1[0], x[0]), i32x4_dot_i16x8(w1[1], x[1])),
                i32x4_add(i32x4_dot_i16x8(w1[2], x[2]), i32x4_dot_i16x8(w1[3], x[3])),
            );
        }
        acc0 = scale_add(acc0, reduce4(s0), d0, da);
        acc1 = scale_add(acc1, reduce4(s1), d1, da);
    }
    [lanes(acc0), lanes(acc1)]
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

/// Transpose-and-add: lane k of the result is the horizontal sum of `s[k]`.
#[inline(always)]
fn reduce4(s: [v128; 4]) -> v128 {
    let u01 = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(s[0], s[1]),
        i32x4_shuffle::<2, 6, 3, 7>(s[0], s[1]),
    );
    let u23 = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(s[2], s[3]),
        i32x4_shuffle::<2, 6, 3, 7>(s[2], s[3]),
    );
    i32x4_add(
        i32x4_shuffle::<0, 1, 4, 5>(u01, u23),
        i32x4_shuffle::<2, 3, 6, 7>(u01, u23),
    )
}

/// `acc + sums · (dw · da)`: four tokens' block sums scaled by the weight block's scale and each
/// token's activation scale (`da`, four of them).
#[inline(always)]
fn scale_add(acc: v128, sums: v128, dw: f32, da: &[f32]) -> v128 {
    let scale = f32x4_mul(f32x4_splat(dw), load(da));
    f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(sums), scale))
}

#[inline(always)]
fn lanes(v: v128) -> [f32; 4] {
    [
        f32x4_extract_lane::<0>(v),
        f32x4_extract_lane::<1>(v),
        f32x4_extract_lane::<2>(v),
        f32x4_extract_lane::<3>(v),
    ]
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
    // element types written (i8, i16) accept every bit pattern.
    unsafe { (p.as_mut_ptr() as *mut v128).write_unaligned(v) }
}
