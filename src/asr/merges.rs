//! Restoring BPE merges a `tokenizer.json` lost, from what its vocabulary implies.
//!
//! Whisper's vocabularies come from tiktoken, where a token's id is its merge rank: token `t`
//! (id `r`) is made by the one merge that BPE, using only the tokens of lower id, leaves as the
//! last step of encoding `t`'s own characters. Deriving that merge for every token reproduces
//! the merges of a correct Hugging Face `tokenizer.json` exactly (checked on whisper tiny.en and
//! base). Whisper base's published file lacks the very first, `Ġ t`, so `" the"` encodes as two
//! tokens there; [`repair_missing_merges`] finds such gaps and fills them in rank order.
//!
//! It changes nothing unless the file's merges are exactly the derived ones with some missing,
//! so a vocabulary made another way (a trained BPE that does not follow the rule) is left as is.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::AsrError;

/// What [`repair_missing_merges`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergesCheck {
    /// The merges are complete (or the file is not a byte-level BPE with a derivable vocabulary).
    Unchanged {
        /// Why nothing was changed.
        reason: String,
    },
    /// Merges were missing and have been inserted at their ranks.
    Repaired {
        /// The inserted merges, as `"left right"`.
        inserted: Vec<String>,
        /// The repaired `tokenizer.json`.
        json: Vec<u8>,
    },
}

