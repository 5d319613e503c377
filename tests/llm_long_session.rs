//! A long spoken session on the demo's real chat model: the conversation stays within its budget
//! (`GenerateOptions::conversation_tokens`), its KV cache takes its memory at the first turn and
//! never grows, the oldest exchanges are forgotten while the user is silent (in the warm-up), so
//! that no turn re-reads the conversation after the user spoke, and the answers stay on topic.

use std::path::PathBuf;
use std::sync::Arc;

use sotto::llm::{ChatModel, Conversation, GenerateOptions, DEFAULT_SYSTEM_PROMPT};

const QUESTIONS: &[&str] = &[
    "What is the capital of France?",
    "How many days are in a week?",
    "Name a color of the sky.",
    "What do bees make?",
    "Tell me a fact about the moon.",
    "What is two plus two?",
    "Which animal says moo?",
    "What season comes after winter?",
];

#[test]
fn a_long_session_stays_in_its_budget_and_forgets_while_the_user_is_silent() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models/real/smollm2-135m-instruct-q4_1.gguf");
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask real-models`",
        path.display()
    );
    let chat = Arc::new(ChatModel::from_files(&path, None, None).unwrap());
    let budget = 512;
    let options = GenerateOptions {
        max_tokens: 32,
        conversation_tokens: budget,
        ..GenerateOptions::default()
    };
    let mut conversation = Conversation::new(chat, Some(DEFAULT_SYSTEM_PROMPT.into()));
    let turns = 4 * QUESTIONS.len();
    let mut forgotten_in_warm_up = 0;
    let mut last_answer = String::new();
    for turn in 0..turns {
        // While the user is silent, as the assistant does between turns.
        let before = conversation.messages().len();
        conversation.warm_up(&options).unwrap();
        if conversation.messages().len() < before {
            forgotten_in_warm_up += 1;
            assert!(
                conversation.session().fed().len() <= budget / 2,
                "turn {turn}: forgotten down to half the budget, then read again"
            );
        }
        let capacity = conversation.session().cache().capacity();
        assert_eq!(
            capacity, budget,
            "turn {turn}: the cache took the whole budget at once and never grew"
        );
        let question = QUESTIONS[turn % QUESTIONS.len()];
        let before = conversation.messages().len();
        let (answer, stats, _) = conversation
            .reply(question, options.clone())
            .unwrap()
            .finish()
            .unwrap();
        assert!(
            conversation.messages().len() >= before,
            "turn {turn}: the turn itself forgot nothing (the warm-up did)"
        );
        // Only the question and the template's few ids around it are read after the user spoke.
        assert!(
            stats.prefilled_tokens <= 32,
            "turn {turn}: {} ids read after the question",
            stats.prefilled_tokens
        );
        assert!(stats.prompt_tokens + options.max_tokens <= budget);
        assert_eq!(conversation.session().cache().capacity(), budget);
        last_answer = answer;
        if turn % QUESTIONS.len() == 0 {
            println!("turn {turn}: {question} → {last_answer}");
        }
    }
    println!("forgotten in the warm-up {forgotten_in_warm_up} times over {turns} turns");
    assert!(
        forgotten_in_warm_up >= 2,
        "the session passed its budget several times: {forgotten_in_warm_up}"
    );
    // The last question (the eighth) after dozens of turns and several forgettings.
    assert!(
        last_answer.to_lowercase().contains("spring"),
        "still on topic: {last_answer:?}"
    );
}
