//! Sample-rate conversion with rubato's FFT resampler (band-limited, no aliasing).

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::AudioError;

/// The sample rates audio may have: Web Audio's range (3 kHz to 768 kHz), which covers every real
/// WAV. Far outside it rubato plans FFTs as long as the rate itself: a WAV announcing 4.29 GHz
/// took minutes on 64 samples (found by the `wav` fuzz target); inside it the worst (767,999 Hz,
/// prime to 16 kHz) takes 0.4 s per second of audio.
pub const SUPPORTED_RATES: std::ops::RangeInclusive<u32> = 3_000..=768_000;

/// Resamples mono audio from `from_rate` to `to_rate`; the output has `len * to / from` samples
/// (rounded up), aligned with the input (the resampler's delay is removed). Samples outside
/// [-1, 1] are clipped to it, and NaNs resampled as zeros.
pub fn resample(samples: &[f32], from_rate: u32, to_rate: u32) -> Result<Vec<f32>, AudioError> {
    if from_rate == to_rate || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let fail = |reason: String| AudioError::Resample {
        from_rate,
        to_rate,
        reason,
    };
    for rate in [from_rate, to_rate] {
        if !SUPPORTED_RATES.contains(&rate) {
            return Err(fail(format!(
                "{rate} Hz is outside the supported {} to {} Hz",
                SUPPORTED_RATES.start(),
                SUPPORTED_RATES.end()
            )));
        }
    }
    let mut resampler = Fft::<f32>::new(
        from_rate as usize,
        to_rate as usize,
        1024,
        1,
        FixedSync::Input,
    )
    .map_err(|e| fail(e.to_string()))?;
    // A NaN or infinity, or a float sample so large that the FFT's sums overflow, makes rubato's
    // FFT panic ("Imaginary part of first value was non-zero") (found by the `wav` fuzz target).
    // Samples are in [-1, 1]: a NaN is resampled as silence, anything else clipped.
    let clipped: Vec<f32>;
    let samples = if samples.iter().all(|s| s.abs() <= 1.0) {
        samples
    } else {
        clipped = samples
            .iter()
            .map(|&s| if s.is_nan() { 0.0 } else { s.clamp(-1.0, 1.0) })
            .collect();
        &clipped
    };
    let input =
        InterleavedSlice::new(samples, 1, samples.len()).map_err(|e| fail(e.to_string()))?;
    let output = resampler
        .process_all(&input, samples.len(), None)
        .map_err(|e| fail(e.to_string()))?;
    Ok(output.take_data())
}
