//! The voice judged by an open-vocabulary ear (issue 24): Sotto's voice and espeak-ng speak every
//! third sentence of the judge's set (30 assistant replies with numbers, times, names and
//! questions, held-out ones among them), real Whisper base transcribes each on the full window
//! (English, greedy), and openai-whisper's normalizer and WER score both (see `tests/tts_common`).
//! Sotto's voice must be understood at least as well as espeak-ng's, and lose few words.
//!
//! Needs `cargo xtask real-models` (fails, naming it, when the model is missing) and espeak-ng
//! (`cargo xtask setup`). Cost: 60 transcriptions of 30 s windows, about 3.5 s of CPU each
//! (some 4 minutes of CI on two cores).
//! The whole set, with flite's voices and pitch and rate beside WER: `examples/tts_wer.rs`.

mod tts_common;

use sotto::eval::word_edits;
use tts_common::{sentences, Judge, Voice};

/// Sotto's WER on this subset stays below this. It measured 0.162 (espeak-ng 0.253) when the
/// test was written; the goal is 0.05.
const MAX_SOTTO_WER: f64 = 0.2;

/// Word errors and reference words of one voice over the sentences.
fn score(judge: &Judge, voice: Voice, set: &[&str], scratch: &std::path::Path) -> (usize, usize) {
    let (mut errors, mut words) = (0, 0);
    for sentence in set {
        let pcm = voice
            .speak(sentence, scratch)
            .unwrap_or_else(|e| panic!("{}: {e}", voice.name()));
        let heard = judge.transcribe(&pcm);
        let reference = judge.words(sentence);
        let wrong = word_edits(&reference, &judge.words(&heard));
        println!(
            "{} ({wrong} errors): {sentence:?} heard {heard:?}",
            voice.name()
        );
        errors += wrong;
        words += reference.len();
    }
    (errors, words)
}

#[test]
fn whisper_base_understands_sotto_at_least_as_well_as_espeak_ng() {
    let judge = Judge::load();
    let set: Vec<&str> = sentences(tts_common::SENTENCES)
        .into_iter()
        .step_by(3)
        .collect();
    assert!(set.len() >= 30, "the judge's set shrank to {}", set.len());
    let scratch = tts_common::scratch_dir("tts-judge");
    let (sotto_errors, words) = score(&judge, Voice::Sotto, &set, &scratch);
    let (espeak_errors, _) = score(&judge, Voice::EspeakNg, &set, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    let sotto = sotto_errors as f64 / words as f64;
    let espeak = espeak_errors as f64 / words as f64;
    println!(
        "WER over {} sentences, {words} words: sotto {sotto:.4}, espeak-ng {espeak:.4}",
        set.len()
    );
    assert!(
        sotto_errors <= espeak_errors,
        "Sotto's voice loses more words than espeak-ng's: WER {sotto:.4} > {espeak:.4}"
    );
    assert!(
        sotto <= MAX_SOTTO_WER,
        "Sotto's voice loses too many words: WER {sotto:.4} > {MAX_SOTTO_WER}"
    );
}
