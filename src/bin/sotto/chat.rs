//! `sotto chat`: talk to a GGUF chat model, one prompt or an interactive multi-turn session.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use sotto::llm::session::Generation;
use sotto::llm::{ChatModel, Conversation, GenerationStats, Session};

/// Arguments of `sotto chat`.
#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model file.
    #[arg(long)]
    model: PathBuf,
    /// A tokenizer.json (default: the GGUF's own vocabulary). A tokenizer_config.json next to it
    /// supplies the chat template.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// A tokenizer_config.json with the chat template (default: next to --tokenizer, else the GGUF's).
    #[arg(long)]
    tokenizer_config: Option<PathBuf>,
    /// The chat template, for a GGUF without one (or to replace its own): a Jinja file, or a
    /// built-in one by name (`gemma` for Gemma's turns, `chatml`).
    #[arg(long, value_name = "FILE|NAME")]
    chat_template: Option<String>,
    /// System prompt.
    #[arg(long)]
    system: Option<String>,
    /// One prompt to answer (without it: an interactive session reading lines from stdin).
    #[arg(long)]
    prompt: Option<String>,
    /// Feed the prompt as is, without the chat template (the tokenizer may still add a BOS).
    #[arg(long, requires = "prompt")]
    raw: bool,
    /// Most tokens per reply (default: the settings', 256).
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Sampling temperature (0 = greedy, the default).
    #[arg(long)]
    temperature: Option<f32>,
    /// Keep the k most likely tokens (0 = all, the default).
    #[arg(long)]
    top_k: Option<usize>,
    /// Nucleus sampling threshold (default 1).
    #[arg(long)]
    top_p: Option<f32>,
    /// Repetition penalty (1 = none, the default).
    #[arg(long)]
    repeat_penalty: Option<f32>,
    /// Random seed (default 0).
    #[arg(long)]
    seed: Option<u64>,
    /// A JSON settings file (its `generation` section applies; see `sotto settings`); flags
    /// override it.
    #[arg(long)]
    settings: Option<PathBuf>,
    /// Print one JSON object per reply: text, tokens, prompt_tokens and timings.
    #[arg(long)]
    json: bool,
}

/// Runs the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let tokenizer_config =
        crate::model_files::tokenizer_config(&args.tokenizer_config, &args.tokenizer);
    let mut chat = ChatModel::from_files(
        &args.model,
        args.tokenizer.as_deref(),
        tokenizer_config.as_deref(),
    )?;
    crate::model_files::apply_chat_template(&mut chat, &args.chat_template)?;
    if !args.raw {
        // Say so before the first message, not after it.
        chat.template()
            .map_err(|e| e.in_file(args.model.display().to_string()))?;
    }
    let chat = Arc::new(chat);
    let mut generation = crate::settings_file::load(&args.settings)?.generation;
    use crate::settings_file::flag;
    flag(&mut generation.max_tokens, args.max_tokens);
    flag(&mut generation.temperature, args.temperature);
    flag(&mut generation.top_k, args.top_k);
    flag(&mut generation.top_p, args.top_p);
    flag(&mut generation.repetition_penalty, args.repeat_penalty);
    flag(&mut generation.seed, args.seed);
    sotto::settings::Section::validate(&generation)?;
    let options = generation.to_options();
    if args.raw {
        let prompt = args.prompt.as_deref().unwrap_or_default();
        let ids = chat.tokenizer.encode(prompt, true)?;
        let mut session = Session::new(&chat);
        let mut generation = Generation::start(&chat, &mut session, &ids, options)?;
        let mut out = Output::new(args.json);
        while let Some(piece) = generation.step(&chat, &mut session) {
            out.piece(&piece?)?;
        }
        return out.done(&generation.emitted, &generation.stats);
    }

    let mut conversation = Conversation::new(chat, args.system.clone());
    let mut turn = |user: &str| -> anyhow::Result<()> {
        let mut out = Output::new(args.json);
        let mut stream = conversation.reply(user, options.clone())?;
        for piece in stream.by_ref() {
            out.piece(&piece?)?;
        }
        let (text, stats) = (stream.text().to_string(), stream.stats().clone());
        drop(stream);
        out.done(&text, &stats)
    };
    match &args.prompt {
        Some(prompt) => turn(prompt),
        None => {
            if !args.json {
                eprintln!("(one message per line; an empty line or end of input quits)");
            }
            for line in std::io::stdin().lock().lines() {
                let line = line.context("reading stdin")?;
                if line.trim().is_empty() {
                    break;
                }
                turn(&line)?;
            }
            Ok(())
        }
    }
}

/// Streams text to stdout, or collects it for one JSON line.
struct Output {
    json: bool,
}

impl Output {
    fn new(json: bool) -> Self {
        Output { json }
    }

    fn piece(&mut self, text: &str) -> anyhow::Result<()> {
        if !self.json {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        }
        Ok(())
    }

    fn done(&mut self, text: &str, stats: &GenerationStats) -> anyhow::Result<()> {
        if !self.json {
            println!();
            return Ok(());
        }
        let per_second = |n: usize, ms: f64| if ms > 0.0 { n as f64 * 1e3 / ms } else { 0.0 };
        let line = serde_json::json!({
            "text": text,
            "tokens": stats.tokens,
            "prompt_tokens": stats.prompt_tokens,
            "prefilled_tokens": stats.prefilled_tokens,
            "prefill_ms": stats.prefill_ms,
            "prefill_tok_s": per_second(stats.prefilled_tokens, stats.prefill_ms),
            "decode_ms": stats.decode_ms,
            "decode_tok_s": per_second(stats.tokens.len(), stats.decode_ms),
        });
        println!("{line}");
        Ok(())
    }
}
