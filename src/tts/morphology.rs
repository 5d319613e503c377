//! Inflected and derived words from a listed stem: "minutes" is "minute" plus [s], "stopped" is
//! "stop" plus [t], "making" is "make" plus [ɪŋ]. The lexicon then needs no entry for a regular
//! form of a word it lists, which keeps it small (`scripts/voice/make_lexicon.py` leaves such
//! forms out when this module derives them exactly as the CMU dictionary spells them).

use super::phoneme::{parse_arpabet, spec, Phone};

/// How a suffix is pronounced after the stem.
#[derive(Clone, Copy)]
enum Ending {
    /// Plural, third person, possessive: [ɪz] after a sibilant, [s] after another voiceless
    /// sound, [z] otherwise.
    Sibilant,
    /// Past tense: [ɪd] after [t d], [t] after another voiceless sound, [d] otherwise.
    Past,
    /// A fixed pronunciation.
    Fixed(&'static str),
}

/// A suffix, how its stem is spelled, and how it sounds. Longer suffixes come first.
struct Suffix {
    written: &'static str,
    /// Letters that replace the suffix to spell the stem ("ies" → "y"), tried in order; the empty
    /// string is the bare stem.
    stem_ends: &'static [&'static str],
    /// Also try the stem with its doubled final consonant undone ("stopped" → "stop").
    undouble: bool,
    ending: Ending,
}

const SUFFIXES: &[Suffix] = &[
    Suffix {
        written: "ments",
        stem_ends: &[""],
        undouble: false,
        ending: Ending::Fixed("M AH0 N T S"),
    },
    Suffix {
        written: "ness",
        stem_ends: &[""],
        undouble: false,
        ending: Ending::Fixed("N AH0 S"),
    },
    Suffix {
        written: "ment",
        stem_ends: &[""],
        undouble: false,
        ending: Ending::Fixed("M AH0 N T"),
    },
    Suffix {
        written: "less",
        stem_ends: &[""],
        undouble: false,
        ending: Ending::Fixed("L AH0 S"),
    },
    Suffix {
        written: "ing",
        stem_ends: &["", "e"],
        undouble: true,
        ending: Ending::Fixed("IH0 NG"),
    },
    Suffix {
        written: "ers",
        stem_ends: &["", "e"],
        undouble: true,
        ending: Ending::Fixed("ER0 Z"),
    },
    Suffix {
        written: "ies",
        stem_ends: &["y"],
        undouble: false,
        ending: Ending::Sibilant,
    },
    Suffix {
        written: "ied",
        stem_ends: &["y"],
        undouble: false,
        ending: Ending::Past,
    },
    Suffix {
        written: "est",
        stem_ends: &["", "e"],
        undouble: true,
        ending: Ending::Fixed("AH0 S T"),
    },
    Suffix {
        written: "'s",
        stem_ends: &[""],
        undouble: false,
        ending: Ending::Sibilant,
    },
    Suffix {
        written: "es",
        stem_ends: &["", "e"],
        undouble: false,
        ending: Ending::Sibilant,
    },
    Suffix {
        written: "ed",
        stem_ends: &["", "e"],
        undouble: true,
        ending: Ending::Past,
    },
    Suffix {
        written: "er",
        stem_ends: &["", "e"],
        undouble: true,
        ending: Ending::Fixed("ER0"),
    },
    Suffix {
        written: "ly",
        stem_ends: &[""],
        undouble: false,
        ending: Ending::Fixed("L IY0"),
    },
    Suffix {
        written: "s",
        stem_ends: &[""],
        undouble: false,
        ending: Ending::Sibilant,
    },
];

fn ending_phones(ending: Ending, stem: &[Phone]) -> &'static str {
    let last = stem.last().map(|p| spec(p.phoneme).symbol);
    match ending {
        Ending::Fixed(phones) => phones,
        Ending::Sibilant => match last {
            Some("S" | "Z" | "SH" | "ZH" | "CH" | "JH") => "IH0 Z",
            Some("P" | "T" | "K" | "F" | "TH") => "S",
            _ => "Z",
        },
        Ending::Past => match last {
            Some("T" | "D") => "IH0 D",
            Some("P" | "K" | "F" | "TH" | "S" | "SH" | "CH") => "T",
            _ => "D",
        },
    }
}

/// The pronunciation of `word` as a stem that `lookup` knows plus a regular suffix, if any.
/// `lookup` is never asked for `word` itself.
pub fn derive(word: &str, lookup: impl Fn(&str) -> Option<Vec<Phone>>) -> Option<Vec<Phone>> {
    for suffix in SUFFIXES {
        let Some(bare) = word.strip_suffix(suffix.written) else {
            continue;
        };
        // "ss" is not a plural ("glass"), and a stem needs a vowel ("th" + "ing" is no stem).
        let has_vowel = bare.bytes().any(|b| b"aeiouy".contains(&b));
        if !has_vowel || (suffix.written == "s" && bare.ends_with('s')) {
            continue;
        }
        let undoubled = suffix
            .undouble
            .then(|| {
                let b = bare.as_bytes();
                let n = b.len();
                (n >= 3 && b[n - 1] == b[n - 2] && !b"aeiou".contains(&b[n - 1]))
                    .then(|| &bare[..n - 1])
            })
            .flatten();
        let stems = suffix
            .stem_ends
            .iter()
            .map(|end| format!("{bare}{end}"))
            .chain(undoubled.map(str::to_string));
        for stem in stems {
            if let Some(mut phones) = lookup(&stem) {
                let ending = ending_phones(suffix.ending, &phones);
                phones.extend(parse_arpabet(ending).unwrap_or_default());
                return Some(phones);
            }
        }
    }
    None
}
