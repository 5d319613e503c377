//! The streaming chunker: early first chunk, whole sentences after, protected full stops,
//! cleaning of Markdown, code, URLs and emoji, and turn ids.

use sotto::tts::chunker::{speakable, Chunk, Chunker};

/// Feeds `text` in small pieces (as a model streams tokens) and collects the chunk texts.
fn stream(text: &str, piece: usize) -> Vec<String> {
    let mut chunker = Chunker::new(7);
    let mut chunks: Vec<Chunk> = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    for part in chars.chunks(piece) {
        chunks.extend(chunker.push(&part.iter().collect::<String>()));
    }
    chunks.extend(chunker.finish());
    for (i, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk.turn, 7);
        assert_eq!(chunk.index as usize, i);
    }
    chunks.into_iter().map(|c| c.text).collect()
}

#[test]
fn first_chunk_is_cut_early_at_a_clause_then_whole_sentences() {
    let text = "Sure, I can help with that, and here is how it works. First you open the app, then you sign in. Done!";
    for piece in [1, 3, 7, 1000] {
        assert_eq!(
            stream(text, piece),
            [
                "Sure, I can help with that,",
                "and here is how it works.",
                "First you open the app, then you sign in.",
                "Done!"
            ],
            "piece size {piece}"
        );
    }
}

#[test]
fn first_chunk_is_emitted_before_the_sentence_ends() {
    let mut chunker = Chunker::new(1);
    let early = chunker.push("Well, the weather in Paris today is mild, ");
    assert_eq!(early.len(), 1, "{early:?}");
    assert_eq!(early[0].text, "Well, the weather in Paris today is mild,");
    assert!(chunker.push("with light rain in the").is_empty());
}

#[test]
fn a_run_on_first_sentence_is_cut_after_a_dozen_words() {
    let text = "The quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat \
                near the door of the house. Then it rains.";
    for piece in [1, 4, 1000] {
        assert_eq!(
            stream(text, piece),
            [
                "The quick brown fox jumps over the lazy dog while the cat",
                "sleeps on the warm mat near the door of the house.",
                "Then it rains."
            ],
            "piece size {piece}"
        );
    }
    // The cut waits for the twelfth word to end: a word still being written is not split.
    let mut chunker = Chunker::new(1);
    assert!(chunker
        .push("one two three four five six seven eight nine ten eleven twel")
        .is_empty());
    let cut = chunker.push("ve thirteen");
    assert_eq!(cut.len(), 1);
    assert!(cut[0].text.ends_with("twelve"), "{cut:?}");
}

#[test]
fn abbreviations_decimals_and_initials_do_not_end_sentences() {
    let text = "Dr. Smith paid $3.50 for it, e.g. at 9 a.m. on the dot. J. R. R. Tolkien wrote it. Pi is 3.14159 or so.";
    assert_eq!(
        stream(text, 2),
        [
            "Dr. Smith paid $3.50 for it,",
            "e.g. at 9 a.m. on the dot.",
            "J. R. R. Tolkien wrote it.",
            "Pi is 3.14159 or so."
        ]
    );
}

#[test]
fn lists_are_spoken_item_by_item() {
    let text =
        "Here are the steps:\n1. Open the lid.\n2. Pour the water\n3. Close it\n\n- milk\n- eggs\n";
    assert_eq!(
        stream(text, 4),
        [
            "Here are the steps:",
            "Open the lid.",
            "Pour the water",
            "Close it",
            "milk",
            "eggs"
        ]
    );
}

#[test]
fn markdown_code_urls_and_emoji_are_not_spoken() {
    let text = "## Result\nThis is **very** _important_ 🎉! See [the docs](https://example.com/docs) or https://x.org/a.b now.\n```rust\nfn main() { println!(\"hi. there\"); }\n```\nRun `cargo` then `cargo build --release` please.";
    assert_eq!(
        stream(text, 5),
        [
            "Result",
            "This is very important!",
            "See the docs or now.",
            "Run cargo then please."
        ]
    );
}

#[test]
fn speakable_cleans_one_text() {
    assert_eq!(
        speakable("> quoted *text* <br> here 👍🏽"),
        "quoted text here"
    );
    assert_eq!(speakable("| a | b |\n|---|---|\n| 1 | 2 |"), "a, b, 1, 2,");
    assert_eq!(speakable("snake_case stays"), "snake_case stays");
}

#[test]
fn an_unclosed_code_block_is_held_back_and_dropped() {
    let mut chunker = Chunker::new(3);
    assert!(chunker
        .push("```python\nprint('a. b. c. d. e. f')\n")
        .is_empty());
    let tail = chunker.finish();
    assert!(tail.is_empty(), "{tail:?}");
}

#[test]
fn each_turn_tags_its_chunks() {
    let mut old = Chunker::new(1);
    let mut new = Chunker::new(2);
    let a = old.push("One two three four, five. ");
    let b = new.push("Six seven eight nine, ten. ");
    assert!(a.iter().all(|c| c.turn == 1) && !a.is_empty());
    assert!(b.iter().all(|c| c.turn == 2) && !b.is_empty());
    assert_eq!(new.turn(), 2);
}
