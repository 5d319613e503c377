//! One query head's attention over the cached keys and values: scores, softmax, weighted sum.
//!
//! The inner loops of a prefill's attention: a 128-token prompt on SmolLM2-360M makes about
//! 500 million multiply-adds here, and a 25-token turn on a warm conversation about 230
//! million, where plain loops over slices ran at 4–8 GMAC/s in wasm (bounds checks per
//! position, and the output reloaded and stored for every value row). Here four keys share
//! each load of the query, and the output's lanes stay in registers across the value rows.
//!
//! The arithmetic is defined by the portable code: each score is four lanes of products summed
//! over the head, the lanes added as `(l0 + l1) + (l2 + l3)`, then scaled; each output value is
//! its products added position by position from zero. The simd128 path does exactly these
//! operations, so wasm and native results are equal bit for bit.

use super::elementwise::softmax_in_place;

/// Where one head's keys and values sit in the cache: row `p` of the head is
/// `cache[p * stride + offset..][..len]`.
#[derive(Debug, Clone, Copy)]
pub struct HeadLayout {
    /// Floats from one position to the next (all key-value heads of a position).
    pub stride: usize,
    /// The head's first float in a position.
    pub offset: usize,
    /// The head's length.
    pub len: usize,
}

/// Softmax-weighted sum of the first `visible` value rows, weighted by the query `q` against
/// the key rows, scaled by `scale`, into `out` (the head's length). `scores` is scratch space,
/// reused across calls.
pub fn attend(
    q: &[f32],
    (keys, values): (&[f32], &[f32]),
    head: HeadLayout,
    visible: usize,
    scale: f32,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    assert!(q.len() == head.len && out.len() == head.len && head.offset + head.len <= head.stride);
    assert!(keys.len() >= visible * head.stride && values.len() >= visible * head.stride);
    scores.clear();
    scores.resize(visible, 0.0);
    key_scores(q, keys, head, scale, scores);
    softmax_in_place(scores);
    weighted_values(scores, values, head, out);
}

/// `scores[p]` = `scale` · (q · key row `p`), for every `p` in `scores`.
fn key_scores(q: &[f32], keys: &[f32], head: HeadLayout, scale: f32, scores: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if head.len % 4 == 0 {
        return simd::key_scores(q, keys, head, scale, scores);
    }
    portable::key_scores(q, keys, head, scale, scores)
}

/// `out[d]` = Σₚ `weights[p]` · value row `p` at `d`, added in the order of `p`.
fn weighted_values(weights: &[f32], values: &[f32], head: HeadLayout, out: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if head.len % 4 == 0 {
        return simd::weighted_values(weights, values, head, out);
    }
    portable::weighted_values(weights, values, head, out)
}

/// The scalar steps that define the results (the reference for the simd128 ones).
pub mod portable {
    use super::HeadLayout;

