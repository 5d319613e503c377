//! A small, fully deterministic byte-level BPE trainer.
//!
//! `tokenizers`' own `BpeTrainer` keeps its word counts and merge candidates in randomly seeded
//! hash maps; when two candidate entries for one pair tie, which one it pops depends on that
//! seed, so its output is not guaranteed identical from one process to the next. This trainer
//! orders everything (words in a `BTreeMap`, ties broken by the pair's ids, exactly the rule the
//! HF trainer intends), and `tokenizers` still does all the tokenizing: it pre-tokenizes the
//! corpus here, and loads and runs the resulting model.

use std::collections::{BTreeMap, HashMap};

/// Vocabulary (token strings in id order) and merges (in rank order) of a trained BPE model.
pub(crate) struct TrainedBpe {
    /// The 256 byte-level symbols, then one token per merge.
    pub(crate) tokens: Vec<String>,
    /// Merge rules, highest priority first.
    pub(crate) merges: Vec<(String, String)>,
}

/// GPT-2's byte → printable-character table (the alphabet of every byte-level BPE).
pub(crate) fn byte_level_alphabet() -> Vec<char> {
    let printable = |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || b >= 174;
    let mut shifted = 0;
    let mut chars: Vec<char> = (0..256u32)
        .map(|b| {
            if printable(b) {
                char::from_u32(b).unwrap_or('?')
            } else {
                shifted += 1;
                char::from_u32(255 + shifted).unwrap_or('?')
            }
        })
        .collect();
    // Real byte-level vocabularies (GPT-2, Whisper, SmolLM2, Qwen2) list them by code point.
    chars.sort_unstable();
    chars
}

/// Learns up to `max_merges` merges from byte-level `words` (already pre-tokenized and mapped to
/// the byte-level alphabet) with their counts, keeping only pairs seen `min_frequency` times.
pub(crate) fn train(
    words: &BTreeMap<String, u64>,
    max_merges: usize,
    min_frequency: u64,
) -> TrainedBpe {
    let mut tokens: Vec<String> = byte_level_alphabet().iter().map(char::to_string).collect();
    let mut ids: HashMap<String, u32> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let mut symbols: Vec<(Vec<u32>, u64)> = words
        .iter()
        .map(|(word, &count)| {
            let syms = word
                .chars()
                .filter_map(|c| ids.get(c.to_string().as_str()).copied())
                .collect();
            (syms, count)
        })
        .collect();

    let mut pair_counts: HashMap<(u32, u32), u64> = HashMap::new();
    for (syms, count) in &symbols {
        add_pairs(&mut pair_counts, syms, *count, true);
    }

    let mut merges = Vec::new();
    while merges.len() < max_merges {
        // Highest count first; on a tie the smallest pair of ids, as the HF trainer orders them.
        let Some((&best, &count)) = pair_counts
            .iter()
            .filter(|(_, &c)| c > 0)
            .max_by(|(pa, ca), (pb, cb)| ca.cmp(cb).then(pb.cmp(pa)))
        else {
            break;
        };
        if count < min_frequency {
            break;
        }
        let (left, right) = (
            tokens[best.0 as usize].clone(),
            tokens[best.1 as usize].clone(),
        );
        let merged = format!("{left}{right}");
        let new_id = *ids.entry(merged.clone()).or_insert_with(|| {
            tokens.push(merged);
            (tokens.len() - 1) as u32
        });
        merges.push((left, right));
        for (syms, count) in symbols.iter_mut() {
            if !syms.windows(2).any(|w| (w[0], w[1]) == best) {
                continue;
            }
            add_pairs(&mut pair_counts, syms, *count, false);
            *syms = merge_pair(syms, best, new_id);
            add_pairs(&mut pair_counts, syms, *count, true);
        }
        pair_counts.retain(|_, c| *c > 0);
    }
    TrainedBpe { tokens, merges }
}

fn add_pairs(counts: &mut HashMap<(u32, u32), u64>, syms: &[u32], count: u64, add: bool) {
    for w in syms.windows(2) {
        let entry = counts.entry((w[0], w[1])).or_insert(0);
        *entry = if add {
            *entry + count
        } else {
            entry.saturating_sub(count)
        };
    }
}

fn merge_pair(syms: &[u32], pair: (u32, u32), new_id: u32) -> Vec<u32> {
    let mut out = Vec::with_capacity(syms.len());
    let mut i = 0;
    while i < syms.len() {
        if i + 1 < syms.len() && (syms[i], syms[i + 1]) == pair {
            out.push(new_id);
            i += 2;
        } else {
            out.push(syms[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_is_gpt2s() {
        let a = byte_level_alphabet();
        assert_eq!(a.len(), 256);
        assert_eq!(a[0], '!');
        // GPT-2 id 220 is "Ġ" (the space byte), id 188 is "Ā" (byte 0).
        assert_eq!(a[220], 'Ġ');
        assert_eq!(a[188], 'Ā');
    }

    #[test]
    fn learns_the_most_frequent_pairs_first() {
        let words: BTreeMap<String, u64> = [("Ġthe", 5), ("Ġthen", 2), ("cat", 1)]
            .into_iter()
            .map(|(w, c)| (w.to_string(), c))
            .collect();
        let bpe = train(&words, 10, 2);
        // "Ġt", "th" and "he" all occur 7 times: the tie goes to the smallest ids, ("h", "e").
        assert_eq!(bpe.merges[0], ("h".to_string(), "e".to_string()));
        assert!(bpe.tokens.contains(&"Ġthe".to_string()));
        assert!(
            !bpe.tokens.contains(&"ca".to_string()),
            "count 1 < min_frequency"
        );
    }
}
