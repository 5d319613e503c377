//! Port of openai-whisper's `EnglishTextNormalizer`, the normalizer Whisper's English WER figures
//! are computed with: lowercase, drop bracketed text and fillers, expand contractions and titles,
//! strip symbols and diacritics, spelled-out numbers to digits, British to American spelling.
//!
//! Reference: openai-whisper `whisper/normalizers/english.py` (`EnglishTextNormalizer`,
//! `EnglishSpellingNormalizer`) and `whisper/normalizers/basic.py`
//! (`remove_symbols_and_diacritics`). openai-whisper is MIT licensed, Copyright (c) 2022 OpenAI;
//! `english.json` (the spelling map) is copied from it unchanged under that licence.
//!
//! Checked against the Python normalizer's outputs in `tests/eval_normalizer.rs`. Unicode tables
//! are the Rust crates' (newer than Python 3.11's), which only matters for recently added
//! characters.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use super::numbers::EnglishNumberNormalizer;

/// The British → American spelling map of openai-whisper (`english.json`, MIT).
const SPELLINGS_JSON: &str = include_str!("english.json");

/// Letters NFKD does not separate from their marks, and their replacements.
const ADDITIONAL_DIACRITICS: [(char, &str); 16] = [
    ('œ', "oe"),
    ('Œ', "OE"),
    ('ø', "o"),
    ('Ø', "O"),
    ('æ', "ae"),
    ('Æ', "AE"),
    ('ß', "ss"),
    ('ẞ', "SS"),
    ('đ', "d"),
    ('Đ', "D"),
    ('ð', "d"),
    ('Ð', "D"),
    ('þ', "th"),
    ('Þ', "th"),
    ('ł', "l"),
    ('Ł', "L"),
];

/// The contraction and title replacements, in the reference's order (it applies them in turn).
const REPLACERS: [(&str, &str); 43] = [
    // common contractions
    (r"\bwon't\b", "will not"),
    (r"\bcan't\b", "can not"),
    (r"\blet's\b", "let us"),
    (r"\bain't\b", "aint"),
    (r"\by'all\b", "you all"),
    (r"\bwanna\b", "want to"),
    (r"\bgotta\b", "got to"),
    (r"\bgonna\b", "going to"),
    (r"\bi'ma\b", "i am going to"),
    (r"\bimma\b", "i am going to"),
    (r"\bwoulda\b", "would have"),
    (r"\bcoulda\b", "could have"),
    (r"\bshoulda\b", "should have"),
    (r"\bma'am\b", "madam"),
    // contractions in titles/prefixes
    (r"\bmr\b", "mister "),
    (r"\bmrs\b", "missus "),
    (r"\bst\b", "saint "),
    (r"\bdr\b", "doctor "),
    (r"\bprof\b", "professor "),
    (r"\bcapt\b", "captain "),
    (r"\bgov\b", "governor "),
    (r"\bald\b", "alderman "),
    (r"\bgen\b", "general "),
    (r"\bsen\b", "senator "),
    (r"\brep\b", "representative "),
    (r"\bpres\b", "president "),
    (r"\brev\b", "reverend "),
    (r"\bhon\b", "honorable "),
    (r"\basst\b", "assistant "),
    (r"\bassoc\b", "associate "),
    (r"\blt\b", "lieutenant "),
    (r"\bcol\b", "colonel "),
    (r"\bjr\b", "junior "),
    (r"\bsr\b", "senior "),
    (r"\besq\b", "esquire "),
    // perfect tenses
    (r"'d been\b", " had been"),
    (r"'s been\b", " has been"),
    (r"'d gone\b", " had gone"),
    (r"'s gone\b", " has gone"),
    (r"'d done\b", " had done"),
    (r"'s got\b", " has got"),
    // general contractions
    (r"n't\b", " not"),
    (r"'re\b", " are"),
];

/// The last general contractions (kept apart so the table above stays readable).
const REPLACERS_TAIL: [(&str, &str); 6] = [
    (r"'s\b", " is"),
    (r"'d\b", " would"),
    (r"'ll\b", " will"),
    (r"'t\b", " not"),
    (r"'ve\b", " have"),
    (r"'m\b", " am"),
];

