//! How much of a reply the voice speaks.
//!
//! A small chat model asked for "one or two sentences" still writes numbered lists of 150 words,
//! and a listener cannot skim. So the assistant, not only the system prompt, keeps spoken replies
//! short: the voice stops after a number of sentences or of reply tokens, whichever comes first,
//! at the end of a whole sentence (or of a chunk the voice already spoke). By default the model
//! then stops too and the conversation keeps the reply as spoken, so the next turn's prompt
//! shows the model short answers; with [`ReplyPolicy::full_text`] the model writes on for the
//! text box, silently. Markdown is never read aloud: the chunker turns it into speakable text
//! (headings, emphasis, list markers and code are dropped; a list item is a sentence).
//!
//! Typed chat (`sotto chat`, the npm `ChatModel`) does not go through the assistant and is not
//! limited. The defaults come from measuring SmolLM2-135M-Instruct on spoken questions (see the
//! `reply_length` example).

use super::AssistantEvent;
use crate::tts::chunker::{Chunk, Chunker};

/// Limits on the spoken part of a reply (settings: `AssistantConfig::reply`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplyPolicy {
    /// The voice stops after this many sentences (a list item or a line counts as one); 0 for
    /// no limit.
    pub max_sentences: u32,
    /// The voice stops once the reply has this many tokens, after the last chunk it spoke (the
    /// text shown so far is kept); 0 for no limit.
    pub max_tokens: u32,
    /// Whether the model writes the whole reply for the text box once the voice has stopped
    /// (the rest is shown, not spoken). Off: the model stops with the voice.
    pub full_text: bool,
}

/// Sentences spoken by default. Measured with SmolLM2-135M-Instruct (Q4_1 weights, requantized
/// to q8_0) on the 32 spoken questions of `examples/reply_length_questions.txt`, the browser's
/// sampling and system prompt ("one or two sentences"): replies had 1/2/3/4+ sentences 8/13/7/4
/// times (60 tokens at the median, 115 at p90, up to the 200-token cap); of the 30 replies that
/// answered at all, the first sentence held the whole answer in 23, two sentences in 27, three in
/// 30. Two sentences keep 90% of the answers and cut the mean time to the end of the spoken reply
/// from 24.6 s to 20.3 s (p90 33.6 s to 29.1 s), the rest being digressions and lists.
pub const DEFAULT_MAX_SENTENCES: u32 = 2;
/// Reply tokens by default: the first two sentences of those replies took 47 tokens at the median,
/// 66 at p90 and 76 at most (8 of 32 needed more than 60), so 80 never cuts two sentences short
/// and stops a run-on reply that has no sentence end.
pub const DEFAULT_MAX_TOKENS: u32 = 80;

impl Default for ReplyPolicy {
    fn default() -> Self {
        ReplyPolicy {
            max_sentences: DEFAULT_MAX_SENTENCES,
            max_tokens: DEFAULT_MAX_TOKENS,
            full_text: false,
        }
    }
}

impl ReplyPolicy {
    /// No limit: the whole reply is spoken.
    pub fn unlimited() -> Self {
        ReplyPolicy {
            max_sentences: 0,
            max_tokens: 0,
            full_text: false,
        }
    }
}

/// What one piece of the reply gives the voice and the text box.
#[derive(Debug, Default)]
pub(super) struct Taken {
    /// The piece's text to show (all of it, unless the voice ended within it and the model
    /// stops with the voice).
    pub shown: String,
    /// Chunks to speak.
    pub chunks: Vec<Chunk>,
    /// The voice has said all it will, and the model should stop (not [`ReplyPolicy::full_text`]).
    pub stop: bool,
}

impl Taken {
    /// Adds the piece's events (its text; the whole reply, `text`, when the model stops with
    /// the voice) to `events`; returns whether the model must stop.
    pub fn push_events(&mut self, turn: u64, text: &str, events: &mut Vec<AssistantEvent>) -> bool {
        if !self.shown.is_empty() {
            let text = std::mem::take(&mut self.shown);
            events.push(AssistantEvent::Token { turn, text });
        }
        if self.stop {
            let text = text.to_string();
            events.push(AssistantEvent::Reply { turn, text });
        }
        self.stop
    }
}

/// The policy's count of one reply.
#[derive(Debug)]
pub(super) struct SpokenLimit {
    policy: ReplyPolicy,
    sentences: u32,
    tokens: u32,
    /// The raw text's end of the last chunk handed to the voice.
    last_chunk_end: Option<usize>,
    /// Once the voice has stopped: how far the raw text is kept.
    spoken_end: Option<usize>,
}

impl SpokenLimit {
    /// The count of a new reply.
    pub fn new(policy: ReplyPolicy) -> Self {
        SpokenLimit {
            policy,
            sentences: 0,
            tokens: 0,
            last_chunk_end: None,
            spoken_end: None,
        }
    }

