//! The state machine with scripted stages: the real stages are tested in their own modules and,
//! wired together, by `sotto converse` and the browser tests.

use std::cell::RefCell;
use std::rc::Rc;

use super::*;
use crate::vad::test_signals::{concat, silence, voice};

mod latency;
mod reply_ahead;
mod reply_policy;
mod speculation;
mod system_voice;
mod voice_rate;

/// The leading silence the first audio mark skips, in ms.
fn playback_leading_silence(samples: &[f32], sample_rate: u32) -> f64 {
    super::machine::leading_silence_ms(samples, sample_rate)
}

/// Recognizes every utterance as "what is two plus two" (partials: "what is"), or fails; final
/// transcriptions (speculative ones included) are counted with the length of what they heard.
#[derive(Default)]
struct ScriptedRecognizer {
    finals: usize,
    partials: usize,
    fail: bool,
    hear_nothing: bool,
    /// The next final transcriptions give these words instead (`Err` fails), in order.
    script: Vec<Result<String, String>>,
    /// Samples of each final transcription's audio.
    final_lengths: Vec<usize>,
}

impl Recognizer for ScriptedRecognizer {
    fn transcribe(&mut self, pcm: &[f32], partial: bool) -> Result<String, String> {
        assert!(!pcm.is_empty());
        if self.fail {
            return Err("the model is not loaded".into());
        }
        if partial {
            self.partials += 1;
            return Ok("what is".into());
        }
        self.finals += 1;
        self.final_lengths.push(pcm.len());
        if !self.script.is_empty() {
            return self.script.remove(0);
        }
        Ok(if self.hear_nothing {
            String::new()
        } else {
            "what is two plus two".into()
        })
    }
}

/// Replies with a fixed text, one word at a time; records what the conversation kept, and the
/// turns read ahead.
#[derive(Clone, Default)]
struct ScriptedResponder {
    log: Rc<RefCell<Vec<String>>>,
    pieces: Vec<String>,
    prepared_turns: Rc<RefCell<Vec<String>>>,
    prepared_partials: Rc<RefCell<Vec<String>>>,
    /// The reply instead of [`REPLY`].
    reply: Option<&'static str>,
    /// The words of replies begun ahead and abandoned.
    abandoned: Rc<RefCell<Vec<String>>>,
    /// Read-ahead calls a partial's words take (0 or 1: all at once).
    partial_slices: usize,
    /// The words of the partial being read ahead, and the slices done.
    partial_slice: (String, usize),
    fail_prepare: bool,
}

/// Two sentences: within the default reply policy, so these tests see the whole reply spoken
/// (`tests/reply_policy.rs` gives a longer one).
const REPLY: &str = "Two plus two is four, as you know. It has always been four.";

impl Responder for ScriptedResponder {
    fn begin(&mut self, user_text: &str) -> Result<(), String> {
        self.log.borrow_mut().push(format!("user: {user_text}"));
        let reply = self.reply.unwrap_or(REPLY);
        self.pieces = reply.split_inclusive(' ').rev().map(String::from).collect();
        Ok(())
    }

    fn next_piece(&mut self) -> Result<Option<String>, String> {
        Ok(self.pieces.pop())
    }

    fn interrupt(&mut self, spoken: &str) {
        self.pieces.clear();
        self.log
            .borrow_mut()
            .push(format!("interrupted, kept: {spoken}"));
    }

    /// The conversation forgets the turn begun last, as `Conversation::abandon_reply` does; the
    /// words abandoned are noted apart.
    fn abandon(&mut self) {
        self.pieces.clear();
        let mut log = self.log.borrow_mut();
        if let Some(last) = log.pop() {
            assert!(last.starts_with("user: "), "abandoned {last}");
            self.abandoned
                .borrow_mut()
                .push(last["user: ".len()..].to_string());
        }
    }

