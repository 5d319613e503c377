//! Letter-to-sound: the NRL rules (public domain, see `lts_rules.txt`) turn a spelling into
//! phonemes, and a stress heuristic marks the vowels.

use std::sync::OnceLock;

use super::phoneme::{by_symbol, spec, Phone, Phoneme};

/// One rewrite rule: `left[pattern]right=output`.
#[derive(Debug)]
struct Rule {
    left: &'static [u8],
    pattern: &'static [u8],
    right: &'static [u8],
    output: Vec<Phoneme>,
}

/// Rules grouped by the first letter of their pattern (`A`..`Z`, then the apostrophe).
struct RuleSet {
    by_letter: Vec<Vec<Rule>>,
}

const RULES_TEXT: &str = include_str!("lts_rules.txt");

fn letter_slot(c: u8) -> Option<usize> {
    match c {
        b'A'..=b'Z' => Some((c - b'A') as usize),
        b'\'' => Some(26),
        _ => None,
    }
}

/// Builds the rule table now (it is built on first use otherwise).
pub(crate) fn warm_up() {
    rules();
}

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut by_letter: Vec<Vec<Rule>> = (0..27).map(|_| Vec::new()).collect();
        for line in RULES_TEXT
            .lines()
            .filter(|l| !l.starts_with("//") && !l.trim().is_empty())
        {
            // The table is part of the crate and checked by the tests, so malformed lines are
            // a programming error; they are skipped rather than allowed to panic at run time.
            let Some((lhs, out)) = line.split_once('=') else {
                continue;
            };
            let (Some(open), Some(close)) = (lhs.find('['), lhs.find(']')) else {
                continue;
            };
            let bytes = lhs.as_bytes();
            let Some(output) = out
                .split_whitespace()
                .map(by_symbol)
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            let pattern = &bytes[open + 1..close];
            let Some(slot) = pattern.first().copied().and_then(letter_slot) else {
                continue;
            };
            by_letter[slot].push(Rule {
                left: &bytes[..open],
                pattern,
                right: &bytes[close + 1..],
                output,
            });
        }
        RuleSet { by_letter }
    })
}

/// Number of rules in the table (for tests).
pub fn rule_count() -> usize {
    rules().by_letter.iter().map(Vec::len).sum()
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'A' | b'E' | b'I' | b'O' | b'U')
}

fn is_consonant(c: u8) -> bool {
    c.is_ascii_uppercase() && !is_vowel(c)
}

/// Matches `context` leftwards from `pos` (exclusive), backtracking over the repeat classes.
fn match_left(context: &[u8], word: &[u8], pos: usize) -> bool {
    let Some((&c, rest)) = context.split_last() else {
        return true;
    };
    match c {
        b'#' | b'*' | b':' => {
            let test = if c == b'#' { is_vowel } else { is_consonant };
            let min = usize::from(c != b':');
            let mut run = 0;
            while pos > run && test(word[pos - run - 1]) {
                run += 1;
            }
            (min..=run).rev().any(|k| match_left(rest, word, pos - k))
        }
        _ => {
            pos > 0
                && class_matches(c, word[pos - 1], word, pos - 1)
                && match_left(rest, word, pos - 1)
        }
    }
}

/// Matches `context` rightwards from `pos` (inclusive), backtracking over the repeat classes.
fn match_right(context: &[u8], word: &[u8], pos: usize) -> bool {
    let Some((&c, rest)) = context.split_first() else {
        return true;
    };
    match c {
        b'#' | b'*' | b':' => {
            let test = if c == b'#' { is_vowel } else { is_consonant };
            let min = usize::from(c != b':');
            let mut run = 0;
            while word.get(pos + run).is_some_and(|&p| test(p)) {
                run += 1;
            }
            (min..=run).rev().any(|k| match_right(rest, word, pos + k))
        }
        b'%' => {
            let tail = &word[pos.min(word.len())..];
            [&b"ING"[..], b"ELY", b"ER", b"ES", b"ED", b"E"]
                .into_iter()
                .any(|s| {
                    tail.starts_with(s)
                        && !tail.get(s.len()).is_some_and(|n| n.is_ascii_uppercase())
                        && match_right(rest, word, pos + s.len())
                })
        }
        _ => {
            word.get(pos)
                .is_some_and(|&p| class_matches(c, p, word, pos))
                && match_right(rest, word, pos + 1)
        }
    }
}

