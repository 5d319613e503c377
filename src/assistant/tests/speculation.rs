//! The speculative final transcript made during the endpoint silence.

use super::*;

const HEARD: &str = "what is two plus two";

fn transcripts(events: &[AssistantEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            AssistantEvent::Transcript { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn no_errors(events: &[AssistantEvent]) {
    assert!(
        !events.iter().any(|e| matches!(e, AssistantEvent::Error(_))),
        "{events:?}"
    );
}

/// The turns the responder read ahead.
fn prepared(assistant: &mut Scripted) -> Rc<RefCell<Vec<String>>> {
    assistant.responder_mut().prepared_turns.clone()
}

/// A question and the silence that ends it.
fn question() -> Vec<f32> {
    concat(&[silence(500), voice(1500, 0.2), silence(700)])
}

#[test]
fn the_speculative_final_is_used_at_the_endpoint_without_a_second_transcription() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    let prepared = prepared(&mut assistant);
    let mut clock = 0.0;
    let events = feed(&mut assistant, &question(), &mut clock);
    assert_eq!(assistant.recognizer_mut().finals, 1);
    assert_eq!(prepared.borrow().as_slice(), [HEARD]);
    // Made during the silence (and shown as a partial), before the end of the turn.
    let speculative = position(
        &events,
        |e| matches!(e, AssistantEvent::Partial { text, .. } if text == HEARD),
    );
    let thinking = position(&events, |e| {
        matches!(
            e,
            AssistantEvent::State {
                state: State::Thinking
            }
        )
    });
    assert!(speculative < thinking, "{events:#?}");
    assert_eq!(transcripts(&events), [HEARD]);
    assert_eq!(log.borrow().as_slice(), [format!("user: {HEARD}")]);
    // The transcript was ready when the endpoint came.
    let latency = ordered_latency(&events);
    assert_eq!(latency.transcript, latency.endpoint);
    no_errors(&events);
}

#[test]
fn without_speculation_the_final_is_transcribed_at_the_endpoint() {
    let config = AssistantConfig {
        speculate_ms: 0,
        ..AssistantConfig::default()
    };
    let (mut assistant, log) = assistant(config);
    let prepared = prepared(&mut assistant);
    let mut clock = 0.0;
    let events = feed(&mut assistant, &question(), &mut clock);
    assert_eq!(assistant.recognizer_mut().finals, 1);
    assert!(prepared.borrow().is_empty());
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AssistantEvent::Partial { text, .. } if text == HEARD)),
        "no speculative transcript"
    );
    assert_eq!(transcripts(&events), [HEARD]);
    assert_eq!(log.borrow().as_slice(), [format!("user: {HEARD}")]);
    ordered_latency(&events);
    let whole = assistant.recognizer_mut().final_lengths[0];

    // With speculation, the one transcription heard the utterance up to 160 ms of its silence,
    // not the whole 400 ms the endpointer waited.
    let (mut speculating, _) = super::assistant(AssistantConfig::default());
    feed(&mut speculating, &question(), &mut 0.0);
    let speculative = speculating.recognizer_mut().final_lengths[0];
    assert_eq!(whole - speculative, (400 - 160) * 16);
}

#[test]
fn speech_resuming_after_the_speculation_is_transcribed_again_at_the_next_pause() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    assistant.recognizer_mut().script = vec![Ok("what is".into())];
    let prepared = prepared(&mut assistant);
    let mut clock = 0.0;
    let events = feed(
        &mut assistant,
        &concat(&[
            silence(500),
            voice(800, 0.2),
            silence(240), // a pause within the sentence: a speculation, then more words
            voice(800, 0.2),
            silence(700),
        ]),
        &mut clock,
    );
    let recognizer = assistant.recognizer_mut();
    assert_eq!(recognizer.finals, 2);
    assert!(recognizer.final_lengths[1] > recognizer.final_lengths[0] + 800 * 16);
    assert_eq!(prepared.borrow().as_slice(), ["what is", HEARD]);
    assert_eq!(transcripts(&events), [HEARD]);
    assert_eq!(log.borrow().as_slice(), [format!("user: {HEARD}")]);
    ordered_latency(&events);
}

