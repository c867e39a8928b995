//! Parsing the command line: the command's name, and the options of `diff`
//! and `diff-dir`.

use std::path::PathBuf;

use steadfast_visual::{Background, DecodeLimits, Options, Rect, SizeMismatch};

use crate::baselines;

/// Which command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    /// `diff A B`: two images.
    Diff,
    /// `diff-dir EXPECTED_DIR ACTUAL_DIR`: two folders.
    DiffDir,
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Self::Diff => "diff",
            Self::DiffDir => "diff-dir",
        }
    }
}

/// A parsed `diff` or `diff-dir` invocation: both take the same options.
#[derive(Debug)]
pub(crate) struct Invocation {
    pub(crate) command: Command,
    /// The first image or folder (the expected one).
    pub(crate) expected: PathBuf,
    /// The second image or folder (the actual one).
    pub(crate) actual: PathBuf,
    /// `-o`: the diff image (`diff`) or the folder of diff images (`diff-dir`).
    pub(crate) output: Option<PathBuf>,
    pub(crate) json: bool,
    /// `--threads`; unset means one per available core.
    pub(crate) threads: Option<usize>,
    pub(crate) limits: DecodeLimits,
    pub(crate) options: Options,
}

/// What the arguments ask for.
#[derive(Debug)]
pub(crate) enum Parsed {
    Help,
    Version,
    Run(Box<Invocation>),
    /// `review`, `accept` or `prune`.
    Baselines(baselines::Invocation),
}

pub(crate) fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut it = args.iter();
    let command = match it.next().map(String::as_str) {
        None | Some("-h" | "--help" | "help") => return Ok(Parsed::Help),
        Some("-V" | "--version") => return Ok(Parsed::Version),
        Some("diff") => Command::Diff,
        Some("diff-dir") => Command::DiffDir,
        Some(name @ ("review" | "accept" | "prune")) => {
            let rest = it.as_slice();
            if rest.iter().any(|a| a == "-h" || a == "--help") {
                return Ok(Parsed::Help);
            }
            return baselines::parse(name, rest).map(Parsed::Baselines);
        }
        Some(other) => return Err(format!("unknown command `{other}`")),
    };
    let mut paths = Vec::new();
    let mut output = None;
    let mut json = false;
    let mut threads = None;
    let mut limits = DecodeLimits::default();
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
            "--threads" => {
                threads = Some(integer(arg, &value(arg)?)?);
                o
            }
            "--max-image-bytes" => {
                limits.max_bytes = integer(arg, &value(arg)?)?;
                o
            }
            "--include-aa" => o.include_aa(true),
            "--diff-mask" => o.diff_mask(true),
            "--union" => o.size_mismatch(SizeMismatch::Union),
            "--threshold" => o.threshold(number(arg, &value(arg)?)?),
            "--alpha" => o.alpha(number(arg, &value(arg)?)?),
            "--max-diff-ratio" => o.max_diff_ratio(number(arg, &value(arg)?)?),
            "--max-diff-pixels" => o.max_diff_pixels(integer(arg, &value(arg)?)?),
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
    let [expected, actual]: [PathBuf; 2] = paths.try_into().map_err(|p: Vec<PathBuf>| {
        let what = match command {
            Command::Diff => "images",
            Command::DiffDir => "folders",
        };
        format!(
            "{} needs exactly two {what}, got {}",
            command.name(),
            p.len()
        )
    })?;
    Ok(Parsed::Run(Box::new(Invocation {
        command,
        expected,
        actual,
        output,
        json,
        threads,
        limits,
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

    fn run(line: &str) -> Invocation {
        match parse(&args(line)).unwrap() {
            Parsed::Run(invocation) => *invocation,
            other => panic!("expected a command, got {other:?}"),
        }
    }

    #[test]
    fn parses_every_option() {
        let cmd = run(
            "diff a.png b.png -o d.png --threshold 0.2 --include-aa --alpha 0.5 \
             --aa-color 1,2,3 --diff-color 4,5,6 --diff-color-alt 7,8,9 --diff-mask \
             --background white --ignore 1,2,3,4 --ignore 5,6,7,8 --max-diff-pixels 9 \
             --max-diff-ratio 0.5 --union --threads 2 --max-image-bytes 1000 --json",
        );
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
            .size_mismatch(SizeMismatch::Union);
        assert_eq!(cmd.command, Command::Diff);
        assert_eq!(cmd.options, want);
        assert_eq!(cmd.output, Some(PathBuf::from("d.png")));
        assert_eq!(cmd.threads, Some(2));
        assert_eq!(cmd.limits.max_bytes, 1000);
        assert!(cmd.json);
        assert_eq!((cmd.expected, cmd.actual), ("a.png".into(), "b.png".into()));
    }

    #[test]
    fn diff_dir_takes_the_same_options_and_defaults_to_every_core() {
        let cmd = run("diff-dir expected actual -o diff --max-diff-ratio 0.01");
        assert_eq!(cmd.command, Command::DiffDir);
        assert_eq!(cmd.options, Options::new().max_diff_ratio(0.01));
        assert_eq!(cmd.output, Some(PathBuf::from("diff")));
        assert_eq!(cmd.threads, None);
        assert_eq!(cmd.limits, DecodeLimits::default());
        assert_eq!(
            (cmd.expected, cmd.actual),
            ("expected".into(), "actual".into())
        );
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
            (
                "diff a b --max-image-bytes 1e9",
                "--max-image-bytes must be",
            ),
            ("diff a b --bogus", "unknown option `--bogus`"),
            ("diff a", "diff needs exactly two images, got 1"),
            (
                "diff-dir a b c",
                "diff-dir needs exactly two folders, got 3",
            ),
            ("diff a b --alpha", "--alpha needs a value"),
            ("merge a b", "unknown command"),
        ] {
            let err = parse(&args(line)).unwrap_err();
            assert!(err.contains(wanted), "{line}: {err}");
        }
    }
}
