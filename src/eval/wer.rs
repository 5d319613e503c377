//! Word error rate, and what counts as a runaway transcript.

/// Word-level Levenshtein distance: the fewest substitutions, deletions and insertions that turn
/// `reference` into `hypothesis`.
pub fn word_edits<S: AsRef<str>>(reference: &[S], hypothesis: &[S]) -> usize {
    let mut row: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let substitution = diagonal + usize::from(r.as_ref() != h.as_ref());
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[hypothesis.len()]
}

/// Corpus WER: total edits over total reference words (not a mean of per-file rates).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorpusWer {
    /// Edits summed over the files.
    pub edits: usize,
    /// Reference words summed over the files.
    pub reference_words: usize,
}

impl CorpusWer {
    /// Adds one file's normalized words; returns that file's edits.
    pub fn add<S: AsRef<str>>(&mut self, reference: &[S], hypothesis: &[S]) -> usize {
        let edits = word_edits(reference, hypothesis);
        self.edits += edits;
        self.reference_words += reference.len();
        edits
    }

    /// Edits per reference word (0 for an empty corpus).
    pub fn rate(&self) -> f64 {
        if self.reference_words == 0 {
            0.0
        } else {
            self.edits as f64 / self.reference_words as f64
        }
    }
}

/// A generous speaking rate: 5 words a second is 300 words a minute, faster than any announcer.
pub const MAX_WORDS_PER_SECOND: f64 = 5.0;
/// Slack for very short audio ("Okay, thanks, bye." fits in half a second).
pub const WORD_SLACK: usize = 3;
/// A phrase of up to this many words repeated back to back is a loop...
pub const MAX_LOOP_NGRAM: usize = 10;
/// ...when it occurs this many times in a row.
pub const LOOP_REPEATS: usize = 3;

/// Why a transcript counts as runaway (decoding that kept going past what was said).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runaway {
    /// More words than `seconds` of audio can hold at [`MAX_WORDS_PER_SECOND`] (plus
    /// [`WORD_SLACK`]).
    TooManyWords {
        /// Words in the transcript (whitespace-separated, before normalization).
        words: usize,
        /// The most the audio can hold.
        limit: usize,
    },
    /// A phrase of at most [`MAX_LOOP_NGRAM`] words repeated [`LOOP_REPEATS`] or more times in a
    /// row (compared on normalized words).
    Loop {
        /// The repeated phrase.
        phrase: String,
        /// How many times in a row.
        repeats: usize,
    },
}

/// Checks a transcript of `seconds` of audio: `text` as the recognizer wrote it, `normalized_words`
/// the same text's normalized words. `None` when it is not runaway.
pub fn runaway<S: AsRef<str>>(text: &str, normalized_words: &[S], seconds: f64) -> Option<Runaway> {
    let words = text.split_whitespace().count();
    let limit = (seconds.max(0.0) * MAX_WORDS_PER_SECOND).ceil() as usize + WORD_SLACK;
    if words > limit {
        return Some(Runaway::TooManyWords { words, limit });
    }
    let w = normalized_words;
    for n in 1..=MAX_LOOP_NGRAM {
        for start in 0..w.len() {
            let mut repeats = 1;
            while start + (repeats + 1) * n <= w.len()
                && (0..n).all(|k| w[start + k].as_ref() == w[start + repeats * n + k].as_ref())
            {
                repeats += 1;
            }
            if repeats >= LOOP_REPEATS {
                let phrase: Vec<&str> = w[start..start + n].iter().map(AsRef::as_ref).collect();
                return Some(Runaway::Loop {
                    phrase: phrase.join(" "),
                    repeats,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    #[test]
    fn edits_count_substitutions_deletions_and_insertions() {
        assert_eq!(word_edits(&words("a b c"), &words("a b c")), 0);
        assert_eq!(word_edits(&words("a b c"), &words("a x c")), 1);
        assert_eq!(word_edits(&words("a b c"), &words("a c")), 1);
        assert_eq!(word_edits(&words("a b c"), &words("a b c d e")), 2);
        assert_eq!(word_edits(&words("a b c"), &words("")), 3);
        assert_eq!(word_edits(&words(""), &words("x y")), 2);
        assert_eq!(word_edits(&words("the cat sat"), &words("cat sat the")), 2);
    }

    #[test]
    fn corpus_wer_is_total_edits_over_total_words() {
        let mut wer = CorpusWer::default();
        wer.add(&words("a b c d"), &words("a b c d"));
        wer.add(&words("e f"), &words("x"));
        assert_eq!((wer.edits, wer.reference_words), (2, 6));
        assert!((wer.rate() - 2.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn runaway_catches_loops_and_overlong_text_only() {
        let sentence = "what time is it in tokyo right now";
        assert_eq!(runaway(sentence, &words(sentence), 2.8), None);
        let twice = format!("{sentence} {sentence}");
        assert_eq!(runaway(&twice, &words(&twice), 2.8), None);
        let thrice = format!("{twice} {sentence}");
        assert!(matches!(
            runaway(&thrice, &words(&thrice), 10.0),
            Some(Runaway::Loop { repeats: 3, .. })
        ));
        assert_eq!(
            runaway(&thrice, &words(&thrice), 2.8),
            Some(Runaway::TooManyWords {
                words: 24,
                limit: 17
            })
        );
        assert!(runaway("no no no", &words("no no no"), 5.0).is_some());
    }
}
