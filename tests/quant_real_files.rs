//! The tensor encodings on the real files in `models/real/` (`cargo xtask real-models`):
//! SmolLM2-135M-Instruct in Q4_1 (q4_1 layers, a q8_0 embedding) and Gemma 3 270M in Q4_K_M
//! (q5_0, q4_K, q6_K and q8_0 matrices). Each test fails, naming the command, when a file is
//! missing.

use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use sotto::gguf::GgufFile;
use sotto::kernels::quant::kernels::{dequantize_row, QuantizedActivations};
use sotto::kernels::quant::packed::pack_in_place;
use sotto::kernels::quant::{GgmlType, QMatrix};
use sotto::llm::{ChatModel, Conversation, GenerateOptions};

mod quant_common;
use quant_common::one_token_dot;

const SMOLLM2: &str = "smollm2-135m-instruct-q4_1.gguf";
const GEMMA: &str = "gemma-3-270m-q4_k_m.gguf";

/// The bytes of `models/real/<name>`, or a failure that says how to get them.
fn real_file(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models/real")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. The real checkpoints are fetched by `cargo xtask real-models`.",
            path.display()
        )
    })
}

/// The first `n_blocks` blocks of tensor `name`, decoded by us, have the sha256 (of their
/// little-endian f32 bytes) that the `gguf` package's dequantization has
/// (scripts/reference/make_quant_fixtures.py): Gemma's own q5_0, q4_K, q6_K and q8_0 blocks,
/// bit for bit. (Digests, not values: the Gemma terms keep its weights out of this repository.)
#[test]
fn gemma3_blocks_decode_as_the_gguf_package_does() {
    #[derive(serde::Deserialize)]
    struct BlockDigest {
        tensor: String,
        #[serde(rename = "type")]
        dtype: String,
        values: usize,
        f32_le_sha256: String,
    }
    #[derive(serde::Deserialize)]
    struct Fixture {
        gemma3_270m_q4_k_m_digests: Vec<BlockDigest>,
    }
    let fixture: Fixture =
        serde_json::from_str(include_str!("fixtures/quant/dequantize_reference.json")).unwrap();
    let bytes = real_file(GEMMA);
    let gguf = GgufFile::parse(&bytes).unwrap();
    let mut types = Vec::new();
    for digest in &fixture.gemma3_270m_q4_k_m_digests {
        let t = &gguf.tensors[&digest.tensor];
        assert_eq!(
            format!("{:?}", t.dtype).replace('_', ""),
            digest.dtype.replace('_', "")
        );
        let len = digest.values / t.dtype.block_len() * t.dtype.block_bytes();
        let mut values = vec![0f32; digest.values];
        dequantize_row(t.dtype, &bytes[t.offset..t.offset + len], &mut values);
        let le: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let ours = format!("{:x}", Sha256::digest(&le));
        assert_eq!(
            ours, digest.f32_le_sha256,
            "{} ({})",
            digest.tensor, digest.dtype
        );
        types.push(t.dtype);
    }
    for dtype in [GgmlType::Q5_0, GgmlType::Q4K, GgmlType::Q6K, GgmlType::Q8_0] {
        assert!(
            types.contains(&dtype),
            "no Gemma blocks of {dtype:?} checked"
        );
    }
}

/// Gemma's real matrices of each encoding, packed in place where theirs is (q5_0, q8_0), give
/// for 1, 5 and 9 tokens exactly what the one-token scalar kernel gives (q5_0, q8_0), or what
/// the row kernels give (q4_K, q6_K), on the real scales and values.
#[test]
fn gemma3_matrices_multiply_as_the_one_token_kernels() {
    let bytes = real_file(GEMMA);
    let gguf = GgufFile::parse(&bytes).unwrap();
    for name in [
        "blk.0.attn_q.weight",
        "blk.0.attn_v.weight",
        "blk.0.attn_output.weight",
        "blk.0.ffn_down.weight",
    ] {
        same_products_as_the_one_token_kernel(&gguf, &bytes, name);
    }
}

