//! Replies spoken by the page's system voice (`AssistantConfig::system_voice`): chunks go out as
//! text, the embedded voice synthesizes only a chunk handed back, and what was heard counts in
//! chunks the system voice started.

use std::cell::Cell;

use super::*;

/// Three sentences, so a reply has chunks before and after the one a test hands back.
const LONG: &str =
    "Two plus two is four, as you know. It has always been four. Anything else I can do?";

/// [`ScriptedVoice`]'s samples, counting the chunks it synthesized.
#[derive(Clone, Default)]
struct CountingVoice(Rc<Cell<usize>>);

impl Voice for CountingVoice {
    fn synthesize(&mut self, text: &str) -> Result<Vec<f32>, String> {
        self.0.set(self.0.get() + 1);
        ScriptedVoice.synthesize(text)
    }

    fn sample_rate(&self) -> u32 {
        ScriptedVoice.sample_rate()
    }
}

type Counted = Assistant<ScriptedRecognizer, ScriptedResponder, CountingVoice>;

/// What the responder's conversation kept, one line per event.
type Log = Rc<RefCell<Vec<String>>>;

/// An assistant whose replies the system voice speaks (`system_voice`), the whole of [`LONG`],
/// with its voice's synthesis count and the responder's log.
fn system_voiced(system_voice: bool) -> (Counted, Rc<Cell<usize>>, Log) {
    let responder = ScriptedResponder {
        reply: Some(LONG),
        ..ScriptedResponder::default()
    };
    let log = responder.log.clone();
    let voice = CountingVoice::default();
    let synthesized = voice.0.clone();
    let config = AssistantConfig {
        system_voice,
        reply: ReplyPolicy::unlimited(),
        ..AssistantConfig::default()
    };
    let assistant = Assistant::new(config, ScriptedRecognizer::default(), responder, voice);
    (assistant, synthesized, log)
}

/// A typed turn, its reply generated to the end, and chunk 0 spoken whole by the system voice.
fn ask_and_speak_chunk_0(assistant: &mut Counted) -> Vec<(u32, String)> {
    let chunks = text_chunks(&ask_to_the_end(assistant));
    assistant.system_voice_progress(1, 0, false);
    assistant.system_voice_progress(1, 0, true);
    chunks
}

/// `events` hold the interruption of turn 1, the user having heard chunks 0 and 1.
fn assert_heard_0_and_1(events: &[AssistantEvent], chunks: &[(u32, String)]) -> String {
    let heard = format!("{} {}", chunks[0].1, chunks[1].1);
    let interrupted = AssistantEvent::Interrupted {
        turn: 1,
        spoken: heard.clone(),
    };
    assert!(events.contains(&interrupted), "{events:?}");
    heard
}

/// The reply's chunks for the system voice: `(index, text)`.
fn text_chunks(events: &[AssistantEvent]) -> Vec<(u32, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            AssistantEvent::Chunk {
                turn: 1,
                index,
                text,
            } => Some((*index, text.clone())),
            _ => None,
        })
        .collect()
}

fn has_audio(events: &[AssistantEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, AssistantEvent::Audio { .. }))
}

#[test]
fn with_the_system_voice_chunks_go_out_as_text_and_nothing_is_synthesized() {
    let (mut assistant, synthesized, _) = system_voiced(true);
    let events = ask_to_the_end(&mut assistant);
    let chunks = text_chunks(&events);
    assert!(chunks.len() >= 3, "{chunks:?}");
    let said: Vec<&str> = chunks.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(said.join(" "), LONG);
    assert_eq!(
        synthesized.get(),
        0,
        "the embedded voice synthesized nothing"
    );
    assert!(!has_audio(&events));
    assert_eq!(assistant.state(), State::Speaking);
    // The first chunk is handed out with its latency mark; it sounds when the voice starts.
    let started = assistant.playback_started(1, 50.0);
    assert!(
        matches!(&started[..], [AssistantEvent::Latency(l)]
            if l.first_chunk.is_some() && l.first_audio == Some(50.0)),
        "{started:?}"
    );
    // The reply is over when the system voice has finished its last chunk, not before.
    for (index, _) in &chunks {
        assert_eq!(assistant.state(), State::Speaking);
        assistant.system_voice_progress(1, *index, false);
        let events = assistant.system_voice_progress(1, *index, true);
        let last = *index == chunks.last().unwrap().0;
        assert_eq!(
            events.contains(&AssistantEvent::State {
                state: State::Listening
            }),
            last
        );
    }
    assert_eq!(assistant.state(), State::Listening);
    assert_eq!(synthesized.get(), 0);
}

