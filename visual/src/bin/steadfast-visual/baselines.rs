//! Parsing `review`, `accept` and `prune`, the commands on snapshot baselines.

use std::path::PathBuf;

use steadfast_visual::VisualDir;

/// A parsed `review`, `accept` or `prune` invocation.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Invocation {
    pub(crate) command: Command,
    /// `--target-dir`: the cargo target folder whose `steadfast/visual` holds the artifacts.
    target_dir: Option<PathBuf>,
}

/// Which command runs, with what only it takes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// `review`: every snapshot waiting for review, one answer each.
    Review,
    /// `accept NAME…`: these snapshots' new images become their baselines.
    Accept { names: Vec<String> },
    /// `prune [--yes] [--snapshot-dir DIR]…`: baselines the last run did not use.
    Prune {
        yes: bool,
        snapshot_dirs: Vec<PathBuf>,
    },
}

impl Invocation {
    /// The folder the command works on: `--target-dir`'s, else the one snapshot checks write to.
    pub(crate) fn visual_dir(&self) -> Result<VisualDir, String> {
        match &self.target_dir {
            Some(target) => Ok(VisualDir::new(target.join("steadfast").join("visual"))),
            None => VisualDir::from_env().map_err(|e| crate::describe(&e)),
        }
    }
}

/// Parse the arguments after the command's name.
pub(crate) fn parse(command: &str, args: &[String]) -> Result<Invocation, String> {
    let mut target_dir = None;
    let mut names = Vec::new();
    let mut yes = false;
    let mut snapshot_dirs = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .map(PathBuf::from)
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--target-dir" => target_dir = Some(value()?),
            "--yes" if command == "prune" => yes = true,
            "--snapshot-dir" if command == "prune" => snapshot_dirs.push(value()?),
            flag if flag.starts_with('-') && flag.len() > 1 => {
                return Err(format!("unknown option `{flag}` for {command}"));
            }
            name if command == "accept" => names.push(name.to_owned()),
            other => return Err(format!("{command} takes no argument `{other}`")),
        }
    }
    let command = match command {
        "review" => Command::Review,
        "accept" if names.is_empty() => return Err("accept needs a snapshot name".into()),
        "accept" => {
            // Each once, in the order given.
            let mut seen = std::collections::HashSet::new();
            names.retain(|name| seen.insert(name.clone()));
            Command::Accept { names }
        }
        _ => Command::Prune { yes, snapshot_dirs },
    };
    Ok(Invocation {
        command,
        target_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &str) -> Result<Invocation, String> {
        let mut words = line.split_whitespace().map(String::from);
        let command = words.next().unwrap();
        parse(&command, &words.collect::<Vec<_>>())
    }

    #[test]
    fn parses_each_command_with_its_options() {
        let review = parse_line("review --target-dir t").unwrap();
        assert_eq!(review.command, Command::Review);
        assert_eq!(review.target_dir, Some(PathBuf::from("t")));
        let accept = parse_line("accept pages/home login pages/home").unwrap();
        let names = vec!["pages/home".to_owned(), "login".to_owned()];
        assert_eq!(accept.command, Command::Accept { names });
        assert_eq!(accept.target_dir, None);
        let prune = parse_line("prune --snapshot-dir a --yes --snapshot-dir b").unwrap();
        let snapshot_dirs = vec![PathBuf::from("a"), PathBuf::from("b")];
        assert_eq!(
            prune.command,
            Command::Prune {
                yes: true,
                snapshot_dirs
            }
        );
    }

    #[test]
    fn rejects_what_a_command_does_not_take() {
        for (line, wanted) in [
            ("accept", "accept needs a snapshot name"),
            ("accept --yes home", "unknown option `--yes` for accept"),
            ("review home", "review takes no argument `home`"),
            ("prune home", "prune takes no argument `home`"),
            ("prune --target-dir", "--target-dir needs a value"),
            ("review --json", "unknown option `--json` for review"),
        ] {
            let err = parse_line(line).unwrap_err();
            assert_eq!(err, wanted, "{line}");
        }
    }
}
