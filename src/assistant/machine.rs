//! The conversation loop's state and its one-unit-of-work [`Assistant::step`].

mod playback;
mod reply;
mod speculation;

#[cfg(test)]
pub(super) use playback::leading_silence_ms;

use super::{
    AssistantConfig, AssistantEvent, Latency, Mode, Recognizer, Responder, Stage, StageError,
    State, Voice,
};
use crate::vad::{Endpointer, VadEvent, SAMPLE_RATE};
use reply::Reply;

/// An utterance whose final transcript is due, with its turn and latency marks so far.
struct PendingFinal {
    turn: u64,
    utterance: Vec<f32>,
    latency: Latency,
    /// The transcript, when a speculation made during the endpoint silence already holds it.
    text: Option<String>,
}

/// The conversation loop over a recognizer, a dialog model and a voice.
pub struct Assistant<R, L, V> {
    config: AssistantConfig,
    vad: Endpointer,
    recognizer: R,
    responder: L,
    voice: V,
    state: State,
    turn: u64,
    /// Utterances whose final transcript is due, with their turn and speech-end time.
    finals: Vec<PendingFinal>,
    /// The clock time at which the last partial was made, and the utterance length it covered.
    last_partial: Option<(f64, usize)>,
    reply: Option<Reply>,
    /// The record of the latest turn.
    latency: Latency,
    /// The record of a turn whose reply a barge-in cut, until playback reports it stopped.
    barge_in: Option<Latency>,
    /// Speculative finals made during the utterance in progress.
    speculations: u32,
    push_to_talk_held: bool,
    /// Whether the responder has read ahead since the last reply began (see
    /// [`Responder::prepare`]).
    prepared: bool,
    /// The speculative final transcript of the utterance in progress.
    speculation: Option<speculation::Speculation>,
    /// The words of the latest partial transcript while the responder still has some of their
    /// prompt to read ahead (see [`Responder::prepare_partial_turn`]).
    partial_read_ahead: Option<String>,
    /// Reads the caller's clock after a unit of work, so latency marks include the work itself.
    clock: Option<Box<dyn FnMut() -> f64>>,
}

impl<R: Recognizer, L: Responder, V: Voice> Assistant<R, L, V> {
    /// A conversation loop with the given stages.
    pub fn new(config: AssistantConfig, recognizer: R, responder: L, voice: V) -> Self {
        Self {
            vad: Endpointer::new(config.vad.clone()),
            config,
            recognizer,
            responder,
            voice,
            state: State::Listening,
            turn: 0,
            finals: Vec::new(),
            last_partial: None,
            reply: None,
            latency: Latency::default(),
            barge_in: None,
            speculations: 0,
            push_to_talk_held: false,
            prepared: false,
            speculation: None,
            partial_read_ahead: None,
            clock: None,
        }
    }

    /// Gives the machine the caller's clock (the one `now_ms` comes from). Latency marks are then
    /// taken when each piece of work is done; without it, at the `now_ms` of the call.
    pub fn set_clock(&mut self, clock: impl FnMut() -> f64 + 'static) {
        self.clock = Some(Box::new(clock));
    }

    fn now(&mut self, fallback: f64) -> f64 {
        self.clock.as_mut().map_or(fallback, |clock| clock())
    }

    /// The settings in force.
    pub fn config(&self) -> &AssistantConfig {
        &self.config
    }

    /// Changes the settings (the endpointer's apply from the next frame).
    pub fn set_config(&mut self, config: AssistantConfig) {
        // Made under other settings (the mode, the silence it waited for): make it again.
        self.drop_speculation();
        self.vad.set_config(config.vad.clone());
        self.config = config;
    }

    /// What the assistant is doing.
    pub fn state(&self) -> State {
        self.state
    }

    /// The microphone level of the last frame, in dBFS.
    pub fn level_db(&self) -> f32 {
        self.vad.level_db()
    }

    /// The recognizer (to change its language, say).
    pub fn recognizer_mut(&mut self) -> &mut R {
        // Another model or language may hear other words.
        self.drop_speculation();
        &mut self.recognizer
    }

    /// The dialog model (to change its system prompt, say).
    pub fn responder_mut(&mut self) -> &mut L {
        // A new model or conversation has nothing read ahead yet.
        self.prepared = false;
        &mut self.responder
    }

    /// The dialog model, to read (the conversation so far, say).
    pub fn responder(&self) -> &L {
        &self.responder
    }

