//! From timed phones to synthesizer frames: each phone becomes one or more acoustic segments
//! (a stop is a closure, a burst and, when voiceless, aspiration), and formant tracks join them.
//!
//! Formant tracks follow the locus theory of consonant transitions (Delattre, Liberman & Cooper
//! 1955; Sussman's locus equations): next to an obstruent or nasal a vowel's formants start (or
//! end) at `locus + slope · (vowel − locus)`, a value set by the consonant's place of
//! articulation, and glide to the vowel's own target. The stop's burst and aspiration carry the
//! start of that glide, which is where a listener hears the place of a voiceless stop.
//! Sonorants blend with each other at their boundaries.

use super::klatt::{Frame, NoiseShape, FRAME_SECONDS, NASAL_POLE_HZ};
use super::phoneme::{spec, Manner, Phone, PhonemeSpec, Place, PHONEMES};

/// Index of AX, schwa, in the phoneme table.
const SCHWA: usize = 5;

/// A phone ready to render: what it is, how long, and its context.
#[derive(Clone, Copy, Debug)]
pub(super) struct TimedPhone {
    /// The phone with its stress.
    pub phone: Phone,
    /// Duration in milliseconds at the requested rate.
    pub ms: f32,
    /// Whether this is the primary-stressed vowel of an accented (content) word.
    pub accent: bool,
    /// Whether this phone starts a word.
    pub word_start: bool,
}

/// How a segment's formants are set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A vowel: glides from the boundary into its target and out to the next boundary.
    Vowel,
    /// An approximant: blends with its neighbours.
    Glide,
    /// Nasal murmur, stop closure or fricative: holds its own resonances.
    Hold,
    /// Burst, aspiration or [h]: carries the start of the next sound's transition.
    Release,
}

/// One stretch of sound with fixed source settings (a phone, or part of one).
#[derive(Clone, Copy, Debug)]
pub(super) struct Segment {
    /// Length in frames.
    pub frames: usize,
    kind: Kind,
    start: [f32; 3],
    end: [f32; 3],
    bandwidths: [f32; 3],
    voicing: f32,
    aspiration: f32,
    frication: f32,
    noise: NoiseShape,
    nasal: bool,
    /// Where a neighbouring vowel's transition points (obstruents and nasals).
    place: Place,
    /// Manner of the phone this segment belongs to (for the first formant's onset).
    manner: Manner,
    /// Pitch accent at this segment (the stressed vowel of a content word).
    pub accent: bool,
}

const VOWEL_BW: [f32; 3] = [60.0, 90.0, 150.0];
const CONSONANT_BW: [f32; 3] = [90.0, 120.0, 180.0];
/// First formant damping while the glottis is open for aspiration (Klatt's F1 cutback).
const ASPIRATION_BW: [f32; 3] = [300.0, 150.0, 220.0];
const NASAL_ZERO_HZ: f32 = 450.0;

pub(super) fn ms_to_frames(ms: f32) -> usize {
    ((ms / 1000.0) / FRAME_SECONDS).round().max(1.0) as usize
}

fn base(s: &PhonemeSpec, ms: f32, kind: Kind) -> Segment {
    Segment {
        frames: ms_to_frames(ms),
        kind,
        start: s.formants,
        end: s.glide_to,
        bandwidths: CONSONANT_BW,
        voicing: 0.0,
        aspiration: 0.0,
        frication: 0.0,
        noise: NoiseShape::NONE,
        nasal: false,
        place: s.place,
        manner: s.manner,
        accent: false,
    }
}

