//! simd128 products of q4_K, q5_K and q6_K rows with q8_K activations, for one token (decode) or
//! many (prefill), equal to [`crate::kernels::quant::kquants`]' portable dots bit for bit.
//!
//! Why a kernel of its own: the portable dot unpacks each super-block with scalar loops, value by
//! value, for every token it multiplies; V8 runs that several times slower than the products
//! themselves (the q4_K and q6_K matrices of Gemma 3's Q4_K_M file took about half its decode
//! step). Here a super-block is unpacked with vector shifts and masks, once per row for all the
//! tokens, and its sub-blocks' integer dots run for up to four tokens per load of the weights.
//!
//! Bit for bit: every sum before the last step is an integer sum (exact in any order; the
//! largest, 63 × 32 × 63 × 128 per sub-block, is far from overflowing), and each super-block's
//! f32 term is computed and added to the row's sum exactly as the portable loop does, super-block
//! by super-block.

use core::arch::wasm32::*;

use super::{load, store};
use crate::kernels::quant::kernels::{f16_at, QuantizedActivations, QK_K};
use crate::kernels::quant::GgmlType;

/// Tokens whose products share one pass over a super-block's values.
const TOKENS: usize = 4;

/// One super-block unpacked: its values in element order (as the portable `unpack_q*k` gives
/// them), each sub-block's integer scale and minimum (0 without minimums), and the super-block's
/// f16 scales as f32.
struct SuperBlock<const SUB: usize> {
    q: [i8; QK_K],
    scales: [i32; SUB],
    mins: [i32; SUB],
    d: f32,
    dmin: f32,
}

impl<const SUB: usize> SuperBlock<SUB> {
    fn new() -> Self {
        SuperBlock {
            q: [0; QK_K],
            scales: [0; SUB],
            mins: [0; SUB],
            d: 0.0,
            dmin: 0.0,
        }
    }
}

/// Whether [`dot_rows_tokens`] takes rows of `dtype`.
#[inline]
pub fn has_kernel(dtype: GgmlType) -> bool {
    matches!(dtype, GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K)
}

/// The products of the rows in `rows` (whole rows of `row_len` bytes of `dtype`) with each token's
/// q8_K activations `acts`: `write(t, r, value)` for token `t` and row `r` (counted from the first
/// of `rows`), each value equal to [`crate::kernels::quant::kquants::dot_portable`]'s.
///
/// # Panics
/// When [`has_kernel`] is false for `dtype`, or the activations are shorter than the rows.
pub fn dot_rows_tokens(
    dtype: GgmlType,
    rows: &[u8],
    row_len: usize,
    acts: &[QuantizedActivations],
    write: impl FnMut(usize, usize, f32),
) {
    match dtype {
        GgmlType::Q4K => rows_tokens::<8, true>(rows, row_len, 144, acts, unpack_q4k, write),
        GgmlType::Q5K => rows_tokens::<8, true>(rows, row_len, 176, acts, unpack_q5k, write),
        GgmlType::Q6K => rows_tokens::<16, false>(rows, row_len, 210, acts, unpack_q6k, write),
        other => panic!("no simd128 k-quant kernel for {other:?}"),
    }
}

