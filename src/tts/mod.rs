//! Speech synthesis: the embedded voice that needs no download, and the streaming text chunker.
//!
//! The voice is a rule-based pipeline with no model file:
//! [`normalize`] (numbers, dates, symbols → words) → [`lexicon`] / [`lts`] (words → phonemes with
//! stress) → [`prosody`] (durations, pitch, formant tracks) → [`klatt`] (formant synthesizer → PCM).
//! [`chunker`] cuts a streamed reply into speakable pieces tagged with their turn.

pub mod chunker;
pub mod klatt;
pub mod lexicon;
pub mod lts;
pub mod morphology;
pub mod normalize;
pub mod numbers;
pub mod phoneme;
pub mod prosody;
mod segments;

use prosody::{Ending, Phrase, Voicing, Word};

/// Sample rates the voice can produce directly.
pub const SAMPLE_RATES: [u32; 4] = [16_000, 22_050, 24_000, 48_000];

/// Baseline pitch of the voice at `pitch = 1.0`, in Hz.
pub const BASE_PITCH_HZ: f32 = 110.0;

/// Klatt's segment durations describe careful citation speech; conversational replies run this
/// much faster at `rate = 1.0` (about 180 words per minute), which also recognizes better.
const NATURAL_TEMPO: f32 = 1.4;

/// Errors from the speech synthesizer.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TtsError {
    /// The sample rate is not one the voice renders.
    #[error("unsupported sample rate {0} Hz: expected one of 16000, 22050, 24000 or 48000")]
    UnsupportedSampleRate(u32),
    /// The rate factor is outside 0.25..=4.
    #[error("speaking rate {0} is out of range: expected 0.25 to 4 (1 is normal)")]
    InvalidRate(f32),
    /// The pitch factor is outside 0.5..=2.
    #[error("pitch factor {0} is out of range: expected 0.5 to 2 (1 is normal)")]
    InvalidPitch(f32),
}

/// How to speak: output sample rate, speaking rate and pitch.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct SpeechOptions {
    /// Output sample rate in Hz: one of [`SAMPLE_RATES`].
    pub sample_rate: u32,
    /// Speed factor: 1.0 normal, 1.5 half again as fast (0.25..=4).
    pub rate: f32,
    /// Pitch factor relative to [`BASE_PITCH_HZ`] (0.5..=2).
    pub pitch: f32,
}

impl Default for SpeechOptions {
    fn default() -> Self {
        SpeechOptions {
            sample_rate: 24_000,
            rate: 1.0,
            pitch: 1.0,
        }
    }
}

impl SpeechOptions {
    /// Checks every field, naming the one that is out of range.
    pub fn validate(&self) -> Result<(), TtsError> {
        if !SAMPLE_RATES.contains(&self.sample_rate) {
            return Err(TtsError::UnsupportedSampleRate(self.sample_rate));
        }
        if !(0.25..=4.0).contains(&self.rate) {
            return Err(TtsError::InvalidRate(self.rate));
        }
        if !(0.5..=2.0).contains(&self.pitch) {
            return Err(TtsError::InvalidPitch(self.pitch));
        }
        Ok(())
    }
}

/// The voice's sample rate for a device that plays at `device_rate` Hz: the first of
/// [`SAMPLE_RATES`] (from the highest) that divides it, so that playback's interpolation lands
/// on whole input samples at regular steps, or needs none (48 kHz and 96 kHz devices get 48 kHz,
/// 44.1 kHz gets 22.05 kHz); 24 kHz for any other rate.
pub fn rate_for_device(device_rate: u32) -> u32 {
    let mut rates = SAMPLE_RATES;
    rates.sort_unstable_by(|a, b| b.cmp(a));
    rates
        .into_iter()
        .find(|&rate| device_rate > 0 && device_rate % rate == 0)
        .unwrap_or(24_000)
}

/// Builds the voice's lexicon and letter-to-sound tables, which are otherwise built on the first
/// sentence spoken: an engine calls it while its models load, so the first reply does not pay
/// for it (turn 1 of the real-model latency benchmark took 326 ms from first token to first
/// chunk, later turns about 150).
pub fn warm_up() {
    lexicon::warm_up();
    lts::warm_up();
}

/// Synthesizes `text` (any English text: it is normalized first) to mono f32 PCM in -1..=1.
pub fn synthesize(text: &str, options: &SpeechOptions) -> Result<Vec<f32>, TtsError> {
    options.validate()?;
    let voice = Voicing {
        rate: options.rate * NATURAL_TEMPO,
        base_f0: BASE_PITCH_HZ * options.pitch,
    };
    let mut synth = klatt::Synthesizer::new(options.sample_rate);
    let mut pcm = Vec::new();
    let lead_in = [klatt::Frame::silence(voice.base_f0); 10];
    synth.render(&lead_in, &mut pcm);
    for phrase in text_to_phrases(text) {
        synth.render(&prosody::phrase_frames(&phrase, voice), &mut pcm);
    }
    for s in &mut pcm {
        *s = s.clamp(-1.0, 1.0);
    }
    Ok(pcm)
}

/// The phonemes the voice would speak for `text`, as ARPAbet words separated by spaces and
/// phrases separated by ` | ` (for inspection and debugging).
pub fn transcribe(text: &str) -> String {
    let phrases: Vec<String> = text_to_phrases(text)
        .iter()
        .map(|phrase| {
            let words: Vec<String> = phrase
                .words
                .iter()
                .map(|w| phoneme::to_arpabet(&w.phones).replace(' ', "-"))
                .collect();
            words.join(" ")
        })
        .collect();
    phrases.join(" | ")
}

/// Normalizes text and splits it into phrases of pronounced words.
pub fn text_to_phrases(text: &str) -> Vec<Phrase> {
    let spoken = normalize::normalize(text);
    let mut phrases = Vec::new();
    let mut words = Vec::new();
    let mut current = String::new();
    let flush_word = |current: &mut String, words: &mut Vec<Word>| {
        if !current.is_empty() {
            let plain = lexicon::plain_letters(current.trim_matches('\''));
            let written = plain.as_str();
            let word = written.to_lowercase();
            if let Some(letters) = lexicon::spelled_out(written) {
                words.extend(letters.into_iter().map(|phones| Word {
                    phones,
                    accented: true,
                }));
            } else if !word.is_empty() {
                let accented = !lexicon::is_function_word(&word);
                let mut phones = lexicon::pronounce(&word);
                if !accented {
                    // Function words are spoken reduced: no lexical stress, no pitch accent.
                    phones.iter_mut().for_each(|p| p.stress = 0);
                }
                words.push(Word { phones, accented });
            }
            current.clear();
        }
    };
    for c in spoken.chars() {
        let ending = match c {
            ',' | ';' | ':' | '—' | '–' => Some(Ending::Comma),
            '.' | '!' => Some(Ending::Period),
            '?' => Some(Ending::Question),
            _ => None,
        };
        if c.is_alphabetic() || c == '\'' {
            current.push(c);
            continue;
        }
        flush_word(&mut current, &mut words);
        if let Some(ending) = ending {
            if !words.is_empty() {
                phrases.push(Phrase {
                    words: std::mem::take(&mut words),
                    ending,
                });
            }
        }
    }
    flush_word(&mut current, &mut words);
    if !words.is_empty() {
        phrases.push(Phrase {
            words,
            ending: Ending::Period,
        });
    }
    phrases
}
