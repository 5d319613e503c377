//! The attention of the query heads that share one key-value head over the cached keys and
//! values: scores, softmax, weighted sum.
//!
//! The inner loops of a prefill's attention: a 128-token prompt on SmolLM2-360M makes about
//! 500 million multiply-adds here, and a 25-token turn on a warm conversation about 230
//! million, where plain loops over slices ran at 4–8 GMAC/s in wasm (bounds checks per
//! position, and the output reloaded and stored for every value row). Here the query heads of
//! a key-value head share each load of a key and of a value row, accumulators stay in
//! registers across the rows, and a lone head takes four keys per load of its query.
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
    kv: (&[f32], &[f32]),
    head: HeadLayout,
    visible: usize,
    scale: f32,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    attend_group(q, kv, head, visible, scale, scores, out);
}

/// [`attend`] for every query head that shares one key-value head (grouped-query attention):
/// `qs` holds the heads' queries one after the other (a multiple of the head's length), `out`
/// their outputs in the same order. Each head's output is exactly what [`attend`] computes for
/// it alone; the heads only share the loads of each key and value row, which in a prefill are
/// most of the attention's memory traffic (three query heads per key-value head in SmolLM2).
pub fn attend_group(
    qs: &[f32],
    (keys, values): (&[f32], &[f32]),
    head: HeadLayout,
    visible: usize,
    scale: f32,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    let heads = qs.len() / head.len.max(1);
    assert!(
        qs.len() == heads * head.len && out.len() == qs.len(),
        "queries and outputs are whole heads"
    );
    assert!(head.offset + head.len <= head.stride);
    assert!(keys.len() >= visible * head.stride && values.len() >= visible * head.stride);
    scores.clear();
    scores.resize(heads * visible, 0.0);
    key_scores(qs, keys, head, scale, scores);
    scores.chunks_exact_mut(visible).for_each(softmax_in_place);
    weighted_values(scores, values, head, out);
}

/// For each head `h` of `qs`: `scores[h][p]` = `scale` · (query `h` · key row `p`), with
/// `scores` split into one row of positions per head.
fn key_scores(qs: &[f32], keys: &[f32], head: HeadLayout, scale: f32, scores: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if head.len % 4 == 0 {
        return simd::key_scores(qs, keys, head, scale, scores);
    }
    let visible = scores.len() / (qs.len() / head.len);
    for (q, scores) in qs
        .chunks_exact(head.len)
        .zip(scores.chunks_exact_mut(visible))
    {
        portable::key_scores(q, keys, head, scale, scores);
    }
}

