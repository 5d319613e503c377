//! The synthesizer end to end: option checks, timing and pitch controls, prosody shapes, and
//! deterministic output (fixed text → fixed PCM hash).

use sotto::tts::prosody::{phrase_frames, Voicing};
use sotto::tts::{synthesize, text_to_phrases, SpeechOptions, TtsError, SAMPLE_RATES};

const SENTENCE: &str = "Set a timer for 10 minutes, then call Dr. Smith at 3:30 pm.";

/// FNV-1a over the samples as 16-bit PCM (what `sotto say` writes).
fn pcm_hash(pcm: &[f32]) -> u64 {
    pcm.iter().fold(0xcbf2_9ce4_8422_2325, |h, &s| {
        let q = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        q.to_le_bytes().iter().fold(h, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    })
}

fn speak(text: &str, sample_rate: u32, rate: f32, pitch: f32) -> Vec<f32> {
    synthesize(
        text,
        &SpeechOptions {
            sample_rate,
            rate,
            pitch,
        },
    )
    .expect("synthesize")
}

#[test]
fn output_is_deterministic() {
    let expected: [(u32, u64); 2] = [
        (16_000, 8_729_926_913_554_711_918),
        (24_000, 15_686_180_100_996_658_379),
    ];
    for (rate, hash) in expected {
        let a = speak(SENTENCE, rate, 1.0, 1.0);
        let b = speak(SENTENCE, rate, 1.0, 1.0);
        assert_eq!(a, b, "two runs differ at {rate} Hz");
        assert_eq!(
            pcm_hash(&a),
            hash,
            "PCM hash at {rate} Hz ({} samples)",
            a.len()
        );
    }
}

#[test]
fn bad_options_are_rejected_with_the_field_named() {
    let opts = |sample_rate, rate, pitch| SpeechOptions {
        sample_rate,
        rate,
        pitch,
    };
    assert_eq!(
        synthesize("hi", &opts(44_100, 1.0, 1.0)),
        Err(TtsError::UnsupportedSampleRate(44_100))
    );
    assert_eq!(
        synthesize("hi", &opts(16_000, 0.0, 1.0)),
        Err(TtsError::InvalidRate(0.0))
    );
    assert_eq!(
        synthesize("hi", &opts(16_000, 1.0, 9.0)),
        Err(TtsError::InvalidPitch(9.0))
    );
    assert!(synthesize("hi", &opts(16_000, f32::NAN, 1.0)).is_err());
}

#[test]
fn every_sample_rate_gives_the_same_duration_and_sane_levels() {
    let reference = speak(SENTENCE, 16_000, 1.0, 1.0).len() as f32 / 16_000.0;
    assert!((2.0..8.0).contains(&reference), "duration {reference} s");
    for rate in SAMPLE_RATES {
        let pcm = speak(SENTENCE, rate, 1.0, 1.0);
        let seconds = pcm.len() as f32 / rate as f32;
        assert!(
            (seconds - reference).abs() < 0.02,
            "{rate} Hz lasts {seconds} s, 16 kHz {reference} s"
        );
        let peak = pcm.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        let rms = (pcm.iter().map(|s| s * s).sum::<f32>() / pcm.len() as f32).sqrt();
        assert!(peak > 0.2 && peak <= 1.0, "peak {peak} at {rate} Hz");
        assert!(rms > 0.02, "rms {rms} at {rate} Hz");
        assert!(pcm.iter().all(|s| s.is_finite()));
    }
}

#[test]
fn rate_shortens_and_empty_text_is_silence() {
    let normal = speak(SENTENCE, 16_000, 1.0, 1.0).len() as f32;
    let fast = speak(SENTENCE, 16_000, 2.0, 1.0).len() as f32;
    assert!(
        fast < normal * 0.6 && fast > normal * 0.4,
        "normal {normal}, fast {fast}"
    );
    let silence = speak("", 16_000, 1.0, 1.0);
    assert!(silence.iter().all(|&s| s == 0.0));
}

fn frames_f0(text: &str, base_f0: f32) -> Vec<f32> {
    text_to_phrases(text)
        .iter()
        .flat_map(|p| phrase_frames(p, Voicing { rate: 1.0, base_f0 }))
        .filter(|f| f.voicing > 0.5)
        .map(|f| f.f0)
        .collect()
}

#[test]
fn pitch_scales_and_questions_rise_while_statements_fall() {
    let low = frames_f0("The garden is green.", 100.0);
    let high = frames_f0("The garden is green.", 150.0);
    let ratio = high.iter().sum::<f32>() / low.iter().sum::<f32>();
    assert!((ratio - 1.5).abs() < 1e-3, "ratio {ratio}");
    let statement = frames_f0("It is ready.", 100.0);
    let question = frames_f0("It is ready?", 100.0);
    let (s_end, q_end) = (*statement.last().unwrap(), *question.last().unwrap());
    assert!(s_end < 90.0, "statement ends at {s_end} Hz");
    assert!(q_end > 130.0, "question ends at {q_end} Hz");
}

#[test]
fn punctuation_makes_pauses() {
    let count = |text: &str| -> usize {
        text_to_phrases(text)
            .iter()
            .map(|p| {
                phrase_frames(
                    p,
                    Voicing {
                        rate: 1.0,
                        base_f0: 110.0,
                    },
                )
                .len()
            })
            .sum()
    };
    let plain = count("apples pears plums");
    let commas = count("apples, pears, plums");
    assert!(commas > plain + 50, "commas {commas} frames, plain {plain}");
    assert_eq!(text_to_phrases("One. Two? Three, four").len(), 4);
}

/// Every word of a reply is spoken (issue 24: the voice lost words): each written word of the
/// judge's sentences, and of replies with initialisms, contractions, possessives and accented
/// names, becomes at least one pronounced word with phonemes.
#[test]
fn every_word_of_a_reply_is_spoken() {
    let judge_set = include_str!("fixtures/tts/judge_sentences.txt");
    let replies = judge_set
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .chain([
            "José's café in Zürich serves crème brûlée.",
            "The USB-C port and the FBI's e.g. list; don't, won't, y'all.",
            "Naïve Zoë met Łukasz at the Straße.",
        ]);
    for reply in replies {
        let spoken = sotto::tts::normalize::normalize(reply);
        let written: Vec<&str> = spoken
            .split(|c: char| !(c.is_alphabetic() || c == '\''))
            .filter(|w| !w.trim_matches('\'').is_empty())
            .collect();
        let words: Vec<_> = text_to_phrases(reply)
            .into_iter()
            .flat_map(|p| p.words)
            .collect();
        assert!(
            words.len() >= written.len(),
            "{reply:?}: {} words written ({written:?}), {} spoken",
            written.len(),
            words.len()
        );
        for word in &words {
            assert!(
                !word.phones.is_empty(),
                "{reply:?}: a word without phonemes"
            );
        }
    }
    // Accented letters are spoken, not dropped: "café" has two vowels, as "cafe" does.
    let vowels = |text: &str| {
        text_to_phrases(text)
            .iter()
            .flat_map(|p| &p.words)
            .flat_map(|w| &w.phones)
            .filter(|p| sotto::tts::phoneme::spec(p.phoneme).is_vowel())
            .count()
    };
    assert_eq!(vowels("café Zoë"), vowels("cafe Zoe"));
}

/// The voice's rate for the devices' usual rates: the device's own or a whole fraction of it.
#[test]
fn the_voice_rate_divides_the_device_rate_when_it_can() {
    use sotto::tts::rate_for_device;
    for (device, voice) in [
        (48_000, 48_000),
        (96_000, 48_000),
        (44_100, 22_050),
        (88_200, 22_050),
        (24_000, 24_000),
        (22_050, 22_050),
        (16_000, 16_000),
        (32_000, 16_000),
        (8_000, 24_000),
        (11_025, 24_000),
        (0, 24_000),
    ] {
        assert_eq!(rate_for_device(device), voice, "{device} Hz");
    }
}
