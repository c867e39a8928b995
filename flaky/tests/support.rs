//! Shared helpers: fresh directories and child processes of this test binary.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh, empty directory under cargo's per-target temporary directory.
pub fn fresh_dir(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "flaky-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The committed test data directory.
pub fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

/// A command running this test binary, with no steadfast or nextest variables inherited.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("STEADFAST_") || key.starts_with("NEXTEST") {
            command.env_remove(&*key);
        }
    }
    command.env("RUST_BACKTRACE", "0");
    command
}

/// Runs one ignored test of this binary in a child process with extra environment variables.
pub fn run_ignored_test(test: &str, env: &[(&str, &str)]) -> Output {
    let mut command = clean_command(std::env::current_exe().unwrap());
    command.args([
        "--ignored",
        "--exact",
        test,
        "--test-threads=1",
        "--nocapture",
    ]);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// Where the panic whose message starts with `message` happened, as the default panic hook
/// prints it (`thread '…' panicked at FILE:LINE:COL:` and the message on the next line).
pub fn panic_location<'a>(output: &'a str, message: &str) -> Option<&'a str> {
    let lines: Vec<&str> = output.lines().collect();
    lines.windows(2).find_map(|pair| {
        let at = pair[0].find(" panicked at ")?;
        pair[1]
            .starts_with(message)
            .then(|| pair[0][at + " panicked at ".len()..].trim_end_matches(':'))
    })
}
