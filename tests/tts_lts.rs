//! Letter-to-sound rules and the exception lexicon, checked against CMU dictionary
//! pronunciations of words the lexicon does not contain.

use sotto::tts::{lexicon, lts, phoneme};

const WORDS: &str = include_str!("fixtures/tts/lts_words.txt");

/// Phoneme symbols without stress, with the rules' schwa `AX` written as the dictionary's `AH`.
fn rule_phonemes(word: &str) -> Vec<&'static str> {
    lts::letters_to_phonemes(word)
        .into_iter()
        .map(|p| match phoneme::spec(p).symbol {
            "AX" => "AH",
            s => s,
        })
        .collect()
}

fn edit_distance(a: &[&str], b: &[&str]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let next = (diag + usize::from(x != y))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[test]
fn rules_match_the_dictionary_on_a_word_list() {
    let (mut exact, mut errors, mut total, mut words) = (0, 0, 0, 0);
    for line in WORDS.lines().filter(|l| !l.starts_with('#')) {
        let (word, expected) = line.split_once(' ').expect("word and phones");
        assert!(
            lexicon::own_lookup(word).is_none(),
            "{word} is in Sotto's own lexicon; the list tests the rules"
        );
        let expected: Vec<&str> = expected.split_whitespace().collect();
        let got = rule_phonemes(word);
        let distance = edit_distance(&got, &expected);
        if distance == 0 {
            exact += 1;
        } else {
            eprintln!("{word}: rules {got:?}, dictionary {expected:?}");
        }
        errors += distance;
        total += expected.len();
        words += 1;
    }
    let per = errors as f64 / total as f64;
    eprintln!("letter-to-sound: {exact}/{words} words exact, phoneme error rate {per:.3}");
    assert!(words >= 200, "word list too short: {words}");
    assert!(
        exact * 100 >= words * 70,
        "only {exact}/{words} words exact"
    );
    assert!(per <= 0.10, "phoneme error rate {per:.3}");
}

#[test]
fn rules_handle_classic_contexts() {
    let cases = [
        ("make", "M EY K"),
        ("cat", "K AE T"),
        ("ship", "SH IH P"),
        ("night", "N AY T"),
        ("phone", "F OW N"),
        ("knife", "N AY F"),
        ("thin", "TH IH N"),
        ("nation", "N EY SH AH N"),
        ("boats", "B OW T S"),
        ("rabbit", "R AE B IH T"),
    ];
    for (word, expected) in cases {
        assert_eq!(rule_phonemes(word).join(" "), expected, "{word}");
    }
}

#[test]
fn lexicon_covers_function_words_with_stress() {
    assert!(
        lexicon::len() >= 300,
        "lexicon has {} entries",
        lexicon::len()
    );
    let one = phoneme::to_arpabet(&lexicon::lookup("one").expect("one"));
    assert_eq!(one, "W AH1 N");
    let pronounced = phoneme::to_arpabet(&lexicon::pronounce("friends"));
    assert_eq!(pronounced, "F R EH1 N D Z");
    let plural = phoneme::to_arpabet(&lexicon::pronounce("minutes"));
    assert_eq!(plural, "M IH1 N AH0 T S");
    // Every primary stress in the rules' output falls on a vowel.
    for word in ["computer", "elephant", "station", "remember", "banana"] {
        let phones = lts::word_to_phones(word);
        let primaries: Vec<_> = phones.iter().filter(|p| p.stress == 1).collect();
        assert_eq!(primaries.len(), 1, "{word}");
        assert!(phoneme::spec(primaries[0].phoneme).is_vowel(), "{word}");
    }
}

#[test]
fn initialisms_and_lone_letters_are_spelled() {
    assert_eq!(sotto::tts::transcribe("USB"), "Y-UW1 EH1-S B-IY1");
    assert_eq!(sotto::tts::transcribe("R&D"), "AA1-R AH0-N-D D-IY1");
    // Known words in capitals are read, not spelled; "a" and "I" are words.
    assert_eq!(sotto::tts::transcribe("IT WAS"), "IH0-T W-AA0-Z");
    assert_eq!(
        sotto::tts::transcribe("I saw a cat"),
        sotto::tts::transcribe("i saw a cat")
    );
}
