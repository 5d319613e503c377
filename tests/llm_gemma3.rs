//! Gemma 3's math against HF transformers on a tiny random Gemma 3 (f16 weights, f32 arithmetic;
//! `scripts/reference/gemma3_tiny.py`): a 12-token prompt over a sliding window of 4, so the
//! local layers' window, both rotary bases, the q/k norms, the pre- and post-norms, GeGLU and the
//! embedding scale all move the logits. The real 270M file is checked in `tests/llm_real.rs`.

mod llm_common;

use llm_common::{fixture, logits, max_abs_diff};
use sotto::gguf::GgufFile;
use sotto::llm::sampling::argmax;
use sotto::llm::{Arch, Model};

struct Reference {
    prompt: Vec<u32>,
    greedy: Vec<u32>,
    /// HF's logits at every position of `greedy`.
    logits: Vec<f32>,
    vocab: usize,
}

fn reference() -> Reference {
    let text = std::fs::read_to_string(fixture("gemma3.reference.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ids = |key: &str| -> Vec<u32> {
        let ids = json[key].as_array().unwrap().iter();
        ids.map(|v| v.as_u64().unwrap() as u32).collect()
    };
    Reference {
        prompt: ids("prompt_ids"),
        greedy: ids("greedy_ids"),
        logits: logits("gemma3-f16.hf_logits.f32"),
        vocab: json["vocab"].as_u64().unwrap() as usize,
    }
}

fn model() -> Model {
    let bytes = std::fs::read(fixture("gemma3-f16.gguf")).unwrap();
    let gguf = GgufFile::parse(&bytes).unwrap();
    Model::load(&gguf, bytes).unwrap()
}

/// HF's logits at positions `range`.
fn hf_rows(r: &Reference, range: std::ops::Range<usize>) -> &[f32] {
    &r.logits[range.start * r.vocab..range.end * r.vocab]
}

/// The logits are within f32 rounding of HF's: 1e-5 of their largest magnitude (the sums run
/// in another order; f16 weights are exact in both).
fn assert_close(ours: &[f32], hf: &[f32], what: &str) {
    let scale = hf.iter().fold(1f32, |m, v| m.max(v.abs()));
    let diff = max_abs_diff(ours, hf);
    println!("{what}: max abs diff {diff:e} (largest logit {scale})");
    assert!(
        diff < 1e-5 * scale,
        "{what}: {diff} against logits up to {scale}"
    );
}

#[test]
fn config_reads_the_sliding_window() {
    let m = model();
    assert_eq!(m.config.architecture, Arch::Gemma3);
    assert_eq!(m.config.attention_sliding_window, Some(4));
    assert_eq!(m.config.q_dim(), 64);
    assert_eq!(m.config.embedding_length, 32);
}

#[test]
fn prompt_logits_match_hf() {
    let (m, r) = (model(), reference());
    let ours = m.forward(&r.prompt, &mut m.new_cache(), true).unwrap();
    assert_close(&ours, hf_rows(&r, 0..r.prompt.len()), "prompt");
}

/// A prompt fed in three pieces: later pieces attend to cached positions, some of them
/// already outside the local layers' window.
#[test]
fn prompt_in_pieces_matches_hf() {
    let (m, r) = (model(), reference());
    let mut cache = m.new_cache();
    let mut at = 0;
    for len in [5, 4, 3] {
        let ours = m
            .forward(&r.prompt[at..at + len], &mut cache, true)
            .unwrap();
        assert_close(&ours, hf_rows(&r, at..at + len), &format!("piece at {at}"));
        at += len;
    }
    assert_eq!(at, r.prompt.len());
}

/// Greedy decoding token by token through the KV cache: every step's logits are HF's, so the
/// ids are too.
#[test]
fn greedy_decoding_matches_hf() {
    let (m, r) = (model(), reference());
    let mut cache = m.new_cache();
    let mut logits = m.forward(&r.prompt, &mut cache, false).unwrap();
    let mut ids = r.prompt.clone();
    while ids.len() < r.greedy.len() {
        let pos = ids.len() - 1;
        assert_close(
            &logits,
            hf_rows(&r, pos..pos + 1),
            &format!("step at {pos}"),
        );
        let next = argmax(&logits);
        ids.push(next);
        logits = m.forward(&[next], &mut cache, false).unwrap();
    }
    assert_eq!(ids, r.greedy);
}

/// The tanh-approximate GELU (GeGLU's) against its formula in f64: within f32 rounding plus the
/// absolute error of 1 + tanh near tanh = −1 (about 2e-7 of x/2), and 0 or x at the extremes.
#[test]
fn gelu_tanh_matches_the_formula() {
    use sotto::kernels::elementwise::gelu_tanh_in_place;
    let formula = |x: f64| {
        let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
        0.5 * x * (1.0 + u.tanh())
    };
    let mut x = -12.0f32;
    while x < 12.0 {
        let mut ours = [x];
        gelu_tanh_in_place(&mut ours);
        let expected = formula(f64::from(x));
        let error = (f64::from(ours[0]) - expected).abs();
        let bound = 0.5 * f64::from(x.abs()) * 2e-7 + 1e-6 * expected.abs() + 1e-9;
        assert!(
            error < bound,
            "gelu_tanh({x}): {} against {expected}",
            ours[0]
        );
        x += 0.000_73;
    }
    let mut extremes = [1e30f32, -1e30, f32::INFINITY, 0.0, f32::NAN];
    gelu_tanh_in_place(&mut extremes);
    assert_eq!(extremes[..4], [1e30, 0.0, f32::INFINITY, 0.0]);
    assert!(extremes[4].is_nan());
}
