//! Text normalization: numbers, dates, times, currency, units, abbreviations and symbols become
//! the words a person would say. Punctuation that shapes intonation (`, . ? ! ; :`) is kept;
//! other symbols are spoken or dropped.

use super::numbers::{cardinal, decimal, digits, ordinal, year, MAX_CARDINAL};

/// Abbreviations written with a full stop, and what is said. Titles come before a name, so their
/// stop never ends a sentence.
const TITLES: &[(&str, &str)] = &[
    ("Dr", "doctor"),
    ("Mr", "mister"),
    ("Mrs", "missus"),
    ("Ms", "miz"),
    ("Prof", "professor"),
    ("St", "saint"),
    ("Mt", "mount"),
    ("Gen", "general"),
    ("Capt", "captain"),
    ("Sgt", "sergeant"),
    ("No", "number"),
];

/// Abbreviations that can also end a sentence (the stop is kept when a capital follows).
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("etc", "et cetera"),
    ("e.g", "for example"),
    ("i.e", "that is"),
    ("vs", "versus"),
    ("Jr", "junior"),
    ("Sr", "senior"),
    ("Ave", "avenue"),
    ("Rd", "road"),
    ("approx", "approximately"),
    ("Inc", "incorporated"),
    ("Ltd", "limited"),
    ("Co", "company"),
    ("Dept", "department"),
    ("min", "minutes"),
    ("hrs", "hours"),
    ("Jan", "january"),
    ("Feb", "february"),
    ("Aug", "august"),
    ("Sept", "september"),
    ("Oct", "october"),
    ("Nov", "november"),
    ("Dec", "december"),
];

/// Units after a number: (written, singular, plural).
const UNITS: &[(&str, &str, &str)] = &[
    ("km", "kilometer", "kilometers"),
    ("m", "meter", "meters"),
    ("cm", "centimeter", "centimeters"),
    ("mm", "millimeter", "millimeters"),
    ("kg", "kilogram", "kilograms"),
    ("g", "gram", "grams"),
    ("mg", "milligram", "milligrams"),
    ("lb", "pound", "pounds"),
    ("lbs", "pounds", "pounds"),
    ("oz", "ounce", "ounces"),
    ("mi", "mile", "miles"),
    ("ft", "foot", "feet"),
    ("mph", "mile per hour", "miles per hour"),
    ("km/h", "kilometer per hour", "kilometers per hour"),
    ("kph", "kilometer per hour", "kilometers per hour"),
    ("l", "liter", "liters"),
    ("L", "liter", "liters"),
    ("ml", "milliliter", "milliliters"),
    ("KB", "kilobyte", "kilobytes"),
    ("kB", "kilobyte", "kilobytes"),
    ("MB", "megabyte", "megabytes"),
    ("GB", "gigabyte", "gigabytes"),
    ("TB", "terabyte", "terabytes"),
    ("Hz", "hertz", "hertz"),
    ("kHz", "kilohertz", "kilohertz"),
    ("MHz", "megahertz", "megahertz"),
    ("GHz", "gigahertz", "gigahertz"),
    ("ms", "millisecond", "milliseconds"),
    ("s", "second", "seconds"),
    ("sec", "second", "seconds"),
    ("min", "minute", "minutes"),
    ("h", "hour", "hours"),
    ("hr", "hour", "hours"),
    ("°C", "degree celsius", "degrees celsius"),
    ("°F", "degree fahrenheit", "degrees fahrenheit"),
    ("°", "degree", "degrees"),
];

