//! Native speech to text against whisper.cpp, one thread each, in one run (issue 20, item 7):
//! this crate's `Transcriber::transcribe` in the default mode (what `sotto transcribe` runs)
//! and whisper.cpp's `whisper_full` (greedy, English, no timestamps; the libwhisper of the
//! pywhispercpp wheel, driven by scripts/whisper_cpp_reference.py) on the same samples and the
//! same weights (and whisper.cpp once more with its `audio_ctx` cut to the positions ours
//! encodes, its own trimmed mode, which has no silence tail): each checkpoint (q8_0 GGUF, f16 safetensors) is written in whisper.cpp's ggml
//! layout first ([`ggml`]). Calls alternate (ours, then whisper.cpp's, file by file, round by
//! round) so that both see the same load on a shared machine. Prints one JSON object: the
//! machine, the build, per checkpoint both engines' times (p50, p90, min), their ratio, the
//! transcripts and their word error rates. A benchmark: it never fails on speed.
//!
//! `cargo xtask bench-asr-native` makes the files, the Python environment and runs this; by hand:
//!
//! `cargo run --release --example bench_asr_reference -- --model models/real/whisper-tiny.en
//!   --python VENV/bin/python [--rounds 3] [--speech-set] FILE.wav=TEXT...`

mod ggml;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use anyhow::Context;
use serde_json::{json, Value};
use sotto::asr::Transcriber;
use sotto::eval::{CorpusWer, EnglishTextNormalizer, SpeechSet};
use sotto::settings::Settings;

/// One utterance: its 16 kHz samples (as both engines get them), and what was said.
struct Utterance {
    name: String,
    samples: Vec<f32>,
    /// The samples as raw little-endian f32, for whisper.cpp.
    raw: PathBuf,
    said: String,
}

/// whisper.cpp in its Python process: one request per line.
struct WhisperCpp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    system_info: String,
}

impl WhisperCpp {
    fn start(python: &Path, model: &Path) -> anyhow::Result<Self> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/whisper_cpp_reference.py");
        let mut child = Command::new(python)
            .arg(&script)
            .arg(model)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("start {}", python.display()))?;
        let stdin = child.stdin.take().context("whisper.cpp's stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("whisper.cpp's stdout")?);
        let mut engine = WhisperCpp {
            child,
            stdin,
            stdout,
            system_info: String::new(),
        };
        let ready = engine.answer()?;
        engine.system_info = ready["system_info"].as_str().unwrap_or("").to_string();
        Ok(engine)
    }

    fn answer(&mut self) -> anyhow::Result<Value> {
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        anyhow::ensure!(!line.is_empty(), "whisper.cpp's process ended");
        Ok(serde_json::from_str(&line)?)
    }

    /// (ms, text) of one utterance, on `audio_ctx` encoder positions (0: the whole window).
    fn transcribe(&mut self, u: &Utterance, audio_ctx: usize) -> anyhow::Result<(f64, String)> {
        writeln!(self.stdin, "{}\t{audio_ctx}", u.raw.display())?;
        self.stdin.flush()?;
        let a = self.answer()?;
        Ok((
            a["ms"].as_f64().unwrap_or(f64::NAN),
            a["text"].as_str().unwrap_or("").into(),
        ))
    }
}

impl Drop for WhisperCpp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Nearest-rank percentiles and the minimum of `ms`.
fn stats(ms: &[f64]) -> Value {
    let mut sorted = ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank =
        |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    let round = |v: f64| (v * 10.0).round() / 10.0;
    json!({"p50": round(rank(0.5)), "p90": round(rank(0.9)), "min": round(sorted[0]), "n": ms.len()})
}

/// Corpus WER of `texts` against what was said, normalized as openai-whisper normalizes.
fn wer(utterances: &[Utterance], texts: &[String]) -> f64 {
    let normalizer = EnglishTextNormalizer::new();
    let mut corpus = CorpusWer::default();
    for (u, text) in utterances.iter().zip(texts) {
        corpus.add(&normalizer.words(&u.said), &normalizer.words(text));
    }
    (corpus.rate() * 1000.0).round() / 1000.0
}

