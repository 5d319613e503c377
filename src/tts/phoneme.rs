//! The phoneme inventory (ARPAbet, as in the CMU dictionary) and each phoneme's acoustic targets.
//!
//! Formant targets follow the published adult-male values of Peterson & Barney (1952) and Klatt
//! (1980); durations follow Klatt's (1979) inherent and minimum durations.

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

/// Acoustic description of one phoneme.
#[derive(Clone, Copy, Debug)]
pub struct PhonemeSpec {
    /// ARPAbet symbol.
    pub symbol: &'static str,
    /// Manner class.
    pub manner: Manner,
    /// Whether the vocal folds vibrate.
    pub voiced: bool,
    /// F1–F3 target in Hz (the locus for consonants; the onset for diphthongs).
    pub formants: [f32; 3],
    /// F1–F3 at the end of a diphthong (equal to `formants` otherwise).
    pub glide_to: [f32; 3],
    /// Klatt's inherent and minimum durations, in milliseconds.
    pub duration_ms: (f32, f32),
    /// Frication spectrum (fricatives, stop bursts, affricate release).
    pub noise: NoiseShape,
    /// Frication amplitude.
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
}

/// Index of a phoneme in [`PHONEMES`].
pub type Phoneme = u8;

const fn n(low: (f32, f32, f32), high: (f32, f32, f32), flat: f32) -> NoiseShape {
    NoiseShape { low, high, flat }
}

const QUIET: NoiseShape = NoiseShape::NONE;

macro_rules! vowel {
    ($sym:literal, $f:expr, $dur:expr) => {
        PhonemeSpec {
            symbol: $sym,
            manner: Manner::Vowel,
            voiced: true,
            formants: $f,
            glide_to: $f,
            duration_ms: $dur,
            noise: QUIET,
            frication: 0.0,
        }
    };
}

macro_rules! diphthong {
    ($sym:literal, $f:expr, $to:expr, $dur:expr) => {
        PhonemeSpec {
            symbol: $sym,
            manner: Manner::Diphthong,
            voiced: true,
            formants: $f,
            glide_to: $to,
            duration_ms: $dur,
            noise: QUIET,
            frication: 0.0,
        }
    };
}

macro_rules! consonant {
    ($sym:literal, $manner:ident, $voiced:expr, $f:expr, $dur:expr, $noise:expr, $fric:expr) => {
        PhonemeSpec {
            symbol: $sym,
            manner: Manner::$manner,
            voiced: $voiced,
            formants: $f,
            glide_to: $f,
            duration_ms: $dur,
            noise: $noise,
            frication: $fric,
        }
    };
}

const S_NOISE: NoiseShape = n((2600.0, 400.0, 0.1), (5600.0, 1600.0, 1.0), 0.0);
const SH_NOISE: NoiseShape = n((2500.0, 500.0, 1.0), (4200.0, 1400.0, 0.6), 0.0);
const F_NOISE: NoiseShape = n((1500.0, 1000.0, 0.15), (5000.0, 3000.0, 0.3), 0.4);
const TH_NOISE: NoiseShape = n((1800.0, 1000.0, 0.1), (5500.0, 2500.0, 0.4), 0.35);
const P_BURST: NoiseShape = n((800.0, 1000.0, 0.6), (2500.0, 2000.0, 0.2), 0.3);
const T_BURST: NoiseShape = n((3500.0, 1500.0, 0.6), (5000.0, 1800.0, 1.0), 0.1);
const K_BURST: NoiseShape = n((1900.0, 500.0, 1.0), (3200.0, 1200.0, 0.4), 0.0);

