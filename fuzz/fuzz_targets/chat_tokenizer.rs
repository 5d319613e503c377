//! A chat model's `tokenizer.json` and `tokenizer_config.json` (the two files joined by one NUL
//! byte, which JSON text never holds): the tokenizer is loaded and used, the chat template is
//! read, compiled, and rendered over a conversation, and the result tokenized, as
//! `ChatModel::chat_ids` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto::llm::template::{from_tokenizer_config, ChatTemplate};
use sotto::llm::tokenizer::TextTokenizer;
use sotto::llm::{Message, Role};

fuzz_target!(|data: &[u8]| {
    let (tokenizer_json, config_json) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let tokenizer = TextTokenizer::from_json(tokenizer_json).ok();
    if let Some(tokenizer) = &tokenizer {
        if let Ok(ids) = tokenizer.encode("Hello, wörld! <|im_end|>", true) {
            let _ = tokenizer.decode(&ids, false);
        }
        let _ = tokenizer.token_id("<|im_end|>");
        let _ = tokenizer.token_text(0);
        let _ = tokenizer.vocab_size();
    }
    let Ok(config) = from_tokenizer_config(config_json) else {
        return;
    };
    let Some(source) = config.chat_template else {
        return;
    };
    let _ = ChatTemplate::has_thinking_switch(&source);
    let bos = config.bos_token.unwrap_or_default();
    let eos = config.eos_token.unwrap_or_default();
    let Ok(template) = ChatTemplate::new(&source, &bos, &eos) else {
        return;
    };
    let _ = template.end_of_turn();
    let messages = [
        Message::new(Role::System, "Be brief."),
        Message::new(Role::User, "Hi"),
        Message::new(Role::Assistant, "Hello!"),
        Message::new(Role::User, "What time is it?"),
    ];
    if let (Ok(text), Some(tokenizer)) = (template.render(&messages, true), &tokenizer) {
        let _ = tokenizer.encode(&text, false);
    }
});