/// Currency signs: (sign, singular, plural, cents word singular, plural).
const CURRENCIES: &[(char, &str, &str, &str, &str)] = &[
    ('$', "dollar", "dollars", "cent", "cents"),
    ('£', "pound", "pounds", "penny", "pence"),
    ('€', "euro", "euros", "cent", "cents"),
    ('¥', "yen", "yen", "sen", "sen"),
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Symbols spoken as words wherever they appear.
const SYMBOLS: &[(char, &str)] = &[
    ('&', "and"),
    ('@', "at"),
    ('%', "percent"),
    ('+', "plus"),
    ('=', "equals"),
    ('#', "number"),
    ('×', "times"),
    ('<', "less than"),
    ('>', "greater than"),
    ('°', "degrees"),
];

const SCALE_WORDS: &[&str] = &["thousand", "million", "billion", "trillion"];

/// A number as written: sign, integer part (commas removed) and fraction digits.
#[derive(Debug, Clone, PartialEq)]
struct Numeral {
    negative: bool,
    int: u64,
    /// Characters of the integer part as written, separators included.
    int_digits: usize,
    frac: String,
}

impl Numeral {
    fn words(&self) -> String {
        let body = if self.int > MAX_CARDINAL {
            digits(&self.int.to_string())
        } else {
            decimal(self.int, &self.frac)
        };
        if self.negative {
            format!("minus {body}")
        } else {
            body
        }
    }

    fn is_one(&self) -> bool {
        self.int == 1 && self.frac.is_empty() && !self.negative
    }
}

/// Parses a leading numeral (`-1,234.5`), returning it and the rest of the text.
fn parse_numeral(s: &str) -> Option<(Numeral, &str)> {
    let (negative, body) = match s.strip_prefix(['-', '−']) {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut int_text = String::new();
    while i < bytes.len() {
        match bytes[i] {
            b'0'..=b'9' => int_text.push(bytes[i] as char),
            // A thousands separator only when three digits follow.
            b',' if !int_text.is_empty()
                && bytes.len() >= i + 4
                && bytes[i + 1..i + 4].iter().all(u8::is_ascii_digit)
                && !bytes.get(i + 4).is_some_and(u8::is_ascii_digit) => {}
            _ => break,
        }
        i += 1;
    }
    if int_text.is_empty() {
        return None;
    }
    let mut frac = String::new();
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while let Some(&d @ b'0'..=b'9') = bytes.get(i) {
            frac.push(d as char);
            i += 1;
        }
    }
    // Written width including separators: "1,234" is not read as a year.
    let int_digits = i;
    let int = int_text.parse().unwrap_or(u64::MAX);
    Some((
        Numeral {
            negative,
            int,
            int_digits,
            frac,
        },
        &body[i..],
    ))
}

/// Splits leading and trailing punctuation off a whitespace-separated token.
fn split_punctuation(token: &str) -> (&str, &str, &str) {
    let lead_end = token
        .find(|c: char| !matches!(c, '(' | '"' | '\'' | '[' | '“' | '‘'))
        .unwrap_or(token.len());
    let core_end = token
        .rfind(|c: char| {
            !matches!(
                c,
                ',' | '.' | ';' | ':' | '!' | '?' | ')' | '"' | '\'' | ']' | '”' | '’'
            )
        })
        .map_or(lead_end, |i| {
            i + token[i..].chars().next().map_or(1, char::len_utf8)
        });
    let core_end = core_end.max(lead_end);
    (
        &token[..lead_end],
        &token[lead_end..core_end],
        &token[core_end..],
    )
}

/// Rewrites `text` into speakable words and punctuation.
pub fn normalize(text: &str) -> String {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let (_, core, trail) = split_punctuation(tokens[i]);
        let next = tokens.get(i + 1).map(|t| split_punctuation(t));
        let (words, consumed_next, trail) =
            expand(core, trail, next, out.last().map(String::as_str));
        let mut words = words;
        // Keep only the punctuation that shapes intonation.
        words.extend(
            trail
                .chars()
                .filter(|c| matches!(c, ',' | '.' | ';' | ':' | '!' | '?')),
        );
        if !words.is_empty() {
            out.push(words);
        }
        i += 1 + usize::from(consumed_next);
    }
    out.join(" ")
}