#[test]
fn speech_resuming_after_the_speculation_is_transcribed_whole_at_the_endpoint() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    assistant.recognizer_mut().script = vec![Ok("what is".into())];
    let prepared = prepared(&mut assistant);
    let mut clock = 0.0;
    let mut events = feed(
        &mut assistant,
        &concat(&[silence(500), voice(800, 0.2), silence(200)]),
        &mut clock,
    );
    assert_eq!(assistant.recognizer_mut().finals, 1, "a speculation");
    let partials = assistant.recognizer_mut().partials;
    // The user goes on speaking while the machine is busy: the rest of the turn arrives before
    // any more work is done, so no new speculation can be made.
    for frame in concat(&[voice(800, 0.2), silence(600)]).chunks(320) {
        clock += 20.0;
        events.extend(assistant.push_audio(frame, clock));
    }
    events.extend(drain(&mut assistant, clock));
    let recognizer = assistant.recognizer_mut();
    assert_eq!(recognizer.finals, 2, "the final transcription ran");
    assert_eq!(recognizer.partials, partials);
    // It heard the whole utterance: the speculation's part, 800 ms more speech, the silence.
    assert!(recognizer.final_lengths[1] >= recognizer.final_lengths[0] + (800 + 360) * 16);
    assert_eq!(prepared.borrow().as_slice(), ["what is"]);
    assert_eq!(transcripts(&events), [HEARD]);
    assert_eq!(log.borrow().as_slice(), [format!("user: {HEARD}")]);
    ordered_latency(&events);
}

#[test]
fn no_partials_run_on_an_utterance_that_only_grew_by_silence() {
    let (mut assistant, _) = assistant(AssistantConfig::default());
    let mut clock = 0.0;
    feed(
        &mut assistant,
        &concat(&[silence(300), voice(1200, 0.2)]),
        &mut clock,
    );
    let partials = assistant.recognizer_mut().partials;
    assert!(partials >= 1);
    // 380 ms of silence: the speculation, and nothing else, until the endpoint.
    let events = feed(&mut assistant, &silence(380), &mut clock);
    assert_eq!(assistant.recognizer_mut().partials, partials);
    assert_eq!(assistant.recognizer_mut().finals, 1);
    assert_eq!(assistant.state(), State::HearingYou);
    assert_eq!(
        events,
        [AssistantEvent::Partial {
            turn: 1,
            text: HEARD.into()
        }]
    );
}

#[test]
fn a_failed_speculation_falls_back_to_the_final_transcription() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    assistant.recognizer_mut().script = vec![Err("busy".into())];
    let prepared = prepared(&mut assistant);
    let events = feed(&mut assistant, &question(), &mut 0.0);
    assert_eq!(assistant.recognizer_mut().finals, 2);
    assert!(prepared.borrow().is_empty());
    assert_eq!(transcripts(&events), [HEARD]);
    assert_eq!(log.borrow().as_slice(), [format!("user: {HEARD}")]);
    no_errors(&events);
    ordered_latency(&events);
}

#[test]
fn a_failed_read_ahead_keeps_the_speculative_transcript() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    assistant.responder_mut().fail_prepare = true;
    let events = feed(&mut assistant, &question(), &mut 0.0);
    assert_eq!(assistant.recognizer_mut().finals, 1);
    assert_eq!(transcripts(&events), [HEARD]);
    assert_eq!(log.borrow().as_slice(), [format!("user: {HEARD}")]);
    no_errors(&events);
}

#[test]
fn push_to_talk_does_not_speculate() {
    let config = AssistantConfig {
        mode: Mode::PushToTalk,
        ..AssistantConfig::default()
    };
    let (mut assistant, _) = assistant(config);
    let prepared = prepared(&mut assistant);
    let mut clock = 0.0;
    assistant.press_to_talk(clock);
    // A pause longer than the speculation silence while the button is held.
    feed(
        &mut assistant,
        &concat(&[voice(800, 0.2), silence(300)]),
        &mut clock,
    );
    assert_eq!(assistant.recognizer_mut().finals, 0);
    let mut events = assistant.release_to_talk(clock);
    while assistant.has_work() {
        events.extend(assistant.step(clock));
    }
    assert_eq!(assistant.recognizer_mut().finals, 1);
    assert!(prepared.borrow().is_empty());
    assert_eq!(transcripts(&events), [HEARD]);
}

