//! How well each voice is understood: the built-in voice, espeak-ng and flite (kal16, slt) speak
//! the judge's sentence set in the same run, real Whisper base transcribes every sentence on its
//! own (full 30 s window, English, greedy), and openai-whisper's normalizer and WER score it
//! (see `tests/tts_common`). Beside each voice's WER: its pitch range and speaking rate, measured
//! the same way for all voices. Prints one JSON object; progress goes to stderr.
//!
//! Run: `cargo run --release --example tts_wer [-- --sentences FILE] [--voices a,b] [--every N]`
//! (needs `cargo xtask real-models` and `cargo xtask setup`).

#[path = "../tests/tts_common/mod.rs"]
mod tts_common;

use std::time::Instant;

use serde_json::{json, Value};
use sotto::eval::word_edits;
use tts_common::{delivery, sentences, Judge, Voice};

struct Args {
    sentences: Option<String>,
    voices: Vec<Voice>,
    every: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        sentences: None,
        voices: Voice::ALL.to_vec(),
        every: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--sentences" => args.sentences = Some(value()?),
            "--voices" => {
                args.voices = value()?
                    .split(',')
                    .map(|n| Voice::from_name(n).ok_or(format!("unknown voice {n:?}")))
                    .collect::<Result<_, _>>()?
            }
            "--every" => {
                args.every = value()?
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or("--every needs a positive whole number")?
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok(args)
}

fn median(mut values: Vec<f32>) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f32::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("tts_wer: {e}");
        std::process::exit(2)
    });
    let (set_name, text) = match &args.sentences {
        Some(path) => (
            path.clone(),
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}")),
        ),
        None => (
            "tests/fixtures/tts/judge_sentences.txt".to_string(),
            tts_common::SENTENCES.to_string(),
        ),
    };
    let set: Vec<&str> = sentences(&text).into_iter().step_by(args.every).collect();
    let judge = Judge::load();
    let scratch = tts_common::scratch_dir("tts-wer");
    let reference_words: usize = set.iter().map(|s| judge.words(s).len()).sum();
    let mut voices = Vec::new();
    for &voice in &args.voices {
        let (mut edits, mut audio_seconds, mut transcribe_ms) = (0, 0.0, 0.0);
        let (mut ranges, mut rates, mut f0s) = (Vec::new(), Vec::new(), Vec::new());
        let mut per_sentence = Vec::new();
        for (i, sentence) in set.iter().enumerate() {
            let pcm = voice
                .speak(sentence, &scratch)
                .unwrap_or_else(|e| panic!("{}: {e}", voice.name()));
            let started = Instant::now();
            let heard = judge.transcribe(&pcm);
            transcribe_ms += started.elapsed().as_secs_f64() * 1000.0;
            let reference = judge.words(sentence);
            let errors = word_edits(&reference, &judge.words(&heard));
            let spoken = delivery(&pcm, reference.len());
            edits += errors;
            audio_seconds += pcm.len() as f64 / f64::from(tts_common::RATE);
            ranges.push(spoken.pitch_range_st);
            rates.push(spoken.words_per_second);
            f0s.push(spoken.median_f0);
            eprintln!("{} {i}: {errors} errors, heard {heard:?}", voice.name());
            per_sentence.push(json!({
                "sentence": sentence,
                "heard": heard,
                "errors": errors,
                "words": reference.len(),
                "pitch_range_st": round(spoken.pitch_range_st, 1),
                "words_per_second": round(spoken.words_per_second, 2),
            }));
        }
        let wer = edits as f64 / reference_words.max(1) as f64;
        eprintln!("{}: WER {wer:.4} ({edits}/{reference_words})", voice.name());
        voices.push(json!({
            "voice": voice.name(),
            "wer": round(wer as f32, 4),
            "errors": edits,
            "median_pitch_range_st": round(median(ranges), 1),
            "median_words_per_second": round(median(rates), 2),
            "median_f0_hz": round(median(f0s), 0),
            "audio_seconds": round(audio_seconds as f32, 1),
            "transcribe_ms_per_sentence": round((transcribe_ms / set.len().max(1) as f64) as f32, 0),
            "per_sentence": per_sentence,
        }));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let report: Value = json!({
        "bench": "tts_wer",
        "machine": {
            "arch": std::env::consts::ARCH,
            "os": std::env::consts::OS,
            "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "judge": {
            "model": tts_common::MODEL_DIR,
            "window": "full 30 s, one sentence per transcription",
            "language": "en",
            "decoding": "greedy",
            "scoring": "openai-whisper EnglishTextNormalizer, clock times split, word edits / reference words",
        },
        "set": { "file": set_name, "every": args.every, "sentences": set.len(), "words": reference_words },
        "voices": voices,
    });
    println!("{report}");
}

fn round(x: f32, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (f64::from(x) * scale).round() / scale
}
