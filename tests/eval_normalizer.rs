//! The Rust port of openai-whisper's EnglishTextNormalizer against the Python normalizer's own
//! outputs (tests/fixtures/speech/normalizer.json, made by scripts/reference/normalizer_cases.py).

use sotto::eval::EnglishTextNormalizer;

#[derive(serde::Deserialize)]
struct Case {
    input: String,
    output: String,
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[test]
fn normalizer_matches_openai_whisper_on_every_fixture_string() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/speech/normalizer.json"
    );
    let fixture: Fixture =
        serde_json::from_str(&std::fs::read_to_string(path).expect("normalizer fixture")).unwrap();
    assert!(
        fixture.cases.len() >= 100,
        "the fixture holds {} cases",
        fixture.cases.len()
    );
    let normalizer = EnglishTextNormalizer::new();
    let failures: Vec<String> = fixture
        .cases
        .iter()
        .filter_map(|case| {
            let got = normalizer.normalize(&case.input);
            (got != case.output).then(|| {
                format!(
                    "  {:?}\n    python {:?}\n    rust   {:?}",
                    case.input, case.output, got
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} strings normalize differently:\n{}",
        failures.len(),
        fixture.cases.len(),
        failures.join("\n")
    );
}

#[test]
fn normalized_words_drop_case_punctuation_and_spell_numbers() {
    let normalizer = EnglishTextNormalizer::new();
    assert_eq!(
        normalizer.words("Set a timer for ten minutes."),
        normalizer.words("set a timer for 10 minutes")
    );
    // Fillers and bracketed sound tags vanish (as in Python: "Hmm, [MUSIC] um." → "").
    assert_eq!(normalizer.words("Hmm, [MUSIC] um."), Vec::<String>::new());
}
