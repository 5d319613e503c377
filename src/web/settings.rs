//! The settings the JS side changes (`generation`, `asr`, `voice`; turn taking is the
//! assistant's own `AssistantConfig`), and the one way every setter applies them: a patch of the
//! fields it names over the current values.

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsError;
use wasm_bindgen::JsValue;

use crate::llm::GenerateOptions;

/// How replies are generated (the JS side's `generation` settings). The defaults are the CLI's
/// (`GenerateOptions::default()`: greedy, no penalty), so the page and `sotto converse` say the
/// same thing to the same question.
#[derive(Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct GenerationSettings {
    pub(super) max_tokens: usize,
    pub(super) temperature: f32,
    pub(super) top_k: usize,
    pub(super) top_p: f32,
    pub(super) repetition_penalty: f32,
    pub(super) seed: u64,
    pub(super) stop: Vec<String>,
}

impl From<&GenerateOptions> for GenerationSettings {
    fn from(options: &GenerateOptions) -> Self {
        Self {
            max_tokens: options.max_tokens,
            temperature: options.sampling.temperature,
            top_k: options.sampling.top_k,
            top_p: options.sampling.top_p,
            repetition_penalty: options.sampling.repetition_penalty,
            seed: options.sampling.seed,
            stop: options.stop_strings.clone(),
        }
    }
}

impl Default for GenerationSettings {
    fn default() -> Self {
        Self::from(&GenerateOptions::default())
    }
}

/// How the voice speaks (the JS side's `voice` settings; the page sets the speaking rate, the
/// playback worklet's set-up the sample rate).
#[derive(Serialize, Deserialize, Default)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct VoiceSettings {
    pub(super) sample_rate: u32,
    pub(super) rate: f32,
    pub(super) pitch: f32,
}

/// How speech is decoded (the JS side's `asr` settings); `language: null` detects the language.
#[derive(Serialize, Deserialize, Default)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct AsrSettings {
    pub(super) language: Option<String>,
    pub(super) no_speech_threshold: f32,
    pub(super) max_tokens: usize,
    pub(super) full_window: bool,
}

/// `current` with the fields `patch` names replaced, recursively: the one way every settings
/// setter changes settings, so a field left out keeps its value and `null` clears an optional
/// one. A misspelt field or a value of the wrong type is an error that names it.
pub(super) fn overlay<T: Serialize + serde::de::DeserializeOwned>(
    current: &T,
    patch: JsValue,
    what: &str,
) -> Result<T, JsError> {
    let mut value = serde_json::to_value(current).map_err(js_error)?;
    if patch.is_null() || patch.is_undefined() {
        return serde_json::from_value(value).map_err(js_error);
    }
    let patch: serde_json::Value = serde_wasm_bindgen::from_value(patch)
        .map_err(|e| js_error(format!("{what} settings: {e}")))?;
    if !patch.is_object() {
        return Err(js_error(format!(
            "{what} settings must be an object of fields, not {patch}"
        )));
    }
    merge(&mut value, patch);
    serde_json::from_value(value).map_err(|e| js_error(format!("{what} settings: {e}")))
}

fn merge(into: &mut serde_json::Value, patch: serde_json::Value) {
    match (into, patch) {
        (serde_json::Value::Object(fields), serde_json::Value::Object(changes)) => {
            for (key, change) in changes {
                merge(fields.entry(key).or_insert(serde_json::Value::Null), change);
            }
        }
        (slot, change) => *slot = change,
    }
}

pub(super) fn generate_options(settings: GenerationSettings) -> GenerateOptions {
    let mut options = GenerateOptions {
        max_tokens: settings.max_tokens,
        stop_strings: settings.stop,
        ..GenerateOptions::default()
    };
    options.sampling.temperature = settings.temperature;
    options.sampling.top_k = settings.top_k;
    options.sampling.top_p = settings.top_p;
    options.sampling.repetition_penalty = settings.repetition_penalty;
    options.sampling.seed = settings.seed;
    options
}

fn js_error(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}