    /// The last turn begun (0 before the first).
    pub fn turn(&self) -> u64 {
        self.turn
    }

    /// Numbers the next turns after `turn` (when it is later than the last one begun): a
    /// conversation restored into a new engine goes on with its turn numbers, so the caller's
    /// record of a turn is never mistaken for a new one.
    pub fn continue_after_turn(&mut self, turn: u64) {
        self.turn = self.turn.max(turn);
    }

    /// The voice (to change its rate or pitch, say).
    pub fn voice_mut(&mut self) -> &mut V {
        &mut self.voice
    }

    /// Whether [`Assistant::step`] has something to do.
    pub fn has_work(&self) -> bool {
        !self.finals.is_empty()
            || self.reply.as_ref().is_some_and(|r| r.generating)
            || self.speculation_due()
            || self.reply_ahead_due()
            || self.partial_due_soon()
            || self.partial_read_ahead_due()
            || self.prepare_due()
    }

    /// Idle time (no speech, no pending transcript, no reply being written) not yet used to
    /// read ahead the next prompt.
    fn prepare_due(&self) -> bool {
        !self.prepared
            && self.finals.is_empty()
            && self.state != State::HearingYou
            && self.reply.as_ref().is_none_or(|r| !r.generating)
    }

    /// The latest partial's words still have prompt to read, and the user is speaking. In a pause
    /// it waits, because the speculative final is due soon with better words.
    fn partial_read_ahead_due(&self) -> bool {
        self.partial_read_ahead.is_some()
            && self.partial_guess_current()
            && self.vad.trailing_silence_ms() == 0
    }

    /// Whether a partial's guess is still worth reading ahead: nothing surer (the end of the
    /// turn, a reply, a speculative final) has come since.
    fn partial_guess_current(&self) -> bool {
        self.state == State::HearingYou
            && self.finals.is_empty()
            && self.reply.is_none()
            && !self.speculated()
    }

    fn partial_due_soon(&self) -> bool {
        self.config.partial_interval_ms > 0
            && self.state == State::HearingYou
            && self.vad.utterance().len() > self.last_partial.map_or(0, |(_, n)| n)
            // In a pause, a partial would only delay the speculative final, which is due soon
            // and gives the same words; after it, the utterance has grown only by silence.
            && !(self.config.speculation_silence_ms().is_some()
                && self.vad.trailing_silence_ms() > 0)
    }

    fn set_state(&mut self, state: State, events: &mut Vec<AssistantEvent>) {
        if self.state != state {
            self.state = state;
            events.push(AssistantEvent::State { state });
        }
    }

    /// Feeds 16 kHz microphone audio; `now_ms` is when its last sample was captured, on the
    /// caller's clock (the latency marks of speech are placed from it).
    pub fn push_audio(&mut self, samples: &[f32], now_ms: f64) -> Vec<AssistantEvent> {
        let mut events = Vec::new();
        if self.config.mode == Mode::PushToTalk && !self.push_to_talk_held {
            return events;
        }
        let vad_events = self.vad.push(samples);
        // The detector's stream times, placed on the caller's clock.
        let stream_end_ms = self.vad.position_ms();
        let at = |stream_ms: u64| now_ms - (stream_end_ms - stream_ms as f64);
        for event in vad_events {
            match event {
                VadEvent::SpeechStart { onset_ms, .. } => {
                    self.on_speech_start(now_ms, Some(at(onset_ms)), &mut events)
                }
                VadEvent::EndOfTurn {
                    utterance,
                    speech_end_ms,
                    at_ms,
                    ..
                } if self.config.mode == Mode::HandsFree => {
                    let text = (self.speculation.take())
                        .and_then(|s| s.final_text(self.turn, speech_end_ms, utterance.len()));
                    self.end_of_turn(utterance, text, at(speech_end_ms), at(at_ms), &mut events);
                }
                VadEvent::EndOfTurn { .. } => {} // push-to-talk: the release ends the turn
                VadEvent::Discarded { .. } => {
                    self.drop_speculation();
                    if self.state == State::HearingYou {
                        let back = if self.audible_reply() {
                            State::Speaking
                        } else {
                            State::Listening
                        };
                        self.set_state(back, &mut events);
                    }
                }
                VadEvent::DigitalSilence { for_ms } => {
                    events.push(AssistantEvent::DigitalSilence { for_ms })
                }
                VadEvent::DigitalSilenceEnded => events.push(AssistantEvent::DigitalSilenceEnded),
            }
        }
        if !self.speculated() {
            // The user spoke again after it (or the utterance is over): its words may be wrong.
            self.drop_speculation();
        }
        events
    }

