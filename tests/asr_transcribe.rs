//! The transcription loop: Whisper's rules, language detection, the no-speech gate, long audio
//! in 30 s windows, streaming text, and UTF-8-safe incremental detokenization.
//!
//! The parity fixture model has a pruned 512-row vocabulary; a word-level tokenizer names those
//! rows (the ten special rows 502..511 get Whisper's special tokens), so the whole pipeline runs
//! on real reference weights.

use sotto::asr::{DecodeOptions, TextStream, Transcriber, WhisperTokenizer};
use sotto::audio;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/asr");
const EOT: u32 = 502;
const SOT: u32 = 503;
const NO_TIMESTAMPS: u32 = 508;
const TIMESTAMP_BEGIN: u32 = 509;

fn read(f: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{f}")).unwrap()
}

fn config_json() -> Vec<u8> {
    let mut cfg: serde_json::Value = serde_json::from_slice(&read("config.json")).unwrap();
    cfg["decoder_start_token_id"] = SOT.into();
    cfg["eos_token_id"] = EOT.into();
    cfg["suppress_tokens"] = serde_json::json!([1, 2]);
    cfg["begin_suppress_tokens"] = serde_json::json!([0, EOT]);
    serde_json::to_vec(&cfg).unwrap()
}

fn tokenizer_json() -> Vec<u8> {
    let specials = [
        "<|endoftext|>",
        "<|startoftranscript|>",
        "<|en|>",
        "<|translate|>",
        "<|transcribe|>",
        "<|nospeech|>",
        "<|notimestamps|>",
        "<|0.00|>",
        "<|0.02|>",
        "<|0.04|>",
    ];
    let mut vocab = serde_json::Map::new();
    for i in 0..502u32 {
        vocab.insert(format!("w{i}"), i.into());
    }
    let mut added = Vec::new();
    for (i, name) in specials.iter().enumerate() {
        let id = 502 + i as u32;
        vocab.insert(name.to_string(), id.into());
        added.push(
            serde_json::json!({"id": id, "content": name, "single_word": false,
            "lstrip": false, "rstrip": false, "normalized": false, "special": true}),
        );
    }
    serde_json::to_vec(&serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "w0"}
    }))
    .unwrap()
}

fn transcriber() -> Transcriber {
    Transcriber::from_bytes(
        (&config_json(), "config.json"),
        (&tokenizer_json(), "tokenizer.json"),
        (&read("model.safetensors"), "model.safetensors"),
    )
    .unwrap()
}

fn hello() -> Vec<f32> {
    audio::decode_wav_16k(&read("hello_16k.wav"), "hello_16k.wav", 60.0)
        .unwrap()
        .samples
}

fn opts() -> DecodeOptions {
    DecodeOptions {
        no_speech_threshold: 1.0,
        max_tokens: 12,
        full_window: true,
        ..DecodeOptions::default()
    }
}

#[test]
fn greedy_follows_whispers_rules_and_streams_the_same_text() {
    let t = transcriber();
    assert_eq!(t.tokenizer.special.timestamp_begin, TIMESTAMP_BEGIN);
    let mut streamed = String::new();
    let out = t
        .transcribe_streaming(&hello(), &opts(), &mut |piece| streamed.push_str(piece))
        .unwrap();
    assert!(!out.tokens.is_empty() && out.tokens.len() <= 12);
    // Blank suppression at the first step, suppress_tokens everywhere, no specials but EOT.
    assert!(out.tokens[0] != 0 && out.tokens[0] != EOT);
    for (i, &tok) in out.tokens.iter().enumerate() {
        assert!(tok != 1 && tok != 2, "suppressed token {tok}");
        assert!(
            tok < EOT || (tok == EOT && i == out.tokens.len() - 1),
            "{tok} at {i}"
        );
    }
    let words: Vec<String> = out
        .tokens
        .iter()
        .filter(|&&t| t < EOT)
        .map(|t| format!("w{t}"))
        .collect();
    assert_eq!(out.text, words.join(" "));
    assert_eq!(streamed.trim(), out.text);
    // The only language of this vocabulary is detected when none is given.
    assert_eq!(out.language.as_deref(), Some("en"));
    assert!(out.no_speech_prob > 0.0 && out.no_speech_prob < 1.0);
    assert!(out.timings_ms.encoder > 0.0 && out.timings_ms.decoder > 0.0);
}

