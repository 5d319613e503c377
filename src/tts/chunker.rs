//! Streaming chunker: cuts the chat model's token stream into speakable chunks.
//!
//! The first chunk is cut early, at a clause boundary once a few words have arrived (or after a
//! dozen words without one), so speech starts while the model is still writing; later chunks are whole sentences (or list items and
//! lines). Abbreviations, decimals, initials and numbered-list markers do not end a sentence.
//! Markdown, code, URLs and emoji are removed from what is spoken (the page still shows the raw
//! text). Every chunk carries its turn id: on an interruption the player drops queued chunks of
//! older turns.

/// A piece of a reply ready to be spoken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The conversation turn this chunk belongs to.
    pub turn: u64,
    /// Position of the chunk within its turn, from 0.
    pub index: u32,
    /// The text to speak (Markdown, code, URLs and emoji removed).
    pub text: String,
    /// Byte offset in the turn's raw text just after the text this chunk was cut from: a reply
    /// interrupted after this chunk was heard is kept up to here.
    pub raw_end: usize,
}

/// Words needed before a clause boundary may end the first chunk.
pub const FIRST_CHUNK_MIN_WORDS: usize = 4;
/// A first chunk with no clause boundary yet is cut after this many words anyway, so a run-on
/// opening sentence does not hold back the first audio.
pub const FIRST_CHUNK_MAX_WORDS: usize = 12;
/// A sentence longer than this many words is also cut at a clause boundary.
pub const LONG_SENTENCE_WORDS: usize = 28;

/// Abbreviations whose full stop does not end a sentence (compared case-insensitively).
const ABBREVIATIONS: &[&str] = &[
    "dr", "mr", "mrs", "ms", "st", "prof", "jr", "sr", "vs", "etc", "e.g", "i.e", "eg", "ie", "no",
    "approx", "inc", "ltd", "co", "dept", "fig", "mt", "ave", "rd", "u.s", "a.m", "p.m", "jan",
    "feb", "aug", "sept", "oct", "nov", "dec",
];

/// Turns a stream of text pieces into [`Chunk`]s.
#[derive(Clone, Debug)]
pub struct Chunker {
    turn: u64,
    emitted: u32,
    pending: String,
    /// Raw bytes already cut off `pending`.
    consumed: usize,
}

impl Chunker {
    /// A chunker for the reply of conversation turn `turn`.
    pub fn new(turn: u64) -> Chunker {
        Chunker {
            turn,
            emitted: 0,
            pending: String::new(),
            consumed: 0,
        }
    }

    /// The turn this chunker's chunks belong to.
    pub fn turn(&self) -> u64 {
        self.turn
    }

    /// Adds the next piece of streamed text; returns the chunks completed by it.
    pub fn push(&mut self, text: &str) -> Vec<Chunk> {
        self.pending.push_str(text);
        let mut out = Vec::new();
        while let Some(cut) = self.next_cut() {
            let raw: String = self.pending.drain(..cut).collect();
            self.emit(&raw, &mut out);
        }
        out
    }

    /// Ends the stream: returns whatever remains as a final chunk (if it has anything to say).
    pub fn finish(&mut self) -> Vec<Chunk> {
        let mut out = self.push("");
        let raw = std::mem::take(&mut self.pending);
        self.emit(&raw, &mut out);
        out
    }

    fn emit(&mut self, raw: &str, out: &mut Vec<Chunk>) {
        self.consumed += raw.len();
        let text = speakable(raw);
        if text.chars().any(char::is_alphanumeric) {
            out.push(Chunk {
                turn: self.turn,
                index: self.emitted,
                text,
                raw_end: self.consumed,
            });
            self.emitted += 1;
        }
    }

