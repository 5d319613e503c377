//! Matrix products split over helper threads equal the single-threaded ones bit for bit: each
//! output is computed by the same kernel in the same order, only on another thread.
//! (One test in its own binary: it measures the serial results before any helper exists.)

use sotto::llm::quant::encode::quantize_row;
use sotto::llm::quant::{GgmlType, QMatrix};
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

#[test]
fn parallel_products_equal_serial_ones() {
    // 203 rows: not a multiple of the row tile; 9 tokens: two groups of four and one left over.
    let (rows, cols) = (203, 1024);
    let cases: Vec<(GgmlType, usize)> =
        [GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4K, GgmlType::F32]
            .into_iter()
            .flat_map(|dtype| [(dtype, 1), (dtype, 9)])
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
    let run = || -> Vec<Vec<f32>> {
        cases
            .iter()
            .zip(&matrices)
            .map(|(&(_, n_tokens), m)| {
                let mut out = vec![f32::NAN; n_tokens * rows];
                m.matmul(&values(n_tokens * cols, 11), n_tokens, &mut out);
                out
            })
            .collect()
    };
    assert_eq!(parallel::thread_count(), 1);
    let serial = run();
    parallel::spawn_native_helpers(2);
    assert_eq!(parallel::thread_count(), 3);
    for _ in 0..20 {
        let split = run();
        for ((dtype, n_tokens), (a, b)) in cases.iter().zip(serial.iter().zip(&split)) {
            assert!(
                b.iter().all(|v| v.is_finite()),
                "{dtype:?}: every output written"
            );
            assert!(
                a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{dtype:?} × {n_tokens} tokens: parallel differs from serial"
            );
        }
    }
}
