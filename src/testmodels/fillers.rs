//! The filler tokens that pad a test vocabulary to a real model's size.
//!
//! A real 50k-token English vocabulary holds most common words, so a transcript of seven words
//! costs the dialog model about seven to ten tokens. Random weights pick random ids, and their
//! text is read back by the next model (Whisper's transcript by the chat model, the reply by the
//! chunker): if the fillers were strings no merge builds, every random word would cost that model
//! three or four tokens of its small trained vocabulary, and the latency benchmark would prefill
//! prompts several times longer than real ones. So single-word fillers are made reachable: each
//! gets the merges that build it from the trained vocabulary (left to right, one new token per
//! merge, the intermediate pieces being fillers too), as a trained BPE would have learned them.
//! Fillers with punctuation or two words stay unreachable, as such strings are in real
//! vocabularies (the pre-tokenizer splits them), and cost two tokens or more when read back.

use std::collections::{HashMap, HashSet};

use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};

use super::rng::Rng;
use super::tokenizer::CORPUS;
use super::TestModelError;

/// Endings that turn the corpus's ~700 words into enough distinct single-word fillers.
const ENDINGS: [&str; 24] = [
    "", "", "", "s", "es", "ed", "ing", "er", "ers", "est", "ly", "y", "al", "ness", "ment", "ful",
    "less", "able", "ive", "ion", "ist", "ish", "ous", "'s",
];

/// Filler tokens and the merges that build the reachable ones.
pub(crate) struct Fillers {
    /// `count` new token strings in byte-level form (a space is `Ġ`).
    pub(crate) tokens: Vec<String>,
    /// Merges to append after the trained ones, in rank order.
    pub(crate) merges: Vec<(String, String)>,
}

/// Makes `count` filler tokens not in `taken`, extending the trained `merges` (rank order) so
/// that single-word fillers are reachable through `pre`, the tokenizer's pre-tokenizer. The
/// fillers are corpus words, mostly single (sometimes capitalized, sometimes with an ending),
/// some in pairs or followed by `,`, `.` or `?`. Deterministic: a fixed seed, and the same
/// candidate words in the same order for every vocabulary.
pub(crate) fn make(
    count: usize,
    taken: &HashSet<String>,
    merges: &[(String, String)],
    pre: &impl PreTokenizer,
) -> Result<Fillers, TestModelError> {
    let words = corpus_words();
    let mut ranks: HashMap<String, usize> = merges
        .iter()
        .enumerate()
        .map(|(rank, (left, right))| (pair_key(left, right), rank))
        .collect();
    let mut rng = Rng::for_tensor(0x5077_0F11, "vocabulary fillers");
    let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Fillers {
        tokens: Vec::with_capacity(count),
        merges: Vec::new(),
    };
    while out.tokens.len() < count {
        let candidate = candidate(&words, &mut pick);
        if taken.contains(&candidate) || seen.contains(&candidate) {
            continue;
        }
        if !is_one_pre_token(&candidate, pre)? {
            seen.insert(candidate.clone());
            out.tokens.push(candidate);
            continue;
        }
        // Merge the word's first two pieces until it is one token; every merge's result is a
        // token (a filler, unless the vocabulary already has it).
        loop {
            let pieces = encode_word(&candidate, &ranks);
            if pieces.len() < 2 || out.tokens.len() == count {
                break;
            }
            let pair = (pieces[0].clone(), pieces[1].clone());
            let merged = format!("{}{}", pair.0, pair.1);
            ranks.insert(pair_key(&pair.0, &pair.1), merges.len() + out.merges.len());
            out.merges.push(pair);
            if !taken.contains(&merged) && seen.insert(merged.clone()) {
                out.tokens.push(merged);
            }
        }
    }
    Ok(out)
}

/// The corpus's distinct words, lowercase, sorted.
fn corpus_words() -> Vec<String> {
    CORPUS
        .split(|c: char| !(c.is_ascii_alphabetic() || c == '\''))
        .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
        .map(str::to_ascii_lowercase)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// One candidate filler in byte-level form.
fn candidate(words: &[String], pick: &mut impl FnMut(usize) -> usize) -> String {
    // Mostly single words (a trained vocabulary's tokens are rarely two words).
    let n_words = if pick(10) < 9 { 1 } else { 2 };
    let mut text = String::new();
    for i in 0..n_words {
        let word = &words[pick(words.len())];
        text.push('Ġ');
        if i == 0 && pick(10) == 0 {
            let mut chars = word.chars();
            text.extend(chars.next().map(|c| c.to_ascii_uppercase()));
            text.push_str(chars.as_str());
        } else {
            text.push_str(word);
        }
        if n_words == 1 {
            text.push_str(ENDINGS[pick(ENDINGS.len())]);
        }
    }
    text.push_str(match pick(50) {
        0..=5 => ",",
        6..=9 => ".",
        10 => "?",
        _ => "",
    });
    text
}

/// Whether the pre-tokenizer keeps `token` (byte-level, ASCII apart from `Ġ`) as one piece.
fn is_one_pre_token(token: &str, pre: &impl PreTokenizer) -> Result<bool, TestModelError> {
    let text = token.replace('Ġ', " ");
    let mut split = PreTokenizedString::from(text.as_str());
    pre.pre_tokenize(&mut split)
        .map_err(|e| TestModelError::Tokenizer(e.to_string()))?;
    let pieces = split.get_splits(OffsetReferential::Original, OffsetType::Byte);
    Ok(pieces.len() == 1 && pieces[0].0 == token)
}

/// The key of a merge in the rank table (no token holds a NUL).
fn pair_key(left: &str, right: &str) -> String {
    format!("{left}\0{right}")
}

/// Byte-level BPE on one pre-token, as `tokenizers` runs it: the lowest-ranked adjacent pair is
/// merged first (the leftmost on a tie), until no pair has a merge.
fn encode_word(word: &str, ranks: &HashMap<String, usize>) -> Vec<String> {
    let mut pieces: Vec<String> = word.chars().map(String::from).collect();
    let mut key = String::new();
    loop {
        let mut best: Option<(usize, usize)> = None;
        for (i, w) in pieces.windows(2).enumerate() {
            key.clear();
            key.push_str(&w[0]);
            key.push('\0');
            key.push_str(&w[1]);
            if let Some(&rank) = ranks.get(key.as_str()) {
                if best.is_none_or(|(lowest, _)| rank < lowest) {
                    best = Some((rank, i));
                }
            }
        }
        let Some((_, i)) = best else {
            return pieces;
        };
        let right = pieces.remove(i + 1);
        pieces[i].push_str(&right);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranks(merges: &[(&str, &str)]) -> HashMap<String, usize> {
        merges
            .iter()
            .enumerate()
            .map(|(r, (a, b))| (pair_key(a, b), r))
            .collect()
    }

    #[test]
    fn encode_word_merges_by_rank() {
        let r = ranks(&[("e", "r"), ("h", "i"), ("hi", "s"), ("s", "er")]);
        // "er" first (rank 0), then "hi", then "his"; "s"+"er" never meets an "s" and an "er".
        assert_eq!(encode_word("hiser", &r), ["his", "er"]);
        assert_eq!(encode_word("xyz", &r), ["x", "y", "z"]);
        assert_eq!(encode_word("hihi", &r), ["hi", "hi"]);
    }
}
