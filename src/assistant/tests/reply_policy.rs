//! The reply policy inside the machine: what is shown, spoken and kept of a long reply.

use super::*;

/// Three sentences.
const LONG: &str =
    "Two plus two is four, as you know. It has always been four. Anything else I can do?";

/// A typed turn worked to the end of its (long) reply.
fn ask_all(config: AssistantConfig) -> (Vec<AssistantEvent>, Vec<String>) {
    let responder = ScriptedResponder {
        reply: Some(LONG),
        ..ScriptedResponder::default()
    };
    let log = responder.log.clone();
    let mut assistant = Assistant::new(
        config,
        ScriptedRecognizer::default(),
        responder,
        ScriptedVoice,
    );
    let events = ask_to_the_end(&mut assistant);
    let log = log.borrow().clone();
    (events, log)
}

fn tokens(events: &[AssistantEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            AssistantEvent::Token { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn spoken(events: &[AssistantEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            AssistantEvent::Audio { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn replies(events: &[AssistantEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            AssistantEvent::Reply { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

const TWO_SENTENCES: &str = "Two plus two is four, as you know. It has always been four.";

/// By default the voice stops after two sentences and the model with it: the text shown, the
/// reply reported and the reply the conversation keeps are what was spoken.
#[test]
fn the_default_policy_speaks_two_sentences_and_stops_the_model() {
    assert_eq!(AssistantConfig::default().reply, ReplyPolicy::default());
    let (events, log) = ask_all(AssistantConfig::default());
    assert_eq!(tokens(&events), TWO_SENTENCES);
    assert_eq!(spoken(&events).join(" "), TWO_SENTENCES);
    assert_eq!(replies(&events), [TWO_SENTENCES]);
    assert_eq!(
        log,
        [
            "user: what is two plus two".to_string(),
            format!("interrupted, kept: {TWO_SENTENCES}")
        ]
    );
}

/// With `fullText` the model writes on for the text box, silently.
#[test]
fn full_text_shows_the_whole_reply_but_speaks_the_limit() {
    let config = AssistantConfig {
        reply: ReplyPolicy {
            full_text: true,
            ..ReplyPolicy::default()
        },
        ..AssistantConfig::default()
    };
    let (events, log) = ask_all(config);
    assert_eq!(tokens(&events), LONG);
    assert_eq!(replies(&events), [LONG]);
    assert_eq!(spoken(&events).join(" "), TWO_SENTENCES);
    assert_eq!(log, ["user: what is two plus two"]);
}

/// The policy is a setting: off, the whole reply is spoken; it arrives with the other settings
/// as JSON (camelCase), and older settings without it get the default.
#[test]
fn the_policy_is_a_setting() {
    let config = AssistantConfig {
        reply: ReplyPolicy::unlimited(),
        ..AssistantConfig::default()
    };
    let (events, _) = ask_all(config);
    assert_eq!(spoken(&events).join(" "), LONG);
    let json = r#"{"reply": {"maxSentences": 1, "maxTokens": 30, "fullText": true}}"#;
    let parsed: AssistantConfig = serde_json::from_str(json).unwrap();
    assert_eq!(
        parsed.reply,
        ReplyPolicy {
            max_sentences: 1,
            max_tokens: 30,
            full_text: true
        }
    );
    let older: AssistantConfig = serde_json::from_str(r#"{"bargeIn": false}"#).unwrap();
    assert_eq!(older.reply, ReplyPolicy::default());
}
