//! What playback reports back: progress, level, and the render times that place the first audio
//! and a barge-in's stop on the caller's clock.

use super::{Assistant, AssistantEvent, Recognizer, Responder, State, Voice};

/// Samples quieter than this (about -60 dBFS) are the silence a chunk may start with.
const SILENCE: f32 = 1e-3;

/// How long `samples` (at `sample_rate`) stay silent before the first sound, in ms.
pub(in crate::assistant) fn leading_silence_ms(samples: &[f32], sample_rate: u32) -> f64 {
    let silent = samples
        .iter()
        .position(|s| s.abs() >= SILENCE)
        .unwrap_or(samples.len());
    silent as f64 * 1000.0 / f64::from(sample_rate.max(1))
}

impl<R: Recognizer, L: Responder, V: Voice> Assistant<R, L, V> {
    /// Playback reports how many samples of `turn` it has rendered so far.
    pub fn playback_progress(
        &mut self,
        turn: u64,
        rendered: usize,
        now_ms: f64,
    ) -> Vec<AssistantEvent> {
        let mut events = Vec::new();
        if let Some(reply) = self.reply.as_mut().filter(|r| r.turn == turn) {
            reply.played = reply.played.max(rendered);
        }
        self.end_reply_if_spoken(turn, &mut events);
        let _ = now_ms;
        events
    }

    /// The page's system voice started (`ended`: finished) speaking chunk `index` of `turn`
    /// ([`AssistantConfig::system_voice`](crate::assistant::AssistantConfig::system_voice)). A
    /// chunk counts as heard once it started, as with the embedded voice; the reply is over
    /// when every chunk has been spoken to its end.
    pub fn system_voice_progress(
        &mut self,
        turn: u64,
        index: u32,
        ended: bool,
    ) -> Vec<AssistantEvent> {
        let mut events = Vec::new();
        if let Some(reply) = self.reply.as_mut().filter(|r| r.turn == turn) {
            reply.system_spoke(index, ended);
        }
        self.end_reply_if_spoken(turn, &mut events);
        events
    }

    /// `turn`'s reply has been generated and spoken to its end: the assistant listens again.
    fn end_reply_if_spoken(&mut self, turn: u64, events: &mut Vec<AssistantEvent>) {
        if self
            .reply
            .as_ref()
            .is_some_and(|r| r.turn == turn && r.done())
        {
            self.reply = None;
            self.set_state(State::Listening, events);
        }
    }

    /// Playback reports the level it plays (RMS; 0 when silent), for the echo-aware threshold.
    pub fn playback_level(&mut self, rms: f32) {
        self.vad.set_playback_level(rms);
    }

    /// Playback rendered the first sample of `turn`'s reply at `at_ms` (its render time on the
    /// caller's clock). The turn's reply sounds from its first sample that is not silence: the
    /// latency record, now complete up to the first audio, is sent.
    pub fn playback_started(&mut self, turn: u64, at_ms: f64) -> Vec<AssistantEvent> {
        let offset = self
            .reply
            .as_ref()
            .filter(|r| r.turn == turn)
            .and_then(|r| r.first_sound_ms);
        match offset {
            Some(offset) if self.latency.turn == turn && self.latency.first_audio.is_none() => {
                self.latency.first_audio = Some(at_ms + offset);
                vec![AssistantEvent::Latency(self.latency.clone())]
            }
            _ => Vec::new(),
        }
    }

    /// Playback of `turn` ended (it played out, or was cut) after `rendered` samples, the last of
    /// them rendered just before `at_ms`. For a reply cut by the user's voice, this completes the
    /// barge-in marks: the record is sent again.
    pub fn playback_stopped(
        &mut self,
        turn: u64,
        rendered: usize,
        at_ms: f64,
    ) -> Vec<AssistantEvent> {
        let mut events = self.playback_progress(turn, rendered, at_ms);
        if let Some(mut record) = self.barge_in.take_if(|r| r.turn == turn) {
            record.playback_stop = Some(at_ms);
            events.push(AssistantEvent::Latency(record));
        }
        events
    }
}
