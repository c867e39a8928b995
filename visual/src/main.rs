//! The `steadfast-visual` command line: pixelmatch-exact image diffs.
//!
//! ```text
//! steadfast-visual diff A B [-o DIFF.png] [--threshold T] [--include-aa] [--alpha A]
//!     [--aa-color R,G,B] [--diff-color R,G,B] [--diff-color-alt R,G,B] [--diff-mask]
//!     [--background checkerboard|white] [--ignore x,y,w,h]... [--max-diff-pixels N]
//!     [--max-diff-ratio R] [--union] [--threads N] [--json]
//! ```
//!
//! Exit status: 0 within tolerance (identical when no tolerance is given),
//! 1 different, 2 on any error (one line on stderr).

use std::path::PathBuf;
use std::process::ExitCode;

use steadfast_visual::{Background, Comparison, Options, Rect, SizeMismatch, compare, open};

const USAGE: &str = "usage: steadfast-visual diff A B [-o DIFF.png] [--threshold T] [--include-aa] \
[--alpha A] [--aa-color R,G,B] [--diff-color R,G,B] [--diff-color-alt R,G,B] [--diff-mask] \
[--background checkerboard|white] [--ignore x,y,w,h]... [--max-diff-pixels N] \
[--max-diff-ratio R] [--union] [--threads N] [--json]";

/// A parsed `diff` invocation.
#[derive(Debug)]
struct Command {
    a: PathBuf,
    b: PathBuf,
    output: Option<PathBuf>,
    json: bool,
    options: Options,
}

/// What the arguments ask for.
#[derive(Debug)]
enum Parsed {
    Help,
    Version,
    Diff(Box<Command>),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args) {
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Parsed::Version) => {
            println!("steadfast-visual {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Parsed::Diff(cmd)) => match run(&cmd) {
            Ok(result) => {
                report(&result, cmd.json);
                ExitCode::from(if result.is_passed() { 0 } else { 1 })
            }
            Err(message) => fail(&message),
        },
        Err(message) => fail(&format!("{message} (see --help)")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("steadfast-visual: error: {message}");
    ExitCode::from(2)
}

fn run(cmd: &Command) -> Result<Comparison, String> {
    let a = open(&cmd.a).map_err(|e| e.to_string())?;
    let b = open(&cmd.b).map_err(|e| e.to_string())?;
    let options = cmd.options.clone().diff_image(cmd.output.is_some());
    let result = compare(&a, &b, &options).map_err(|e| e.to_string())?;
    if let (Some(path), Some(diff)) = (&cmd.output, result.diff_image()) {
        diff.save(path)
            .map_err(|e| format!("cannot write diff image {}: {e}", path.display()))?;
    }
    Ok(result)
}

fn report(result: &Comparison, json: bool) {
    if json {
        let value = serde_json::json!({
            "diff_pixels": result.diff_pixels(),
            "total_pixels": result.total_pixels(),
            "ratio": result.ratio(),
            "passed": result.is_passed(),
        });
        println!("{value}");
    } else {
        println!("{}", result.diff_pixels());
    }
}

fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => return Ok(Parsed::Help),
        Some("-V" | "--version") => return Ok(Parsed::Version),
        Some("diff") => {}
        Some(other) => return Err(format!("unknown command `{other}`")),
    }
    let mut paths = Vec::new();
    let mut output = None;
    let mut json = false;
    let mut o = Options::new();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        o = match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "-o" | "--output" => {
                output = Some(PathBuf::from(value(arg)?));
                o
            }
            "--json" => {
                json = true;
                o
            }
            "--include-aa" => o.include_aa(true),
            "--diff-mask" => o.diff_mask(true),
            "--union" => o.size_mismatch(SizeMismatch::Union),
            "--threshold" => o.threshold(number(arg, &value(arg)?)?),
            "--alpha" => o.alpha(number(arg, &value(arg)?)?),
            "--max-diff-ratio" => o.max_diff_ratio(number(arg, &value(arg)?)?),
            "--max-diff-pixels" => o.max_diff_pixels(integer(arg, &value(arg)?)?),
            "--threads" => o.threads(integer(arg, &value(arg)?)?),
            "--aa-color" => o.aa_color(color(arg, &value(arg)?)?),
            "--diff-color" => o.diff_color(color(arg, &value(arg)?)?),
            "--diff-color-alt" => o.diff_color_alt(color(arg, &value(arg)?)?),
            "--background" => match value(arg)?.as_str() {
                "checkerboard" => o.background(Background::Checkerboard),
                "white" => o.background(Background::White),
                v => {
                    return Err(format!(
                        "--background must be checkerboard or white, got `{v}`"
                    ));
                }
            },
            "--ignore" => {
                let v = value(arg)?;
                let parts = list::<u32>(arg, &v, 4)?;
                o.ignore(Rect::new(parts[0], parts[1], parts[2], parts[3]))
            }
            flag if flag.starts_with('-') && flag.len() > 1 => {
                return Err(format!("unknown option `{flag}`"));
            }
            path => {
                paths.push(PathBuf::from(path));
                o
            }
        };
    }
    o.validate().map_err(|e| e.to_string())?;
    let [a, b]: [PathBuf; 2] = paths
        .try_into()
        .map_err(|p: Vec<PathBuf>| format!("diff needs exactly two images, got {}", p.len()))?;
    Ok(Parsed::Diff(Box::new(Command {
        a,
        b,
        output,
        json,
        options: o,
    })))
}