    /// The user started speaking; `voice_onset` is when the voice began (on the caller's clock),
    /// if known: a barge-in is timed from it.
    fn on_speech_start(
        &mut self,
        now_ms: f64,
        voice_onset: Option<f64>,
        events: &mut Vec<AssistantEvent>,
    ) {
        if self.audible_reply() {
            if !self.config.barge_in {
                return;
            }
            self.interrupt_reply(voice_onset, events);
        }
        self.turn += 1;
        self.drop_speculation();
        self.speculations = 0;
        self.last_partial = Some((now_ms, 0));
        events.push(AssistantEvent::SpeechStart { turn: self.turn });
        self.set_state(State::HearingYou, events);
    }

    fn end_of_turn(
        &mut self,
        utterance: Vec<f32>,
        text: Option<String>,
        speech_end: f64,
        now_ms: f64,
        events: &mut Vec<AssistantEvent>,
    ) {
        let latency = Latency {
            turn: self.turn,
            speech_end: Some(speech_end),
            endpoint: Some(now_ms),
            speculations: self.speculations,
            speculative_final: text.is_some(),
            ..Latency::default()
        };
        self.last_partial = None;
        self.finals.push(PendingFinal {
            turn: self.turn,
            utterance,
            latency,
            text,
        });
        self.set_state(State::Thinking, events);
    }

    /// Push-to-talk: the button (or Space) went down.
    pub fn press_to_talk(&mut self, now_ms: f64) -> Vec<AssistantEvent> {
        let mut events = Vec::new();
        self.push_to_talk_held = true;
        self.vad.reset();
        self.on_speech_start(now_ms, None, &mut events);
        events
    }

    /// Push-to-talk: the button was released; the turn ends now.
    pub fn release_to_talk(&mut self, now_ms: f64) -> Vec<AssistantEvent> {
        let mut events = Vec::new();
        self.push_to_talk_held = false;
        match self.vad.finish() {
            Some(VadEvent::EndOfTurn { utterance, .. }) => {
                self.end_of_turn(utterance, None, now_ms, now_ms, &mut events)
            }
            _ => {
                events.push(AssistantEvent::NothingHeard { turn: self.turn });
                self.set_state(State::Listening, &mut events);
            }
        }
        events
    }

    /// A typed message: a turn without audio.
    pub fn ask(&mut self, text: &str, now_ms: f64) -> Vec<AssistantEvent> {
        let mut events = Vec::new();
        self.drop_speculation();
        self.abandon_reply_ahead();
        if self.audible_reply() {
            self.interrupt_reply(None, &mut events);
        }
        self.turn += 1;
        self.latency = Latency {
            turn: self.turn,
            speech_end: Some(now_ms),
            endpoint: Some(now_ms),
            transcript: Some(now_ms),
            ..Latency::default()
        };
        self.set_state(State::Thinking, &mut events);
        let text = text.trim().to_string();
        events.push(AssistantEvent::Transcript {
            turn: self.turn,
            text: text.clone(),
        });
        self.start_reply(self.turn, text, &mut events);
        events
    }

    /// Cuts the reply in progress (a stop button, or the user talking over it).
    pub fn interrupt(&mut self) -> Vec<AssistantEvent> {
        let mut events = Vec::new();
        self.drop_speculation();
        if self.audible_reply() {
            self.interrupt_reply(None, &mut events);
            self.set_state(State::Listening, &mut events);
        }
        events
    }

