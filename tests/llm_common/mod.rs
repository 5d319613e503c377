//! Shared helpers of the LLM tests: fixture paths, reference ids and logits.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use sotto::llm::ChatModel;

/// The fixture folder (derived from the parity data by `make_fixtures.py`).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/llm")
        .join(name)
}

/// Reference ids and texts of one family.
pub struct Reference {
    pub prompt_text: String,
    pub prompt_ids: Vec<u32>,
    pub greedy_ids: Vec<u32>,
    pub chat_user: String,
    pub chat_ids: Vec<u32>,
    pub json: serde_json::Value,
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

pub fn reference(family: &str) -> Reference {
    let text = std::fs::read_to_string(fixture(&format!("{family}.reference.json"))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    Reference {
        prompt_text: json["prompt_text"].as_str().unwrap().to_string(),
        prompt_ids: ids(&json["prompt_ids"]),
        greedy_ids: ids(&json["greedy_ids"]),
        chat_user: json["chat_messages"][0]["content"]
            .as_str()
            .unwrap()
            .to_string(),
        chat_ids: ids(&json["chat_ids"]),
        json,
    }
}

/// Raw little-endian f32 logits.
pub fn logits(name: &str) -> Vec<f32> {
    std::fs::read(fixture(name))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// Loads `<family>-<quant>.gguf` with the family's tokenizer.json and tokenizer_config.json.
pub fn load(family: &str, quant: &str) -> Arc<ChatModel> {
    let gguf = fixture(&format!("{family}-{quant}.gguf"));
    let tok = fixture(&format!("{family}-tokenizer.json"));
    let cfg = fixture(&format!("{family}-tokenizer_config.json"));
    Arc::new(ChatModel::from_files(&gguf, Some(&tok), Some(&cfg)).unwrap())
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
