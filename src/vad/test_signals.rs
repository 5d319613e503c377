//! Synthetic test signals: a voice-like harmonic sound, white noise and near-silence, at 16 kHz.

use super::SAMPLE_RATE;

const RATE: f32 = SAMPLE_RATE as f32;

/// A voice-like sound: a 120 Hz harmonic series (1/k amplitudes up to 4 kHz) with vibrato.
pub fn voice(ms: u32, amplitude: f32) -> Vec<f32> {
    let n = (ms as f32 * RATE / 1000.0) as usize;
    let mut phase = 0.0f32;
    (0..n)
        .map(|i| {
            let t = i as f32 / RATE;
            let f0 = 120.0 + 8.0 * (2.0 * std::f32::consts::PI * 5.0 * t).sin();
            phase += 2.0 * std::f32::consts::PI * f0 / RATE;
            let sum: f32 = (1..=30).map(|k| (k as f32 * phase).sin() / k as f32).sum();
            amplitude * sum / 1.7
        })
        .collect()
}

/// Deterministic white noise.
pub fn noise(ms: u32, amplitude: f32, seed: u32) -> Vec<f32> {
    let n = (ms as f32 * RATE / 1000.0) as usize;
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            amplitude * (state as f32 / u32::MAX as f32 * 2.0 - 1.0)
        })
        .collect()
}

pub fn silence(ms: u32) -> Vec<f32> {
    noise(ms, 0.0005, 7)
}

pub fn concat(parts: &[Vec<f32>]) -> Vec<f32> {
    parts.concat()
}
