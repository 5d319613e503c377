//! GGUF bytes through the GGUF reader, the chat model's loader (metadata, tokenizer, template,
//! tensor views and in-place packing) and the Whisper weight loader's GGUF path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto::asr::Weights;
use sotto::gguf::GgufFile;
use sotto::llm::{ChatModel, Message, Role};

/// Metadata keys the loaders read.
const KEYS: &[&str] = &[
    "general.architecture",
    "general.alignment",
    "llama.block_count",
    "llama.embedding_length",
    "tokenizer.ggml.model",
    "tokenizer.ggml.tokens",
    "tokenizer.ggml.bos_token_id",
    "tokenizer.chat_template",
];

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = GgufFile::parse(data) {
        for key in KEYS {
            let _ = file.u64(key);
            let _ = file.str(key);
            let _ = file.str_array(key);
            if let Some(value) = file.get(key) {
                let _ = (value.as_u64(), value.as_f64(), value.as_str());
            }
        }
        // Only a parsed header reaches the loaders' own checks; a file that fails here fails
        // the same way in them.
        if let Ok(chat) = ChatModel::from_bytes(data.to_vec(), None, None) {
            let _ = chat.tokenizer.encode("Hello there", true);
            let _ = chat.chat_ids(&[Message::new(Role::User, "Hi")], true);
        }
        let _ = Weights::from_bytes(data, "fuzz.gguf");
    }
});
