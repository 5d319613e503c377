//! Every setting a user can change, as one type with one set of defaults, shared by the CLI
//! (`sotto converse|chat|transcribe --settings FILE`, `sotto settings` prints the defaults), the
//! browser engine and Node (the web engine's `setConfig`, `setGeneration`, `setAsr`,
//! `setVoice`).
//!
//! Settings change by patches: a JSON object naming only the fields it changes, merged over the
//! current values (`null` clears an optional field, so `"language": null` detects the language
//! again). A misspelt field, a value of the wrong type or out of range is an error that names
//! the field.
//!
//! Replies are greedy by default (temperature 0). Measured on the real SmolLM2-135M Q4_1, a
//! small model drifts off topic (and into French) at 0.7, and greedy decoding makes the page and
//! the CLI give the same answer to the same question, which tests and users can rely on.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::asr::DecodeOptions;
use crate::assistant::AssistantConfig;
use crate::llm::{GenerateOptions, SamplingParams};
use crate::tts::SpeechOptions;

/// All of a user's settings, by section (each section's fields are camelCase in JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Turn taking, endpointing and how much of a reply is spoken.
    pub turns: AssistantConfig,
    /// How replies are generated.
    pub generation: GenerationSettings,
    /// How speech is decoded.
    pub asr: DecodeOptions,
    /// How the voice speaks.
    pub voice: SpeechOptions,
}

/// How replies are generated, flat as users write it ([`GenerateOptions`] is the runtime form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct GenerationSettings {
    /// Most tokens per reply.
    pub max_tokens: usize,
    /// Sampling temperature; 0 is greedy.
    pub temperature: f32,
    /// Keep the k most likely tokens (0 = all).
    pub top_k: usize,
    /// Nucleus sampling threshold (1 = all).
    pub top_p: f32,
    /// Repetition penalty (1 = none).
    pub repetition_penalty: f32,
    /// Random seed of the sampler.
    pub seed: u64,
    /// Generation stops before any of these strings.
    pub stop: Vec<String>,
    /// Ids the conversation (prompt and reply) may take, 0 for the model's whole context; past
    /// it the oldest exchanges are forgotten (see [`GenerateOptions::conversation_tokens`]).
    pub conversation_tokens: usize,
}

impl Default for GenerationSettings {
    fn default() -> Self {
        Self::from(&GenerateOptions::default())
    }
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
            conversation_tokens: options.conversation_tokens,
        }
    }
}

impl GenerationSettings {
    /// The runtime options these settings describe.
    pub fn to_options(&self) -> GenerateOptions {
        GenerateOptions {
            max_tokens: self.max_tokens,
            sampling: SamplingParams {
                temperature: self.temperature,
                top_k: self.top_k,
                top_p: self.top_p,
                repetition_penalty: self.repetition_penalty,
                seed: self.seed,
                ..SamplingParams::default()
            },
            stop_strings: self.stop.clone(),
            conversation_tokens: self.conversation_tokens,
        }
    }
}

/// A setting that is not valid, with the field it names.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

/// One section of [`Settings`]: patched on its own by the web engine's setters.
pub trait Section: Serialize + DeserializeOwned {
    /// The section's name in messages and in the settings file.
    const NAME: &'static str;
    /// Checks every field's range; the error names the field as `section.field`.
    fn validate(&self) -> Result<(), SettingsError>;
}

fn invalid(
    section: &str,
    field: &str,
    expected: &str,
    value: impl std::fmt::Display,
) -> SettingsError {
    SettingsError(format!("{section}.{field} must be {expected}, not {value}"))
}