/// Expands timed phones into segments; `rate` scales the fixed-length parts (bursts).
pub(super) fn segments(phones: &[TimedPhone], rate: f32) -> Vec<Segment> {
    let mut out = Vec::with_capacity(phones.len() * 2);
    for (i, tp) in phones.iter().enumerate() {
        let s = spec(tp.phone.phoneme);
        let prev = i.checked_sub(1).map(|j| spec(phones[j].phone.phoneme));
        let next = phones.get(i + 1);
        let next_spec = next.map(|n| spec(n.phone.phoneme));
        match s.manner {
            Manner::Vowel | Manner::Diphthong => {
                // The dictionary writes the reduced vowel schwa as unstressed AH.
                let s = if s.symbol == "AH" && tp.phone.stress == 0 {
                    &PHONEMES[SCHWA]
                } else {
                    s
                };
                let mut seg = base(s, tp.ms, Kind::Vowel);
                seg.bandwidths = VOWEL_BW;
                seg.voicing = if tp.phone.stress == 0 { 0.8 } else { 1.0 };
                seg.accent = tp.accent;
                out.push(seg);
            }
            Manner::Approximant => {
                let mut seg = base(s, tp.ms, Kind::Glide);
                seg.voicing = 0.75;
                seg.place = Place::Open;
                out.push(seg);
            }
            Manner::Nasal => {
                let mut seg = base(s, tp.ms, Kind::Hold);
                seg.voicing = 0.7;
                seg.nasal = true;
                seg.bandwidths = [100.0, 200.0, 300.0];
                out.push(seg);
            }
            Manner::Fricative => {
                let mut seg = base(s, tp.ms, Kind::Hold);
                seg.voicing = if s.voiced { 0.4 } else { 0.0 };
                seg.frication = s.frication;
                seg.noise = s.noise();
                seg.bandwidths = [200.0, 150.0, 200.0];
                out.push(seg);
            }
            Manner::Aspirate => {
                let mut seg = base(s, tp.ms, Kind::Release);
                seg.aspiration = 0.8;
                seg.bandwidths = ASPIRATION_BW;
                out.push(seg);
            }
            Manner::Stop | Manner::Affricate => {
                let affricate = s.manner == Manner::Affricate;
                let total = tp.ms;
                let burst_ms = if affricate {
                    total * 0.5
                } else {
                    let ms = match s.place {
                        Place::Velar => 20.0,
                        Place::Alveolar => 12.0,
                        _ => 8.0,
                    };
                    ms / rate.sqrt()
                };
                let mut closure = base(
                    s,
                    (total - burst_ms).max(FRAME_SECONDS * 1000.0),
                    Kind::Hold,
                );
                // A voiced stop keeps the folds vibrating through its closure (the voice bar),
                // the main cue that tells [b d g] from [p t k] before the release.
                closure.voicing = if s.voiced { 0.3 } else { 0.0 };
                closure.start[0] = 200.0;
                closure.end[0] = 200.0;
                out.push(closure);
                let mut burst = base(s, burst_ms, Kind::Release);
                burst.voicing = if s.voiced { 0.3 } else { 0.0 };
                burst.frication = s.frication;
                burst.noise = s.noise();
                burst.frames = ms_to_frames(burst_ms).max(1);
                out.push(burst);
                // Voiceless stops before a sonorant are aspirated, except after [s] ("speed").
                let after_s = prev.is_some_and(|p| p.symbol == "S" || p.symbol == "SH");
                if !s.voiced && !affricate && next_spec.is_some_and(|n| n.is_sonorant()) && !after_s
                {
                    let stressed = next.is_some_and(|n| n.phone.stress > 0);
                    let vot = if stressed { 55.0 } else { 30.0 } / rate.sqrt();
                    let mut asp = base(s, vot, Kind::Release);
                    asp.aspiration = 0.8;
                    asp.bandwidths = ASPIRATION_BW;
                    out.push(asp);
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

/// Where a vowel's formants start (or end) next to a consonant of `place` and `manner`: the
/// consonant's locus pulled toward the vowel by the locus-equation slope.
fn onset(place: Place, manner: Manner, vowel: [f32; 3]) -> [f32; 3] {
    let toward = |locus: f32, slope: f32, v: f32| locus + slope * (v - locus);
    let f1 = match manner {
        Manner::Nasal => toward(250.0, 0.5, vowel[0]),
        Manner::Fricative => toward(250.0, 0.35, vowel[0]),
        _ => toward(200.0, 0.25, vowel[0]),
    };
    let (f2, f3) = match place {
        Place::Labial | Place::Labiodental => {
            (toward(800.0, 0.7, vowel[1]), toward(2150.0, 0.6, vowel[2]))
        }
        Place::Dental => (toward(1400.0, 0.5, vowel[1]), toward(2600.0, 0.5, vowel[2])),
        Place::Alveolar => (toward(1750.0, 0.4, vowel[1]), toward(2700.0, 0.3, vowel[2])),
        Place::Postalveolar => (
            toward(1950.0, 0.35, vowel[1]),
            toward(2600.0, 0.3, vowel[2]),
        ),
        // Velars pinch F2 and F3 together: high before front vowels, lower before back ones.
        Place::Velar if vowel[1] >= 1600.0 => {
            let f2 = toward(2300.0, 0.5, vowel[1]);
            (f2, f2 + 250.0)
        }
        Place::Velar => {
            let f2 = toward(1700.0, 0.5, vowel[1]);
            (f2, f2 + 450.0)
        }
        Place::Open => (vowel[1], vowel[2]),
    };
    [f1, f2, f3]
}

/// Milliseconds a vowel takes to move from a consonant's onset value to its own target.
fn transition_ms(manner: Manner) -> f32 {
    match manner {
        Manner::Stop | Manner::Affricate => 50.0,
        Manner::Nasal => 40.0,
        Manner::Fricative => 45.0,
        Manner::Approximant => 70.0,
        _ => 30.0,
    }
}

/// A breakpoint of a piecewise-linear formant track: frame time and F1–F3.
type Anchor = (f32, [f32; 3]);

/// The formant breakpoints of all segments; two anchors at one time make a step.
fn anchors(segs: &[Segment]) -> Vec<Anchor> {
    let mut starts = Vec::with_capacity(segs.len() + 1);
    let mut t = 0.0;
    for s in segs {
        starts.push(t);
        t += s.frames as f32;
    }
    starts.push(t);
    let frame_ms = FRAME_SECONDS * 1000.0;
    let consonant = |s: &Segment| s.place != Place::Open && s.kind != Kind::Glide;
    let mut out: Vec<Anchor> = Vec::with_capacity(segs.len() * 4);
    for (i, seg) in segs.iter().enumerate() {
        let (t0, t1) = (starts[i], starts[i + 1]);
        let len = t1 - t0;
        match seg.kind {
            Kind::Hold => {
                out.push((t0, seg.start));
                out.push((t1, seg.end));
            }
            Kind::Release => {
                // Burst, aspiration and [h] take the onset of the next sonorant; the vowel's own
                // anchors then carry the glide to its target.
                let next = segs[i + 1..].iter().find(|s| s.kind != Kind::Release);
                let sonorant = |s: &Segment| s.kind == Kind::Vowel || s.kind == Kind::Glide;
                // Before a consonant or a pause the release sounds where the closure was made,
                // which the vowel before it pointed to.
                let before = segs[..i].iter().rev().find(|s| {
                    s.kind != Kind::Release && !(s.kind == Kind::Hold && s.place == seg.place)
                });
                let onset_value = match (next, before) {
                    (Some(n), _) if sonorant(n) && seg.place == Place::Open => n.start,
                    (Some(n), _) if sonorant(n) => onset(seg.place, seg.manner, n.start),
                    (_, Some(b)) if sonorant(b) && seg.place != Place::Open => {
                        onset(seg.place, seg.manner, b.end)
                    }
                    _ => seg.start,
                };
                // One anchor per release: [h] or the burst starts the glide, aspiration
                // continues it.
                if i == 0 || segs[i - 1].kind != Kind::Release {
                    out.push((t0, onset_value));
                }
            }
            Kind::Vowel | Kind::Glide => {
                let prev = i.checked_sub(1).map(|j| &segs[j]);
                let next = segs.get(i + 1);
                let blend = |other: &Segment, own: [f32; 3]| {
                    // A glide dominates the vowel it meets; two vowels meet halfway.
                    let weight = match (seg.kind, other.kind) {
                        (Kind::Vowel, Kind::Glide) => 0.65,
                        (Kind::Glide, Kind::Vowel) => 0.35,
                        _ => 0.5,
                    };
                    lerp3(
                        own,
                        if other.kind == Kind::Glide {
                            other.start
                        } else {
                            other.end
                        },
                        weight,
                    )
                };
                // Into this segment.
                let (into, t_in) = match prev {
                    Some(p) if p.kind == Kind::Release => {
                        // The transition began at the release: finish it within the vowel.
                        let released_at = out.last().map_or(t0, |a| a.0);
                        let total = transition_ms(p.manner) / frame_ms;
                        let left = (total - (t0 - released_at)).max(2.0);
                        (None, left)
                    }
                    Some(p) if consonant(p) => (
                        Some(onset(p.place, p.manner, seg.start)),
                        transition_ms(p.manner) / frame_ms,
                    ),
                    Some(p) if p.kind == Kind::Vowel || p.kind == Kind::Glide => (
                        Some(blend(p, seg.start)),
                        transition_ms(Manner::Approximant) / frame_ms / 2.0,
                    ),
                    _ => (Some(seg.start), 0.0),
                };
                let (out_of, t_out) = match next {
                    Some(n) if consonant(n) && n.kind != Kind::Release => (
                        Some(onset(n.place, n.manner, seg.end)),
                        transition_ms(n.manner) / frame_ms * 0.8,
                    ),
                    Some(n) if n.kind == Kind::Vowel || n.kind == Kind::Glide => (
                        Some(blend(n, seg.end)),
                        transition_ms(Manner::Approximant) / frame_ms / 2.0,
                    ),
                    _ => (None, 0.0),
                };
                // Transitions share the segment; a short vowel may never reach its target.
                let (t_in, t_out) = if t_in + t_out > len {
                    let k = len / (t_in + t_out);
                    (t_in * k, t_out * k)
                } else {
                    (t_in, t_out)
                };
                if let Some(v) = into {
                    out.push((t0, v));
                }
                if seg.kind == Kind::Glide {
                    out.push((t0 + len * 0.5, seg.start));
                } else {
                    out.push((t0 + t_in, seg.start));
                    if seg.start != seg.end {
                        // A diphthong dwells on its onset before gliding (Gay 1968).
                        let steady = t0 + t_in + (len - t_in - t_out) * 0.35;
                        out.push((steady, seg.start));
                    }
                    out.push((t1 - t_out, seg.end));
                }
                if let Some(v) = out_of {
                    out.push((t1, v));
                }
            }
        }
    }
    out
}

/// Builds frames with formant tracks (pitch is filled in later).
pub(super) fn frames(segs: &[Segment], base_f0: f32) -> Vec<Frame> {
    let anchors = anchors(segs);
    let total: usize = segs.iter().map(|s| s.frames).sum();
    let mut frames = Vec::with_capacity(total);
    let mut a = 0;
    for seg in segs {
        for _ in 0..seg.frames {
            let t = frames.len() as f32 + 0.5;
            while a + 1 < anchors.len() && anchors[a + 1].0 <= t {
                a += 1;
            }
            let formants = match anchors.get(a + 1) {
                Some(&(t1, f1)) if t1 > anchors[a].0 && t >= anchors[a].0 => {
                    let (t0, f0) = anchors[a];
                    lerp3(f0, f1, (t - t0) / (t1 - t0))
                }
                _ => anchors.get(a).map_or(seg.start, |x| x.1),
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
