//! WAV bytes through the decoder (every layout hound reads, mixed to mono) and the 16 kHz path
//! the transcriber takes (resampling), which is what reaches Whisper.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto::audio::{decode_wav, decode_wav_16k};

/// A short limit keeps each run fast; the limit itself is part of what is checked.
const MAX_SECONDS: f64 = 2.0;

fuzz_target!(|data: &[u8]| {
    let _ = decode_wav(data, "fuzz.wav", MAX_SECONDS);
    if let Ok(audio) = decode_wav_16k(data, "fuzz.wav", MAX_SECONDS) {
        let _ = audio.seconds();
    }
});
