//! A real headless Chromium for one test, driven through its driver: Debian's `/usr/bin/chromedriver` started on a
//! free port on 127.0.0.1 in a process group of its own (so the Chromium it starts is ended with it), a fresh
//! profile in a temporary directory, and a `fantoccini` client on it. Dropping the [`Browser`] kills the whole
//! process group; [`Browser::close`] ends the browser session first, the polite way.
//!
//! Screenshots go to `target/screenshots/<name>.png` (or `$CODEINSIGHT_SCREENSHOTS/<name>.png`), where they are
//! kept after the test for a person to look at.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
// Plain HTTP to chromedriver: hyper-util's connector, whose `client-legacy` feature fantoccini turns on.
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long chromedriver may take to answer `/status` with `ready`, and Chromium to open a session.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts at a free port (another process may take the port between our probe and chromedriver's bind).
const PORT_ATTEMPTS: usize = 5;

/// The flags that run Chromium headless in a container: no sandbox (we run as root), no GPU, no network
/// chatter of its own, no first-run UI, and `/tmp` instead of a small `/dev/shm`.
const HEADLESS_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// Fails unless Debian's Chromium and its chromedriver are installed (`.ci/run` installs them).
pub fn require_chromium() {
    for program in [CHROMEDRIVER, CHROMIUM] {
        assert!(
            Path::new(program).is_file(),
            "`{program}` is missing; install chromium and chromium-driver: \
             apt-get install -y chromium chromium-driver (`.ci/run` does)"
        );
    }
}

/// A headless Chromium behind its own chromedriver, with a session open on it.
pub struct Browser {
    client: Client,
    chromedriver: Child,
    /// Chromium's profile (`--user-data-dir`) and chromedriver's log.
    _dir: TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port, waits until it is ready and opens a session on a fresh headless Chromium.
    pub async fn start() -> Browser {
        require_chromium();
        let dir = TempDir::new().unwrap();
        let profile = dir.path().join("profile");
        std::fs::create_dir(&profile).unwrap();
        let (mut chromedriver, port) = start_chromedriver(dir.path()).await;
        let mut args: Vec<String> = HEADLESS_FLAGS.iter().map(|&flag| flag.to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({"binary": CHROMIUM, "args": args}),
        );
        let connecting = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        let client = match connecting {
            Ok(client) => client,
            Err(error) => {
                let log = chromedriver_log(dir.path());
                kill_group(&mut chromedriver);
                panic!(
                    "chromedriver could not open a Chromium session: {error}\nchromedriver's log:\n{log}"
                );
            }
        };
        Browser {
            client,
            chromedriver,
            _dir: dir,
        }
    }

    /// The `fantoccini` client, for everything the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url` and waits until the page has loaded.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("the browser could not open {url}: {error}"));
    }

    /// Types `text` into the field `field` (a CSS selector) and clicks `button`, as a user submits a form.
    pub async fn fill_and_submit(&self, field: &str, text: &str, button: &str) {
        self.client
            .find(Locator::Css(field))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
        self.client
            .find(Locator::Css(button))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// The text of the first element matching the CSS selector `css`, as the browser renders it.
    pub async fn text(&self, css: &str) -> String {
        match self.try_text(css).await {
            Ok(text) => text,
            Err(error) => panic!("no text for `{css}`: {error}"),
        }
    }

    /// Polls the text of the first element matching `css` until it contains `expected`; returns that text. Panics
    /// after `timeout` with the last text seen (or why there was none).
    pub async fn wait_for_text(&self, css: &str, expected: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            let last = match self.try_text(css).await {
                Ok(text) if text.contains(expected) => return text,
                Ok(text) => format!("text {text:?}"),
                Err(error) => format!("no text: {error}"),
            };
            assert!(
                started.elapsed() < timeout,
                "`{css}` did not show {expected:?} within {timeout:?}; last seen: {last}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the viewport as `<name>.png` in the screenshots folder, created if missing:
    /// `$CODEINSIGHT_SCREENSHOTS` when set, else `target/screenshots` of this crate. Returns the file's path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap_or_else(|error| {
            panic!("the browser could not take screenshot {name:?}: {error}")
        });
        let folder = screenshots_dir();
        std::fs::create_dir_all(&folder)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", folder.display()));
        let path = folder.join(format!("{name}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        path
    }

    /// Ends the browser session (Chromium closes its window and quits), then stops chromedriver.
    pub async fn close(self) {
        let closed = self.client.clone().close().await;
        closed.unwrap_or_else(|error| panic!("the browser session did not end: {error}"));
    }

    async fn try_text(&self, css: &str) -> Result<String, fantoccini::error::CmdError> {
        self.client.find(Locator::Css(css)).await?.text().await
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromium's profile in `_dir` is removed after this, once nothing writes to it any more.
        kill_group(&mut self.chromedriver);
    }
}

/// Kills chromedriver's whole process group (chromedriver and the Chromium it started) and reaps chromedriver.
fn kill_group(chromedriver: &mut Child) {
    if let Some(pid) = i32::try_from(chromedriver.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = chromedriver.kill();
    let _ = chromedriver.wait();
}

/// `$CODEINSIGHT_SCREENSHOTS`, else `target/screenshots` under the crate root.
pub fn screenshots_dir() -> PathBuf {
    std::env::var_os("CODEINSIGHT_SCREENSHOTS").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/screenshots")),
        PathBuf::from,
    )
}

/// Starts chromedriver on a free port of 127.0.0.1, in a process group of its own, logging to `dir`; returns it
/// once its `/status` says it is ready. A port taken between the probe and chromedriver's bind makes chromedriver
/// exit ("IPv4 port not available"): then it is tried again on another port.
async fn start_chromedriver(dir: &Path) -> (Child, u16) {
    use std::os::unix::process::CommandExt;

    let http = reqwest::Client::new();
    let mut failures = Vec::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port();
        let log = File::create(dir.join("chromedriver.log")).unwrap();
        let mut chromedriver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {CHROMEDRIVER}: {error}"));
        let started = Instant::now();
        loop {
            if let Some(status) = chromedriver.try_wait().unwrap() {
                failures.push(format!(
                    "port {port}: chromedriver exited ({status}):\n{}",
                    chromedriver_log(dir)
                ));
                break;
            }
            if is_ready(&http, port).await {
                // Ours only while it still runs: a chromedriver whose bind failed exits at once, and then the
                // answer came from another process on that port.
                if chromedriver.try_wait().unwrap().is_none() {
                    return (chromedriver, port);
                }
                continue;
            }
            if started.elapsed() > START_TIMEOUT {
                let log = chromedriver_log(dir);
                kill_group(&mut chromedriver);
                panic!("chromedriver was not ready within {START_TIMEOUT:?}; its log:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!(
        "chromedriver did not start in {PORT_ATTEMPTS} attempts:\n{}",
        failures.join("\n")
    );
}

/// Whether chromedriver on `port` answers `GET /status` with `"ready": true`.
async fn is_ready(http: &reqwest::Client, port: u16) -> bool {
    let Ok(response) = http
        .get(format!("http://127.0.0.1:{port}/status"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
    else {
        return false;
    };
    let Ok(status) = response.json::<Value>().await else {
        return false;
    };
    status["value"]["ready"] == Value::Bool(true)
}

fn chromedriver_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("chromedriver.log")).unwrap_or_default()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
