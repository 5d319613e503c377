//! Speech settings out of range: `SpeechOptions::validate` and `synthesize` name the field and
//! the accepted range.

use sotto::tts::{synthesize, SpeechOptions};

use super::Corpus;

fn good() -> Result<(), String> {
    let samples = synthesize("Hello.", &SpeechOptions::default()).map_err(|e| e.to_string())?;
    if samples.is_empty() {
        return Err("no samples".into());
    }
    Ok(())
}

#[test]
fn bad_speech_options() {
    let mut corpus = Corpus::default();
    let base = SpeechOptions::default();
    let cases = [
        (
            "rate 12345 Hz",
            SpeechOptions {
                sample_rate: 12_345,
                ..base
            },
            "12345 Hz",
        ),
        (
            "rate 0 Hz",
            SpeechOptions {
                sample_rate: 0,
                ..base
            },
            "sample rate 0 Hz",
        ),
        (
            "negative speed",
            SpeechOptions { rate: -1.0, ..base },
            "speaking rate -1",
        ),
        (
            "NaN speed",
            SpeechOptions {
                rate: f32::NAN,
                ..base
            },
            "speaking rate NaN",
        ),
        (
            "infinite speed",
            SpeechOptions {
                rate: f32::INFINITY,
                ..base
            },
            "speaking rate inf",
        ),
        (
            "zero pitch",
            SpeechOptions { pitch: 0.0, ..base },
            "pitch factor 0",
        ),
    ];
    for (name, options, needle) in cases {
        corpus.case(name, || options.validate(), &[needle, "expected"], good);
        corpus.case(
            &format!("{name} (synthesize)"),
            || synthesize("Hello.", &options),
            &[needle],
            good,
        );
    }
    corpus.finish(12);
}