/// [`dot_rows_tokens`] for super-blocks of `block_bytes` with `SUB` sub-blocks, with minimums
/// when `MIN`, unpacked by `unpack`.
#[inline(always)]
fn rows_tokens<const SUB: usize, const MIN: bool>(
    rows: &[u8],
    row_len: usize,
    block_bytes: usize,
    acts: &[QuantizedActivations],
    unpack: impl Fn(&[u8], &mut SuperBlock<SUB>),
    mut write: impl FnMut(usize, usize, f32),
) {
    let blocks = row_len / block_bytes;
    for a in acts {
        assert!(a.qs.len() >= blocks * QK_K && a.scales.len() >= blocks);
        assert!(a.bsums.len() >= blocks * QK_K / 16);
    }
    let mut sb = SuperBlock::<SUB>::new();
    // Each token's sum for the current row, in the portable loop's order: on the stack for a
    // decode step (this runs once per tile of rows), on the heap for a long prefill.
    let (mut stack, mut heap) = ([0f32; 16], Vec::new());
    let acc: &mut [f32] = match acts.len() <= stack.len() {
        true => &mut stack[..acts.len()],
        false => {
            heap.resize(acts.len(), 0.0);
            &mut heap
        }
    };
    for (r, row) in rows.chunks_exact(row_len).enumerate() {
        for acc in acc.iter_mut() {
            // A store per token (a decode step has one), where `fill` is a `memset` call.
            *std::hint::black_box(acc) = 0.0;
        }
        for (b, block) in row.chunks_exact(block_bytes).enumerate() {
            unpack(block, &mut sb);
            for (acts, acc) in acts.chunks(TOKENS).zip(acc.chunks_mut(TOKENS)) {
                let sums = match acts.len() {
                    1 => block_sums::<SUB, MIN, 1>(&sb, acts, b),
                    2 => block_sums::<SUB, MIN, 2>(&sb, acts, b),
                    3 => block_sums::<SUB, MIN, 3>(&sb, acts, b),
                    _ => block_sums::<SUB, MIN, 4>(&sb, acts, b),
                };
                for ((acc, a), (sumi, summ)) in acc.iter_mut().zip(acts).zip(sums) {
                    let da = a.scales[b];
                    // The portable `dot`'s expression, term for term.
                    *acc += match MIN {
                        true => sb.d * da * sumi as f32 - sb.dmin * da * summ as f32,
                        false => sb.d * da * sumi as f32,
                    };
                }
            }
        }
        for (t, &value) in acc.iter().enumerate() {
            write(t, r, value);
        }
    }
}

/// For the first `T` tokens of `acts` and super-block `b`: Σ scale·Σ q·qa over the sub-blocks,
/// and Σ min·Σ qa (0 without minimums). Each sub-block's weights are widened once for all `T`
/// tokens.
#[inline(always)]
fn block_sums<const SUB: usize, const MIN: bool, const T: usize>(
    sb: &SuperBlock<SUB>,
    acts: &[QuantizedActivations],
    b: usize,
) -> [(i32, i32); TOKENS] {
    let len = QK_K / SUB;
    // The super-block's activations of each token (bounds checked here once, not per load).
    let qa: [*const i8; T] = std::array::from_fn(|k| acts[k].qs[b * QK_K..][..QK_K].as_ptr());
    let q = sb.q.as_ptr();
    let mut sumi = [i32x4_splat(0); T];
    for j in 0..SUB {
        let mut s = [i32x4_splat(0); T];
        for at in (len * j..len * (j + 1)).step_by(8) {
            // SAFETY: `at + 8 <= QK_K`, within the super-block's values and each token's
            // activations; wasm loads need no alignment.
            let w = unsafe { i16x8_load_extend_i8x8(q.add(at)) };
            for (s, &qa) in s.iter_mut().zip(&qa) {
                let a = unsafe { i16x8_load_extend_i8x8(qa.add(at)) };
                *s = i32x4_add(*s, i32x4_dot_i16x8(w, a));
            }
        }
        let scale = i32x4_splat(sb.scales[j]);
        for (sumi, s) in sumi.iter_mut().zip(s) {
            *sumi = i32x4_add(*sumi, i32x4_mul(s, scale));
        }
    }
    let mut out = [(0, 0); TOKENS];
    for ((out, sumi), a) in out.iter_mut().zip(sumi).zip(acts) {
        let summ = match MIN {
            true => {
                let bsums = &a.bsums[b * QK_K / 16..(b + 1) * QK_K / 16];
                let per_sub = len / 16;
                (0..SUB)
                    .map(|j| {
                        let groups = &bsums[j * per_sub..(j + 1) * per_sub];
                        sb.mins[j] * groups.iter().sum::<i32>()
                    })
                    .sum::<i32>()
            }
            false => 0,
        };
        *out = (hsum_i32(sumi), summ);
    }
    out
}

/// The sum of four i32 lanes (wrapping, as the integer sums never overflow).
#[inline(always)]
fn hsum_i32(v: v128) -> i32 {
    let v = i32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    let v = i32x4_add(v, i32x4_shuffle::<1, 0, 3, 2>(v, v));
    i32x4_extract_lane::<0>(v)
}

