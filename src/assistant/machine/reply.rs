//! The reply: started from the user's words, generated a piece at a time, spoken chunk by chunk,
//! cut when the user talks over it; and the reply generated ahead of the end of the turn.
//!
//! A speculative final transcript (see `speculation`) is made a little after the user falls
//! silent, well before the endpointer ends the turn. The reply to those words can start then too:
//! its tokens and speech are generated but held back, so that when the end of the turn confirms
//! the words they go out at once, and the first audio follows the end of the turn by only the
//! time playback takes to start. If the user speaks again, the held reply is forgotten (the
//! dialog model [`Responder::abandon`]s it), and nothing of it was ever shown or heard.

use super::{
    Assistant, AssistantEvent, Latency, Recognizer, Responder, Stage, StageError, State, Voice,
};
use crate::assistant::reply_policy::SpokenLimit;
use crate::tts::chunker::Chunker;

/// The reply being generated and spoken.
pub(super) struct Reply {
    pub(super) turn: u64,
    chunker: Chunker,
    text: String,
    pub(super) generating: bool,
    /// Audio handed to playback, in order: what each chunk says, its sample count, and where it
    /// ends in the raw reply text.
    queued: Vec<QueuedChunk>,
    /// Samples of this turn that playback has rendered.
    pub(super) played: usize,
    /// How much of it the voice speaks.
    limit: SpokenLimit,
    /// Where the first chunk's sound begins (its leading silence), in ms: the first audio mark
    /// is when playback renders that sample.
    pub(super) first_sound_ms: Option<f64>,
    /// Set while the reply is generated ahead of the end of the turn.
    pub(super) held: Option<Held>,
}

/// A reply generated ahead of the end of the turn: what it made, waiting to go out.
pub(super) struct Held {
    /// The speculative transcript it answers.
    pub(super) user_text: String,
    /// Its events so far, in order.
    events: Vec<AssistantEvent>,
    first_token: Option<f64>,
    first_chunk: Option<f64>,
    tokens: u32,
    prompt: Option<crate::llm::PromptStats>,
}

struct QueuedChunk {
    index: u32,
    text: String,
    raw_end: usize,
    /// Its samples, once the embedded voice has synthesized it (`None`: the system voice has it).
    samples: Option<usize>,
    /// The system voice started speaking it.
    system_started: bool,
    /// The system voice finished speaking it.
    system_ended: bool,
}

impl Reply {
    /// The queued chunks with where each begins among the turn's embedded samples (the ones
    /// playback counts; chunks the system voice speaks take none).
    fn chunks_with_start(&self) -> impl Iterator<Item = (usize, &QueuedChunk)> {
        self.queued.iter().scan(0, |start, chunk| {
            let at = *start;
            *start += chunk.samples.unwrap_or(0);
            Some((at, chunk))
        })
    }

    /// What the user heard: the spoken text of the chunks that had started sounding (on the
    /// embedded voice or the system voice), and the raw reply text up to the end of the last.
    fn heard(&self) -> (String, &str) {
        let mut spoken = Vec::new();
        let mut raw_end = 0;
        for (start, chunk) in self.chunks_with_start() {
            if chunk.system_started || (chunk.samples.is_some() && start < self.played) {
                spoken.push(chunk.text.as_str());
                raw_end = chunk.raw_end;
            }
        }
        (spoken.join(" "), &self.text[..raw_end.min(self.text.len())])
    }

    /// The system voice started (`ended`: finished) speaking chunk `index`.
    pub(super) fn system_spoke(&mut self, index: u32, ended: bool) {
        if let Some(chunk) = self.queued.iter_mut().find(|c| c.index == index) {
            chunk.system_started = true;
            chunk.system_ended |= ended;
        }
    }

    /// Whether the reply is over: generated, and every chunk spoken to its end.
    pub(super) fn done(&self) -> bool {
        !self.generating
            && self.chunks_with_start().all(|(start, chunk)| {
                chunk.system_ended || chunk.samples.is_some_and(|n| start + n <= self.played)
            })
    }
}

