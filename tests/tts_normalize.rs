//! Text normalization, as a table of written input and the words the voice should say.

use sotto::tts::normalize::normalize;
use sotto::tts::numbers::{cardinal, ordinal, year};

#[test]
fn normalization_table() {
    let cases: &[(&str, &str)] = &[
        // Cardinals, negatives, decimals, separators.
        ("0", "zero"),
        ("7", "seven"),
        ("42", "forty two"),
        ("115", "one hundred fifteen"),
        ("1,234", "one thousand two hundred thirty four"),
        ("1,000,000", "one million"),
        ("3,000,000,001", "three billion one"),
        ("12345", "twelve thousand three hundred forty five"),
        ("-5", "minus five"),
        ("-12.5", "minus twelve point five"),
        ("3.14", "three point one four"),
        ("0.05", "zero point zero five"),
        ("It costs 3 dollars.", "It costs three dollars."),
        // Ordinals.
        ("1st", "first"),
        ("2nd", "second"),
        ("3rd", "third"),
        ("21st", "twenty first"),
        ("112th", "one hundred twelfth"),
        ("the 40th time", "the fortieth time"),
        // Years and dates.
        ("in 1999", "in nineteen ninety nine"),
        ("in 2005", "in two thousand five"),
        ("in 2024", "in twenty twenty four"),
        ("1905", "nineteen oh five"),
        ("March 15, 2024", "march fifteenth, twenty twenty four"),
        ("on Jan 3rd", "on january third"),
        ("2024-03-15", "march fifteenth twenty twenty four"),
        ("7/4/1776", "july fourth seventeen seventy six"),
        // Times.
        ("3:30", "three thirty"),
        ("at 7:05", "at seven oh five"),
        ("9:00", "nine o'clock"),
        ("9:00 am", "nine a m"),
        ("6:45pm", "six forty five p m"),
        ("at 2 pm", "at two p m"),
        ("11 am tomorrow", "eleven a m tomorrow"),
        ("I am 30 and I am here", "I am thirty and I am here"),
        ("18:00", "eighteen hundred"),
        // Currency.
        ("$5", "five dollars"),
        ("$1", "one dollar"),
        ("$3.50", "three dollars and fifty cents"),
        ("$0.99", "ninety nine cents"),
        ("$2 billion", "two billion dollars"),
        ("€20", "twenty euros"),
        ("£1.01", "one pound and one penny"),
        // Percentages.
        ("50%", "fifty percent"),
        ("2.5%", "two point five percent"),
        // Units.
        ("5 km", "five kilometers"),
        ("1 km", "one kilometer"),
        ("10kg", "ten kilograms"),
        ("20°C", "twenty degrees celsius"),
        ("60 mph", "sixty miles per hour"),
        ("16 GB", "sixteen gigabytes"),
        ("250 ms", "two hundred fifty milliseconds"),
        // Abbreviations.
        ("Dr. Smith is here.", "doctor Smith is here."),
        ("Mr. and Mrs. Jones", "mister and missus Jones"),
        ("St. Louis", "saint Louis"),
        (
            "apples, pears, etc. are fruit",
            "apples, pears, et cetera are fruit",
        ),
        (
            "I like fruit etc. Do you?",
            "I like fruit et cetera. Do you?",
        ),
        ("cats vs. dogs", "cats versus dogs"),
        ("No. 5", "number five"),
        // Symbols.
        ("R&D", "R and D"),
        ("me@home", "me at home"),
        ("2 + 2 = 4", "two plus two equals four"),
        ("rock & roll", "rock and roll"),
        ("#1", "number one"),
        ("COVID-19", "COVID nineteen"),
        ("well-known", "well known"),
        ("Hello, world!", "Hello, world!"),
        ("Is it (really) true?", "Is it really true?"),
    ];
    let mut failures = Vec::new();
    for (input, expected) in cases {
        let got = normalize(input);
        if got != *expected {
            failures.push(format!("{input:?}: got {got:?}, expected {expected:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn number_words() {
    assert_eq!(cardinal(999_999_999_999), "nine hundred ninety nine billion nine hundred ninety nine million nine hundred ninety nine thousand nine hundred ninety nine");
    assert_eq!(cardinal(100), "one hundred");
    assert_eq!(ordinal(1000), "one thousandth");
    assert_eq!(ordinal(90), "ninetieth");
    assert_eq!(year(1900), "nineteen hundred");
    assert_eq!(year(2000), "two thousand");
    assert_eq!(year(2010), "twenty ten");
}
