use std::f32::consts::PI;

use super::{StreamResampler, CHUNK};

/// `seconds` of a sine of `hz` at `rate`, amplitude `amp`.
fn sine(hz: f32, rate: u32, seconds: f32, amp: f32) -> Vec<f32> {
    let n = (seconds * rate as f32) as usize;
    (0..n)
        .map(|i| amp * (2.0 * PI * hz * i as f32 / rate as f32).sin())
        .collect()
}

/// Interleaves channels of equal length.
fn interleave(channels: &[&[f32]]) -> Vec<f32> {
    let frames = channels[0].len();
    (0..frames)
        .flat_map(|i| channels.iter().map(move |c| c[i]))
        .collect()
}

/// Everything `samples` gives in one push.
fn one_shot(samples: &[f32], channels: usize, from: u32, to: u32) -> Vec<f32> {
    let mut resampler = StreamResampler::new(from, to).unwrap();
    let mut out = Vec::new();
    resampler.push(samples, channels, &mut out).unwrap();
    out
}

/// A small deterministic generator of chunk sizes.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % below
    }
}

/// The amplitude of the `hz` component of `samples` at `rate` (a single DFT bin, any frequency).
fn amplitude_at(samples: &[f32], rate: u32, hz: f32) -> f32 {
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (i, s) in samples.iter().enumerate() {
        let phase = 2.0 * std::f64::consts::PI * f64::from(hz) * i as f64 / f64::from(rate);
        re += f64::from(*s) * phase.cos();
        im += f64::from(*s) * phase.sin();
    }
    (2.0 * (re * re + im * im).sqrt() / samples.len() as f64) as f32
}

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

#[test]
fn pushes_of_any_size_give_exactly_the_one_shot_output() {
    for (rate, channels) in [(48_000, 1), (44_100, 2), (22_050, 1), (96_000, 2)] {
        let left = sine(440.0, rate, 1.0, 0.5);
        let right = sine(1234.0, rate, 1.0, 0.3);
        let input = if channels == 2 {
            interleave(&[&left, &right])
        } else {
            left.clone()
        };
        let whole = one_shot(&input, channels, rate, 16_000);
        let mut random = Lcg(rate as u64);
        // Render quanta, 20 ms frames, single frames and random cuts.
        let schemes: [&dyn Fn(&mut Lcg) -> usize; 4] = [
            &|_: &mut Lcg| 128,
            &|_: &mut Lcg| rate as usize / 50,
            &|_: &mut Lcg| 1,
            &|r: &mut Lcg| r.next(3 * CHUNK) + 1,
        ];
        for (s, frames_of) in schemes.iter().enumerate() {
            let mut resampler = StreamResampler::new(rate, 16_000).unwrap();
            let mut out = Vec::new();
            let mut at = 0;
            while at < input.len() {
                let frames = frames_of(&mut random).min((input.len() - at) / channels);
                let end = at + frames * channels;
                let added = resampler.push(&input[at..end], channels, &mut out).unwrap();
                assert!(added <= out.len());
                at = end;
            }
            assert_eq!(out, whole, "{rate} Hz, {channels} ch, scheme {s}");
        }
    }
}

#[test]
fn stereo_at_44_1_and_48_khz_becomes_16_khz_mono() {
    for rate in [44_100, 48_000] {
        let tone = sine(500.0, rate, 1.0, 0.5);
        let inverted: Vec<f32> = tone.iter().map(|s| -s).collect();
        // Both channels alike: the tone itself, about 16,000 samples of it.
        let same = one_shot(&interleave(&[&tone, &tone]), 2, rate, 16_000);
        assert!(
            same.len().abs_diff(16_000) < 200,
            "{rate}: {} samples",
            same.len()
        );
        let middle = &same[1000..same.len() - 1000];
        let level = amplitude_at(middle, 16_000, 500.0);
        assert!((level - 0.5).abs() < 0.01, "{rate}: 500 Hz at {level}");
        // Opposite channels cancel in the downmix.
        let cancelled = one_shot(&interleave(&[&tone, &inverted]), 2, rate, 16_000);
        assert!(rms(&cancelled) < 1e-6, "{rate}: {}", rms(&cancelled));
        // One channel silent: half the level.
        let silence = vec![0.0; tone.len()];
        let half = one_shot(&interleave(&[&tone, &silence]), 2, rate, 16_000);
        let level = amplitude_at(&half[1000..half.len() - 1000], 16_000, 500.0);
        assert!((level - 0.25).abs() < 0.01, "{rate}: {level}");
    }
}