impl<R: Recognizer, L: Responder, V: Voice> Assistant<R, L, V> {
    /// Whether a reply the user can hear (not one generated ahead) is in progress.
    pub(super) fn audible_reply(&self) -> bool {
        self.reply.as_ref().is_some_and(|r| r.held.is_none())
    }

    /// Cuts the reply in progress. `voice_onset`: the user's voice that did it (a barge-in),
    /// whose record waits for playback to report the stop. A reply generated ahead is not cut
    /// here: it lives and dies with its speculation (see [`Assistant::drop_speculation`]).
    pub(super) fn interrupt_reply(
        &mut self,
        voice_onset: Option<f64>,
        events: &mut Vec<AssistantEvent>,
    ) {
        if !self.audible_reply() {
            return;
        }
        if let Some(reply) = self.reply.take() {
            if !reply.done() {
                let (spoken, raw) = reply.heard();
                self.responder.interrupt(raw);
                events.push(AssistantEvent::Interrupted {
                    turn: reply.turn,
                    spoken,
                });
                self.barge_in =
                    (voice_onset.is_some() && self.latency.turn == reply.turn).then(|| Latency {
                        interrupt_onset: voice_onset,
                        ..self.latency.clone()
                    });
            }
        }
    }

    /// Starts the dialog model's reply to `text` (already announced as `turn`'s transcript).
    pub(super) fn start_reply(
        &mut self,
        turn: u64,
        text: String,
        events: &mut Vec<AssistantEvent>,
    ) {
        // Generated ahead for other words: forget it before the model begins anew.
        self.abandon_reply_ahead();
        // After this reply, read ahead again (its end and the next user header).
        self.prepared = false;
        match self.responder.begin(&text) {
            Ok(()) => {
                if self.latency.turn == turn {
                    self.latency.prompt = self.responder.prompt_stats();
                }
                self.reply = Some(Reply::new(
                    turn,
                    SpokenLimit::new(self.config.reply.clone()),
                    None,
                ));
                self.set_state(State::Thinking, events);
            }
            Err(message) => self.fail(Stage::Llm, message, events),
        }
    }

    /// Hands-free, a speculative final transcript with words holds for the utterance, and
    /// nothing else is in progress: its reply can be generated ahead.
    pub(super) fn reply_ahead_due(&self) -> bool {
        self.config.reply_ahead
            && self.speculated()
            && self.speculation.as_ref().is_some_and(|s| s.has_words())
            && self.reply.is_none()
            && self.finals.is_empty()
    }

    /// Begins the reply to the speculative transcript, held back until the end of the turn.
    /// A failure is silent: the end of the turn begins the reply again and meets it.
    pub(super) fn begin_reply_ahead(&mut self) {
        let Some(text) = self.speculation.as_ref().and_then(|s| s.words()) else {
            return;
        };
        if self.responder.begin(&text).is_ok() {
            let held = Held {
                prompt: self.responder.prompt_stats(),
                user_text: text,
                events: Vec::new(),
                first_token: None,
                first_chunk: None,
                tokens: 0,
            };
            self.reply = Some(Reply::new(
                self.turn,
                SpokenLimit::new(self.config.reply.clone()),
                Some(held),
            ));
        }
    }

    /// Whether the reply generated ahead answers `text`, the final transcript of `turn`.
    pub(super) fn reply_ahead_answers(&self, turn: u64, text: &str) -> bool {
        self.reply
            .as_ref()
            .is_some_and(|r| r.turn == turn && r.held.as_ref().is_some_and(|h| h.user_text == text))
    }

