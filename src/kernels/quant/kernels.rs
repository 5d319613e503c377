//! Portable block decoding and integer dot products (the scalar reference for the SIMD kernels).
//!
//! Block layouts follow ggml: <https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-common.h>;
//! the dot products follow `ggml_vec_dot_*_generic` in
//! <https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-cpu/quants.c>.

use half::f16;

use super::{kquants, GgmlType};

/// Elements per q8_0 / q4_0 block.
pub const QK8_0: usize = 32;
/// Elements per k-quant super-block.
pub const QK_K: usize = 256;

/// Reads the little-endian f16 at `b[0..2]` as f32.
#[inline]
pub fn f16_at(b: &[u8]) -> f32 {
    f16_bits_to_f32(u16::from_le_bytes([b[0], b[1]]))
}

/// f16 → f32, exactly as `half` converts, in a shift and a multiply: wasm has no f16 instruction
/// and `half`'s portable path branches on every value, once per block in every dot product. The
/// f16 magnitude bits shifted into an f32 are the value times 2⁻¹¹² (normals and subnormals
/// alike, since wasm keeps subnormals), so one multiply by 2¹¹² restores it. Inf and NaN, which no
/// valid scale is, take `half`'s path.
#[inline(always)]
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let magnitude = u32::from(h & 0x7fff);
    if magnitude >= 0x7c00 {
        return f16::from_bits(h).to_f32();
    }
    const TWO_POW_112: f32 = f32::from_bits(0x7780_0000);
    let value = f32::from_bits(magnitude << 13) * TWO_POW_112;
    f32::from_bits(value.to_bits() | (u32::from(h & 0x8000) << 16))
}

/// One q8_0 block of activations (`quantize_row_q8_0`): the scale amax/127, stored as f16 like
/// ggml stores it, and the 32 values. The portable reference; [`quantize_q8_0_into`] and
/// [`quantize_q8_0_into_i16`] dispatch to the simd128 version, which computes the same values.
#[inline]
pub fn quantize_block_q8_0(block: &[f32]) -> (f32, [i8; QK8_0]) {
    let (d, _, q) = quantize_block_q8_1(block);
    (d, q)
}

/// One q8_1 block of activations (`quantize_row_q8_1`): [`quantize_block_q8_0`]'s scale and
/// values, and the block's `s` ([`block_sum_scale`]), returned as (d, s, values).
#[inline]
pub fn quantize_block_q8_1(block: &[f32]) -> (f32, f32, [i8; QK8_0]) {
    // A compare, not `f32::max`: in wasm that is a call to libm's `fmaxf` per element
    // (its NaN rules differ from `f32.max`), which showed up at 3% of Whisper's time.
    let amax = block
        .iter()
        .fold(0f32, |m, v| if v.abs() > m { v.abs() } else { m });
    let d = amax / 127.0;
    // ggml's x86 path computes 127/amax (not 1/d); the rounding of ties follows it.
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    let mut q = [0i8; QK8_0];
    q.iter_mut()
        .zip(block)
        .for_each(|(q, v)| *q = (v * id).round_ties_even() as i8);
    let sum = q.iter().map(|&q| i32::from(q)).sum();
    (round_to_f16(d), block_sum_scale(amax, sum), q)
}

/// A q8_1 block's `s` (what the minimum of a q4_1 or q5_1 block multiplies): the scale before
/// its f16 rounding (amax/127) times the sum of the block's 8-bit values, rounded to f16, as
/// llama.cpp's x86 `quantize_row_q8_1` computes it.
#[inline]
pub fn block_sum_scale(amax: f32, sum: i32) -> f32 {
    round_to_f16(amax / 127.0 * sum as f32)
}

/// Quantizes one 32-value block into `out[..32]` and returns its scale and `s`, as
/// [`quantize_block_q8_1`] does (simd128 in wasm).
#[inline]
fn quantize_q8_0_into(block: &[f32], out: &mut [i8]) -> (f32, f32) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        super::simd128::quantize_block_q8_0_i8(block, out)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let (d, s, q) = quantize_block_q8_1(block);
        out[..QK8_0].copy_from_slice(&q);
        (d, s)
    }
}

/// [`quantize_q8_0_into`], with the values widened to i16 (a [`TokenGroup`]'s form).
#[inline]
fn quantize_q8_0_into_i16(block: &[f32], out: &mut [i16]) -> (f32, f32) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        super::simd128::quantize_block_q8_0_i16(block, out)
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let (d, s, q) = quantize_block_q8_1(block);
        out[..QK8_0]
            .iter_mut()
            .zip(q)
            .for_each(|(o, q)| *o = i16::from(q));
        (d, s)
    }
}