    /// Each partial's words take `partial_slices` calls; the log numbers the slices.
    fn prepare_partial_turn(&mut self, partial_text: &str) -> Result<bool, String> {
        let (text, slice) = &mut self.partial_slice;
        *slice = if text == partial_text { *slice + 1 } else { 1 };
        *text = partial_text.into();
        self.prepared_partials
            .borrow_mut()
            .push(format!("{partial_text} #{slice}"));
        let more = *slice < self.partial_slices.max(1);
        if !more {
            self.partial_slice = Default::default();
        }
        Ok(more)
    }

    fn prepare_turn(&mut self, user_text: &str) -> Result<bool, String> {
        self.prepared_turns.borrow_mut().push(user_text.into());
        if self.fail_prepare {
            return Err("the model ran out of memory".into());
        }
        Ok(true)
    }
}

/// 100 samples of tone per character at 16 kHz.
struct ScriptedVoice;

impl Voice for ScriptedVoice {
    fn synthesize(&mut self, text: &str) -> Result<Vec<f32>, String> {
        Ok(vec![0.1; text.len() * 100])
    }

    fn sample_rate(&self) -> u32 {
        16_000
    }
}

type Scripted = Assistant<ScriptedRecognizer, ScriptedResponder, ScriptedVoice>;

fn assistant(config: AssistantConfig) -> (Scripted, Rc<RefCell<Vec<String>>>) {
    let responder = ScriptedResponder::default();
    let log = responder.log.clone();
    (
        Assistant::new(
            config,
            ScriptedRecognizer::default(),
            responder,
            ScriptedVoice,
        ),
        log,
    )
}

/// Feeds audio in 20 ms frames on a clock that advances with it, doing all work in between.
fn feed(assistant: &mut Scripted, audio: &[f32], clock: &mut f64) -> Vec<AssistantEvent> {
    let mut events = Vec::new();
    for frame in audio.chunks(320) {
        *clock += 20.0;
        events.extend(assistant.push_audio(frame, *clock));
        events.extend(drain(assistant, *clock));
    }
    events
}

/// Does all the work there is at `clock`. Playback starts each reply as soon as its first chunk
/// is queued.
fn drain(assistant: &mut Scripted, clock: f64) -> Vec<AssistantEvent> {
    let mut events = Vec::new();
    while assistant.has_work() {
        let step = assistant.step(clock);
        if step.is_empty() {
            break;
        }
        let first_chunks: Vec<u64> = step
            .iter()
            .filter_map(|e| match e {
                AssistantEvent::Audio { turn, index: 0, .. } => Some(*turn),
                _ => None,
            })
            .collect();
        events.extend(step);
        for turn in first_chunks {
            events.extend(assistant.playback_started(turn, clock));
        }
    }
    events
}

/// A typed turn ("what is two plus two"), its reply generated to the end.
fn ask_to_the_end<V: Voice>(
    assistant: &mut Assistant<ScriptedRecognizer, ScriptedResponder, V>,
) -> Vec<AssistantEvent> {
    let mut events = assistant.ask("what is two plus two", 0.0);
    while assistant.has_work() {
        let step = assistant.step(10.0);
        if step.is_empty() {
            break;
        }
        events.extend(step);
    }
    events
}

fn position(events: &[AssistantEvent], wanted: impl Fn(&AssistantEvent) -> bool) -> usize {
    events
        .iter()
        .position(wanted)
        .unwrap_or_else(|| panic!("missing event in {events:#?}"))
}

/// The latency event, asserting that all six marks are there and in order.
fn ordered_latency(events: &[AssistantEvent]) -> Latency {
    let latency = events.iter().find_map(|e| match e {
        AssistantEvent::Latency(l) => Some(l.clone()),
        _ => None,
    });
    let latency = latency.expect("a latency event");
    let marks = [
        latency.speech_end,
        latency.endpoint,
        latency.transcript,
        latency.first_token,
        latency.first_chunk,
        latency.first_audio,
    ];
    assert!(marks.iter().all(Option::is_some), "{latency:?}");
    assert!(marks.windows(2).all(|w| w[0] <= w[1]), "{latency:?}");
    latency
}

