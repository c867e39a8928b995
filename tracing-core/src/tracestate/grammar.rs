//! What a `tracestate` key and value may hold: the key grammars and the
//! byte classes the scanner validates with.

/// Which key grammar to validate `tracestate` keys against.
///
/// # Example
///
/// ```
/// use steadfast_tracing_core::{KeyGrammar, TraceState};
///
/// for key in ["foo@", "foo@@bar", "foo@bar@baz", "0day"] {
///     assert!(TraceState::parse_headers_with([format!("{key}=1").as_str()], KeyGrammar::Level2).is_ok());
///     assert!(TraceState::parse_headers_with([format!("{key}=1").as_str()], KeyGrammar::Level1).is_err());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeyGrammar {
    /// The grammar of Trace Context Level 2 (the specification's head, and
    /// the official test harness since "Fix tracestate key grammar tests
    /// (#584)", June 2026):
    ///
    /// ```abnf
    /// key     = ( lcalpha / DIGIT ) 0*255 ( keychar )
    /// keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
    /// ```
    ///
    /// that is `[a-z0-9][a-z0-9_\-*/@]{0,255}`: `@` may appear anywhere after
    /// the first character, any number of times.
    #[default]
    Level2,
    /// The stricter grammar of the Trace Context Level 1 Recommendation
    /// (2020), `simple-key / multi-tenant-key`: either a simple key
    /// `[a-z][a-z0-9_\-*/]{0,255}` or one `tenant@system`, a tenant of
    /// `[a-z0-9][a-z0-9_\-*/]{0,240}` and a system of `[a-z][a-z0-9_\-*/]{0,13}`.
    /// [`crate::Level::One`] validates with it.
    Level1,
}

/// Byte classes for one-lookup validation (bit flags, see `CLASS`).
pub(super) const KEY_CHAR: u8 = 1; // a-z 0-9 _ - * /
pub(super) const KEY_FIRST: u8 = 2; // a-z 0-9
pub(super) const KEY_AT: u8 = 4; // @
pub(super) const VALUE_CHAR: u8 = 8; // printable ASCII but ',' and '='

pub(super) const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut c = 0x20;
    while c <= 0x7e {
        if c != b',' as usize && c != b'=' as usize {
            table[c] |= VALUE_CHAR;
        }
        let keychar = matches!(c as u8, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'*' | b'/');
        if keychar {
            table[c] |= KEY_CHAR;
        }
        if matches!(c as u8, b'a'..=b'z' | b'0'..=b'9') {
            table[c] |= KEY_FIRST;
        }
        c += 1;
    }
    table[b'@' as usize] |= KEY_AT;
    table
};

/// Whether every byte of `s` is in one of the `classes`: one table lookup
/// and one AND per byte, no early exit, so the loop stays branch-free.
#[inline]
fn all_in(s: &[u8], classes: u8) -> bool {
    s.iter()
        .fold(true, |ok, &c| ok & (CLASS[usize::from(c)] & classes != 0))
}

fn is_keychar(c: u8) -> bool {
    CLASS[usize::from(c)] & KEY_CHAR != 0
}

/// Checks one key against `grammar`, returning what is wrong.
pub(crate) fn check_key(key: &str, grammar: KeyGrammar) -> Result<(), &'static str> {
    let k = key.as_bytes();
    if k.is_empty() {
        return Err("empty key");
    }
    if k.len() > 256 {
        return Err("key longer than 256 characters");
    }
    match grammar {
        KeyGrammar::Level2 => {
            if CLASS[usize::from(k[0])] & KEY_FIRST == 0 {
                return Err("key must start with a lowercase letter or digit");
            }
            if !all_in(&k[1..], KEY_CHAR | KEY_AT) {
                return Err("key holds a character outside a-z 0-9 _ - * / @");
            }
            Ok(())
        }
        KeyGrammar::Level1 => match key.split_once('@') {
            None => {
                if !k[0].is_ascii_lowercase() {
                    return Err("key must start with a lowercase letter");
                }
                if !k[1..].iter().all(|&c| is_keychar(c)) {
                    return Err("key holds a character outside a-z 0-9 _ - * /");
                }
                Ok(())
            }
            Some((tenant, system)) => {
                let (t, s) = (tenant.as_bytes(), system.as_bytes());
                if t.is_empty() || t.len() > 241 {
                    return Err("tenant must be 1 to 241 characters");
                }
                if !matches!(t[0], b'a'..=b'z' | b'0'..=b'9') || !t.iter().all(|&c| is_keychar(c)) {
                    return Err("tenant holds a character outside a-z 0-9 _ - * /");
                }
                if s.is_empty() || s.len() > 14 {
                    return Err("system must be 1 to 14 characters");
                }
                if !s[0].is_ascii_lowercase() || !s.iter().all(|&c| is_keychar(c)) {
                    return Err("system must be a lowercase letter then a-z 0-9 _ - * /");
                }
                Ok(())
            }
        },
    }
}

/// Checks one value: 1 to 256 printable ASCII characters other than `,` and
/// `=`, not ending in a space.
pub(crate) fn check_value(value: &str) -> Result<(), &'static str> {
    let v = value.as_bytes();
    if v.is_empty() {
        return Err("empty value");
    }
    if v.len() > 256 {
        return Err("value longer than 256 characters");
    }
    if !all_in(v, VALUE_CHAR) {
        return Err("value holds a character outside printable ascii or a ',' or '='");
    }
    if v[v.len() - 1] == b' ' {
        return Err("value ends with a space");
    }
    Ok(())
}
