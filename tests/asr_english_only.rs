//! English-only Whisper checkpoints on real weights (whisper-tiny.en from `models/real/`): decided
//! by vocabulary size as openai-whisper decides, although their published `tokenizer.json` lists
//! the language tokens; no language or task token in the prompt; `language` is always `en`.
//!
//! The reference ids come from HF transformers (`scripts/reference/whisper_english_only.py`).

use std::path::PathBuf;

use sotto::asr::{DecodeOptions, Transcriber};
use sotto::audio;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/asr");

/// The imported real checkpoint, or a failure that says how to get it.
fn real_model(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models/real")
        .join(name);
    assert!(
        dir.join("model.safetensors").is_file(),
        "{} is missing: run `cargo xtask real-models` to fetch and import the real checkpoints",
        dir.display()
    );
    dir
}

fn tiny_en() -> Transcriber {
    let dir = real_model("whisper-tiny.en");
    Transcriber::from_files(
        &dir.join("config.json"),
        &dir.join("tokenizer.json"),
        &dir.join("model.safetensors"),
    )
    .unwrap()
}

fn hello() -> Vec<f32> {
    audio::read_wav_file(&PathBuf::from(FIXTURES).join("hello_16k.wav"), 60.0)
        .unwrap()
        .samples
}

fn reference_ids(prompt: &str) -> Vec<u32> {
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{FIXTURES}/real_tiny_en_hello.json")).unwrap(),
    )
    .unwrap();
    serde_json::from_value(json[prompt]["ids"].clone()).unwrap()
}

#[test]
fn tiny_en_is_english_only_although_its_tokenizer_lists_languages() {
    let t = tiny_en();
    assert_eq!(t.model.config.vocab_size, 51864);
    assert!(!t.tokenizer.is_multilingual());
    assert!(t.tokenizer.special.languages.is_empty());
}

#[test]
fn tiny_en_prompt_has_no_language_or_task_token() {
    let t = tiny_en();
    let opts = DecodeOptions {
        full_window: true,
        no_speech_threshold: 1.0,
        ..DecodeOptions::default()
    };
    let out = t.transcribe(&hello(), &opts).unwrap();
    assert_eq!(out.language.as_deref(), Some("en"));
    // The first sentence, up to its full stop: the two prompts part at the second token.
    let english_only = reference_ids("english_only");
    let with_language = reference_ids("with_language_tokens");
    let sentence = english_only.iter().position(|&t| t == 13).unwrap() + 1;
    assert_eq!(out.tokens[..sentence], english_only[..sentence]);
    assert_ne!(out.tokens[..sentence], with_language[..sentence]);
}

#[test]
fn tiny_en_refuses_other_languages_and_translation() {
    let t = tiny_en();
    let pcm = hello();
    let en = DecodeOptions {
        language: Some("en".into()),
        max_tokens: 4,
        ..DecodeOptions::default()
    };
    assert_eq!(
        t.transcribe(&pcm, &en).unwrap().language.as_deref(),
        Some("en")
    );
    for opts in [
        DecodeOptions {
            language: Some("fr".into()),
            ..en.clone()
        },
        DecodeOptions {
            translate: true,
            ..en.clone()
        },
    ] {
        let err = t.transcribe(&pcm, &opts).unwrap_err().to_string();
        assert!(err.contains("English-only"), "{err}");
    }
}

#[test]
fn cli_names_the_english_only_model_when_asked_for_french() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sotto"))
        .env(
            "SOTTO_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/sotto-cache"),
        )
        .args(["transcribe", "--language", "fr", "--model"])
        .arg(real_model("whisper-tiny.en"))
        .arg(PathBuf::from(FIXTURES).join("hello_16k.wav"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("English-only") && stderr.contains("\"fr\""),
        "{stderr}"
    );
}
