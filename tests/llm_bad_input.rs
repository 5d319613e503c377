//! Bad input gets a clear error, never a panic nor an allocation sized by an unchecked header.

mod llm_common;

use llm_common::fixture;
use sotto::llm::{ChatModel, LlmError};

fn gguf_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn load_err(bytes: Vec<u8>) -> String {
    ChatModel::from_bytes(bytes, None, None)
        .expect_err("must fail")
        .to_string()
}

#[test]
fn truncated_gguf_is_an_error() {
    let full = gguf_bytes("qwen2-q4_0.gguf");
    // Every cut in the fixed header, then cuts every 211 bytes through metadata and tensor data.
    let cuts = (0..64).chain((64..full.len()).step_by(211));
    for cut in cuts {
        let err = load_err(full[..cut].to_vec());
        assert!(
            err.contains("truncated") || err.contains("GGUF") || err.contains("tokenizer"),
            "cut {cut}: {err}"
        );
    }
}

#[test]
fn huge_counts_are_rejected_before_allocating() {
    let mut bytes = gguf_bytes("llama-q8_0.gguf");
    // Tensor count (offset 8) and metadata count (offset 16) set to absurd values.
    for offset in [8, 16] {
        let mut b = bytes.clone();
        b[offset..offset + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = load_err(b);
        assert!(err.contains("more than the"), "{err}");
    }
    // The first metadata key length (offset 24) set to 2^40.
    bytes[24..32].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let err = load_err(bytes);
    assert!(err.contains("metadata key"), "{err}");
}

#[test]
fn not_gguf_and_bad_version() {
    assert!(load_err(b"GGML\x03\0\0\0".to_vec()).contains("bad magic"));
    let mut b = gguf_bytes("llama-q8_0.gguf");
    b[4] = 9;
    assert!(load_err(b).contains("version 9"));
}

#[test]
fn unsupported_architecture_is_named() {
    let mut b = gguf_bytes("llama-q8_0.gguf");
    // Rename the architecture value `llama` (the first occurrence after its key) to `mamba`.
    let key = b"general.architecture";
    let at = b.windows(key.len()).position(|w| w == key).unwrap();
    let value = at + key.len() + 4 + 8;
    assert_eq!(&b[value..value + 5], b"llama");
    b[value..value + 5].copy_from_slice(b"mamba");
    let err = load_err(b);
    assert!(err.contains("architecture `mamba`"), "{err}");
}

#[test]
fn tokenizer_of_another_model_is_rejected() {
    let err = ChatModel::from_files(
        &fixture("llama-q8_0.gguf"),
        Some(&fixture("qwen2-tokenizer.json")),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, LlmError::InFile { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("qwen2-tokenizer.json") && text.contains("does not match"),
        "{text}"
    );
}

#[test]
fn missing_file_names_it() {
    let err = ChatModel::from_files(&fixture("nope.gguf"), None, None).unwrap_err();
    assert!(err.to_string().contains("nope.gguf"), "{err}");
}

#[test]
fn out_of_vocabulary_ids_and_empty_prompts_are_errors() {
    let chat = ChatModel::from_bytes(gguf_bytes("qwen2-q8_0.gguf"), None, None).unwrap();
    let mut cache = chat.model.new_cache();
    assert!(chat.model.forward(&[5000], &mut cache, false).is_err());
    assert!(chat.model.forward(&[], &mut cache, false).is_err());
    assert!(cache.is_empty());
    let too_long = vec![1u32; chat.model.config.context_length + 1];
    let err = chat
        .model
        .forward(&too_long, &mut cache, false)
        .unwrap_err();
    assert!(matches!(err, LlmError::PromptTooLong { .. }), "{err}");
}
