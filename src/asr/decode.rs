//! Whisper's greedy decoding rules, applied to one step's logits.
//!
//! Reference: openai-whisper `whisper/decoding.py` (`SuppressBlank`, `SuppressTokens`,
//! `ApplyTimestampRules`, `DecodingTask._detect_language`, no-speech probability).

use serde::Serialize;

use super::SpecialTokens;

/// How to transcribe.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct DecodeOptions {
    /// Language code (`en`, `fr`, ...); `None` detects it on multilingual models. English-only
    /// models accept only `en` (or `None`).
    pub language: Option<String>,
    /// Translate to English instead of transcribing.
    pub translate: bool,
    /// Generate timestamp tokens (with Whisper's timestamp rules) instead of `<|notimestamps|>`.
    pub timestamps: bool,
    /// Tokens generated per 30 s window at most.
    pub max_tokens: usize,
    /// Run the encoder on the whole 30 s window instead of the utterance plus a margin.
    pub full_window: bool,
    /// Encoder positions (20 ms each) kept after the last audio frame when not `full_window`.
    pub audio_ctx_margin: usize,
    /// Skip a window whose no-speech probability is above this (1.0 disables the gate).
    pub no_speech_threshold: f32,
    /// Refuse audio longer than this many seconds.
    pub max_seconds: f64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            language: None,
            translate: false,
            timestamps: false,
            max_tokens: 224,
            full_window: false,
            audio_ctx_margin: super::AUDIO_CTX_MARGIN,
            no_speech_threshold: 0.6,
            max_seconds: crate::audio::DEFAULT_MAX_SECONDS,
        }
    }
}

/// Why the decoding of a window stopped, from the expected to the guarded; a transcript reports
/// the last of these over its windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model ended the text.
    #[default]
    EndOfText,
    /// The no-speech gate left the window without text.
    NoSpeech,
    /// The token budget ran out: [`DecodeOptions::max_tokens`], or what the window's duration can
    /// hold ([`token_budget`]).
    TokenLimit,
    /// The text had begun to repeat itself; the repeats were cut ([`repetition_cut`]).
    Repetition,
}

/// Tokens at most per second of audio: about twice what fast speech of digits and short words
/// needs (Whisper's own 224 tokens per 30 s window is 7.5 per second).
const MAX_TOKENS_PER_SECOND: f64 = 15.0;
/// Tokens a window may hold however short it is (a word and its punctuation, with room).
const MIN_TOKEN_BUDGET: usize = 8;

/// Tokens `seconds` of audio can hold: a transcript must never run past what was said, however
/// the model loops.
pub fn token_budget(seconds: f64) -> usize {
    MIN_TOKEN_BUDGET + (seconds.max(0.0) * MAX_TOKENS_PER_SECOND).ceil() as usize
}

/// Tokens a loop must span, and copies it must have, before it counts as one: "no, no, no" and
/// a sentence said twice are speech; a phrase three times over twelve tokens or more is the
/// decoder repeating itself (openai-whisper catches the same runaways by their gzip compression
/// ratio, which needs longer texts than an assistant's utterances).
const MIN_LOOP_TOKENS: usize = 12;
const MIN_LOOP_COPIES: usize = 3;

/// When `tokens` end in a loop (the same block of tokens repeated back to back, at least
/// [`MIN_LOOP_COPIES`] times over at least [`MIN_LOOP_TOKENS`] tokens), the length that keeps
/// its first copy; `None` otherwise.
pub fn repetition_cut(tokens: &[u32]) -> Option<usize> {
    let n = tokens.len();
    (1..=n / MIN_LOOP_COPIES).find_map(|period| {
        let copies = MIN_LOOP_COPIES.max(MIN_LOOP_TOKENS.div_ceil(period));
        let span = copies * period;
        let start = n.checked_sub(span)?;
        let looping = (start..n - period).all(|i| tokens[i] == tokens[i + period]);
        looping.then_some(start + period)
    })
}

/// Milliseconds per stage of one transcription.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TranscriptTimings {
    /// Log-mel front end.
    pub mel: f64,
    /// Encoder.
    pub encoder: f64,
    /// Decoder, prompt included.
    pub decoder: f64,
    /// Decoder time per generated token.
    pub per_token: f64,
}

/// The result of a transcription.
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    /// The text, special tokens removed.
    pub text: String,
    /// Generated ids after each window's prompt, special tokens included as generated.
    pub tokens: Vec<u32>,
    /// Language code used: given or detected on multilingual models, `en` on English-only ones.
    pub language: Option<String>,
    /// Probability of `<|nospeech|>` at the first window's start-of-transcript position.
    pub no_speech_prob: f32,
    /// Why decoding stopped (the last reason in [`StopReason`]'s order over the windows).
    pub stop: StopReason,
    /// Stage timings.
    pub timings_ms: TranscriptTimings,
}