    /// The end of the turn confirmed the words of the reply generated ahead: it goes out now,
    /// with the transcript. Its marks count from the end of the turn, when they became the
    /// turn's.
    pub(super) fn release_reply_ahead(
        &mut self,
        latency: Latency,
        text: String,
        events: &mut Vec<AssistantEvent>,
    ) {
        let Some(reply) = self.reply.as_mut() else {
            return;
        };
        let Some(held) = reply.held.take() else {
            return;
        };
        let (turn, done, has_audio) = (reply.turn, !reply.generating, !reply.queued.is_empty());
        let endpoint = latency.endpoint;
        let from_endpoint = |mark: Option<f64>| match (mark, endpoint) {
            (Some(mark), Some(endpoint)) => Some(mark.max(endpoint)),
            (mark, _) => mark,
        };
        self.latency = Latency {
            transcript: endpoint,
            first_token: from_endpoint(held.first_token),
            first_chunk: from_endpoint(held.first_chunk),
            tokens_ahead: held.tokens,
            prompt: held.prompt,
            ..latency
        };
        self.prepared = false;
        events.push(AssistantEvent::Transcript { turn, text });
        self.set_state(State::Thinking, events);
        events.extend(held.events);
        if has_audio {
            self.set_state(State::Speaking, events);
        } else if done {
            self.reply = None;
            self.set_state(State::Listening, events);
        }
    }

    /// Forgets the reply generated ahead, if any: the user did not end the turn with its words.
    pub(super) fn abandon_reply_ahead(&mut self) {
        if self.reply.as_ref().is_some_and(|r| r.held.is_some()) {
            self.reply = None;
            self.responder.abandon();
        }
    }

    /// Generates the next piece of the reply and speaks what it completes; a reply generated
    /// ahead keeps its events and marks to itself.
    pub(super) fn generate_piece(&mut self, now_ms: f64, events: &mut Vec<AssistantEvent>) {
        let held = self.reply.as_ref().is_some_and(|r| r.held.is_some());
        let piece = match self.responder.next_piece() {
            Ok(piece) => piece,
            Err(message) if held => {
                // The end of the turn begins the reply again and meets the error itself.
                let _ = message;
                return self.abandon_reply_ahead();
            }
            Err(message) => {
                self.reply = None;
                return self.fail(Stage::Llm, message, events);
            }
        };
        let mut out = Vec::new();
        let Some(reply) = self.reply.as_mut() else {
            return;
        };
        let turn = reply.turn;
        let chunks = match piece {
            Some(text) => {
                let now = self.clock.as_mut().map_or(now_ms, |clock| clock());
                if let Some(held) = reply.held.as_mut() {
                    held.first_token.get_or_insert(now);
                    held.tokens += 1;
                } else if self.latency.turn == turn && self.latency.first_token.is_none() {
                    self.latency.first_token = Some(now);
                }
                let mut taken = reply
                    .limit
                    .take_piece(&text, &mut reply.text, &mut reply.chunker);
                if taken.push_events(turn, &reply.text, &mut out) {
                    // The voice has said enough: the model stops, the reply is kept as spoken.
                    self.responder.interrupt(&reply.text);
                    reply.generating = false;
                }
                taken.chunks
            }
            None => {
                reply.generating = false;
                let chunks = reply.limit.finish(&mut reply.text, &mut reply.chunker);
                out.push(AssistantEvent::Reply {
                    turn,
                    text: reply.text.clone(),
                });
                chunks
            }
        };
        for chunk in chunks {
            if self.config.system_voice {
                // The page's system voice speaks it: its text goes out, nothing is synthesized.
                let now = self.now(now_ms);
                self.mark_first_chunk(turn, now);
                let reply = self.reply.as_mut().expect("a reply is in progress");
                // The system voice's start event is when it sounds.
                reply.first_sound_ms.get_or_insert(0.0);
                reply.queued.push(QueuedChunk::new(&chunk, None));
                out.push(AssistantEvent::Chunk {
                    turn,
                    index: chunk.index,
                    text: chunk.text,
                });
                if !held {
                    self.set_state(State::Speaking, &mut out);
                }
                continue;
            }
            match self.voice.synthesize(&chunk.text) {
                Ok(samples) => {
                    let now = self.now(now_ms);
                    self.mark_first_chunk(turn, now);
                    let sample_rate = self.voice.sample_rate();
                    let reply = self.reply.as_mut().expect("a reply is in progress");
                    if reply.queued.is_empty() {
                        reply.first_sound_ms =
                            Some(super::playback::leading_silence_ms(&samples, sample_rate));
                    }
                    reply
                        .queued
                        .push(QueuedChunk::new(&chunk, Some(samples.len())));
                    out.push(AssistantEvent::Audio {
                        turn,
                        index: chunk.index,
                        text: chunk.text,
                        samples,
                        sample_rate,
                    });
                    if !held {
                        self.set_state(State::Speaking, &mut out);
                    }
                }
                Err(message) => out.push(AssistantEvent::Error(StageError {
                    stage: Stage::Tts,
                    message,
                })),
            }
        }
        let reply = self.reply.as_mut().expect("a reply is in progress");
        if let Some(held) = reply.held.as_mut() {
            held.events.extend(out);
            return;
        }
        events.extend(out);
        if !reply.generating && reply.queued.is_empty() {
            // Nothing to say aloud (an empty or unspeakable reply): the turn is over.
            self.reply = None;
            self.set_state(State::Listening, events);
        }
    }
}

