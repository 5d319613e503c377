//! The phoneme inventory (ARPAbet, as in the CMU dictionary) and each phoneme's acoustic targets.
//!
//! Vowel formants follow the adult-male averages of Peterson & Barney (1952); consonant loci,
//! frication spectra and durations follow Klatt (1979, 1980): each consonant's place of
//! articulation sets where the formants of a neighbouring vowel point to (its locus) and which
//! resonances its noise excites.

use super::klatt::NoiseShape;

/// Broad manner class, which decides how a phoneme is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manner {
    /// Monophthong vowel.
    Vowel,
    /// Vowel whose formants glide from `formants` to `glide_to`.
    Diphthong,
    /// Approximants W, Y, R, L.
    Approximant,
    /// Nasal stops M, N, NG.
    Nasal,
    /// Fricatives F V TH DH S Z SH ZH.
    Fricative,
    /// Plosives P B T D K G: closure, burst and (voiceless) aspiration.
    Stop,
    /// CH and JH: a stop closure released into frication.
    Affricate,
    /// HH: aspiration through the formants of the following sound.
    Aspirate,
}

/// Where a consonant is made, which sets its formant locus and its noise spectrum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Vowels, approximants and [h]: no locus of their own.
    Open,
    /// Lips: P B M (and W's rounding).
    Labial,
    /// Lip and teeth: F V.
    Labiodental,
    /// Tongue tip at the teeth: TH DH.
    Dental,
    /// Tongue tip at the ridge: T D N S Z.
    Alveolar,
    /// Tongue blade behind the ridge: SH ZH CH JH.
    Postalveolar,
    /// Tongue back at the soft palate: K G NG.
    Velar,
}

/// Acoustic description of one phoneme.
#[derive(Clone, Copy, Debug)]
pub struct PhonemeSpec {
    /// ARPAbet symbol.
    pub symbol: &'static str,
    /// Manner class.
    pub manner: Manner,
    /// Place of articulation (consonants).
    pub place: Place,
    /// Whether the vocal folds vibrate.
    pub voiced: bool,
    /// F1–F3 target in Hz (the constriction's resonances for consonants; a diphthong's onset).
    pub formants: [f32; 3],
    /// F1–F3 at the end of a diphthong (equal to `formants` otherwise).
    pub glide_to: [f32; 3],
    /// Klatt's inherent and minimum durations, in milliseconds.
    pub duration_ms: (f32, f32),
    /// Loudness of the fricative, burst or affricate release (0 for none): 1.0 is about 12 dB
    /// below an open vowel. Sibilants are loudest, [f θ] some 20 dB weaker (Klatt 1980).
    pub frication: f32,
}

impl PhonemeSpec {
    /// True for vowels and diphthongs (syllable nuclei).
    pub fn is_vowel(&self) -> bool {
        matches!(self.manner, Manner::Vowel | Manner::Diphthong)
    }

    /// True for sounds that carry formant structure with voicing (vowels, approximants, nasals).
    pub fn is_sonorant(&self) -> bool {
        self.is_vowel() || matches!(self.manner, Manner::Approximant | Manner::Nasal)
    }

    /// True for stops, affricates and fricatives.
    pub fn is_obstruent(&self) -> bool {
        matches!(
            self.manner,
            Manner::Stop | Manner::Affricate | Manner::Fricative
        )
    }

    /// The spectrum of this phoneme's frication noise (fricative, burst or affricate release).
    pub fn noise(&self) -> NoiseShape {
        let stop = matches!(self.manner, Manner::Stop);
        // Levels in dB of the parallel peaks F2, F3, F4, F5, F6 and of the flat bypass
        // (after Klatt 1980, table III).
        match self.place {
            // Labial bursts and [f v]: flat, weak, no dominant peak.
            Place::Labial | Place::Labiodental if stop => {
                NoiseShape::from_db([Some(-6.0), None, None, None, None], Some(0.0))
            }
            Place::Labial | Place::Labiodental => {
                NoiseShape::from_db([None, None, None, None, Some(-10.0)], Some(0.0))
            }
            // [θ ð]: flat like [f], with more of the highest frequencies.
            Place::Dental => {
                NoiseShape::from_db([None, None, None, Some(-6.0), Some(0.0)], Some(-3.0))
            }
            // [t d]: energy rising to the highest frequencies.
            Place::Alveolar if stop => {
                NoiseShape::from_db([None, Some(-18.0), Some(-9.0), Some(-4.0), Some(0.0)], None)
            }
            // [s z]: one strong high peak.
            Place::Alveolar => {
                NoiseShape::from_db([None, None, None, Some(-10.0), Some(0.0)], None)
            }
            // [sh zh ch jh]: a strong peak at F3 with a broad shoulder above.
            Place::Postalveolar => {
                NoiseShape::from_db([None, Some(0.0), Some(-5.0), Some(-7.0), Some(-9.0)], None)
            }
            // [k g]: compact, at the F2/F3 of the vowel it releases into.
            Place::Velar => {
                NoiseShape::from_db([Some(0.0), Some(-2.0), Some(-14.0), None, None], None)
            }
            Place::Open => NoiseShape::NONE,
        }
    }
}

