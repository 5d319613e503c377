//! End to end on the generated tiny Whisper (`testmodels::write_tiny_whisper`): the library and
//! the `sotto transcribe` CLI, with the safetensors and the q8_0 GGUF weights.

use std::path::{Path, PathBuf};
use std::process::Command;

use sotto::asr::{DecodeOptions, Transcriber};
use sotto::audio;

const HELLO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/asr/hello_16k.wav"
);

fn model_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sotto-asr-{tag}-{}", std::process::id()));
    sotto::testmodels::write_tiny_whisper(&dir).unwrap();
    dir
}

fn load(dir: &Path, weights: &str) -> Transcriber {
    Transcriber::from_files(
        &dir.join("config.json"),
        &dir.join("tokenizer.json"),
        &dir.join(weights),
    )
    .unwrap()
}

#[test]
fn library_transcribes_with_both_formats() {
    let dir = model_dir("lib");
    let pcm = audio::read_wav_file(Path::new(HELLO), 60.0)
        .unwrap()
        .samples;
    let opts = DecodeOptions {
        language: Some("en".into()),
        no_speech_threshold: 1.0,
        max_tokens: 16,
        ..DecodeOptions::default()
    };
    let st = load(&dir, "model.safetensors")
        .transcribe(&pcm, &opts)
        .unwrap();
    let gguf = load(&dir, "model.gguf").transcribe(&pcm, &opts).unwrap();
    for out in [&st, &gguf] {
        assert!(!out.tokens.is_empty() && out.tokens.len() <= 16);
        assert_eq!(out.language.as_deref(), Some("en"));
        assert!(out.no_speech_prob.is_finite());
    }
    // q8_0 changes the numbers, not the machinery: the first greedy token agrees here.
    assert_eq!(
        st.tokens[0], gguf.tokens[0],
        "{:?} vs {:?}",
        st.tokens, gguf.tokens
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cli_prints_json_with_both_formats() {
    let dir = model_dir("cli");
    for weights in ["model.safetensors", "model.gguf"] {
        let only = dir.join(format!("only-{weights}"));
        std::fs::create_dir_all(&only).unwrap();
        for f in ["config.json", "tokenizer.json", weights] {
            std::fs::copy(dir.join(f), only.join(f)).unwrap();
        }
        let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
            .env(
                "SOTTO_CACHE_DIR",
                concat!(env!("CARGO_TARGET_TMPDIR"), "/sotto-cache"),
            )
            .args(["transcribe", "--model"])
            .arg(&only)
            .args([
                "--language",
                "en",
                "--max-tokens",
                "8",
                "--no-speech-threshold",
                "1",
                "--json",
                HELLO,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(json["text"].is_string(), "{json}");
        let tokens = json["tokens"].as_array().unwrap();
        assert!(!tokens.is_empty() && tokens.len() <= 8);
        assert_eq!(json["language"], "en");
        assert!(json["no_speech_prob"].is_number());
        for stage in ["mel", "encoder", "decoder", "per_token"] {
            assert!(
                json["timings_ms"][stage].as_f64().unwrap() >= 0.0,
                "{stage}"
            );
        }
    }
    // Explicit files, full window, and a missing file named in the error.
    let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .env(
            "SOTTO_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/sotto-cache"),
        )
        .arg("transcribe")
        .arg("--config")
        .arg(dir.join("config.json"))
        .arg("--tokenizer")
        .arg(dir.join("tokenizer.json"))
        .arg("--weights")
        .arg(dir.join("model.gguf"))
        .args(["--full-window", "--max-tokens", "4", HELLO])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .env(
            "SOTTO_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/sotto-cache"),
        )
        .args(["transcribe", "--model"])
        .arg(&dir)
        .arg("/nonexistent/speech.wav")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/speech.wav"));
    std::fs::remove_dir_all(&dir).unwrap();
}
