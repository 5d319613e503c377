//! The real stages behind the assistant's traits: Whisper, the chat model and the embedded voice.

use super::{Recognizer, Responder, Voice};
use crate::asr::{DecodeOptions, Transcriber};
use crate::audio::resample;
use crate::llm::{Conversation, GenerateOptions, PromptStats};
use crate::tts::{synthesize, SpeechOptions};

/// Tokens decoded for a partial transcript: a preview needs a few words, not a whole sentence,
/// and must not delay the final transcript behind it.
const PARTIAL_MAX_TOKENS: usize = 24;

/// Prompt ids a partial transcript's read-ahead computes per step: about 170 ms of SmolLM2-360M
/// prefill in single-thread wasm, so a user who stops speaking meanwhile waits at most that long
/// for the speculative final to start.
const PARTIAL_READ_AHEAD_IDS: usize = 8;
/// Ids per slice of the warm-up between turns: after the conversation forgot its oldest
/// exchanges, what stays is read again (hundreds of ids), and microphone frames wait meanwhile.
const WARM_UP_SLICE_IDS: usize = 64;

/// Whisper as the assistant's recognizer; without a model it reports that none is loaded.
#[derive(Default)]
pub struct WhisperRecognizer {
    /// The loaded model, if any.
    pub transcriber: Option<Transcriber>,
    /// Decoding options of final transcripts.
    pub options: DecodeOptions,
}

impl Recognizer for WhisperRecognizer {
    fn transcribe(&mut self, pcm: &[f32], partial: bool) -> Result<String, String> {
        let transcriber = self
            .transcriber
            .as_ref()
            .ok_or("no speech recognition model is loaded")?;
        let mut options = self.options.clone();
        if partial {
            options.max_tokens = options.max_tokens.min(PARTIAL_MAX_TOKENS);
        }
        transcriber
            .transcribe(pcm, &options)
            .map(|t| t.text)
            .map_err(|e| e.to_string())
    }
}

/// The embedded formant voice.
#[derive(Default)]
pub struct EmbeddedVoice {
    /// Sample rate, speaking rate and pitch.
    pub options: SpeechOptions,
    /// The rate of the device that plays the speech, if it differs from the voice's: the speech
    /// is resampled to it, so the player only copies samples. `None` (the CLI, Node) keeps the
    /// voice's own rate.
    pub output_rate: Option<u32>,
}

impl EmbeddedVoice {
    /// `samples` at the voice's rate, resampled to [`EmbeddedVoice::output_rate`].
    pub fn to_output_rate(&self, samples: Vec<f32>) -> Result<Vec<f32>, String> {
        match self.output_rate {
            Some(rate) if rate != self.options.sample_rate => {
                resample(&samples, self.options.sample_rate, rate).map_err(|e| e.to_string())
            }
            _ => Ok(samples),
        }
    }
}

impl Voice for EmbeddedVoice {
    fn synthesize(&mut self, text: &str) -> Result<Vec<f32>, String> {
        let samples = synthesize(text, &self.options).map_err(|e| e.to_string())?;
        self.to_output_rate(samples)
    }

    fn sample_rate(&self) -> u32 {
        self.output_rate.unwrap_or(self.options.sample_rate)
    }
}

/// A chat model's conversation as the assistant's dialog model.
#[derive(Default)]
pub struct ChatResponder {
    /// The conversation (with its model and KV cache), if a model is loaded.
    pub conversation: Option<Conversation>,
    /// Sampling and length of replies.
    pub options: GenerateOptions,
}

impl ChatResponder {
    fn conversation(&mut self) -> Result<&mut Conversation, String> {
        self.conversation
            .as_mut()
            .ok_or_else(|| "no dialog model is loaded".to_string())
    }
}

impl Responder for ChatResponder {
    fn begin(&mut self, user_text: &str) -> Result<(), String> {
        let options = self.options.clone();
        self.conversation()?
            .begin_reply(user_text, options)
            .map_err(|e| e.to_string())
    }

    fn next_piece(&mut self) -> Result<Option<String>, String> {
        self.conversation()?
            .next_piece()
            .transpose()
            .map_err(|e| e.to_string())
    }

    fn interrupt(&mut self, heard: &str) {
        if let Some(conversation) = self.conversation.as_mut() {
            conversation.cancel_reply(Some(heard));
        }
    }

    fn abandon(&mut self) {
        if let Some(conversation) = self.conversation.as_mut() {
            conversation.abandon_reply();
        }
    }

    fn prepare(&mut self) -> Result<bool, String> {
        match self.conversation.as_mut() {
            Some(conversation) => conversation
                .warm_up_part(&self.options, WARM_UP_SLICE_IDS)
                .map(|part| !part.done)
                .map_err(|e| e.to_string()),
            None => Ok(false),
        }
    }

    fn prepare_turn(&mut self, user_text: &str) -> Result<bool, String> {
        match self.conversation.as_mut() {
            Some(conversation) => conversation
                .read_ahead_turn(user_text, &self.options)
                .map(|computed| computed > 0)
                .map_err(|e| e.to_string()),
            None => Ok(false),
        }
    }

    fn prepare_partial_turn(&mut self, partial_text: &str) -> Result<bool, String> {
        match self.conversation.as_mut() {
            Some(conversation) => conversation
                .read_ahead_turn_part(partial_text, &self.options, PARTIAL_READ_AHEAD_IDS)
                .map(|part| !part.done)
                .map_err(|e| e.to_string()),
            None => Ok(false),
        }
    }

    fn prompt_stats(&self) -> Option<PromptStats> {
        self.conversation.as_ref()?.last_prompt_stats()
    }
}