#[test]
fn no_speech_gate_outputs_nothing() {
    let t = transcriber();
    let gated = DecodeOptions {
        no_speech_threshold: 0.0,
        ..opts()
    };
    let out = t.transcribe(&hello(), &gated).unwrap();
    assert!(out.tokens.is_empty() && out.text.is_empty());
    assert!(out.no_speech_prob > 0.0);
}

#[test]
fn timestamp_rules_start_with_a_timestamp() {
    let t = transcriber();
    let ts = DecodeOptions {
        timestamps: true,
        language: Some("en".into()),
        ..opts()
    };
    let out = t.transcribe(&hello(), &ts).unwrap();
    assert!(out.tokens[0] >= TIMESTAMP_BEGIN, "{:?}", out.tokens);
    assert!(!out.tokens.contains(&NO_TIMESTAMPS));
    // Timestamps never decrease.
    let stamps: Vec<u32> = out
        .tokens
        .iter()
        .copied()
        .filter(|&t| t >= TIMESTAMP_BEGIN)
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
}

#[test]
fn long_audio_is_decoded_in_30_second_windows() {
    let t = transcriber();
    let one = hello();
    let long: Vec<f32> = one.iter().copied().cycle().take(16_000 * 35).collect();
    let short = DecodeOptions {
        max_tokens: 3,
        ..opts()
    };
    let first = t.transcribe(&long[..audio::N_SAMPLES], &short).unwrap();
    let second = t.transcribe(&long[audio::N_SAMPLES..], &short).unwrap();
    let both = t.transcribe(&long, &short).unwrap();
    assert_eq!(both.tokens, [first.tokens, second.tokens].concat());
    let err = t
        .transcribe(
            &long,
            &DecodeOptions {
                max_seconds: 30.0,
                ..short
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("35 s"), "{err}");
}

#[test]
fn unknown_language_is_an_error() {
    let t = transcriber();
    let fr = DecodeOptions {
        language: Some("xx".into()),
        ..opts()
    };
    assert!(t
        .transcribe(&hello(), &fr)
        .unwrap_err()
        .to_string()
        .contains("xx"));
}

#[test]
fn text_stream_never_splits_a_utf8_character() {
    // Byte-level BPE: "é" is the two tokens "Ã" (0xC3) and "©" (0xA9).
    let tokenizer = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [
            {"id": 3, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
            {"id": 4, "content": "<|startoftranscript|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
        ],
        "normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "post_processor": null, "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": {"Ã": 0, "©": 1, "h": 2, "<|endoftext|>": 3, "<|startoftranscript|>": 4,
                      "<|translate|>": 5, "<|transcribe|>": 6, "<|notimestamps|>": 7},
            "merges": []}
    });
    let mut cfg: serde_json::Value = serde_json::from_slice(&read("config.json")).unwrap();
    cfg["vocab_size"] = 8.into();
    cfg["decoder_start_token_id"] = 4.into();
    cfg["eos_token_id"] = 3.into();
    let cfg = sotto::asr::Config::from_json(&serde_json::to_vec(&cfg).unwrap(), "cfg").unwrap();
    let tok = WhisperTokenizer::from_bytes(&serde_json::to_vec(&tokenizer).unwrap(), "bpe", &cfg)
        .unwrap();
    let mut stream = TextStream::new();
    assert_eq!(stream.push(&tok, 2).unwrap().as_deref(), Some("h"));
    assert_eq!(
        stream.push(&tok, 0).unwrap(),
        None,
        "half of é must be held back"
    );
    assert_eq!(stream.push(&tok, 1).unwrap().as_deref(), Some("é"));
    assert_eq!(stream.push(&tok, 3).unwrap(), None);
    assert_eq!(tok.decode_text(&[2, 0, 1, 3]).unwrap(), "hé");
}
