//! Port of openai-whisper's `EnglishNumberNormalizer`: spelled-out numbers become digits
//! ("twenty five" → "25", "one oh one" → "101", "fifty percent" → "50%", "two dollars and fifty
//! cents" → "$2.50").
//!
//! Reference: openai-whisper `whisper/normalizers/english.py` (MIT licence, Copyright (c) 2022
//! OpenAI), class `EnglishNumberNormalizer`. The control flow below follows `process_words` branch
//! by branch. Python's unbounded ints become [`Digits`] (decimal strings), so every value the
//! reference can build is reproduced exactly. One deliberate difference: numerals must be ASCII
//! digits (the reference's `\d` also takes other scripts' digits, which English transcripts and
//! NFKD-normalised text do not contain).

use crate::tts::numbers::ONES;
use std::collections::{HashMap, HashSet};

use regex::Regex;

/// A non-negative integer of any size, as its decimal digits (no leading zeros; "0" for zero).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Digits(String);

impl Digits {
    fn new(text: &str) -> Self {
        let trimmed = text.trim_start_matches('0');
        Digits(if trimmed.is_empty() { "0" } else { trimmed }.to_string())
    }

    fn small(n: u32) -> Self {
        Digits(n.to_string())
    }

    fn pow10(exponent: usize) -> Self {
        Digits(format!("1{}", "0".repeat(exponent)))
    }

    fn is_zero(&self) -> bool {
        self.0 == "0"
    }

    /// `self % 10^k == 0`.
    fn divisible_by_pow10(&self, k: usize) -> bool {
        self.is_zero() || (self.0.len() > k && self.0.ends_with(&"0".repeat(k)))
    }

    fn add(&self, other: &Digits) -> Digits {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
        let mut carry = 0;
        for i in 0..a.len().max(b.len()) {
            let da = if i < a.len() {
                a[a.len() - 1 - i] - b'0'
            } else {
                0
            };
            let db = if i < b.len() {
                b[b.len() - 1 - i] - b'0'
            } else {
                0
            };
            let sum = da + db + carry;
            out.push(b'0' + sum % 10);
            carry = sum / 10;
        }
        if carry > 0 {
            out.push(b'0' + carry);
        }
        out.reverse();
        Digits::new(&String::from_utf8(out).expect("ASCII digits"))
    }

    /// `self // 1000 * 1000 + (self % 1000) * 10^k`: how a multiplier word scales a running value.
    fn scale_last_group(&self, k: usize) -> Digits {
        let split = self.0.len().saturating_sub(3);
        let before = Digits::new(&format!("{}000", &self.0[..split]));
        let residual = Digits::new(&self.0[split..]);
        let scaled = if residual.is_zero() {
            residual
        } else {
            Digits(format!("{}{}", residual.0, "0".repeat(k)))
        };
        before.add(&scaled)
    }
}

/// Python's `value`: an int or a str (its `None` is the `Option` around it).
#[derive(Clone, Debug)]
enum Value {
    Int(Digits),
    Str(String),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Int(d) => d.0.clone(),
            Value::Str(s) => s.clone(),
        }
    }
}

/// Python's `str(value or "")`: None, 0 and "" are all falsy.
fn text_or_empty(value: &Option<Value>) -> String {
    match value {
        Some(Value::Int(d)) if d.is_zero() => String::new(),
        Some(v) => v.text(),
        None => String::new(),
    }
}

/// `Fraction(text)` for the texts the reference passes it (digits with an optional point),
/// multiplied by 10^k; `Some(numerator)` when the product is an integer. `None` when `text` is not
/// a number (Python's `to_fraction` returns None) or the product is not whole.
fn fraction_times_pow10(text: &str, k: usize) -> Option<Result<Digits, ()>> {
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part)
        || !all_digits(frac_part)
        || (int_part.is_empty() && frac_part.is_empty())
    {
        return None;
    }
    let shifted = frac_part.len().min(k);
    let (moved, rest) = frac_part.split_at(shifted);
    if rest.bytes().any(|b| b != b'0') {
        return Some(Err(()));
    }
    let digits = format!("{int_part}{moved}{}", "0".repeat(k - shifted));
    Some(Ok(Digits::new(&digits)))
}