/// `x` rounded to the nearest f16 and back, exactly as `half` does it. Once per activation
/// block: `half`'s portable conversion branches through every case, so the common one (a normal
/// f16 below 2¹⁵) is done here on the bits, rounding the mantissa to 10 bits, ties to even.
#[inline]
pub fn round_to_f16(x: f32) -> f32 {
    let bits = x.to_bits();
    let exponent = (bits >> 23) & 0xff;
    // f32 exponents 113..=141 are the values in [2⁻¹⁴, 2¹⁵): normal in f16, and rounding up
    // stays finite.
    if (113..=141).contains(&exponent) {
        let rounded = bits + 0x0fff + ((bits >> 13) & 1);
        f32::from_bits(rounded & !0x1fff)
    } else {
        f16::from_f32(x).to_f32()
    }
}

/// One activation row quantized to 8 bits, as llama.cpp does before a quantized matmul.
#[derive(Debug, Clone)]
pub struct QuantizedActivations {
    /// One scale per block (32 for q8_0, 256 for q8_K).
    pub scales: Vec<f32>,
    /// The 8-bit values.
    pub qs: Vec<i8>,
    /// q8_0 only: each block's `s` ([`block_sum_scale`]), which makes the rows q8_1 blocks too
    /// (their scale and values are q8_0's), the operand of q4_1 and q5_1 weights.
    pub block_sums: Vec<f32>,
    /// q8_K only: the sum of each group of 16 values (used for the k-quant minimums).
    pub bsums: Vec<i32>,
}

impl QuantizedActivations {
    /// q8_0 (and q8_1) blocks (`quantize_row_q8_0`): scale amax/127, stored as f16 like ggml
    /// stores it.
    pub fn q8_0(x: &[f32]) -> Self {
        let blocks = x.len() / QK8_0;
        let mut qs = vec![0i8; blocks * QK8_0];
        let (scales, block_sums) = x
            .chunks_exact(QK8_0)
            .zip(qs.chunks_exact_mut(QK8_0))
            .map(|(block, out)| quantize_q8_0_into(block, out))
            .unzip();
        QuantizedActivations {
            scales,
            qs,
            block_sums,
            bsums: Vec::new(),
        }
    }

    /// q8_K super-blocks (`quantize_row_q8_K_ref`): the signed extreme maps to -127, f32 scale.
    pub fn q8_k(x: &[f32]) -> Self {
        let mut scales = Vec::with_capacity(x.len() / QK_K);
        let mut qs = Vec::with_capacity(x.len());
        let mut bsums = Vec::with_capacity(x.len() / 16);
        for block in x.chunks_exact(QK_K) {
            let (mut amax, mut max) = (0f32, 0f32);
            for &v in block {
                if v.abs() > amax {
                    amax = v.abs();
                    max = v;
                }
            }
            if amax == 0.0 {
                scales.push(0.0);
                qs.extend(std::iter::repeat_n(0i8, QK_K));
                bsums.extend(std::iter::repeat_n(0, QK_K / 16));
                continue;
            }
            let iscale = -127.0 / max;
            let start = qs.len();
            qs.extend(
                block
                    .iter()
                    .map(|v| ((iscale * v).round_ties_even() as i32).min(127) as i8),
            );
            bsums.extend(
                qs[start..]
                    .chunks_exact(16)
                    .map(|g| g.iter().map(|&q| q as i32).sum::<i32>()),
            );
            scales.push(1.0 / iscale);
        }
        QuantizedActivations {
            scales,
            qs,
            block_sums: Vec::new(),
            bsums,
        }
    }
}

/// Four tokens' q8_0 activations, interleaved block by block and widened to i16: the operand of
/// the prefill kernels. Built once per matmul, so the inner loop over weight rows only loads what
/// it multiplies (no per-row unpacking of the activations).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenGroup {
    /// For block `b`, token `k`: the 32 values at `(4 * b + k) * 32`.
    pub qs: Vec<i16>,
    /// For block `b`, token `k`: the scale at `4 * b + k`.
    pub scales: Vec<f32>,
    /// For block `b`, token `k`: the block's `s` ([`block_sum_scale`]) at `4 * b + k`.
    pub block_sums: Vec<f32>,
}