impl<R: Recognizer, L: Responder, V: Voice> Assistant<R, L, V> {
    /// The first chunk of `turn`'s reply was handed out at `now`: the latency mark (held with a
    /// reply generated ahead).
    fn mark_first_chunk(&mut self, turn: u64, now: f64) {
        let reply = self.reply.as_mut().expect("a reply is in progress");
        if let Some(held) = reply.held.as_mut() {
            held.first_chunk.get_or_insert(now);
        } else if self.latency.turn == turn && self.latency.first_chunk.is_none() {
            self.latency.first_chunk = Some(now);
        }
    }

    /// The page's system voice could not speak chunk `index` of `turn`: the embedded voice
    /// synthesizes it now, and it goes to playback as an [`AssistantEvent::Audio`] (its samples
    /// continue the turn's count of embedded samples). Nothing if the chunk is unknown, its
    /// turn over or cut, or it was spoken or synthesized already.
    pub fn speak_chunk(&mut self, turn: u64, index: u32) -> Vec<AssistantEvent> {
        let Some(reply) = self
            .reply
            .as_ref()
            .filter(|r| r.turn == turn && r.held.is_none())
        else {
            return Vec::new();
        };
        let Some(chunk) = reply
            .queued
            .iter()
            .find(|c| c.index == index && c.samples.is_none() && !c.system_ended)
        else {
            return Vec::new();
        };
        let text = chunk.text.clone();
        let samples = match self.voice.synthesize(&text) {
            Ok(samples) => samples,
            Err(message) => {
                return vec![AssistantEvent::Error(StageError {
                    stage: Stage::Tts,
                    message,
                })]
            }
        };
        let sample_rate = self.voice.sample_rate();
        let reply = self.reply.as_mut().expect("the reply was found above");
        let sounded = reply
            .queued
            .iter()
            .any(|c| c.system_started || c.samples.is_some());
        if !sounded {
            // The first sound of the reply is this chunk's, after its leading silence.
            reply.first_sound_ms = Some(super::playback::leading_silence_ms(&samples, sample_rate));
        }
        if let Some(chunk) = reply.queued.iter_mut().find(|c| c.index == index) {
            chunk.samples = Some(samples.len());
        }
        vec![AssistantEvent::Audio {
            turn,
            index,
            text,
            samples,
            sample_rate,
        }]
    }
}

impl QueuedChunk {
    fn new(chunk: &crate::tts::chunker::Chunk, samples: Option<usize>) -> Self {
        QueuedChunk {
            index: chunk.index,
            text: chunk.text.clone(),
            raw_end: chunk.raw_end,
            samples,
            system_started: false,
            system_ended: false,
        }
    }
}

impl Reply {
    fn new(turn: u64, limit: SpokenLimit, held: Option<Held>) -> Self {
        Reply {
            limit,
            turn,
            chunker: Chunker::new(turn),
            text: String::new(),
            generating: true,
            queued: Vec::new(),
            played: 0,
            first_sound_ms: None,
            held,
        }
    }
}