/// The 6-bit scales and minimums of a q4_K or q5_K super-block (`get_scale_min_k4`) from its 12
/// bytes `s`.
#[inline(always)]
fn scales_mins_k4(s: &[u8], sb: &mut SuperBlock<8>) {
    let s = &s[..12];
    for j in 0..8 {
        let (scale, min) = match j < 4 {
            true => (s[j] & 63, s[j + 4] & 63),
            false => (
                (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4),
                (s[j + 4] >> 4) | ((s[j] >> 6) << 4),
            ),
        };
        sb.scales[j] = i32::from(scale);
        sb.mins[j] = i32::from(min);
    }
}

/// q4_K (144 bytes: d, dmin, 12 bytes of scales and minimums, 128 of nibbles): value `64j + l`
/// is the low nibble of byte `32j + l`, value `64j + 32 + l` its high nibble.
#[inline(always)]
fn unpack_q4k(block: &[u8], sb: &mut SuperBlock<8>) {
    let qs = &block[16..144];
    let low = u8x16_splat(0x0F);
    for j in 0..4 {
        for h in 0..2 {
            let x = load(&qs[32 * j + 16 * h..]);
            store(&mut sb.q[64 * j + 16 * h..], v128_and(x, low));
            store(&mut sb.q[64 * j + 32 + 16 * h..], u8x16_shr(x, 4));
        }
    }
    scales_mins_k4(&block[4..16], sb);
    sb.d = f16_at(block);
    sb.dmin = f16_at(&block[2..]);
}

/// q5_K (176 bytes): q4_K's fields with 32 bytes of fifth bits before the nibbles: bit `2j` of
/// byte `l` for value `64j + l`, bit `2j + 1` for value `64j + 32 + l`.
#[inline(always)]
fn unpack_q5k(block: &[u8], sb: &mut SuperBlock<8>) {
    let (qh, qs) = (&block[16..48], &block[48..176]);
    let (low, one) = (u8x16_splat(0x0F), u8x16_splat(1));
    for h in 0..2 {
        let bits = load(&qh[16 * h..]);
        for j in 0..4 {
            let x = load(&qs[32 * j + 16 * h..]);
            let fifth = |bit: u32| i8x16_shl(v128_and(u8x16_shr(bits, bit), one), 4);
            let low_values = v128_or(v128_and(x, low), fifth(2 * j as u32));
            let high_values = v128_or(u8x16_shr(x, 4), fifth(2 * j as u32 + 1));
            store(&mut sb.q[64 * j + 16 * h..], low_values);
            store(&mut sb.q[64 * j + 32 + 16 * h..], high_values);
        }
    }
    scales_mins_k4(&block[4..16], sb);
    sb.d = f16_at(block);
    sb.dmin = f16_at(&block[2..]);
}

/// q6_K (210 bytes: 128 of low nibbles, 64 of 2-bit highs, 16 i8 scales, d): in half `h`, for
/// `l` below 32, values `l`, `l + 32`, `l + 64` and `l + 96` take the low nibbles of bytes `l`
/// and `l + 32` of the half's low bits, then their high nibbles, each with its two bits of byte
/// `l` of the half's highs (bits 0–1, 2–3, 4–5, 6–7), minus 32.
#[inline(always)]
fn unpack_q6k(block: &[u8], sb: &mut SuperBlock<16>) {
    let (ql, qh) = (&block[..128], &block[128..192]);
    let (low, top, offset) = (u8x16_splat(0x0F), u8x16_splat(0x30), i8x16_splat(32));
    for h in 0..2 {
        let (ql, qh, out) = (&ql[64 * h..], &qh[32 * h..], &mut sb.q[128 * h..]);
        for l in [0, 16] {
            let (a, b, bits) = (load(&ql[l..]), load(&ql[32 + l..]), load(&qh[l..]));
            let values = [
                v128_or(v128_and(a, low), v128_and(i8x16_shl(bits, 4), top)),
                v128_or(v128_and(b, low), v128_and(i8x16_shl(bits, 2), top)),
                v128_or(u8x16_shr(a, 4), v128_and(bits, top)),
                v128_or(u8x16_shr(b, 4), v128_and(u8x16_shr(bits, 2), top)),
            ];
            for (n, v) in values.into_iter().enumerate() {
                store(&mut out[32 * n + l..], i8x16_sub(v, offset));
            }
        }
    }
    for (scale, &s) in sb.scales.iter_mut().zip(&block[192..208]) {
        *scale = i32::from(s as i8);
    }
    sb.d = f16_at(&block[208..]);
}
