//! The k-quants (super-blocks of 256 values): block decoding and their dot products with q8_K
//! activations: portable, but for the sub-blocks' integer dots, which are simd128 in a wasm build
//! (exact either way).
//!
//! Layouts follow ggml's `block_q2_K` … `block_q6_K`
//! (<https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-common.h>); the dot products
//! follow `ggml_vec_dot_q*_K_q8_K_generic`
//! (<https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-cpu/quants.c>): an integer sum
//! per sub-block times its integer scale, the super-block's f16 scale times the activations' f32
//! scale applied once, and the minimums through the activations' sums of 16 (`bsums`).
//! Dequantization does each product in the order of the `gguf` Python package's, so the two agree
//! bit for bit (tests/quant_dequantize.rs).

use super::kernels::{f16_at, QuantizedActivations, QK_K};
use super::GgmlType;

/// One super-block's values in element order, each sub-block's integer scale and minimum (0 for
/// types without minimums), and the f16 scales `d` and `dmin` of the super-block as f32.
struct Unpacked<const SUB: usize> {
    q: [i8; QK_K],
    scales: [i32; SUB],
    mins: [i32; SUB],
    d: f32,
    dmin: f32,
}

/// Decodes the 6-bit scale and min of sub-block `j` of a q4_K or q5_K block (`get_scale_min_k4`).
#[inline]
fn scale_min_k4(j: usize, s: &[u8]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        (
            (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4),
            (s[j + 4] >> 4) | ((s[j] >> 6) << 4),
        )
    }
}

/// q2_K (84 bytes): 16 bytes of 4-bit scale | 4-bit min, 64 bytes of 2-bit values, d, dmin.
/// Value `128k + 32j + l` is bits `2j..2j + 2` of byte `32k + l`.
fn unpack_q2k(block: &[u8]) -> Unpacked<16> {
    let (sc, qs) = (&block[..16], &block[16..80]);
    let mut q = [0i8; QK_K];
    for (q, qs) in q.chunks_exact_mut(128).zip(qs.chunks_exact(32)) {
        for (j, q) in q.chunks_exact_mut(32).enumerate() {
            q.iter_mut()
                .zip(qs)
                .for_each(|(q, b)| *q = ((b >> (2 * j)) & 3) as i8);
        }
    }
    Unpacked {
        q,
        scales: std::array::from_fn(|j| i32::from(sc[j] & 0x0F)),
        mins: std::array::from_fn(|j| i32::from(sc[j] >> 4)),
        d: f16_at(&block[80..]),
        dmin: f16_at(&block[82..]),
    }
}

/// q3_K (110 bytes): 32 bytes of high bits, 64 bytes of 2-bit values, 12 bytes of 6-bit scales
/// (offset 32), d. Value `128j + 32s + l` is bits `2s..2s + 2` of byte `32j + l`, minus 4
/// when bit `4j + s` of high-bit byte `l` is clear.
fn unpack_q3k(block: &[u8]) -> Unpacked<16> {
    let (hmask, qs, sc) = (&block[..32], &block[32..96], &block[96..108]);
    let mut q = [0i8; QK_K];
    for (j, (q, qs)) in q.chunks_exact_mut(128).zip(qs.chunks_exact(32)).enumerate() {
        for (s, q) in q.chunks_exact_mut(32).enumerate() {
            let bit = 1 << (4 * j + s);
            for ((q, b), h) in q.iter_mut().zip(qs).zip(hmask) {
                let low = ((b >> (2 * s)) & 3) as i8;
                *q = low - if h & bit == 0 { 4 } else { 0 };
            }
        }
    }
    let scales = std::array::from_fn(|j| {
        let low = if j < 8 { sc[j] & 0x0F } else { sc[j - 8] >> 4 };
        let high = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;
        i32::from(low | (high << 4)) - 32
    });
    Unpacked {
        q,
        scales,
        mins: [0; 16],
        d: f16_at(&block[108..]),
        dmin: 0.0,
    }
}

/// q4_K (144 bytes): d, dmin, 12 bytes of 6-bit scales and mins, 128 bytes of 4-bit values.
/// Value `64j + l` is the low nibble of byte `32j + l`, value `64j + 32 + l` its high nibble.
fn unpack_q4k(block: &[u8]) -> Unpacked<8> {
    unpack_q4k_layout(block, &block[16..144], None)
}

/// q5_K (176 bytes): q4_K's fields with 32 bytes of fifth bits before the nibbles: bit `2j`
/// of byte `l` for value `64j + l`, bit `2j + 1` for value `64j + 32 + l`.
fn unpack_q5k(block: &[u8]) -> Unpacked<8> {
    unpack_q4k_layout(block, &block[48..176], Some(&block[16..48]))
}

