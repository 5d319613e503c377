//! The reply generated ahead of the end of the turn, from the speculative final transcript.

use super::*;

const HEARD: &str = "what is two plus two";

fn kinds(events: &[AssistantEvent]) -> Vec<&'static str> {
    events
        .iter()
        .filter_map(|e| match e {
            AssistantEvent::Transcript { .. } => Some("transcript"),
            AssistantEvent::Token { .. } => Some("token"),
            AssistantEvent::Audio { .. } => Some("audio"),
            AssistantEvent::State {
                state: State::Thinking,
            } => Some("thinking"),
            _ => None,
        })
        .collect()
}

#[test]
fn a_reply_generated_ahead_goes_out_with_the_transcript_at_the_end_of_the_turn() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    let mut clock = 0.0;
    // Up to 160 ms into the silence: the speculation; then the reply is generated, held back.
    let mut events = feed(
        &mut assistant,
        &concat(&[silence(500), voice(1500, 0.2), silence(300)]),
        &mut clock,
    );
    assert_eq!(
        log.borrow().as_slice(),
        [format!("user: {HEARD}")],
        "begun ahead"
    );
    assert!(
        kinds(&events).is_empty(),
        "nothing of it is shown or heard before the end of the turn: {events:?}"
    );
    assert_eq!(assistant.state(), State::HearingYou);
    let at_endpoint = events.len();
    events.extend(feed(&mut assistant, &silence(400), &mut clock));
    let after = &events[at_endpoint..];
    let order = kinds(after);
    assert_eq!(order[..2], ["thinking", "transcript"], "{order:?}");
    assert!(
        order.contains(&"token") && order.contains(&"audio"),
        "{order:?}"
    );
    let transcript = order.iter().position(|k| *k == "transcript").unwrap();
    assert!(order[transcript..].starts_with(&["transcript", "token"]));
    // The marks made ahead count from the end of the turn; the dialog model began once.
    let latency = ordered_latency(&events);
    assert_eq!(latency.transcript, latency.endpoint);
    assert_eq!(latency.first_token, latency.endpoint);
    assert_eq!(latency.first_chunk, latency.endpoint);
    assert!(latency.tokens_ahead > 0, "{latency:?}");
    assert!(latency.speculative_final);
    assert_eq!(log.borrow().len(), 1, "{:?}", log.borrow());
    assert!(assistant.responder_mut().abandoned.borrow().is_empty());
}

#[test]
fn a_reply_generated_ahead_is_forgotten_when_the_user_goes_on() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    assistant.recognizer_mut().script = vec![Ok("what is".into())];
    let mut clock = 0.0;
    let events = feed(
        &mut assistant,
        &concat(&[
            silence(500),
            voice(800, 0.2),
            silence(300), // long enough to begin the reply to "what is"
            voice(800, 0.2),
            silence(700),
        ]),
        &mut clock,
    );
    let abandoned = assistant.responder_mut().abandoned.clone();
    assert_eq!(abandoned.borrow().as_slice(), ["what is"]);
    // The conversation holds only the real turn, and nothing of the abandoned reply came out.
    assert_eq!(log.borrow().as_slice(), [format!("user: {HEARD}")]);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, AssistantEvent::Reply { .. }))
            .count(),
        1
    );
    let transcript = events
        .iter()
        .position(|e| matches!(e, AssistantEvent::Transcript { .. }))
        .unwrap();
    assert!(
        !events[..transcript].iter().any(|e| matches!(
            e,
            AssistantEvent::Token { .. } | AssistantEvent::Audio { .. }
        )),
        "{events:?}"
    );
    let latency = ordered_latency(&events);
    assert_eq!(latency.speculations, 2);
    assert!(
        latency.tokens_ahead > 0,
        "the second pause's reply was generated ahead"
    );
}

#[test]
fn without_reply_ahead_the_reply_begins_at_the_end_of_the_turn() {
    let config = AssistantConfig {
        reply_ahead: false,
        ..AssistantConfig::default()
    };
    let (mut assistant, log) = assistant(config);
    let mut clock = 0.0;
    feed(
        &mut assistant,
        &concat(&[silence(500), voice(1500, 0.2), silence(300)]),
        &mut clock,
    );
    assert!(log.borrow().is_empty(), "{:?}", log.borrow());
    let events = feed(&mut assistant, &silence(400), &mut clock);
    let latency = ordered_latency(&events);
    assert_eq!(latency.tokens_ahead, 0);
    assert!(latency.first_token >= latency.endpoint);
    assert_eq!(log.borrow().as_slice(), [format!("user: {HEARD}")]);
}

#[test]
fn a_typed_message_during_the_pause_forgets_the_reply_generated_ahead() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    let mut clock = 0.0;
    feed(
        &mut assistant,
        &concat(&[silence(500), voice(1500, 0.2), silence(300)]),
        &mut clock,
    );
    let mut events = assistant.ask("hello", clock);
    events.extend(drain(&mut assistant, clock));
    assert_eq!(
        assistant.responder_mut().abandoned.borrow().as_slice(),
        [HEARD]
    );
    assert_eq!(log.borrow().as_slice(), ["user: hello"]);
    assert!(events
        .iter()
        .any(|e| matches!(e, AssistantEvent::Reply { turn: 2, .. })));
}
