//! Chat models from GGUF: truncations, corrupt headers, absurd counts, unknown contents, and a
//! chat template that fails to render.

use std::time::Duration;

use sotto::llm::{ChatModel, Message, Role};

use super::llm_common::fixture;
use super::{scratch, write, Corpus};

const GOOD: &str = "llama-q8_0.gguf";

fn good() -> Result<(), String> {
    let chat = ChatModel::from_files(&fixture(GOOD), None, None).map_err(|e| e.to_string())?;
    chat.tokenizer
        .encode("hello", false)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn u64_at(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Where the GGUF string `s` (u64 length, bytes) starts.
fn string_at(b: &[u8], s: &str) -> usize {
    let mut encoded = (s.len() as u64).to_le_bytes().to_vec();
    encoded.extend_from_slice(s.as_bytes());
    b.windows(encoded.len())
        .position(|w| w == encoded)
        .unwrap_or_else(|| panic!("{s} not in the fixture"))
}

/// The offsets of the first tensor info's type id and data offset (`token_embd.weight`).
fn tensor_info(b: &[u8]) -> (usize, usize) {
    let name = "token_embd.weight";
    let at = string_at(b, name) + 8 + name.len();
    let n_dims = u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    let type_at = at + 4 + 8 * n_dims;
    (type_at, type_at + 4)
}

#[test]
fn bad_gguf_chat_models() {
    let full = std::fs::read(fixture(GOOD)).unwrap();
    let dir = scratch("gguf");
    let (type_at, offset_at) = tensor_info(&full);
    let meta_at = string_at(&full, "general.architecture");
    let tokens_at = string_at(&full, "tokenizer.ggml.tokens");
    let arch_value_at = meta_at + 8 + "general.architecture".len() + 4;
    let fast = Duration::from_secs(2);

    let mut corpus = Corpus::default();
    let mut case = |name: &str, bytes: Vec<u8>, needles: &[&str], limit: Duration| {
        let path = write(&dir, name, &bytes);
        let mut all = vec![name];
        all.extend_from_slice(needles);
        corpus.timed_case(
            name,
            limit,
            || ChatModel::from_files(&path, None, None),
            &all,
            good,
        );
    };
    let slow = Duration::from_secs(30);
    let cut = |n: usize| full[..n].to_vec();
    case("empty.gguf", Vec::new(), &["truncated", "magic"], slow);
    case(
        "cut-in-header.gguf",
        cut(12),
        &["truncated", "tensor count"],
        slow,
    );
    case(
        "cut-after-counts.gguf",
        cut(meta_at + 12),
        &["tensor count", "more than the"],
        slow,
    );
    case(
        "cut-in-metadata.gguf",
        cut(tokens_at + 10_000),
        &["truncated", "tokenizer.ggml.tokens"],
        slow,
    );
    case(
        "cut-in-tensor-info.gguf",
        cut(type_at + 2),
        &["truncated", "token_embd.weight"],
        slow,
    );
    case(
        "cut-in-data.gguf",
        cut(full.len() - 100),
        &["truncated", "past the end"],
        slow,
    );
    let mut b = full.clone();
    b[0] ^= 0x04;
    case("flipped-magic.gguf", b, &["not a GGUF file", "magic"], slow);
    let mut b = full.clone();
    b[4..8].copy_from_slice(&9u32.to_le_bytes());
    case(
        "version-9.gguf",
        b,
        &["GGUF version 9", "expected 2 or 3"],
        slow,
    );
    let mut b = full.clone();
    u64_at(&mut b, 8, u64::MAX);
    case(
        "huge-tensor-count.gguf",
        b,
        &["tensor count", "more than the"],
        fast,
    );
    let mut b = full.clone();
    u64_at(&mut b, 16, 1 << 60);
    case(
        "huge-metadata-count.gguf",
        b,
        &["metadata count", "more than the"],
        fast,
    );
    let mut b = full.clone();
    u64_at(&mut b, 24, 1 << 40);
    case(
        "huge-key-length.gguf",
        b,
        &["metadata key", "more than the"],
        fast,
    );
    let mut b = full.clone();
    u64_at(&mut b, arch_value_at, u64::MAX - 3);
    case(
        "huge-string-length.gguf",
        b,
        &["general.architecture", "more than the"],
        fast,
    );
    let mut b = full.clone();
    // Key, value type (9 = array), element type, then the element count.
    u64_at(
        &mut b,
        tokens_at + 8 + "tokenizer.ggml.tokens".len() + 8,
        1 << 50,
    );
    case(
        "huge-array-length.gguf",
        b,
        &["tokenizer.ggml.tokens", "more than the"],
        fast,
    );
    let mut b = full.clone();
    b[arch_value_at + 8..arch_value_at + 13].copy_from_slice(b"mamba");
    case("mamba.gguf", b, &["architecture `mamba`"], slow);
    let mut b = full.clone();
    b[type_at..type_at + 4].copy_from_slice(&77u32.to_le_bytes());
    case("tensor-type-77.gguf", b, &["77", "token_embd.weight"], slow);
    let mut b = full.clone();
    u64_at(&mut b, offset_at, full.len() as u64);
    case(
        "offset-past-end.gguf",
        b,
        &["token_embd.weight", "past the end"],
        slow,
    );

    // A tokenizer.json that is not JSON.
    let not_json = write(&dir, "not-json-tokenizer.json", b"{\"model\": [");
    corpus.case(
        "not-json-tokenizer.json",
        || ChatModel::from_files(&fixture(GOOD), Some(&not_json), None),
        &["not-json-tokenizer.json", "tokenizer"],
        good,
    );

    // A chat template that compiles but fails to render, then one that does not compile.
    corpus.case(
        "template raising an exception",
        || {
            let mut chat = ChatModel::from_files(&fixture(GOOD), None, None)?;
            chat.set_chat_template(
                "{% if messages|length > 1 %}{{ raise_exception('roles must alternate') }}\
                 {% endif %}{{ messages[0]['content'] }}",
                &[],
            )?;
            let two = [Message::new(Role::User, "a"), Message::new(Role::User, "b")];
            chat.template()?.render(&two, true)
        },
        &["chat template", "roles must alternate"],
        good,
    );
    corpus.case(
        "template not compiling",
        || {
            let mut chat = ChatModel::from_files(&fixture(GOOD), None, None)?;
            chat.use_chat_template("{% for m in messages %}{{ m.content }")
        },
        &["cannot compile the chat template"],
        good,
    );
    std::fs::remove_dir_all(&dir).unwrap();
    corpus.finish(19);
}