/// Index of a phoneme in [`PHONEMES`].
pub type Phoneme = u8;

const fn v(symbol: &'static str, f: [f32; 3], dur: (f32, f32)) -> PhonemeSpec {
    PhonemeSpec {
        symbol,
        manner: Manner::Vowel,
        place: Place::Open,
        voiced: true,
        formants: f,
        glide_to: f,
        duration_ms: dur,
        frication: 0.0,
    }
}

const fn dip(symbol: &'static str, f: [f32; 3], to: [f32; 3], dur: (f32, f32)) -> PhonemeSpec {
    PhonemeSpec {
        manner: Manner::Diphthong,
        glide_to: to,
        ..v(symbol, f, dur)
    }
}

const fn c(
    symbol: &'static str,
    manner: Manner,
    place: Place,
    voiced: bool,
    f: [f32; 3],
    dur: (f32, f32),
    frication: f32,
) -> PhonemeSpec {
    PhonemeSpec {
        symbol,
        manner,
        place,
        voiced,
        formants: f,
        glide_to: f,
        duration_ms: dur,
        frication,
    }
}

use Manner::{Affricate, Approximant, Aspirate, Fricative, Nasal, Stop};
use Place::{Alveolar, Dental, Labial, Labiodental, Open, Postalveolar, Velar};

/// Every phoneme, indexed by [`Phoneme`].
pub const PHONEMES: &[PhonemeSpec] = &[
    v("AA", [730.0, 1090.0, 2440.0], (240.0, 100.0)),
    v("AE", [660.0, 1720.0, 2410.0], (230.0, 80.0)),
    v("AH", [640.0, 1190.0, 2390.0], (140.0, 60.0)),
    v("AO", [570.0, 840.0, 2410.0], (240.0, 100.0)),
    dip(
        "AW",
        [720.0, 1250.0, 2500.0],
        [420.0, 900.0, 2350.0],
        (260.0, 100.0),
    ),
    v("AX", [500.0, 1400.0, 2450.0], (120.0, 55.0)),
    dip(
        "AY",
        [700.0, 1200.0, 2500.0],
        [400.0, 1950.0, 2550.0],
        (250.0, 150.0),
    ),
    v("EH", [530.0, 1840.0, 2480.0], (150.0, 70.0)),
    v("ER", [490.0, 1350.0, 1690.0], (180.0, 80.0)),
    dip(
        "EY",
        [480.0, 1850.0, 2550.0],
        [330.0, 2200.0, 2700.0],
        (190.0, 100.0),
    ),
    v("IH", [390.0, 1990.0, 2550.0], (135.0, 40.0)),
    v("IY", [270.0, 2290.0, 3010.0], (155.0, 55.0)),
    dip(
        "OW",
        [540.0, 1000.0, 2400.0],
        [400.0, 800.0, 2300.0],
        (220.0, 80.0),
    ),
    dip(
        "OY",
        [550.0, 900.0, 2400.0],
        [360.0, 1900.0, 2500.0],
        (280.0, 150.0),
    ),
    v("UH", [440.0, 1020.0, 2240.0], (160.0, 60.0)),
    dip(
        "UW",
        [330.0, 1150.0, 2250.0],
        [300.0, 900.0, 2250.0],
        (210.0, 70.0),
    ),
    c(
        "B",
        Stop,
        Labial,
        true,
        [200.0, 800.0, 2100.0],
        (85.0, 60.0),
        0.5,
    ),
    c(
        "CH",
        Affricate,
        Postalveolar,
        false,
        [300.0, 1850.0, 2550.0],
        (70.0, 50.0),
        1.5,
    ),
    c(
        "D",
        Stop,
        Alveolar,
        true,
        [200.0, 1700.0, 2650.0],
        (75.0, 50.0),
        1.0,
    ),
    c(
        "DH",
        Fricative,
        Dental,
        true,
        [300.0, 1400.0, 2600.0],
        (50.0, 30.0),
        0.18,
    ),
    c(
        "F",
        Fricative,
        Labiodental,
        false,
        [320.0, 1000.0, 2100.0],
        (100.0, 80.0),
        0.15,
    ),
    c(
        "G",
        Stop,
        Velar,
        true,
        [200.0, 1900.0, 2400.0],
        (80.0, 60.0),
        1.4,
    ),
    c(
        "HH",
        Aspirate,
        Open,
        false,
        [500.0, 1500.0, 2500.0],
        (80.0, 20.0),
        0.0,
    ),
    c(
        "JH",
        Affricate,
        Postalveolar,
        true,
        [300.0, 1850.0, 2550.0],
        (70.0, 50.0),
        1.0,
    ),
    c(
        "K",
        Stop,
        Velar,
        false,
        [250.0, 1900.0, 2400.0],
        (80.0, 60.0),
        2.4,
    ),
    c(
        "L",
        Approximant,
        Open,
        true,
        [360.0, 1000.0, 2800.0],
        (80.0, 40.0),
        0.0,
    ),
    c(
        "M",
        Nasal,
        Labial,
        true,
        [270.0, 1000.0, 2200.0],
        (70.0, 60.0),
        0.0,
    ),
    c(
        "N",
        Nasal,
        Alveolar,
        true,
        [270.0, 1500.0, 2550.0],
        (60.0, 50.0),
        0.0,
    ),
    c(
        "NG",
        Nasal,
        Velar,
        true,
        [270.0, 1950.0, 2600.0],
        (95.0, 60.0),
        0.0,
    ),
    c(
        "P",
        Stop,
        Labial,
        false,
        [250.0, 800.0, 2100.0],
        (90.0, 50.0),
        0.8,
    ),
    c(
        "R",
        Approximant,
        Open,
        true,
        [330.0, 1060.0, 1380.0],
        (80.0, 30.0),
        0.0,
    ),
    c(
        "S",
        Fricative,
        Alveolar,
        false,
        [320.0, 1700.0, 2650.0],
        (105.0, 60.0),
        1.2,
    ),
    c(
        "SH",
        Fricative,
        Postalveolar,
        false,
        [300.0, 1850.0, 2550.0],
        (105.0, 80.0),
        1.5,
    ),
    c(
        "T",
        Stop,
        Alveolar,
        false,
        [250.0, 1700.0, 2650.0],
        (75.0, 50.0),
        2.0,
    ),
    c(
        "TH",
        Fricative,
        Dental,
        false,
        [320.0, 1400.0, 2600.0],
        (90.0, 60.0),
        0.2,
    ),
    c(
        "V",
        Fricative,
        Labiodental,
        true,
        [280.0, 1000.0, 2100.0],
        (60.0, 40.0),
        0.12,
    ),
    c(
        "W",
        Approximant,
        Labial,
        true,
        [290.0, 610.0, 2150.0],
        (80.0, 60.0),
        0.0,
    ),
    c(
        "Y",
        Approximant,
        Open,
        true,
        [260.0, 2070.0, 3020.0],
        (80.0, 40.0),
        0.0,
    ),
    c(
        "Z",
        Fricative,
        Alveolar,
        true,
        [280.0, 1700.0, 2650.0],
        (75.0, 40.0),
        0.6,
    ),
    c(
        "ZH",
        Fricative,
        Postalveolar,
        true,
        [280.0, 1850.0, 2550.0],
        (70.0, 40.0),
        0.6,
    ),
];

