//! Qwen3 (q/k norms) against Hugging Face transformers on a tiny random Qwen3
//! (`scripts/reference/make_qwen3.py`): logits and greedy ids of the f32 GGUF made by
//! llama.cpp's converter, the Qwen3 chat template rendered as `apply_chat_template(...,
//! enable_thinking=False)` renders it, and think blocks kept out of replies.

mod llm_common;

use llm_common::{fixture, logits, max_abs_diff};
use sotto::llm::sampling::argmax;
use sotto::llm::session::Generation;
use sotto::llm::{ChatModel, Conversation, GenerateOptions, Message, Role, Session};

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("qwen3.reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// The GGUF with its own tokenizer and template (as a user would load it).
fn qwen3() -> ChatModel {
    ChatModel::from_files(&fixture("qwen3-f32.gguf"), None, None).unwrap()
}

fn messages(v: &serde_json::Value) -> Vec<Message> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let role = match m["role"].as_str().unwrap() {
                "system" => Role::System,
                "user" => Role::User,
                _ => Role::Assistant,
            };
            Message::new(role, m["content"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn prompt_logits_match_hf() {
    let chat = qwen3();
    let r = reference();
    let prompt = ids(&r["prompt_ids"]);
    assert_eq!(
        chat.tokenizer
            .encode(r["prompt_text"].as_str().unwrap(), true)
            .unwrap(),
        prompt
    );
    let ours = chat
        .model
        .forward(&prompt, &mut chat.model.new_cache(), true)
        .unwrap();
    let hf = logits("qwen3-f32.hf_prompt_logits.f32");
    let diff = max_abs_diff(&ours, &hf);
    println!("qwen3 f32 prompt logits max abs diff {diff:e}");
    assert!(diff < 1e-4, "{diff}");
}

/// Greedy decoding through the KV cache gives HF's ids. The smallest top-2 margin of the
/// reference is 0.0037, far above the f32 logit error (1e-5), so every step must agree.
#[test]
fn greedy_ids_match_hf() {
    let chat = qwen3();
    let r = reference();
    let expected = ids(&r["greedy_ids"]);
    let mut seq = ids(&r["prompt_ids"]);
    let mut cache = chat.model.new_cache();
    let mut logits = chat.model.forward(&seq, &mut cache, false).unwrap();
    while seq.len() < expected.len() {
        let next = argmax(&logits);
        seq.push(next);
        logits = chat.model.forward(&[next], &mut cache, false).unwrap();
    }
    assert_eq!(seq, expected);
}

/// The GGUF's template (Qwen3's own) renders every conversation as transformers does with
/// `enable_thinking=False`: the generation prompt closes an empty think block, and an earlier
/// reply's thoughts are left out. The tokenizer.json and the GGUF's own vocabulary agree.
#[test]
fn chat_template_renders_as_transformers_without_thinking() {
    let chat = qwen3();
    let json = ChatModel::from_files(
        &fixture("qwen3-f32.gguf"),
        Some(&fixture("qwen3-tokenizer.json")),
        Some(&fixture("qwen3-tokenizer_config.json")),
    )
    .unwrap();
    let r = reference();
    for case in r["chats"].as_array().unwrap() {
        let conversation = messages(&case["messages"]);
        let text = chat
            .template()
            .unwrap()
            .render(&conversation, true)
            .unwrap();
        assert_eq!(text, case["text"].as_str().unwrap());
        assert!(text.ends_with("<think>\n\n</think>\n\n"));
        assert_eq!(
            chat.chat_ids(&conversation, true).unwrap(),
            ids(&case["ids"])
        );
        assert_eq!(
            json.chat_ids(&conversation, true).unwrap(),
            ids(&case["ids"])
        );
    }
    let first = ids(&r["chats"][0]["ids"]);
    let ours = chat
        .model
        .forward(&first, &mut chat.model.new_cache(), false)
        .unwrap();
    let diff = max_abs_diff(&ours, &logits("qwen3-f32.hf_chat_last_logits.f32"));
    assert!(diff < 1e-4, "{diff}");
    // `<|im_end|>` ends a turn; the think tags are text the filter removes, not stops.
    let id = |t: &str| chat.tokenizer.token_id(t).unwrap();
    assert!(chat.end_tokens.contains(&id("<|im_end|>")));
    assert!(!chat.end_tokens.contains(&id("<think>")));
}

/// What a reply thinks never reaches its text: a template that opens a think block in the
/// prompt (as thinking models' templates do) leaves the unclosed thoughts out entirely, while
/// the same generation without it shows text.
#[test]
fn thoughts_never_reach_the_reply() {
    let mut chat = qwen3();
    let greedy = GenerateOptions {
        max_tokens: 12,
        ..Default::default()
    };
    let mut conversation = Conversation::new(std::sync::Arc::new(qwen3()), None);
    let (text, stats, _) = conversation
        .reply("Hello there!", greedy.clone())
        .unwrap()
        .finish()
        .unwrap();
    assert!(!stats.tokens.is_empty());
    let decoded = conversation_text(&chat, &stats.tokens);
    assert_eq!(text, strip_think(&decoded), "{decoded:?}");

    chat.set_chat_template(
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}\
         <|im_start|>assistant\n<think>\n",
        &[],
    )
    .unwrap();
    let prompt = chat
        .chat_ids(&[Message::new(Role::User, "Hello there!")], true)
        .unwrap();
    let mut session = Session::new(&chat);
    let mut generation = Generation::start(&chat, &mut session, &prompt, greedy).unwrap();
    while let Some(piece) = generation.step(&chat, &mut session) {
        piece.unwrap();
    }
    let decoded = conversation_text(&chat, &generation.stats.tokens);
    assert!(!decoded.contains("</think>"), "{decoded:?}");
    assert_eq!(generation.emitted, "", "{decoded:?}");
}

fn conversation_text(chat: &ChatModel, tokens: &[u32]) -> String {
    chat.tokenizer.decode(tokens, true).unwrap()
}

/// The reference for a whole text: blocks and the whitespace after them removed, an unclosed
/// block dropped to the end.
fn strip_think(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("<think>") {
        out.push_str(&rest[..open]);
        match rest[open..].find("</think>") {
            Some(close) => rest = rest[open + close + "</think>".len()..].trim_start(),
            None => return out,
        }
    }
    out.push_str(rest);
    out
}