/// Both engines on `utterances` with one checkpoint: a warm-up call each, then `rounds` rounds,
/// the calls alternating.
fn compare(
    dir: &Path,
    weights: &str,
    python: &Path,
    work: &Path,
    utterances: &[Utterance],
    rounds: usize,
) -> anyhow::Result<Value> {
    let weights_path = dir.join(weights);
    let ggml = work.join(format!("ggml-{weights}.bin"));
    ggml::convert(dir, &weights_path, &ggml)?;
    let ours = Transcriber::from_files(
        &dir.join("config.json"),
        &dir.join("tokenizer.json"),
        &weights_path,
    )?;
    ours.warm_up()?;
    let mut theirs = WhisperCpp::start(python, &ggml)?;
    let opts = Settings::default().asr;
    let ours_call = |u: &Utterance| -> anyhow::Result<(f64, String, Value)> {
        let started = Instant::now();
        let t = ours.transcribe(&u.samples, &opts)?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        Ok((ms, t.text, serde_json::to_value(t.timings_ms)?))
    };
    // whisper.cpp's own trimmed mode: its `audio_ctx` set to the positions ours encodes.
    let n_mels = ours.model.config.num_mel_bins;
    let trimmed: Vec<usize> = utterances
        .iter()
        .map(|u| {
            ours.audio_ctx(
                sotto::audio::log_mel_spectrogram(&u.samples, n_mels).n_computed,
                &opts,
            )
        })
        .collect();
    ours_call(&utterances[0])?;
    theirs.transcribe(&utterances[0], 0)?;
    let (mut ours_ms, mut theirs_ms, mut split) = (Vec::new(), Vec::new(), Vec::new());
    let mut trimmed_ms = Vec::new();
    let mut ours_text = vec![String::new(); utterances.len()];
    let (mut theirs_text, mut trimmed_text) = (ours_text.clone(), ours_text.clone());
    for _ in 0..rounds {
        for (i, u) in utterances.iter().enumerate() {
            let (ms, text, timings) = ours_call(u)?;
            ours_ms.push(ms);
            split.push(timings);
            ours_text[i] = text;
            let (ms, text) = theirs.transcribe(u, 0)?;
            theirs_ms.push(ms);
            theirs_text[i] = text;
            let (ms, text) = theirs.transcribe(u, trimmed[i])?;
            trimmed_ms.push(ms);
            trimmed_text[i] = text;
        }
    }
    let p50 = |ms: &[f64]| stats(ms)["p50"].as_f64().unwrap_or(f64::NAN);
    let ratio = |a: &[f64], b: &[f64]| (p50(a) / p50(b) * 1000.0).round() / 1000.0;
    let same = |a: &[String], b: &[String]| {
        a.iter()
            .zip(b)
            .filter(|(a, b)| a.trim() == b.trim())
            .count()
    };
    let stage =
        |name: &str| -> Vec<f64> { split.iter().filter_map(|t| t[name].as_f64()).collect() };
    let transcripts: Vec<Value> = utterances
        .iter()
        .enumerate()
        .map(|(i, u)| {
            json!({"file": u.name, "said": u.said, "sotto": ours_text[i], "whisper_cpp": theirs_text[i],
                "whisper_cpp_trimmed": trimmed_text[i], "audio_ctx": trimmed[i]})
        })
        .collect();
    Ok(json!({
        "weights": weights,
        "ggml_bytes": std::fs::metadata(&ggml)?.len(),
        "sotto_ms": stats(&ours_ms),
        "sotto_split_ms": {"mel": stats(&stage("mel")), "encoder": stats(&stage("encoder")), "decoder": stats(&stage("decoder"))},
        "whisper_cpp_ms": stats(&theirs_ms),
        "ratio_sotto_over_whisper_cpp_p50": ratio(&ours_ms, &theirs_ms),
        "whisper_cpp_trimmed_ms": stats(&trimmed_ms),
        "ratio_sotto_over_whisper_cpp_trimmed_p50": ratio(&ours_ms, &trimmed_ms),
        "wer": {"sotto": wer(utterances, &ours_text), "whisper_cpp": wer(utterances, &theirs_text),
            "whisper_cpp_trimmed": wer(utterances, &trimmed_text)},
        "transcripts_equal_to_whisper_cpp": same(&ours_text, &theirs_text),
        "whisper_cpp_system_info": theirs.system_info.clone(),
        "transcripts": transcripts,
    }))
}

