//! Compile errors of the attribute, with spans on the offending argument.
//!
//! There are no trybuild pass cases: trybuild builds them as binaries, where the `#[test]` item
//! the attribute expands to is removed before type checking, so a pass case would check nothing.
//! The forms that must compile are the integration tests in `attribute.rs`.

#[test]
fn attribute_errors_point_at_the_argument() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