    /// `scores[p]` = `scale` · (q · key row `p`): four lanes of products over the head, added
    /// as `(l0 + l1) + (l2 + l3)`, plus the products past the last four in order.
    pub fn key_scores(q: &[f32], keys: &[f32], head: HeadLayout, scale: f32, scores: &mut [f32]) {
        for (p, score) in scores.iter_mut().enumerate() {
            let k = &keys[p * head.stride + head.offset..][..head.len];
            let mut lanes = [0f32; 4];
            let (q4, k4) = (q.chunks_exact(4), k.chunks_exact(4));
            let tail: f32 = q4
                .remainder()
                .iter()
                .zip(k4.remainder())
                .map(|(a, b)| a * b)
                .sum();
            for (qc, kc) in q4.zip(k4) {
                for l in 0..4 {
                    lanes[l] += qc[l] * kc[l];
                }
            }
            *score = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail) * scale;
        }
    }

    /// `out[d]` = Σₚ `weights[p]` · value row `p` at `d`, added from zero in the order of `p`.
    pub fn weighted_values(weights: &[f32], values: &[f32], head: HeadLayout, out: &mut [f32]) {
        out.fill(0.0);
        for (p, &w) in weights.iter().enumerate() {
            let v = &values[p * head.stride + head.offset..][..head.len];
            out.iter_mut().zip(v).for_each(|(o, v)| *o += w * v);
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    use super::HeadLayout;

    /// Four f32 at `p` (no alignment needed in wasm).
    ///
    /// # Safety
    /// `p` must point at four readable floats.
    #[inline(always)]
    unsafe fn load4(p: *const f32) -> v128 {
        unsafe { v128_load(p as *const v128) }
    }

    /// [`super::portable::key_scores`] for heads of a multiple of four floats: four keys at a time share
    /// each load of the query.
    pub fn key_scores(q: &[f32], keys: &[f32], head: HeadLayout, scale: f32, scores: &mut [f32]) {
        assert!(head.len % 4 == 0 && q.len() == head.len);
        assert!(keys.len() >= scores.len() * head.stride && head.offset + head.len <= head.stride);
        let chunks = head.len / 4;
        let scale4 = f32x4_splat(scale);
        let key = |p: usize| keys[p * head.stride + head.offset..].as_ptr();
        let done = scores.len() / 4 * 4;
        let mut blocks = scores.chunks_exact_mut(4);
        for (b, out) in (&mut blocks).enumerate() {
            let k = [0, 1, 2, 3].map(|j| key(4 * b + j));
            let mut acc = [f32x4_splat(0.0); 4];
            for c in 0..chunks {
                // SAFETY: `c < chunks` stays inside the query and each key row (asserted above).
                unsafe {
                    let qc = load4(q.as_ptr().add(4 * c));
                    for (acc, k) in acc.iter_mut().zip(k) {
                        *acc = f32x4_add(*acc, f32x4_mul(qc, load4(k.add(4 * c))));
                    }
                }
            }
            // Lane sums in the portable order, (l0 + l1) + (l2 + l3), for four keys at once.
            let s01 = f32x4_add(
                i32x4_shuffle::<0, 4, 2, 6>(acc[0], acc[1]),
                i32x4_shuffle::<1, 5, 3, 7>(acc[0], acc[1]),
            );
            let s23 = f32x4_add(
                i32x4_shuffle::<0, 4, 2, 6>(acc[2], acc[3]),
                i32x4_shuffle::<1, 5, 3, 7>(acc[2], acc[3]),
            );
            let sums = f32x4_add(
                i32x4_shuffle::<0, 1, 4, 5>(s01, s23),
                i32x4_shuffle::<2, 3, 6, 7>(s01, s23),
            );
            // SAFETY: `out` is four floats.
            unsafe { v128_store(out.as_mut_ptr() as *mut v128, f32x4_mul(sums, scale4)) };
        }
        for (p, score) in blocks.into_remainder().iter_mut().enumerate() {
            let k = key(done + p);
            let mut acc = f32x4_splat(0.0);
            for c in 0..chunks {
                // SAFETY: as above.
                unsafe {
                    let qc = load4(q.as_ptr().add(4 * c));
                    acc = f32x4_add(acc, f32x4_mul(qc, load4(k.add(4 * c))));
                }
            }
            let sum = (f32x4_extract_lane::<0>(acc) + f32x4_extract_lane::<1>(acc))
                + (f32x4_extract_lane::<2>(acc) + f32x4_extract_lane::<3>(acc));
            *score = sum * scale;
        }
    }

    /// [`super::portable::weighted_values`] for heads of a multiple of four floats: the output's lanes,
    /// 32 floats at a time, stay in registers across the value rows.
    pub fn weighted_values(weights: &[f32], values: &[f32], head: HeadLayout, out: &mut [f32]) {
        assert!(head.len % 4 == 0 && out.len() == head.len);
        assert!(values.len() >= weights.len() * head.stride);
        assert!(head.offset + head.len <= head.stride);
        let (wide, narrow) = out.split_at_mut(head.len / 32 * 32);
        for (part, out) in wide.chunks_exact_mut(32).enumerate() {
            accumulate::<8>(weights, values, head, 32 * part, out);
        }
        for (part, out) in narrow.chunks_exact_mut(4).enumerate() {
            accumulate::<1>(weights, values, head, wide.len() + 4 * part, out);
        }
    }

    /// The `4 * N` output floats from `at` in the head: `N` accumulators held in registers
    /// over every value row.
    #[inline(always)]
    fn accumulate<const N: usize>(
        weights: &[f32],
        values: &[f32],
        head: HeadLayout,
        at: usize,
        out: &mut [f32],
    ) {
        assert!(at + 4 * N <= head.len && out.len() == 4 * N);
        let base = values[head.offset + at..].as_ptr();
        let mut acc = [f32x4_splat(0.0); N];
        for (p, &w) in weights.iter().enumerate() {
            let w = f32x4_splat(w);
            // SAFETY: row `p` of the head starts at `p * stride + offset`, its floats
            // `at..at + 4N` are inside the head, and the caller checked `values` holds every
            // row in `weights`.
            unsafe {
                let row = base.add(p * head.stride);
                for (i, acc) in acc.iter_mut().enumerate() {
                    *acc = f32x4_add(*acc, f32x4_mul(w, load4(row.add(4 * i))));
                }
            }
        }
        for (acc, out) in acc.iter().zip(out.chunks_exact_mut(4)) {
            // SAFETY: `out` is four floats.
            unsafe { v128_store(out.as_mut_ptr() as *mut v128, *acc) };
        }
    }
}