#[test]
fn speculate_ms_defaults_in_older_configs_and_is_clamped_below_the_endpoint() {
    // A config object from before the setting (as the page sends it).
    let older: AssistantConfig =
        serde_json::from_str(r#"{"vad":{"endpointMs":300},"mode":"hands-free","bargeIn":true}"#)
            .unwrap();
    assert_eq!(older.speculate_ms, 160);
    assert_eq!(older.speculation_silence_ms(), Some(160));
    let long: AssistantConfig =
        serde_json::from_str(r#"{"speculateMs":1000,"vad":{"endpointMs":300}}"#).unwrap();
    assert_eq!(long.speculation_silence_ms(), Some(280));
    let off: AssistantConfig = serde_json::from_str(r#"{"speculateMs":0}"#).unwrap();
    assert_eq!(off.speculation_silence_ms(), None);

    // Clamped, it still comes before the end of the turn.
    let (mut assistant, _) = assistant(long);
    let prepared = prepared(&mut assistant);
    let events = feed(&mut assistant, &question(), &mut 0.0);
    assert_eq!(assistant.recognizer_mut().finals, 1);
    assert_eq!(prepared.borrow().as_slice(), [HEARD]);
    assert_eq!(transcripts(&events), [HEARD]);
}

#[test]
fn a_speculation_does_not_outlive_its_turn() {
    let (mut assistant, _) = assistant(AssistantConfig::default());
    assistant.recognizer_mut().script = vec![Ok("first words".into())];
    let mut clock = 0.0;
    feed(
        &mut assistant,
        &concat(&[silence(500), voice(800, 0.2), silence(200)]),
        &mut clock,
    );
    // The user types instead: the spoken turn is abandoned.
    let mut events = assistant.ask("hello there", clock);
    while assistant.has_work() {
        events.extend(assistant.step(clock));
    }
    assert_eq!(transcripts(&events), ["hello there"]);
    // The rest of the silence ends the spoken turn (now an older one): it is transcribed anew.
    let events = feed(&mut assistant, &silence(400), &mut clock);
    assert!(!transcripts(&events).contains(&"first words".to_string()));
}

#[test]
fn a_partial_read_ahead_goes_in_slices_while_the_user_speaks_and_stops_when_they_do() {
    let (mut assistant, _) = assistant(AssistantConfig::default());
    assistant.responder_mut().partial_slices = 1000;
    let partials = assistant.responder_mut().prepared_partials.clone();
    let prepared = prepared(&mut assistant);
    let mut clock = 0.0;
    feed(
        &mut assistant,
        &concat(&[silence(500), voice(1500, 0.2)]),
        &mut clock,
    );
    // One slice per free step between frames: many per partial, each partial from its start.
    let while_speaking = partials.borrow().len();
    let heard_partials = assistant.recognizer_mut().partials;
    assert!(heard_partials > 0 && while_speaking > 10 * heard_partials);
    assert_eq!(
        partials.borrow()[..3],
        ["what is #1", "what is #2", "what is #3"]
    );
    // Once the user stops, no more slices: the pause waits for the speculative final, which
    // then replaces the guess.
    let events = feed(&mut assistant, &silence(700), &mut clock);
    assert_eq!(partials.borrow().len(), while_speaking);
    assert_eq!(*prepared.borrow(), [HEARD]);
    assert_eq!(transcripts(&events), [HEARD]);
    no_errors(&events);
}

#[test]
fn partial_words_are_read_ahead_while_the_user_speaks() {
    let (mut assistant, _) = assistant(AssistantConfig::default());
    let partials = assistant.responder_mut().prepared_partials.clone();
    let events = feed(&mut assistant, &question(), &mut 0.0);
    let heard_partials = assistant.recognizer_mut().partials;
    assert!(heard_partials > 0);
    // Each partial's words were read ahead, before the speculative final's.
    assert_eq!(partials.borrow().len(), heard_partials);
    assert!(partials.borrow().iter().all(|p| p == "what is #1"));
    assert_eq!(transcripts(&events), [HEARD]);
    no_errors(&events);

    // Without speculation, partials are only shown.
    let (mut plain, _) = super::assistant(AssistantConfig {
        speculate_ms: 0,
        ..AssistantConfig::default()
    });
    let partials = plain.responder_mut().prepared_partials.clone();
    feed(&mut plain, &question(), &mut 0.0);
    assert!(plain.recognizer_mut().partials > 0);
    assert!(partials.borrow().is_empty());
}
