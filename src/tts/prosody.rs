//! Prosody and segment timing: turns phrases of phones into synthesizer [`Frame`]s.
//!
//! Durations follow a simplified form of Klatt's (1979) rules (stress, phrase-final lengthening,
//! clusters). Formant tracks use locus-style transitions: at each boundary the phoneme with the
//! stronger articulation (higher rank) sets the boundary value and the weaker one moves to it.
//! Pitch is a declining line with accents on stressed syllables of content words, a final fall
//! for statements, a rise for questions and a slight continuation rise at commas.

use super::klatt::{Frame, NoiseShape, FRAME_SECONDS, NASAL_POLE_HZ};
use super::phoneme::{spec, Manner, Phone, PhonemeSpec};

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

/// One stretch of sound with fixed targets (a phone, or part of one such as a stop's closure).
#[derive(Clone, Copy, Debug)]
struct Segment {
    frames: usize,
    start: [f32; 3],
    end: [f32; 3],
    bandwidths: [f32; 3],
    voicing: f32,
    aspiration: f32,
    frication: f32,
    noise: NoiseShape,
    nasal: bool,
    /// Articulatory dominance at boundaries.
    rank: u8,
    /// Transition time (ms) this segment imposes on a weaker neighbour.
    transition_ms: f32,
    /// Glide linearly from the incoming to the outgoing boundary (aspiration, [h]).
    transparent: bool,
    /// Pitch accent peak at this segment (a stressed vowel of a content word).
    accent: bool,
}

const VOWEL_BW: [f32; 3] = [60.0, 90.0, 150.0];
const CONSONANT_BW: [f32; 3] = [90.0, 120.0, 180.0];
const NASAL_ZERO_HZ: f32 = 450.0;
/// Scales the per-phoneme frication amplitudes against the voiced output level.
const FRICATION_LEVEL: f32 = 0.9;

fn ms_to_frames(ms: f32) -> usize {
    ((ms / 1000.0) / FRAME_SECONDS).round().max(1.0) as usize
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
    let segments = segments(phrase, voice.rate);
    let mut frames = formant_tracks(&segments, voice.base_f0);
    apply_pitch(&segments, &mut frames, phrase.ending, voice.base_f0);
    let pause = ms_to_frames(pause_ms(phrase.ending) / voice.rate);
    let last_f0 = frames.last().map_or(voice.base_f0, |f| f.f0);
    frames.extend(std::iter::repeat_n(Frame::silence(last_f0), pause));
    frames
}

/// Phone duration in ms from Klatt's inherent/minimum durations and context factors.
fn duration_ms(phones: &[(Phone, bool, bool)], i: usize, rate: f32) -> f32 {
    let (phone, _, phrase_final_word) = phones[i];
    let s = spec(phone.phoneme);
    let (inherent, minimum) = s.duration_ms;
    let next = phones.get(i + 1).map(|p| spec(p.0.phoneme));
    let prev = i.checked_sub(1).map(|j| spec(phones[j].0.phoneme));
    let mut pct = 1.0;
    if s.is_vowel() {
        pct *= match phone.stress {
            1 => 1.0,
            2 => 0.8,
            _ => 0.55,
        };
        match next {
            Some(n) if !n.is_vowel() && !n.voiced && !n.is_sonorant() => pct *= 0.8,
            Some(n) if n.voiced && !n.is_sonorant() => pct *= 1.1,
            _ => {}
        }
    } else {
        let cluster = next.is_some_and(|n| !n.is_vowel()) || prev.is_some_and(|p| !p.is_vowel());
        if cluster {
            pct *= 0.75;
        }
    }
    if phrase_final_word {
        pct *= 1.35;
    }
    (minimum + (inherent - minimum) * pct) / rate
}

fn base_segment(s: &PhonemeSpec, frames: usize) -> Segment {
    Segment {
        frames,
        start: s.formants,
        end: s.glide_to,
        bandwidths: CONSONANT_BW,
        voicing: 0.0,
        aspiration: 0.0,
        frication: 0.0,
        noise: NoiseShape::NONE,
        nasal: false,
        rank: 2,
        transition_ms: 50.0,
        transparent: false,
        accent: false,
    }
}

