//! The log-mel front end against openai-whisper's `log_mel_spectrogram` on the parity audio.
//! Fixtures derived by `examples/derive_asr_fixtures.rs`.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use sotto::audio;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/asr");

fn reference() -> HashMap<String, Tensor> {
    candle_core::safetensors::load(format!("{FIXTURES}/reference.safetensors"), &Device::Cpu)
        .unwrap()
}

fn hello_pcm() -> Vec<f32> {
    let bytes = std::fs::read(format!("{FIXTURES}/hello_16k.wav")).unwrap();
    let audio = audio::decode_wav_16k(&bytes, "hello_16k.wav", 60.0).unwrap();
    assert_eq!(audio.samples.len(), 44_346);
    audio.samples
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn mel_filters_match_whisper_npz() {
    let want: Vec<f32> = reference()["mel_filters_80"]
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let got = audio::mel_filters(80);
    assert!(
        max_abs_diff(&got, &want) < 1e-7,
        "{}",
        max_abs_diff(&got, &want)
    );
    // 128 bands: same construction; every band non-empty and the filters are area-normalised.
    let f128 = audio::mel_filters(128);
    assert_eq!(f128.len(), 128 * 201);
    for band in f128.chunks_exact(201) {
        assert!(band.iter().any(|&w| w > 0.0));
    }
}

#[test]
fn log_mel_matches_openai_within_1e4() {
    let reference = reference();
    let want: Vec<Vec<f32>> = reference["mel_head"].to_vec2().unwrap();
    let last: Vec<f32> = reference["mel_last"].to_vec1().unwrap();
    let mel = audio::log_mel_spectrogram(&hello_pcm(), 80);
    // Only frames that can see audio are computed (44346 samples → 279 frames), not 3000.
    assert_eq!(mel.n_computed, 279);
    let head = want[0].len();
    let got = mel.frames(3000);
    let mut worst = 0.0f32;
    for band in 0..80 {
        let row = &got[band * 3000..(band + 1) * 3000];
        worst = worst.max(max_abs_diff(&row[..head], &want[band]));
        // The padding frames at the end of the window.
        worst = worst.max((row[2999] - last[band]).abs());
    }
    assert!(worst < 1e-4, "max abs diff {worst}");
}

#[test]
fn silence_is_flat_and_frames_pad_with_silence() {
    let mel = audio::log_mel_spectrogram(&[0.0; 1600], 128);
    assert_eq!(mel.n_mels, 128);
    assert!(mel.data.iter().all(|&v| v == mel.silence_value));
    // 30 s and longer inputs compute the whole window and no more.
    let long = audio::log_mel_spectrogram(&vec![0.01; 600_000], 80);
    assert_eq!(long.n_computed, 3000);
}