/// Whether letter `p` (at `idx` in `word`) fits the single-letter class `c`.
fn class_matches(c: u8, p: u8, word: &[u8], idx: usize) -> bool {
    match c {
        b' ' => !p.is_ascii_uppercase() && p != b'\'',
        b'^' => is_consonant(p),
        b'.' => matches!(
            p,
            b'B' | b'D' | b'V' | b'G' | b'J' | b'L' | b'M' | b'N' | b'R' | b'W' | b'Z'
        ),
        b'+' => matches!(p, b'E' | b'I' | b'Y'),
        b'&' => {
            matches!(p, b'S' | b'C' | b'G' | b'Z' | b'X' | b'J')
                || (p == b'H' && idx > 0 && matches!(word[idx - 1], b'C' | b'S'))
        }
        b'@' => {
            matches!(p, b'T' | b'S' | b'R' | b'D' | b'L' | b'Z' | b'N' | b'J')
                || (p == b'H' && idx > 0 && matches!(word[idx - 1], b'T' | b'C' | b'S'))
        }
        _ => c == p,
    }
}

/// Converts one word (letters and apostrophes) to phonemes without stress.
pub fn letters_to_phonemes(word: &str) -> Vec<Phoneme> {
    let mut padded = Vec::with_capacity(word.len() + 2);
    padded.push(b' ');
    padded.extend(
        word.bytes()
            .filter(|b| b.is_ascii_alphabetic() || *b == b'\'')
            .map(|b| b.to_ascii_uppercase()),
    );
    padded.push(b' ');
    let set = rules();
    let mut out = Vec::new();
    let mut pos = 1;
    while pos < padded.len() - 1 {
        let Some(slot) = letter_slot(padded[pos]) else {
            pos += 1;
            continue;
        };
        let rule = set.by_letter[slot].iter().find(|r| {
            padded[pos..].starts_with(r.pattern)
                && match_left(r.left, &padded, pos)
                && match_right(r.right, &padded, pos + r.pattern.len())
        });
        match rule {
            Some(r) => {
                out.extend_from_slice(&r.output);
                pos += r.pattern.len();
            }
            None => pos += 1,
        }
    }
    // Doubled consonant letters ("nn", "tt", "dd") are one sound.
    out.dedup_by(|b, a| a == b && !spec(*a).is_vowel());
    out
}

/// Suffixes that attract stress to the syllable just before them.
const PRE_STRESS_SUFFIXES: &[&str] = &[
    "TION", "SION", "IC", "ICAL", "ITY", "IAL", "IAN", "IOUS", "ICS",
];

/// Unstressed prefixes: a word starting with one of these stresses its next syllable.
const UNSTRESSED_PREFIXES: &[&str] = &["BE", "DE", "RE", "PRE", "EX", "CON", "COM"];

/// The word without an inflectional ending, so "READING" counts as the one-syllable "READ".
fn strip_inflection(upper: &str) -> &str {
    ["ING", "ED", "ER", "ES", "S"]
        .iter()
        .find_map(|s| upper.strip_suffix(s).filter(|stem| stem.len() >= 3))
        .unwrap_or(upper)
}

/// Number of runs of vowel letters, a rough syllable count.
fn vowel_groups(word: &str) -> usize {
    let bytes = word.as_bytes();
    (0..bytes.len())
        .filter(|&i| is_vowel(bytes[i]) && (i == 0 || !is_vowel(bytes[i - 1])))
        .count()
}

/// Converts a word to phones with lexical stress: primary on the first full vowel, on the vowel
/// after an unstressed prefix, or on the vowel before a stress-attracting suffix. Unstressed
/// lax vowels of longer words are reduced toward schwa, as in connected speech.
pub fn word_to_phones(word: &str) -> Vec<Phone> {
    let mut phonemes = letters_to_phonemes(word);
    let vowels: Vec<usize> = (0..phonemes.len())
        .filter(|&i| spec(phonemes[i]).is_vowel())
        .collect();
    let symbol = |p: Phoneme| spec(p).symbol;
    let upper = word.to_ascii_uppercase();
    let stressed = if vowels.len() >= 3 && PRE_STRESS_SUFFIXES.iter().any(|s| upper.ends_with(s)) {
        vowels.get(vowels.len() - 2).copied()
    } else if vowels.len() >= 2
        && UNSTRESSED_PREFIXES.iter().any(|p| upper.starts_with(p))
        && vowel_groups(strip_inflection(&upper)) >= 2
    {
        vowels.get(1).copied()
    } else {
        vowels
            .iter()
            .copied()
            .find(|&i| symbol(phonemes[i]) != "AX")
            .or(vowels.first().copied())
    };
    if vowels.len() >= 2 {
        for &i in &vowels {
            let reduced = match symbol(phonemes[i]) {
                "AE" | "AA" | "AH" | "AO" => "AX",
                "EH" => "IH",
                _ => continue,
            };
            if Some(i) != stressed {
                phonemes[i] = by_symbol(reduced).unwrap_or(phonemes[i]);
            }
        }
    }
    phonemes
        .iter()
        .enumerate()
        .map(|(i, &phoneme)| Phone {
            phoneme,
            stress: u8::from(Some(i) == stressed),
        })
        .collect()
}
