//! The pronouncing lexicon: Sotto's own entries (`lexicon.txt`: function words with the stress
//! they take in speech, number and unit words, letters), then a selection of the CMU Pronouncing
//! Dictionary (`cmudict.txt`, BSD licence, Carnegie Mellon University; its notice heads the file).
//!
//! `cmudict.txt` is made by `scripts/voice/make_lexicon.sh` (`examples/make_lexicon.rs`): the
//! dictionary's words that are whole words in Whisper's vocabulary (a ranking of the words common
//! in English text) and their contractions, minus every word that
//! [`morphology`](super::morphology) derives from a listed stem or that the letter-to-sound rules
//! ([`lts`]) already pronounce exactly as the dictionary does. A word in neither list is derived
//! from a listed stem if it can be, else spelled by rule. The file is 250 KB (78 KB gzipped).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::lts;
use super::morphology;
use super::phoneme::{parse_arpabet, Phone};

const LEXICON_TEXT: &str = include_str!("lexicon.txt");
const CMUDICT_TEXT: &str = include_str!("cmudict.txt");

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

/// The dictionary's entry lines, sorted by word (its `;;;` header lines left out).
fn cmudict() -> &'static [&'static str] {
    static LINES: OnceLock<Vec<&'static str>> = OnceLock::new();
    LINES.get_or_init(|| {
        CMUDICT_TEXT
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with(";;;"))
            .collect()
    })
}

/// Builds the lexicon's tables now (they are built on first use otherwise).
pub(crate) fn warm_up() {
    table();
    cmudict();
}

/// Number of entries in Sotto's own lexicon (for tests and reports).
pub fn len() -> usize {
    table().len()
}

/// Number of entries taken from the CMU dictionary (for tests and reports).
pub fn cmudict_len() -> usize {
    cmudict().len()
}

/// Sotto's own entry for a lowercase word, if it has one.
pub fn own_lookup(word: &str) -> Option<Vec<Phone>> {
    table().get(word).cloned()
}

/// The listed pronunciation of a lowercase word, if either lexicon has one.
pub fn lookup(word: &str) -> Option<Vec<Phone>> {
    if let Some(phones) = table().get(word) {
        return Some(phones.clone());
    }
    let lines = cmudict();
    let entry_word = |line: &'static str| line.split_once(' ').map_or(line, |(w, _)| w);
    let at = lines
        .binary_search_by(|line| entry_word(line).cmp(word))
        .ok()?;
    lines[at]
        .split_once(' ')
        .and_then(|(_, p)| parse_arpabet(p))
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

/// The word with accented Latin letters spelled in plain ASCII ("café" → "cafe", "Zoë" → "Zoe",
/// "straße" → "strasse"), so that the rules, which read only ASCII letters, say every letter of
/// a borrowed word or a name instead of dropping its accented vowels.
pub fn plain_letters(written: &str) -> String {
    let mut out = String::with_capacity(written.len());
    for c in written.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let plain = match lower {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => "a",
            'ç' | 'č' | 'ć' => "c",
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => "e",
            'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
            'ñ' | 'ń' | 'ň' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => "o",
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' => "u",
            'ý' | 'ÿ' => "y",
            'š' | 'ś' => "s",
            'ž' | 'ź' | 'ż' => "z",
            'ł' => "l",
            'ř' => "r",
            'ß' => "ss",
            'æ' => "ae",
            'œ' => "oe",
            _ => {
                out.push(c);
                continue;
            }
        };
        if c.is_uppercase() {
            out.push_str(&plain.to_ascii_uppercase());
        } else {
            out.push_str(plain);
        }
    }
    out
}

/// Letter by letter pronunciation of a word as written, when it should be spelled out: a lone
/// letter other than "a" and "I", or an all-capitals word of two to four letters that
/// Sotto's own lexicon does not know ("USB", "AI", "FBI"; but "IT" or "OK" are read as words).
pub fn spelled_out(written: &str) -> Option<Vec<Vec<Phone>>> {
    let letters: Vec<char> = written.chars().collect();
    let all_ascii = letters.iter().all(char::is_ascii_alphabetic);
    let lone = letters.len() == 1 && !matches!(letters[0], 'a' | 'A' | 'i' | 'I');
    let initialism = (2..=4).contains(&letters.len())
        && letters.iter().all(char::is_ascii_uppercase)
        && table().get(written.to_ascii_lowercase().as_str()).is_none();
    if !all_ascii || !(lone || initialism) {
        return None;
    }
    letters
        .iter()
        .map(|c| parse_arpabet(LETTER_NAMES[(c.to_ascii_uppercase() as u8 - b'A') as usize]))
        .collect()
}

/// Pronounces a lowercase word: the lexicons, then a listed stem with a regular suffix, then the
/// letter-to-sound rules.
pub fn pronounce(word: &str) -> Vec<Phone> {
    lookup(word)
        .or_else(|| morphology::derive(word, lookup))
        .unwrap_or_else(|| lts::word_to_phones(word))
}
