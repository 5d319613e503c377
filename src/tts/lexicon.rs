//! The exception lexicon: pronunciations of frequent words that the letter-to-sound rules get
//! wrong (function words, irregular spellings, number and unit words).
//!
//! `lexicon.txt` holds one `word PHONES` entry per line, with ARPAbet phones taken from the CMU
//! Pronouncing Dictionary (BSD-style licence, Carnegie Mellon University) and lexical stress
//! digits added for Sotto.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::lts;
use super::phoneme::{parse_arpabet, Phone};

const LEXICON_TEXT: &str = include_str!("lexicon.txt");

/// Words that carry no pitch accent: articles, auxiliaries, pronouns, prepositions, conjunctions.
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "nor", "so", "if", "of", "to", "in", "on", "at", "by",
    "for", "from", "with", "as", "into", "onto", "than", "that", "this", "these", "those", "is",
    "am", "are", "was", "were", "be", "been", "being", "do", "does", "did", "have", "has", "had",
    "will", "would", "shall", "should", "can", "could", "may", "might", "must", "i", "me", "my",
    "you", "your", "he", "him", "his", "she", "her", "it", "its", "we", "us", "our", "they",
    "them", "their", "there", "it's", "i'm", "you're", "we're", "they're", "then", "up", "out",
    "about", "over", "under", "some", "any",
];

fn table() -> &'static HashMap<&'static str, Vec<Phone>> {
    static TABLE: OnceLock<HashMap<&'static str, Vec<Phone>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        LEXICON_TEXT
            .lines()
            .filter_map(|line| {
                let (word, phones) = line.split_once(' ')?;
                Some((word, parse_arpabet(phones)?))
            })
            .collect()
    })
}

/// Number of lexicon entries (for tests and reports).
pub fn len() -> usize {
    table().len()
}

/// The lexicon's pronunciation of a lowercase word, if it has one.
pub fn lookup(word: &str) -> Option<&'static [Phone]> {
    table().get(word).map(Vec::as_slice)
}

/// Whether a lowercase word is a function word (spoken without a pitch accent).
pub fn is_function_word(word: &str) -> bool {
    FUNCTION_WORDS.contains(&word)
}

/// Names of the letters A to Z, for initialisms and single letters.
const LETTER_NAMES: [&str; 26] = [
    "EY1",
    "B IY1",
    "S IY1",
    "D IY1",
    "IY1",
    "EH1 F",
    "JH IY1",
    "EY1 CH",
    "AY1",
    "JH EY1",
    "K EY1",
    "EH1 L",
    "EH1 M",
    "EH1 N",
    "OW1",
    "P IY1",
    "K Y UW1",
    "AA1 R",
    "EH1 S",
    "T IY1",
    "Y UW1",
    "V IY1",
    "D AH1 B AH0 L Y UW0",
    "EH1 K S",
    "W AY1",
    "Z IY1",
];

/// Letter by letter pronunciation of a word as written, when it should be spelled out: a lone
/// letter other than "a" and "I", or an all-capitals word of two to four letters the lexicon
/// does not know ("USB", "AI", "FBI"; but "IT" or "OK" read from the lexicon if listed).
pub fn spelled_out(written: &str) -> Option<Vec<Vec<Phone>>> {
    let letters: Vec<char> = written.chars().collect();
    let all_ascii = letters.iter().all(char::is_ascii_alphabetic);
    let lone = letters.len() == 1 && !matches!(letters[0], 'a' | 'A' | 'i' | 'I');
    let initialism = (2..=4).contains(&letters.len())
        && letters.iter().all(char::is_ascii_uppercase)
        && lookup(&written.to_ascii_lowercase()).is_none();
    if !all_ascii || !(lone || initialism) {
        return None;
    }
    letters
        .iter()
        .map(|c| parse_arpabet(LETTER_NAMES[(c.to_ascii_uppercase() as u8 - b'A') as usize]))
        .collect()
}

/// Pronounces a lowercase word: the lexicon, then a lexicon stem plus a plural or possessive
/// `s`, then the letter-to-sound rules.
pub fn pronounce(word: &str) -> Vec<Phone> {
    if let Some(phones) = lookup(word) {
        return phones.to_vec();
    }
    let stem = word
        .strip_suffix("'s")
        .or_else(|| word.strip_suffix('s'))
        .filter(|s| !s.ends_with('s'));
    if let Some(phones) = stem.and_then(lookup) {
        let mut phones = phones.to_vec();
        let last = phones
            .last()
            .map(|p| super::phoneme::spec(p.phoneme).symbol);
        let suffix = match last {
            Some("S" | "Z" | "SH" | "ZH" | "CH" | "JH") => "IH0 Z",
            Some("P" | "T" | "K" | "F" | "TH") => "S",
            _ => "Z",
        };
        phones.extend(parse_arpabet(suffix).unwrap_or_default());
        return phones;
    }
    lts::word_to_phones(word)
}
