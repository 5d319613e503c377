//! Real byte-level BPE `tokenizer.json` files, trained on the embedded English corpus.
//!
//! Three layouts mirror the models the project runs: SmolLM2 (specials first, digits split one
//! by one), Qwen2 (NFC, Qwen's split regex, specials last) and Whisper (GPT-2 regex, then
//! Whisper's 1608 special tokens in their real order). Real-shape models pad the vocabulary with
//! filler tokens so the special tokens land on their real ids; the fillers are corpus words (see
//! [`super::fillers`]), so that the text a model with random weights produces reads like words and
//! sentences: the chunker then cuts speech and the next model reads it back at a realistic number
//! of tokens per word.

use std::collections::{BTreeMap, HashSet};

use serde_json::json;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, OffsetReferential, OffsetType,
    PostProcessorWrapper, PreTokenizedString, PreTokenizer, PreTokenizerWrapper, Tokenizer,
};

use super::bpe::{self, TrainedBpe};
use super::fillers;
use super::TestModelError;

/// The English text every test tokenizer is trained on (conversational on purpose, so prompts
/// such as "hello, how are you today?" take a sensible number of tokens).
pub const CORPUS: &str = include_str!("corpus.txt");

/// Qwen2's pre-tokenizer regex (as in Qwen2.5's `tokenizer.json`).
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Merges learned for the tiny LLM tokenizers: 256 bytes + 765 merges + 3 specials = 1024 ids.
pub(crate) const LLM_MERGES: usize = 765;
/// Merges learned for the tiny Whisper tokenizer: 256 bytes + 768 merges = 1024 BPE ids.
pub(crate) const WHISPER_MERGES: usize = 768;

/// Which real tokenizer a generated one imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenizerKind {
    /// SmolLM2 / StarCoder style: `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` are ids 0, 1, 2.
    SmolLm2,
    /// Qwen2 / Qwen2.5 / Qwen3 style: the three ChatML specials come after the BPE vocabulary.
    Qwen2,
    /// Whisper (multilingual): BPE vocabulary, then `<|endoftext|>` … `<|30.00|>`.
    Whisper,
}

/// A trained tokenizer, with what GGUF metadata and model configs need from it.
pub(crate) struct BuiltTokenizer {
    /// The `tokenizers` object (already validated by a round trip through its JSON).
    pub(crate) tokenizer: Tokenizer,
    /// The `tokenizer.json` text.
    pub(crate) json: String,
    /// Every token string, indexed by id (specials included).
    pub(crate) tokens: Vec<String>,
    /// Whether each id is a special (control) token.
    pub(crate) special: Vec<bool>,
    /// Merges as GGUF stores them: `"left right"`, highest priority first.
    pub(crate) merges: Vec<String>,
}

impl BuiltTokenizer {
    /// The id of a token that must exist (specials, single characters).
    pub(crate) fn id(&self, token: &str) -> Result<u32, TestModelError> {
        self.tokenizer
            .token_to_id(token)
            .ok_or_else(|| TestModelError::Tokenizer(format!("token {token:?} is missing")))
    }

    /// Number of ids, specials included.
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }
}

/// Whisper's 99 language codes in token order (`<|en|>` is the first language token).
pub(crate) const WHISPER_LANGUAGES: [&str; 99] = [
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it",
    "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur",
    "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn",
    "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si",
    "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
    "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln",
    "ha", "ba", "jw", "su",
];

/// Whisper's special tokens in id order: 1 + 1 + 99 + 6 + 1501 = 1608 tokens.
pub(crate) fn whisper_specials() -> Vec<String> {
    let mut specials = vec![
        "<|endoftext|>".to_string(),
        "<|startoftranscript|>".to_string(),
    ];
    specials.extend(WHISPER_LANGUAGES.iter().map(|l| format!("<|{l}|>")));
    for s in [
        "translate",
        "transcribe",
        "startoflm",
        "startofprev",
        "nospeech",
        "notimestamps",
    ] {
        specials.push(format!("<|{s}|>"));
    }
    // <|0.00|> … <|30.00|> in 20 ms steps, formatted like Whisper ("%.2f").
    specials.extend((0..=1500).map(|i| format!("<|{}.{:02}|>", i / 50, (i % 50) * 2)));
    specials
}

fn specials_of(kind: TokenizerKind) -> Vec<String> {
    match kind {
        TokenizerKind::SmolLm2 | TokenizerKind::Qwen2 => {
            ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
                .map(String::from)
                .to_vec()
        }
        TokenizerKind::Whisper => whisper_specials(),
    }
}