/// openai-whisper's `EnglishTextNormalizer`; build once (it compiles its patterns) and reuse.
pub struct EnglishTextNormalizer {
    brackets: Regex,
    parentheses: Regex,
    fillers: Regex,
    space_apostrophe: Regex,
    replacers: Vec<(Regex, &'static str)>,
    digit_commas: Regex,
    periods: Regex,
    lone_symbols: Regex,
    lone_percent: Regex,
    whitespace: Regex,
    mark_nonspacing: Regex,
    mark_symbol_punctuation: Regex,
    numbers: EnglishNumberNormalizer,
}

impl Default for EnglishTextNormalizer {
    fn default() -> Self {
        Self::new()
    }
}

impl EnglishTextNormalizer {
    /// Compiles the patterns.
    pub fn new() -> Self {
        let re = |pattern: &str| Regex::new(pattern).expect("valid pattern");
        Self {
            brackets: re(r"[<\[][^>\]]*[>\]]"),
            parentheses: re(r"\(([^)]+?)\)"),
            fillers: re(r"\b(hmm|mm|mhm|mmm|uh|um)\b"),
            space_apostrophe: re(r"\s+'"),
            replacers: REPLACERS
                .iter()
                .chain(REPLACERS_TAIL.iter())
                .map(|&(pattern, replacement)| (re(pattern), replacement))
                .collect(),
            digit_commas: re(r"(\d),(\d)"),
            periods: re(r"\.([^0-9]|$)"),
            lone_symbols: re(r"[.$¢€£]([^0-9])"),
            lone_percent: re(r"([^0-9])%"),
            whitespace: re(r"\s+"),
            mark_nonspacing: re(r"^\p{Mn}$"),
            mark_symbol_punctuation: re(r"^[\p{M}\p{S}\p{P}]$"),
            numbers: EnglishNumberNormalizer::new(),
        }
    }

    /// Normalizes one transcript (reference: `EnglishTextNormalizer.__call__`).
    pub fn normalize(&self, text: &str) -> String {
        let s = text.to_lowercase();
        let s = self.brackets.replace_all(&s, "");
        let s = self.parentheses.replace_all(&s, "");
        let s = self.fillers.replace_all(&s, "");
        let mut s = self.space_apostrophe.replace_all(&s, "'").into_owned();
        for (pattern, replacement) in &self.replacers {
            s = pattern.replace_all(&s, *replacement).into_owned();
        }
        let s = self.digit_commas.replace_all(&s, "${1}${2}");
        let s = self.periods.replace_all(&s, " ${1}");
        let s = self.remove_symbols_and_diacritics(&s, ".%$¢€£");
        let s = self.numbers.normalize(&s);
        let s = standardize_spellings(&s);
        // Prefix/suffix symbols that are not next to a number.
        let s = self.lone_symbols.replace_all(&s, " ${1}");
        let s = self.lone_percent.replace_all(&s, "${1} ");
        self.whitespace.replace_all(&s, " ").into_owned()
    }

    /// The words of the normalized text.
    pub fn words(&self, text: &str) -> Vec<String> {
        self.normalize(text)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    /// Reference: `basic.remove_symbols_and_diacritics`: NFKD, then marks (Mn) dropped, other
    /// marks, symbols and punctuation turned into spaces, except the characters in `keep`.
    fn remove_symbols_and_diacritics(&self, text: &str, keep: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut buf = [0u8; 4];
        for c in text.nfkd() {
            if keep.contains(c) {
                out.push(c);
            } else if let Some(&(_, replacement)) =
                ADDITIONAL_DIACRITICS.iter().find(|(d, _)| *d == c)
            {
                out.push_str(replacement);
            } else {
                let as_str = c.encode_utf8(&mut buf);
                if self.mark_nonspacing.is_match(as_str) {
                    continue;
                }
                if self.mark_symbol_punctuation.is_match(as_str) {
                    out.push(' ');
                } else {
                    out.push(c);
                }
            }
        }
        out
    }
}

/// Reference: `EnglishSpellingNormalizer`: each word through the British → American map.
fn standardize_spellings(text: &str) -> String {
    static MAP: OnceLock<HashMap<String, String>> = OnceLock::new();
    let map = MAP.get_or_init(|| {
        serde_json::from_str(SPELLINGS_JSON).expect("english.json is a JSON object of strings")
    });
    text.split_whitespace()
        .map(|w| map.get(w).map_or(w, String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelling_map_is_the_references() {
        assert_eq!(standardize_spellings("the colour grey"), "the color gray");
        let map: HashMap<String, String> = serde_json::from_str(SPELLINGS_JSON).unwrap();
        assert_eq!(map.len(), 1739);
    }
}
