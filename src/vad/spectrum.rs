//! Per-frame features for the detector: level, how much energy lies in the speech band, and how
//! flat (noise-like) the spectrum is there.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use super::SAMPLE_RATE;

/// What the detector looks at in one frame.
#[derive(Debug, Clone, Copy)]
pub struct Features {
    /// Mean power in dBFS (a full-scale sine is about -3 dB).
    pub level_db: f32,
    /// Share of the (non-DC) energy between 80 Hz and 4 kHz, where voices have most of theirs
    /// (low for hiss, and for rumble below the lowest voices).
    pub speech_band_ratio: f32,
    /// Spectral flatness in that band: geometric over arithmetic mean of the power, near 0 for
    /// harmonic sounds such as voiced speech and about 0.56 for white noise.
    pub flatness: f32,
}

/// A reusable FFT with its window and buffers (no allocation per frame).
pub struct FrameAnalyzer {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    spectrum: Vec<realfft::num_complex::Complex<f32>>,
    scratch: Vec<realfft::num_complex::Complex<f32>>,
    band: std::ops::Range<usize>,
}

impl FrameAnalyzer {
    /// An analyzer for frames of `len` samples at 16 kHz.
    pub fn new(len: usize) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(len);
        let window = (0..len)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / len as f32).cos())
            .collect();
        let bin_hz = SAMPLE_RATE as f32 / len as f32;
        let band = (80.0 / bin_hz).ceil() as usize..(4000.0 / bin_hz).floor() as usize + 1;
        Self {
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
            band,
        }
    }

    /// Features of one frame of exactly the analyzer's length.
    pub fn analyze(&mut self, frame: &[f32]) -> Features {
        let mean_square = frame.iter().map(|s| s * s).sum::<f32>() / frame.len() as f32;
        for ((slot, sample), w) in self.input.iter_mut().zip(frame).zip(&self.window) {
            *slot = sample * w;
        }
        // The lengths are fixed at construction, so the transform cannot fail.
        let _ =
            self.fft
                .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch);
        let power = |c: &realfft::num_complex::Complex<f32>| c.norm_sqr() + 1e-20;
        let total: f32 = self.spectrum[1..].iter().map(power).sum();
        let band = &self.spectrum[self.band.clone()];
        let band_total: f32 = band.iter().map(power).sum();
        let log_mean = band.iter().map(|c| power(c).ln()).sum::<f32>() / band.len() as f32;
        let arithmetic_mean = band_total / band.len() as f32;
        Features {
            level_db: super::to_db(mean_square),
            speech_band_ratio: if total > 0.0 { band_total / total } else { 0.0 },
            flatness: (log_mean.exp() / arithmetic_mean).min(1.0),
        }
    }
}
