//! Prosody and segment timing: turns phrases of phones into synthesizer [`Frame`]s.
//!
//! Durations follow a simplified form of Klatt's (1979) rules (stress, phrase-final lengthening,
//! clusters); [`segments`](super::segments) turns the timed phones into formant tracks. Pitch is a declining line with accents on stressed syllables of content words, a final fall
//! for statements, a rise for questions and a slight continuation rise at commas.

use super::klatt::Frame;
use super::phoneme::{spec, Phone};
use super::segments::{self, ms_to_frames, Segment, TimedPhone};

/// How a phrase ends, which sets its final pitch movement and the pause after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Comma, semicolon, colon or dash: continuation rise, short pause.
    Comma,
    /// Full stop or exclamation: final fall, long pause.
    Period,
    /// Question mark: final rise, long pause.
    Question,
}

/// A word: its phones and whether it is a content word that carries a pitch accent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// Phones with lexical stress.
    pub phones: Vec<Phone>,
    /// Content words get a pitch accent on their primary-stressed vowel; function words do not.
    pub accented: bool,
}

/// A run of words spoken under one intonation contour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phrase {
    /// The words, in order.
    pub words: Vec<Word>,
    /// How the phrase ends.
    pub ending: Ending,
}

/// Speaking rate and pitch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Voicing {
    /// Speed factor: 1.0 is normal, 2.0 twice as fast.
    pub rate: f32,
    /// Baseline pitch in Hz (an adult male voice is around 110).
    pub base_f0: f32,
}

/// Pause after a phrase, in milliseconds at normal rate.
fn pause_ms(ending: Ending) -> f32 {
    match ending {
        Ending::Comma => 160.0,
        Ending::Period | Ending::Question => 320.0,
    }
}

/// Renders a phrase (including the pause that follows it) into frames.
pub fn phrase_frames(phrase: &Phrase, voice: Voicing) -> Vec<Frame> {
    let phones = timed_phones(phrase, voice.rate);
    let segments = segments::segments(&phones, voice.rate);
    let mut frames = segments::frames(&segments, voice.base_f0);
    apply_pitch(&segments, &mut frames, phrase.ending, voice.base_f0);
    fade_out(&mut frames);
    let pause = ms_to_frames(pause_ms(phrase.ending) / voice.rate);
    // The pause keeps the last formants: retuning resonators that still ring would click.
    let silence = frames
        .last()
        .map_or(Frame::silence(voice.base_f0), |f| Frame {
            voicing: 0.0,
            aspiration: 0.0,
            frication: 0.0,
            ..*f
        });
    frames.extend(std::iter::repeat_n(silence, pause));
    frames
}

/// Frames over which voicing dies away at the end of a phrase (32 ms), as the glottis relaxes.
const FADE_FRAMES: usize = 8;

/// Ramps the phrase's last voiced frames down to silence instead of stopping dead.
fn fade_out(frames: &mut [Frame]) {
    let Some(last) = frames.iter().rposition(|f| f.voicing > 0.0) else {
        return;
    };
    let first = (last + 1).saturating_sub(FADE_FRAMES);
    for (k, frame) in frames[first..=last].iter_mut().enumerate() {
        frame.voicing *= (FADE_FRAMES - k) as f32 / (FADE_FRAMES + 1) as f32;
    }
}

/// Each phone of the phrase with its duration (Klatt 1979, simplified): stress, the voicing of
/// the next consonant, clusters, and lengthening of the phrase's last syllable.
fn timed_phones(phrase: &Phrase, rate: f32) -> Vec<TimedPhone> {
    let mut phones: Vec<TimedPhone> = Vec::new();
    for word in &phrase.words {
        for (k, &phone) in word.phones.iter().enumerate() {
            phones.push(TimedPhone {
                phone,
                ms: 0.0,
                accent: word.accented && phone.stress == 1,
                word_start: k == 0,
            });
        }
    }
    let last_vowel = phones
        .iter()
        .rposition(|p| spec(p.phone.phoneme).is_vowel())
        .unwrap_or(0);
    for i in 0..phones.len() {
        let s = spec(phones[i].phone.phoneme);
        let (inherent, minimum) = s.duration_ms;
        let next = phones.get(i + 1).map(|p| spec(p.phone.phoneme));
        let prev = i.checked_sub(1).map(|j| spec(phones[j].phone.phoneme));
        let mut pct = 1.0;
        if s.is_vowel() {
            pct *= match phones[i].phone.stress {
                1 => 1.0,
                2 => 0.8,
                _ => 0.55,
            };
            match next {
                Some(n) if n.is_obstruent() && !n.voiced => pct *= 0.8,
                Some(n) if n.is_obstruent() && n.voiced => pct *= 1.1,
                _ => {}
            }
        } else {
            let cluster =
                next.is_some_and(|n| !n.is_vowel()) || prev.is_some_and(|p| !p.is_vowel());
            if cluster {
                pct *= 0.75;
            }
            if !phones[i].word_start {
                pct *= 0.85;
            }
        }
        if i >= last_vowel {
            pct *= 1.4;
        }
        phones[i].ms = (minimum + (inherent - minimum) * pct) / rate;
    }
    phones
}

/// Fills in f0: declination, accents, and the phrase-final movement.
fn apply_pitch(segments: &[Segment], frames: &mut [Frame], ending: Ending, base: f32) {
    let total = frames.len().max(1) as f32;
    // Anchors (frame, multiplier of base).
    let mut anchors: Vec<(f32, f32)> = vec![(0.0, 1.12)];
    let mut pos = 0usize;
    let accents: Vec<(usize, usize)> = segments
        .iter()
        .map(|s| {
            let at = (pos, s.frames);
            pos += s.frames;
            (at, s.accent)
        })
        .filter(|&(_, accent)| accent)
        .map(|(at, _)| at)
        .collect();
    let last_voiced = frames
        .iter()
        .rposition(|f| f.voicing > 0.3)
        .unwrap_or(frames.len().saturating_sub(1)) as f32;
    for (k, &(start, len)) in accents.iter().enumerate() {
        let decline = 1.0 - 0.18 * (start as f32 / total);
        let is_last = k + 1 == accents.len();
        let peak = if is_last && ending == Ending::Question {
            1.0
        } else {
            1.3 * decline
        };
        anchors.push((start as f32, decline * 1.02));
        anchors.push((start as f32 + len as f32 * 0.4, peak));
    }
    match ending {
        Ending::Period => anchors.push((last_voiced, 0.78)),
        Ending::Question => anchors.push((last_voiced, 1.55)),
        Ending::Comma => anchors.push((last_voiced, 1.08)),
    }
    anchors.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut j = 0;
    for (i, frame) in frames.iter_mut().enumerate() {
        let t = i as f32;
        while j + 1 < anchors.len() && anchors[j + 1].0 <= t {
            j += 1;
        }
        let m = match anchors.get(j + 1) {
            Some(&(t1, m1)) if t1 > anchors[j].0 => {
                let (t0, m0) = anchors[j];
                m0 + (m1 - m0) * ((t - t0) / (t1 - t0)).clamp(0.0, 1.0)
            }
            _ => anchors[j].1,
        };
        frame.f0 = base * m;
    }
}
