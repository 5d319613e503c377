//! A model with its tokenizer, chat template and end-of-turn tokens, loaded from GGUF bytes or files.

use super::model::Model;
use super::template::{self, ChatTemplate};
use super::tokenizer::TextTokenizer;
use super::LlmError;
use crate::gguf::{GgufFile, MetaValue};

/// Token texts that end a turn in the families supported (llama.cpp also recognises them by text),
/// besides the end-of-turn marker each chat template shows ([`ChatTemplate::end_of_turn`]).
const END_OF_TURN_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|end_of_text|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|eom_id|>",
    "<end_of_turn>",
];

/// Everything needed to chat with one model.
pub struct ChatModel {
    /// The network.
    pub model: Model,
    /// Text ↔ ids.
    pub tokenizer: TextTokenizer,
    template: Option<ChatTemplate>,
    /// Ids that end the assistant's turn.
    pub end_tokens: Vec<u32>,
    /// The end ids that come from the file (its EOS, EOT and EOM ids and the well-known end
    /// texts), to which each template's own end-of-turn marker is added.
    file_end_tokens: Vec<u32>,
    bos_text: String,
    eos_text: String,
}

impl std::fmt::Debug for ChatModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatModel")
            .field("model", &self.model)
            .field("end_tokens", &self.end_tokens)
            .finish()
    }
}

impl ChatModel {
    /// Loads from the GGUF bytes (kept as the one weight buffer, not copied), an optional
    /// `tokenizer.json` (else the GGUF's own vocabulary) and an optional `tokenizer_config.json`
    /// (else the GGUF's `tokenizer.chat_template`).
    pub fn from_bytes(
        gguf_bytes: Vec<u8>,
        tokenizer_json: Option<&[u8]>,
        tokenizer_config_json: Option<&[u8]>,
    ) -> Result<Self, LlmError> {
        let gguf = GgufFile::parse(&gguf_bytes)?;
        let model = Model::load(&gguf, gguf_bytes)?;
        let tokenizer = match tokenizer_json {
            Some(json) => TextTokenizer::from_json(json)?,
            None => TextTokenizer::from_gguf(&gguf)?,
        };
        tokenizer.check_matches(&gguf, model.config.vocab_size)?;

        let config = match tokenizer_config_json {
            Some(bytes) => template::from_tokenizer_config(bytes)?,
            None => Default::default(),
        };
        let (mut source, mut bos, mut eos) =
            (config.chat_template, config.bos_token, config.eos_token);
        let token_text = |key: &str| {
            gguf.get(key)
                .and_then(MetaValue::as_u64)
                .and_then(|id| tokenizer.token_text(id as u32))
        };
        if source.is_none() {
            source = gguf
                .get("tokenizer.chat_template")
                .and_then(MetaValue::as_str)
                .map(String::from);
        }
        bos = bos.or_else(|| token_text("tokenizer.ggml.bos_token_id"));
        eos = eos.or_else(|| token_text("tokenizer.ggml.eos_token_id"));

        let mut file_end_tokens: Vec<u32> = [
            "tokenizer.ggml.eos_token_id",
            "tokenizer.ggml.eot_token_id",
            "tokenizer.ggml.eom_token_id",
        ]
        .iter()
        .filter_map(|k| gguf.get(k).and_then(MetaValue::as_u64))
        .map(|id| id as u32)
        .collect();
        file_end_tokens.extend(eos.as_deref().and_then(|t| tokenizer.token_id(t)));
        file_end_tokens.extend(
            END_OF_TURN_TEXTS
                .iter()
                .filter_map(|t| tokenizer.token_id(t)),
        );
        let mut chat = ChatModel {
            model,
            tokenizer,
            template: None,
            end_tokens: Vec::new(),
            file_end_tokens,
            bos_text: bos.unwrap_or_default(),
            eos_text: eos.unwrap_or_default(),
        };
        match source {
            Some(source) => chat.set_chat_template(&source, &[])?,
            None => chat.end_tokens = sorted(chat.file_end_tokens.clone()),
        }
        Ok(chat)
    }

