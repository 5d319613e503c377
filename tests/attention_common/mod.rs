//! Shared by the native attention test and the wasm one: one head's attention over deterministic
//! keys, values and query, for every visible length.

use sotto::kernels::attention::{attend, attend_group, HeadLayout};

/// One head of `len` floats (the middle one of three per position) over `positions` positions.
pub struct Case {
    /// Where the head sits in each position's row.
    pub head: HeadLayout,
    /// 1/√len.
    pub scale: f32,
    /// The key rows.
    pub keys: Vec<f32>,
    /// The value rows.
    pub vals: Vec<f32>,
    /// The query head.
    pub q: Vec<f32>,
}

/// Deterministic values in about [-2, 2).
fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 + seed * 104_729) % 4001) as f32 / 1000.0 - 2.0)
        .collect()
}

/// Runs [`attend`] on the case of a head of `len` floats for every visible length from 1 to
/// `positions`, and calls `check(case, visible, output)`.
pub fn for_each_visible(len: usize, positions: usize, mut check: impl FnMut(&Case, usize, &[f32])) {
    let head = HeadLayout {
        stride: 3 * len,
        offset: len,
        len,
    };
    let case = Case {
        head,
        scale: 1.0 / (len as f32).sqrt(),
        keys: values(positions * head.stride, 1),
        vals: values(positions * head.stride, 2),
        q: values(len, 3),
    };
    let mut scores = Vec::new();
    for visible in 1..=positions {
        let mut out = vec![0f32; len];
        let Case { keys, vals, q, .. } = &case;
        attend(
            q,
            (keys, vals),
            head,
            visible,
            case.scale,
            &mut scores,
            &mut out,
        );
        check(&case, visible, &out);
    }
}

/// For every visible length from 1 to `positions`: `heads` query heads of `len` floats that
/// share the case's key-value head, attended together by [`attend_group`] and one by one by
/// [`attend`]; calls `check(visible, grouped, one_by_one)` with both outputs (all heads, in
/// order).
pub fn for_each_group(
    len: usize,
    heads: usize,
    positions: usize,
    mut check: impl FnMut(usize, &[f32], &[f32]),
) {
    let head = HeadLayout {
        stride: 3 * len,
        offset: len,
        len,
    };
    let (keys, vals) = (
        values(positions * head.stride, 1),
        values(positions * head.stride, 2),
    );
    let qs = values(heads * len, 4);
    let scale = 1.0 / (len as f32).sqrt();
    let mut scores = Vec::new();
    for visible in 1..=positions {
        let mut grouped = vec![0f32; heads * len];
        attend_group(
            &qs,
            (&keys, &vals),
            head,
            visible,
            scale,
            &mut scores,
            &mut grouped,
        );
        let mut alone = vec![0f32; heads * len];
        for (q, out) in qs.chunks_exact(len).zip(alone.chunks_exact_mut(len)) {
            attend(q, (&keys, &vals), head, visible, scale, &mut scores, out);
        }
        check(visible, &grouped, &alone);
    }
}
