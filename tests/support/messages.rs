//! Checks of error messages, shared by the test suites of several crates (included by path:
//! `#[path = ".../tests/support/messages.rs"] mod messages;`, so each test binary compiles its
//! own copy and may use only part of it).
#![allow(dead_code)]

use std::fmt::Display;

/// Asserts that the message of `error` contains each of `needles`, naming the first it lacks.
pub fn assert_mentions(error: &impl Display, needles: &[&str]) {
    assert_case_mentions("the error", error, needles);
}

/// [`assert_mentions`] for one case of a table, which a failure names by `case`.
pub fn assert_case_mentions(case: &str, error: &impl Display, needles: &[&str]) {
    let message = error.to_string();
    for needle in needles {
        assert!(
            message.contains(needle),
            "{case}: `{message}` lacks `{needle}`"
        );
    }
}

/// Asserts that `parse` refuses the input of each `(input, needle)` case with an error that
/// mentions the needle (a failure names the case by its index).
pub fn assert_refusals<I, T, E: Display>(cases: &[(I, &str)], parse: impl Fn(&I) -> Result<T, E>) {
    for (k, (input, needle)) in cases.iter().enumerate() {
        match parse(input) {
            Ok(_) => panic!("case {k}, which should mention `{needle}`, was accepted"),
            Err(error) => assert_case_mentions(&format!("case {k}"), &error, &[needle]),
        }
    }
}
