//! Whisper's tokenizer (`tokenizer.json`), its special tokens, and UTF-8-safe incremental text.

use tokenizers::Tokenizer;

use super::{AsrError, Config};

/// The special token ids Whisper's decoding rules need, read from the tokenizer itself.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecialTokens {
    /// `<|endoftext|>`.
    pub eot: u32,
    /// `<|startoftranscript|>`.
    pub sot: u32,
    /// `<|transcribe|>`.
    pub transcribe: u32,
    /// `<|translate|>`.
    pub translate: u32,
    /// `<|notimestamps|>`.
    pub no_timestamps: u32,
    /// `<|nospeech|>` (or `<|nocaptions|>` in older vocabularies), when present.
    pub no_speech: Option<u32>,
    /// `<|startofprev|>`, when present.
    pub start_of_prev: Option<u32>,
    /// `<|startoflm|>`, when present.
    pub start_of_lm: Option<u32>,
    /// The first timestamp token, `<|0.00|>`; every id from here up is a timestamp.
    pub timestamp_begin: u32,
    /// Language codes and their token ids (empty for English-only models, whatever their
    /// `tokenizer.json` lists).
    pub languages: Vec<(String, u32)>,
}

/// Vocabulary size of Whisper's English-only checkpoints (`tiny.en` ... `medium.en`): GPT-2's
/// byte-level BPE (end-of-text at 50256) and Whisper's special tokens.
pub const ENGLISH_ONLY_VOCAB_SIZE: usize = 51864;

/// Whether a checkpoint is multilingual, as openai-whisper decides: by the size of the model's
/// vocabulary (`is_multilingual = n_vocab >= 51865`,
/// <https://github.com/openai/whisper/blob/main/whisper/model.py#L295>), never by the tokenizer,
/// since the `tokenizer.json` published with the English-only checkpoints lists the language
/// tokens too. Vocabularies smaller than any real Whisper's (the pruned test models) have no size
/// to go by; they are multilingual when their tokenizer has language tokens.
pub fn is_multilingual_vocab(vocab_size: usize, has_language_tokens: bool) -> bool {
    if vocab_size >= ENGLISH_ONLY_VOCAB_SIZE {
        vocab_size > ENGLISH_ONLY_VOCAB_SIZE
    } else {
        has_language_tokens
    }
}

/// A Whisper tokenizer checked against the model's config.
pub struct WhisperTokenizer {
    tokenizer: Tokenizer,
    /// The special tokens.
    pub special: SpecialTokens,
}

impl WhisperTokenizer {
    /// Parses `tokenizer.json` and checks it belongs to the model described by `cfg`.
    pub fn from_bytes(bytes: &[u8], name: &str, cfg: &Config) -> Result<Self, AsrError> {
        let err = |reason: String| AsrError::Tokenizer {
            name: name.to_string(),
            reason,
        };
        let tokenizer = crate::tokenizer_from_json(bytes)
            .map_err(|e| err(format!("not a valid tokenizer.json: {e}")))?;
        let id = |token: &str| {
            tokenizer
                .token_to_id(token)
                .ok_or_else(|| err(format!("not a Whisper tokenizer: it has no {token} token")))
        };
        let (eot, sot) = (id("<|endoftext|>")?, id("<|startoftranscript|>")?);
        let size = tokenizer.get_vocab_size(true);
        if sot != cfg.decoder_start_token_id || eot != cfg.eos_token_id || size > cfg.vocab_size {
            return Err(err(format!(
                "tokenizer of another vocabulary: {size} tokens with <|startoftranscript|> = {sot} and \
                 <|endoftext|> = {eot}, but the model has {} tokens with {} and {}",
                cfg.vocab_size, cfg.decoder_start_token_id, cfg.eos_token_id
            )));
        }
        let (transcribe, translate) = (id("<|transcribe|>")?, id("<|translate|>")?);
        let no_timestamps = id("<|notimestamps|>")?;
        let mut languages: Vec<(String, u32)> = (sot + 1..translate)
            .filter_map(|i| {
                let token = tokenizer.id_to_token(i)?;
                let code = token.strip_prefix("<|")?.strip_suffix("|>")?.to_string();
                Some((code, i))
            })
            .collect();
        if !is_multilingual_vocab(cfg.vocab_size, !languages.is_empty()) {
            languages.clear();
        }
        let special = SpecialTokens {
            eot,
            sot,
            transcribe,
            translate,
            no_timestamps,
            no_speech: tokenizer
                .token_to_id("<|nospeech|>")
                .or_else(|| tokenizer.token_to_id("<|nocaptions|>")),
            start_of_prev: tokenizer.token_to_id("<|startofprev|>"),
            start_of_lm: tokenizer.token_to_id("<|startoflm|>"),
            timestamp_begin: no_timestamps + 1,
            languages,
        };
        Ok(Self { tokenizer, special })
    }

