//! Finding model files from the command line: a model folder with well-known file names, each
//! of which an explicit flag can override. Shared by the subcommands that load models.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sotto::llm::{template, ChatModel};

/// The file given by `explicit`, else the first of `names` present in `dir`. `dir_flag` and
/// `what` name the flags in the error ("give --model DIR or --config").
pub fn pick(
    explicit: &Option<PathBuf>,
    dir: &Option<PathBuf>,
    names: &[&str],
    dir_flag: &str,
    what: &str,
) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.clone());
    }
    let dir = dir
        .as_ref()
        .with_context(|| format!("give --{dir_flag} DIR or --{what}"))?;
    anyhow::ensure!(
        dir.is_dir(),
        "{}: no such folder (--{dir_flag} expects a model folder)",
        dir.display()
    );
    names
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.exists())
        .with_context(|| format!("{}: no {} found", dir.display(), names.join(" or ")))
}

/// The Whisper files in `dir`: config.json, tokenizer.json and model.safetensors or model.gguf.
pub fn whisper_files(dir: &Path) -> anyhow::Result<[PathBuf; 3]> {
    let dir = Some(dir.to_path_buf());
    let file = |names: &[&str], what| pick(&None, &dir, names, "asr", what);
    Ok([
        file(&["config.json"], "config")?,
        file(&["tokenizer.json"], "tokenizer")?,
        file(&["model.safetensors", "model.gguf"], "weights")?,
    ])
}

/// The chat template's tokenizer_config.json: the explicit one, else the one next to the
/// tokenizer.json, if any (without either, the GGUF's own template is used).
pub fn tokenizer_config(
    explicit: &Option<PathBuf>,
    tokenizer: &Option<PathBuf>,
) -> Option<PathBuf> {
    explicit.clone().or_else(|| {
        let sibling = tokenizer.as_ref()?.with_file_name("tokenizer_config.json");
        sibling.exists().then_some(sibling)
    })
}

/// Applies `--chat-template`: a built-in template's name (gemma, chatml) or a Jinja file.
pub fn apply_chat_template(chat: &mut ChatModel, spec: &Option<String>) -> anyhow::Result<()> {
    let Some(spec) = spec else { return Ok(()) };
    if let Some(builtin) = template::builtin(spec) {
        return Ok(chat.set_chat_template(builtin.source, builtin.extra_stops)?);
    }
    let source = std::fs::read_to_string(spec).with_context(|| {
        format!(
            "--chat-template {spec}: not a built-in template ({}) and not a readable Jinja file",
            template::builtin_names()
        )
    })?;
    chat.set_chat_template(&source, &[])
        .with_context(|| format!("--chat-template {spec}"))
}
