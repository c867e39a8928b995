//! A real headless Chromium driven over WebDriver: Debian's `chromium` and `chromedriver`
//! (`apt-get install chromium chromium-driver`), chromedriver listening on 127.0.0.1 only.
//!
//! `STEADFAST_TEST_CHROMIUM` says whether the browser must be there: `1`/`true`, or `CI` set
//! (to anything but empty, `0` or `false`), and a missing browser fails the test saying how
//! to install it; `0`/`false`/empty, or unset outside CI, and the test is skipped with a note.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

/// Whether a headless Chromium must be there for the browser tests.
pub const CHROMIUM_ENV: &str = "STEADFAST_TEST_CHROMIUM";

/// The two programs a browser test needs.
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Whether `CI` or [`CHROMIUM_ENV`] asks for the browser.
fn required() -> bool {
    let flag = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|value| value.trim().to_owned())
    };
    let chromium = match flag(CHROMIUM_ENV).as_deref() {
        None | Some("" | "0" | "false") => false,
        Some("1" | "true") => true,
        Some(other) => panic!(
            "steadfast: environment variable {CHROMIUM_ENV} has invalid value {other:?}: \
             expected 1, true, 0 or false"
        ),
    };
    let ci = flag("CI").is_some_and(|value| !matches!(value.as_str(), "" | "0" | "false"));
    chromium || ci
}

/// The browser and its driver, or `None` (after a note on stderr) when they are missing and
/// not required.
///
/// # Panics
///
/// When they are missing and required, saying what to install.
pub fn tools() -> Option<Tools> {
    let chromium = find_on_path(&["chromium", "chromium-browser"]);
    let chromedriver = find_on_path(&["chromedriver"]);
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some(Tools {
            chromium,
            chromedriver,
        }),
        (chromium, _) => {
            let missing = if chromium.is_none() {
                "chromium"
            } else {
                "chromedriver"
            };
            let how = "install Debian's packages with `apt-get install -y \
                       --no-install-recommends chromium chromium-driver fonts-dejavu-core` \
                       (.ci/run does)";
            if required() {
                panic!(
                    "steadfast: {missing} is not on PATH and this test needs a real headless \
                     Chromium ({CHROMIUM_ENV} or CI is set); {how}"
                );
            }
            eprintln!(
                "steadfast: skipped: {missing} is not on PATH; {how}, or set {CHROMIUM_ENV}=1 \
                 to make this a failure"
            );
            None
        }
    }
}

/// chromedriver on a free loopback port, killed when dropped.
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver and waits for the line that says it listens.
    pub fn start(tools: &Tools) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .expect("steadfast: no free port on 127.0.0.1");
        let mut child = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "steadfast: cannot start {}: {err}",
                    tools.chromedriver.display()
                )
            });
        let stdout = child.stdout.take().expect("a piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let started = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|line| line.contains("started successfully"));
        assert!(
            started.is_some(),
            "steadfast: chromedriver exited without saying it listens on port {port}"
        );
        // Keep reading its stdout, so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A headless session with a fixed window of `width` × `height` CSS pixels at scale 1.
    pub async fn session(&self, tools: &Tools, width: u32, height: u32) -> Client {
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": tools.chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--hide-scrollbars",
                    "--force-device-scale-factor=1",
                    "--font-render-hinting=none",
                    "--disable-lcd-text",
                    "--allow-file-access-from-files",
                    format!("--window-size={width},{height}"),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|err| {
                panic!(
                    "steadfast: chromedriver at {} gave no session: {err}",
                    self.url
                )
            })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A DevTools protocol command sent through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
pub struct Cdp {
    pub method: &'static str,
    pub params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.method, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}