/// Every phoneme, indexed by [`Phoneme`].
pub const PHONEMES: &[PhonemeSpec] = &[
    vowel!("AA", [700.0, 1220.0, 2600.0], (240.0, 100.0)),
    vowel!("AE", [660.0, 1720.0, 2410.0], (230.0, 80.0)),
    vowel!("AH", [620.0, 1220.0, 2550.0], (140.0, 60.0)),
    vowel!("AO", [600.0, 990.0, 2570.0], (240.0, 100.0)),
    diphthong!(
        "AW",
        [700.0, 1220.0, 2600.0],
        [420.0, 940.0, 2350.0],
        (260.0, 100.0)
    ),
    vowel!("AX", [500.0, 1400.0, 2500.0], (120.0, 55.0)),
    diphthong!(
        "AY",
        [690.0, 1230.0, 2600.0],
        [400.0, 1950.0, 2550.0],
        (250.0, 150.0)
    ),
    vowel!("EH", [530.0, 1680.0, 2500.0], (150.0, 70.0)),
    vowel!("ER", [470.0, 1270.0, 1540.0], (180.0, 80.0)),
    diphthong!(
        "EY",
        [480.0, 1850.0, 2550.0],
        [330.0, 2200.0, 2700.0],
        (190.0, 100.0)
    ),
    vowel!("IH", [400.0, 1900.0, 2570.0], (135.0, 40.0)),
    vowel!("IY", [300.0, 2250.0, 3000.0], (155.0, 55.0)),
    diphthong!(
        "OW",
        [540.0, 1000.0, 2400.0],
        [400.0, 800.0, 2300.0],
        (220.0, 80.0)
    ),
    diphthong!(
        "OY",
        [550.0, 960.0, 2400.0],
        [360.0, 1900.0, 2500.0],
        (280.0, 150.0)
    ),
    vowel!("UH", [450.0, 1100.0, 2350.0], (160.0, 60.0)),
    diphthong!(
        "UW",
        [350.0, 1250.0, 2200.0],
        [300.0, 950.0, 2200.0],
        (210.0, 70.0)
    ),
    consonant!(
        "B",
        Stop,
        true,
        [200.0, 900.0, 2100.0],
        (85.0, 60.0),
        P_BURST,
        0.25
    ),
    consonant!(
        "CH",
        Affricate,
        false,
        [300.0, 1800.0, 2600.0],
        (70.0, 50.0),
        SH_NOISE,
        0.7
    ),
    consonant!(
        "D",
        Stop,
        true,
        [200.0, 1700.0, 2600.0],
        (75.0, 50.0),
        T_BURST,
        0.3
    ),
    consonant!(
        "DH",
        Fricative,
        true,
        [300.0, 1350.0, 2550.0],
        (50.0, 30.0),
        TH_NOISE,
        0.2
    ),
    consonant!(
        "F",
        Fricative,
        false,
        [320.0, 1100.0, 2100.0],
        (100.0, 80.0),
        F_NOISE,
        0.35
    ),
    consonant!(
        "G",
        Stop,
        true,
        [200.0, 1990.0, 2850.0],
        (80.0, 60.0),
        K_BURST,
        0.3
    ),
    consonant!(
        "HH",
        Aspirate,
        false,
        [500.0, 1500.0, 2500.0],
        (80.0, 20.0),
        QUIET,
        0.0
    ),
    consonant!(
        "JH",
        Affricate,
        true,
        [300.0, 1800.0, 2600.0],
        (70.0, 50.0),
        SH_NOISE,
        0.5
    ),
    consonant!(
        "K",
        Stop,
        false,
        [250.0, 1990.0, 2850.0],
        (80.0, 60.0),
        K_BURST,
        0.6
    ),
    consonant!(
        "L",
        Approximant,
        true,
        [330.0, 1050.0, 2880.0],
        (80.0, 40.0),
        QUIET,
        0.0
    ),
    consonant!(
        "M",
        Nasal,
        true,
        [270.0, 1000.0, 2200.0],
        (70.0, 60.0),
        QUIET,
        0.0
    ),
    consonant!(
        "N",
        Nasal,
        true,
        [270.0, 1600.0, 2600.0],
        (60.0, 50.0),
        QUIET,
        0.0
    ),
    consonant!(
        "NG",
        Nasal,
        true,
        [270.0, 2000.0, 2800.0],
        (95.0, 60.0),
        QUIET,
        0.0
    ),
    consonant!(
        "P",
        Stop,
        false,
        [200.0, 900.0, 2100.0],
        (90.0, 50.0),
        P_BURST,
        0.5
    ),
    consonant!(
        "R",
        Approximant,
        true,
        [330.0, 1060.0, 1380.0],
        (80.0, 30.0),
        QUIET,
        0.0
    ),
    consonant!(
        "S",
        Fricative,
        false,
        [320.0, 1600.0, 2600.0],
        (105.0, 60.0),
        S_NOISE,
        0.6
    ),
    consonant!(
        "SH",
        Fricative,
        false,
        [300.0, 1800.0, 2600.0],
        (105.0, 80.0),
        SH_NOISE,
        0.6
    ),
    consonant!(
        "T",
        Stop,
        false,
        [200.0, 1700.0, 2600.0],
        (75.0, 50.0),
        T_BURST,
        0.6
    ),
    consonant!(
        "TH",
        Fricative,
        false,
        [320.0, 1350.0, 2550.0],
        (90.0, 60.0),
        TH_NOISE,
        0.3
    ),
    consonant!(
        "V",
        Fricative,
        true,
        [280.0, 1100.0, 2100.0],
        (60.0, 40.0),
        F_NOISE,
        0.2
    ),
    consonant!(
        "W",
        Approximant,
        true,
        [290.0, 650.0, 2200.0],
        (80.0, 60.0),
        QUIET,
        0.0
    ),
    consonant!(
        "Y",
        Approximant,
        true,
        [260.0, 2100.0, 3020.0],
        (80.0, 40.0),
        QUIET,
        0.0
    ),
    consonant!(
        "Z",
        Fricative,
        true,
        [280.0, 1600.0, 2600.0],
        (75.0, 40.0),
        S_NOISE,
        0.35
    ),
    consonant!(
        "ZH",
        Fricative,
        true,
        [280.0, 1800.0, 2600.0],
        (70.0, 40.0),
        SH_NOISE,
        0.35
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

/// A phoneme in context: which one, its lexical stress (0 none, 1 primary, 2 secondary; vowels
/// only) and whether it starts a word.
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
