//! The turn-taking state machine that wires VAD, ASR, the dialog model and the voice together.
//!
//! It is sans-IO: the caller pushes microphone audio and playback reports in, calls
//! [`Assistant::step`] whenever it has time (one unit of work per call: a transcription, one reply
//! token, one chunk of speech), and acts on the [`AssistantEvent`]s that come out. The browser's
//! engine worker drives it between audio messages, so a user who talks over the reply is heard
//! between two tokens; the native `sotto converse` drives it from a WAV file. The stages are traits,
//! so the machine is tested with scripted stages and runs with the real Whisper, chat model and voice.

mod clock;
mod machine;
mod reply_policy;
mod stages;
#[cfg(test)]
mod tests;

pub use clock::AudioClock;
pub use machine::Assistant;
pub use reply_policy::{spoken_sentences, ReplyPolicy};
pub use stages::{ChatResponder, EmbeddedVoice, WhisperRecognizer};

use crate::llm::PromptStats;
use crate::vad::{VadConfig, FRAME, SAMPLE_RATE};

/// Which pipeline stage failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Speech recognition.
    Asr,
    /// The dialog model.
    Llm,
    /// Speech synthesis.
    Tts,
}

/// A stage's failure, reported as an event; the conversation goes on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StageError {
    /// The stage that failed.
    pub stage: Stage,
    /// What went wrong, for the user.
    pub message: String,
}

/// Speech recognition, as the assistant uses it.
pub trait Recognizer {
    /// Transcribes a whole utterance (16 kHz mono). `partial` marks a preview of an utterance that
    /// is still growing (a recognizer may decode fewer tokens for it).
    fn transcribe(&mut self, pcm: &[f32], partial: bool) -> Result<String, String>;
}

/// The dialog model, one reply at a time; it keeps the conversation itself.
pub trait Responder {
    /// Starts the reply to the user's words.
    fn begin(&mut self, user_text: &str) -> Result<(), String>;
    /// The next piece of the reply's text, or `None` when the reply is complete.
    fn next_piece(&mut self) -> Result<Option<String>, String>;
    /// Stops the reply in progress; the conversation keeps `heard`, the reply's text as far as
    /// the user heard it (a prefix of the pieces it produced), as the assistant's turn.
    fn interrupt(&mut self, heard: &str);
    /// Forgets the reply in progress as if it had never begun: the conversation keeps neither
    /// the user's words nor the reply. The assistant begins replies ahead of the end of the turn,
    /// to a speculative transcript, and abandons them when the user goes on speaking.
    fn abandon(&mut self);
    /// Reads ahead, while the user has not spoken yet, what the next reply's prompt starts with
    /// (a chat model prefills its system prompt and the conversation so far), so that the reply
    /// starts sooner. It may read only a slice and return `true`: the assistant calls it again
    /// at its next free step while the user stays silent. By default it does nothing.
    fn prepare(&mut self) -> Result<bool, String> {
        Ok(false)
    }
    /// Reads ahead the prompt of a reply to `user_text` (a chat model prefills the user's turn
    /// and the opening of its own) without starting the reply: the words are a speculative final
    /// transcript, made while the endpointer still waits for the end of the turn, so that a
    /// [`Responder::begin`] with the same words has (almost) nothing left to read. The
    /// conversation must not change; a later `begin` with other words must still be right.
    /// Returns whether it did any work.
    fn prepare_turn(&mut self, user_text: &str) -> Result<bool, String> {
        let _ = user_text;
        Ok(false)
    }
    /// [`Responder::prepare_turn`] for the words of a partial transcript, while the user is still
    /// speaking: the final words mostly extend them, so the prompt's cached prefix grows during
    /// the utterance. It may read only a slice and return `true`: the assistant then calls it
    /// again with the same words at its next free step, unless something more urgent (the end
    /// of the turn, a speculative final, a newer partial) comes first, because this guess is
    /// the least sure of all. By default it reads everything at once and returns `false`.
    fn prepare_partial_turn(&mut self, partial_text: &str) -> Result<bool, String> {
        self.prepare_turn(partial_text).map(|_| false)
    }
    /// How the prompt of the reply begun last was read (cache, read-ahead, cost), if known.
    fn prompt_stats(&self) -> Option<PromptStats> {
        None
    }
}

