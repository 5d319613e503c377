//! CTranslate2 `model.bin` bytes through its reader (every variable decoded to f32, scalars read)
//! and the Whisper importer, with a fixed CTranslate2 `config.json` and tokenizer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto::asr::ctranslate2::whisper::import_whisper;
use sotto::asr::ctranslate2::Ct2Model;

/// CTranslate2's Whisper `config.json`, as faster-whisper publishes it (shortened).
const CT2_CONFIG: &str = r#"{"lang_ids": [], "suppress_ids": [1], "suppress_ids_begin": [2]}"#;

/// A word-level tokenizer with Whisper's special tokens, enough for the importer's look-ups.
const TOKENIZER: &str = r#"{"version": "1.0", "truncation": null, "padding": null,
 "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "post_processor": null,
 "decoder": null, "model": {"type": "WordLevel", "unk_token": "a", "vocab": {"a": 0,
 "<|endoftext|>": 1, "<|startoftranscript|>": 2, "<|translate|>": 3, "<|transcribe|>": 4,
 "<|startoflm|>": 5, "<|startofprev|>": 6, "<|nocaptions|>": 7, "<|notimestamps|>": 8}}}"#;

/// Bounds the f32 decoding of one variable (a fuzzed shape can claim far more than the file).
const MAX_DECODED: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let tokenizer: tokenizers::Tokenizer = TOKENIZER.parse().expect("the fixed tokenizer");
    let Ok(model) = Ct2Model::parse(data, "model.bin") else {
        return;
    };
    let names: Vec<String> = model
        .variables()
        .iter()
        .map(|v| v.name.to_string())
        .collect();
    for name in &names {
        let _ = model.scalar_int(name);
        if model.get(name).is_some_and(|v| v.elements() <= MAX_DECODED) {
            let _ = model.to_f32(name);
        }
    }
    for (alias, target) in model.aliases() {
        let _ = (model.get(alias), model.get(target));
    }
    let _ = import_whisper(&model, (CT2_CONFIG.as_bytes(), "config.json"), &tokenizer);
});
