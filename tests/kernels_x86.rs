//! The x86_64 AVX2 kernels against the portable ones they stand for: the q8_0 tile kernel bit
//! for bit (Whisper's shapes, every token count, scales decoded in the kernel or before, extreme
//! values), the one-row q8_0 dot product bit for bit too. The machines this project runs on
//! have AVX2: the test fails, rather than passing on the portable path, where they are missing.
#![cfg(target_arch = "x86_64")]

use sotto::kernels::quant::encode::quantize_row;
use sotto::kernels::quant::kernels::{self, QuantizedActivations};
use sotto::kernels::quant::packed::{self, PackedTile, Tile, TILE_ROWS};
use sotto::kernels::quant::{x86, GgmlType, TokenGroup};

/// Deterministic values in [-0.5, 0.5) with an outlier every 97.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            if i % 97 == 0 {
                u * 20.0
            } else {
                u
            }
        })
        .collect()
}

#[test]
fn this_machine_runs_the_avx2_kernels() {
    assert!(
        x86::available(),
        "no AVX2, FMA and F16C: the native build runs the portable kernels"
    );
}

#[test]
fn q8_0_tiles_equal_the_portable_kernel_bit_for_bit() {
    for cols in [32, 384, 1536] {
        let rows: Vec<Vec<u8>> = (0..TILE_ROWS as u64)
            .map(|seed| {
                let mut w = values(cols, 100 + seed);
                // The extremes of the encoding: a block whose largest value is negative.
                if seed == 3 {
                    w[..32].iter_mut().for_each(|v| *v = -v.abs());
                }
                let mut bytes = Vec::new();
                quantize_row(GgmlType::Q8_0, &w, &mut bytes);
                bytes
            })
            .collect();
        let tokens: Vec<Vec<f32>> = (0..4).map(|k| values(cols, 200 + k)).collect();
        let group = TokenGroup::quantize([&tokens[0], &tokens[1], &tokens[2], &tokens[3]]);
        let mut scratch = PackedTile::default();
        for n_rows in [TILE_ROWS, 5] {
            let refs: Vec<&[u8]> = rows[..n_rows].iter().map(|r| &r[..]).collect();
            let tile = scratch.pack(GgmlType::Q8_0, &refs);
            let mut scales = Vec::new();
            tile.decode_scales(&mut scales);
            let decoded = Tile {
                scales: Some(&scales),
                ..tile
            };
            for t in [tile, decoded] {
                for n in 1..=4 {
                    let fast = x86::dot_packed_group(t, &group, n).expect("AVX2");
                    let portable = packed::dot_packed_group(t, &group, n);
                    for (k, (f, p)) in fast.iter().zip(&portable).enumerate() {
                        let bits = |v: &[f32; TILE_ROWS]| v.map(f32::to_bits);
                        assert_eq!(
                            bits(f),
                            bits(p),
                            "{cols} cols, {n_rows} rows, token {k} of {n}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn q8_0_row_dot_equals_the_portable_kernel_bit_for_bit() {
    for seed in 0..16 {
        let cols = 384 * (1 + seed as usize % 4);
        let a = QuantizedActivations::q8_0(&values(cols, 300 + seed));
        let mut w = Vec::new();
        quantize_row(GgmlType::Q8_0, &values(cols, 400 + seed), &mut w);
        // Largest-magnitude weights: -128 is a valid stored byte too.
        w[2..34].iter_mut().for_each(|b| *b = 0x80);
        let fast = x86::dot_q8_0_q8_0(&w, &a).expect("AVX2");
        let portable = kernels::dot_q8_0_q8_0(&w, &a);
        assert_eq!(
            fast.to_bits(),
            portable.to_bits(),
            "{fast} against {portable}"
        );
    }
}

/// Softmax and GELU run built for AVX2 here: their values are still the portable steps', bit
/// for bit (the maximum, `exp_f32` of each value minus it, the sum in eight lanes added
/// pairwise then the tail in order, each value divided by it; `x/2 · (1 + erf_f32(x/√2))`).
#[test]
fn softmax_and_gelu_built_for_avx2_compute_the_portable_steps() {
    use sotto::kernels::elementwise::{erf_f32, gelu_erf_in_place, softmax_in_place};
    use sotto::kernels::quant::kernels::exp_f32;
    for n in [1, 7, 8, 63, 1500] {
        let mut x: Vec<f32> = values(n, 500 + n as u64).iter().map(|v| v * 30.0).collect();
        x[n / 2] = f32::NEG_INFINITY;
        let max = x
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
        let e: Vec<f32> = x.iter().map(|v| exp_f32(v - max)).collect();
        let mut lanes = [0f32; 8];
        let whole = n / 8 * 8;
        for chunk in e[..whole].chunks_exact(8) {
            lanes.iter_mut().zip(chunk).for_each(|(s, v)| *s += v);
        }
        for width in [4, 2, 1] {
            for i in 0..width {
                lanes[i] += lanes[i + width];
            }
        }
        let sum = e[whole..].iter().fold(lanes[0], |s, v| s + v);
        let expected: Vec<u32> = e.iter().map(|v| (v / sum).to_bits()).collect();
        let mut got = x.clone();
        softmax_in_place(&mut got);
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            expected,
            "{n}"
        );

        x[n / 2] = -3.0;
        let expected: Vec<u32> = x
            .iter()
            .map(|&v| (0.5 * v * (1.0 + erf_f32(v * std::f32::consts::FRAC_1_SQRT_2))).to_bits())
            .collect();
        let mut got = x.clone();
        gelu_erf_in_place(&mut got);
        assert_eq!(
            got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            expected,
            "{n}"
        );
    }
}
