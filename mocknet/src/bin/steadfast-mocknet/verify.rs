//! `steadfast-mocknet verify`: sends a scenario's requests to the live service and reports
//! drift.

use std::ffi::OsString;

use steadfast_mocknet::Catalog;
use steadfast_mocknet::verify_live::{ReportFormat, Verifier};

use crate::cli::{Fail, Options, runtime};

pub(crate) fn run(args: Vec<OsString>) -> Result<u8, Fail> {
    let options = Options::parse(
        args,
        &[
            "--scenario",
            "--against",
            "--ignore",
            "--compare",
            "--header",
            "--format",
        ],
    )?;
    let [catalog] = options.positional.as_slice() else {
        return Err(Fail::Usage("verify needs exactly one CATALOG".into()));
    };
    let format = match options.get("--format") {
        None => ReportFormat::Text,
        Some(name) => ReportFormat::parse(name).ok_or_else(|| {
            Fail::Usage(format!(
                "--format must be text, markdown or json, got {name:?}"
            ))
        })?,
    };
    let mut verifier = Verifier::new(options.required("--against")?);
    for pointer in options.all("--ignore") {
        verifier = verifier.ignore(pointer);
    }
    for pointer in options.all("--compare") {
        verifier = verifier.compare_value(pointer);
    }
    for header in options.all("--header") {
        let Some((name, value)) = header.split_once(':') else {
            return Err(Fail::Usage(format!(
                "--header must be 'NAME: VALUE', got {header:?}"
            )));
        };
        verifier = verifier.header(name.trim(), value.trim());
    }
    let scenario = Catalog::from_file(catalog)?.scenario(options.required("--scenario")?)?;
    let report = runtime()?.block_on(verifier.run(&scenario))?;
    print!("{}", report.render(format));
    Ok(u8::from(!report.is_clean()))
}