    /// Byte offset just after the next chunk boundary in `pending`, if one is certain yet.
    fn next_cut(&self) -> Option<usize> {
        let text = self.pending.as_str();
        let mut words = 0;
        let mut in_word = false;
        let mut iter = text.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            if text[i..].starts_with("```") {
                if text[..i].chars().any(char::is_alphanumeric) {
                    return Some(i);
                }
                // Drop the whole fenced block once it is closed; wait for it otherwise.
                let close = text[i + 3..].find("```")? + i + 6;
                return Some(text[close..].find('\n').map_or(close, |n| close + n + 1));
            }
            if c.is_whitespace() {
                if in_word && self.emitted == 0 && words >= FIRST_CHUNK_MAX_WORDS {
                    return Some(i);
                }
                in_word = false;
            } else if !in_word {
                in_word = true;
                words += 1;
            }
            let next = iter.peek().map(|&(_, n)| n);
            let end = i + c.len_utf8();
            match c {
                '\n' if text[..i].chars().any(char::is_alphanumeric) => return Some(end),
                '.' | '!' | '?' | '…' => {
                    let next = next?;
                    if (next.is_whitespace()
                        || matches!(next, '"' | '\'' | ')' | '”' | '’' | '*' | '_'))
                        && !(c == '.' && protected_stop(&text[..i]))
                    {
                        let closing = text[end..].find(|ch: char| {
                            !matches!(ch, '"' | '\'' | ')' | '”' | '’' | '*' | '_')
                        });
                        return Some(end + closing.unwrap_or(text.len() - end));
                    }
                }
                ',' | ';' | ':' | '—' => {
                    let threshold = if self.emitted == 0 {
                        FIRST_CHUNK_MIN_WORDS
                    } else {
                        LONG_SENTENCE_WORDS
                    };
                    if next?.is_whitespace() && words >= threshold {
                        return Some(end);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

/// Whether the full stop that follows `before` belongs to an abbreviation, an initial, a number
/// (a numbered-list marker or a decimal still being written) rather than ending a sentence.
fn protected_stop(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    let bare = word.trim_start_matches(['*', '_', '"', '\'']);
    if bare.is_empty() {
        return false;
    }
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let is_list_marker =
        bare.chars().all(|c| c.is_ascii_digit()) && before[line_start..].trim() == bare;
    let is_initial = bare.chars().count() == 1 && bare.chars().all(char::is_uppercase);
    is_list_marker || is_initial || ABBREVIATIONS.contains(&bare.to_ascii_lowercase().as_str())
}

/// Removes what should not be read aloud: fenced and inline code, Markdown markup, links' URLs,
/// bare URLs, HTML tags and emoji. Link texts and short inline identifiers are kept.
pub fn speakable(raw: &str) -> String {
    let mut lines = Vec::new();
    let mut in_fence = false;
    for line in raw.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            lines.push(strip_line_markup(line));
        }
    }
    let joined = lines.join(" ");
    let text = strip_inline(&joined);
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace().filter(|w| !is_url(w)) {
        // Punctuation left alone by a removed emoji or link joins the word before it.
        let attaches = word
            .chars()
            .all(|c| matches!(c, '.' | ',' | '!' | '?' | ';' | ':'));
        if !out.is_empty() && !attaches {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Removes a line's block markup: headings, quotes, list bullets and numbers, table pipes.
fn strip_line_markup(line: &str) -> String {
    let mut s = line.trim_start();
    s = s.trim_start_matches('#').trim_start();
    s = s.trim_start_matches('>').trim_start();
    for bullet in ["- ", "* ", "+ ", "• "] {
        if let Some(rest) = s.strip_prefix(bullet) {
            s = rest;
        }
    }
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
    if digits > 0 && (s[digits..].starts_with(". ") || s[digits..].starts_with(") ")) {
        s = &s[digits + 2..];
    }
    if s.contains('|') {
        // A table row: its cells as a list; separator rows vanish.
        let cells: Vec<&str> = s
            .split('|')
            .map(str::trim)
            .filter(|c| {
                !c.trim_matches(|ch: char| matches!(ch, '-' | ':' | ' '))
                    .is_empty()
            })
            .collect();
        return if cells.is_empty() {
            String::new()
        } else {
            format!("{},", cells.join(", "))
        };
    }
    if s.trim_matches(|c: char| matches!(c, '-' | '*' | '_' | '=' | ' '))
        .is_empty()
    {
        String::new()
    } else {
        s.to_string()
    }
}

fn is_url(word: &str) -> bool {
    let w = word.trim_start_matches(['(', '<', '"']);
    w.starts_with("http://")
        || w.starts_with("https://")
        || w.starts_with("www.")
        || w.starts_with("ftp://")
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0xFE00..=0xFE0F | 0x200D | 0x20E3 | 0xE0020..=0xE007F)
}

/// Removes inline markup: `code`, emphasis marks, links, images, HTML tags and emoji.
fn strip_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let len = c.len_utf8();
        match c {
            '`' => {
                let body = &rest[1..];
                match body.find('`') {
                    Some(end) => {
                        let code = &body[..end];
                        // A short identifier reads naturally ("run `ls`"); real code does not.
                        if code.len() <= 24
                            && code
                                .chars()
                                .all(|ch| ch.is_alphanumeric() || ch == '-' || ch == '_')
                        {
                            out.push_str(code);
                        }
                        rest = &body[end + 1..];
                    }
                    None => rest = body,
                }
            }
            '!' if rest[1..].starts_with('[') => rest = &rest[1..],
            '[' => match link(rest) {
                Some((label, consumed)) => {
                    out.push_str(label);
                    rest = &rest[consumed..];
                }
                None => rest = &rest[1..],
            },
            '<' if html_tag_len(rest).is_some() => rest = &rest[html_tag_len(rest).unwrap_or(1)..],
            '*' | '_' | '~'
                if !out.ends_with(char::is_alphanumeric)
                    || !rest[len..].starts_with(char::is_alphanumeric) =>
            {
                rest = &rest[len..];
            }
            c if is_emoji(c) => rest = &rest[len..],
            _ => {
                out.push(c);
                rest = &rest[len..];
            }
        }
    }
    out
}

/// Length of an HTML tag (`<br>`, `</b>`) or autolink (`<https://…>`) at the start of `s`.
fn html_tag_len(s: &str) -> Option<usize> {
    let body = &s[1..];
    if !body.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/') {
        return None;
    }
    let end = body.find('>')?;
    (!body[..end].contains('\n') && end < 200).then_some(end + 2)
}

/// Parses `[label](url)` at the start of `s`: the label and the bytes consumed.
fn link(s: &str) -> Option<(&str, usize)> {
    let close = s.find(']')?;
    let after = &s[close + 1..];
    if !after.starts_with('(') {
        return Some((&s[1..close], close + 1));
    }
    let end = after.find(')')?;
    Some((&s[1..close], close + 1 + end + 1))
}
