//! Writing the test function for `#[deterministic_test]`.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{FnArg, ItemFn, ReturnType, Type};

use crate::attr::Args;

pub(crate) fn expand(args: &Args, item: TokenStream) -> syn::Result<TokenStream> {
    let function: ItemFn = syn::parse2(item)?;
    let det = determinism_path()?;
    check_signature(&function)?;

    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = &function;
    let name = &sig.ident;
    let output = &sig.output;
    let body_name = format_ident!("__steadfast_{}", name);
    let parameter = match sig.inputs.first() {
        Some(input) => quote!(#input),
        None => quote!(_: &#det::TestContext),
    };
    let asyncness = &sig.asyncness;
    let runner = if sig.asyncness.is_some() {
        quote!(run_async)
    } else {
        quote!(run_sync)
    };
    // An async test needs determinism's `tokio` feature: without it, a compile error at the
    // `async` keyword saying so, rather than a missing method deep in the expansion.
    let tokio_check = sig.asyncness.as_ref().map(|keyword| {
        let check = respan(quote!(#det::__require_tokio), keyword.span);
        quote_spanned! {keyword.span=>
            #check!();
        }
    });

    let seed = match args.seed {
        Some(seed) => quote!(::core::option::Option::Some(#seed)),
        None => quote!(::core::option::Option::None),
    };
    let runs = args.runs.map_or(1, |(runs, _)| runs);
    let start = match &args.start {
        Some(text) => quote!(::core::option::Option::Some(#text)),
        None => quote!(::core::option::Option::None),
    };
    // A const evaluation of the same parser the runtime uses: a bad timestamp is a compile
    // error pointing at the string.
    let start_check = args.start.as_ref().map(|text| {
        let check = respan(quote!(#det::__macro_support::check_start), text.span());
        quote_spanned! {text.span()=>
            const _: () = #check(#text);
        }
    });
    let check_determinism = args.check_determinism;
    let ignored = attrs.iter().any(|attr| attr.path().is_ident("ignore"));
    let time_zone = match &args.time_zone {
        Some(text) => quote!(::core::option::Option::Some(#text)),
        None => quote!(::core::option::Option::None),
    };
    // Pinning a time zone takes the sealed thread: without the `seal` feature this is a compile
    // error at the attribute, not a setting that silently does nothing.
    let seal_check = args.time_zone.as_ref().map(|text| {
        let check = respan(quote!(#det::__require_seal), text.span());
        quote_spanned! {text.span()=>
            #check!("`tz = ...`");
        }
    });
    if sig.asyncness.is_none()
        && let Some(clock) = &args.clock
    {
        return Err(syn::Error::new_spanned(
            clock,
            "`clock` chooses how an async test's tokio clock moves; a sync test runs on its \
             manual clock, which moves only when the test moves it",
        ));
    }
    if let Some((_, span)) = args.grace_ms
        && args
            .clock
            .as_ref()
            .is_none_or(|clock| clock.value() != "real-peers")
    {
        return Err(syn::Error::new(
            span,
            "`grace_ms` is how long `clock = \"real-peers\"` waits for a real peer: add that policy",
        ));
    }
    let clock = match &args.clock {
        Some(text) => quote!(::core::option::Option::Some(#text)),
        None => quote!(::core::option::Option::None),
    };
    let grace_ms = match args.grace_ms {
        Some((grace, _)) => quote!(::core::option::Option::Some(#grace)),
        None => quote!(::core::option::Option::None),
    };
    let peers_check = args
        .clock
        .as_ref()
        .filter(|clock| clock.value() == "real-peers")
        .map(|text| {
            let check = respan(quote!(#det::__require_seal), text.span());
            quote_spanned! {text.span()=>
                #check!("`clock = \"real-peers\"`");
            }
        });
    let return_type = match output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };

    let spec = quote! {
        #det::__macro_support::TestSpec {
            path: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
            seed: #seed,
            runs: #runs,
            start: #start,
            check_determinism: #check_determinism,
            package: ::core::env!("CARGO_PKG_NAME"),
            crate_name: ::core::env!("CARGO_CRATE_NAME"),
            ignored: #ignored,
            time_zone: #time_zone,
            clock: #clock,
            grace_ms: #grace_ms,
        }
    };
    // Runs go to fresh threads when the return type is `Send` (see determinism's isolation
    // module); `(&&Runner)` picks that impl when it applies and the calling-thread one otherwise.
    let runner_call = quote! {
        (&&#det::__macro_support::Runner::<#return_type>::new()).#runner
    };

    let call = match args.retries {
        None => quote! {
            #runner_call(&__STEADFAST_SPEC, ::core::option::Option::None, #body_name)
        },
        Some((retries, span)) => {
            if args.runs.is_some() || args.check_determinism {
                return Err(syn::Error::new(
                    span,
                    "`retries` cannot be combined with `runs` or `check_determinism`: \
                     a stability gate and a retry hide each other's failures",
                ));
            }
            let flaky = flaky_path(span)?;
            quote! {
                #flaky::__macro_support::retry_test(
                    &__STEADFAST_SPEC,
                    #retries,
                    |__steadfast_seed| #runner_call(
                        &__STEADFAST_SPEC,
                        ::core::option::Option::Some(__steadfast_seed),
                        #body_name,
                    ),
                )
            }
        }
    };

    Ok(quote! {
        #start_check
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() #output {
            #[allow(unused_imports)]
            use #det::__macro_support::{RunOnFreshThread as _, RunOnTestThread as _};
            #tokio_check
            #seal_check
            #peers_check
            const __STEADFAST_SPEC: #det::__macro_support::TestSpec = #spec;
            #asyncness fn #body_name(#parameter) #output #block
            #call
        }
    })
}

/// Gives every token the span of `span`, so a compiler error about them points there.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}

/// Rejects signatures the harness cannot call, pointing at the offending part.
fn check_signature(function: &ItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    if let Some(param) = sig.generics.params.first() {
        return Err(syn::Error::new_spanned(
            param,
            "a deterministic test cannot be generic",
        ));
    }
    if let Some(extra) = sig.inputs.iter().nth(1) {
        return Err(syn::Error::new_spanned(
            extra,
            "a deterministic test takes at most one argument: `ctx: &TestContext`",
        ));
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver)) => {
            return Err(syn::Error::new_spanned(
                receiver,
                "a deterministic test cannot take `self`",
            ));
        }
        Some(FnArg::Typed(typed)) if !matches!(&*typed.ty, Type::Reference(r) if r.mutability.is_none()) =>
        {
            return Err(syn::Error::new_spanned(
                &typed.ty,
                "the test context is passed by shared reference: write `ctx: &TestContext`",
            ));
        }
        _ => {}
    }
    if let ReturnType::Type(_, ty) = &sig.output
        && let Type::ImplTrait(_) = &**ty
    {
        return Err(syn::Error::new_spanned(
            ty,
            "a deterministic test returns `()` or a `Result`, not `impl Trait`",
        ));
    }
    Ok(())
}

/// How the expansion names `steadfast-determinism`: directly, or through the `steadfast` facade.
fn determinism_path() -> syn::Result<TokenStream> {
    if let Ok(found) = crate_name("steadfast-determinism") {
        return Ok(path_of(found, "steadfast_determinism", None));
    }
    if let Ok(found) = crate_name("steadfast") {
        return Ok(path_of(found, "steadfast", Some("determinism")));
    }
    Err(syn::Error::new(
        Span::call_site(),
        "#[deterministic_test] needs `steadfast` or `steadfast-determinism` in [dependencies] or [dev-dependencies]",
    ))
}

/// How the expansion names `steadfast-flaky`, which records the attempts of `retries`.
fn flaky_path(span: Span) -> syn::Result<TokenStream> {
    if let Ok(found) = crate_name("steadfast-flaky") {
        return Ok(path_of(found, "steadfast_flaky", None));
    }
    if let Ok(found) = crate_name("steadfast") {
        return Ok(path_of(found, "steadfast", Some("flaky")));
    }
    Err(syn::Error::new(
        span,
        "`retries` records attempts with steadfast-flaky: add `steadfast-flaky` (or steadfast's `flaky` feature) to your dependencies",
    ))
}

fn path_of(found: FoundCrate, own_name: &str, module: Option<&str>) -> TokenStream {
    // `Itself` means the attribute is used inside the crate's own tests, examples or docs,
    // where the crate is reachable under its own name (the library declares
    // `extern crate self as ...` for its unit tests).
    let name = match found {
        FoundCrate::Itself => own_name.to_owned(),
        FoundCrate::Name(name) => name,
    };
    let root = format_ident!("{}", name);
    match module {
        Some(module) => {
            let module = format_ident!("{}", module);
            quote!(::#root::#module)
        }
        None => quote!(::#root),
    }
}
