//! The model's own chat template (Jinja, as in Hugging Face `apply_chat_template`) rendered with
//! `minijinja`, with the Python string methods and helpers that HF templates rely on.

use serde::Serialize;

use super::LlmError;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            })
            .map_err(|e| LlmError::Template(format!("cannot render the chat template: {e}")))
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