/// Spelled-out numbers to digits; see the module docs.
pub struct EnglishNumberNormalizer {
    zeros: HashSet<&'static str>,
    ones: HashMap<String, u32>,
    ones_suffixed: HashMap<String, (u32, &'static str)>,
    tens: HashMap<String, u32>,
    tens_suffixed: HashMap<String, (u32, &'static str)>,
    multipliers: HashMap<String, usize>,
    multipliers_suffixed: HashMap<String, (usize, &'static str)>,
    decimals: HashSet<String>,
    preceding_prefixers: HashMap<&'static str, char>,
    following_prefixers: HashMap<&'static str, char>,
    prefixes: HashSet<char>,
    words: HashSet<String>,
    numeric: Regex,
    and_a_half: Regex,
    letter_digit: Regex,
    digit_letter: Regex,
    suffix_space: Regex,
    cents: Regex,
    only_cents: Regex,
    one: Regex,
}

const TENS: [(&str, u32); 8] = [
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
];
/// Each multiplier word and its power of ten.
const MULTIPLIERS: [(&str, usize); 12] = [
    ("hundred", 2),
    ("thousand", 3),
    ("million", 6),
    ("billion", 9),
    ("trillion", 12),
    ("quadrillion", 15),
    ("quintillion", 18),
    ("sextillion", 21),
    ("septillion", 24),
    ("octillion", 27),
    ("nonillion", 30),
    ("decillion", 33),
];
const SPECIALS: [&str; 4] = ["and", "double", "triple", "point"];

impl Default for EnglishNumberNormalizer {
    fn default() -> Self {
        Self::new()
    }
}

impl EnglishNumberNormalizer {
    /// Builds the word tables (as the reference's `__init__` does).
    pub fn new() -> Self {
        let zeros: HashSet<&'static str> = ["o", "oh", "zero"].into();
        // "one" to "nineteen": the voice's own number words ("zero" is among `zeros`).
        let ones: HashMap<String, u32> = ONES[1..]
            .iter()
            .zip(1..)
            .map(|(name, value)| (name.to_string(), value))
            .collect();
        let mut ones_suffixed: HashMap<String, (u32, &'static str)> = ones
            .iter()
            .map(|(name, &value)| {
                let plural = if name == "six" {
                    "sixes".to_string()
                } else {
                    format!("{name}s")
                };
                (plural, (value, "s"))
            })
            .collect();
        for (name, value, suffix) in [
            ("zeroth", 0, "th"),
            ("first", 1, "st"),
            ("second", 2, "nd"),
            ("third", 3, "rd"),
            ("fifth", 5, "th"),
            ("twelfth", 12, "th"),
        ] {
            ones_suffixed.insert(name.to_string(), (value, suffix));
        }
        for (name, &value) in &ones {
            if value > 3 && value != 5 && value != 12 {
                let ordinal = if name.ends_with('t') {
                    format!("{name}h")
                } else {
                    format!("{name}th")
                };
                ones_suffixed.insert(ordinal, (value, "th"));
            }
        }
        let tens: HashMap<String, u32> = TENS.iter().map(|&(n, v)| (n.to_string(), v)).collect();
        let mut tens_suffixed = HashMap::new();
        for &(name, value) in &TENS {
            tens_suffixed.insert(name.replace('y', "ies"), (value, "s"));
            tens_suffixed.insert(name.replace('y', "ieth"), (value, "th"));
        }
        let multipliers: HashMap<String, usize> = MULTIPLIERS
            .iter()
            .map(|&(n, k)| (n.to_string(), k))
            .collect();
        let mut multipliers_suffixed = HashMap::new();
        for &(name, k) in &MULTIPLIERS {
            multipliers_suffixed.insert(format!("{name}s"), (k, "s"));
            multipliers_suffixed.insert(format!("{name}th"), (k, "th"));
        }
        let decimals: HashSet<String> = ones
            .keys()
            .cloned()
            .chain(tens.keys().cloned())
            .chain(zeros.iter().map(|z| z.to_string()))
            .collect();
        let preceding_prefixers: HashMap<&'static str, char> = [
            ("minus", '-'),
            ("negative", '-'),
            ("plus", '+'),
            ("positive", '+'),
        ]
        .into();
        let following_prefixers: HashMap<&'static str, char> = [
            ("pound", '£'),
            ("pounds", '£'),
            ("euro", '€'),
            ("euros", '€'),
            ("dollar", '$'),
            ("dollars", '$'),
            ("cent", '¢'),
            ("cents", '¢'),
        ]
        .into();
        let prefixes = preceding_prefixers
            .values()
            .chain(following_prefixers.values())
            .copied()
            .collect();
        let mut words: HashSet<String> = HashSet::new();
        words.extend(zeros.iter().map(|z| z.to_string()));
        words.extend(ones.keys().cloned());
        words.extend(ones_suffixed.keys().cloned());
        words.extend(tens.keys().cloned());
        words.extend(tens_suffixed.keys().cloned());
        words.extend(multipliers.keys().cloned());
        words.extend(multipliers_suffixed.keys().cloned());
        words.extend(preceding_prefixers.keys().map(|k| k.to_string()));
        words.extend(following_prefixers.keys().map(|k| k.to_string()));
        words.extend(["per", "percent"].map(String::from));
        words.extend(SPECIALS.map(String::from));
        let re = |pattern: &str| Regex::new(pattern).expect("valid pattern");
        Self {
            zeros,
            ones,
            ones_suffixed,
            tens,
            tens_suffixed,
            multipliers,
            multipliers_suffixed,
            decimals,
            preceding_prefixers,
            following_prefixers,
            prefixes,
            words,
            numeric: re(r"^[0-9]+(\.[0-9]+)?$"),
            and_a_half: re(r"\band\s+a\s+half\b"),
            letter_digit: re(r"([a-z])([0-9])"),
            digit_letter: re(r"([0-9])([a-z])"),
            suffix_space: re(r"([0-9])\s+(st|nd|rd|th|s)\b"),
            cents: re(r"([€£$])([0-9]+) (?:and )?¢([0-9]{1,2})\b"),
            only_cents: re(r"[€£$]0.([0-9]{1,2})\b"),
            one: re(r"\b1(s?)\b"),
        }
    }

    /// Normalizes the numbers of one (already lowercased, symbol-free) string.
    pub fn normalize(&self, text: &str) -> String {
        let text = self.preprocess(text);
        let words: Vec<&str> = text.split_whitespace().collect();
        self.postprocess(&self.process_words(&words).join(" "))
    }

    /// Reference: `EnglishNumberNormalizer.preprocess`.
    fn preprocess(&self, text: &str) -> String {
        // "<number> and a half" → "<number> point five"
        let segments: Vec<&str> = self.and_a_half.split(text).collect();
        let mut results: Vec<&str> = Vec::new();
        for (i, segment) in segments.iter().enumerate() {
            if segment.trim().is_empty() {
                continue;
            }
            results.push(segment);
            if i != segments.len() - 1 {
                let last_word = segment.split_whitespace().last().unwrap_or("");
                if self.decimals.contains(last_word) || self.multipliers.contains_key(last_word) {
                    results.push("point five");
                } else {
                    results.push("and a half");
                }
            }
        }
        let text = results.join(" ");
        // A space at each number/letter boundary, except before a suffix.
        let text = self.letter_digit.replace_all(&text, "${1} ${2}");
        let text = self.digit_letter.replace_all(&text, "${1} ${2}");
        self.suffix_space
            .replace_all(&text, "${1}${2}")
            .into_owned()
    }

    /// Reference: `EnglishNumberNormalizer.postprocess`.
    fn postprocess(&self, text: &str) -> String {
        // "$2 and ¢7" → "$2.07"
        let text = self.cents.replace_all(text, |c: &regex::Captures| {
            let cents: u32 = c[3].parse().expect("one or two digits");
            format!("{}{}.{cents:02}", &c[1], &c[2])
        });
        let text = self.only_cents.replace_all(&text, |c: &regex::Captures| {
            let cents: u32 = c[1].parse().expect("one or two digits");
            format!("¢{cents}")
        });
        // "one(s)" rather than "1(s)", for readability.
        self.one.replace_all(&text, "one${1}").into_owned()
    }

    fn is_numeric(&self, word: &str) -> bool {
        self.numeric.is_match(word)
    }

    /// Reference: `EnglishNumberNormalizer.process_words`, branch by branch.
    fn process_words(&self, words: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        let mut prefix: Option<char> = None;
        let mut value: Option<Value> = None;
        let mut skip = false;
        // Python's `output`: the text with the pending prefix; clears value and prefix.
        fn output(result: String, prefix: &mut Option<char>, value: &mut Option<Value>) -> String {
            let text = match prefix.take() {
                Some(p) => format!("{p}{result}"),
                None => result,
            };
            *value = None;
            text
        }
        macro_rules! emit {
            ($text:expr) => {{
                let text = $text;
                out.push(output(text, &mut prefix, &mut value));
            }};
        }
        macro_rules! emit_value {
            () => {{
                if let Some(v) = value.take() {
                    emit!(v.text());
                }
            }};
        }
        for i in 0..words.len() {
            if skip {
                skip = false;
                continue;
            }
            let prev = if i > 0 { Some(words[i - 1]) } else { None };
            let current = words[i];
            let next = words.get(i + 1).copied();
            let next_is_numeric = next.is_some_and(|n| self.is_numeric(n));
            let next_is_word = next.is_some_and(|n| self.words.contains(n));
            let prev_in = |set: &dyn Fn(&str) -> bool| prev.is_some_and(set);
            let first = current.chars().next().expect("split words are not empty");
            let has_prefix = self.prefixes.contains(&first);
            let without_prefix = if has_prefix {
                &current[first.len_utf8()..]
            } else {
                current
            };
            if self.is_numeric(without_prefix) {
                // Arabic numbers, possibly with a sign or currency and a fraction.
                let whole = fraction_times_pow10(without_prefix, 0).expect("numeric");
                if let Some(v) = &value {
                    if let Value::Str(s) = v {
                        if s.ends_with('.') {
                            // Decimals and IP address components.
                            value = Some(Value::Str(format!("{s}{current}")));
                            continue;
                        }
                    }
                    emit_value!();
                }
                if has_prefix {
                    prefix = Some(first);
                }
                value = Some(match whole {
                    Ok(n) => Value::Int(n),
                    Err(()) => Value::Str(without_prefix.to_string()),
                });
            } else if !self.words.contains(current) {
                emit_value!();
                emit!(current.to_string());
            } else if self.zeros.contains(current) {
                value = Some(Value::Str(format!("{}0", text_or_empty(&value))));
            } else if let Some(&ones) = self.ones.get(current) {
                let after_tens = prev_in(&|p| self.tens.contains_key(p)) && ones < 10;
                value = Some(match value.take() {
                    None => Value::Int(Digits::small(ones)),
                    Some(v)
                        if matches!(v, Value::Str(_))
                            || prev_in(&|p| self.ones.contains_key(p)) =>
                    {
                        let s = v.text();
                        if after_tens && s.ends_with('0') {
                            // Replace the last zero with the digit.
                            Value::Str(format!("{}{ones}", &s[..s.len() - 1]))
                        } else {
                            Value::Str(format!("{s}{ones}"))
                        }
                    }
                    Some(Value::Int(n)) => {
                        let k = if ones < 10 { 1 } else { 2 };
                        if n.divisible_by_pow10(k) {
                            Value::Int(n.add(&Digits::small(ones)))
                        } else {
                            Value::Str(format!("{}{ones}", n.0))
                        }
                    }
                    Some(Value::Str(_)) => unreachable!("handled above"),
                });
            } else if let Some(&(ones, suffix)) = self.ones_suffixed.get(current) {
                // Ordinal or plural: yield the number right away.
                let after_tens = prev_in(&|p| self.tens.contains_key(p)) && ones < 10;
                let text = match value.take() {
                    None => format!("{ones}{suffix}"),
                    Some(v)
                        if matches!(v, Value::Str(_))
                            || prev_in(&|p| self.ones.contains_key(p)) =>
                    {
                        let s = v.text();
                        if after_tens && s.ends_with('0') {
                            format!("{}{ones}{suffix}", &s[..s.len() - 1])
                        } else {
                            format!("{s}{ones}{suffix}")
                        }
                    }
                    Some(Value::Int(n)) => {
                        let k = if ones < 10 { 1 } else { 2 };
                        if n.divisible_by_pow10(k) {
                            format!("{}{suffix}", n.add(&Digits::small(ones)).0)
                        } else {
                            format!("{}{ones}{suffix}", n.0)
                        }
                    }
                    Some(Value::Str(_)) => unreachable!("handled above"),
                };
                emit!(text);
            } else if let Some(&tens) = self.tens.get(current) {
                value = Some(match value.take() {
                    None => Value::Int(Digits::small(tens)),
                    Some(Value::Str(s)) => Value::Str(format!("{s}{tens}")),
                    Some(Value::Int(n)) if n.divisible_by_pow10(2) => {
                        Value::Int(n.add(&Digits::small(tens)))
                    }
                    Some(Value::Int(n)) => Value::Str(format!("{}{tens}", n.0)),
                });
            } else if let Some(&(tens, suffix)) = self.tens_suffixed.get(current) {
                let text = match value.take() {
                    None => format!("{tens}{suffix}"),
                    Some(Value::Str(s)) => format!("{s}{tens}{suffix}"),
                    Some(Value::Int(n)) if n.divisible_by_pow10(2) => {
                        format!("{}{suffix}", n.add(&Digits::small(tens)).0)
                    }
                    Some(Value::Int(n)) => format!("{}{tens}{suffix}", n.0),
                };
                emit!(text);
            } else if let Some(&k) = self.multipliers.get(current) {
                value = Some(match value.take() {
                    None => Value::Int(Digits::pow10(k)),
                    Some(Value::Int(n)) if !n.is_zero() => Value::Int(n.scale_last_group(k)),
                    Some(v) => match fraction_times_pow10(&v.text(), k) {
                        Some(Ok(n)) => Value::Int(n),
                        _ => {
                            value = Some(v);
                            emit_value!();
                            Value::Int(Digits::pow10(k))
                        }
                    },
                });
            } else if let Some(&(k, suffix)) = self.multipliers_suffixed.get(current) {
                match value.take() {
                    None => emit!(format!("{}{suffix}", Digits::pow10(k).0)),
                    Some(Value::Str(s)) => match fraction_times_pow10(&s, k) {
                        Some(Ok(n)) => emit!(format!("{}{suffix}", n.0)),
                        _ => {
                            emit!(s);
                            emit!(format!("{}{suffix}", Digits::pow10(k).0));
                        }
                    },
                    Some(Value::Int(n)) => emit!(format!("{}{suffix}", n.scale_last_group(k).0)),
                }
                value = None;
            } else if let Some(&sign) = self.preceding_prefixers.get(current) {
                // A sign applies only if a number follows.
                emit_value!();
                if next_is_word || next_is_numeric {
                    prefix = Some(sign);
                } else {
                    emit!(current.to_string());
                }
            } else if let Some(&currency) = self.following_prefixers.get(current) {
                // A currency applies only after a number.
                match value.take() {
                    Some(v) => {
                        prefix = Some(currency);
                        emit!(v.text());
                    }
                    None => emit!(current.to_string()),
                }
            } else if current == "per" || current == "percent" {
                match value.take() {
                    Some(v) if current == "percent" => emit!(format!("{}%", v.text())),
                    Some(v) if next == Some("cent") => {
                        emit!(format!("{}%", v.text()));
                        skip = true;
                    }
                    Some(v) => {
                        emit!(v.text());
                        emit!(current.to_string());
                    }
                    None => emit!(current.to_string()),
                }
            } else if !next_is_word && !next_is_numeric {
                // A special word ("and", "double", "triple", "point") not before a number.
                emit_value!();
                emit!(current.to_string());
            } else if current == "and" {
                // "and" after hundreds, thousands, ... is dropped.
                if !prev_in(&|p| self.multipliers.contains_key(p)) {
                    emit_value!();
                    emit!(current.to_string());
                }
            } else if current == "double" || current == "triple" {
                let next_word = next.unwrap_or("");
                if self.ones.contains_key(next_word) || self.zeros.contains(next_word) {
                    let repeats = if current == "double" { 2 } else { 3 };
                    let digit = self.ones.get(next_word).copied().unwrap_or(0);
                    let text = format!(
                        "{}{}",
                        text_or_empty(&value),
                        digit.to_string().repeat(repeats)
                    );
                    value = Some(Value::Str(text));
                    skip = true;
                } else {
                    emit_value!();
                    emit!(current.to_string());
                }
            } else if current == "point"
                && (next.is_some_and(|n| self.decimals.contains(n)) || next_is_numeric)
            {
                value = Some(Value::Str(format!("{}.", text_or_empty(&value))));
            }
        }
        emit_value!();
        out
    }
}

#[cfg(test)]
#[path = "numbers_tests.rs"]
mod tests;