/// The layout q4_K and q5_K share: the header (d, dmin, scales and mins) and the nibbles, with
/// q5_K's fifth bits when given.
fn unpack_q4k_layout(block: &[u8], nibbles: &[u8], fifth_bits: Option<&[u8]>) -> Unpacked<8> {
    let mut q = [0i8; QK_K];
    for (j, (q, qs)) in q
        .chunks_exact_mut(64)
        .zip(nibbles.chunks_exact(32))
        .enumerate()
    {
        for (l, &b) in qs.iter().enumerate() {
            let (low_fifth, high_fifth) = fifth_bits.map_or((0, 0), |qh| {
                let h = qh[l];
                (((h >> (2 * j)) & 1) << 4, ((h >> (2 * j + 1)) & 1) << 4)
            });
            q[l] = ((b & 0x0F) | low_fifth) as i8;
            q[l + 32] = ((b >> 4) | high_fifth) as i8;
        }
    }
    let sm: [(u8, u8); 8] = std::array::from_fn(|j| scale_min_k4(j, &block[4..16]));
    Unpacked {
        q,
        scales: sm.map(|(s, _)| i32::from(s)),
        mins: sm.map(|(_, m)| i32::from(m)),
        d: f16_at(block),
        dmin: f16_at(&block[2..]),
    }
}

/// q6_K (210 bytes): 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 i8 scales, d.
fn unpack_q6k(block: &[u8]) -> Unpacked<16> {
    let (ql, qh) = (&block[0..128], &block[128..192]);
    let mut q = [0i8; QK_K];
    for half in 0..2 {
        let (ql, qh, out) = (&ql[64 * half..], &qh[32 * half..], &mut q[128 * half..]);
        for l in 0..32 {
            let h = qh[l];
            out[l] = ((ql[l] & 0x0F) | ((h & 3) << 4)) as i8 - 32;
            out[l + 32] = ((ql[l + 32] & 0x0F) | (((h >> 2) & 3) << 4)) as i8 - 32;
            out[l + 64] = ((ql[l] >> 4) | (((h >> 4) & 3) << 4)) as i8 - 32;
            out[l + 96] = ((ql[l + 32] >> 4) | (((h >> 6) & 3) << 4)) as i8 - 32;
        }
    }
    Unpacked {
        q,
        scales: std::array::from_fn(|j| i32::from(block[192 + j] as i8)),
        mins: [0; 16],
        d: f16_at(&block[208..]),
        dmin: 0.0,
    }
}

/// Σ over one super-block of scale·Σ q·qa per sub-block, and Σ min·Σ qa (from the 16-value
/// `bsums`). `SIMD` takes the simd128 integer dot where the build has it: the sums are
/// integers, so both give the same result exactly.
#[inline]
fn block_sums<const SUB: usize, const SIMD: bool>(
    u: &Unpacked<SUB>,
    qa: &[i8],
    bsums: &[i32],
) -> (i32, i32) {
    let len = QK_K / SUB;
    let (mut sumi, mut summ) = (0i32, 0i32);
    for j in 0..SUB {
        let (q, a) = (&u.q[len * j..len * (j + 1)], &qa[len * j..len * (j + 1)]);
        sumi += u.scales[j] * dot_i8::<SIMD>(q, a);
        let groups = &bsums[j * len / 16..(j + 1) * len / 16];
        summ += u.mins[j] * groups.iter().sum::<i32>();
    }
    (sumi, summ)
}

