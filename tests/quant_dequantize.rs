//! Block decoding of every tensor encoding against the reference: the `gguf` Python package's
//! dequantization, on random blocks (every bit of every field, sane f16 scales), special float
//! values, and blocks taken from SmolLM2-135M-Instruct's Q4_1 file
//! (`tests/fixtures/quant/dequantize_reference.json`, made by
//! `scripts/reference/make_quant_fixtures.py`). Equal bit for bit, NaNs by class.

use serde::Deserialize;
use sotto::kernels::quant::kernels::dequantize_row;
use sotto::kernels::quant::GgmlType;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    #[serde(rename = "type")]
    name: String,
    ggml_type: u32,
    source: String,
    /// The encoded blocks, hex.
    bytes: String,
    /// gguf's dequantization, little-endian f32, hex.
    f32_le: String,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn every_encoding_decodes_as_the_gguf_package_does() {
    let text = include_str!("fixtures/quant/dequantize_reference.json");
    let fixture: Fixture = serde_json::from_str(text).expect("fixture JSON");
    let mut seen = std::collections::HashSet::new();
    for case in &fixture.cases {
        let what = format!("{} ({})", case.name, case.source);
        let dtype = GgmlType::from_id(case.ggml_type, &case.name).expect(&what);
        seen.insert(dtype);
        let bytes = hex(&case.bytes);
        let expected: Vec<f32> = hex(&case.f32_le)
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(
            bytes.len() / dtype.block_bytes() * dtype.block_len(),
            expected.len(),
            "{what}: value count"
        );
        let mut got = vec![0f32; expected.len()];
        dequantize_row(dtype, &bytes, &mut got);
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert!(
                g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan()),
                "{what}: value {i} is {g:e} ({:#010x}), gguf gives {e:e} ({:#010x})",
                g.to_bits(),
                e.to_bits()
            );
        }
    }
    // Every encoding this crate reads is covered (f32 is its own bytes).
    for dtype in [
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q2K,
        GgmlType::Q3K,
        GgmlType::Q4K,
        GgmlType::Q5K,
        GgmlType::Q6K,
    ] {
        assert!(seen.contains(&dtype), "no reference blocks for {dtype:?}");
    }
}

/// An encoding this crate does not read is refused with its id and the supported list.
#[test]
fn unknown_encodings_are_named() {
    let err = GgmlType::from_id(16, "blk.0.ffn_up.weight").unwrap_err();
    let message = err.to_string();
    assert!(message.contains("blk.0.ffn_up.weight") && message.contains("type 16"));
    assert!(message.contains("q4_1") && message.contains("q5_k") && message.contains("bf16"));
}