    /// Whether the model is multilingual ([`is_multilingual_vocab`]); English-only models get no
    /// language or task tokens in their prompt.
    pub fn is_multilingual(&self) -> bool {
        !self.special.languages.is_empty()
    }

    /// The token id of a language code such as `en`.
    pub fn language_token(&self, code: &str) -> Option<u32> {
        self.special
            .languages
            .iter()
            .find(|(c, _)| c == code)
            .map(|&(_, id)| id)
    }

    /// The language code of a language token id.
    pub fn language_code(&self, token: u32) -> Option<&str> {
        self.special
            .languages
            .iter()
            .find(|&&(_, id)| id == token)
            .map(|(c, _)| c.as_str())
    }

    /// Text of the tokens below `<|endoftext|>`; special and timestamp tokens are skipped.
    pub fn decode_text(&self, tokens: &[u32]) -> Result<String, AsrError> {
        let text: Vec<u32> = tokens
            .iter()
            .copied()
            .filter(|&t| t < self.special.eot)
            .collect();
        self.tokenizer
            .decode(&text, true)
            .map_err(|e| AsrError::Tokenizer {
                name: "tokenizer".into(),
                reason: e.to_string(),
            })
    }

    /// Token ids of `text` (no special tokens added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, AsrError> {
        let enc = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| AsrError::Tokenizer {
                name: "tokenizer".into(),
                reason: e.to_string(),
            })?;
        Ok(enc.get_ids().to_vec())
    }
}

/// Turns a growing token sequence into text pieces, never splitting a UTF-8 character: a token
/// that ends mid-character (byte-level BPE) is held back until the character completes.
#[derive(Default)]
pub struct TextStream {
    tokens: Vec<u32>,
    emitted: usize,
}

impl TextStream {
    /// A stream with no tokens yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a token; returns the newly completed text, if any.
    pub fn push(
        &mut self,
        tokenizer: &WhisperTokenizer,
        token: u32,
    ) -> Result<Option<String>, AsrError> {
        if token >= tokenizer.special.eot {
            return Ok(None);
        }
        self.tokens.push(token);
        let text = tokenizer.decode_text(&self.tokens)?;
        if text.ends_with('\u{FFFD}')
            || text.len() <= self.emitted
            || !text.is_char_boundary(self.emitted)
        {
            return Ok(None);
        }
        let piece = text[self.emitted..].to_string();
        self.emitted = text.len();
        Ok(Some(piece))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multilingual_is_decided_by_vocabulary_size() {
        // tiny.en ... medium.en: English-only even when the tokenizer lists languages.
        assert!(!is_multilingual_vocab(51864, true));
        assert!(!is_multilingual_vocab(51864, false));
        // tiny ... large-v2 (51865) and large-v3 (51866).
        assert!(is_multilingual_vocab(51865, true));
        assert!(is_multilingual_vocab(51866, true));
        // Pruned test vocabularies follow their tokens.
        assert!(is_multilingual_vocab(512, true));
        assert!(!is_multilingual_vocab(512, false));
    }
}
