//! Accuracy evaluation (native only): openai-whisper's English text normalizer, word error rate,
//! runaway detection, and the real-speech test set (`cargo xtask speech-set`) with its reference
//! transcripts.
//!
//! WER here is computed as Whisper's papers and the figures compute it: both texts through
//! [`EnglishTextNormalizer`], then word-level edit distance, summed over a corpus and divided by
//! the reference's word count.

mod normalizer;
mod numbers;
pub mod speech_set;
mod wer;

pub use normalizer::EnglishTextNormalizer;
pub use numbers::EnglishNumberNormalizer;
pub use speech_set::{ReferenceTranscript, SpeechFile, SpeechSet};
pub use wer::{
    runaway, word_edits, CorpusWer, Runaway, LOOP_REPEATS, MAX_LOOP_NGRAM, MAX_WORDS_PER_SECOND,
    WORD_SLACK,
};
