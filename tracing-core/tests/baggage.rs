//! W3C Baggage examples from the specification.

use steadfast_tracing_core::baggage::Baggage;

#[test]
fn spec_examples_parse_with_properties_and_percent_decoding() {
    // Examples from the W3C Baggage spec, section "Example".
    let bag = Baggage::parse(
        "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue",
    )
    .unwrap();
    assert_eq!(bag.get("key1"), Some("value1"));
    assert_eq!(bag.entries()[0].properties, vec!["property1", "property2"]);
    assert_eq!(bag.get("key2"), Some("value2"));
    assert_eq!(
        bag.entries()[2].properties,
        vec!["propertyKey=propertyValue"]
    );
    let bag = Baggage::parse("userId=sergey,serverNode=DF%2028,isProduction=false").unwrap();
    assert_eq!(bag.get("serverNode"), Some("DF 28"));
}

#[test]
fn malformed_members_and_bad_percent_escapes_are_rejected() {
    for bad in [
        "novalue",
        "=v",
        "k=v%2",
        "k=v%zz",
        "k=a b",
        "bad key=v",
        "k=v;bad prop",
    ] {
        assert!(Baggage::parse(bad).is_err(), "{bad:?} should be rejected");
    }
}

#[test]
fn more_than_8192_bytes_are_rejected_and_insert_refuses_to_grow_past_it() {
    let big = format!("k={}", "v".repeat(8191));
    assert!(Baggage::parse(&big).is_err());
    let mut bag = Baggage::new();
    bag.insert("a", &"x".repeat(8000)).unwrap();
    assert!(bag.insert("b", &"y".repeat(500)).is_err());
    assert_eq!(bag.len(), 1);
}

#[test]
fn baggage_is_injected_only_when_not_empty_and_extracted_across_headers() {
    let mut out: Vec<(String, String)> = Vec::new();
    Baggage::new().inject(&mut out);
    assert!(out.is_empty());
    let headers = [("Baggage", "a=1"), ("baggage", "b=2")];
    let bag = Baggage::extract(&headers).unwrap();
    bag.inject(&mut out);
    assert_eq!(out, vec![("baggage".to_string(), "a=1,b=2".to_string())]);
}
