//! Closed-set intelligibility: pocketsphinx, constrained by a JSGF grammar whose alternatives are
//! the test sentences, must recognise at least as many sentences from Sotto's voice as from
//! espeak-ng's. Skips (with a message) only when pocketsphinx, sox or espeak-ng is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use sotto::tts::{synthesize, SpeechOptions};

const SENTENCES: &str = include_str!("fixtures/tts/sentences.txt");
const MODEL_DIR: &str = "/usr/share/pocketsphinx/model/en-us/en-us";

fn tool_missing(name: &str, arg: &str) -> bool {
    Command::new(name).arg(arg).output().is_err()
}

fn write_wav(path: &Path, pcm: &[f32], rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).expect("create wav");
    for &s in pcm {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
            .expect("write wav");
    }
    w.finalize().expect("finalize wav");
}

/// Resamples to 16 kHz mono 16-bit with sox and decodes with the grammar; returns the hypothesis.
fn recognise(wav: &Path, grammar: &Path) -> String {
    let resampled = wav.with_extension("16k.wav");
    let status = Command::new("sox")
        .arg(wav)
        .args(["-r", "16000", "-c", "1", "-b", "16"])
        .arg(&resampled)
        .status()
        .expect("run sox");
    assert!(status.success(), "sox failed on {}", wav.display());
    let out = Command::new("pocketsphinx_continuous")
        .arg("-infile")
        .arg(&resampled)
        .arg("-jsgf")
        .arg(grammar)
        .output()
        .expect("run pocketsphinx_continuous");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn sotto_is_at_least_as_intelligible_as_espeak_ng() {
    let missing: Vec<&str> = [
        ("pocketsphinx_continuous", "-infile"),
        ("sox", "--version"),
        ("espeak-ng", "--version"),
    ]
    .into_iter()
    .filter(|(name, arg)| tool_missing(name, arg))
    .map(|(name, _)| name)
    .collect();
    if !missing.is_empty() || !Path::new(MODEL_DIR).exists() {
        eprintln!(
            "SKIPPED tts intelligibility: needs pocketsphinx, pocketsphinx-en-us, sox and espeak-ng \
             (missing: {missing:?}; model dir {MODEL_DIR} present: {})",
            Path::new(MODEL_DIR).exists()
        );
        return;
    }
    let dir: PathBuf =
        std::env::temp_dir().join(format!("sotto-tts-intelligibility-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sentences: Vec<&str> = SENTENCES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let grammar = dir.join("sentences.jsgf");
    let alternatives = sentences.join(" | ");
    std::fs::write(
        &grammar,
        format!("#JSGF V1.0;\ngrammar sentences;\npublic <s> = {alternatives};\n"),
    )
    .expect("write grammar");

    let options = SpeechOptions {
        sample_rate: 24_000,
        ..SpeechOptions::default()
    };
    let (mut sotto_ok, mut espeak_ok) = (0, 0);
    for (i, sentence) in sentences.iter().enumerate() {
        let ours = dir.join(format!("sotto-{i}.wav"));
        write_wav(
            &ours,
            &synthesize(sentence, &options).expect("synthesize"),
            options.sample_rate,
        );
        let heard = recognise(&ours, &grammar);
        if heard == *sentence {
            sotto_ok += 1;
        } else {
            eprintln!("sotto missed:     {sentence:?} heard {heard:?}");
        }
        let theirs = dir.join(format!("espeak-{i}.wav"));
        let status = Command::new("espeak-ng")
            .arg("-w")
            .arg(&theirs)
            .arg(sentence)
            .status()
            .expect("run espeak-ng");
        assert!(status.success(), "espeak-ng failed");
        let heard = recognise(&theirs, &grammar);
        if heard == *sentence {
            espeak_ok += 1;
        } else {
            eprintln!("espeak-ng missed: {sentence:?} heard {heard:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "intelligibility: sotto {sotto_ok}/{n}, espeak-ng {espeak_ok}/{n}",
        n = sentences.len()
    );
    assert!(
        sotto_ok >= espeak_ok,
        "sotto recognised {sotto_ok}, espeak-ng {espeak_ok}"
    );
    assert!(
        sotto_ok * 4 >= sentences.len() * 3,
        "sotto recognised only {sotto_ok}/{}",
        sentences.len()
    );
}