/// Looks up an ARPAbet symbol (case-insensitive, without stress digit).
pub fn by_symbol(symbol: &str) -> Option<Phoneme> {
    PHONEMES
        .iter()
        .position(|p| p.symbol.eq_ignore_ascii_case(symbol))
        .map(|i| i as Phoneme)
}

/// The spec of a phoneme index.
pub fn spec(p: Phoneme) -> &'static PhonemeSpec {
    &PHONEMES[p as usize]
}

/// A phoneme in context: which one and its lexical stress (0 none, 1 primary, 2 secondary;
/// vowels only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phone {
    /// The phoneme.
    pub phoneme: Phoneme,
    /// Lexical stress of a vowel: 0, 1 or 2.
    pub stress: u8,
}

/// Parses a space-separated ARPAbet string with optional stress digits (`"HH AH0 L OW1"`).
pub fn parse_arpabet(text: &str) -> Option<Vec<Phone>> {
    text.split_whitespace()
        .map(|tok| {
            let (sym, stress) = match tok.as_bytes().last() {
                Some(d @ b'0'..=b'2') => (&tok[..tok.len() - 1], d - b'0'),
                _ => (tok, 0),
            };
            by_symbol(sym).map(|phoneme| Phone { phoneme, stress })
        })
        .collect()
}

/// Formats phones as ARPAbet with stress digits on vowels.
pub fn to_arpabet(phones: &[Phone]) -> String {
    let parts: Vec<String> = phones
        .iter()
        .map(|p| {
            let s = spec(p.phoneme);
            if s.is_vowel() {
                format!("{}{}", s.symbol, p.stress)
            } else {
                s.symbol.to_string()
            }
        })
        .collect();
    parts.join(" ")
}