/// Everything the per-step rules need to know.
pub(crate) struct Rules<'a> {
    pub special: &'a SpecialTokens,
    pub suppress: Vec<u32>,
    pub begin_suppress: Vec<u32>,
    pub timestamps: bool,
}

impl Rules<'_> {
    /// Masks `logits` for the next token after `sampled` (tokens generated after the prompt).
    pub fn apply(&self, logits: &mut [f32], sampled: &[u32]) {
        let vocab = logits.len();
        let mut forbid = |range: std::ops::Range<usize>| {
            for l in &mut logits[range.start.min(vocab)..range.end.min(vocab)] {
                *l = f32::NEG_INFINITY;
            }
        };
        // SuppressBlank: no leading space or end-of-text as the very first token.
        if sampled.is_empty() {
            for &t in &self.begin_suppress {
                forbid(t as usize..t as usize + 1);
            }
        }
        // SuppressTokens.
        for &t in &self.suppress {
            forbid(t as usize..t as usize + 1);
        }
        if self.timestamps {
            self.timestamp_rules(logits, sampled);
        } else {
            // Without timestamps every timestamp token is out of place.
            let begin = self.special.timestamp_begin as usize;
            for l in &mut logits[begin.min(vocab)..] {
                *l = f32::NEG_INFINITY;
            }
        }
    }

    // ApplyTimestampRules: https://github.com/openai/whisper/blob/main/whisper/decoding.py#L441
    fn timestamp_rules(&self, logits: &mut [f32], sampled: &[u32]) {
        let vocab = logits.len();
        let begin = (self.special.timestamp_begin as usize).min(vocab);
        let eot = self.special.eot as usize;
        logits[self.special.no_timestamps as usize] = f32::NEG_INFINITY;
        let is_ts = |t: u32| t >= self.special.timestamp_begin;
        let last_ts = sampled.last().is_some_and(|&t| is_ts(t));
        let penultimate_ts = sampled.len() < 2 || is_ts(sampled[sampled.len() - 2]);
        if last_ts {
            if penultimate_ts {
                logits[begin..].fill(f32::NEG_INFINITY);
            } else {
                logits[..eot].fill(f32::NEG_INFINITY);
            }
        }
        if let Some(&last) = sampled.iter().rev().find(|&&t| is_ts(t)) {
            let upto = if last_ts && !penultimate_ts {
                last
            } else {
                last + 1
            } as usize;
            logits[begin..upto.min(vocab)].fill(f32::NEG_INFINITY);
        }
        if sampled.is_empty() {
            // Start with a timestamp, at most 1 s in (max_initial_timestamp = 1.0, 20 ms steps).
            logits[..begin].fill(f32::NEG_INFINITY);
            logits[(begin + 51).min(vocab)..].fill(f32::NEG_INFINITY);
        }
        // If timestamps are jointly more likely than any text token, force a timestamp.
        let logprobs = log_softmax(logits);
        let ts_mass = log_sum_exp(&logprobs[begin..]);
        let best_text = logprobs[..begin]
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        if ts_mass > best_text {
            logits[..begin].fill(f32::NEG_INFINITY);
        }
    }
}

/// Index of the largest value (first on ties, as torch's argmax).
pub(crate) fn argmax(values: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best as u32
}

pub(crate) fn log_sum_exp(values: &[f32]) -> f32 {
    // A compare rather than `f32::max`, which wasm builds call into libm for (see
    // `QuantizedActivations::q8_0`); the same result for any input, NaNs skipped alike.
    let max = values
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    if max == f32::NEG_INFINITY {
        return max;
    }
    max + values.iter().map(|v| (v - max).exp()).sum::<f32>().ln()
}

pub(crate) fn log_softmax(values: &[f32]) -> Vec<f32> {
    let lse = log_sum_exp(values);
    values.iter().map(|v| v - lse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_repeated_three_times_is_cut_to_one() {
        let sentence = [10, 11, 12, 13, 14, 15, 16];
        let mut tokens = vec![1, 2];
        for _ in 0..3 {
            tokens.extend(sentence);
        }
        assert_eq!(repetition_cut(&tokens), Some(2 + sentence.len()));
        // Said twice is speech; so is a word thrice ("no, no, no").
        assert_eq!(repetition_cut(&tokens[..2 + 2 * sentence.len()]), None);
        assert_eq!(repetition_cut(&[5, 7, 7, 7]), None);
        // One token over and over is a loop once it spans twelve.
        assert_eq!(repetition_cut(&[7; 11]), None);
        assert_eq!(repetition_cut(&[7; 12]), Some(1));
    }

    #[test]
    fn the_token_budget_grows_with_the_audio() {
        assert_eq!(token_budget(0.0), MIN_TOKEN_BUDGET);
        assert_eq!(token_budget(2.0), MIN_TOKEN_BUDGET + 30);
        assert!(token_budget(30.0) > 224);
    }
}