    /// Whether the voice has stopped (later text is only shown).
    pub fn silenced(&self) -> bool {
        self.spoken_end.is_some()
    }

    /// Takes the reply's next piece (one token's text): appends it to `text`, the reply so far,
    /// and cuts what the voice says next with `chunker`. When the voice stops and the model with
    /// it, `text` is cut back to what was spoken.
    pub fn take_piece(&mut self, piece: &str, text: &mut String, chunker: &mut Chunker) -> Taken {
        let start = text.len();
        text.push_str(piece);
        if self.silenced() {
            return Taken {
                shown: piece.to_string(),
                ..Taken::default()
            };
        }
        self.tokens += 1;
        let mut chunks = self.admit(chunker.push(piece), text);
        if !self.silenced() && self.policy.max_tokens > 0 && self.tokens >= self.policy.max_tokens {
            // The voice ends after its last chunk (with none yet, it says what there is); the
            // text goes as far as it was shown.
            if self.last_chunk_end.is_none() {
                chunks.extend(chunker.finish());
            }
            self.spoken_end = Some(text.len());
        }
        self.end_of_piece(start, text, chunks)
    }

    /// The reply is complete: the voice's last chunks, within the limits.
    pub fn finish(&mut self, text: &mut String, chunker: &mut Chunker) -> Vec<Chunk> {
        if self.silenced() {
            return Vec::new();
        }
        let chunks = self.admit(chunker.finish(), text);
        if let Some(end) = self.spoken_end.filter(|_| !self.policy.full_text) {
            text.truncate(end);
        }
        chunks
    }

    /// Counts the sentences `chunks` end, keeping the chunks up to the last allowed sentence.
    fn admit(&mut self, chunks: Vec<Chunk>, text: &str) -> Vec<Chunk> {
        let mut spoken = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let end = chunk.raw_end;
            let sentence = ends_sentence(&text[..end.min(text.len())]);
            spoken.push(chunk);
            self.last_chunk_end = Some(end);
            if sentence {
                self.sentences += 1;
                let max = self.policy.max_sentences;
                if max > 0 && self.sentences >= max {
                    self.spoken_end = Some(end);
                    break;
                }
            }
        }
        spoken
    }

    fn end_of_piece(&mut self, start: usize, text: &mut String, chunks: Vec<Chunk>) -> Taken {
        match self.spoken_end {
            Some(end) if !self.policy.full_text => {
                // Text already shown stays (the voice needs a character past a sentence's end
                // to know it ended, and that character came with this piece at the earliest).
                let end = end.clamp(start, text.len());
                let shown = text[start..end].to_string();
                text.truncate(end);
                Taken {
                    shown,
                    chunks,
                    stop: true,
                }
            }
            _ => Taken {
                shown: text[start..].to_string(),
                chunks,
                stop: false,
            },
        }
    }
}

/// The sentences of a whole reply as the voice would count them (their speakable text): what
/// [`ReplyPolicy::max_sentences`] counts, for measuring replies.
pub fn spoken_sentences(reply: &str) -> Vec<String> {
    let mut chunker = Chunker::new(0);
    let mut chunks = chunker.push(reply);
    chunks.extend(chunker.finish());
    let mut sentences = Vec::new();
    let mut current = Vec::new();
    for chunk in chunks {
        current.push(chunk.text);
        if ends_sentence(&reply[..chunk.raw_end]) {
            sentences.push(current.join(" "));
            current.clear();
        }
    }
    if !current.is_empty() {
        sentences.push(current.join(" "));
    }
    sentences
}

