//! Tests that run the engine compiled to wasm32 (in Node, through wasm-bindgen-test-runner):
//! `cargo xtask test` runs them with `--target wasm32-unknown-unknown --test wasm`.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::wasm_bindgen_test;

mod attention_common;
mod quant_common;
use attention_common::{for_each_group, for_each_visible, Case};
use quant_common::{
    compare_with_one_token_kernel, one_token_dot,
    products_with_non_finite_scales_equal_the_one_token_kernel, TILED,
};

#[wasm_bindgen_test]
fn reports_version_and_simd() {
    assert_eq!(sotto::web::version(), env!("CARGO_PKG_VERSION"));
    assert!(
        sotto::web::simd_enabled(),
        "the wasm build must be compiled with +simd128"
    );
}

#[wasm_bindgen_test]
fn sha256_streams_like_a_one_shot_digest() {
    let mut hasher = sotto::web::Sha256Hasher::new();
    hasher.update(b"hello ");
    hasher.update(b"world");
    assert_eq!(
        hasher.hex_digest(),
        "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    );
    assert_eq!(hasher.bytes(), 11.0);
    hasher.reset();
    assert_eq!(
        hasher.hex_digest(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[wasm_bindgen_test]
fn model_files_are_recognised_and_damage_is_named() {
    // A whole (if empty) GGUF v3: no tensors, one metadata entry (a string).
    let mut gguf = b"GGUF".to_vec();
    gguf.extend(3u32.to_le_bytes());
    gguf.extend(0u64.to_le_bytes());
    gguf.extend(1u64.to_le_bytes());
    let (key, value) = ("general.architecture", "llama");
    gguf.extend((key.len() as u64).to_le_bytes());
    gguf.extend(key.as_bytes());
    gguf.extend(8u32.to_le_bytes());
    gguf.extend((value.len() as u64).to_le_bytes());
    gguf.extend(value.as_bytes());
    gguf.resize(gguf.len().next_multiple_of(32), 0);
    let report = sotto::web::inspect_model_file("m.gguf", &gguf);
    assert!(report.is_ok(), "an empty GGUF is read whole");
    let mut corrupt = gguf.clone();
    corrupt[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(sotto::web::inspect_model_file("m.gguf", &corrupt).is_err());
    assert!(sotto::web::inspect_model_file("m.gguf", &gguf[..10]).is_err());
    assert!(sotto::web::inspect_model_file("config.json", br#"{"d_model": 64}"#).is_ok());
    assert!(sotto::web::inspect_model_file("config.json", b"{ not json").is_err());
    assert!(sotto::web::inspect_model_file("empty.bin", b"").is_err());
    let mut safetensors = 2u64.to_le_bytes().to_vec();
    safetensors.extend(b"{}");
    assert!(sotto::web::inspect_model_file("model.safetensors", &safetensors).is_ok());
}

/// The simd128 kernels, which the dispatching `vec_dot_*` functions run in this build, against the
/// portable kernels: the q8_0/q4_0 one-token dots within f32 reordering, and the tile kernel
/// (a full tile and a partial one, packed by the simd128 transposes, of every 32-value
/// encoding) bit for bit, since it adds the same block sums in the same order. (This replaced
/// the wasm benchmark's own self-test.)
#[wasm_bindgen_test]
fn simd_kernels_match_the_portable_kernels() {
    use sotto::kernels::quant::encode::quantize_row;
    use sotto::kernels::quant::kernels::{self, QuantizedActivations};
    use sotto::kernels::quant::packed::{self, PackedTile};
    use sotto::kernels::quant::{
        vec_dot_packed_group, vec_dot_q4_0, vec_dot_q8_0, GgmlType, TokenGroup,
    };
    let values = |n: usize, seed: usize| -> Vec<f32> {
        (0..n)
            .map(|i| {
                (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5 - 1.0)
                    * if i % 97 == 0 { 9.0 } else { 1.0 }
            })
            .collect()
    };
    let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * (1.0 + b.abs());
    let a = QuantizedActivations::q8_0(&values(1024, 1));
    let four: Vec<QuantizedActivations> = (0..4)
        .map(|k| QuantizedActivations::q8_0(&values(1024, 20 + k)))
        .collect();
    let group = TokenGroup::new([&four[0], &four[1], &four[2], &four[3]]);
    let mut tile = PackedTile::default();
    for dtype in TILED {
        let rows: Vec<Vec<u8>> = (2..10)
            .map(|seed| {
                let mut bytes = Vec::new();
                quantize_row(dtype, &values(1024, seed), &mut bytes);
                bytes
            })
            .collect();
        for w in &rows {
            let (simd, portable) = match dtype {
                GgmlType::Q8_0 => (vec_dot_q8_0(w, &a), kernels::dot_q8_0_q8_0(w, &a)),
                GgmlType::Q4_0 => (vec_dot_q4_0(w, &a), kernels::dot_q4_0_q8_0(w, &a)),
                _ => continue,
            };
            assert!(
                close(simd, portable),
                "{dtype:?}: {simd} against {portable}"
            );
        }
        for n_rows in [8, 5] {
            let tile_rows: Vec<&[u8]> = rows[..n_rows].iter().map(|r| &r[..]).collect();
            let tile = tile.pack(dtype, &tile_rows);
            let mut scales = Vec::new();
            tile.decode_scales(&mut scales);
            let decoded = packed::Tile {
                scales: Some(&scales),
                ..tile
            };
            for (tokens, tile) in (1..=4).flat_map(|t| [(t, tile), (t, decoded)]) {
                let simd = vec_dot_packed_group(tile, &group, tokens);
                let portable = packed::dot_packed_group(tile, &group, tokens);
                assert_eq!(simd, portable, "{dtype:?}: {n_rows} rows, {tokens} tokens");
                for (k, a) in four.iter().enumerate().take(tokens) {
                    for r in 0..n_rows {
                        let one_token = one_token_dot(dtype, &rows[r], a);
                        assert_eq!(simd[k][r], one_token, "{dtype:?}: row {r}, token {k}");
                    }
                }
            }
        }
    }
}

/// The packer's four-at-a-time f16 scale decoding equals the scalar one bit for bit on all 65,536
/// f16 patterns: zeros, subnormals, normals, infinities and NaN payloads, both signs.
#[wasm_bindgen_test]
fn simd_f16_decoding_equals_the_scalar_decoding_on_every_pattern() {
    use core::arch::wasm32::{u32x4, u32x4_extract_lane};
    use sotto::kernels::quant::kernels::f16_bits_to_f32;
    use sotto::kernels::quant::simd128::f16_to_f32x4;
    for h in (0..=u16::MAX as u32).step_by(4) {
        let v = f16_to_f32x4(u32x4(h, h + 1, h + 2, h + 3));
        let lanes = [
            u32x4_extract_lane::<0>(v),
            u32x4_extract_lane::<1>(v),
            u32x4_extract_lane::<2>(v),
            u32x4_extract_lane::<3>(v),
        ];
        for (k, bits) in lanes.into_iter().enumerate() {
            let expected = f16_bits_to_f32((h + k as u32) as u16).to_bits();
            assert_eq!(bits, expected, "f16 {:#06x}", h + k as u32);
        }
    }
}

/// The prefill kernel's in-loop decoding of finite scales equals the full decoding on all 63,488
/// finite f16 patterns, both signs.
#[wasm_bindgen_test]
fn simd_finite_f16_decoding_equals_the_full_decoding_on_finite_patterns() {
    use core::arch::wasm32::{u32x4, u32x4_extract_lane};
    use sotto::kernels::quant::simd128::{f16_to_f32x4, finite_f16_to_f32x4};
    for h in (0..0x7c00u32).chain(0x8000..0xfc00).step_by(4) {
        let lanes = |v| {
            [
                u32x4_extract_lane::<0>(v),
                u32x4_extract_lane::<1>(v),
                u32x4_extract_lane::<2>(v),
                u32x4_extract_lane::<3>(v),
            ]
        };
        let x = u32x4(h, h + 1, h + 2, h + 3);
        assert_eq!(
            lanes(finite_f16_to_f32x4(x)),
            lanes(f16_to_f32x4(x)),
            "f16 {h:#06x}"
        );
    }
}

/// In wasm, the in-place tiles decode their finite scales in the kernel and the per-product
/// tiles carry decoded ones: a scale that is not finite still gives the one-token kernel's
/// products exactly (the shared case in `quant_common`).
#[wasm_bindgen_test]
fn simd_products_with_non_finite_scales_equal_the_one_token_kernel() {
    products_with_non_finite_scales_equal_the_one_token_kernel(|n| {
        (0..n)
            .map(|i| ((i * 53) % 97) as f32 / 48.0 - 1.0)
            .collect()
    });
}

/// The tile kernel decodes a tile's f16 scales in its loop as scaled-down f32 values and scales
/// the activations' up instead: bit for bit the portable products for every finite f16 pattern
/// of the scales and minimums (subnormal, signed zeros, the largest), each tile's 8 rows × 2
/// blocks taking 16 of them, in turn, with 1 to 4 tokens.
#[wasm_bindgen_test]
fn simd_in_loop_scales_give_the_portable_products_for_every_finite_scale() {
    use sotto::kernels::quant::encode::quantize_row;
    use sotto::kernels::quant::packed::{self, PackedTile};
    use sotto::kernels::quant::{vec_dot_packed_group, TokenGroup};
    let values = |n: usize, seed: usize| -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5 - 1.0)
            .collect()
    };
    let x = values(256, 1);
    let group = TokenGroup::quantize([&x[..64], &x[64..128], &x[128..192], &x[192..]]);
    let finite: Vec<u16> = (0..=u16::MAX).filter(|h| h & 0x7c00 != 0x7c00).collect();
    let mut scratch = PackedTile::default();
    for dtype in TILED {
        let rows: Vec<Vec<u8>> = (2..10)
            .map(|seed| {
                let mut bytes = Vec::new();
                quantize_row(dtype, &values(64, seed), &mut bytes);
                bytes
            })
            .collect();
        let rows: Vec<&[u8]> = rows.iter().map(|r| &r[..]).collect();
        let mut bytes = scratch.pack(dtype, &rows).bytes.to_vec();
        let format = packed::TileFormat::of(dtype).unwrap();
        // Scales (and minimums) per tile: 8 rows × 2 blocks, × 2 with minimums.
        let per_tile = format.decoded_len() * 2;
        for patterns in finite.chunks(per_tile) {
            for (i, &h) in patterns.iter().enumerate() {
                let (block, at) = (i / format.decoded_len(), i % format.decoded_len());
                let offset = block * format.block_bytes() + 2 * at;
                bytes[offset..offset + 2].copy_from_slice(&h.to_le_bytes());
            }
            let tile = packed::Tile {
                format,
                bytes: &bytes,
                scales: None,
            };
            for tokens in 1..=4 {
                let simd = vec_dot_packed_group(tile, &group, tokens);
                let portable = packed::dot_packed_group(tile, &group, tokens);
                let same = simd
                    .iter()
                    .flatten()
                    .zip(portable.iter().flatten())
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(
                    same,
                    "{dtype:?}, scales {patterns:x?}: {simd:?} against {portable:?}"
                );
            }
        }
    }
}

#[wasm_bindgen_test]
fn simd_quantization_equals_the_portable_quantization() {
    use sotto::kernels::quant::kernels::{quantize_block_q8_1, QuantizedActivations};
    use sotto::kernels::quant::TokenGroup;
    let mut blocks: Vec<[f32; 32]> = (0..66)
        .map(|b| {
            std::array::from_fn(|i| {
                ((((i + 32 * b) * 7919) % 2003) as f32 / 1001.5 - 1.0) * (1 + b % 5) as f32
            })
        })
        .collect();
    // Exact ties after scaling: amax 127 gives an inverse scale of 1.
    blocks.push(std::array::from_fn(|i| {
        if i == 0 {
            127.0
        } else {
            i as f32 - 15.5
        }
    }));
    blocks.push([0.0; 32]);
    blocks.push(std::array::from_fn(|i| if i % 2 == 0 { -0.0 } else { 0.0 }));
    blocks.push(std::array::from_fn(|i| {
        if i == 3 {
            f32::NAN
        } else {
            i as f32
        }
    }));
    blocks.push(std::array::from_fn(|i| {
        if i == 0 {
            f32::NAN
        } else {
            -(i as f32)
        }
    }));
    blocks.push(std::array::from_fn(|i| {
        if i == 5 {
            f32::INFINITY
        } else {
            1.0
        }
    }));
    blocks.push(std::array::from_fn(|i| {
        if i == 5 {
            f32::NEG_INFINITY
        } else {
            -1.0
        }
    }));
    blocks.push(std::array::from_fn(|i| {
        f32::from_bits(1 + i as u32) * if i % 3 == 0 { -1.0 } else { 1.0 }
    }));
    blocks.push(std::array::from_fn(|i| {
        if i == 7 {
            1e30
        } else {
            1e-30 * i as f32
        }
    }));
    blocks.push(std::array::from_fn(|i| {
        3e38 * if i % 2 == 0 { 1.0 } else { -1.0 }
    }));
    let flat: Vec<f32> = blocks.iter().flatten().copied().collect();
    let reference: Vec<(f32, f32, [i8; 32])> =
        blocks.iter().map(|b| quantize_block_q8_1(b)).collect();
    let rows = QuantizedActivations::q8_0(&flat);
    let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    for (b, (d, s, q)) in reference.iter().enumerate() {
        assert_eq!(rows.scales[b].to_bits(), d.to_bits(), "scale of block {b}");
        assert!(same(rows.block_sums[b], *s), "sum of block {b}");
        assert_eq!(&rows.qs[32 * b..32 * b + 32], q, "values of block {b}");
    }
    // Four rows of 19 blocks each (all 76 blocks above), grouped.
    let row = |k: usize| &flat[k * 19 * 32..(k + 1) * 19 * 32];
    let group = TokenGroup::quantize([row(0), row(1), row(2), row(3)]);
    for b in 0..19 {
        for k in 0..4 {
            let (d, s, q) = &reference[k * 19 + b];
            assert_eq!(group.scales[4 * b + k].to_bits(), d.to_bits());
            assert!(same(group.block_sums[4 * b + k], *s));
            let wide: Vec<i16> = q.iter().map(|&v| i16::from(v)).collect();
            assert_eq!(&group.qs[(4 * b + k) * 32..(4 * b + k + 1) * 32], &wide[..]);
        }
    }
}

/// Whole products in wasm equal the portable one-token kernel, token by token, for every 32-value
/// encoding and 19 rows (two tiles and a part): with 9, 7 and 6 tokens (packed tiles meeting a
/// first group, which keeps the tile's decoded scales and widened values, then the later groups
/// of 4, 1, 3 or 2 tokens, which read them) exactly, and with 3 tokens (one-token rows, unless
/// packed) exactly too, except q8_0's and q4_0's simd128 row kernels, within f32 reordering.
#[wasm_bindgen_test]
fn quantized_products_equal_the_portable_kernel_row_by_row() {
    use sotto::kernels::quant::encode::quantize_row;
    use sotto::kernels::quant::GgmlType;
    let (rows, cols) = (19, 96);
    let value =
        |i: usize| ((i * 7919 % 2003) as f32 / 1001.5 - 1.0) * if i % 37 == 0 { 4.0 } else { 1.0 };
    for dtype in TILED {
        let mut bytes = Vec::new();
        for r in 0..rows {
            let row: Vec<f32> = (0..cols).map(|c| value(r * 131 + c * 3 + 1)).collect();
            quantize_row(dtype, &row, &mut bytes);
        }
        let simd_rows = matches!(dtype, GgmlType::Q8_0 | GgmlType::Q4_0);
        for tokens in [9, 7, 6, 3] {
            let xs: Vec<f32> = (0..tokens * cols).map(|i| value(i + 5)).collect();
            let check = |got: f32, expected: f32, what: String| {
                if tokens >= 4 || !simd_rows {
                    assert_eq!(got, expected, "{what}");
                }
                assert!(
                    (got - expected).abs() <= 1e-5 * (1.0 + expected.abs()),
                    "{what}: {got} against {expected}"
                );
            };
            compare_with_one_token_kernel(dtype, &bytes, (rows, cols), &xs, tokens, check);
        }
    }
}

/// The k-quants' products in wasm (q4_K, q5_K and q6_K through their simd128 kernel, the others'
/// sub-blocks' integer dots in simd128) equal the portable dots bit for bit, for every k-quant,
/// through the matmul with 1 to 9 tokens (the kernel takes tokens four at a time) over 11 rows
/// (a whole tile and a part; two super-blocks per row, values spread across every bit).
#[wasm_bindgen_test]
fn k_quant_products_equal_the_portable_dots() {
    use sotto::kernels::quant::encode::quantize_row;
    use sotto::kernels::quant::GgmlType;
    let (rows, cols) = (11, 512);
    let value =
        |i: usize| ((i * 7919 % 2003) as f32 / 1001.5 - 1.0) * if i % 37 == 0 { 4.0 } else { 1.0 };
    for dtype in [
        GgmlType::Q2K,
        GgmlType::Q3K,
        GgmlType::Q4K,
        GgmlType::Q5K,
        GgmlType::Q6K,
    ] {
        let mut quantized = Vec::new();
        for r in 0..rows {
            let row: Vec<f32> = (0..cols).map(|c| value(r * 131 + c * 3 + 1)).collect();
            quantize_row(dtype, &row, &mut quantized);
        }
        // Every bit pattern of the values, scales and minimums too: random bytes, with finite
        // f16 super-block scales (d and dmin, at their offsets in the block) of either sign.
        let mut state = 0x2545_f491_u32;
        let mut random: Vec<u8> = (0..quantized.len())
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            })
            .collect();
        let (block_bytes, scale_at): (usize, &[usize]) = match dtype {
            GgmlType::Q2K => (84, &[80, 82]),
            GgmlType::Q3K => (110, &[108]),
            GgmlType::Q4K => (144, &[0, 2]),
            GgmlType::Q5K => (176, &[0, 2]),
            _ => (210, &[208]),
        };
        for block in random.chunks_exact_mut(block_bytes) {
            for &at in scale_at {
                let bits = 0x2c00 | u16::from(block[at]) | (u16::from(block[at + 1] & 0x80) << 8);
                block[at..at + 2].copy_from_slice(&bits.to_le_bytes());
            }
        }
        for bytes in [quantized, random] {
            k_quant_matmul_equals_the_portable_dots(dtype, &bytes, (rows, cols), &value);
        }
    }
}

/// [`k_quant_products_equal_the_portable_dots`] of one matrix.
fn k_quant_matmul_equals_the_portable_dots(
    dtype: sotto::kernels::quant::GgmlType,
    bytes: &[u8],
    (rows, cols): (usize, usize),
    value: &dyn Fn(usize) -> f32,
) {
    use sotto::kernels::quant::kernels::QuantizedActivations;
    use sotto::kernels::quant::kquants::dot_portable;
    use sotto::kernels::quant::QMatrix;
    use std::sync::Arc;
    let row_len = bytes.len() / rows;
    let matrix = QMatrix::new(Arc::new(bytes.to_vec()), 0, rows, cols, dtype);
    for tokens in [1, 2, 3, 4, 5, 9] {
        let xs: Vec<f32> = (0..tokens * cols).map(|i| value(i + 5)).collect();
        let mut out = vec![0f32; tokens * rows];
        matrix.matmul(&xs, tokens, &mut out);
        for (t, x) in xs.chunks_exact(cols).enumerate() {
            let a = QuantizedActivations::q8_k(x);
            for r in 0..rows {
                let expected = dot_portable(dtype, &bytes[r * row_len..][..row_len], &a);
                assert_ne!(expected, 0.0, "{dtype:?}: a product that tests something");
                assert_eq!(out[t * rows + r], expected, "{dtype:?}: token {t}, row {r}");
            }
        }
    }
}

/// The simd128 attention of the query heads of one key-value head together (two keys and up to
/// three heads at a time) equals each head's alone (four keys at a time) bit for bit, for groups
/// of 1 to 7 heads and odd and even visible lengths.
#[wasm_bindgen_test]
fn simd_grouped_heads_equal_each_head_alone() {
    for len in [64, 12] {
        for heads in 1..=7 {
            for_each_group(len, heads, 9, |visible, grouped, alone| {
                assert_eq!(grouped, alone, "{heads} heads of {len}, {visible} visible");
            });
        }
    }
}

/// The simd128 attention equals the portable steps that define it (scores, softmax, weighted
/// sum) bit for bit, for heads of 64 and 12 floats (32 at a time, then four at a time) and
/// visible lengths that do and do not fill blocks of four keys.
#[wasm_bindgen_test]
fn simd_attention_equals_the_portable_steps_exactly() {
    use sotto::kernels::attention::portable;
    use sotto::kernels::elementwise::softmax_in_place;
    for len in [64, 12] {
        for_each_visible(len, 9, |c: &Case, visible, simd| {
            let mut scores = vec![0f32; visible];
            portable::key_scores(&c.q, &c.keys, c.head, c.scale, &mut scores);
            softmax_in_place(&mut scores);
            let mut expected = vec![0f32; len];
            portable::weighted_values(&scores, &c.vals, c.head, &mut expected);
            assert_eq!(simd, expected, "head of {len}, {visible} visible");
        });
    }
}
