//! The real chat checkpoints, as published, against HF transformers: the same greedy ids for
//! every prompt, at every step whose reference top-2 margin is at least [`NEAR_TIE`] (at a
//! near-tie a correct implementation may choose the other token: ours quantizes activations to
//! 8 bits as llama.cpp does, HF runs f32 activations on the dequantized weights). References:
//! `scripts/reference/real_greedy.py`.
//!
//! The files are fetched by `cargo xtask real-models` into `models/real/`; without them these
//! tests fail, naming that command.

mod llm_common;

use std::path::PathBuf;

use sotto::llm::sampling::argmax;
use sotto::llm::{ChatModel, Message, Model, Role};

/// Reference margins below this end the comparison of a reply.
const NEAR_TIE: f32 = 0.3;

/// One prompt of a fixture.
struct Case {
    /// The user's message, for chat prompts.
    user: Option<String>,
    /// The prompt's text, for plain continuations.
    text: String,
    prompt_ids: Vec<u32>,
    greedy_ids: Vec<u32>,
    greedy_margins: Vec<f32>,
}

/// `tests/fixtures/llm/real/<name>.greedy.json`.
fn cases(name: &str) -> Vec<Case> {
    let path = llm_common::fixture(&format!("real/{name}.greedy.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ids = id_list;
    let cases = json["cases"].as_array().unwrap().iter();
    cases
        .map(|c| Case {
            user: c["user"].as_str().map(String::from),
            text: c["text"].as_str().unwrap_or_default().to_string(),
            prompt_ids: ids(&c["prompt_ids"]),
            greedy_ids: ids(&c["greedy_ids"]),
            greedy_margins: c["greedy_margins"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_f64().unwrap() as f32)
                .collect(),
        })
        .collect()
}

/// A JSON array of ids.
fn id_list(v: &serde_json::Value) -> Vec<u32> {
    let v = v.as_array().unwrap().iter();
    v.map(|x| x.as_u64().unwrap() as u32).collect()
}

/// `models/real/<file>`, or a failure that says how to get it.
fn real_file(file: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models/real")
        .join(file);
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask real-models` to fetch the real checkpoints into models/real/",
        path.display()
    );
    path
}

/// Runs `case`'s prompt and then HF's greedy ids one by one, and checks that our most likely
/// token is HF's at every step whose reference top-2 margin is at least [`NEAR_TIE`]. Feeding
/// HF's ids (not ours) keeps the context HF's past a near-tie, so the steps after it are still
/// comparable. Returns the steps before the first near-tie (where free-running greedy decoding
/// gives exactly HF's ids) and the steps compared.
fn compare_greedy(model: &Model, case: &Case, what: &str) -> (usize, usize) {
    let mut cache = model.new_cache();
    let mut logits = model.forward(&case.prompt_ids, &mut cache, false).unwrap();
    let first_near_tie = case
        .greedy_margins
        .iter()
        .position(|&m| m < NEAR_TIE)
        .unwrap_or(case.greedy_margins.len());
    let mut compared = 0;
    let steps = case.greedy_ids.iter().zip(&case.greedy_margins);
    for (step, (&expected, &margin)) in steps.enumerate() {
        if margin >= NEAR_TIE {
            let ours = argmax(&logits);
            assert_eq!(
                ours, expected,
                "{what}: step {step} chose {ours}, HF chose {expected} (HF's top-2 margin \
                 {margin}); HF's ids: {:?}",
                case.greedy_ids
            );
            compared += 1;
        }
        if step + 1 < case.greedy_ids.len() {
            logits = model.forward(&[expected], &mut cache, false).unwrap();
        }
    }
    (first_near_tie, compared)
}

/// Compares every case; the fixture's prompts give at least `min_compared` steps to compare.
fn compare_all(model: &Model, name: &str, cases: &[Case], min_compared: usize) {
    let (mut prefix, mut compared, mut total) = (0, 0, 0);
    for (i, case) in cases.iter().enumerate() {
        let what = format!("{name} case {i} ({:?})", case.user);
        let (before_tie, n) = compare_greedy(model, case, &what);
        println!(
            "{what}: {n} of {} ids compared, the first {before_tie} before any near-tie",
            case.greedy_ids.len()
        );
        (prefix, compared) = (prefix + before_tie, compared + n);
        total += case.greedy_ids.len();
    }
    println!(
        "{name}: {compared} of {total} ids compared ({prefix} before the first near-tie of their reply)"
    );
    assert!(
        compared >= min_compared,
        "{name}: only {compared} comparable steps"
    );
}

/// SmolLM2-135M-Instruct in Q4_1, through the GGUF's own tokenizer and chat template.
#[test]
fn smollm2_135m_q4_1_greedy_ids_match_hf() {
    let name = "smollm2-135m-instruct-q4_1";
    let chat = ChatModel::from_files(&real_file(&format!("{name}.gguf")), None, None).unwrap();
    let cases = cases(name);
    assert!(cases.len() >= 6);
    for case in &cases {
        let user = case.user.clone().expect("chat prompts");
        let ids = chat
            .chat_ids(&[Message::new(Role::User, user)], true)
            .unwrap();
        assert_eq!(ids, case.prompt_ids, "prompt ids of {:?}", case.user);
    }
    compare_all(&chat.model, name, &cases, 100);
}

/// Gemma 3 270M (pre-trained) in llama.cpp's Q4_K_M mix (q5_0, q4_K, q6_K, a q8_0 tied
/// embedding, f32 norms), on prompts in Gemma's turn template (the built-in `gemma` template, as
/// the file has none) and plain continuations, through the GGUF's own SentencePiece vocabulary.
#[test]
fn gemma3_270m_q4_k_m_greedy_ids_match_hf() {
    let name = "gemma-3-270m-q4_k_m";
    let mut chat = ChatModel::from_files(&real_file(&format!("{name}.gguf")), None, None).unwrap();
    chat.use_chat_template("gemma").unwrap();
    let cases = cases(name);
    assert!(cases.iter().filter(|c| c.user.is_some()).count() >= 6);
    for case in &cases {
        let ids = match &case.user {
            Some(user) => chat
                .chat_ids(&[Message::new(Role::User, user.clone())], true)
                .unwrap(),
            None => chat.tokenizer.encode(&case.text, false).unwrap(),
        };
        assert_eq!(ids, case.prompt_ids, "prompt ids of {:?}", case.text);
    }
    compare_all(&chat.model, name, &cases, 100);
}

/// The GGUF's own tokenizer gives HF transformers' ids (rebuilt by transformers from the same
/// metadata) on every string of `<name>.tokens.json`, with and without the special tokens the
/// file asks for, and decodes them back to HF's text.
fn tokenizer_matches_hf(name: &str) {
    let chat = ChatModel::from_files(&real_file(&format!("{name}.gguf")), None, None).unwrap();
    let path = llm_common::fixture(&format!("real/{name}.tokens.json"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let cases = json["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let ids = chat.tokenizer.encode(text, false).unwrap();
        assert_eq!(ids, id_list(&case["ids"]), "{name}: ids of {text:?}");
        let with_special = chat.tokenizer.encode(text, true).unwrap();
        let expected = id_list(&case["ids_with_special"]);
        assert_eq!(
            with_special, expected,
            "{name}: ids of {text:?} with specials"
        );
        let decoded = chat.tokenizer.decode(&ids, false).unwrap();
        assert_eq!(
            decoded,
            case["decoded"].as_str().unwrap(),
            "{name}: decoded {text:?}"
        );
    }
}

#[test]
fn gemma3_270m_sentencepiece_tokenizer_matches_hf() {
    tokenizer_matches_hf("gemma-3-270m-q4_k_m");
}

#[test]
fn smollm2_135m_tokenizer_matches_hf() {
    tokenizer_matches_hf("smollm2-135m-instruct-q4_1");
}

/// The assistant's default system prompt on the demo's chat model: the demo's conversation
/// (the browser test's three questions) is answered on topic and in English, greedy as the page
/// and the CLI decode. The page's system prompt box starts with the same text.
#[test]
fn smollm2_135m_q4_1_answers_the_demo_conversation_with_the_default_prompt() {
    use sotto::llm::{Conversation, GenerateOptions, DEFAULT_SYSTEM_PROMPT};
    let page =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("www/index.html"))
            .unwrap();
    assert!(
        page.contains(&format!(">{DEFAULT_SYSTEM_PROMPT}</textarea>")),
        "the page's system prompt box starts with DEFAULT_SYSTEM_PROMPT"
    );
    let path = real_file("smollm2-135m-instruct-q4_1.gguf");
    let chat = std::sync::Arc::new(ChatModel::from_files(&path, None, None).unwrap());
    let mut conversation = Conversation::new(chat, Some(DEFAULT_SYSTEM_PROMPT.into()));
    let options = GenerateOptions {
        max_tokens: 48,
        ..GenerateOptions::default()
    };
    let mut replies = Vec::new();
    for question in [
        "What is the capital of France?",
        "Tell me a little about its history.",
        "What food is it famous for?",
    ] {
        let stream = conversation.reply(question, options.clone()).unwrap();
        let (text, _, _) = stream.finish().unwrap();
        println!("{question} → {text}");
        replies.push(text);
    }
    assert!(
        replies[0].contains("Paris"),
        "the first answer: {:?}",
        replies[0]
    );
    for reply in &replies {
        // French articles and words the model slid into with other prompts.
        let french = reply
            .split(|c: char| !c.is_alphabetic() && c != '\'')
            .filter(|w| ["la", "le", "les", "est", "de", "l'Étoile"].contains(w))
            .count();
        assert_eq!(french, 0, "an English answer: {reply:?}");
        assert!(
            reply.split_whitespace().count() >= 3,
            "an answer: {reply:?}"
        );
    }
}