fn pre_tokenizer_json(kind: TokenizerKind) -> serde_json::Value {
    let byte_level = |use_regex: bool, trim_offsets: bool| json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": trim_offsets, "use_regex": use_regex});
    match kind {
        TokenizerKind::SmolLm2 => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true}, byte_level(true, true)]}),
        TokenizerKind::Qwen2 => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": false},
            byte_level(false, false)]}),
        TokenizerKind::Whisper => byte_level(true, true),
    }
}

fn parse<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, TestModelError> {
    serde_json::from_value(value).map_err(|e| TestModelError::Tokenizer(e.to_string()))
}

fn tokenizer_error(e: impl std::fmt::Display) -> TestModelError {
    TestModelError::Tokenizer(e.to_string())
}

/// Counts the corpus's pre-tokenized words, exactly as the finished tokenizer will split text.
fn corpus_words(pre: &PreTokenizerWrapper) -> Result<BTreeMap<String, u64>, TestModelError> {
    let mut words = BTreeMap::new();
    for line in CORPUS.lines() {
        let mut text = PreTokenizedString::from(line);
        pre.pre_tokenize(&mut text).map_err(tokenizer_error)?;
        for (word, _, _) in text.get_splits(OffsetReferential::Original, OffsetType::Byte) {
            *words.entry(word.to_string()).or_insert(0) += 1;
        }
    }
    Ok(words)
}

/// Trains and assembles a tokenizer. `regular_end`, when given, pads the regular (non-trailing-
/// special) ids with filler tokens up to that id, for real-shape vocabularies (see [`fillers`]).
pub(crate) fn build(
    kind: TokenizerKind,
    merges_wanted: usize,
    regular_end: Option<usize>,
) -> Result<BuiltTokenizer, TestModelError> {
    let pre: PreTokenizerWrapper = parse(pre_tokenizer_json(kind))?;
    let TrainedBpe {
        tokens: bpe_tokens,
        mut merges,
    } = bpe::train(&corpus_words(&pre)?, merges_wanted, 2);
    if merges.len() < merges_wanted {
        return Err(TestModelError::Tokenizer(format!(
            "the corpus yields only {} merges, {merges_wanted} wanted",
            merges.len()
        )));
    }

    let specials = specials_of(kind);
    let leading = kind == TokenizerKind::SmolLm2;
    let mut tokens: Vec<String> = if leading {
        specials.clone()
    } else {
        Vec::new()
    };
    tokens.extend(bpe_tokens);
    let end = regular_end.unwrap_or(tokens.len());
    if end < tokens.len() {
        return Err(TestModelError::Tokenizer(format!(
            "vocabulary of {} tokens does not fit below id {end}",
            tokens.len()
        )));
    }
    let taken: HashSet<String> = tokens.iter().cloned().collect();
    let fillers = fillers::make(end - tokens.len(), &taken, &merges, &pre)?;
    tokens.extend(fillers.tokens);
    merges.extend(fillers.merges);
    let trailing = if leading {
        Vec::new()
    } else {
        specials.clone()
    };

    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let mut model = BPE::builder().vocab_and_merges(vocab, merges.clone());
    if kind == TokenizerKind::Whisper {
        model = model
            .continuing_subword_prefix(String::new())
            .end_of_word_suffix(String::new());
    }
    let model = model.build().map_err(tokenizer_error)?;
    let mut tokenizer = Tokenizer::new(model);
    if kind == TokenizerKind::Qwen2 {
        let nfc: NormalizerWrapper = parse(json!({"type": "NFC"}))?;
        tokenizer
            .with_normalizer(Some(nfc))
            .map_err(tokenizer_error)?;
    }
    tokenizer.with_pre_tokenizer(Some(pre));
    let decoder: DecoderWrapper = parse(
        json!({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}),
    )?;
    tokenizer.with_decoder(Some(decoder));
    let specials_added: Vec<AddedToken> = specials
        .iter()
        .map(|s| AddedToken::from(s.clone(), true))
        .collect();
    tokenizer
        .add_special_tokens(specials_added)
        .map_err(tokenizer_error)?;
    tokens.extend(trailing);
    let post: PostProcessorWrapper = parse(post_processor_json(kind, &tokenizer)?)?;
    tokenizer.with_post_processor(Some(post));

    // Reload from the JSON: what the files hold is what the checks below (and users) see.
    let json = tokenizer.to_string(true).map_err(tokenizer_error)?;
    let tokenizer: Tokenizer = json.parse().map_err(tokenizer_error)?;
    for (id, token) in tokens.iter().enumerate() {
        if tokenizer.token_to_id(token) != Some(id as u32) {
            return Err(TestModelError::Tokenizer(format!(
                "token {token:?} did not land on id {id}"
            )));
        }
    }
    let special_set: HashSet<&String> = specials.iter().collect();
    let special = tokens.iter().map(|t| special_set.contains(t)).collect();
    Ok(BuiltTokenizer {
        tokenizer,
        json,
        tokens,
        special,
        merges: merges.iter().map(|(l, r)| format!("{l} {r}")).collect(),
    })
}