/// Expands one token core. Returns (words, whether the next token was used, trailing punctuation).
fn expand<'a>(
    core: &str,
    trail: &'a str,
    next: Option<(&str, &str, &'a str)>,
    previous: Option<&str>,
) -> (String, bool, &'a str) {
    let next_core = next.map(|n| n.1).unwrap_or("");
    let next_trail = next.map(|n| n.2).unwrap_or("");
    let next_starts_sentence =
        next.is_none_or(|n| n.1.chars().next().is_some_and(char::is_uppercase));
    // Abbreviations with a stop.
    if let Some(rest) = trail.strip_prefix('.') {
        if let Some(&(_, said)) = TITLES.iter().find(|(a, _)| *a == core) {
            let number_follows = next_core.starts_with(|c: char| c.is_ascii_digit());
            if !next_core.is_empty() && (core != "No" || number_follows) {
                return (said.to_string(), false, rest);
            }
        }
        if let Some(&(_, said)) = ABBREVIATIONS
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(core))
        {
            return (
                said.to_string(),
                false,
                if next_starts_sentence { trail } else { rest },
            );
        }
    }
    // "St" after a name is "street": handled above as a title only when a word follows; fine.
    if let Some(month) = month_index(core) {
        if let Some(day) = day_of_month(next_core) {
            let said = format!("{} {}", MONTHS[month], ordinal(day));
            return (said, true, next_trail);
        }
    }
    if let Some(first) = core.chars().next() {
        if let Some(&(_, one, many, cent, cents)) = CURRENCIES.iter().find(|c| c.0 == first) {
            if let Some((num, "")) = parse_numeral(&core[first.len_utf8()..]) {
                return (
                    money(&num, next_core, (one, many, cent, cents)),
                    is_scale(next_core),
                    pick(next_core, trail, next_trail),
                );
            }
        }
    }
    // "at 2 pm": a meridiem after a number said as the letters it is, not as a word ("pm" has no
    // vowel to say, "am" is the verb).
    if is_meridiem(core) && previous.is_some_and(ends_with_number_word) {
        let said = if core.to_ascii_lowercase().starts_with('a') {
            "a m"
        } else {
            "p m"
        };
        return (said.to_string(), false, trail);
    }
    if let Some(said) = time(core, next_core) {
        let used = is_meridiem(next_core);
        return (said, used, if used { next_trail } else { trail });
    }
    if let Some(said) = date(core) {
        return (said, false, trail);
    }
    if let Some((num, rest)) = parse_numeral(core) {
        if let Some(said) = number_with_suffix(&num, rest, next_core, previous) {
            let used = rest.is_empty() && unit(next_core).is_some();
            return (said, used, if used { next_trail } else { trail });
        }
    }
    (words_and_symbols(core), false, trail)
}

fn pick<'a>(next_core: &str, trail: &'a str, next_trail: &'a str) -> &'a str {
    if is_scale(next_core) {
        next_trail
    } else {
        trail
    }
}

fn is_scale(word: &str) -> bool {
    SCALE_WORDS.contains(&word.to_ascii_lowercase().as_str())
}

fn month_index(word: &str) -> Option<usize> {
    let lower = word.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| *m == lower || (lower.len() == 3 && m.starts_with(&lower) && lower != "may"))
}

/// "15", "15th", "1st" → day number 1..=31.
fn day_of_month(word: &str) -> Option<u64> {
    let digits_end = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let suffix = &word[digits_end..];
    if digits_end == 0 || digits_end > 2 || !matches!(suffix, "" | "st" | "nd" | "rd" | "th") {
        return None;
    }
    word[..digits_end]
        .parse()
        .ok()
        .filter(|d| (1..=31).contains(d))
}

fn unit(word: &str) -> Option<(&'static str, &'static str)> {
    UNITS.iter().find(|u| u.0 == word).map(|u| (u.1, u.2))
}

fn money(
    num: &Numeral,
    next_core: &str,
    (one, many, cent, cents): (&str, &str, &str, &str),
) -> String {
    if is_scale(next_core) {
        return format!("{} {} {many}", num.words(), next_core.to_ascii_lowercase());
    }
    let unit_word = if num.int == 1 { one } else { many };
    let sub: u64 = match num.frac.len() {
        0 => 0,
        1 => num.frac.parse::<u64>().unwrap_or(0) * 10,
        _ => num.frac[..2].parse().unwrap_or(0),
    };
    let whole = format!(
        "{}{} {unit_word}",
        if num.negative { "minus " } else { "" },
        cardinal(num.int)
    );
    match (num.int, sub) {
        (_, 0) => whole,
        (0, s) => format!("{} {}", cardinal(s), if s == 1 { cent } else { cents }),
        (_, s) => format!(
            "{whole} and {} {}",
            cardinal(s),
            if s == 1 { cent } else { cents }
        ),
    }
}

/// Whether spoken words end with a number an hour can be ("two", "eleven", "thirty", "o'clock").
fn ends_with_number_word(spoken: &str) -> bool {
    let last = spoken.rsplit(' ').next().unwrap_or("");
    matches!(
        last,
        "one"
            | "two"
            | "three"
            | "four"
            | "five"
            | "six"
            | "seven"
            | "eight"
            | "nine"
            | "ten"
            | "eleven"
            | "twelve"
            | "o'clock"
    ) || last.ends_with("teen")
        || last.ends_with("ty")
}

