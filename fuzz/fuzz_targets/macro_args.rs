//! `#[deterministic_test]`'s argument parser, compiled here from the macro crate's own source:
//! a proc-macro crate cannot be linked into a fuzz target, but its parser needs only
//! proc-macro2 and syn, which work outside a macro. Any token stream is arguments or an error,
//! never a panic, and what it accepts keeps the parser's promises.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The macro's expansion reads the fields; this target reads only some of them.
#[allow(dead_code)]
#[path = "../../determinism/macros/src/attr.rs"]
mod attr;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tokens) = text.parse::<proc_macro2::TokenStream>() else {
        return;
    };
    match attr::Args::parse(tokens) {
        Ok(args) => {
            assert!(args.runs.is_none_or(|(runs, _)| runs >= 1));
            assert!(
                args.clock
                    .is_none_or(|clock| ["virtual", "real-peers", "real"]
                        .contains(&clock.value().as_str()))
            );
        }
        Err(err) => assert!(!err.to_string().is_empty()),
    }
});
