//! `sotto transcribe`: speech to text with a Whisper checkpoint.

use std::path::{Path, PathBuf};

use crate::model_files::pick;
use sotto::asr::{DecodeOptions, Transcriber};

/// Arguments of `sotto transcribe`.
#[derive(clap::Args)]
pub struct Args {
    /// Folder holding config.json, tokenizer.json and model.safetensors or model.gguf.
    #[arg(long)]
    model: Option<PathBuf>,
    /// config.json (overrides the one in --model).
    #[arg(long)]
    config: Option<PathBuf>,
    /// tokenizer.json (overrides the one in --model).
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// Weights, safetensors or GGUF (overrides the one in --model).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Language code (en, fr, ...); detected when omitted on multilingual models. English-only
    /// models take only en.
    #[arg(long)]
    language: Option<String>,
    /// Tokens generated per 30 s window at most.
    #[arg(long, default_value_t = 224)]
    max_tokens: usize,
    /// Run the encoder on the full 30 s window (exact, slower) instead of the utterance.
    #[arg(long)]
    full_window: bool,
    /// Output no text when the no-speech probability exceeds this; 1 disables the gate.
    #[arg(long, default_value_t = 0.6)]
    no_speech_threshold: f32,
    /// Print one JSON object: text, tokens, language, no_speech_prob, timings_ms.
    #[arg(long)]
    json: bool,
    /// The WAV file to transcribe.
    file: PathBuf,
}

/// Transcribes the file and prints the text (or JSON).
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = pick(
        &args.config,
        &args.model,
        &["config.json"],
        "model",
        "config",
    )?;
    let tokenizer = pick(
        &args.tokenizer,
        &args.model,
        &["tokenizer.json"],
        "model",
        "tokenizer",
    )?;
    let weights = pick(
        &args.weights,
        &args.model,
        &["model.safetensors", "model.gguf"],
        "model",
        "weights",
    )?;
    let transcriber = Transcriber::from_files(&config, &tokenizer, &weights)?;
    let opts = DecodeOptions {
        language: args.language,
        max_tokens: args.max_tokens,
        full_window: args.full_window,
        no_speech_threshold: args.no_speech_threshold,
        ..DecodeOptions::default()
    };
    let audio = sotto::audio::read_wav_file(Path::new(&args.file), opts.max_seconds)?;
    let transcript = transcriber.transcribe(&audio.samples, &opts)?;
    if args.json {
        println!("{}", serde_json::to_string(&transcript)?);
    } else {
        println!("{}", transcript.text);
    }
    Ok(())
}