    /// Replaces the chat template with `source` (Jinja, as in `tokenizer_config.json`); `stops`
    /// are token texts that also end a reply. The template's own end-of-turn marker stops
    /// generation too.
    pub fn set_chat_template(&mut self, source: &str, stops: &[&str]) -> Result<(), LlmError> {
        let template = ChatTemplate::new(source, &self.bos_text, &self.eos_text)?;
        let mut end_tokens = self.file_end_tokens.clone();
        let marker = template.end_of_turn();
        end_tokens.extend(
            (marker.iter().map(String::as_str))
                .chain(stops.iter().copied())
                .filter_map(|t| self.tokenizer.token_id(t)),
        );
        self.end_tokens = sorted(end_tokens);
        self.template = Some(template);
        Ok(())
    }

    /// Uses a chat template chosen by the user: the name of a built-in one
    /// ([`template::BUILTIN_TEMPLATES`]: `gemma`, `chatml`) or Jinja source.
    pub fn use_chat_template(&mut self, name_or_source: &str) -> Result<(), LlmError> {
        match template::builtin(name_or_source.trim()) {
            Some(builtin) => self.set_chat_template(builtin.source, builtin.extra_stops),
            None if name_or_source.contains("{{") || name_or_source.contains("{%") => {
                self.set_chat_template(name_or_source, &[])
            }
            None => Err(LlmError::Template(format!(
                "`{name_or_source}` is neither a built-in template ({}) nor Jinja source",
                template::builtin_names()
            ))),
        }
    }

    /// Whether the model has a chat template (its own, or one given by the user).
    pub fn has_template(&self) -> bool {
        self.template.is_some()
    }

    /// Loads a GGUF file, with optional `tokenizer.json` and `tokenizer_config.json` files. Errors
    /// name the file they come from.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_files(
        gguf: &std::path::Path,
        tokenizer_json: Option<&std::path::Path>,
        tokenizer_config_json: Option<&std::path::Path>,
    ) -> Result<Self, LlmError> {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|cause| LlmError::Io {
                path: p.display().to_string(),
                cause,
            })
        };
        let tok = tokenizer_json.map(read).transpose()?;
        let cfg = tokenizer_config_json.map(read).transpose()?;
        let name = |p: Option<&std::path::Path>| p.map(|p| p.display().to_string());
        Self::from_bytes(read(gguf)?, tok.as_deref(), cfg.as_deref()).map_err(|e| {
            let path = match &e {
                LlmError::Tokenizer(_) | LlmError::VocabMismatch(_) => {
                    name(tokenizer_json).unwrap_or_else(|| gguf.display().to_string())
                }
                LlmError::Template(_) => {
                    name(tokenizer_config_json).unwrap_or_else(|| gguf.display().to_string())
                }
                _ => gguf.display().to_string(),
            };
            e.in_file(path)
        })
    }

    /// The chat template, or an error naming the fixes when the model has none.
    pub fn template(&self) -> Result<&ChatTemplate, LlmError> {
        self.template.as_ref().ok_or_else(|| {
            LlmError::Template(format!(
                "the model has no chat template (no tokenizer.chat_template in the GGUF, no \
                 tokenizer_config.json), so it cannot chat: give one with `--chat-template FILE` \
                 (npm: the `chatTemplate` option), a Jinja file or a built-in name ({}; `gemma` \
                 for a pre-trained Gemma), or send a raw prompt with `--raw`",
                template::builtin_names()
            ))
        })
    }

    /// Renders and tokenizes `messages` with the chat template (no extra BOS: the template has it).
    pub fn chat_ids(
        &self,
        messages: &[template::Message],
        add_generation_prompt: bool,
    ) -> Result<Vec<u32>, LlmError> {
        let text = self.template()?.render(messages, add_generation_prompt)?;
        self.tokenizer.encode(&text, false)
    }
}

fn sorted(mut ids: Vec<u32>) -> Vec<u32> {
    ids.sort_unstable();
    ids.dedup();
    ids
}
