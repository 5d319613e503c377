//! Real whisper tiny.en (f16 and q8_0) on the real-speech test set, in the project's default
//! mode (the one the browser, `transcribe` and `converse` use without flags): corpus WER at most
//! the HF reference's (full 30 s window, greedy) + 0.01, no runaway transcript, no text on the
//! no-speech files.
//!
//! Needs `cargo xtask real-models` (models/real/) and `cargo xtask speech-set` (target/speech-set/);
//! the test command runs both first.

use std::path::PathBuf;

use sotto::asr::{DecodeOptions, Transcriber};
use sotto::eval::{runaway, CorpusWer, EnglishTextNormalizer, SpeechSet};

/// How far above the reference's WER the default mode may be.
const WER_MARGIN: f64 = 0.01;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn real_tiny_en(weights: &str) -> Transcriber {
    let dir = root().join("models/real/whisper-tiny.en");
    let file = |name: &str| {
        let path = dir.join(name);
        assert!(
            path.is_file(),
            "{} is missing: the real models are not imported; run `cargo xtask real-models`",
            path.display()
        );
        path
    };
    Transcriber::from_files(
        &file("config.json"),
        &file("tokenizer.json"),
        &file(weights),
    )
    .unwrap_or_else(|e| panic!("loading real tiny.en {weights} from {}: {e}", dir.display()))
}

/// The imported f16 safetensors.
#[test]
fn real_tiny_en_default_mode_is_as_accurate_as_the_reference_on_the_speech_set() {
    check_default_mode("model.safetensors");
}

/// The q8_0 GGUF the browser loads by default.
#[test]
fn real_tiny_en_q8_0_default_mode_is_as_accurate_as_the_reference_on_the_speech_set() {
    check_default_mode("model-q8_0.gguf");
}

fn check_default_mode(weights: &str) {
    let set = SpeechSet::open(&root()).unwrap_or_else(|e| panic!("{e}"));
    let refs = set
        .references("whisper-tiny.en")
        .unwrap_or_else(|e| panic!("{e}"));
    let model = real_tiny_en(weights);
    let normalizer = EnglishTextNormalizer::new();
    let opts = DecodeOptions::default();
    let started = std::time::Instant::now();
    let mut wer = CorpusWer::default();
    let mut runaways = Vec::new();
    let mut texts_on_silence = Vec::new();
    let mut report = String::new();
    for file in &set.files {
        let audio = sotto::audio::read_wav_file(&file.path, 60.0)
            .unwrap_or_else(|e| panic!("{}: {e}", file.id));
        let transcript = model
            .transcribe(&audio.samples, &opts)
            .unwrap_or_else(|e| panic!("{}: {e}", file.id));
        let text = transcript.text.trim();
        let words = normalizer.words(text);
        let edits = if file.is_speech() {
            wer.add(&normalizer.words(&file.text), &words)
        } else {
            if !text.is_empty() {
                texts_on_silence.push(format!("{}: {text:?}", file.id));
            }
            0
        };
        if let Some(why) = runaway(text, &words, audio.seconds()) {
            runaways.push(format!("{}: {why:?}", file.id));
        }
        report.push_str(&format!(
            "{} edits {edits}  got {text:?}  reference {:?}\n",
            file.id, refs.files[&file.id].text
        ));
    }
    eprintln!(
        "{report}tiny.en {weights} default mode: WER {}/{} = {:.4} (reference {:.4}), {} runaway, {} \
         no-speech files with text, {:.1} s",
        wer.edits,
        wer.reference_words,
        wer.rate(),
        refs.wer,
        runaways.len(),
        texts_on_silence.len(),
        started.elapsed().as_secs_f64()
    );
    let mut failures = Vec::new();
    if wer.rate() > refs.wer + WER_MARGIN {
        failures.push(format!(
            "WER {:.4} is above the reference's {:.4} + {WER_MARGIN}",
            wer.rate(),
            refs.wer
        ));
    }
    if !runaways.is_empty() {
        failures.push(format!("runaway transcripts:\n  {}", runaways.join("\n  ")));
    }
    if !texts_on_silence.is_empty() {
        failures.push(format!(
            "text on no-speech audio:\n  {}",
            texts_on_silence.join("\n  ")
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