#[test]
fn a_spoken_turn_is_transcribed_answered_and_spoken_with_latency_marks() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    let mut clock = 0.0;
    let events = feed(
        &mut assistant,
        &concat(&[silence(500), voice(1500, 0.2), silence(700)]),
        &mut clock,
    );
    let start = position(&events, |e| {
        matches!(e, AssistantEvent::SpeechStart { turn: 1 })
    });
    let partial = position(&events, |e| matches!(e, AssistantEvent::Partial { .. }));
    let transcript = position(
        &events,
        |e| matches!(e, AssistantEvent::Transcript { text, .. } if text == "what is two plus two"),
    );
    let token = position(&events, |e| matches!(e, AssistantEvent::Token { .. }));
    let audio = position(&events, |e| {
        matches!(e, AssistantEvent::Audio { index: 0, .. })
    });
    let reply = position(
        &events,
        |e| matches!(e, AssistantEvent::Reply { text, .. } if text == REPLY),
    );
    assert!(
        start < partial
            && partial < transcript
            && transcript < token
            && token < audio
            && audio < reply
    );
    ordered_latency(&events);
    assert_eq!(log.borrow().as_slice(), ["user: what is two plus two"]);
    assert_eq!(assistant.state(), State::Speaking);
    let spoken: usize = events
        .iter()
        .filter_map(|e| match e {
            AssistantEvent::Audio { samples, .. } => Some(samples.len()),
            _ => None,
        })
        .sum();
    assert!(assistant
        .playback_progress(1, spoken, clock)
        .contains(&AssistantEvent::State {
            state: State::Listening
        }));
}

#[test]
fn partials_come_at_most_every_interval() {
    let (mut assistant, _) = assistant(AssistantConfig::default());
    let mut clock = 0.0;
    feed(
        &mut assistant,
        &concat(&[silence(300), voice(3000, 0.2)]),
        &mut clock,
    );
    let partials = assistant.recognizer_mut().partials;
    assert!(
        (4..=7).contains(&partials),
        "{partials} partials in 3 s of speech"
    );
}

#[test]
fn talking_over_the_reply_interrupts_it_and_keeps_what_was_spoken() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    let mut clock = 0.0;
    let events = feed(
        &mut assistant,
        &concat(&[silence(500), voice(1000, 0.2), silence(500)]),
        &mut clock,
    );
    let first_chunk = events
        .iter()
        .find_map(|e| match e {
            AssistantEvent::Audio { text, samples, .. } => Some((text.clone(), samples.len())),
            _ => None,
        })
        .expect("the reply started speaking");
    // Playback has rendered part of the first chunk when the user talks again.
    assistant.playback_progress(1, first_chunk.1 / 2, clock);
    let events = feed(&mut assistant, &voice(400, 0.3), &mut clock);
    let interrupted = events.iter().find_map(|e| match e {
        AssistantEvent::Interrupted { turn, spoken } => Some((*turn, spoken.clone())),
        _ => None,
    });
    assert_eq!(interrupted, Some((1, first_chunk.0.clone())));
    assert!(events.contains(&AssistantEvent::SpeechStart { turn: 2 }));
    assert_eq!(
        log.borrow().last().unwrap(),
        &format!("interrupted, kept: {}", first_chunk.0)
    );
    assert_eq!(assistant.state(), State::HearingYou);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AssistantEvent::Token { turn: 1, .. })),
        "generation stopped"
    );
}

#[test]
fn without_barge_in_the_reply_goes_on() {
    let config = AssistantConfig {
        barge_in: false,
        ..AssistantConfig::default()
    };
    let (mut assistant, log) = assistant(config);
    let mut clock = 0.0;
    feed(
        &mut assistant,
        &concat(&[silence(500), voice(1000, 0.2), silence(500)]),
        &mut clock,
    );
    let events = feed(&mut assistant, &voice(400, 0.3), &mut clock);
    assert!(!events
        .iter()
        .any(|e| matches!(e, AssistantEvent::Interrupted { .. })));
    assert_eq!(log.borrow().len(), 1);
}