/// Checks `tokenizer.json`'s BPE merges against its vocabulary and restores missing ones.
/// `name` labels errors.
pub fn repair_missing_merges(bytes: &[u8], name: &str) -> Result<MergesCheck, AsrError> {
    let err = |reason: String| AsrError::Tokenizer {
        name: name.to_string(),
        reason,
    };
    let unchanged = |reason: &str| {
        Ok(MergesCheck::Unchanged {
            reason: reason.to_string(),
        })
    };
    let mut root: Value =
        serde_json::from_slice(bytes).map_err(|e| err(format!("not valid JSON: {e}")))?;
    let added: HashSet<String> = root["added_tokens"]
        .as_array()
        .map(|tokens| {
            tokens
                .iter()
                .filter_map(|t| t["content"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let model = &root["model"];
    if model["type"] != "BPE" {
        return unchanged("not a BPE tokenizer");
    }
    let (Some(vocab), Some(merges)) = (model["vocab"].as_object(), model["merges"].as_array())
    else {
        return Err(err("a BPE model without vocab or merges".into()));
    };
    let as_strings = merges.first().is_none_or(Value::is_string);
    let existing: Vec<String> = merges
        .iter()
        .map(|m| match m {
            Value::String(s) => Some(s.clone()),
            Value::Array(pair) => match pair.as_slice() {
                [Value::String(a), Value::String(b)] => Some(format!("{a} {b}")),
                _ => None,
            },
            _ => None,
        })
        .collect::<Option<_>>()
        .ok_or_else(|| err("a merge is neither \"a b\" nor [\"a\", \"b\"]".into()))?;

    let mut ranks: HashMap<&str, u64> = HashMap::with_capacity(vocab.len());
    for (token, id) in vocab {
        let id = id
            .as_u64()
            .ok_or_else(|| err(format!("vocabulary entry {token:?} has no integer id")))?;
        ranks.insert(token.as_str(), id);
    }
    let Some(derived) = derive_merges(&ranks, &added) else {
        return unchanged("the vocabulary's ids are not merge ranks: nothing to derive from");
    };
    if derived == existing {
        return unchanged("every merge the vocabulary implies is present");
    }
    if !is_subsequence(&existing, &derived) {
        return unchanged("the merges differ from the vocabulary's in more than missing entries");
    }
    let present: HashSet<&String> = existing.iter().collect();
    let inserted: Vec<String> = derived
        .iter()
        .filter(|m| !present.contains(m))
        .cloned()
        .collect();
    let repaired: Vec<Value> = derived
        .iter()
        .map(|m| {
            if as_strings {
                Value::String(m.clone())
            } else {
                let (a, b) = m.split_once(' ').unwrap_or((m, ""));
                Value::Array(vec![a.into(), b.into()])
            }
        })
        .collect();
    root["model"]["merges"] = Value::Array(repaired);
    let json = serde_json::to_vec(&root).map_err(|e| err(e.to_string()))?;
    Ok(MergesCheck::Repaired { inserted, json })
}

/// The merge that makes each multi-character token (not an added token), in id order, as
/// `"left right"`; `None` when some token cannot be made by one merge of lower-id tokens.
fn derive_merges(ranks: &HashMap<&str, u64>, added: &HashSet<String>) -> Option<Vec<String>> {
    let mut tokens: Vec<(&str, u64)> = ranks
        .iter()
        .map(|(&t, &r)| (t, r))
        .filter(|(t, _)| t.chars().nth(1).is_some() && !added.contains(*t))
        .collect();
    tokens.sort_by_key(|&(_, r)| r);
    tokens
        .into_iter()
        .map(|(token, rank)| {
            let split = last_merge(token, rank, ranks)?;
            Some(format!("{} {}", &token[..split], &token[split..]))
        })
        .collect()
}

/// Byte-pair encodes `token` with the tokens ranked below `rank` (lowest rank first, as
/// tiktoken does) and returns where the final two parts meet, if exactly two remain.
fn last_merge(token: &str, rank: u64, ranks: &HashMap<&str, u64>) -> Option<usize> {
    // Part boundaries as byte offsets into `token`; the parts are always contiguous substrings.
    let mut bounds: Vec<usize> = token.char_indices().map(|(i, _)| i).collect();
    bounds.push(token.len());
    loop {
        let best = (0..bounds.len() - 2)
            .filter_map(|i| {
                let r = *ranks.get(&token[bounds[i]..bounds[i + 2]])?;
                (r < rank).then_some((r, i))
            })
            .min();
        match best {
            Some((_, i)) => {
                bounds.remove(i + 1);
            }
            None => break,
        }
    }
    (bounds.len() == 3).then_some(bounds[1])
}

/// Whether `short` is `long` with some entries left out (order kept).
fn is_subsequence(short: &[String], long: &[String]) -> bool {
    let mut rest = long.iter();
    short.iter().all(|s| rest.any(|l| l == s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer(merges: &[&str]) -> Vec<u8> {
        let vocab = serde_json::json!({"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "bc": 5});
        serde_json::to_vec(&serde_json::json!({
            "added_tokens": [{"id": 6, "content": "<|x|>"}],
            "model": {"type": "BPE", "vocab": vocab, "merges": merges},
        }))
        .unwrap()
    }

    #[test]
    fn a_missing_merge_is_restored_at_its_rank() {
        let fixed = repair_missing_merges(&tokenizer(&["ab c", "b c"]), "t").unwrap();
        let MergesCheck::Repaired { inserted, json } = fixed else {
            panic!("{fixed:?}")
        };
        assert_eq!(inserted, ["a b"]);
        let v: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            v["model"]["merges"],
            serde_json::json!(["a b", "ab c", "b c"])
        );
    }

    #[test]
    fn complete_or_foreign_merges_are_left_alone() {
        let complete = repair_missing_merges(&tokenizer(&["a b", "ab c", "b c"]), "t").unwrap();
        assert!(
            matches!(complete, MergesCheck::Unchanged { .. }),
            "{complete:?}"
        );
        // "b c" before "a b" is not what the ids imply: not ours to rewrite.
        let foreign = repair_missing_merges(&tokenizer(&["b c", "a b"]), "t").unwrap();
        assert!(
            matches!(foreign, MergesCheck::Unchanged { .. }),
            "{foreign:?}"
        );
    }

    #[test]
    fn pair_merges_keep_their_form() {
        let json = serde_json::to_vec(&serde_json::json!({
            "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "abb": 3},
                      "merges": [["ab", "b"]]},
        }))
        .unwrap();
        let MergesCheck::Repaired { json, .. } = repair_missing_merges(&json, "t").unwrap() else {
            panic!()
        };
        let v: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            v["model"]["merges"],
            serde_json::json!([["a", "b"], ["ab", "b"]])
        );
        let bad = repair_missing_merges(b"{", "tok.json")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("tok.json"), "{bad}");
    }
}
