//! Cassettes: one recorded scenario that a test replays, records or verifies, as
//! `STEADFAST_MOCKNET_MODE` says, so the same test runs against the file or the live service.

use std::path::PathBuf;

use steadfast_determinism::Seed;

use crate::catalog::Catalog;
use crate::error::{Error, ErrorKind};
use crate::mode::Mode;
use crate::record::{RecordMode, Recorder, Recording};
use crate::server::MockNet;
use crate::verify_live::{ReportFormat, Verifier};

/// A scenario of a catalog file, recorded from a live service.
///
/// [`start`](Self::start) reads the [`Mode`] from `STEADFAST_MOCKNET_MODE`:
///
/// * replay: serves the scenario with a [`MockNet`] (seeded by the running deterministic test,
///   or by [`seed`](Self::seed));
/// * record: proxies to the live service and, on [`finish`](CassetteRun::finish), re-records
///   the scenario ([`RecordMode::All`]);
/// * verify: the test talks to the live service itself, and
///   [`finish`](CassetteRun::finish) checks the cassette against it.
///
/// # Example
///
/// ```
/// use steadfast_determinism::Seed;
/// use steadfast_mocknet::{Cassette, Mode};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let file = std::env::temp_dir().join(format!("steadfast-cassette-doc-{}.json", std::process::id()));
/// std::fs::write(&file, r#"{"scenarios": {"me": {"routes": [
///     {"name": "get-v1-me", "method": "GET", "path": "/v1/me", "response": {"json": {"name": "ann"}}}]}}}"#)?;
///
/// let run = Cassette::new(&file, "me", "http://127.0.0.1:9")
///     .seed(Seed::new(1))
///     .start_in(Mode::Replay)
///     .await?;
/// let body = reqwest::get(format!("{}/v1/me", run.uri())).await?.text().await?;
/// run.finish().await?;
///
/// assert_eq!(body, r#"{"name":"ann"}"#);
/// # std::fs::remove_file(&file)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a cassette does nothing until `start` is awaited"]
#[derive(Debug, Clone)]
pub struct Cassette {
    file: PathBuf,
    scenario: String,
    live: String,
    seed: Option<Seed>,
    secret_headers: Vec<String>,
    headers: Vec<(String, String)>,
}

/// A started [`Cassette`]: point the code under test at [`uri`](Self::uri), then
/// [`finish`](Self::finish).
#[derive(Debug)]
pub struct CassetteRun {
    uri: String,
    run: Run,
}

#[derive(Debug)]
enum Run {
    Replay(MockNet),
    Record(Recording),
    Verify(Box<Cassette>),
}

impl Cassette {
    /// Scenario `scenario` of the catalog `file`, recorded from the live service at `live`.
    pub fn new(
        file: impl Into<PathBuf>,
        scenario: impl Into<String>,
        live: impl Into<String>,
    ) -> Self {
        Cassette {
            file: file.into(),
            scenario: scenario.into(),
            live: live.into(),
            seed: None,
            secret_headers: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Seeds the replay server's fault draws (see [`MockNetBuilder::seed`](crate::MockNetBuilder::seed)).
    pub fn seed(mut self, seed: impl Into<Seed>) -> Self {
        self.seed = Some(seed.into());
        self
    }

    /// A header to keep out of recordings (see [`Recorder::secret_header`]).
    pub fn secret_header(mut self, name: impl Into<String>) -> Self {
        self.secret_headers.push(name.into());
        self
    }

    /// A header the verifier sends with every request (see [`Verifier::header`]).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Starts in the mode `STEADFAST_MOCKNET_MODE` asks for.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidEnv`] for a bad `STEADFAST_MOCKNET_MODE` (or `record` under `CI`),
    /// then as [`start_in`](Self::start_in).
    pub async fn start(self) -> Result<CassetteRun, Error> {
        let mode = Mode::from_env()?;
        self.start_in(mode).await
    }

    /// Starts in `mode`.
    ///
    /// # Errors
    ///
    /// Replay: the catalog's errors ([`Catalog::from_file`], [`Catalog::scenario`]) and the
    /// server's ([`MockNet::start`]). Record: [`Recorder::start`]'s. Verify: none here (see
    /// [`CassetteRun::finish`]).
    pub async fn start_in(self, mode: Mode) -> Result<CassetteRun, Error> {
        match mode {
            Mode::Record => {
                let mut recorder =
                    Recorder::new(&self.live, &self.file, &self.scenario).mode(RecordMode::All);
                for name in &self.secret_headers {
                    recorder = recorder.secret_header(name);
                }
                let recording = recorder.start().await?;
                Ok(CassetteRun {
                    uri: recording.uri(),
                    run: Run::Record(recording),
                })
            }
            Mode::Verify => Ok(CassetteRun {
                uri: self.live.trim_end_matches('/').to_string(),
                run: Run::Verify(Box::new(self)),
            }),
            Mode::Replay => {
                let scenario = Catalog::from_file(&self.file)?.scenario(&self.scenario)?;
                let builder = MockNet::builder().scenario(scenario);
                let builder = match self.seed {
                    Some(seed) => builder.seed(seed),
                    None => builder,
                };
                let net = builder.start().await?;
                Ok(CassetteRun {
                    uri: net.uri(),
                    run: Run::Replay(net),
                })
            }
        }
    }
}

impl CassetteRun {
    /// Where the code under test should send its requests: the replay server, the recording
    /// proxy or the live service.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The mode this run is in.
    pub fn mode(&self) -> Mode {
        match self.run {
            Run::Replay(_) => Mode::Replay,
            Run::Record(_) => Mode::Record,
            Run::Verify(_) => Mode::Verify,
        }
    }

    /// Ends the run: stops the replay server, writes the recording, or verifies the cassette
    /// against the live service.
    ///
    /// # Errors
    ///
    /// Record: [`Recording::finish`]'s. Verify: the catalog's errors, [`Verifier::run`]'s,
    /// and [`ErrorKind::Drift`] (with the text report) when the cassette drifted.
    pub async fn finish(self) -> Result<(), Error> {
        match self.run {
            Run::Replay(net) => {
                drop(net);
                Ok(())
            }
            Run::Record(recording) => recording.finish().await.map(drop),
            Run::Verify(cassette) => {
                let scenario = Catalog::from_file(&cassette.file)?.scenario(&cassette.scenario)?;
                let mut verifier = Verifier::new(&cassette.live);
                for (name, value) in &cassette.headers {
                    verifier = verifier.header(name, value);
                }
                let report = verifier.run(&scenario).await?;
                if report.is_clean() {
                    return Ok(());
                }
                Err(Error::new(ErrorKind::Drift)
                    .in_file(cassette.file.display().to_string())
                    .in_scenario(cassette.scenario.clone())
                    .with_detail(
                        report
                            .render(ReportFormat::Text)
                            .trim_end()
                            .replace('\n', "; "),
                    ))
            }
        }
    }
}
