//! Unit tests of the number normalizer's exact arithmetic (`super` is `numbers`).

use super::*;

#[test]
fn digits_arithmetic_matches_python_ints() {
    assert_eq!(Digits::new("007"), Digits::small(7));
    assert_eq!(Digits::new("999").add(&Digits::small(1)).0, "1000");
    // 12345 thousand: 12000 + 345 * 1000
    assert_eq!(Digits::small(12345).scale_last_group(3).0, "357000");
    assert!(Digits::small(100).divisible_by_pow10(2));
    assert!(!Digits::small(7).divisible_by_pow10(1));
    // Beyond u128, as Python's ints go.
    let max = Digits::new(&u128::MAX.to_string());
    assert_eq!(
        max.add(&Digits::small(1)).0,
        "340282366920938463463374607431768211456"
    );
    // "forty decillion decillion": the second multiplier scales the last group (0) only.
    let big = Digits::small(40).scale_last_group(33).scale_last_group(33);
    assert_eq!(big.0, format!("40{}", "0".repeat(33)));
}

#[test]
fn fractions_scale_exactly() {
    assert_eq!(
        fraction_times_pow10("1.5", 6),
        Some(Ok(Digits::small(1_500_000)))
    );
    assert_eq!(fraction_times_pow10("5.", 0), Some(Ok(Digits::small(5))));
    assert_eq!(fraction_times_pow10("0.001", 2), Some(Err(())));
    assert_eq!(fraction_times_pow10("1.2.3", 3), None);
    assert_eq!(fraction_times_pow10(".", 3), None);
}
