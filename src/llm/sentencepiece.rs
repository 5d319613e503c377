//! Gemma's SentencePiece vocabulary (`tokenizer.ggml.model = "llama"`) as a `tokenizer.json`
//! document, so it runs on the same `tokenizers` engine as the byte-level BPE files.
//!
//! A GGUF stores a SentencePiece vocabulary as tokens, scores and token types, without merges. The
//! reference is Hugging Face transformers' GGUF loader (`gemma_tokenizer` and `generate_merges` in
//! <https://github.com/huggingface/transformers/blob/main/src/transformers/integrations/gguf/gguf_tokenizer_mapping.py>),
//! which gives Gemma's official `tokenizer.json` shape: a BPE with byte fallback whose merges are
//! every split of a token into two tokens, ranked by the merged token's position in the file
//! (Gemma's scores do not follow its merge order; the file's order does). Spaces become `▁` in a
//! normalizer; the decoder undoes that and joins the `<0xNN>` byte tokens back into UTF-8.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{json, Value};

/// SentencePiece's visible space.
const SPACE: char = '\u{2581}';

/// Architectures whose SentencePiece vocabulary this module knows how to rebuild.
pub(super) fn is_gemma(architecture: &str) -> bool {
    matches!(architecture, "gemma" | "gemma2" | "gemma3")
}

/// Gemma files store the tokens made only of spaces with real spaces (`"  "`), while the model's
/// text is normalized to `▁`: respell them so that text can reach them.
pub(super) fn respell(tokens: &[&str]) -> Vec<String> {
    tokens.iter().map(|t| respelled(t).into_owned()).collect()
}

/// One token as [`respell`] spells it.
pub(super) fn respelled(token: &str) -> Cow<'_, str> {
    if !token.is_empty() && token.chars().all(|c| c == ' ') {
        Cow::Owned(SPACE.to_string().repeat(token.chars().count()))
    } else {
        Cow::Borrowed(token)
    }
}

/// Every way to cut a token into two tokens of the vocabulary, best first: the merged token's
/// position in the file, then the longer left part (transformers' `generate_merges` order).
pub(super) fn merges(tokens: &[String]) -> Vec<[&str; 2]> {
    // The last of duplicate spellings wins, as in a Python dict.
    let ids: HashMap<&str, usize> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut out = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        // A duplicate spelling is ranked once, at its last position.
        if ids[token.as_str()] != i {
            continue;
        }
        let mut local: Vec<[&str; 2]> = token
            .char_indices()
            .skip(1)
            .map(|(at, _)| [&token[..at], &token[at..]])
            .filter(|[l, r]| ids.contains_key(l) && ids.contains_key(r))
            .collect();
        // Longer left part first (for one merged token the parts' lengths add up to its own).
        local.sort_by_key(|[l, _]| std::cmp::Reverse(l.chars().count()));
        out.extend(local);
    }
    out
}

/// The model, normalizer, pre-tokenizer and decoder of Gemma's `tokenizer.json`.
pub(super) fn gemma_parts(tokens: &[String], unk: Option<&str>) -> [Value; 4] {
    let vocab: serde_json::Map<String, Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), json!(i)))
        .collect();
    let merges = merges(tokens);
    let model = json!({
        "type": "BPE", "dropout": null, "unk_token": unk, "continuing_subword_prefix": null,
        "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
        "vocab": vocab, "merges": merges
    });
    let normalizer =
        json!({"type": "Replace", "pattern": {"String": " "}, "content": SPACE.to_string()});
    let pre_tokenizer = json!({"type": "Split", "pattern": {"String": " "},
                               "behavior": "MergedWithPrevious", "invert": false});
    let decoder = json!({"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": SPACE.to_string()}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"}
    ]});
    [model, normalizer, pre_tokenizer, decoder]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_of_spaces_are_respelled_and_others_kept() {
        let tokens = respell(&["  ", "a b", " ", "x"]);
        assert_eq!(tokens, ["\u{2581}\u{2581}", "a b", "\u{2581}", "x"]);
    }

    #[test]
    fn merges_follow_the_file_order_then_the_longer_left_part() {
        // "abc" (id 3) comes before "ab" (id 4) in the file, so its merges rank first; of its
        // splits, "ab"+"c" (left of 2) before "a"+"bc" (left of 1). "zz" has no parts.
        let tokens: Vec<String> = ["a", "b", "c", "abc", "ab", "bc", "zz"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let merges = merges(&tokens);
        assert_eq!(merges, [["ab", "c"], ["a", "bc"], ["a", "b"], ["b", "c"]]);
    }
}
