//! Numbers as English words: cardinals, ordinals, years, decimals and digit strings.

/// "zero" to "nineteen", by value; the WER normalizer reads numbers back with the same words.
pub(crate) const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const SCALES: [(u64, &str); 4] = [
    (1_000_000_000_000, "trillion"),
    (1_000_000_000, "billion"),
    (1_000_000, "million"),
    (1_000, "thousand"),
];

/// Largest number read as a cardinal; longer digit strings are read digit by digit.
pub const MAX_CARDINAL: u64 = 999_999_999_999_999;

fn below_thousand(n: u64, out: &mut Vec<&'static str>) {
    let (hundreds, rest) = (n / 100, n % 100);
    if hundreds > 0 {
        out.push(ONES[hundreds as usize]);
        out.push("hundred");
    }
    if rest >= 20 {
        out.push(TENS[(rest / 10) as usize]);
        if rest % 10 > 0 {
            out.push(ONES[(rest % 10) as usize]);
        }
    } else if rest > 0 || hundreds == 0 {
        out.push(ONES[rest as usize]);
    }
}

/// `1234` → "one thousand two hundred thirty four" (American style, no "and").
pub fn cardinal(mut n: u64) -> String {
    if n > MAX_CARDINAL {
        return digits(&n.to_string());
    }
    let mut words = Vec::new();
    for (scale, name) in SCALES {
        if n >= scale {
            below_thousand(n / scale, &mut words);
            words.push(name);
            n %= scale;
        }
    }
    if n > 0 || words.is_empty() {
        below_thousand(n, &mut words);
    }
    words.join(" ")
}

/// `21` → "twenty first".
pub fn ordinal(n: u64) -> String {
    let words = cardinal(n);
    let (head, last) = match words.rsplit_once(' ') {
        Some((h, l)) => (format!("{h} "), l),
        None => (String::new(), words.as_str()),
    };
    let last = match last {
        "one" => "first".to_string(),
        "two" => "second".to_string(),
        "three" => "third".to_string(),
        "five" => "fifth".to_string(),
        "eight" => "eighth".to_string(),
        "nine" => "ninth".to_string(),
        "twelve" => "twelfth".to_string(),
        w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
        w => format!("{w}th"),
    };
    format!("{head}{last}")
}

/// A year as people say it: 1999 "nineteen ninety nine", 2005 "two thousand five",
/// 2024 "twenty twenty four", 1900 "nineteen hundred", 1905 "nineteen oh five".
pub fn year(n: u64) -> String {
    if !(1000..=9999).contains(&n) || (2000..2010).contains(&n) || n % 1000 == 0 {
        return cardinal(n);
    }
    let (high, low) = (n / 100, n % 100);
    let low = match low {
        0 => "hundred".to_string(),
        1..=9 => format!("oh {}", ONES[low as usize]),
        _ => cardinal(low),
    };
    format!("{} {low}", cardinal(high))
}

/// Reads each digit: "007" → "zero zero seven". Non-digits are skipped.
pub fn digits(text: &str) -> String {
    let words: Vec<&str> = text
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|d| ONES[(d - b'0') as usize])
        .collect();
    words.join(" ")
}

/// A decimal numeral `int.frac` (already split): "3", "14" → "three point one four".
pub fn decimal(int: u64, frac: &str) -> String {
    if frac.is_empty() {
        cardinal(int)
    } else {
        format!("{} point {}", cardinal(int), digits(frac))
    }
}