#[test]
fn a_sine_keeps_its_frequency_and_what_16_khz_cannot_hold_is_filtered_out() {
    for rate in [44_100, 48_000] {
        for hz in [300.0, 1000.0, 3000.0, 6000.0] {
            let out = one_shot(&sine(hz, rate, 1.0, 0.5), 1, rate, 16_000);
            let middle = &out[1000..out.len() - 1000];
            let at = amplitude_at(middle, 16_000, hz);
            assert!((at - 0.5).abs() < 0.02, "{rate}: {hz} Hz came out at {at}");
            // Nowhere else: 10% off the frequency holds almost nothing.
            for off in [0.9, 1.1] {
                let beside = amplitude_at(middle, 16_000, hz * off);
                assert!(
                    beside < 0.02,
                    "{rate}: {hz} Hz leaks {beside} at {}",
                    hz * off
                );
            }
            // Its zero crossings count its cycles.
            let crossings = middle
                .windows(2)
                .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
                .count() as f32;
            let cycles = crossings / 2.0;
            let expected = hz * middle.len() as f32 / 16_000.0;
            assert!(
                (cycles - expected).abs() <= 1.0,
                "{hz}: {cycles} cycles, not {expected}"
            );
        }
        // Above 8 kHz a tone would alias into the speech band: the filter removes it.
        for hz in [9_000.0, 12_000.0, 15_000.0] {
            let out = one_shot(&sine(hz, rate, 1.0, 0.5), 1, rate, 16_000);
            let level = rms(&out[1000..out.len() - 1000]);
            assert!(level < 0.005, "{rate}: {hz} Hz passes at RMS {level}");
        }
    }
}

#[test]
fn the_lag_places_output_samples_on_the_input_clock() {
    for rate in [44_100u32, 48_000] {
        // A short click at a known input frame, then silence.
        let mut input = vec![0.0f32; rate as usize];
        let click = rate as usize / 3;
        for (k, sample) in input[click..click + 8].iter_mut().enumerate() {
            *sample = (PI * (k as f32 + 0.5) / 8.0).sin();
        }
        let mut resampler = StreamResampler::new(rate, 16_000).unwrap();
        let mut out = Vec::new();
        for frame in input.chunks(rate as usize / 50) {
            resampler.push(frame, 1, &mut out).unwrap();
        }
        let lag = resampler.lag_seconds().unwrap();
        assert!(lag > 0.0 && lag < 0.015, "{rate}: lag {lag} s");
        let peak = (0..out.len())
            .max_by(|&a, &b| out[a].abs().total_cmp(&out[b].abs()))
            .unwrap();
        // The peak's time, from the last input frame's time back.
        let last_in = (input.len() - 1) as f64 / f64::from(rate);
        let peak_at = last_in - lag - (out.len() - 1 - peak) as f64 / 16_000.0;
        let click_at = (click as f64 + 4.0) / f64::from(rate);
        assert!(
            (peak_at - click_at).abs() < 1.5 / 16_000.0,
            "{rate}: the click at {click_at} s came out at {peak_at} s"
        );
    }
}

#[test]
fn equal_rates_only_downmix_and_bad_input_is_refused() {
    let tone = sine(440.0, 16_000, 0.1, 0.5);
    assert_eq!(
        one_shot(&interleave(&[&tone, &tone]), 2, 16_000, 16_000),
        tone
    );
    let mut resampler = StreamResampler::new(48_000, 16_000).unwrap();
    let mut out = Vec::new();
    assert!(resampler.push(&[0.0; 3], 2, &mut out).is_err());
    assert!(resampler.push(&[0.0; 4], 0, &mut out).is_err());
    assert!(StreamResampler::new(1_000, 16_000).is_err());
    // A NaN is silence, not a poisoned stream.
    let mut noisy = sine(440.0, 48_000, 0.5, 0.5);
    noisy[1000] = f32::NAN;
    noisy[2000] = f32::INFINITY;
    resampler.push(&noisy, 1, &mut out).unwrap();
    assert!(out.iter().all(|s| s.is_finite()));
    assert_eq!(resampler.input_rate(), 48_000);
    assert_eq!(resampler.output_rate(), 16_000);
}

#[test]
fn each_20_ms_of_input_completes_20_ms_of_output_at_once() {
    for rate in [44_100u32, 48_000, 96_000] {
        let input = sine(700.0, rate, 2.0, 0.5);
        let mut resampler = StreamResampler::new(rate, 16_000).unwrap();
        let mut out = Vec::new();
        for (n, block) in input.chunks(rate as usize / 50).enumerate() {
            resampler.push(block, 1, &mut out).unwrap();
            // A 20 ms frame of a detector (320 samples) is complete with the block that ends it.
            assert!(
                out.len() >= 320 * (n + 1),
                "{rate}: {} samples after {} blocks",
                out.len(),
                n + 1
            );
            assert!(
                out.len() < 320 * (n + 1) + resampler.lead_in(),
                "{rate}: no more than the lead-in ahead"
            );
        }
        assert!(out[..resampler.lead_in()].iter().all(|&s| s == 0.0));
    }
}
