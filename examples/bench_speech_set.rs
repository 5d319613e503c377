//! Accuracy and speed of a real Whisper checkpoint on the real-speech test set, per decoding mode:
//! prints one JSON report with the machine and the build, and per mode the WER against the
//! intended sentences with openai-whisper's normalizer, the reference's WER, runaway and
//! no-speech counts and the wall time per file; with both modes, the default mode's time per file
//! as a ratio of the full window's, measured in the same run.
//!
//! `cargo run --release --example bench_speech_set -- --model models/real/whisper-tiny.en
//!   [--weights model-q8_0.gguf] [--reference whisper-tiny.en] [--language en]
//!   [--modes default,full-window] [--files u01,u02] [--verbose]`
//!
//! Needs `cargo xtask speech-set`. `--reference` names the model in
//! tests/fixtures/speech/reference.json (default: the --model folder's name).

use std::path::PathBuf;
use std::time::Instant;

use sotto::asr::{DecodeOptions, Transcriber};
use sotto::eval::{runaway, CorpusWer, EnglishTextNormalizer, SpeechSet};

fn main() -> anyhow::Result<()> {
    let mut model: Option<PathBuf> = None;
    let mut weights: Option<String> = None;
    let mut reference: Option<String> = None;
    let mut language: Option<String> = None;
    let mut modes = vec!["default".to_string(), "full-window".to_string()];
    let mut only: Option<Vec<String>> = None;
    let mut verbose = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--model" => model = Some(PathBuf::from(value()?)),
            "--weights" => weights = Some(value()?),
            "--reference" => reference = Some(value()?),
            "--language" => language = Some(value()?),
            "--modes" => modes = value()?.split(',').map(str::to_string).collect(),
            "--files" => only = Some(value()?.split(',').map(str::to_string).collect()),
            "--verbose" => verbose = true,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let model_dir = model.ok_or_else(|| anyhow::anyhow!("--model DIR is required"))?;
    let weights = model_dir.join(weights.as_deref().unwrap_or("model.safetensors"));
    let reference = reference.unwrap_or_else(|| {
        model_dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    });
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let set = SpeechSet::open(&root).map_err(anyhow::Error::msg)?;
    let refs = set.references(&reference).map_err(anyhow::Error::msg)?;
    let loaded = Instant::now();
    let transcriber = Transcriber::from_files(
        &model_dir.join("config.json"),
        &model_dir.join("tokenizer.json"),
        &weights,
    )?;
    let load_s = loaded.elapsed().as_secs_f64();
    let normalizer = EnglishTextNormalizer::new();
    let files: Vec<_> = set
        .files
        .iter()
        .filter(|f| only.as_ref().is_none_or(|o| o.contains(&f.id)))
        .collect();
    let audio: Vec<_> = files
        .iter()
        .map(|f| sotto::audio::read_wav_file(&f.path, 60.0))
        .collect::<Result<_, _>>()?;
    let mut reports = Vec::new();
    for mode in &modes {
        let opts = DecodeOptions {
            language: language.clone(),
            full_window: match mode.as_str() {
                "default" => false,
                "full-window" => true,
                other => anyhow::bail!("unknown mode {other} (default, full-window)"),
            },
            ..DecodeOptions::default()
        };
        let mut wer = CorpusWer::default();
        let mut ref_wer = CorpusWer::default();
        let (mut runaways, mut silence_text, mut same_as_reference) = (0, 0, 0);
        let mut ms = Vec::new();
        for (file, audio) in files.iter().zip(&audio) {
            let started = Instant::now();
            let transcript = transcriber.transcribe(&audio.samples, &opts)?;
            ms.push(started.elapsed().as_secs_f64() * 1e3);
            let text = transcript.text.trim();
            let words = normalizer.words(text);
            let reference_text = &refs.files[&file.id].text;
            same_as_reference += usize::from(text == reference_text.trim());
            if file.is_speech() {
                let intended = normalizer.words(&file.text);
                wer.add(&intended, &words);
                ref_wer.add(&intended, &normalizer.words(reference_text));
            } else if !text.is_empty() {
                silence_text += 1;
            }
            let why = runaway(text, &words, audio.seconds());
            runaways += usize::from(why.is_some());
            if verbose {
                eprintln!(
                    "{mode} {}: {text:?} (reference {reference_text:?}) {why:?}",
                    file.id
                );
            }
        }
        ms.sort_by(f64::total_cmp);
        let json = serde_json::json!({
            "model": model_dir.display().to_string(),
            "weights": weights.file_name().map(|n| n.to_string_lossy().into_owned()),
            "mode": mode,
            "language": language,
            "files": files.len(),
            "wer": (wer.rate() * 1e4).round() / 1e4,
            "edits": wer.edits,
            "reference_words": wer.reference_words,
            "reference_wer": (ref_wer.rate() * 1e4).round() / 1e4,
            "same_text_as_reference": same_as_reference,
            "runaway": runaways,
            "no_speech_files_with_text": silence_text,
            "ms_per_file_median": ms[ms.len() / 2].round(),
            "seconds_total": (ms.iter().sum::<f64>() / 1e3 * 10.0).round() / 10.0,
            "load_seconds": (load_s * 100.0).round() / 100.0,
            "ms_per_file_mean": (ms.iter().sum::<f64>() / ms.len().max(1) as f64).round(),
        });
        eprintln!("{json}");
        reports.push(json);
    }
    let mean_ms = |mode: &str| {
        reports
            .iter()
            .find(|r| r["mode"] == mode)
            .and_then(|r| r["ms_per_file_mean"].as_f64())
    };
    let ratio = match (mean_ms("default"), mean_ms("full-window")) {
        (Some(d), Some(f)) if f > 0.0 => Some((d / f * 1e3).round() / 1e3),
        _ => None,
    };
    let report = serde_json::json!({
        "benchmark": "speech_set",
        "machine": {
            "arch": std::env::consts::ARCH,
            "os": std::env::consts::OS,
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "threads_used": 1,
        },
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
        "modes": reports,
        "default_over_full_window_time_per_file": ratio,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
