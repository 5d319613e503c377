//! Conversations: cross-turn KV cache, cancellation, truncation to the spoken part, context
//! overflow, stop strings, streaming detokenization and sampling.

mod llm_common;

use llm_common::{load, max_abs_diff};
use sotto::llm::session::Generation;
use sotto::llm::{
    Conversation, FinishReason, GenerateOptions, Message, Role, SamplingParams, Session,
};

fn greedy(max_tokens: usize) -> GenerateOptions {
    GenerateOptions {
        max_tokens,
        ..Default::default()
    }
}

/// A second turn reuses the cache (prefills only its new tokens) and yields exactly what a fresh
/// run over the whole conversation yields.
#[test]
fn cached_multi_turn_equals_from_scratch() {
    for family in ["llama", "qwen2"] {
        for quant in ["f32", "q8_0"] {
            let chat = load(family, quant);
            let mut conv = Conversation::new(chat.clone(), Some("Be brief.".into()));
            let (first, _, _) = conv
                .reply("Hello there!", greedy(6))
                .unwrap()
                .finish()
                .unwrap();
            let (_, stats, _) = conv
                .reply("Tell me more.", greedy(6))
                .unwrap()
                .finish()
                .unwrap();
            assert!(
                stats.prefilled_tokens < stats.prompt_tokens / 2,
                "{family} {quant}: prefilled {} of {}",
                stats.prefilled_tokens,
                stats.prompt_tokens
            );

            let messages = [
                Message::new(Role::System, "Be brief."),
                Message::new(Role::User, "Hello there!"),
                Message::new(Role::Assistant, first),
                Message::new(Role::User, "Tell me more."),
            ];
            let prompt = chat.chat_ids(&messages, true).unwrap();
            assert_eq!(&conv.session().fed()[..prompt.len()], &prompt[..]);
            let mut fresh = Session::new(&chat);
            let mut generation = Generation::start(&chat, &mut fresh, &prompt, greedy(6)).unwrap();
            while let Some(piece) = generation.step(&chat, &mut fresh) {
                piece.unwrap();
            }
            assert_eq!(generation.stats.tokens, stats.tokens, "{family} {quant}");

            // Logits through a cached prefix equal logits of a from-scratch prefill.
            let mut cached = Session::new(&chat);
            cached.sync(&chat, &prompt[..prompt.len() / 2]).unwrap();
            let (a, n) = cached.sync(&chat, &prompt).unwrap();
            assert_eq!(n, prompt.len() - prompt.len() / 2);
            let (b, _) = Session::new(&chat).sync(&chat, &prompt).unwrap();
            assert!(max_abs_diff(&a, &b) < 1e-4, "{family} {quant}");
        }
    }
}

/// Stopping a reply between two tokens keeps what was said; truncating it to the spoken part
/// rewinds the cache on the next turn.
#[test]
fn cancel_and_truncate_keep_the_conversation_consistent() {
    let chat = load("qwen2", "q8_0");
    let mut conv = Conversation::new(chat.clone(), None);
    let mut stream = conv.reply("Say something long.", greedy(40)).unwrap();
    let mut said = String::new();
    for _ in 0..5 {
        said.push_str(&stream.next().unwrap().unwrap());
    }
    let stats = stream.cancel();
    assert_eq!(stats.tokens.len(), 5);
    assert_eq!(conv.messages().len(), 2);
    assert_eq!(conv.messages()[1].content, said);

    let spoken: String = said.chars().take(said.chars().count() / 2).collect();
    conv.truncate_last_reply(&spoken);
    assert_eq!(conv.messages()[1].content, spoken);
    conv.reply("And then?", greedy(3))
        .unwrap()
        .finish()
        .unwrap();
    let expected = chat
        .chat_ids(
            &[
                Message::new(Role::User, "Say something long."),
                Message::new(Role::Assistant, spoken),
                Message::new(Role::User, "And then?"),
            ],
            true,
        )
        .unwrap();
    assert_eq!(&conv.session().fed()[..expected.len()], &expected[..]);
    assert_eq!(conv.messages().len(), 4);
}

