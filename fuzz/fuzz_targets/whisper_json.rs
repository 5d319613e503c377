//! Whisper's `config.json` and `tokenizer.json` (the two files joined by one NUL byte): the
//! config is read and checked, then the tokenizer loaded against it (special tokens, language
//! tokens) and used. The model catalog is parsed only in JavaScript (www/catalog.js), and the
//! settings overlay only exists in the wasm build, so these are the JSON files Rust reads natively.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto::asr::{Config, WhisperTokenizer};

fuzz_target!(|data: &[u8]| {
    let (config_json, tokenizer_json) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(config) = Config::from_json(config_json, "config.json") else {
        return;
    };
    let _ = (config.encoder_ffn(), config.decoder_ffn());
    let Ok(tokenizer) = WhisperTokenizer::from_bytes(tokenizer_json, "tokenizer.json", &config)
    else {
        return;
    };
    let _ = tokenizer.is_multilingual();
    let _ = tokenizer.language_token("en");
    let _ = tokenizer.language_code(config.eos_token_id);
    if let Ok(ids) = tokenizer.encode(" Hello world.") {
        let _ = tokenizer.decode_text(&ids);
    }
});