    /// Does one unit of work: a final transcript, one reply token (and any speech it completes),
    /// a speculative final transcript with its read-ahead, the start of the reply to it (held
    /// back until the end of the turn), a partial transcript, a slice of the latest partial's
    /// read-ahead, or reading the next prompt ahead; in that order of urgency.
    pub fn step(&mut self, now_ms: f64) -> Vec<AssistantEvent> {
        let mut events = Vec::new();
        if !self.partial_guess_current() {
            self.partial_read_ahead = None;
        }
        if !self.finals.is_empty() {
            let PendingFinal {
                turn,
                utterance,
                latency,
                text,
            } = self.finals.remove(0);
            // A speculative transcript was ready when the endpoint came; otherwise it is ready now.
            let (result, ready_at) = match text {
                Some(text) => (Ok(text), latency.endpoint),
                None => (self.recognizer.transcribe(&utterance, false), None),
            };
            match result {
                Ok(text) if self.reply_ahead_answers(turn, text.trim()) => {
                    self.release_reply_ahead(latency, text.trim().to_string(), &mut events);
                }
                Ok(text) if !text.trim().is_empty() => {
                    // A newer turn replaces an older reply still in progress (it was not heard out).
                    self.abandon_reply_ahead();
                    self.interrupt_reply(None, &mut events);
                    self.latency = Latency {
                        transcript: Some(ready_at.unwrap_or_else(|| self.now(now_ms))),
                        ..latency
                    };
                    events.push(AssistantEvent::Transcript {
                        turn,
                        text: text.trim().to_string(),
                    });
                    self.start_reply(turn, text.trim().to_string(), &mut events);
                }
                Ok(_) => {
                    events.push(AssistantEvent::NothingHeard { turn });
                    self.set_state(State::Listening, &mut events);
                }
                Err(message) => self.fail(Stage::Asr, message, &mut events),
            }
        } else if self.reply.as_ref().is_some_and(|r| r.generating) {
            self.generate_piece(now_ms, &mut events);
        } else if self.speculation_due() {
            self.speculate(now_ms, &mut events);
        } else if self.reply_ahead_due() {
            self.begin_reply_ahead();
        } else if self.partial_due(now_ms) {
            let pcm = self.vad.utterance().to_vec();
            self.last_partial = Some((now_ms, pcm.len()));
            match self.recognizer.transcribe(&pcm, true) {
                Ok(text) if !text.trim().is_empty() => {
                    let text = text.trim().to_string();
                    // With speculation on, the partial's words are read ahead too: the final
                    // transcript mostly extends them, so the prompt's cached prefix grows while
                    // the user speaks and little is left to read at the end of the turn. A
                    // failure only loses the head start (the final path meets real errors).
                    // The read-ahead starts at the next step, so it always yields to what is
                    // more urgent (see `partial_read_ahead_due`).
                    if self.config.speculation_silence_ms().is_some() && self.reply.is_none() {
                        self.partial_read_ahead = Some(text.clone());
                    }
                    events.push(AssistantEvent::Partial {
                        turn: self.turn,
                        text,
                    });
                }
                Ok(_) => {}
                Err(message) => self.fail(Stage::Asr, message, &mut events),
            }
        } else if self.partial_read_ahead_due() {
            let text = self.partial_read_ahead.take().unwrap_or_default();
            if let Ok(true) = self.responder.prepare_partial_turn(&text) {
                self.partial_read_ahead = Some(text);
            }
        } else if self.prepare_due() {
            // Reading ahead is an optimization: a failure is reported, but the state stays (the
            // reply, if any, goes on being spoken; the next turn will meet the error itself).
            match self.responder.prepare() {
                Ok(more) => self.prepared = !more,
                Err(message) => {
                    self.prepared = true;
                    events.push(AssistantEvent::Error(StageError {
                        stage: Stage::Llm,
                        message,
                    }));
                }
            }
        }
        events
    }

    fn partial_due(&self, now_ms: f64) -> bool {
        let min_samples = SAMPLE_RATE as usize / 4; // a quarter second before the first preview
        self.partial_due_soon()
            && self.vad.utterance().len() >= min_samples
            && self
                .last_partial
                .is_none_or(|(at, _)| now_ms - at >= f64::from(self.config.partial_interval_ms))
    }

    /// Forgets the speculative final transcript (the user spoke again, the settings changed), and
    /// the reply generated ahead from it, unless the turn ended with its words (a final
    /// transcript due carries them).
    fn drop_speculation(&mut self) {
        self.speculation = None;
        let wanted = self.finals.iter().any(|f| {
            f.text
                .as_deref()
                .is_some_and(|text| self.reply_ahead_answers(f.turn, text.trim()))
        });
        if !wanted {
            self.abandon_reply_ahead();
        }
    }

    fn fail(&mut self, stage: Stage, message: String, events: &mut Vec<AssistantEvent>) {
        events.push(AssistantEvent::Error(StageError { stage, message }));
        self.set_state(State::Listening, events);
    }
}