/// Expands the phrase into segments (stops become closure, burst and aspiration).
fn segments(phrase: &Phrase, rate: f32) -> Vec<Segment> {
    // (phone, accented word, in the phrase's last word)
    let last = phrase.words.len().saturating_sub(1);
    let phones: Vec<(Phone, bool, bool)> = phrase
        .words
        .iter()
        .enumerate()
        .flat_map(|(w, word)| {
            word.phones
                .iter()
                .map(move |&p| (p, word.accented, w == last))
        })
        .collect();
    let mut out = Vec::with_capacity(phones.len() * 2);
    for i in 0..phones.len() {
        let (phone, accented, _) = phones[i];
        let s = spec(phone.phoneme);
        let ms = duration_ms(&phones, i, rate);
        let next = phones.get(i + 1).map(|p| spec(p.0.phoneme));
        let prev_sonorant = i > 0 && spec(phones[i - 1].0.phoneme).is_sonorant();
        let next_sonorant = next.is_some_and(|n| n.is_sonorant());
        let mut seg = base_segment(s, ms_to_frames(ms));
        match s.manner {
            Manner::Vowel | Manner::Diphthong => {
                seg.bandwidths = VOWEL_BW;
                seg.voicing = if phone.stress == 0 { 0.8 } else { 1.0 };
                seg.accent = accented && phone.stress == 1;
                out.push(seg);
            }
            Manner::Approximant => {
                seg.voicing = 0.7;
                seg.rank = 3;
                seg.transition_ms = 60.0;
                out.push(seg);
            }
            Manner::Nasal => {
                seg.voicing = 0.65;
                seg.nasal = true;
                seg.rank = 5;
                seg.transition_ms = 30.0;
                seg.bandwidths = [100.0, 200.0, 300.0];
                out.push(seg);
            }
            Manner::Fricative => {
                seg.voicing = if s.voiced { 0.35 } else { 0.0 };
                seg.frication = s.frication * FRICATION_LEVEL;
                seg.noise = s.noise;
                seg.rank = 5;
                seg.transition_ms = 40.0;
                out.push(seg);
            }
            Manner::Aspirate => {
                seg.aspiration = 0.5;
                seg.rank = 0;
                seg.transparent = true;
                out.push(seg);
            }
            Manner::Stop | Manner::Affricate => {
                let affricate = s.manner == Manner::Affricate;
                let total = seg.frames;
                let release = if affricate {
                    total / 2
                } else {
                    ms_to_frames(12.0 / rate.sqrt())
                };
                let mut closure = seg;
                closure.frames = total.saturating_sub(release).max(1);
                closure.rank = 6;
                closure.transition_ms = 45.0;
                closure.voicing = if s.voiced && prev_sonorant { 0.12 } else { 0.0 };
                out.push(closure);
                let mut burst = closure;
                burst.frames = release.max(1);
                burst.voicing = if s.voiced { 0.25 } else { 0.0 };
                burst.frication = s.frication * FRICATION_LEVEL;
                burst.noise = s.noise;
                out.push(burst);
                if !s.voiced && next_sonorant {
                    let mut aspiration = base_segment(s, ms_to_frames(45.0 / rate));
                    aspiration.aspiration = 0.45;
                    aspiration.rank = 0;
                    aspiration.transparent = true;
                    out.push(aspiration);
                }
            }
        }
    }
    out
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// The formant values where `left` meets `right`: a rank-weighted mix of their targets.
fn boundary(left: &Segment, right: &Segment) -> [f32; 3] {
    let (wl, wr) = (left.rank as f32, right.rank as f32);
    if wl + wr == 0.0 {
        return lerp3(left.end, right.start, 0.5);
    }
    lerp3(left.end, right.start, wr / (wl + wr))
}

/// Builds frames with formant tracks (pitch is filled in later).
fn formant_tracks(segments: &[Segment], base_f0: f32) -> Vec<Frame> {
    // Transparent segments take their neighbours' targets so boundaries are computed between
    // real articulations.
    let mut segs = segments.to_vec();
    for i in (0..segs.len()).rev() {
        if segs[i].transparent {
            let next = segs.get(i + 1).map_or(segs[i].start, |n| n.start);
            segs[i].start = next;
            segs[i].end = next;
        }
    }
    let total: usize = segs.iter().map(|s| s.frames).sum();
    let mut frames = Vec::with_capacity(total);
    for i in 0..segs.len() {
        let seg = &segs[i];
        let into = if i > 0 {
            boundary(&segs[i - 1], seg)
        } else {
            seg.start
        };
        let out_of = if i + 1 < segs.len() {
            boundary(seg, &segs[i + 1])
        } else {
            seg.end
        };
        let frames_for = |other: Option<&Segment>| -> f32 {
            match other {
                Some(o) if o.rank > seg.rank => o.transition_ms,
                Some(_) => 15.0,
                None => 0.0,
            }
        };
        let n = seg.frames as f32;
        let t_in =
            (frames_for(i.checked_sub(1).map(|j| &segs[j])) / 1000.0 / FRAME_SECONDS).min(n * 0.45);
        let t_out = (frames_for(segs.get(i + 1)) / 1000.0 / FRAME_SECONDS).min(n * 0.45);
        for k in 0..seg.frames {
            let t = k as f32 + 0.5;
            let formants = if seg.transparent {
                let prev = if i > 0 { segs[i - 1].end } else { seg.start };
                lerp3(lerp3(prev, seg.start, 0.6), out_of, t / n)
            } else if t < t_in {
                lerp3(into, seg.start, t / t_in)
            } else if t > n - t_out {
                lerp3(seg.end, out_of, (t - (n - t_out)) / t_out)
            } else {
                let span = (n - t_in - t_out).max(1.0);
                lerp3(seg.start, seg.end, ((t - t_in) / span).clamp(0.0, 1.0))
            };
            frames.push(Frame {
                f0: base_f0,
                voicing: seg.voicing,
                aspiration: seg.aspiration,
                frication: seg.frication,
                formants,
                bandwidths: seg.bandwidths,
                nasal_zero: if seg.nasal {
                    NASAL_ZERO_HZ
                } else {
                    NASAL_POLE_HZ
                },
                noise: seg.noise,
            });
        }
    }
    frames
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
