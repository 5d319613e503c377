//! The voice judge, shared by the intelligibility test (`tests/tts_intelligibility.rs`) and the
//! `tts_wer` benchmark (`examples/tts_wer.rs`): the built-in voice and reference synthesizers
//! speak a sentence set, real Whisper base transcribes each sentence on its own on the full 30 s
//! window (English, greedy), and openai-whisper's English normalizer and WER score the result.
//!
//! One rule is added to the normalizer, for reference and hypothesis alike: a clock time written
//! `6:45` or `6.45` becomes the two words `6 45`. The normalizer splits the first but keeps the
//! second, and Whisper writes either, so without the rule every time costs every voice two errors
//! that say nothing about how it was spoken.

#![allow(dead_code)] // Each user takes the parts it needs.

use std::path::{Path, PathBuf};
use std::process::Command;

use sotto::asr::{DecodeOptions, Transcriber};
use sotto::audio::{decode_wav_16k, resample};
use sotto::eval::EnglishTextNormalizer;
use sotto::tts::{synthesize, SpeechOptions};

/// Whisper's sample rate.
pub const RATE: u32 = 16_000;

/// The sentence set: assistant replies with numbers, times, names and questions.
pub const SENTENCES: &str = include_str!("../fixtures/tts/judge_sentences.txt");

/// The sentences of a set file: one per line, blank lines and `#` comments skipped.
pub fn sentences(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// A voice that can speak a sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Voice {
    /// Sotto's built-in voice at its default settings.
    Sotto,
    /// espeak-ng's default voice (its formant synthesizer).
    EspeakNg,
    /// flite's `kal16` voice (diphone concatenation).
    FliteKal16,
    /// flite's `slt` voice (statistical parametric, trained on one speaker).
    FliteSlt,
}

impl Voice {
    /// Every voice, the built-in one first.
    pub const ALL: [Voice; 4] = [
        Voice::Sotto,
        Voice::EspeakNg,
        Voice::FliteKal16,
        Voice::FliteSlt,
    ];

    /// The voice's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Voice::Sotto => "sotto",
            Voice::EspeakNg => "espeak-ng",
            Voice::FliteKal16 => "flite-kal16",
            Voice::FliteSlt => "flite-slt",
        }
    }

    /// Parses a name from [`Voice::name`].
    pub fn from_name(name: &str) -> Option<Voice> {
        Voice::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Speaks `text` and returns 16 kHz mono samples. `scratch` is a folder for the external
    /// tools' WAV files. A missing tool is an error that says how to install it.
    pub fn speak(self, text: &str, scratch: &Path) -> Result<Vec<f32>, String> {
        match self {
            Voice::Sotto => {
                let options = SpeechOptions::default();
                let pcm = synthesize(text, &options).map_err(|e| e.to_string())?;
                resample(&pcm, options.sample_rate, RATE).map_err(|e| e.to_string())
            }
            Voice::EspeakNg => {
                let wav = scratch.join("espeak-ng.wav");
                run_tool(Command::new("espeak-ng").arg("-w").arg(&wav).arg(text))?;
                read_16k(&wav)
            }
            Voice::FliteKal16 | Voice::FliteSlt => {
                let name = if self == Voice::FliteKal16 {
                    "kal16"
                } else {
                    "slt"
                };
                let wav = scratch.join(format!("flite-{name}.wav"));
                run_tool(
                    Command::new("flite")
                        .args(["-voice", name, "-t", text, "-o"])
                        .arg(&wav),
                )?;
                read_16k(&wav)
            }
        }
    }
}

fn run_tool(command: &mut Command) -> Result<(), String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let status = command.status().map_err(|e| {
        format!("cannot run {program} ({e}): install the test tools with `cargo xtask setup`")
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} failed ({status})"))
    }
}

fn read_16k(path: &Path) -> Result<Vec<f32>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    decode_wav_16k(&bytes, &path.display().to_string(), 60.0)
        .map(|a| a.samples)
        .map_err(|e| e.to_string())
}

/// The crate's root folder.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch folder for one run, removed by the caller when done.
pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sotto-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a scratch folder");
    dir
}

/// Real Whisper base and the scoring rules.
pub struct Judge {
    transcriber: Transcriber,
    normalizer: EnglishTextNormalizer,
    options: DecodeOptions,
}

/// Where the judge's model lives, under the crate root.
pub const MODEL_DIR: &str = "models/real/whisper-base";

impl Judge {
    /// Loads `models/real/whisper-base`; panics naming `cargo xtask real-models` when it is
    /// missing, so that a machine without the model fails the test instead of skipping it.
    pub fn load() -> Judge {
        let dir = root().join(MODEL_DIR);
        let file = |name: &str| {
            let path = dir.join(name);
            assert!(
                path.is_file(),
                "{} is missing: the real models are not imported; run `cargo xtask real-models`",
                path.display()
            );
            path
        };
        let transcriber = Transcriber::from_files(
            &file("config.json"),
            &file("tokenizer.json"),
            &file("model.safetensors"),
        )
        .unwrap_or_else(|e| panic!("loading whisper base from {}: {e}", dir.display()));
        Judge {
            transcriber,
            normalizer: EnglishTextNormalizer::new(),
            // The reference computation: the whole 30 s window, English, greedy, and no
            // no-speech gate (a voice that sounds like noise should lose words, not skip them).
            options: DecodeOptions {
                language: Some("en".into()),
                full_window: true,
                no_speech_threshold: 1.0,
                ..DecodeOptions::default()
            },
        }
    }

