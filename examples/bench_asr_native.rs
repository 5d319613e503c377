//! The native reference of `tests/e2e/bench-asr.mjs`: a Whisper checkpoint transcribes WAV files
//! in the default mode, in one process on one thread, the way the browser engine does (the
//! encoded silence that completes a trimmed context is made while loading, as the engine's
//! `loadAsr` does, not in the first call); one warm-up call, then `--rounds` rounds over the
//! files. Prints one JSON object: per call the file, the wall time of `transcribe`, its time on a
//! CPU and waiting for one (Linux schedstat: the share a loaded machine took), the engine's own
//! timings and the text.
//!
//! `cargo run --release --example bench_asr_native -- --model models/real/whisper-tiny.en
//!   --weights model-q8_0.gguf [--rounds 3] FILE.wav...`

use std::path::PathBuf;
use std::time::Instant;

use sotto::asr::Transcriber;
use sotto::settings::Settings;

/// This thread's time on a CPU and waiting on the run queue, in ns (Linux's schedstat): how much
/// of a call's wall time other processes took on a shared machine. `None` elsewhere.
fn schedstat() -> Option<[u64; 2]> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    Some([fields.next()??, fields.next()??])
}

fn main() -> anyhow::Result<()> {
    let mut model: Option<PathBuf> = None;
    let mut weights = "model.safetensors".to_string();
    let mut rounds = 3usize;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--model" => model = Some(PathBuf::from(value()?)),
            "--weights" => weights = value()?,
            "--rounds" => rounds = value()?.parse()?,
            other if other.starts_with("--") => anyhow::bail!("unknown argument {other}"),
            file => files.push(PathBuf::from(file)),
        }
    }
    let dir = model.ok_or_else(|| anyhow::anyhow!("--model DIR is required"))?;
    anyhow::ensure!(!files.is_empty(), "give the WAV files to transcribe");
    let started = Instant::now();
    let transcriber = Transcriber::from_files(
        &dir.join("config.json"),
        &dir.join("tokenizer.json"),
        &dir.join(&weights),
    )?;
    transcriber.warm_up()?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let audio: Vec<_> = files
        .iter()
        .map(|f| sotto::audio::read_wav_file(f, 60.0))
        .collect::<Result<_, _>>()?;
    // What `sotto transcribe` and the browser use without flags.
    let opts = Settings::default().asr;
    let call = |i: usize| -> anyhow::Result<serde_json::Value> {
        let before = schedstat();
        let started = Instant::now();
        let t = transcriber.transcribe(&audio[i].samples, &opts)?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let after = schedstat();
        let delta = |k: usize| Some((after?[k] - before?[k]) as f64 / 1e6);
        Ok(serde_json::json!({
            "file": i,
            "ms": ms,
            "on_cpu_ms": delta(0),
            "run_queue_ms": delta(1),
            "text": t.text,
            "tokens": t.tokens.len(),
            "stop": t.stop,
            "timings_ms": t.timings_ms,
        }))
    };
    let warm_up = call(0)?;
    let mut runs = Vec::new();
    for _ in 0..rounds {
        for i in 0..files.len() {
            runs.push(call(i)?);
        }
    }
    let report = serde_json::json!({
        "threads": sotto::parallel::thread_count(),
        "load_ms": load_ms,
        "warm_up": warm_up,
        "runs": runs,
    });
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
