//! `sotto transcribe`: speech to text with a Whisper checkpoint.

use std::path::{Path, PathBuf};

use crate::model_files::pick;
use sotto::asr::{SilenceCache, Transcriber};

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
    /// Tokens generated per 30 s window at most (default: the settings', 224).
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Run the encoder on the full 30 s window (exact, slower) instead of the utterance.
    #[arg(long)]
    full_window: bool,
    /// Output no text when the no-speech probability exceeds this; 1 disables the gate.
    #[arg(long)]
    no_speech_threshold: Option<f32>,
    /// A JSON settings file (its `asr` section applies; see `sotto settings`); flags override it.
    #[arg(long)]
    settings: Option<PathBuf>,
    /// Print one JSON object: text, tokens, language, no_speech_prob, timings_ms.
    #[arg(long)]
    json: bool,
    /// Encode the silence that completes a trimmed audio context anew instead of reading it
    /// from the cache ($SOTTO_CACHE_DIR, else $XDG_CACHE_HOME/sotto or ~/.cache/sotto).
    #[arg(long)]
    no_cache: bool,
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
    let mut opts = crate::settings_file::load(&args.settings)?.asr;
    if args.language.is_some() {
        opts.language = args.language;
    }
    crate::settings_file::flag(&mut opts.max_tokens, args.max_tokens);
    opts.full_window |= args.full_window;
    crate::settings_file::flag(&mut opts.no_speech_threshold, args.no_speech_threshold);
    sotto::settings::Section::validate(&opts)?;
    // The trimmed context's silence tail: read from the cache, or computed once and saved.
    if !opts.full_window && !args.no_cache {
        if let Some(cache) = SilenceCache::user() {
            transcriber.warm_up_cached(&cache, &weights)?;
        }
    }
    let audio = sotto::audio::read_wav_file(Path::new(&args.file), opts.max_seconds)?;
    let transcript = transcriber.transcribe(&audio.samples, &opts)?;
    if args.json {
        println!("{}", serde_json::to_string(&transcript)?);
    } else {
        println!("{}", transcript.text);
    }
    Ok(())
}