    /// What Whisper hears in 16 kHz samples.
    pub fn transcribe(&self, pcm: &[f32]) -> String {
        self.transcriber
            .transcribe(pcm, &self.options)
            .unwrap_or_else(|e| panic!("transcription failed: {e}"))
            .text
            .trim()
            .to_string()
    }

    /// The words WER counts: openai-whisper's normalizer, then clock times split (see the
    /// module documentation).
    pub fn words(&self, text: &str) -> Vec<String> {
        self.normalizer
            .words(text)
            .into_iter()
            .flat_map(split_clock_time)
            .collect()
    }
}

/// `6:45`, `6.45` (or `$6.45`) → `6 45`; any other word unchanged.
pub fn split_clock_time(word: String) -> Vec<String> {
    let digits = word.trim_start_matches(|c: char| !c.is_ascii_digit());
    let prefix = &word[..word.len() - digits.len()];
    let split = digits.find([':', '.']).and_then(|at| {
        let (hours, minutes) = (&digits[..at], &digits[at + 1..]);
        let numeric = |s: &str, n: std::ops::RangeInclusive<usize>| {
            n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
        };
        (numeric(hours, 1..=2) && numeric(minutes, 2..=2))
            .then(|| vec![format!("{prefix}{hours}"), minutes.to_string()])
    });
    split.unwrap_or_else(|| vec![word])
}

/// Pitch and tempo of one spoken sentence, measured from its samples alone, so that every voice
/// is measured the same way.
#[derive(Clone, Copy, Debug, Default)]
pub struct Delivery {
    /// Median fundamental frequency of the voiced frames, Hz.
    pub median_f0: f32,
    /// Pitch range: 5th to 95th percentile of F0, in semitones.
    pub pitch_range_st: f32,
    /// Words per second between the first and the last loud frame.
    pub words_per_second: f32,
}

/// Frame hop and window of the pitch tracker, in samples at 16 kHz (10 ms, 40 ms).
const HOP: usize = 160;
const WINDOW: usize = 640;

/// Measures [`Delivery`] with a normalized-autocorrelation pitch tracker (60–400 Hz; a frame is
/// voiced when its best lag correlates above 0.6 and it is within 35 dB of the loudest frame).
pub fn delivery(pcm: &[f32], words: usize) -> Delivery {
    let frames: Vec<&[f32]> = (0..pcm.len().saturating_sub(WINDOW))
        .step_by(HOP)
        .map(|s| &pcm[s..s + WINDOW])
        .collect();
    let energy: Vec<f32> = frames
        .iter()
        .map(|f| f.iter().map(|x| x * x).sum::<f32>() / WINDOW as f32)
        .collect();
    let loudest = energy.iter().copied().fold(0.0f32, f32::max);
    if loudest <= 0.0 {
        return Delivery::default();
    }
    let loud = |e: f32| e > loudest * 10f32.powf(-3.5);
    let first = energy.iter().position(|&e| loud(e)).unwrap_or(0);
    let last = energy.iter().rposition(|&e| loud(e)).unwrap_or(0);
    let seconds = ((last - first + 1) * HOP) as f32 / RATE as f32;
    let (min_lag, max_lag) = ((RATE / 400) as usize, (RATE / 60) as usize);
    let mut f0s: Vec<f32> = frames
        .iter()
        .zip(&energy)
        .filter(|(_, &e)| loud(e))
        .filter_map(|(frame, _)| {
            let n = WINDOW - max_lag;
            let head = &frame[..n];
            let head_energy: f32 = head.iter().map(|x| x * x).sum();
            let (lag, score) = (min_lag..=max_lag)
                .map(|lag| {
                    let tail = &frame[lag..lag + n];
                    let dot: f32 = head.iter().zip(tail).map(|(a, b)| a * b).sum();
                    let tail_energy: f32 = tail.iter().map(|x| x * x).sum();
                    (lag, dot / (head_energy * tail_energy).sqrt().max(1e-12))
                })
                .fold((0, f32::MIN), |best, c| if c.1 > best.1 { c } else { best });
            (score > 0.6).then(|| RATE as f32 / lag as f32)
        })
        .collect();
    f0s.sort_by(f32::total_cmp);
    let at = |q: f32| f0s[((f0s.len() - 1) as f32 * q).round() as usize];
    let (median_f0, pitch_range_st) = if f0s.len() >= 5 {
        (at(0.5), 12.0 * (at(0.95) / at(0.05)).log2())
    } else {
        (0.0, 0.0)
    };
    Delivery {
        median_f0,
        pitch_range_st,
        words_per_second: words as f32 / seconds.max(0.01),
    }
}
