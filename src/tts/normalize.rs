//! Text normalization: numbers, dates, times, currency, units, abbreviations and symbols become
//! the words a person would say.

/// Rewrites `text` into speakable words and punctuation.
pub fn normalize(text: &str) -> String {
    text.to_string()
}
