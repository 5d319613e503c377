//! The real-speech test set itself (no model needed): the rendered audio is the audio the committed
//! reference transcripts were made from, the references' WER recomputes in Rust to the figure
//! Python computed, and a drifted rendering fails with instructions.
//! Needs `cargo xtask speech-set` (the test command runs it first).

use std::path::{Path, PathBuf};

use sotto::eval::{runaway, CorpusWer, EnglishTextNormalizer, SpeechSet};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn open_set() -> SpeechSet {
    SpeechSet::open(&root()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn rendered_set_matches_the_committed_manifest() {
    let set = open_set();
    let speech = set.files.iter().filter(|f| f.is_speech()).count();
    let silent = set.files.len() - speech;
    assert!(speech >= 72, "{speech} utterances");
    assert!(silent >= 4, "{silent} no-speech files");
}

#[test]
fn reference_wer_recomputed_in_rust_matches_python() {
    let set = open_set();
    let normalizer = EnglishTextNormalizer::new();
    for model in ["whisper-tiny.en", "whisper-base"] {
        let refs = set.references(model).unwrap_or_else(|e| panic!("{e}"));
        let mut wer = CorpusWer::default();
        for file in set.files.iter().filter(|f| f.is_speech()) {
            wer.add(
                &normalizer.words(&file.text),
                &normalizer.words(&refs.files[&file.id].text),
            );
        }
        assert_eq!(
            (wer.edits, wer.reference_words),
            (refs.edits, refs.reference_words),
            "{model}: Rust normalizer + WER disagree with openai-whisper's normalizer + jiwer"
        );
    }
}

#[test]
fn intended_sentences_are_not_runaway() {
    // The runaway rule must not fire on what was actually said.
    let set = open_set();
    let normalizer = EnglishTextNormalizer::new();
    for file in set.files.iter().filter(|f| f.is_speech()) {
        let audio = sotto::audio::read_wav_file(&file.path, 60.0).unwrap();
        let words = normalizer.words(&file.text);
        assert_eq!(
            runaway(&file.text, &words, audio.seconds()),
            None,
            "{}",
            file.id
        );
    }
}

#[test]
fn every_wav_layout_of_the_set_decodes_to_16k_mono() {
    let set = open_set();
    for file in &set.files {
        let audio = sotto::audio::read_wav_file(&file.path, 60.0)
            .unwrap_or_else(|e| panic!("{}: {e}", file.id));
        assert_eq!(audio.sample_rate, 16_000);
        assert!(
            (1.0..10.0).contains(&audio.seconds()),
            "{}: {} s",
            file.id,
            audio.seconds()
        );
        let peak = audio.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 1e-4 && peak <= 1.0, "{}: peak {peak}", file.id);
    }
}

#[test]
fn drifted_audio_fails_with_how_to_regenerate() {
    let real = open_set();
    let fake_root = std::env::temp_dir().join(format!("sotto-drift-{}", std::process::id()));
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    };
    copy(
        &root().join("tests/fixtures/speech/manifest.tsv"),
        &fake_root.join("tests/fixtures/speech/manifest.tsv"),
    );
    for file in &real.files {
        copy(
            &file.path,
            &fake_root
                .join("target/speech-set")
                .join(format!("{}.wav", file.id)),
        );
    }
    // A "new synthesizer release": one file's bytes change.
    let victim = fake_root
        .join("target/speech-set")
        .join(format!("{}.wav", real.files[3].id));
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let err = SpeechSet::open(&fake_root).expect_err("a drifted file must fail");
    std::fs::remove_dir_all(&fake_root).unwrap();
    assert!(err.contains("drifted"), "{err}");
    assert!(err.contains(&real.files[3].id), "{err}");
    assert!(err.contains("cargo xtask speech-set"), "{err}");
    assert!(err.contains("speech_references.py"), "{err}");
}