fn number(name: &str, v: &str) -> Result<f64, String> {
    v.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("{name} must be a number, got `{v}`"))
}

fn integer<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.parse::<T>()
        .map_err(|_| format!("{name} must be a non-negative integer, got `{v}`"))
}

fn list<T: std::str::FromStr>(name: &str, v: &str, n: usize) -> Result<Vec<T>, String> {
    let parts: Vec<T> = v
        .split(',')
        .map(|p| p.trim().parse::<T>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("{name} takes {n} comma-separated integers, got `{v}`"))?;
    if parts.len() == n {
        Ok(parts)
    } else {
        Err(format!(
            "{name} takes {n} comma-separated integers, got `{v}`"
        ))
    }
}

fn color(name: &str, v: &str) -> Result<[u8; 3], String> {
    let c =
        list::<u8>(name, v, 3).map_err(|_| format!("{name} takes R,G,B in 0..=255, got `{v}`"))?;
    Ok([c[0], c[1], c[2]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_every_option() {
        let parsed = parse(&args(
            "diff a.png b.png -o d.png --threshold 0.2 --include-aa --alpha 0.5 \
             --aa-color 1,2,3 --diff-color 4,5,6 --diff-color-alt 7,8,9 --diff-mask \
             --background white --ignore 1,2,3,4 --ignore 5,6,7,8 --max-diff-pixels 9 \
             --max-diff-ratio 0.5 --union --threads 2 --json",
        ))
        .unwrap();
        let Parsed::Diff(cmd) = parsed else {
            panic!("expected diff, got {parsed:?}")
        };
        let want = Options::new()
            .threshold(0.2)
            .include_aa(true)
            .alpha(0.5)
            .aa_color([1, 2, 3])
            .diff_color([4, 5, 6])
            .diff_color_alt([7, 8, 9])
            .diff_mask(true)
            .background(Background::White)
            .ignore(Rect::new(1, 2, 3, 4))
            .ignore(Rect::new(5, 6, 7, 8))
            .max_diff_pixels(9)
            .max_diff_ratio(0.5)
            .size_mismatch(SizeMismatch::Union)
            .threads(2);
        assert_eq!(cmd.options, want);
        assert_eq!(cmd.output, Some(PathBuf::from("d.png")));
        assert!(cmd.json);
        assert_eq!((cmd.a, cmd.b), ("a.png".into(), "b.png".into()));
    }

    #[test]
    fn rejects_bad_values_naming_the_option() {
        for (line, wanted) in [
            ("diff a b --threshold x", "--threshold must be a number"),
            ("diff a b --threshold 3", "invalid threshold"),
            ("diff a b --aa-color 1,2", "--aa-color takes R,G,B"),
            ("diff a b --aa-color 1,2,300", "--aa-color takes R,G,B"),
            ("diff a b --ignore 1,2,3", "--ignore takes 4"),
            ("diff a b --background grey", "--background must be"),
            ("diff a b --max-diff-pixels -1", "--max-diff-pixels must be"),
            ("diff a b --bogus", "unknown option `--bogus`"),
            ("diff a", "exactly two images, got 1"),
            ("diff a b --alpha", "--alpha needs a value"),
            ("merge a b", "unknown command"),
        ] {
            let err = parse(&args(line)).unwrap_err();
            assert!(err.contains(wanted), "{line}: {err}");
        }
    }
}
