//! `index.json`: what `sotto gen-models` wrote, for the model catalog.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{io_error, TestModelError};

/// What a model is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelRole {
    /// Speech recognition (Whisper).
    Asr,
    /// Chat language model.
    Llm,
}

/// One file of a model, as listed in `index.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexFile {
    /// File name inside the model's folder.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the contents.
    pub sha256: String,
}

/// One model folder, as listed in `index.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Folder name under the output directory, e.g. `smollm2-test`.
    pub id: String,
    /// What the model is for.
    pub role: ModelRole,
    /// Its files.
    pub files: Vec<IndexFile>,
}

/// Sizes and SHA-256 of `names` inside `dir`, in the given order.
pub fn hash_files(dir: &Path, names: &[String]) -> Result<Vec<IndexFile>, TestModelError> {
    names
        .iter()
        .map(|name| {
            let path = dir.join(name);
            let mut file = std::fs::File::open(&path).map_err(io_error(&path))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 20];
            let mut bytes = 0u64;
            loop {
                let n = file.read(&mut buf).map_err(io_error(&path))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                bytes += n as u64;
            }
            let sha256 = hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            Ok(IndexFile {
                name: name.clone(),
                bytes,
                sha256,
            })
        })
        .collect()
}

/// Writes `dir/index.json`: `{"models": [...]}`, entries in the given order.
pub fn write_index(dir: &Path, entries: &[IndexEntry]) -> Result<(), TestModelError> {
    let path = dir.join("index.json");
    let mut text = serde_json::to_string_pretty(&serde_json::json!({ "models": entries }))?;
    text.push('\n');
    std::fs::write(&path, text).map_err(io_error(&path))
}
