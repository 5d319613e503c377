//! Work split over helper threads equals the single-threaded work bit for bit: each output (a
//! matrix product's row, an attention head) is computed by the same code in the same order, only
//! on another thread. One test in its own binary: it measures the serial results before any
//! helper exists, and helpers cannot be removed once started.

mod llm_common;

use sotto::kernels::quant::encode::quantize_row;
use sotto::kernels::quant::{GgmlType, QMatrix};
use sotto::parallel;
use std::sync::Arc;

fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect()
}

/// Products of every kernel family, for one token (decode) and for nine (prefill), and longer
/// prefills for the kernels with token groups.
fn matmul_cases() -> impl Fn() -> Vec<Vec<f32>> {
    // 203 rows: not a multiple of the row tile; 9 tokens: two groups of four and one left over;
    // 67 tokens: enough groups for their quantization to be split too, and three left over.
    let (rows, cols) = (203, 1024);
    let cases: Vec<(GgmlType, usize)> =
        [GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4K, GgmlType::F32]
            .into_iter()
            .flat_map(|dtype| [(dtype, 1), (dtype, 9)])
            .chain([(GgmlType::Q8_0, 67), (GgmlType::Q4_0, 67)])
            .collect();
    let matrices: Vec<QMatrix> = cases
        .iter()
        .map(|&(dtype, _)| {
            let mut bytes = Vec::new();
            values(rows * cols, 7)
                .chunks(cols)
                .for_each(|row| quantize_row(dtype, row, &mut bytes));
            QMatrix::new(Arc::new(bytes), 0, rows, cols, dtype)
        })
        .collect();
    move || -> Vec<Vec<f32>> {
        cases
            .iter()
            .zip(&matrices)
            .map(|(&(_, n_tokens), m)| {
                let mut out = vec![f32::NAN; n_tokens * rows];
                m.matmul(&values(n_tokens * cols, 11), n_tokens, &mut out);
                out
            })
            .collect()
    }
}

/// Whole forward passes of the tiny chat models: a 132-token prompt (its attention is split by
/// (token, head)), then 5 more tokens on top of the cache; the logits of every position.
fn forward_cases() -> impl Fn() -> Vec<Vec<f32>> {
    let models: Vec<_> = [("llama", "q8_0"), ("qwen2", "f32")]
        .into_iter()
        .map(|(family, quant)| {
            let prompt = llm_common::reference(family).prompt_ids.repeat(3);
            (llm_common::load(family, quant), prompt)
        })
        .collect();
    move || {
        models
            .iter()
            .flat_map(|(chat, prompt)| {
                let mut cache = chat.model.new_cache();
                let first = chat.model.forward(prompt, &mut cache, true).unwrap();
                let next = chat.model.forward(&prompt[..5], &mut cache, true).unwrap();
                [first, next]
            })
            .collect()
    }
}

fn assert_same_bits(what: &str, serial: &[Vec<f32>], split: &[Vec<f32>]) {
    for (i, (a, b)) in serial.iter().zip(split).enumerate() {
        assert!(
            b.iter().all(|v| v.is_finite()),
            "{what} {i}: every output written"
        );
        assert!(
            a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{what} {i}: parallel differs from serial"
        );
    }
}

#[test]
fn threads_change_no_bit() {
    let (products, forwards) = (matmul_cases(), forward_cases());
    assert_eq!(parallel::thread_count(), 1);
    let (serial_products, serial_forwards) = (products(), forwards());
    parallel::spawn_native_helpers(2);
    assert_eq!(parallel::thread_count(), 3);
    for _ in 0..10 {
        assert_same_bits("product", &serial_products, &products());
        assert_same_bits("forward pass", &serial_forwards, &forwards());
    }
}