/// Reads a WAV file as this crate decodes it (any rate and layout to 16 kHz mono) and writes
/// those samples raw for whisper.cpp.
fn utterance(path: &Path, said: &str, work: &Path) -> anyhow::Result<Utterance> {
    let audio = sotto::audio::read_wav_file(path, 60.0)?;
    let name = path
        .file_name()
        .map_or("?".into(), |n| n.to_string_lossy().to_string());
    let raw = work.join(format!("{name}.f32"));
    let bytes: Vec<u8> = audio.samples.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&raw, bytes)?;
    Ok(Utterance {
        name,
        samples: audio.samples,
        raw,
        said: said.to_string(),
    })
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
        .map_or("?".to_string(), |(_, v)| v.trim().to_string());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "load_average": load.split_whitespace().take(3).collect::<Vec<_>>(),
        "avx2_kernels": cfg!(target_arch = "x86_64") && is_x86_avx2(),
    })
}

fn is_x86_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        sotto::kernels::quant::x86::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn main() -> anyhow::Result<()> {
    // One thread for candle's matrix products too (ours run on the caller alone).
    std::env::set_var("RAYON_NUM_THREADS", "1");
    let (mut model, mut python, mut rounds, mut speech_set) = (None, None, 3usize, false);
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--model" => model = Some(PathBuf::from(value()?)),
            "--python" => python = Some(PathBuf::from(value()?)),
            "--rounds" => rounds = value()?.parse()?,
            "--speech-set" => speech_set = true,
            other if other.starts_with("--") => anyhow::bail!("unknown argument {other}"),
            file => files.push(file.to_string()),
        }
    }
    let dir = model.context("--model DIR is required")?;
    let python = python.context("--python (a Python with numpy and pywhispercpp) is required")?;
    anyhow::ensure!(!files.is_empty(), "give the WAV files, as FILE.wav=TEXT");
    let work = std::env::temp_dir().join(format!("sotto-bench-reference-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let utterances = files
        .iter()
        .map(|f| {
            let (path, said) = f.split_once('=').unwrap_or((f, ""));
            utterance(Path::new(path), said, &work)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut models = Vec::new();
    for weights in ["model-q8_0.gguf", "model.safetensors"] {
        models.push(compare(&dir, weights, &python, &work, &utterances, rounds)?);
    }
    let mut report = json!({
        "benchmark": "speech to text, native, one thread: sotto (default mode, as `sotto transcribe`) against whisper.cpp (whisper_full, greedy, en, no timestamps) on the same samples and weights, calls alternating",
        "machine": machine(),
        "build": {"commit": git(&["rev-parse", "HEAD"]), "dirty": !git(&["status", "--porcelain", "--untracked-files=no"]).is_empty()},
        "model": dir.display().to_string(),
        "rounds": rounds,
        "models": models,
    });
    if speech_set {
        report["speech_set"] = speech_set_wer(&dir, &python, &work)?;
    }
    std::fs::remove_dir_all(&work).ok();
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Both engines, once per file, on the real-speech test set (target/speech-set): corpus WER
/// against the intended sentences, per checkpoint.
fn speech_set_wer(dir: &Path, python: &Path, work: &Path) -> anyhow::Result<Value> {
    let set = SpeechSet::open(Path::new(env!("CARGO_MANIFEST_DIR"))).map_err(anyhow::Error::msg)?;
    let utterances = set
        .files
        .iter()
        .filter(|f| f.is_speech())
        .map(|f| utterance(&f.path, &f.text, work))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut out = Vec::new();
    for weights in ["model-q8_0.gguf", "model.safetensors"] {
        let mut r = compare(dir, weights, python, work, &utterances, 1)?;
        if let Some(fields) = r.as_object_mut() {
            fields.remove("transcripts");
        }
        out.push(r);
    }
    Ok(json!({"files": utterances.len(), "models": out}))
}

fn git(args: &[&str]) -> String {
    Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
