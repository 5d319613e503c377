//! The model's own chat template (Jinja, as in Hugging Face `apply_chat_template`) rendered with
//! `minijinja`, with the Python string methods and helpers that HF templates rely on; and the
//! built-in templates a user can choose for a GGUF that has none (a pre-trained Gemma 3, say).
//!
//! Templates are rendered with `enable_thinking=false`, as transformers does when asked: Qwen3's
//! template then closes an empty think block in the generation prompt, so the model answers at
//! once. A voice reply cannot wait for a chain of thought, so Sotto never asks for one.

use serde::{Deserialize, Serialize};

use super::LlmError;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the assistant.
    System,
    /// The person talking.
    User,
    /// The model.
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Speaker.
    pub role: Role,
    /// Text.
    pub content: String,
}

impl Message {
    fn to_value(&self) -> minijinja::Value {
        let role = match self.role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        minijinja::Value::from_pairs([("role", role), ("content", self.content.as_str())])
    }

    /// A message from `role`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
        }
    }
}

/// A compiled chat template with the special-token strings it may reference.
pub struct ChatTemplate {
    env: minijinja::Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ChatTemplate(bos {:?}, eos {:?})",
            self.bos_token, self.eos_token
        )
    }
}

const TEMPLATE_NAME: &str = "chat";

/// A chat template that ships with Sotto, for GGUF files without one of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinTemplate {
    /// The name a user selects it by (`--chat-template gemma`).
    pub name: &'static str,
    /// The Jinja source.
    pub source: &'static str,
    /// Token texts that end the model's turn besides the template's own end-of-turn marker.
    pub extra_stops: &'static [&'static str],
}

/// Gemma's chat format (as in Gemma 3's `tokenizer_config.json`, for text messages): a system
/// prompt opens the first user turn, `assistant` is called `model`, each message is trimmed and
/// closed by `<end_of_turn>`; Gemma also ends a reply with `<eos>`.
/// <https://ai.google.dev/gemma/docs/core/prompt-structure>
const GEMMA_TEMPLATE: &str = "{{ bos_token }}\
{%- set system = messages[0]['content'] + '\\n\\n' if messages and messages[0]['role'] == 'system' else '' -%}\
{%- for message in (messages[1:] if system else messages) -%}\
{%- if (message['role'] == 'user') != (loop.index0 is even) -%}\
{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}\
{%- endif -%}\
{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role']) + '\\n' }}\
{{- (system if loop.first else '') + message['content'] | trim }}\
{{- '<end_of_turn>\\n' }}\
{%- endfor -%}\
{%- if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif -%}";

/// ChatML (`<|im_start|>role ... <|im_end|>`), the format of SmolLM2 and Qwen.
const CHATML_TEMPLATE: &str = "{% for message in messages %}\
{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}\
{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// The built-in templates.
pub const BUILTIN_TEMPLATES: &[BuiltinTemplate] = &[
    BuiltinTemplate {
        name: "gemma",
        source: GEMMA_TEMPLATE,
        extra_stops: &["<eos>"],
    },
    BuiltinTemplate {
        name: "chatml",
        source: CHATML_TEMPLATE,
        extra_stops: &[],
    },
];

/// The built-in template called `name`, if there is one.
pub fn builtin(name: &str) -> Option<&'static BuiltinTemplate> {
    BUILTIN_TEMPLATES.iter().find(|t| t.name == name)
}

/// The names of the built-in templates, for messages ("gemma, chatml").
pub fn builtin_names() -> String {
    BUILTIN_TEMPLATES
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stands for the assistant's words when [`ChatTemplate::end_of_turn`] looks at what follows them.
const REPLY_MARK: &str = "SOTTO_REPLY_MARK";

impl ChatTemplate {
    /// Compiles `source`; `bos_token`/`eos_token` are exposed to it as HF does.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self, LlmError> {
        let mut env = minijinja::Environment::new();
        // HF templates call Python methods (`.strip()`, `.startswith()`, `.items()`...).
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |msg: String| -> Result<String, minijinja::Error> {
                Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    msg,
                ))
            },
        );
        // Python's str() keeps whitespace that Jinja's trim_blocks would otherwise remove: HF
        // renders with trim_blocks and lstrip_blocks.
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .map_err(|e| LlmError::Template(e.to_string()))?,
        );
        env.add_template_owned(TEMPLATE_NAME, source.to_string())
            .map_err(|e| LlmError::Template(format!("cannot compile the chat template: {e}")))?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
        })
    }

    /// Renders `messages`; `add_generation_prompt` opens the assistant's turn.
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, LlmError> {
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| LlmError::Template(e.to_string()))?;
        template
            .render(minijinja::context! {
                messages => messages.iter().map(Message::to_value).collect::<Vec<_>>(),
                add_generation_prompt => add_generation_prompt,
                enable_thinking => false,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            })
            .map_err(|e| LlmError::Template(format!("cannot render the chat template: {e}")))
    }

    /// The text the template puts right after an assistant message: its end-of-turn marker
    /// (`<|im_end|>`, `<|eot_id|>`, `<end_of_turn>`), which must stop generation. `None` when
    /// the template closes a reply with no `<...>` tag.
    pub fn end_of_turn(&self) -> Option<String> {
        let messages = [
            Message::new(Role::User, "Hi"),
            Message::new(Role::Assistant, REPLY_MARK),
        ];
        let text = self.render(&messages, false).ok()?;
        let after = &text[text.rfind(REPLY_MARK)? + REPLY_MARK.len()..];
        let tag = &after[..after.find('>')? + 1];
        (tag.starts_with('<') && !tag[1..].contains(['<', ' ', '\n'])).then(|| tag.to_string())
    }

    /// Whether the template has a thinking switch (`enable_thinking`, Qwen3's); it is always
    /// rendered off.
    pub fn has_thinking_switch(source: &str) -> bool {
        source.contains("enable_thinking")
    }
}

/// What a `tokenizer_config.json` says about chat formatting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenizerConfig {
    /// `chat_template` (the `default` one when a list is given).
    pub chat_template: Option<String>,
    /// `bos_token` text.
    pub bos_token: Option<String>,
    /// `eos_token` text.
    pub eos_token: Option<String>,
}

/// Reads `chat_template`, `bos_token` and `eos_token` from a `tokenizer_config.json` (each token may
/// be a string or an `{"content": ...}` object; the template may be a list of named templates).
pub fn from_tokenizer_config(bytes: &[u8]) -> Result<TokenizerConfig, LlmError> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| LlmError::Template(format!("tokenizer_config.json: {e}")))?;
    let token = |key: &str| match &v[key] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("content").and_then(|c| c.as_str()).map(String::from),
        _ => None,
    };
    let template = match &v["chat_template"] {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(list) => list
            .iter()
            .find(|t| t["name"] == "default")
            .and_then(|t| t["template"].as_str())
            .map(String::from),
        _ => None,
    };
    Ok(TokenizerConfig {
        chat_template: template,
        bos_token: token("bos_token"),
        eos_token: token("eos_token"),
    })
}
