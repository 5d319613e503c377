//! The embedded voice at the device's rate: playback only copies what it gives.

use crate::assistant::{EmbeddedVoice, Voice};
use crate::tts::{rate_for_device, SpeechOptions};

/// The strongest frequency of `samples` at `rate` between 50 and 4000 Hz, in 10 Hz steps.
fn strongest_hz(samples: &[f32], rate: u32) -> f32 {
    let power = |hz: f32| {
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, s) in samples.iter().enumerate() {
            let phase = 2.0 * std::f64::consts::PI * f64::from(hz) * i as f64 / f64::from(rate);
            re += f64::from(*s) * phase.cos();
            im += f64::from(*s) * phase.sin();
        }
        re * re + im * im
    };
    (5..400)
        .map(|k| k as f32 * 10.0)
        .max_by(|a, b| power(*a).total_cmp(&power(*b)))
        .unwrap()
}

#[test]
fn the_voice_speaks_at_the_device_rate_and_sounds_the_same() {
    let text = "Hello there.";
    for device in [44_100, 48_000, 96_000, 32_000] {
        let voice_rate = rate_for_device(device);
        let mut own = EmbeddedVoice {
            options: SpeechOptions {
                sample_rate: voice_rate,
                ..SpeechOptions::default()
            },
            output_rate: None,
        };
        let mut at_device = EmbeddedVoice {
            options: own.options,
            output_rate: Some(device),
        };
        assert_eq!(own.sample_rate(), voice_rate);
        assert_eq!(
            at_device.sample_rate(),
            device,
            "chunks are tagged with the device's rate"
        );
        let speech = own.synthesize(text).unwrap();
        let heard = at_device.synthesize(text).unwrap();
        let factor = (device / voice_rate) as usize;
        assert_eq!(device % voice_rate, 0, "{device}: a whole fraction");
        assert_eq!(heard.len(), speech.len() * factor, "{device} Hz");
        // The same speech: the same duration, and the same pitch in its loudest stretch.
        let loudest = |samples: &[f32], rate: u32| {
            let window = rate as usize / 10;
            let start = (0..samples.len().saturating_sub(window))
                .step_by(window / 4)
                .max_by(|&a, &b| {
                    let energy =
                        |s: usize| samples[s..s + window].iter().map(|x| x * x).sum::<f32>();
                    energy(a).total_cmp(&energy(b))
                })
                .unwrap();
            strongest_hz(&samples[start..start + window], rate)
        };
        let (a, b) = (loudest(&speech, voice_rate), loudest(&heard, device));
        assert!(
            (a - b).abs() <= 20.0,
            "{device}: {a} Hz at the voice's rate, {b} Hz at the device's"
        );
        // No level change either.
        let peak = |s: &[f32]| s.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let (p, q) = (peak(&speech), peak(&heard));
        assert!((p - q).abs() < 0.15 * p, "{device}: peak {p} became {q}");
    }
    // A device at the voice's own rate: nothing to do.
    let mut same = EmbeddedVoice {
        options: SpeechOptions::default(),
        output_rate: Some(SpeechOptions::default().sample_rate),
    };
    let mut plain = EmbeddedVoice::default();
    assert_eq!(
        same.synthesize("Yes.").unwrap(),
        plain.synthesize("Yes.").unwrap()
    );
}
