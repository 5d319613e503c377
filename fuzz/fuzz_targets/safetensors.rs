//! Safetensors bytes through the Whisper weight loader: the file's header and tensors, then
//! every tensor of a Whisper of the tiny shape below looked up and shape-checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto::asr::whisper::Whisper;
use sotto::asr::{Config, Weights};

/// A Whisper small enough that a seed holds all its tensors (see fuzz/make_seeds.py).
const CONFIG: &str = r#"{"num_mel_bins": 2, "max_source_positions": 4, "d_model": 4,
 "encoder_attention_heads": 1, "encoder_layers": 1, "vocab_size": 8, "max_target_positions": 4,
 "decoder_attention_heads": 1, "decoder_layers": 1, "encoder_ffn_dim": 8, "decoder_ffn_dim": 8,
 "decoder_start_token_id": 1, "eos_token_id": 2}"#;

fuzz_target!(|data: &[u8]| {
    let config = Config::from_json(CONFIG.as_bytes(), "config.json").expect("the fixed config");
    if data.starts_with(b"GGUF") {
        return; // the gguf target's
    }
    if let Ok(weights) = Weights::from_bytes(data, "fuzz.safetensors") {
        let _ = weights.tensor("model.encoder.conv1.bias", &[4]);
        let _ = Whisper::load(&weights, &config);
    }
});
