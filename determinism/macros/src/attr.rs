//! Parsing `#[deterministic_test(...)]` arguments.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, MetaNameValue, Token};

/// The attribute's arguments, each remembered with its span for later errors.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) seed: Option<u64>,
    pub(crate) runs: Option<(u32, Span)>,
    pub(crate) start: Option<LitStr>,
    pub(crate) check_determinism: bool,
    pub(crate) retries: Option<(u32, Span)>,
    pub(crate) time_zone: Option<LitStr>,
    pub(crate) clock: Option<LitStr>,
    pub(crate) grace_ms: Option<(u64, Span)>,
}

/// The IANA time zone names (tzdata 2025b, zones and links), one per line.
const TIME_ZONES: &str = include_str!("time_zones.txt");

impl Args {
    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
        let pairs = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(tokens)?;
        let mut args = Args::default();
        let mut seen: Vec<String> = Vec::new();
        for pair in pairs {
            let Some(name) = pair.path.get_ident().map(ToString::to_string) else {
                return Err(unknown(&pair));
            };
            if seen.contains(&name) {
                return Err(syn::Error::new_spanned(
                    &pair.path,
                    format!("`{name}` is given more than once"),
                ));
            }
            seen.push(name.clone());
            match name.as_str() {
                "seed" => {
                    args.seed = Some(int(&pair.value, "seed", "a u64 such as `seed = 0x2a`")?)
                }
                "runs" => {
                    let runs = small_int(&pair.value, "runs")?;
                    if runs == 0 {
                        return Err(syn::Error::new_spanned(
                            &pair.value,
                            "`runs` must be at least 1",
                        ));
                    }
                    args.runs = Some((runs, span_of(&pair.value)));
                }
                "retries" => {
                    args.retries = Some((small_int(&pair.value, "retries")?, span_of(&pair.value)))
                }
                "start" => {
                    args.start = Some(string(
                        &pair.value,
                        "`start` takes an RFC 3339 string such as `start = \"2026-01-01T00:00:00Z\"`",
                    )?);
                }
                "tz" => {
                    let text = string(
                        &pair.value,
                        "`tz` takes an IANA time zone name such as `tz = \"Europe/Berlin\"`",
                    )?;
                    let name = text.value();
                    if !TIME_ZONES.lines().any(|known| known == name) {
                        return Err(syn::Error::new_spanned(
                            &text,
                            format!(
                                "`tz = {name:?}` is not an IANA time zone name: write one such as \
                                 \"UTC\", \"Europe/Berlin\" or \"America/New_York\""
                            ),
                        ));
                    }
                    args.time_zone = Some(text);
                }
                "clock" => {
                    const EXPECTED: &str =
                        "`clock` takes \"virtual\" (the default), \"real-peers\" or \"real\"";
                    let text = string(&pair.value, EXPECTED)?;
                    if !["virtual", "real-peers", "real"].contains(&text.value().as_str()) {
                        return Err(syn::Error::new_spanned(&text, EXPECTED));
                    }
                    args.clock = Some(text);
                }
                "grace_ms" => {
                    let grace = int(&pair.value, "grace_ms", "a whole number of milliseconds")?;
                    args.grace_ms = Some((grace, span_of(&pair.value)));
                }
                "flavor" => {
                    const EXPECTED: &str = "`flavor` takes \"current_thread\" (the only flavor a \
                                            deterministic test runs on)";
                    let text = string(&pair.value, EXPECTED)?;
                    match text.value().as_str() {
                        "current_thread" => {}
                        "multi_thread" => {
                            return Err(syn::Error::new_spanned(
                                &text,
                                "`flavor = \"multi_thread\"` is not supported: a deterministic test runs on \
                                 tokio's current-thread runtime because paused virtual time needs it \
                                 (tokio refuses `start_paused` on a multi-thread runtime) and because one \
                                 thread polls tasks in an order the seed decides; for code that needs worker \
                                 threads, use `#[tokio::test(flavor = \"multi_thread\")]` and \
                                 `TestContext::new` for seeded values, on real time",
                            ));
                        }
                        _ => return Err(syn::Error::new_spanned(&text, EXPECTED)),
                    }
                }
                "check_determinism" => match &pair.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Bool(flag),
                        ..
                    }) => args.check_determinism = flag.value,
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "`check_determinism` takes `true` or `false`",
                        ));
                    }
                },
                _ => return Err(unknown(&pair)),
            }
        }
        Ok(args)
    }
}

fn span_of(expr: &Expr) -> Span {
    syn::spanned::Spanned::span(expr)
}

fn unknown(pair: &MetaNameValue) -> syn::Error {
    syn::Error::new_spanned(
        &pair.path,
        "unknown argument: expected `seed`, `runs`, `start`, `check_determinism`, `retries`, `tz`, `clock`, `grace_ms` or `flavor`",
    )
}

fn int(value: &Expr, name: &str, expected: &str) -> syn::Result<u64> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit
            .base10_parse::<u64>()
            .map_err(|_| syn::Error::new_spanned(lit, format!("`{name}` must be {expected}"))),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{name}` must be {expected}"),
        )),
    }
}

/// The string literal `value`, or an error saying what the argument takes.
fn string(value: &Expr, expected: &str) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Ok(text.clone()),
        other => Err(syn::Error::new_spanned(other, expected)),
    }
}

fn small_int(value: &Expr, name: &str) -> syn::Result<u32> {
    let wide = int(value, name, "a whole number")?;
    u32::try_from(wide)
        .map_err(|_| syn::Error::new_spanned(value, format!("`{name}` is too large")))
}
