//! Multi-turn chats on the project's generated tiny models (`sotto::testmodels`), with their
//! Hugging Face tokenizer files and with the GGUF's own vocabulary and template.

use std::path::PathBuf;
use std::sync::Arc;

use sotto::llm::{ChatModel, Conversation, GenerateOptions, Role};
use sotto::testmodels::{write_tiny_llm, LlmFamily};

/// Writes the family's tiny model into a directory of its own: tests run in parallel threads of
/// one process, so the directory is named after the test as well as the process.
fn generated(family: LlmFamily, test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sotto-llm-generated-{test}-{family:?}-{}",
        std::process::id()
    ));
    write_tiny_llm(&dir, family).unwrap();
    dir
}

/// A generated tiny model's q8_0 GGUF, loaded, in its own directory (the caller removes it).
fn generated_q8(family: LlmFamily, test: &str) -> (PathBuf, Arc<ChatModel>) {
    let dir = generated(family, test);
    let chat = ChatModel::from_files(&dir.join("model-q8_0.gguf"), None, None).unwrap();
    (dir, Arc::new(chat))
}

#[test]
fn multi_turn_chat_on_generated_models() {
    for family in [LlmFamily::Llama, LlmFamily::Qwen2] {
        let dir = generated(family, "multi-turn");
        for quant in ["f32", "q8_0"] {
            let gguf = dir.join(format!("model-{quant}.gguf"));
            let chat = Arc::new(
                ChatModel::from_files(
                    &gguf,
                    Some(&dir.join("tokenizer.json")),
                    Some(&dir.join("tokenizer_config.json")),
                )
                .unwrap(),
            );
            let own = ChatModel::from_files(&gguf, None, None).unwrap();
            for text in [
                "Hello, how are you today?",
                "Numbers 12345 and  spaces\n\nend ✓",
            ] {
                assert_eq!(
                    own.tokenizer.encode(text, true).unwrap(),
                    chat.tokenizer.encode(text, true).unwrap(),
                    "{family:?} {text:?}"
                );
            }
            assert_eq!(own.end_tokens, chat.end_tokens, "{family:?}");

            let mut conv =
                Conversation::new(chat.clone(), Some("You are a helpful assistant.".into()));
            let options = GenerateOptions {
                max_tokens: 12,
                ..Default::default()
            };
            let mut previous_prompt = 0;
            for user in ["Hello!", "What is the weather like?", "Thanks, bye."] {
                let (_, stats, _) = conv.reply(user, options.clone()).unwrap().finish().unwrap();
                assert!(stats.prompt_tokens > previous_prompt, "{family:?} {quant}");
                // The cache is reused (at least the system prompt and first turn). Random weights
                // emit stray bytes that re-tokenize differently once rendered as U+FFFD, so how
                // much is reused varies; the fixture tests pin exact reuse.
                if previous_prompt > 0 {
                    assert!(
                        stats.prefilled_tokens < stats.prompt_tokens - 20,
                        "{family:?} {quant} {stats:?} {:?}",
                        conv.messages()
                    );
                }
                previous_prompt = stats.prompt_tokens;
            }
            let roles: Vec<Role> = conv.messages().iter().map(|m| m.role).collect();
            assert_eq!(roles, [Role::User, Role::Assistant].repeat(3));
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// The step-by-step reply (for the assistant's state machine) produces what the stream produces,
/// records the reply in the conversation, and an interrupted reply is kept as far as it was heard.
#[test]
fn stepwise_replies_match_streamed_ones_and_interruptions_keep_what_was_heard() {
    let (dir, chat) = generated_q8(LlmFamily::Llama, "stepwise");
    let options = GenerateOptions {
        max_tokens: 10,
        ..Default::default()
    };
    let mut streamed = Conversation::new(chat.clone(), None);
    let (expected, _, _) = streamed
        .reply("Hello!", options.clone())
        .unwrap()
        .finish()
        .unwrap();

    let mut stepwise = Conversation::new(chat.clone(), None);
    stepwise.begin_reply("Hello!", options.clone()).unwrap();
    let mut text = String::new();
    while let Some(piece) = stepwise.next_piece() {
        text.push_str(&piece.unwrap());
    }
    assert_eq!(text, expected);
    assert_eq!(stepwise.messages(), streamed.messages());
    assert!(
        stepwise.next_piece().is_none(),
        "nothing pending after the reply"
    );

    let mut interrupted = Conversation::new(chat, None);
    interrupted.begin_reply("Hello!", options).unwrap();
    let mut heard = String::new();
    for _ in 0..3 {
        heard.push_str(&interrupted.next_piece().unwrap().unwrap());
    }
    interrupted.next_piece().unwrap().unwrap(); // generated, but never heard
    interrupted.cancel_reply(Some(&heard));
    let last = interrupted.messages().last().unwrap();
    assert_eq!(last.role, Role::Assistant);
    assert_eq!(last.content, heard);
    assert!(interrupted.next_piece().is_none());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Reading the system prompt ahead (while waiting for the user) leaves less to prefill when the
/// user speaks and changes nothing in the replies.
#[test]
fn warm_up_reads_ahead_and_changes_no_reply() {
    let (dir, chat) = generated_q8(LlmFamily::Qwen2, "warm-up");
    let options = GenerateOptions {
        max_tokens: 8,
        ..Default::default()
    };
    let system = Some("You are a brief and friendly assistant.".to_string());
    let mut cold = Conversation::new(chat.clone(), system.clone());
    let mut warm = Conversation::new(chat.clone(), system);
    let ahead = warm.warm_up(&options).unwrap();
    assert!(ahead > 8, "the system prompt is read ahead: {ahead}");
    assert_eq!(
        warm.warm_up(&options).unwrap(),
        0,
        "nothing more to read ahead"
    );
    for user in ["Hello!", "And what about tomorrow?"] {
        let (cold_text, cold_stats, _) =
            cold.reply(user, options.clone()).unwrap().finish().unwrap();
        let (warm_text, warm_stats, _) =
            warm.reply(user, options.clone()).unwrap().finish().unwrap();
        assert_eq!(warm_text, cold_text, "{user}");
        assert_eq!(warm_stats.prompt_tokens, cold_stats.prompt_tokens);
        assert!(
            warm_stats.prefilled_tokens < cold_stats.prefilled_tokens,
            "{user}: {warm_stats:?} vs {cold_stats:?}"
        );
        // After the reply, the next user header is read ahead too.
        assert!(warm.warm_up(&options).unwrap() > 0, "{user}");
    }
    assert_eq!(warm.messages(), cold.messages());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Reading a turn ahead (a speculative transcript, during the endpoint silence) leaves a single
/// token for the reply to prefill (whole or in slices), changes neither the conversation nor the
/// reply, and a reply to other words after it is still right.
#[test]
fn read_ahead_turn_leaves_one_token_and_changes_no_reply() {
    let (dir, chat) = generated_q8(LlmFamily::Llama, "read-ahead-turn");
    let options = GenerateOptions {
        max_tokens: 8,
        ..Default::default()
    };
    let system = Some("You are a brief and friendly assistant.".to_string());
    let mut cold = Conversation::new(chat.clone(), system.clone());
    let mut ahead = Conversation::new(chat.clone(), system);
    // Step by step, as the assistant does, so the stats are those of `begin_reply`.
    let run = |conv: &mut Conversation, user: &str| {
        conv.begin_reply(user, options.clone()).unwrap();
        let stats = conv.reply_stats().unwrap().clone();
        let mut text = String::new();
        while let Some(piece) = conv.next_piece() {
            text.push_str(&piece.unwrap());
        }
        (text, stats)
    };
    for (turn, user) in ["Hello!", "And what about tomorrow?"]
        .into_iter()
        .enumerate()
    {
        let (cold_text, cold_stats) = run(&mut cold, user);
        let messages = ahead.messages().to_vec();
        let computed = if turn == 0 {
            ahead.read_ahead_turn(user, &options).unwrap()
        } else {
            // In slices of at most 2 ids, as a partial transcript's read-ahead goes.
            let mut total = 0;
            loop {
                let part = ahead.read_ahead_turn_part(user, &options, 2).unwrap();
                assert!(part.computed <= 2, "{part:?}");
                total += part.computed;
                if part.done {
                    break total;
                }
                assert_eq!(part.computed, 2, "a slice short of the end reads its 2 ids");
            }
        };
        assert!(computed > 1, "{user}: {computed}");
        assert_eq!(ahead.messages(), messages, "the conversation is unchanged");
        assert_eq!(ahead.read_ahead_turn(user, &options).unwrap(), 0, "read");
        let (text, stats) = run(&mut ahead, user);
        assert_eq!(stats.prefilled_tokens, 1, "{user}: {stats:?}");
        assert_eq!(stats.prompt_tokens, cold_stats.prompt_tokens);
        assert_eq!(text, cold_text, "{user}");
        assert_eq!(stats.tokens, cold_stats.tokens, "{user}");
    }
    assert_eq!(ahead.messages(), cold.messages());

    // The speculation was wrong (the user went on speaking): the reply to the real words is the
    // one a fresh conversation gives.
    let user = "What is the weather like?";
    ahead.read_ahead_turn("What is", &options).unwrap();
    let (text, _) = run(&mut ahead, user);
    let (cold_text, _) = run(&mut cold, user);
    assert_eq!(text, cold_text);

    // Nothing is read while a reply is in progress.
    ahead.begin_reply("One more.", options.clone()).unwrap();
    assert_eq!(ahead.read_ahead_turn("Another.", &options).unwrap(), 0);
    std::fs::remove_dir_all(dir).unwrap();
}