fn is_meridiem(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "am" | "pm" | "a.m" | "p.m" | "a.m." | "p.m."
    )
}

/// "3:05" → "three oh five", "3:00 pm" → "three p m", "15:00" → "fifteen hundred".
fn time(core: &str, next_core: &str) -> Option<String> {
    let lower = core.to_ascii_lowercase();
    let (clock, suffix) = match lower.find(['a', 'p']) {
        Some(i) if matches!(&lower[i..], "am" | "pm") => (&lower[..i], Some(&lower[i..])),
        _ => (lower.as_str(), None),
    };
    let (h, m) = clock.split_once(':')?;
    if h.is_empty()
        || h.len() > 2
        || m.len() != 2
        || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let (h, m): (u64, u64) = (h.parse().ok()?, m.parse().ok()?);
    if h > 24 || m > 59 {
        return None;
    }
    let meridiem = suffix
        .or(is_meridiem(next_core).then_some(next_core))
        .map(|s| {
            if s.to_ascii_lowercase().starts_with('a') {
                " a m"
            } else {
                " p m"
            }
        });
    let minutes = match m {
        0 if meridiem.is_some() => String::new(),
        0 if h > 12 => " hundred".to_string(),
        0 => " o'clock".to_string(),
        1..=9 => format!(" oh {}", cardinal(m)),
        _ => format!(" {}", cardinal(m)),
    };
    Some(format!(
        "{}{minutes}{}",
        cardinal(h),
        meridiem.unwrap_or("")
    ))
}

/// ISO `2024-03-15` and US `3/15/2024` dates.
fn date(core: &str) -> Option<String> {
    let parts: Vec<&str> = core.split(['-', '/']).collect();
    if parts.len() != 3
        || !parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let nums: Vec<u64> = parts.iter().map(|p| p.parse().unwrap_or(0)).collect();
    let (y, m, d) = if parts[0].len() == 4 && core.contains('-') {
        (nums[0], nums[1], nums[2])
    } else if parts[2].len() == 4 && core.contains('/') {
        (nums[2], nums[0], nums[1])
    } else {
        return None;
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(format!(
        "{} {} {}",
        MONTHS[(m - 1) as usize],
        ordinal(d),
        year(y)
    ))
}

/// A numeral followed by an ordinal suffix, `%`, a unit, or nothing.
fn number_with_suffix(
    num: &Numeral,
    rest: &str,
    next_core: &str,
    previous: Option<&str>,
) -> Option<String> {
    let plural = |one: &'static str, many: &'static str| if num.is_one() { one } else { many };
    match rest {
        "st" | "nd" | "rd" | "th" if num.frac.is_empty() && !num.negative => Some(ordinal(num.int)),
        "%" => Some(format!("{} percent", num.words())),
        "" => {
            if let Some((one, many)) = unit(next_core) {
                return Some(format!("{} {}", num.words(), plural(one, many)));
            }
            let is_year = num.int_digits == 4
                && num.frac.is_empty()
                && !num.negative
                && (1100..=2099).contains(&num.int)
                && !is_scale(next_core)
                && previous.is_none_or(|p| !p.ends_with("point"));
            Some(if is_year { year(num.int) } else { num.words() })
        }
        _ => unit(rest).map(|(one, many)| format!("{} {}", num.words(), plural(one, many))),
    }
}

/// Words, with symbols spoken, digits inside words read as numbers, and other marks dropped.
fn words_and_symbols(core: &str) -> String {
    let mut out = String::with_capacity(core.len());
    let mut chars = core.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(&(_, said)) = SYMBOLS.iter().find(|s| s.0 == c) {
            out.push(' ');
            out.push_str(said);
            out.push(' ');
        } else if c.is_ascii_digit() {
            let mut run = String::from(c);
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                run.push(d);
                chars.next();
            }
            let n = run.parse().unwrap_or(u64::MAX);
            out.push(' ');
            out.push_str(&if run.len() > 1 && run.starts_with('0') {
                digits(&run)
            } else {
                cardinal(n)
            });
            out.push(' ');
        } else if c.is_alphabetic() || c == '\'' || c == '’' {
            out.push(if c == '’' { '\'' } else { c });
        } else if matches!(c, ',' | ';' | ':' | '!' | '?') {
            out.push(c);
        } else {
            // Hyphens, slashes, dots inside words and other marks: a word break.
            out.push(' ');
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}
