//! The real-speech test set: utterances rendered by `cargo xtask speech-set` into
//! `target/speech-set/`, the committed manifest of what the reference transcripts were made from
//! (`tests/fixtures/speech/manifest.tsv`) and the references themselves
//! (`tests/fixtures/speech/reference.json`, HF transformers, full 30 s window, greedy).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The rendered set, relative to the repository root.
pub const SET_DIR: &str = "target/speech-set";
/// The committed manifest: id, sha256 and intended text of every file the references were made from.
pub const MANIFEST: &str = "tests/fixtures/speech/manifest.tsv";
/// The committed reference transcripts.
pub const REFERENCE: &str = "tests/fixtures/speech/reference.json";

/// One file of the set.
#[derive(Debug, Clone)]
pub struct SpeechFile {
    /// `u01`..., `n01`... (no speech).
    pub id: String,
    /// The WAV file.
    pub path: PathBuf,
    /// Its sha256 in the committed manifest.
    pub sha256: String,
    /// The sentence the synthesizer was given; empty for the no-speech files.
    pub text: String,
}

impl SpeechFile {
    /// Whether the file holds speech (its transcript should be the text) or none (no text at all).
    pub fn is_speech(&self) -> bool {
        !self.text.is_empty()
    }
}

/// A model's reference transcript of one file.
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceTranscript {
    /// The text, special tokens removed.
    pub text: String,
    /// The generated text token ids (no prompt, no end of text).
    pub ids: Vec<u32>,
}

/// One model's references.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelReferences {
    /// Corpus WER of the references against the intended sentences (normalized).
    pub wer: f64,
    /// Edits and reference words behind `wer`.
    pub edits: usize,
    /// Reference words over the speech files.
    pub reference_words: usize,
    /// No-speech files on which the reference produced text.
    pub no_speech_files_with_text: Vec<String>,
    /// Per file id.
    pub files: HashMap<String, ReferenceTranscript>,
}

#[derive(Deserialize)]
struct ReferenceFile {
    manifest_sha256: String,
    models: HashMap<String, ModelReferences>,
}

/// The set as rendered here, checked against the committed manifest.
#[derive(Debug, Clone)]
pub struct SpeechSet {
    /// `target/speech-set/` of the repository.
    pub dir: PathBuf,
    /// Every file, speech and no-speech, in manifest order.
    pub files: Vec<SpeechFile>,
    /// sha256 of the committed manifest (the references name it).
    manifest_sha256: String,
    root: PathBuf,
}

impl SpeechSet {
    /// Opens the set under `root` (the repository) and checks that every rendered file is
    /// byte-identical to the rendering the references were made from. The error explains what
    /// to run when the set is missing or its audio drifted (a new synthesizer or sox release).
    pub fn open(root: &Path) -> Result<Self, String> {
        let manifest_path = root.join(MANIFEST);
        let manifest = std::fs::read(&manifest_path)
            .map_err(|e| format!("{}: {e}", manifest_path.display()))?;
        let manifest_sha256 = crate::hex(&Sha256::digest(&manifest));
        let manifest = String::from_utf8_lossy(&manifest);
        let dir = root.join(SET_DIR);
        let committed_tools = tools_line(&manifest).unwrap_or_default();
        let mut files = Vec::new();
        let mut drifted = Vec::new();
        for line in manifest
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let cols: Vec<&str> = line.split('\t').collect();
            let [id, sha256, text] = cols[..] else {
                return Err(format!("{}: bad line {line:?}", manifest_path.display()));
            };
            let path = dir.join(format!("{id}.wav"));
            let bytes = std::fs::read(&path).map_err(|e| {
                format!(
                    "{}: {e}. The real-speech test set is not rendered: run `cargo xtask speech-set`",
                    path.display()
                )
            })?;
            if crate::hex(&Sha256::digest(&bytes)) != sha256 {
                drifted.push(id.to_string());
            }
            files.push(SpeechFile {
                id: id.to_string(),
                path,
                sha256: sha256.to_string(),
                text: text.to_string(),
            });
        }
        if !drifted.is_empty() {
            let rendered_tools = std::fs::read_to_string(dir.join("manifest.tsv"))
                .ok()
                .and_then(|m| tools_line(&m))
                .unwrap_or_else(|| "(unknown: target/speech-set/manifest.tsv is missing)".into());
            return Err(format!(
                "the real-speech test set's audio drifted: {} of {} files in {} differ from the \
                 rendering the reference transcripts were made from ({}). A synthesizer, voice or \
                 sox release changed the audio.\n  references made with: {committed_tools}\n  \
                 rendered here with:   {rendered_tools}\nTo regenerate the references: `cargo \
                 xtask speech-set`, then `/path/to/venv/bin/python \
                 scripts/reference/speech_references.py` (HF transformers; see its docstring), \
                 then copy target/speech-set/manifest.tsv to {MANIFEST} and commit it with the \
                 new {REFERENCE}.",
                drifted.len(),
                files.len(),
                dir.display(),
                drifted.join(", ")
            ));
        }
        Ok(Self {
            dir,
            files,
            manifest_sha256,
            root: root.to_path_buf(),
        })
    }

    /// The committed reference transcripts of `model` (`whisper-tiny.en`, `whisper-base`),
    /// checked to have been made from this manifest.
    pub fn references(&self, model: &str) -> Result<ModelReferences, String> {
        let path = self.root.join(REFERENCE);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: ReferenceFile =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if file.manifest_sha256 != self.manifest_sha256 {
            return Err(format!(
                "{} was made from another manifest than {MANIFEST}: remake it with \
                 scripts/reference/speech_references.py",
                path.display()
            ));
        }
        let mut models = file.models;
        let refs = models
            .remove(model)
            .ok_or_else(|| format!("{} has no references for {model}", path.display()))?;
        if let Some(missing) = self.files.iter().find(|f| !refs.files.contains_key(&f.id)) {
            return Err(format!(
                "{} lacks {model}'s transcript of {}",
                path.display(),
                missing.id
            ));
        }
        Ok(refs)
    }
}

fn tools_line(manifest: &str) -> Option<String> {
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("# tools\t"))
        .map(str::to_string)
}
