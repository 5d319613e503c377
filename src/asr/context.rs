//! The audio context the decoder attends over: the encoder runs on the utterance only, and the
//! rest of the 30 s window is filled with the encoding of silence.
//!
//! Whisper's decoder was trained to cross-attend over 1500 encoder positions, of which the tail
//! after the speech is the padding's encoding. Cut that tail off (whisper.cpp's `audio_ctx`, and
//! this crate's default until it was measured on real weights) and the attention mass it held
//! lands on the speech: on real tiny.en, 18 of 85 utterances of the speech set repeat themselves
//! until the token limit (WER 6.4). Running the encoder on the utterance alone is not what
//! hurts: given back a tail of encoded silence, the decoder neither loops nor loses accuracy.
//! So the encoder runs on the utterance plus a margin, and its output is followed by the
//! positions of a pure-silence window, encoded once (one full-window encoder pass) and cached:
//! the decoder sees 1500 positions again, at a fifth of the encoder's work for 5 s.
//!
//! The silence is encoded at one fixed mel level, [`SILENCE_LEVEL`], not at each utterance's own
//! padding level (which follows its loudest bin): on the speech set the fixed level is as
//! accurate and costs no encoder pass per utterance. Numbers: `examples/bench_speech_set.rs`.

use std::sync::Mutex;

use super::whisper::{CrossKv, Whisper};

/// Encoder positions run after the last audio frame: 64 × 20 ms, where the speech's encoding
/// meets the silence's.
pub const AUDIO_CTX_MARGIN: usize = 64;

/// The normalized log-mel value of the silence tail: what zero padding becomes after a window
/// whose loudest bin is at log10 power 0 (`(max(-10, 0 - 8) + 4) / 4`), a typical utterance.
pub const SILENCE_LEVEL: f32 = -1.0;

/// The cross-attention keys and values of a pure-silence window, computed on first use.
#[derive(Default)]
pub struct SilenceTail {
    cached: Mutex<Option<CrossKv>>,
}

impl SilenceTail {
    /// Every decoder layer's cross-attention keys and values of a 30 s window whose every mel
    /// value is [`SILENCE_LEVEL`]; the first call runs the encoder on the whole window.
    pub fn cross_kv(&self, model: &Whisper) -> candle_core::Result<CrossKv> {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(kv) = cached.as_ref() {
            return Ok(kv.clone());
        }
        let n_mels = model.config.num_mel_bins;
        let frames = 2 * model.config.max_source_positions;
        let silence = vec![SILENCE_LEVEL; n_mels * frames];
        let encoded = model.encoder.forward(&silence, n_mels, frames)?;
        let kv = model.decoder.cross_kv(&encoded)?;
        *cached = Some(kv.clone());
        Ok(kv)
    }

    /// The tail, if it was computed or given already.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn get(&self) -> Option<CrossKv> {
        self.cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Gives the tail computed before (read from a cache), so that no call computes it.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn set(&self, kv: CrossKv) {
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(kv);
    }
}