impl TokenGroup {
    /// Interleaves four q8_0 activation rows of the same length.
    pub fn new(a: [&QuantizedActivations; 4]) -> Self {
        let blocks = a[0].scales.len();
        let mut qs = Vec::with_capacity(blocks * 4 * QK8_0);
        let mut scales = Vec::with_capacity(blocks * 4);
        let mut block_sums = Vec::with_capacity(blocks * 4);
        for b in 0..blocks {
            for t in a {
                qs.extend(t.qs[b * QK8_0..(b + 1) * QK8_0].iter().map(|&q| q as i16));
                scales.push(t.scales[b]);
                block_sums.push(t.block_sums[b]);
            }
        }
        TokenGroup {
            qs,
            scales,
            block_sums,
        }
    }

    /// Quantizes four activation rows of the same length straight into a group: the same values
    /// as [`TokenGroup::new`] of their [`QuantizedActivations::q8_0`], without the
    /// intermediate rows.
    pub fn quantize(rows: [&[f32]; 4]) -> Self {
        let blocks = rows[0].len() / QK8_0;
        let mut qs = vec![0i16; blocks * 4 * QK8_0];
        let mut scales = Vec::with_capacity(blocks * 4);
        let mut block_sums = Vec::with_capacity(blocks * 4);
        for (b, out) in qs.chunks_exact_mut(4 * QK8_0).enumerate() {
            for (row, out) in rows.iter().zip(out.chunks_exact_mut(QK8_0)) {
                let (d, s) = quantize_q8_0_into_i16(&row[b * QK8_0..(b + 1) * QK8_0], out);
                scales.push(d);
                block_sums.push(s);
            }
        }
        TokenGroup {
            qs,
            scales,
            block_sums,
        }
    }
}

/// e^x in f32 without a branch or a call, so loops over it vectorize (simd128 in wasm, where libm's
/// `expf` is a call of about 20 ns per element: 5% of a prefill in SiLU and softmax). Cephes'
/// `expf`: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for an exact reduction), a degree-6
/// polynomial for e^r, and 2ⁿ put into the exponent bits. Within 2 ulp of the correctly rounded
/// value on the normal range; 0 below it (as e^-inf must be), +inf above, NaN stays NaN.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LO: f32 = -87.336_54; // ln of the smallest normal f32
    const HI: f32 = 88.722_83; // ln of the largest f32
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // `clamp` is two comparisons (not libm's fmin/fmax): NaN falls through and propagates.
    let clamped = x.clamp(LO, HI);
    let n = (clamped * LOG2E).round_ties_even();
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_2e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // n ∈ [-126, 128]: 2ⁿ as exponent bits; n = 128 is split so the bits stay a finite power.
    let half = (n * 0.5).trunc();
    let pow = |k: f32| f32::from_bits(((k as i32 + 127) as u32) << 23);
    let value = y * pow(half) * pow(n - half);
    if x < LO {
        0.0
    } else if x > HI {
        f32::INFINITY
    } else {
        value
    }
}

