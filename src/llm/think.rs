//! Keeps a model's `<think>…</think>` blocks out of the reply's text as it streams.
//!
//! Qwen3 is asked not to think (its template closes an empty think block in the prompt), but a
//! model may still open one, and a template may open one for it. Whatever is inside a block is
//! never shown, spoken or kept in the conversation: the filter works on the streamed text, so
//! a tag split across tokens (`<th`, `ink>`) is still recognised, and a block that is never
//! closed swallows the rest of the reply rather than leaking it.

/// The tag that opens a think block.
pub const OPEN: &str = "<think>";
/// The tag that closes it.
pub const CLOSE: &str = "</think>";

/// Where the stream is relative to a think block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Reply text.
    Outside,
    /// Inside a block: dropped.
    Inside,
    /// Just after a block that opened the reply: the whitespace that separates it from the
    /// answer is dropped.
    After,
}

/// A streaming filter that removes think blocks from text pieces.
#[derive(Debug, Clone)]
pub struct ThinkFilter {
    place: Place,
    /// Text that may be the start of a tag, held until the next piece tells.
    held: String,
    /// Whether reply text has come out yet (a block within the reply keeps the space after it).
    started: bool,
}

impl ThinkFilter {
    /// A filter for a reply that starts outside a think block, or inside one when the prompt
    /// opened it (`inside`).
    pub fn new(inside: bool) -> Self {
        ThinkFilter {
            place: if inside {
                Place::Inside
            } else {
                Place::Outside
            },
            held: String::new(),
            started: false,
        }
    }

    /// Filters the next piece: returns the reply text it completes.
    pub fn push(&mut self, piece: &str) -> String {
        self.held.push_str(piece);
        let mut out = String::new();
        loop {
            match self.place {
                Place::Outside => match self.held.find(OPEN) {
                    Some(at) => {
                        out.push_str(&self.held[..at]);
                        self.started |= !out.is_empty();
                        self.held.drain(..at + OPEN.len());
                        self.place = Place::Inside;
                    }
                    None => {
                        let keep = partial_tag_len(&self.held, OPEN);
                        let emit = self.held.len() - keep;
                        out.push_str(&self.held[..emit]);
                        self.held.drain(..emit);
                        self.started |= !out.is_empty();
                        return out;
                    }
                },
                Place::Inside => match self.held.find(CLOSE) {
                    Some(at) => {
                        self.held.drain(..at + CLOSE.len());
                        self.place = if self.started || !out.is_empty() {
                            Place::Outside
                        } else {
                            Place::After
                        };
                    }
                    None => {
                        let keep = partial_tag_len(&self.held, CLOSE);
                        self.held.drain(..self.held.len() - keep);
                        return out;
                    }
                },
                Place::After => {
                    let text = self.held.trim_start();
                    if text.is_empty() {
                        self.held.clear();
                        return out;
                    }
                    self.held = text.to_string();
                    self.place = Place::Outside;
                }
            }
        }
    }

    /// Ends the stream: returns held text that turned out not to be a tag. What is inside an
    /// unclosed block is dropped.
    pub fn finish(&mut self) -> String {
        let held = std::mem::take(&mut self.held);
        match self.place {
            Place::Outside => held,
            Place::Inside | Place::After => String::new(),
        }
    }
}

/// Length of the longest suffix of `text` that is a proper prefix of `tag`.
fn partial_tag_len(text: &str, tag: &str) -> usize {
    (1..tag.len().min(text.len() + 1))
        .rev()
        .find(|&n| text.is_char_boundary(text.len() - n) && text.ends_with(&tag[..n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pieces: &[&str], inside: bool) -> String {
        let mut filter = ThinkFilter::new(inside);
        let mut out: String = pieces.iter().map(|p| filter.push(p)).collect();
        out.push_str(&filter.finish());
        out
    }

    #[test]
    fn a_whole_block_and_the_space_after_it_are_removed() {
        assert_eq!(
            run(&["<think>\nLet me see.\n</think>\n\nParis."], false),
            "Paris."
        );
        // Within the reply, the text around a block is kept as it was.
        assert_eq!(run(&["So <think>hmm</think> yes."], false), "So  yes.");
    }

    #[test]
    fn tags_split_across_pieces_are_recognised() {
        let pieces = ["Hi. <", "th", "ink>se", "cret</th", "ink", ">", " Bye."];
        assert_eq!(run(&pieces, false), "Hi.  Bye.");
        // Every split point of the same text gives the same result.
        let text = "A<think>x</think> B";
        for cut in 1..text.len() {
            assert_eq!(run(&[&text[..cut], &text[cut..]], false), "A B", "{cut}");
        }
    }

    #[test]
    fn an_unclosed_block_swallows_the_rest() {
        assert_eq!(
            run(&["Sure. ", "<think>", "I should ", "ramble"], false),
            "Sure. "
        );
    }

    #[test]
    fn a_block_opened_by_the_prompt_is_inside_from_the_start() {
        assert_eq!(run(&["plan...", "</think>", "\n\nDone."], true), "Done.");
    }

    #[test]
    fn text_that_only_looks_like_a_tag_is_kept() {
        assert_eq!(run(&["a <", "b> <thin", "g"], false), "a <b> <thing");
        assert_eq!(run(&["ends with <thi"], false), "ends with <thi");
        assert_eq!(run(&["é<", "é"], false), "é<é");
    }

    #[test]
    fn held_text_waits_only_while_it_may_be_a_tag() {
        let mut filter = ThinkFilter::new(false);
        assert_eq!(filter.push("Hello <th"), "Hello ");
        assert_eq!(filter.push("ere"), "<there");
    }
}