#[test]
fn without_it_every_chunk_is_synthesized_as_before() {
    let (mut assistant, synthesized, _) = system_voiced(false);
    let events = ask_to_the_end(&mut assistant);
    assert!(text_chunks(&events).is_empty());
    let audio = events
        .iter()
        .filter(|e| matches!(e, AssistantEvent::Audio { .. }))
        .count();
    assert!(audio >= 3);
    assert_eq!(synthesized.get(), audio);
}

#[test]
fn a_chunk_handed_back_is_synthesized_alone_and_played() {
    let (mut assistant, synthesized, _) = system_voiced(true);
    let chunks = ask_and_speak_chunk_0(&mut assistant);
    // The system voice fails on the second chunk: it and the rest of the turn come back.
    let mut played = 0;
    for (index, text) in &chunks[1..] {
        let events = assistant.speak_chunk(1, *index);
        let [AssistantEvent::Audio {
            turn: 1,
            index: got,
            text: said,
            samples,
            sample_rate: 16_000,
        }] = &events[..]
        else {
            panic!("one audio event for chunk {index}: {events:?}");
        };
        assert_eq!((got, said), (index, text));
        assert_eq!(samples, &vec![0.1; text.len() * 100]);
        played += samples.len();
    }
    assert_eq!(
        synthesized.get(),
        chunks.len() - 1,
        "only the chunks handed back"
    );
    // A chunk synthesized already, one of another turn, or of no reply: nothing.
    assert!(assistant.speak_chunk(1, chunks[1].0).is_empty());
    assert!(assistant.speak_chunk(1, 0).is_empty(), "chunk 0 was spoken");
    assert!(assistant.speak_chunk(2, 0).is_empty());
    assert_eq!(synthesized.get(), chunks.len() - 1);
    // Playback counts the embedded samples only: the reply ends when it has played them all.
    assistant.playback_progress(1, played - 1, 20.0);
    assert_eq!(assistant.state(), State::Speaking);
    let events = assistant.playback_progress(1, played, 30.0);
    assert!(events.contains(&AssistantEvent::State {
        state: State::Listening
    }));
    assert!(
        assistant.speak_chunk(1, chunks[2].0).is_empty(),
        "the turn is over"
    );
}

#[test]
fn a_barge_in_keeps_the_chunks_the_system_voice_started() {
    let (mut assistant, _, log) = system_voiced(true);
    // Chunk 0 spoken to its end, chunk 1 begun: the user stops the reply.
    let chunks = ask_and_speak_chunk_0(&mut assistant);
    assistant.system_voice_progress(1, 1, false);
    let heard = assert_heard_0_and_1(&assistant.interrupt(), &chunks);
    // The conversation keeps the raw reply through the end of chunk 1.
    let kept = log.borrow().last().cloned().unwrap();
    let kept = kept
        .strip_prefix("interrupted, kept: ")
        .unwrap()
        .to_string();
    assert!(LONG.starts_with(kept.trim_end()), "{kept:?}");
    assert_eq!(kept.trim_end(), heard, "{kept:?}");
}

#[test]
fn a_barge_in_after_a_fallback_counts_the_played_samples_too() {
    let (mut assistant, _, _) = system_voiced(true);
    let chunks = ask_and_speak_chunk_0(&mut assistant);
    let events = assistant.speak_chunk(1, chunks[1].0);
    let Some(AssistantEvent::Audio { samples, .. }) = events.first() else {
        panic!("{events:?}");
    };
    let length = samples.len();
    for (index, _) in &chunks[2..] {
        assistant.speak_chunk(1, *index);
    }
    // Playback has rendered part of chunk 1 (the first embedded samples of the turn).
    assistant.playback_progress(1, length / 2, 20.0);
    assert_heard_0_and_1(&assistant.interrupt(), &chunks);
}