fn post_processor_json(
    kind: TokenizerKind,
    tokenizer: &Tokenizer,
) -> Result<serde_json::Value, TestModelError> {
    if kind != TokenizerKind::Whisper {
        return Ok(
            json!({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}),
        );
    }
    // transformers' WhisperConverter: <|startoftranscript|><|notimestamps|> $A <|endoftext|>.
    let id = |t: &str| {
        tokenizer
            .token_to_id(t)
            .ok_or_else(|| TestModelError::Tokenizer(format!("{t} missing")))
    };
    let (sot, nots, eot) = (
        id("<|startoftranscript|>")?,
        id("<|notimestamps|>")?,
        id("<|endoftext|>")?,
    );
    let special = |t: &str, type_id: u32| json!({"SpecialToken": {"id": t, "type_id": type_id}});
    let seq = |s: &str, type_id: u32| json!({"Sequence": {"id": s, "type_id": type_id}});
    Ok(json!({
        "type": "TemplateProcessing",
        "single": [special("<|startoftranscript|>", 0), special("<|notimestamps|>", 0), seq("A", 0),
                   special("<|endoftext|>", 0)],
        "pair": [special("<|startoftranscript|>", 0), special("<|notimestamps|>", 0), seq("A", 0),
                 seq("B", 1), special("<|endoftext|>", 1)],
        "special_tokens": {
            "<|endoftext|>": {"id": "<|endoftext|>", "ids": [eot], "tokens": ["<|endoftext|>"]},
            "<|notimestamps|>": {"id": "<|notimestamps|>", "ids": [nots], "tokens": ["<|notimestamps|>"]},
            "<|startoftranscript|>": {"id": "<|startoftranscript|>", "ids": [sot],
                                      "tokens": ["<|startoftranscript|>"]}
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_vocabularies_put_specials_on_their_real_ids() {
        let qwen = build(TokenizerKind::Qwen2, LLM_MERGES, Some(151_643)).unwrap();
        assert_eq!(qwen.len(), 151_646);
        assert_eq!(qwen.id("<|endoftext|>").unwrap(), 151_643);
        assert_eq!(qwen.id("<|im_start|>").unwrap(), 151_644);
        assert_eq!(qwen.id("<|im_end|>").unwrap(), 151_645);
        let whisper = build(TokenizerKind::Whisper, WHISPER_MERGES, Some(50_257)).unwrap();
        assert_eq!(whisper.len(), 51_865);
        assert_eq!(whisper.id("<|startoftranscript|>").unwrap(), 50_258);
        assert_eq!(whisper.id("<|notimestamps|>").unwrap(), 50_363);
        // Fillers read as words; a filler that the pre-tokenizer keeps whole is reachable, as a
        // real vocabulary's words are: its text encodes to its own id.
        let filler = whisper
            .tokenizer
            .decode(&[2000, 2001, 2002], false)
            .unwrap();
        assert!(filler.starts_with(' ') && filler.split_whitespace().count() >= 3);
        let mut whole_words = 0;
        for id in (1024..50_257).step_by(7) {
            let token = &whisper.tokens[id as usize];
            if !token[2..].chars().all(|c| c.is_ascii_alphabetic()) || !token.starts_with('Ġ') {
                continue;
            }
            whole_words += 1;
            let text = whisper.tokenizer.decode(&[id], false).unwrap();
            let ids = whisper.tokenizer.encode(text.as_str(), false).unwrap();
            assert_eq!(ids.get_ids(), [id], "{token:?}");
        }
        assert!(whole_words > 3_000, "{whole_words} single-word fillers");
    }
}
