//! Chat templates: the built-in ones, each template's end-of-turn marker as a stop token, and a
//! GGUF without a template.

mod llm_common;

use llm_common::{fixture, load};
use sotto::llm::template::{builtin, ChatTemplate};
use sotto::llm::{ChatModel, LlmError, Message, Role};

/// A fixture GGUF whose `tokenizer.chat_template` key is renamed (same length, so the file stays
/// valid): a model file without a chat template, as a pre-trained model is published.
pub fn without_template(name: &str) -> Vec<u8> {
    let mut bytes = std::fs::read(fixture(name)).unwrap();
    let key = b"tokenizer.chat_template";
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("the fixture has a chat template");
    bytes[at + key.len() - 1] = b'X';
    bytes
}

fn conversation() -> Vec<Message> {
    vec![
        Message::new(Role::System, "Be brief."),
        Message::new(Role::User, "  Hi there!  "),
        Message::new(Role::Assistant, "Hello."),
        Message::new(Role::User, "What is 2+2?"),
    ]
}

/// Gemma's format: BOS, the system prompt opening the first user turn, `model` turns, trimmed
/// messages each closed by `<end_of_turn>`, and the model's turn opened.
#[test]
fn builtin_gemma_renders_gemmas_turns() {
    let gemma = builtin("gemma").unwrap();
    let template = ChatTemplate::new(gemma.source, "<bos>", "<eos>").unwrap();
    let text = template.render(&conversation(), true).unwrap();
    assert_eq!(
        text,
        "<bos><start_of_turn>user\nBe brief.\n\nHi there!<end_of_turn>\n\
         <start_of_turn>model\nHello.<end_of_turn>\n\
         <start_of_turn>user\nWhat is 2+2?<end_of_turn>\n\
         <start_of_turn>model\n"
    );
    let no_system = template
        .render(&[Message::new(Role::User, "Hi")], false)
        .unwrap();
    assert_eq!(no_system, "<bos><start_of_turn>user\nHi<end_of_turn>\n");
    let err = template
        .render(&[Message::new(Role::Assistant, "Hi")], true)
        .unwrap_err();
    assert!(err.to_string().contains("alternate"), "{err}");
    assert_eq!(gemma.extra_stops, ["<eos>"]);
}

/// The end-of-turn marker is read off each template's rendering of an assistant message.
#[test]
fn each_templates_end_of_turn_marker_is_found() {
    let llama = load("llama", "f32");
    let qwen2 = load("qwen2", "f32");
    let cases = [
        (builtin("gemma").unwrap().source, "<end_of_turn>"),
        (builtin("chatml").unwrap().source, "<|im_end|>"),
    ];
    for (source, marker) in cases {
        let template = ChatTemplate::new(source, "<s>", "</s>").unwrap();
        assert_eq!(template.end_of_turn().as_deref(), Some(marker));
    }
    assert_eq!(
        llama.template().unwrap().end_of_turn().as_deref(),
        Some("<|eot_id|>")
    );
    assert_eq!(
        qwen2.template().unwrap().end_of_turn().as_deref(),
        Some("<|im_end|>")
    );
    // A template that closes a reply with plain text has no marker.
    let plain = ChatTemplate::new(
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}",
        "",
        "",
    )
    .unwrap();
    assert_eq!(plain.end_of_turn(), None);
}

/// Every template's end-of-turn token stops generation: one chosen by the user too.
#[test]
fn a_templates_end_of_turn_token_stops_generation() {
    let gguf = std::fs::read(fixture("llama-q8_0.gguf")).unwrap();
    let mut chat = ChatModel::from_bytes(gguf, None, None).unwrap();
    let eot = chat.tokenizer.token_id("<|eot_id|>").unwrap();
    assert!(chat.end_tokens.contains(&eot));
    // A template whose turns end with another special token of the vocabulary.
    let header_end = chat.tokenizer.token_id("<|end_header_id|>").unwrap();
    assert!(!chat.end_tokens.contains(&header_end));
    chat.set_chat_template(
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}<|end_header_id|>{% endfor %}",
        &[],
    )
    .unwrap();
    assert!(chat.end_tokens.contains(&header_end));
}

/// A GGUF without a chat template loads, but chatting with it is an error that names the fixes;
/// a built-in template makes it chat.
#[test]
fn a_gguf_without_a_template_names_the_fix() {
    let mut chat = ChatModel::from_bytes(without_template("qwen2-q8_0.gguf"), None, None).unwrap();
    assert!(!chat.has_template());
    let err = chat
        .chat_ids(&[Message::new(Role::User, "Hi")], true)
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, LlmError::Template(_)));
    for fix in ["--chat-template", "--raw", "chatTemplate", "gemma"] {
        assert!(message.contains(fix), "{message}");
    }
    let im_end = chat.tokenizer.token_id("<|im_end|>").unwrap();
    chat.use_chat_template("chatml").unwrap();
    assert!(chat.end_tokens.contains(&im_end));
    let ids = chat
        .chat_ids(&[Message::new(Role::User, "Hi")], true)
        .unwrap();
    let text = chat.tokenizer.decode(&ids, false).unwrap();
    assert_eq!(
        text,
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );

    let err = chat.use_chat_template("gemmaa").unwrap_err().to_string();
    assert!(err.contains("gemma, chatml"), "{err}");
    chat.use_chat_template("{{ messages[0]['content'] }}")
        .unwrap();
    assert_eq!(
        chat.chat_ids(&[Message::new(Role::User, "Hi")], true)
            .unwrap(),
        chat.tokenizer.encode("Hi", false).unwrap()
    );
}