/// Σ a·b over two f32 slices in eight independent lanes, so the compiler vectorizes it (a single
/// running f32 sum cannot be reordered): Whisper's dense single-row products.
pub fn dot_f32_slices(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// f32 weights · f32 activations.
pub fn dot_f32(w: &[u8], x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (wc, xc) in w.chunks_exact(32).zip(x.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += f32::from_le_bytes(wc[4 * i..4 * i + 4].try_into().unwrap()) * xc[i];
        }
    }
    let tail: f32 = w
        .chunks_exact(4)
        .zip(x)
        .skip(x.len() / 8 * 8)
        .map(|(b, v)| f32::from_le_bytes(b.try_into().unwrap()) * v)
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// f16 weights · f32 activations.
pub fn dot_f16(w: &[u8], x: &[f32]) -> f32 {
    w.chunks_exact(2).zip(x).map(|(b, v)| f16_at(b) * v).sum()
}

/// Σ w·a over one q8_0 block's 32 weights, for activations stored as i8 or (in a
/// [`TokenGroup`]) i16.
#[inline]
fn q8_0_block_sum<A: Copy + Into<i32>>(block: &[u8], qa: &[A]) -> i32 {
    bytemuck_i8(&block[2..34])
        .iter()
        .zip(qa)
        .map(|(&x, &y)| x as i32 * y.into())
        .sum()
}

/// Σ (q - 8)·a over one q4_0 block's 32 nibbles (low nibbles are elements 0..16).
#[inline]
fn q4_0_block_sum<A: Copy + Into<i32>>(block: &[u8], qa: &[A]) -> i32 {
    let mut sum = 0i32;
    for j in 0..16 {
        let b = block[2 + j];
        sum += ((b & 0x0F) as i32 - 8) * qa[j].into();
        sum += ((b >> 4) as i32 - 8) * qa[j + 16].into();
    }
    sum
}

/// q8_0 weights · q8_0 activations (`ggml_vec_dot_q8_0_q8_0`).
pub fn dot_q8_0_q8_0(w: &[u8], a: &QuantizedActivations) -> f32 {
    let mut acc = 0f32;
    for ((block, qa), &da) in w
        .chunks_exact(34)
        .zip(a.qs.chunks_exact(QK8_0))
        .zip(&a.scales)
    {
        acc += (q8_0_block_sum(block, qa) as f32) * (f16_at(block) * da);
    }
    acc
}

/// q4_0 weights · q8_0 activations (`ggml_vec_dot_q4_0_q8_0`).
pub fn dot_q4_0_q8_0(w: &[u8], a: &QuantizedActivations) -> f32 {
    let mut acc = 0f32;
    for ((block, qa), &da) in w
        .chunks_exact(18)
        .zip(a.qs.chunks_exact(QK8_0))
        .zip(&a.scales)
    {
        acc += (q4_0_block_sum(block, qa) as f32) * (f16_at(block) * da);
    }
    acc
}

/// Unpacks the 32 five-bit values (0..31) of a q5_0/q5_1 block from its `qh` and `qs` bytes.
#[inline]
fn unpack_q5(qh: &[u8], qs: &[u8]) -> [u8; 32] {
    let qh = u32::from_le_bytes([qh[0], qh[1], qh[2], qh[3]]);
    let mut q = [0u8; 32];
    for j in 0..16 {
        q[j] = (qs[j] & 0x0F) | ((((qh >> j) << 4) & 0x10) as u8);
        q[j + 16] = (qs[j] >> 4) | (((qh >> (j + 12)) & 0x10) as u8);
    }
    q
}

/// The 32 values of one block of a 32-value encoding as i8, in element order: q8_0's as stored,
/// q4_0's nibbles minus 8, q5_0's five bits minus 16, and q4_1's and q5_1's unsigned (0..15,
/// 0..31; their minimum is added apart).
pub(crate) fn block_values(dtype: GgmlType, block: &[u8]) -> [i8; QK8_0] {
    let mut values = [0i8; QK8_0];
    let nibbles = |values: &mut [i8; QK8_0], qs: &[u8], offset: i8| {
        for (j, &b) in qs[..QK8_0 / 2].iter().enumerate() {
            values[j] = (b & 0x0F) as i8 - offset;
            values[j + QK8_0 / 2] = (b >> 4) as i8 - offset;
        }
    };
    match dtype {
        GgmlType::Q8_0 => values.copy_from_slice(bytemuck_i8(&block[2..2 + QK8_0])),
        GgmlType::Q4_0 => nibbles(&mut values, &block[2..], 8),
        GgmlType::Q4_1 => nibbles(&mut values, &block[4..], 0),
        GgmlType::Q5_0 => {
            let q = unpack_q5(&block[2..6], &block[6..22]);
            values
                .iter_mut()
                .zip(q)
                .for_each(|(v, q)| *v = q as i8 - 16);
        }
        GgmlType::Q5_1 => {
            let q = unpack_q5(&block[4..8], &block[8..24]);
            values.iter_mut().zip(q).for_each(|(v, q)| *v = q as i8);
        }
        other => panic!("{other:?} has no blocks of 32 values"),
    }
    values
}

/// Σ w·a over one block's 32 values (as [`block_values`] gives them) and 32 activations.
#[inline]
fn values_block_sum(values: &[i8; QK8_0], qa: &[i8]) -> i32 {
    values
        .iter()
        .zip(qa)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// q5_0 weights · q8_0 activations (`ggml_vec_dot_q5_0_q8_0`).
pub fn dot_q5_0_q8_0(w: &[u8], a: &QuantizedActivations) -> f32 {
    let mut acc = 0f32;
    for ((block, qa), &da) in w
        .chunks_exact(22)
        .zip(a.qs.chunks_exact(QK8_0))
        .zip(&a.scales)
    {
        let sum = values_block_sum(&block_values(GgmlType::Q5_0, block), qa);
        acc += sum as f32 * (f16_at(block) * da);
    }
    acc
}

/// A q4_1 or q5_1 row (`bytes` per block, the scale and minimum first) · q8_1 activations:
/// Σ (d·q + m)·a = d·da·Σ q·qa + m·s per block, with llama.cpp's `s` (the activations'
/// `block_sums`), added to the sum in that order.
#[inline]
fn dot_with_minimum(dtype: GgmlType, w: &[u8], a: &QuantizedActivations) -> f32 {
    let mut acc = 0f32;
    for (((block, qa), &da), &sa) in w
        .chunks_exact(dtype.block_bytes())
        .zip(a.qs.chunks_exact(QK8_0))
        .zip(&a.scales)
        .zip(&a.block_sums)
    {
        let sum = values_block_sum(&block_values(dtype, block), qa);
        acc += sum as f32 * (f16_at(block) * da) + f16_at(&block[2..]) * sa;
    }
    acc
}

/// q4_1 weights · q8_1 activations (`ggml_vec_dot_q4_1_q8_1`).
pub fn dot_q4_1_q8_1(w: &[u8], a: &QuantizedActivations) -> f32 {
    dot_with_minimum(GgmlType::Q4_1, w, a)
}

/// q5_1 weights · q8_1 activations (`ggml_vec_dot_q5_1_q8_1`).
pub fn dot_q5_1_q8_1(w: &[u8], a: &QuantizedActivations) -> f32 {
    dot_with_minimum(GgmlType::Q5_1, w, a)
}

/// Reinterprets bytes as i8 (same size and alignment).
#[inline]
fn bytemuck_i8(b: &[u8]) -> &[i8] {
    // SAFETY: u8 and i8 have identical size, alignment and validity.
    unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<i8>(), b.len()) }
}