/// Σ x·y of two i8 slices of a multiple of 16 values, in simd128 when `SIMD` and the build has
/// it (V8 runs the portable loop about five times slower: LLVM does not vectorise it for wasm).
#[inline(always)]
fn dot_i8<const SIMD: bool>(x: &[i8], y: &[i8]) -> i32 {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if SIMD {
        return super::simd128::dot_i8(x, y);
    }
    x.iter()
        .zip(y)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// A k-quant row · q8_K activations: Σ per super-block of d·da·Σ scale·Σ q·qa, minus
/// dmin·da·Σ min·Σ qa for the types with minimums (`MIN`).
fn dot<const SUB: usize, const MIN: bool, const SIMD: bool>(
    w: &[u8],
    block_bytes: usize,
    a: &QuantizedActivations,
    unpack: impl Fn(&[u8]) -> Unpacked<SUB>,
) -> f32 {
    let mut acc = 0f32;
    for (b, block) in w.chunks_exact(block_bytes).enumerate() {
        let u = unpack(block);
        let qa = &a.qs[b * QK_K..(b + 1) * QK_K];
        let (sumi, summ) = block_sums::<SUB, SIMD>(&u, qa, &a.bsums[b * 16..(b + 1) * 16]);
        let da = a.scales[b];
        acc += match MIN {
            true => u.d * da * sumi as f32 - u.dmin * da * summ as f32,
            false => u.d * da * sumi as f32,
        };
    }
    acc
}

/// A k-quant row (`dtype`) · q8_K activations through the portable integer dots even in a
/// simd128 build: what the wasm tests hold the simd128 ones to.
///
/// # Panics
/// When `dtype` is not a k-quant.
pub fn dot_portable(dtype: GgmlType, w: &[u8], a: &QuantizedActivations) -> f32 {
    match dtype {
        GgmlType::Q2K => dot::<16, true, false>(w, 84, a, unpack_q2k),
        GgmlType::Q3K => dot::<16, false, false>(w, 110, a, unpack_q3k),
        GgmlType::Q4K => dot::<8, true, false>(w, 144, a, unpack_q4k),
        GgmlType::Q5K => dot::<8, true, false>(w, 176, a, unpack_q5k),
        GgmlType::Q6K => dot::<16, false, false>(w, 210, a, unpack_q6k),
        other => panic!("{other:?} is not a k-quant"),
    }
}

/// q2_K weights · q8_K activations (`ggml_vec_dot_q2_K_q8_K`).
pub fn dot_q2k_q8k(w: &[u8], a: &QuantizedActivations) -> f32 {
    dot::<16, true, true>(w, 84, a, unpack_q2k)
}

/// q3_K weights · q8_K activations (`ggml_vec_dot_q3_K_q8_K`).
pub fn dot_q3k_q8k(w: &[u8], a: &QuantizedActivations) -> f32 {
    dot::<16, false, true>(w, 110, a, unpack_q3k)
}

/// q4_K weights · q8_K activations (`ggml_vec_dot_q4_K_q8_K`).
pub fn dot_q4k_q8k(w: &[u8], a: &QuantizedActivations) -> f32 {
    dot::<8, true, true>(w, 144, a, unpack_q4k)
}

/// q5_K weights · q8_K activations (`ggml_vec_dot_q5_K_q8_K`).
pub fn dot_q5k_q8k(w: &[u8], a: &QuantizedActivations) -> f32 {
    dot::<8, true, true>(w, 176, a, unpack_q5k)
}

/// q6_K weights · q8_K activations (`ggml_vec_dot_q6_K_q8_K`).
pub fn dot_q6k_q8k(w: &[u8], a: &QuantizedActivations) -> f32 {
    dot::<16, false, true>(w, 210, a, unpack_q6k)
}

/// Decodes a row of super-blocks: each value is (d·scale)·q − dmin·min for the types with
/// minimums (`MIN`), (d·scale)·q for the others, in the `gguf` package's order.
fn dequantize<const SUB: usize, const MIN: bool>(
    row: &[u8],
    block_bytes: usize,
    out: &mut [f32],
    unpack: impl Fn(&[u8]) -> Unpacked<SUB>,
) {
    let len = QK_K / SUB;
    for (out, block) in out
        .chunks_exact_mut(QK_K)
        .zip(row.chunks_exact(block_bytes))
    {
        let u = unpack(block);
        for (j, out) in out.chunks_exact_mut(len).enumerate() {
            let scale = u.d * u.scales[j] as f32;
            let min = u.dmin * u.mins[j] as f32;
            for (o, &q) in out.iter_mut().zip(&u.q[len * j..len * (j + 1)]) {
                *o = match MIN {
                    true => scale * q as f32 - min,
                    false => scale * q as f32,
                };
            }
        }
    }
}

/// Decodes a row of q2_K blocks.
pub fn dequantize_q2k(row: &[u8], out: &mut [f32]) {
    dequantize::<16, true>(row, 84, out, unpack_q2k)
}

/// Decodes a row of q3_K blocks.
pub fn dequantize_q3k(row: &[u8], out: &mut [f32]) {
    dequantize::<16, false>(row, 110, out, unpack_q3k)
}

/// Decodes a row of q4_K blocks.
pub fn dequantize_q4k(row: &[u8], out: &mut [f32]) {
    dequantize::<8, true>(row, 144, out, unpack_q4k)
}

/// Decodes a row of q5_K blocks.
pub fn dequantize_q5k(row: &[u8], out: &mut [f32]) {
    dequantize::<8, true>(row, 176, out, unpack_q5k)
}

/// Decodes a row of q6_K blocks.
pub fn dequantize_q6k(row: &[u8], out: &mut [f32]) {
    dequantize::<16, false>(row, 210, out, unpack_q6k)
}
