//! Compile errors of the attribute, with spans on the offending argument.

#[test]
fn attribute_errors_point_at_the_argument() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