/// SmolLM2's real q4_1 matrices (and its q8_0 embedding, the output layer), packed in place as
/// the model packs them, give exactly what the one-token scalar kernel gives.
#[test]
fn smollm2_q4_1_matrices_multiply_as_the_one_token_kernel() {
    let bytes = real_file(SMOLLM2);
    let gguf = GgufFile::parse(&bytes).unwrap();
    assert_eq!(gguf.tensors["blk.0.ffn_down.weight"].dtype, GgmlType::Q4_1);
    for name in [
        "blk.0.ffn_down.weight",
        "blk.29.attn_k.weight",
        "blk.17.ffn_gate.weight",
    ] {
        same_products_as_the_one_token_kernel(&gguf, &bytes, name);
    }
}

/// The products of tensor `name` (its first 64 rows) with 1, 5 and 9 tokens, through the
/// matmul of the matrix as the model holds it, against the one-token kernels on its bytes.
fn same_products_as_the_one_token_kernel(gguf: &GgufFile, bytes: &[u8], name: &str) {
    let t = &gguf.tensors[name];
    let (cols, rows) = (t.dims[0], 64.min(t.dims[1]));
    let len = rows * cols / t.dtype.block_len() * t.dtype.block_bytes();
    let original = &bytes[t.offset..t.offset + len];
    let mut data = original.to_vec();
    let packed = pack_in_place(t.dtype, &mut data, rows, cols);
    let matrix = QMatrix::new(Arc::new(data), 0, rows, cols, t.dtype).with_packed_rows(packed);
    let row_len = len / rows;
    for tokens in [1, 5, 9] {
        let xs: Vec<f32> = (0..tokens * cols)
            .map(|i| {
                ((i * 7919 % 2003) as f32 / 1001.5 - 1.0) * if i % 97 == 0 { 8.0 } else { 1.0 }
            })
            .collect();
        let mut out = vec![0f32; tokens * rows];
        matrix.matmul(&xs, tokens, &mut out);
        for (t_, x) in xs.chunks_exact(cols).enumerate() {
            let q8_0 = QuantizedActivations::q8_0(x);
            let q8_k = QuantizedActivations::q8_k(x);
            for r in 0..rows {
                let w = &original[r * row_len..(r + 1) * row_len];
                let expected = match t.dtype {
                    GgmlType::Q4K => sotto::kernels::quant::kquants::dot_q4k_q8k(w, &q8_k),
                    GgmlType::Q6K => sotto::kernels::quant::kquants::dot_q6k_q8k(w, &q8_k),
                    dtype => one_token_dot(dtype, w, &q8_0),
                };
                let got = out[t_ * rows + r];
                assert_eq!(
                    got, expected,
                    "{name} ({:?}), {tokens} tokens: t{t_} r{r}",
                    t.dtype
                );
            }
        }
    }
}

/// The real SmolLM2-135M-Instruct Q4_1 file loads and answers plain questions sensibly (greedy),
/// as `sotto chat --model … --prompt …` does. The prompts are ones whose first reply token HF
/// transformers (the file dequantized to f32) picks by a clear margin (0.66 and 0.73): "What is
/// the capital of France?" is a near-tie there (0.08 between "The" and "L"), which 8-bit
/// activations, ours and candle's alike, tip the other way.
#[test]
fn smollm2_q4_1_answers_plain_questions() {
    let chat = Arc::new(ChatModel::from_bytes(real_file(SMOLLM2), None, None).unwrap());
    for (question, answer) in [
        (
            "Name the capital city of France.",
            "The capital city of France is Paris.",
        ),
        (
            "What is the capital of Germany?",
            "The capital of Germany is Berlin.",
        ),
    ] {
        let mut conversation = Conversation::new(chat.clone(), None);
        let options = GenerateOptions {
            max_tokens: 24,
            ..Default::default()
        };
        let (reply, _, _) = conversation
            .reply(question, options)
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(reply.trim(), answer, "{question}");
    }
}