fn check_range<T: PartialOrd + std::fmt::Display>(
    section: &str,
    field: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<(), SettingsError> {
    if range.contains(&value) {
        Ok(())
    } else {
        let expected = format!("between {} and {}", range.start(), range.end());
        Err(invalid(section, field, &expected, value))
    }
}

impl Section for GenerationSettings {
    const NAME: &'static str = "generation";
    fn validate(&self) -> Result<(), SettingsError> {
        let s = Self::NAME;
        check_range(s, "maxTokens", self.max_tokens, 1..=32_768)?;
        check_range(s, "temperature", self.temperature, 0.0..=10.0)?;
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(invalid(s, "topP", "above 0 and at most 1", self.top_p));
        }
        check_range(s, "repetitionPenalty", self.repetition_penalty, 0.01..=10.0)?;
        if self.stop.iter().any(String::is_empty) {
            return Err(invalid(
                s,
                "stop",
                "a list of non-empty strings",
                "an empty string",
            ));
        }
        // Fewer would forget the conversation at every turn.
        if self.conversation_tokens != 0 && self.conversation_tokens < 256 {
            return Err(invalid(
                s,
                "conversationTokens",
                "0 (the model's whole context) or at least 256",
                self.conversation_tokens,
            ));
        }
        Ok(())
    }
}

impl Section for DecodeOptions {
    const NAME: &'static str = "asr";
    fn validate(&self) -> Result<(), SettingsError> {
        let s = Self::NAME;
        if let Some(code) = &self.language {
            let looks_like_a_code =
                (2..=3).contains(&code.len()) && code.chars().all(|c| c.is_ascii_lowercase());
            if !looks_like_a_code {
                let value = format!("{code:?}");
                return Err(invalid(
                    s,
                    "language",
                    "a language code such as \"en\" or null",
                    value,
                ));
            }
        }
        // Whisper's decoder has 448 positions, the prompt takes some of them.
        check_range(s, "maxTokens", self.max_tokens, 1..=440)?;
        check_range(s, "noSpeechThreshold", self.no_speech_threshold, 0.0..=1.0)?;
        check_range(s, "audioCtxMargin", self.audio_ctx_margin, 0..=1500)?;
        check_range(s, "maxSeconds", self.max_seconds, 0.1..=86_400.0)?;
        Ok(())
    }
}

impl Section for SpeechOptions {
    const NAME: &'static str = "voice";
    fn validate(&self) -> Result<(), SettingsError> {
        let s = Self::NAME;
        if !crate::tts::SAMPLE_RATES.contains(&self.sample_rate) {
            let expected = format!("one of {:?}", crate::tts::SAMPLE_RATES);
            return Err(invalid(s, "sampleRate", &expected, self.sample_rate));
        }
        check_range(s, "rate", self.rate, 0.25..=4.0)?;
        check_range(s, "pitch", self.pitch, 0.5..=2.0)?;
        Ok(())
    }
}

impl Section for AssistantConfig {
    const NAME: &'static str = "turns";
    fn validate(&self) -> Result<(), SettingsError> {
        let s = Self::NAME;
        let vad = &self.vad;
        check_range(s, "vad.endpointMs", vad.endpoint_ms, 20..=10_000)?;
        check_range(s, "vad.preRollMs", vad.pre_roll_ms, 0..=2_000)?;
        check_range(s, "vad.startMs", vad.start_ms, 20..=2_000)?;
        check_range(
            s,
            "vad.maxUtteranceMs",
            vad.max_utterance_ms,
            1_000..=30_000,
        )?;
        check_range(s, "vad.thresholdDb", vad.threshold_db, 0.0..=60.0)?;
        check_range(s, "vad.minLevelDb", vad.min_level_db, -120.0..=0.0)?;
        check_range(
            s,
            "vad.echoReturnLossDb",
            vad.echo_return_loss_db,
            0.0..=80.0,
        )?;
        check_range(s, "vad.echoMarginDb", vad.echo_margin_db, 0.0..=60.0)?;
        Ok(())
    }
}