/// For each head `h`: `out[h][d]` = Σₚ `weights[h][p]` · value row `p` at `d`, added in the
/// order of `p`.
fn weighted_values(weights: &[f32], values: &[f32], head: HeadLayout, out: &mut [f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if head.len % 4 == 0 {
        return simd::weighted_values(weights, values, head, out);
    }
    let visible = weights.len() / (out.len() / head.len);
    for (w, out) in weights
        .chunks_exact(visible)
        .zip(out.chunks_exact_mut(head.len))
    {
        portable::weighted_values(w, values, head, out);
    }
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

    /// `(l0 + l1) + (l2 + l3)` of `a` and of `b`, in lanes 0 and 1: the portable order.
    #[inline(always)]
    fn lane_sums(a: v128, b: v128) -> v128 {
        let pairs = f32x4_add(
            i32x4_shuffle::<0, 4, 2, 6>(a, b),
            i32x4_shuffle::<1, 5, 3, 7>(a, b),
        );
        f32x4_add(pairs, i32x4_shuffle::<2, 3, 2, 3>(pairs, pairs))
    }

    /// [`super::key_scores`] for heads of a multiple of four floats, each score with
    /// [`super::portable::key_scores`]' arithmetic. One head: four keys at a time share each load
    /// of the query. Several heads: up to three heads at a time, two keys at a time, so each load
    /// of a key serves every head.
    pub fn key_scores(qs: &[f32], keys: &[f32], head: HeadLayout, scale: f32, scores: &mut [f32]) {
        let heads = qs.len() / head.len;
        assert!(head.len % 4 == 0 && qs.len() == heads * head.len && heads > 0);
        let visible = scores.len() / heads;
        assert!(scores.len() == heads * visible);
        assert!(keys.len() >= visible * head.stride && head.offset + head.len <= head.stride);
        for (first, n) in head_passes(heads) {
            let (qs, scores) = (&qs[first * head.len..], &mut scores[first * visible..]);
            match n {
                1 => one_head_scores(&qs[..head.len], keys, head, scale, &mut scores[..visible]),
                2 => head_group_scores::<2>(qs, keys, head, scale, visible, scores),
                _ => head_group_scores::<3>(qs, keys, head, scale, visible, scores),
            }
        }
    }

    /// The heads of a group in passes of up to three, as (first head, heads in the pass): three
    /// heads' accumulators for two keys, or for eight floats, fit x64's sixteen vector registers
    /// beside the loads.
    fn head_passes(heads: usize) -> impl Iterator<Item = (usize, usize)> {
        (0..heads)
            .step_by(3)
            .map(move |first| (first, (heads - first).min(3)))
    }

    /// One head's scores, four keys at a time.
    fn one_head_scores(q: &[f32], keys: &[f32], head: HeadLayout, scale: f32, scores: &mut [f32]) {
        let chunks = head.len / 4;
        let key = |p: usize| keys[p * head.stride + head.offset..].as_ptr();
        let done = scores.len() / 4 * 4;
        let mut blocks = scores.chunks_exact_mut(4);
        for (b, out) in (&mut blocks).enumerate() {
            let k = [0, 1, 2, 3].map(|j| key(4 * b + j));
            let mut acc = [f32x4_splat(0.0); 4];
            for c in 0..chunks {
                // SAFETY: `c < chunks` stays inside the query and each key row (asserted by the
                // caller).
                unsafe {
                    let qc = load4(q.as_ptr().add(4 * c));
                    for (acc, k) in acc.iter_mut().zip(k) {
                        *acc = f32x4_add(*acc, f32x4_mul(qc, load4(k.add(4 * c))));
                    }
                }
            }
            let (s01, s23) = (lane_sums(acc[0], acc[1]), lane_sums(acc[2], acc[3]));
            let sums = i32x4_shuffle::<0, 1, 4, 5>(s01, s23);
            // SAFETY: `out` is four floats.
            unsafe {
                v128_store(
                    out.as_mut_ptr() as *mut v128,
                    f32x4_mul(sums, f32x4_splat(scale)),
                )
            };
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
            *score = f32x4_extract_lane::<0>(lane_sums(acc, acc)) * scale;
        }
    }

    /// The scores of `H` heads (their queries at the start of `qs`, their rows of `visible`
    /// scores at the start of `scores`), two keys at a time: `2H` accumulators.
    fn head_group_scores<const H: usize>(
        qs: &[f32],
        keys: &[f32],
        head: HeadLayout,
        scale: f32,
        visible: usize,
        scores: &mut [f32],
    ) {
        assert!(qs.len() >= H * head.len && scores.len() >= H * visible);
        let chunks = head.len / 4;
        let key = |p: usize| keys[p * head.stride + head.offset..].as_ptr();
        let q = |h: usize| qs[h * head.len..].as_ptr();
        let mut p = 0;
        while p < visible {
            let pair = visible - p >= 2;
            let k = [key(p), key(if pair { p + 1 } else { p })];
            let mut acc = [[f32x4_splat(0.0); 2]; H];
            for c in 0..chunks {
                // SAFETY: `c < chunks` stays inside each query and key row (asserted by the
                // caller); the second key repeats the first when only one is left.
                unsafe {
                    let kc = [load4(k[0].add(4 * c)), load4(k[1].add(4 * c))];
                    for (h, acc) in acc.iter_mut().enumerate() {
                        let qc = load4(q(h).add(4 * c));
                        acc[0] = f32x4_add(acc[0], f32x4_mul(qc, kc[0]));
                        acc[1] = f32x4_add(acc[1], f32x4_mul(qc, kc[1]));
                    }
                }
            }
            for (h, acc) in acc.iter().enumerate() {
                let sums = lane_sums(acc[0], acc[1]);
                scores[h * visible + p] = f32x4_extract_lane::<0>(sums) * scale;
                if pair {
                    scores[h * visible + p + 1] = f32x4_extract_lane::<1>(sums) * scale;
                }
            }
            p += 2;
        }
    }

    /// [`super::weighted_values`] for heads of a multiple of four floats, each output value
    /// with [`super::portable::weighted_values`]' arithmetic. One head: the output's lanes, 32
    /// floats at a time, stay in registers across the value rows. Several heads: up to three
    /// at a time, eight floats each, so each load of a value serves every head.
    pub fn weighted_values(weights: &[f32], values: &[f32], head: HeadLayout, out: &mut [f32]) {
        let heads = out.len() / head.len;
        assert!(head.len % 4 == 0 && out.len() == heads * head.len && heads > 0);
        let visible = weights.len() / heads;
        assert!(weights.len() == heads * visible);
        assert!(values.len() >= visible * head.stride && head.offset + head.len <= head.stride);
        for (first, n) in head_passes(heads) {
            let (w, o) = (&weights[first * visible..], &mut out[first * head.len..]);
            match n {
                1 => one_head_values(&w[..visible], values, head, &mut o[..head.len]),
                2 => head_group_values::<2>(w, values, head, visible, o),
                _ => head_group_values::<3>(w, values, head, visible, o),
            }
        }
    }

    /// One head's weighted sum: 32 output floats at a time, then four.
    fn one_head_values(weights: &[f32], values: &[f32], head: HeadLayout, out: &mut [f32]) {
        let wide = head.len / 32 * 32;
        for at in (0..wide).step_by(32) {
            accumulate::<1, 8>(weights, weights.len(), values, head, at, out);
        }
        for at in (wide..head.len).step_by(4) {
            accumulate::<1, 1>(weights, weights.len(), values, head, at, out);
        }
    }

    /// `H` heads' weighted sums (their weights and outputs at the start of `weights` and
    /// `out`): eight output floats of each head at a time, then four.
    fn head_group_values<const H: usize>(
        weights: &[f32],
        values: &[f32],
        head: HeadLayout,
        visible: usize,
        out: &mut [f32],
    ) {
        let mut at = 0;
        while at < head.len {
            if head.len - at >= 8 {
                accumulate::<H, 2>(weights, visible, values, head, at, out);
                at += 8;
            } else {
                accumulate::<H, 1>(weights, visible, values, head, at, out);
                at += 4;
            }
        }
    }

    /// For each of `H` heads `h`: its output floats `at..at + 4N` (at `h * head.len + at` in
    /// `out`), its weights the `visible` from `h * visible`: `H × N` accumulators held in
    /// registers over every value row.
    #[inline(always)]
    fn accumulate<const H: usize, const N: usize>(
        weights: &[f32],
        visible: usize,
        values: &[f32],
        head: HeadLayout,
        at: usize,
        out: &mut [f32],
    ) {
        assert!(at + 4 * N <= head.len && weights.len() >= H * visible);
        assert!(out.len() >= (H - 1) * head.len + at + 4 * N);
        assert!(values.len() >= visible * head.stride);
        let base = values[head.offset + at..].as_ptr();
        let mut acc = [[f32x4_splat(0.0); N]; H];
        for p in 0..visible {
            // SAFETY: row `p` of the head starts at `p * stride + offset`, its floats
            // `at..at + 4N` are inside the head, `values` holds every visible row, and each
            // head's weights hold `visible` floats (all asserted above).
            unsafe {
                let row = base.add(p * head.stride);
                let v: [v128; N] = std::array::from_fn(|i| load4(row.add(4 * i)));
                for (h, acc) in acc.iter_mut().enumerate() {
                    let w = f32x4_splat(*weights.get_unchecked(h * visible + p));
                    for (acc, &v) in acc.iter_mut().zip(&v) {
                        *acc = f32x4_add(*acc, f32x4_mul(w, v));
                    }
                }
            }
        }
        for (h, acc) in acc.iter().enumerate() {
            let out = &mut out[h * head.len + at..][..4 * N];
            for (acc, out) in acc.iter().zip(out.chunks_exact_mut(4)) {
                // SAFETY: `out` is four floats.
                unsafe { v128_store(out.as_mut_ptr() as *mut v128, *acc) };
            }
        }
    }
}