/// The voice.
pub trait Voice {
    /// Speaks `text` (already cleaned for speech) as mono PCM at [`Voice::sample_rate`].
    fn synthesize(&mut self, text: &str) -> Result<Vec<f32>, String>;
    /// The PCM sample rate.
    fn sample_rate(&self) -> u32;
}

/// How the user takes turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The detector decides when a turn starts and ends.
    HandsFree,
    /// A turn lasts while the button (or Space) is held.
    PushToTalk,
}

/// Settings of the conversation loop.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct AssistantConfig {
    /// Voice activity detection and endpointing.
    pub vad: VadConfig,
    /// Turn taking.
    pub mode: Mode,
    /// Re-transcribe a growing utterance at most this often, for the live partial line.
    pub partial_interval_ms: u32,
    /// Whether the user's speech during a reply interrupts it.
    pub barge_in: bool,
    /// Hands-free: after this much silence following the user's last voiced frame, transcribe
    /// the utterance and read the reply's prompt ahead while the endpointer still waits for the
    /// rest of `vad.endpoint_ms`; if the user stays silent until the end of the turn, that
    /// transcript is the final one, and the reply starts at once. 0 disables it; it is clamped
    /// below the endpoint silence (see [`AssistantConfig::speculation_silence_ms`]). Lower
    /// values start the work sooner but waste it more often on pauses within a sentence. When
    /// it is on, each partial transcript's words are read ahead as well.
    pub speculate_ms: u32,
    /// How much of a reply the voice speaks (spoken replies stay short).
    pub reply: ReplyPolicy,
    /// With speculation on, also generate the reply to the speculative final transcript (its
    /// tokens and speech, held back) while the endpointer waits: when the turn ends with those
    /// words, the reply goes out at once; when the user speaks again, it is forgotten.
    pub reply_ahead: bool,
    /// Replies are spoken by the page's system voice (`speechSynthesis`), not the embedded one:
    /// reply chunks go out as text ([`AssistantEvent::Chunk`]) and nothing is synthesized,
    /// except a chunk the system voice hands back ([`Assistant::speak_chunk`]). What was heard
    /// is then counted in chunks the system voice started ([`Assistant::system_voice_progress`]).
    pub system_voice: bool,
}

impl Default for AssistantConfig {
    fn default() -> Self {
        Self {
            vad: VadConfig::default(),
            mode: Mode::HandsFree,
            partial_interval_ms: 500,
            barge_in: true,
            speculate_ms: 160,
            reply: ReplyPolicy::default(),
            reply_ahead: true,
            system_voice: false,
        }
    }
}

impl AssistantConfig {
    /// The trailing silence (ms) at which a speculative final transcript is made: `speculate_ms`
    /// clamped a frame below `vad.endpoint_ms`, so it comes before the end of the turn; `None`
    /// when speculation is off (or the endpoint silence is a single frame).
    pub fn speculation_silence_ms(&self) -> Option<u32> {
        let frame_ms = (FRAME as u32) * 1000 / SAMPLE_RATE;
        let ms = self
            .speculate_ms
            .min(self.vad.endpoint_ms.saturating_sub(frame_ms));
        (ms > 0).then_some(ms)
    }
}

/// What the assistant is doing, for the state indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Waiting for the user.
    Listening,
    /// The user is speaking.
    HearingYou,
    /// Transcribing or reading the user's words before the first reply audio.
    Thinking,
    /// The reply is being spoken.
    Speaking,
}