/// `current` with the fields `patch` names replaced, recursively, then validated: the one way
/// every setter changes a section. A field left out keeps its value and `null` clears an
/// optional one; a misspelt field or a value of the wrong type is an error that names it.
pub fn overlay<T: Section>(current: &T, patch: serde_json::Value) -> Result<T, SettingsError> {
    let name = T::NAME;
    let in_section = |e: serde_json::Error| SettingsError(format!("{name} settings: {e}"));
    let mut value = serde_json::to_value(current).map_err(in_section)?;
    match patch {
        serde_json::Value::Null => {}
        serde_json::Value::Object(_) => merge(&mut value, patch),
        other => {
            return Err(SettingsError(format!(
                "{name} settings must be an object of fields, not {other}"
            )))
        }
    }
    let parsed = serde_json::from_value::<T>(value.clone());
    let patched = parsed.map_err(|e| {
        // serde names a misspelt field but not a field of the wrong type: find which it is.
        let base = serde_json::to_value(current).unwrap_or_default();
        match culprit::<T>(&base, &value, &mut Vec::new()) {
            Some(path) => SettingsError(format!("{name}.{path}: {e}")),
            None => in_section(e),
        }
    })?;
    Section::validate(&patched)?;
    Ok(patched)
}

/// The dotted path of the first field of `value` (a section's JSON that does not parse as `T`)
/// that fails to parse on its own: set alone into `base` (the section's JSON before the patch,
/// which parses). `None` if no single field is to blame.
fn culprit<T: Section>(
    base: &serde_json::Value,
    value: &serde_json::Value,
    path: &mut Vec<String>,
) -> Option<String> {
    let serde_json::Value::Object(fields) = value else {
        return None;
    };
    for (key, field) in fields {
        path.push(key.clone());
        if let Some(deeper) = culprit::<T>(base, field, path) {
            return Some(deeper);
        }
        let mut alone = base.clone();
        let mut slot = &mut alone;
        for part in path.iter() {
            if !slot.is_object() {
                *slot = serde_json::Value::Object(Default::default());
            }
            let serde_json::Value::Object(map) = slot else {
                unreachable!("made an object above")
            };
            slot = map.entry(part.clone()).or_insert(serde_json::Value::Null);
        }
        *slot = field.clone();
        if serde_json::from_value::<T>(alone).is_err() {
            return Some(path.join("."));
        }
        path.pop();
    }
    None
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

impl Settings {
    /// These settings with `patch` (`{"generation": {...}, "asr": {...}, ...}`) merged over
    /// them, each section validated.
    pub fn patched(&self, patch: serde_json::Value) -> Result<Settings, SettingsError> {
        let serde_json::Value::Object(sections) = patch else {
            return Err(SettingsError(format!(
                "settings must be an object of sections (turns, generation, asr, voice), not {patch}"
            )));
        };
        let mut settings = self.clone();
        for (section, fields) in sections {
            match section.as_str() {
                "turns" => settings.turns = overlay(&settings.turns, fields)?,
                "generation" => settings.generation = overlay(&settings.generation, fields)?,
                "asr" => settings.asr = overlay(&settings.asr, fields)?,
                "voice" => settings.voice = overlay(&settings.voice, fields)?,
                other => {
                    return Err(SettingsError(format!(
                    "unknown settings section `{other}`: expected turns, generation, asr or voice"
                )))
                }
            }
        }
        Ok(settings)
    }

    /// The defaults patched by a JSON settings file's text; `file` names it in errors.
    pub fn from_json(text: &str, file: &str) -> Result<Settings, SettingsError> {
        let patch: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| SettingsError(format!("{file}: not a JSON settings file: {e}")))?;
        Settings::default()
            .patched(patch)
            .map_err(|e| SettingsError(format!("{file}: {}", e.0)))
    }

    /// Checks every section (after fields were set directly, as the CLI's flags do).
    pub fn validate(&self) -> Result<(), SettingsError> {
        Section::validate(&self.turns)?;
        Section::validate(&self.generation)?;
        Section::validate(&self.asr)?;
        Section::validate(&self.voice)
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