/// When the conversation outgrows the context, the oldest turns go and the reply still comes.
#[test]
fn context_overflow_drops_oldest_turns() {
    let chat = load("llama", "q8_0");
    let context = chat.model.config.context_length;
    let mut conv = Conversation::new(chat.clone(), Some("System.".into()));
    let long = "The quick brown fox jumps over the lazy dog. ".repeat(8);
    for turn in 0..8 {
        let user = format!("{turn}: {long}");
        let (_, stats, _) = conv.reply(&user, greedy(16)).unwrap().finish().unwrap();
        assert!(stats.prompt_tokens + 16 <= context);
    }
    assert!(conv.messages().len() < 16, "old turns were dropped");
    assert_eq!(
        conv.messages()[conv.messages().len() - 2].content,
        format!("7: {long}")
    );
    assert!(conv.session().fed().len() <= context);

    let huge = "word ".repeat(2 * context);
    let before = conv.messages().len();
    let err = conv.reply(&huge, greedy(8)).unwrap_err();
    assert!(
        matches!(err, sotto::llm::LlmError::PromptTooLong { .. }),
        "{err}"
    );
    assert_eq!(conv.messages().len(), before);
}

/// Stop strings cut the reply before them; streamed pieces add up to the decoded tokens.
#[test]
fn stop_strings_and_streaming_text() {
    let chat = load("llama", "f32");
    let sampled = GenerateOptions {
        max_tokens: 24,
        sampling: SamplingParams {
            temperature: 1.0,
            seed: 7,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut conv = Conversation::new(chat.clone(), None);
    let mut stream = conv.reply("Hi", sampled.clone()).unwrap();
    let mut pieces = String::new();
    for piece in stream.by_ref() {
        pieces.push_str(&piece.unwrap());
    }
    let tokens = stream.stats().tokens.clone();
    drop(stream);
    let decoded = chat.tokenizer.decode(&tokens, true).unwrap();
    assert_eq!(pieces, decoded);
    assert!(decoded.chars().count() > 6);

    // Same seed, same reply; a stop string from its middle ends it there.
    let stop: String = decoded.chars().skip(4).take(3).collect();
    let cut = &decoded[..decoded.find(&stop).unwrap()];
    let mut conv = Conversation::new(chat.clone(), None);
    let options = GenerateOptions {
        stop_strings: vec![stop],
        ..sampled
    };
    let (text, _, reason) = conv.reply("Hi", options).unwrap().finish().unwrap();
    assert_eq!(reason, FinishReason::StopString);
    assert_eq!(text, cut);
}

/// top_k = 1 is greedy whatever the temperature; seeds are reproducible.
#[test]
fn sampling_is_seeded() {
    let chat = load("qwen2", "f32");
    let run = |sampling: SamplingParams| {
        let mut conv = Conversation::new(chat.clone(), None);
        let options = GenerateOptions {
            max_tokens: 12,
            sampling,
            ..Default::default()
        };
        conv.reply("Hello", options)
            .unwrap()
            .finish()
            .unwrap()
            .1
            .tokens
    };
    let hot = |seed| SamplingParams {
        temperature: 1.5,
        top_p: 0.9,
        repetition_penalty: 1.3,
        seed,
        ..Default::default()
    };
    assert_eq!(run(hot(1)), run(hot(1)));
    assert_ne!(run(hot(1)), run(hot(2)));
    let top1 = SamplingParams {
        temperature: 2.0,
        top_k: 1,
        ..Default::default()
    };
    assert_eq!(run(top1), run(SamplingParams::default()));
}

/// A turn's prompt statistics: the conversation so far comes from the cache, what was read ahead
/// counts once, and read-ahead on words the user did not say shows as excess computation.
#[test]
fn prompt_stats_account_for_the_cache_and_the_read_ahead() {
    let chat = load("llama", "q8_0");
    let mut conv = Conversation::new(chat.clone(), Some("Be brief.".into()));
    let options = greedy(6);
    conv.reply("Hello there!", options.clone())
        .unwrap()
        .finish()
        .unwrap();
    let first = conv.last_prompt_stats().expect("a reply began");
    assert_eq!((first.cached, first.read_ahead), (0, 0));
    assert_eq!(first.computed, first.ids, "the first prompt is all new");

    // The next turn: a warm-up, a wrong guess, then the words the user really said.
    conv.warm_up(&options).unwrap();
    conv.read_ahead_turn("Tell me about cats.", &options)
        .unwrap();
    conv.begin_reply("Tell me about dogs, please.", options.clone())
        .unwrap();
    let second = conv.last_prompt_stats().expect("a reply began");
    let fed_before = first.ids + 6;
    assert!(
        second.cached >= first.ids && second.cached <= fed_before,
        "the first turn's prompt came from the cache: {second:?}"
    );
    let new = second.ids - second.cached;
    assert!(
        second.read_ahead > 0 && second.read_ahead < new,
        "{second:?}"
    );
    assert!(
        second.computed > new,
        "the wrong guess's tail was computed for nothing: {second:?}"
    );
    while let Some(piece) = conv.next_piece() {
        piece.unwrap();
    }

    // Read ahead with the right words: the reply computes its last id only.
    conv.read_ahead_turn("Thanks.", &options).unwrap();
    conv.begin_reply("Thanks.", options).unwrap();
    let third = conv.last_prompt_stats().expect("a reply began");
    assert_eq!(third.read_ahead, third.ids - third.cached - 1, "{third:?}");
    assert_eq!(third.computed, third.ids - third.cached, "{third:?}");
}

/// A reply begun on a wrong guess and abandoned leaves no trace: the conversation and the next
/// reply are as if it had never begun.
#[test]
fn an_abandoned_reply_leaves_no_trace() {
    // Abandoned while generating, after running to its end, and after being cut (the spoken
    // limit stops the model).
    for finish in [Finish::Pending, Finish::Complete, Finish::Cut] {
        abandon_after(finish);
    }
}

#[derive(Debug, Clone, Copy)]
enum Finish {
    Pending,
    Complete,
    Cut,
}

fn abandon_after(finish: Finish) {
    let chat = load("llama", "q8_0");
    let options = greedy(6);
    let mut reference = Conversation::new(chat.clone(), Some("Be brief.".into()));
    let mut guessed = Conversation::new(chat.clone(), Some("Be brief.".into()));
    for conv in [&mut reference, &mut guessed] {
        conv.reply("Hello there!", options.clone())
            .unwrap()
            .finish()
            .unwrap();
    }
    guessed.begin_reply("Tell me", options.clone()).unwrap();
    for _ in 0..3 {
        guessed.next_piece().unwrap().unwrap();
    }
    match finish {
        Finish::Pending => {}
        Finish::Complete => while guessed.next_piece().is_some() {},
        Finish::Cut => guessed.cancel_reply(None),
    }
    guessed.abandon_reply();
    assert_eq!(guessed.messages(), reference.messages(), "{finish:?}");
    assert_eq!(guessed.last_prompt_stats(), None);
    let (expected, _, _) = reference
        .reply("Tell me more.", options.clone())
        .unwrap()
        .finish()
        .unwrap();
    let (got, _, _) = guessed
        .reply("Tell me more.", options)
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(got, expected);
    assert_eq!(guessed.messages(), reference.messages());
    // Its prompt read counts as computed for the turn, beyond the ids that were new.
    let (a, b) = (
        reference.last_prompt_stats().unwrap(),
        guessed.last_prompt_stats().unwrap(),
    );
    assert_eq!((a.ids, a.cached), (b.ids, b.cached), "{finish:?}");
    assert!(b.computed > a.computed, "{finish:?} {a:?} {b:?}");
}

/// A conversation restored from its messages into a new `Conversation` (as the browser engine
/// does after a crash) answers the next turn exactly as the original does, and a reply in
/// progress is dropped by the restore.
#[test]
fn a_restored_conversation_goes_on_as_the_original() {
    let chat = load("llama", "q8_0");
    let mut original = Conversation::new(chat.clone(), Some("Be brief.".into()));
    original
        .reply("Hello there!", greedy(6))
        .unwrap()
        .finish()
        .unwrap();
    let mut restored = Conversation::new(chat.clone(), Some("Be brief.".into()));
    restored
        .begin_reply("A turn the crash cut.", greedy(6))
        .unwrap();
    restored.restore(original.messages().to_vec());
    assert_eq!(restored.messages(), original.messages());
    let (a, _, _) = original
        .reply("Tell me more.", greedy(6))
        .unwrap()
        .finish()
        .unwrap();
    let (b, _, _) = restored
        .reply("Tell me more.", greedy(6))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(restored.messages(), original.messages());
}