#[test]
fn typed_text_is_a_turn() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    let mut events = assistant.ask("  hello there ", 10.0);
    while assistant.has_work() {
        events.extend(assistant.step(20.0));
    }
    assert!(events.contains(&AssistantEvent::Transcript {
        turn: 1,
        text: "hello there".into()
    }));
    assert!(events
        .iter()
        .any(|e| matches!(e, AssistantEvent::Reply { turn: 1, .. })));
    assert_eq!(log.borrow().as_slice(), ["user: hello there"]);
}

#[test]
fn push_to_talk_listens_only_while_held() {
    let config = AssistantConfig {
        mode: Mode::PushToTalk,
        ..AssistantConfig::default()
    };
    let (mut assistant, _) = assistant(config);
    let mut clock = 0.0;
    let ignored = feed(
        &mut assistant,
        &concat(&[voice(800, 0.2), silence(600)]),
        &mut clock,
    );
    assert!(ignored.is_empty(), "{ignored:?}");
    assistant.press_to_talk(clock);
    feed(&mut assistant, &voice(800, 0.2), &mut clock);
    let mut events = assistant.release_to_talk(clock);
    while assistant.has_work() {
        events.extend(assistant.step(clock));
    }
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AssistantEvent::Transcript { .. })),
        "{events:?}"
    );
}

#[test]
fn an_utterance_without_words_is_not_answered() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    assistant.recognizer_mut().hear_nothing = true;
    let mut clock = 0.0;
    let events = feed(
        &mut assistant,
        &concat(&[silence(300), voice(800, 0.2), silence(600)]),
        &mut clock,
    );
    assert!(events.contains(&AssistantEvent::NothingHeard { turn: 1 }));
    // The speculative transcript heard nothing: no second transcription, nothing read ahead.
    assert_eq!(assistant.recognizer_mut().finals, 1);
    assert!(assistant.responder_mut().prepared_turns.borrow().is_empty());
    assert!(log.borrow().is_empty());
    assert_eq!(assistant.state(), State::Listening);
}

#[test]
fn a_failing_stage_is_reported_and_the_assistant_listens_again() {
    let (mut assistant, _) = assistant(AssistantConfig::default());
    assistant.recognizer_mut().fail = true;
    let mut clock = 0.0;
    let events = feed(
        &mut assistant,
        &concat(&[silence(300), voice(800, 0.2), silence(600)]),
        &mut clock,
    );
    assert!(events.iter().any(|e| matches!(
        e,
        AssistantEvent::Error(StageError {
            stage: Stage::Asr,
            ..
        })
    )));
    assert_eq!(assistant.state(), State::Listening);
}

#[test]
fn queued_utterances_are_answered_under_their_own_turns() {
    let (mut assistant, log) = assistant(AssistantConfig::default());
    let mut events = Vec::new();
    // Two utterances arrive before any work is done (a slow machine): both wait for transcripts.
    let audio = concat(&[
        silence(300),
        voice(800, 0.2),
        silence(600),
        voice(800, 0.2),
        silence(600),
    ]);
    let mut clock = 0.0;
    for frame in audio.chunks(320) {
        clock += 20.0;
        events.extend(assistant.push_audio(frame, clock));
    }
    events.extend(drain(&mut assistant, clock));
    let transcripts: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            AssistantEvent::Transcript { turn, .. } => Some(*turn),
            _ => None,
        })
        .collect();
    assert_eq!(transcripts, [1, 2]);
    // The first reply is cut by the newer turn; the second is answered in full, under turn 2.
    assert!(events.contains(&AssistantEvent::Interrupted {
        turn: 1,
        spoken: String::new()
    }));
    assert!(events
        .iter()
        .any(|e| matches!(e, AssistantEvent::Reply { turn: 2, .. })));
    assert!(!events
        .iter()
        .any(|e| matches!(e, AssistantEvent::Reply { turn: 1, .. })));
    assert_eq!(log.borrow().len(), 3, "{:?}", log.borrow());
    let latency: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            AssistantEvent::Latency(l) => Some(l.turn),
            _ => None,
        })
        .collect();
    assert!(latency.contains(&2), "{latency:?}");
}