/// bf16 (the top 16 bits of an f32) at `b[0..2]` as f32.
#[inline]
pub fn bf16_at(b: &[u8]) -> f32 {
    f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16)
}

/// bf16 weights · f32 activations.
pub fn dot_bf16(w: &[u8], x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (wc, xc) in w.chunks_exact(16).zip(x.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += bf16_at(&wc[2 * i..]) * xc[i];
        }
    }
    let tail: f32 = w
        .chunks_exact(2)
        .zip(x)
        .skip(x.len() / 8 * 8)
        .map(|(b, v)| bf16_at(b) * v)
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// Decodes one encoded row into floats, each value computed as the `gguf` Python package's
/// dequantization computes it (tests/quant_dequantize.rs holds them to it bit for bit).
pub fn dequantize_row(dtype: GgmlType, row: &[u8], out: &mut [f32]) {
    let blocks = row.chunks_exact(dtype.block_bytes());
    match dtype {
        GgmlType::F32 => {
            for (o, b) in out.iter_mut().zip(blocks) {
                *o = f32::from_le_bytes(b.try_into().unwrap());
            }
        }
        GgmlType::F16 => out.iter_mut().zip(blocks).for_each(|(o, b)| *o = f16_at(b)),
        GgmlType::BF16 => out
            .iter_mut()
            .zip(blocks)
            .for_each(|(o, b)| *o = bf16_at(b)),
        GgmlType::Q8_0 | GgmlType::Q4_0 | GgmlType::Q5_0 => {
            for (o, block) in out.chunks_exact_mut(QK8_0).zip(blocks) {
                let d = f16_at(block);
                for (o, q) in o.iter_mut().zip(block_values(dtype, block)) {
                    *o = d * q as f32;
                }
            }
        }
        GgmlType::Q4_1 | GgmlType::Q5_1 => {
            for (o, block) in out.chunks_exact_mut(QK8_0).zip(blocks) {
                let (d, m) = (f16_at(block), f16_at(&block[2..]));
                for (o, q) in o.iter_mut().zip(block_values(dtype, block)) {
                    *o = d * q as f32 + m;
                }
            }
        }
        GgmlType::Q2K => kquants::dequantize_q2k(row, out),
        GgmlType::Q3K => kquants::dequantize_q3k(row, out),
        GgmlType::Q4K => kquants::dequantize_q4k(row, out),
        GgmlType::Q5K => kquants::dequantize_q5k(row, out),
        GgmlType::Q6K => kquants::dequantize_q6k(row, out),
    }
}
