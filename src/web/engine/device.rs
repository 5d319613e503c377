//! The engine's two ends at the audio device: the microphone's frames as the device delivers
//! them (its channels, its rate), which the engine downmixes and resamples to Whisper's 16 kHz,
//! and the voice's speech, which it gives at the device's rate. The worklets only move samples.

use js_sys::{Array, Float32Array};
use wasm_bindgen::prelude::*;

use super::{js_error, Engine};
use crate::audio::{StreamResampler, SAMPLE_RATE, SUPPORTED_RATES};

#[wasm_bindgen]
impl Engine {
    /// The microphone's device rate in Hz (the AudioContext's `sampleRate`): the rate of the
    /// frames `pushCapture` takes. Setting the rate it already has keeps the stream going.
    #[wasm_bindgen(js_name = setInputRate)]
    pub fn set_input_rate(&mut self, device_rate: u32) -> Result<(), JsError> {
        if self.capture.as_ref().map(StreamResampler::input_rate) != Some(device_rate) {
            let resampler = StreamResampler::new(device_rate, SAMPLE_RATE)
                .map_err(|e| js_error(format!("the microphone's rate: {e}")))?;
            self.capture = Some(resampler);
        }
        Ok(())
    }

    /// Feeds the microphone's frames as the device delivered them: `samples` holds whole frames
    /// of `channels` interleaved channels at the rate `setInputRate` gave, the last of them
    /// captured at `captured_at` (the AudioContext's time, in seconds; NaN if unknown), handed
    /// over at `now_ms`. They are downmixed and resampled to 16 kHz (the resampler's look-ahead
    /// is taken off the capture time) and fed on as `pushAudio` does; returns the events.
    #[wasm_bindgen(js_name = pushCapture)]
    pub fn push_capture(
        &mut self,
        samples: &[f32],
        channels: u32,
        captured_at: f64,
        now_ms: f64,
    ) -> Result<Array, JsError> {
        let capture = self
            .capture
            .as_mut()
            .ok_or_else(|| js_error("the microphone's rate is not set (setInputRate)"))?;
        let mut mono = Vec::with_capacity(samples.len() / channels.max(1) as usize / 2 + 64);
        capture
            .push(samples, channels as usize, &mut mono)
            .map_err(js_error)?;
        if mono.is_empty() {
            return Ok(Array::new());
        }
        let at = captured_at - capture.lag_seconds().unwrap_or(0.0);
        self.push_audio(&mono, at, now_ms)
    }

    /// Sets the voice for a device playing at `device_rate` Hz: it speaks at
    /// [`crate::tts::rate_for_device`] (the device's rate or a whole fraction of it), returned,
    /// and its chunks come resampled to the device's rate, so playback only copies them.
    #[wasm_bindgen(js_name = setOutputRate)]
    pub fn set_output_rate(&mut self, device_rate: u32) -> u32 {
        let rate = crate::tts::rate_for_device(device_rate);
        let voice = self.assistant.voice_mut();
        voice.options.sample_rate = rate;
        voice.output_rate = Some(device_rate).filter(|r| SUPPORTED_RATES.contains(r));
        rate
    }

    /// `samples` at the voice's rate (from `say`) at the device's rate (`setOutputRate`), as
    /// playback takes them; the same samples without a device.
    #[wasm_bindgen(js_name = toOutputRate)]
    pub fn to_output_rate(&mut self, samples: Vec<f32>) -> Result<Float32Array, JsError> {
        let samples = self
            .assistant
            .voice_mut()
            .to_output_rate(samples)
            .map_err(js_error)?;
        Ok(Float32Array::from(samples.as_slice()))
    }

    /// The rate of the voice's chunks: the device's once `setOutputRate` gave it, else the
    /// voice's own (`voiceSampleRate`).
    #[wasm_bindgen(js_name = outputSampleRate)]
    pub fn output_sample_rate(&mut self) -> u32 {
        use crate::assistant::Voice;
        self.assistant.voice_mut().sample_rate()
    }
}
