//! One head's attention (`sotto::kernels::attention`) against a plain f64 computation, for heads of
//! several lengths (a multiple of 32, of 4 only, and neither) and every visible length from 1.

mod attention_common;

use attention_common::{for_each_group, for_each_visible, Case};
use sotto::kernels::attention::HeadLayout;

/// softmax(scale · q·kₚ) · vₚ in f64.
fn reference(
    q: &[f32],
    keys: &[f32],
    vals: &[f32],
    head: HeadLayout,
    visible: usize,
    scale: f32,
) -> Vec<f64> {
    let row = |m: &[f32], p: usize| m[p * head.stride + head.offset..][..head.len].to_vec();
    let scores: Vec<f64> = (0..visible)
        .map(|p| {
            let k = row(keys, p);
            q.iter()
                .zip(&k)
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum::<f64>()
                * scale as f64
        })
        .collect();
    let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut out = vec![0f64; head.len];
    for (p, w) in weights.iter().enumerate() {
        for (o, &v) in out.iter_mut().zip(&row(vals, p)) {
            *o += w / total * v as f64;
        }
    }
    out
}

#[test]
fn attention_matches_a_plain_f64_computation() {
    for len in [64, 12, 6] {
        for_each_visible(len, 40, |c: &Case, visible, out| {
            let expected = reference(&c.q, &c.keys, &c.vals, c.head, visible, c.scale);
            for (d, (&got, &want)) in out.iter().zip(&expected).enumerate() {
                assert!(
                    (got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()),
                    "head of {len}, {visible} visible, value {d}: {got} against {want}"
                );
            }
        });
    }
}

/// The query heads of one key-value head attended together give each head exactly what it gets
/// alone, for groups of 1 to 7 heads (SmolLM2 has 3 per key-value head, Qwen2.5-0.5B 7).
#[test]
fn grouped_heads_equal_each_head_alone() {
    for len in [64, 12, 6] {
        for heads in 1..=7 {
            for_each_group(len, heads, 11, |visible, grouped, alone| {
                assert_eq!(grouped, alone, "{heads} heads of {len}, {visible} visible");
            });
        }
    }
}
