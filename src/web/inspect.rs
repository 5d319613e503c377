//! A first look at a model file before it is handed to a loader: which format it is and whether
//! its header is sound, so a wrong or damaged file is named clearly instead of failing deep inside
//! a model loader.

use wasm_bindgen::prelude::*;

use crate::gguf::GgufFile;

/// What a model file's header says.
#[derive(serde::Serialize)]
#[serde(tag = "format", rename_all = "lowercase")]
enum Summary {
    /// A GGUF file: its version, tensors and metadata entries (the whole header parsed).
    Gguf {
        version: u32,
        tensors: u64,
        metadata_entries: u64,
    },
    /// A safetensors file: its tensors from the JSON header.
    Safetensors { tensors: usize },
    /// A JSON file (config, tokenizer, catalog).
    Json { top_level_keys: usize },
}

/// Checks a model file's header and returns `{format, ...}`; the error names the file and what
/// was expected.
#[wasm_bindgen(js_name = inspectModelFile)]
pub fn inspect_model_file(name: &str, bytes: &[u8]) -> Result<JsValue, JsError> {
    let summary =
        summarize(bytes).map_err(|problem| JsError::new(&format!("{name}: {problem}")))?;
    serde_wasm_bindgen::to_value(&summary).map_err(|e| JsError::new(&e.to_string()))
}

fn summarize(bytes: &[u8]) -> Result<Summary, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    if bytes.starts_with(b"GGUF") {
        // The crate's one GGUF reader: metadata and tensor directory, every size checked.
        let file = GgufFile::parse(bytes).map_err(|e| e.to_string())?;
        return Ok(Summary::Gguf {
            version: file.version,
            tensors: file.tensors.len() as u64,
            metadata_entries: file.metadata.len() as u64,
        });
    }
    if bytes[0] == b'{' || bytes[0].is_ascii_whitespace() {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
        let keys = value.as_object().map_or(0, |o| o.len());
        return Ok(Summary::Json {
            top_level_keys: keys,
        });
    }
    let length = bytes
        .get(..8)
        .ok_or("neither GGUF, safetensors nor JSON (too short)")?;
    let length = u64::from_le_bytes(length.try_into().expect("8 bytes"));
    let header = usize::try_from(length)
        .ok()
        .and_then(|n| bytes.get(8..8usize.checked_add(n)?))
        .ok_or("neither GGUF, safetensors nor JSON (no GGUF magic; safetensors header length out of range)")?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| format!("corrupt safetensors header: {e}"))?;
    let tensors = header.keys().filter(|k| *k != "__metadata__").count();
    Ok(Summary::Safetensors { tensors })
}
