//! The speculative final transcript: made during the endpoint silence, used at the end of the turn
//! if the user said nothing more.
//!
//! Waiting for the whole `endpoint_ms` of silence before transcribing and reading the prompt puts
//! both on the critical path between the end of speech and the first reply audio. Most of that
//! silence is idle, so once part of it has passed (`speculate_ms`) the machine transcribes the
//! utterance so far and has the responder read the reply's prompt ahead. The utterance then grows
//! only by silence, so if no voiced frame comes before the endpoint, that transcript is the final
//! one; if the user speaks again, it is dropped and the normal path (or a new speculation at the
//! next pause) applies.

use super::{Assistant, AssistantEvent, Mode, Recognizer, Responder, State, Voice};

/// A speculative final transcript of the current utterance.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Speculation {
    /// The turn it belongs to.
    pub turn: u64,
    /// The endpointer's `speech_end_ms` when it was made: it stays valid while that holds.
    pub speech_end_ms: u64,
    /// Utterance samples it transcribed.
    pub covered: usize,
    /// The transcript, or `None` if the recognizer failed (the final transcription then runs
    /// as usual and meets the error itself).
    pub text: Option<String>,
}

impl Speculation {
    /// Its words, if it heard any.
    pub fn words(&self) -> Option<String> {
        self.text.clone().filter(|t| !t.trim().is_empty())
    }

    /// Whether it heard any words.
    pub fn has_words(&self) -> bool {
        self.text.as_deref().is_some_and(|t| !t.trim().is_empty())
    }

    /// Whether it still stands for `turn`'s utterance whose last voiced frame ended at
    /// `speech_end_ms` (`None`: no utterance in progress).
    pub fn holds(&self, turn: u64, speech_end_ms: Option<u64>) -> bool {
        self.turn == turn && speech_end_ms == Some(self.speech_end_ms)
    }

    /// The final transcript of the turn that just ended (its `speech_end_ms` and utterance length
    /// from the end of turn), if this speculation covers it: the same turn, no voiced frame since,
    /// and an utterance that only grew.
    pub fn final_text(self, turn: u64, speech_end_ms: u64, samples: usize) -> Option<String> {
        if self.holds(turn, Some(speech_end_ms)) && samples >= self.covered {
            self.text
        } else {
            None
        }
    }
}

impl<R: Recognizer, L: Responder, V: Voice> Assistant<R, L, V> {
    /// Hands-free, the user has been silent for the speculation silence after enough speech to
    /// make a turn, nothing else is in progress, and no speculation covers the utterance yet.
    pub(super) fn speculation_due(&self) -> bool {
        self.config
            .speculation_silence_ms()
            .is_some_and(|ms| self.vad.trailing_silence_ms() >= ms)
            && self.config.mode == Mode::HandsFree
            && self.state == State::HearingYou
            && self.finals.is_empty()
            && self.reply.is_none()
            && self.vad.voiced_ms() >= self.config.vad.min_speech_ms
            && !self.speculated()
    }

    /// Whether a speculation covers the utterance in progress (it has grown only by silence).
    pub(super) fn speculated(&self) -> bool {
        self.speculation
            .as_ref()
            .is_some_and(|s| s.holds(self.turn, self.vad.speech_end_ms()))
    }

    /// Transcribes the utterance so far as its final transcript (the user is silent, the turn
    /// may be over) and has the responder read the reply's prompt ahead. Failures are silent: a
    /// failed speculation is only a missed shortcut, and the normal final path meets the error.
    pub(super) fn speculate(&mut self, now_ms: f64, events: &mut Vec<AssistantEvent>) {
        self.speculations += 1;
        let pcm = self.vad.utterance();
        let covered = pcm.len();
        let text = (self.recognizer.transcribe(pcm, false).ok()).map(|t| t.trim().to_string());
        if let Some(text) = text.as_deref().filter(|t| !t.is_empty()) {
            // The live line shows the words now rather than at the end of the turn.
            events.push(AssistantEvent::Partial {
                turn: self.turn,
                text: text.to_string(),
            });
            let _ = self.responder.prepare_turn(text);
        }
        // It counts as the latest partial: no preview of the same words again.
        self.last_partial = Some((now_ms, covered));
        self.speculation = self.vad.speech_end_ms().map(|speech_end_ms| Speculation {
            turn: self.turn,
            speech_end_ms,
            covered,
            text,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_speculation_holds_only_for_its_turn_while_the_speech_has_not_resumed() {
        let speculation = Speculation {
            turn: 3,
            speech_end_ms: 1200,
            covered: 24_000,
            text: Some("hello".into()),
        };
        assert!(speculation.holds(3, Some(1200)));
        assert!(!speculation.holds(3, Some(1400)), "the user spoke again");
        assert!(!speculation.holds(4, Some(1200)));
        assert!(!speculation.holds(3, None));
        assert_eq!(
            speculation.clone().final_text(3, 1200, 30_000).as_deref(),
            Some("hello")
        );
        assert_eq!(speculation.clone().final_text(3, 1300, 30_000), None);
        assert_eq!(speculation.clone().final_text(3, 1200, 20_000), None);
        let failed = Speculation {
            text: None,
            ..speculation
        };
        assert_eq!(failed.final_text(3, 1200, 30_000), None);
    }
}