/// Whether raw reply text that a chunk ended at closes a sentence: sentence punctuation (before
/// closing quotes, brackets or emphasis marks), or the end of a line (a list item, a heading, a
/// paragraph).
fn ends_sentence(raw: &str) -> bool {
    if raw.ends_with('\n') {
        return true;
    }
    let bare = raw.trim_end_matches(|c: char| {
        c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '”' | '’' | '*' | '_')
    });
    bare.ends_with(['.', '!', '?', '…'])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `pieces` through a limit; returns the text shown, the chunks spoken, whether the
    /// model was stopped, and the reply text kept.
    fn run(policy: ReplyPolicy, pieces: &[&str]) -> (String, Vec<String>, bool, String) {
        let mut limit = SpokenLimit::new(policy);
        let mut chunker = Chunker::new(1);
        let mut text = String::new();
        let (mut shown, mut spoken) = (String::new(), Vec::new());
        for piece in pieces {
            let taken = limit.take_piece(piece, &mut text, &mut chunker);
            shown.push_str(&taken.shown);
            spoken.extend(taken.chunks.into_iter().map(|c| c.text));
            if taken.stop {
                return (shown, spoken, true, text);
            }
        }
        spoken.extend(
            limit
                .finish(&mut text, &mut chunker)
                .into_iter()
                .map(|c| c.text),
        );
        (shown, spoken, false, text)
    }

    fn words(text: &str) -> Vec<&str> {
        text.split_inclusive(' ').collect()
    }

    fn sentences(n: u32) -> ReplyPolicy {
        ReplyPolicy {
            max_sentences: n,
            max_tokens: 0,
            full_text: false,
        }
    }

    #[test]
    fn the_voice_and_the_model_stop_after_the_last_sentence() {
        let reply = "Paris is the capital of France. It is on the Seine. It has many museums.";
        let (shown, spoken, stopped, kept) = run(sentences(2), &words(reply));
        assert!(stopped);
        assert_eq!(kept, "Paris is the capital of France. It is on the Seine.");
        assert_eq!(shown, kept);
        assert_eq!(spoken.join(" "), kept);
    }

    #[test]
    fn a_short_reply_is_spoken_whole() {
        let reply = "Yes. Of course.";
        let (shown, spoken, stopped, kept) = run(sentences(2), &words(reply));
        assert!(!stopped);
        assert_eq!((shown.as_str(), kept.as_str()), (reply, reply));
        assert_eq!(spoken, ["Yes.", "Of course."]);
        // The limit also holds when the last sentences only come out at the end.
        let (_, spoken, _, kept) = run(sentences(1), &[reply]);
        assert_eq!((spoken, kept.as_str()), (vec!["Yes.".to_string()], "Yes."));
    }

    #[test]
    fn abbreviations_and_clause_chunks_are_not_sentences() {
        let reply = "Dr. Smith, who lives in the old town, said it was fine. Then he left. Bye.";
        let (_, spoken, stopped, kept) = run(sentences(2), &words(reply));
        assert!(stopped);
        assert_eq!(
            kept,
            "Dr. Smith, who lives in the old town, said it was fine. Then he left."
        );
        assert!(spoken.len() >= 2, "{spoken:?}");
    }

    #[test]
    fn a_list_is_spoken_without_its_markdown_and_its_items_count() {
        let reply = "Here are some tips:\n\n1. **Drink** water.\n2. Sleep well.\n3. Walk.\n";
        let (_, spoken, stopped, kept) = run(sentences(2), &words(reply));
        assert!(stopped);
        // The opening clause is not a sentence; the items are.
        assert_eq!(
            spoken,
            ["Here are some tips:", "Drink water.", "Sleep well."]
        );
        assert_eq!(
            kept,
            "Here are some tips:\n\n1. **Drink** water.\n2. Sleep well."
        );
    }

    #[test]
    fn the_token_limit_ends_after_the_last_spoken_chunk() {
        let policy = ReplyPolicy {
            max_sentences: 0,
            max_tokens: 8,
            full_text: false,
        };
        let reply = "One two three four five, six seven eight nine ten eleven twelve.";
        let (shown, spoken, stopped, kept) = run(policy.clone(), &words(reply));
        assert!(stopped);
        assert_eq!(spoken, ["One two three four five,"]);
        let eight = "One two three four five, six seven eight ";
        assert_eq!((shown.as_str(), kept.as_str()), (eight, eight));
        // With nothing spoken yet, the voice says what there is.
        let (_, spoken, _, _) = run(policy, &words("a b c d e f g h i j"));
        assert_eq!(spoken, ["a b c d e f g h"]);
    }

    #[test]
    fn full_text_goes_on_silently() {
        let policy = ReplyPolicy {
            full_text: true,
            ..sentences(1)
        };
        let reply = "First sentence here. Second one. Third.";
        let (shown, spoken, stopped, kept) = run(policy, &words(reply));
        assert!(!stopped);
        assert_eq!(spoken, ["First sentence here."]);
        assert_eq!((shown.as_str(), kept.as_str()), (reply, reply));
    }

    #[test]
    fn a_replys_sentences_are_counted_as_the_limit_counts_them() {
        let reply = "Sure, here it is. It's 4 p.m. in Paris now!\n\n- **Bring** a coat\n- Eat";
        assert_eq!(
            spoken_sentences(reply),
            [
                "Sure, here it is.",
                "It's 4 p.m. in Paris now!",
                "Bring a coat",
                "Eat"
            ]
        );
    }

    #[test]
    fn no_limit_speaks_everything() {
        let reply = "A one. B two. C three. D four.";
        let (_, spoken, stopped, kept) = run(ReplyPolicy::unlimited(), &words(reply));
        assert!(!stopped);
        assert_eq!(kept, reply);
        assert_eq!(spoken.len(), 4);
    }
}