/// One turn's latency record: when the turn passed each point, in milliseconds on the caller's
/// clock. That is the clock of the capture times given to [`Assistant::push_audio`] (the
/// microphone's), onto which the caller maps the playback's render times, so every mark is
/// where the user speaks or hears. A mark that belongs to the turn only once it is known to be
/// over (a speculative transcript, a token generated during the endpoint silence) is never
/// before [`Latency::endpoint`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// The turn.
    pub turn: u64,
    /// The user stopped speaking: the end of the utterance's last voiced frame.
    pub speech_end: Option<f64>,
    /// The turn was over: the end of the frame that completed the endpoint silence (or the
    /// push-to-talk release; for typed text, when it was sent).
    pub endpoint: Option<f64>,
    /// The final transcript was ready.
    pub transcript: Option<f64>,
    /// The first reply token was ready.
    pub first_token: Option<f64>,
    /// The first chunk of speech was synthesized and handed to playback.
    pub first_chunk: Option<f64>,
    /// The reply started sounding: the playback rendered the first sample of the first chunk
    /// that is not silence.
    pub first_audio: Option<f64>,
    /// Barge-in: the onset of the user's voice that interrupted this turn's reply (the first of
    /// the voiced frames that started it).
    pub interrupt_onset: Option<f64>,
    /// Barge-in: the playback rendered the reply's last sample.
    pub playback_stop: Option<f64>,
    /// Speculative final transcripts made during the utterance's pauses.
    pub speculations: u32,
    /// Whether the final transcript was a speculative one (made before the end of the turn).
    pub speculative_final: bool,
    /// Reply tokens generated ahead of the end of the turn, from the speculative transcript.
    pub tokens_ahead: u32,
    /// How the reply's prompt was read.
    pub prompt: Option<PromptStats>,
}

impl Latency {
    /// Milliseconds from the end of speech to `mark` (`None` if either is missing).
    pub fn after_speech_end(&self, mark: Option<f64>) -> Option<f64> {
        Some(mark? - self.speech_end?)
    }

    /// Barge-in latency: from the onset of the interrupting voice to the reply's last rendered
    /// sample, in ms.
    pub fn barge_in_ms(&self) -> Option<f64> {
        Some(self.playback_stop? - self.interrupt_onset?)
    }
}

/// What the caller must show, play or stop.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum AssistantEvent {
    /// The state indicator changes.
    State {
        /// The new state.
        state: State,
    },
    /// The user started speaking.
    SpeechStart {
        /// The turn the speech belongs to.
        turn: u64,
    },
    /// A preview of the words so far.
    Partial {
        /// The turn.
        turn: u64,
        /// The words recognized so far.
        text: String,
    },
    /// The user's final words (or typed text).
    Transcript {
        /// The turn.
        turn: u64,
        /// The words.
        text: String,
    },
    /// A turn's speech held no words (noise, a cough): nothing is answered.
    NothingHeard {
        /// The turn.
        turn: u64,
    },
    /// The next piece of the reply's text, to append to the transcript as it streams.
    Token {
        /// The turn.
        turn: u64,
        /// The piece.
        text: String,
    },
    /// Audio to queue for playback.
    Audio {
        /// The turn (playback drops a turn's queued audio on interruption).
        turn: u64,
        /// The chunk's index in the turn.
        index: u32,
        /// What the chunk says.
        text: String,
        /// Mono PCM.
        samples: Vec<f32>,
        /// Its sample rate.
        sample_rate: u32,
    },
    /// A chunk of the reply for the page's system voice to speak ([`AssistantConfig::system_voice`]):
    /// its text only, nothing was synthesized. If the system voice cannot speak it,
    /// [`Assistant::speak_chunk`] synthesizes it with the embedded voice.
    Chunk {
        /// The turn.
        turn: u64,
        /// The chunk's index in the turn.
        index: u32,
        /// What the chunk says.
        text: String,
    },
    /// The reply is complete (generation finished; audio may still be playing).
    Reply {
        /// The turn.
        turn: u64,
        /// The whole reply as generated.
        text: String,
    },
    /// The reply was cut: stop playback of this turn now.
    Interrupted {
        /// The turn that was cut.
        turn: u64,
        /// What had been spoken, which the conversation keeps.
        spoken: String,
    },
    /// A turn's latency record: sent when its reply starts sounding, and again, completed,
    /// when a barge-in has stopped its playback (consumers keep the latest per turn).
    Latency(Latency),
    /// The microphone has delivered only zeros for a few seconds while nothing was heard or
    /// played: a muted or broken device.
    DigitalSilence {
        /// For how long, in ms.
        for_ms: u64,
    },
    /// The microphone delivers sound again: a [`AssistantEvent::DigitalSilence`] no longer holds.
    DigitalSilenceEnded,
    /// A stage failed; the assistant listens again.
    Error(StageError),
}
