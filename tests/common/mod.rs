//! The real `codeinsight serve` as a child process, for the tests that need the whole server: its logs are kept
//! (to check what it wrote), tokens are created with `codeinsight token create` on its database, and runs are read
//! back page by page through its HTTP API, as any client must.

#![allow(
    dead_code,
    reason = "each test binary uses the part of this module it needs"
)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod browser;
pub mod postgres;

use codeinsight::protocol::{Run, RunCreated};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_codeinsight");
pub const WAIT: Duration = Duration::from_secs(60);

/// A running `codeinsight serve`.
pub struct ServeProcess {
    pub child: Child,
    pub addr: SocketAddr,
    pub database: String,
    /// Every line the server logged so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl ServeProcess {
    /// Starts `codeinsight serve` in `dir` (with `codeinsight.toml` holding `config`, when given) on `database`,
    /// with `args` and `env` added; waits until it listens.
    pub fn start(
        database: &str,
        dir: &Path,
        config: Option<&str>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> ServeProcess {
        if let Some(config) = config {
            std::fs::write(dir.join("codeinsight.toml"), config).unwrap();
        }
        let mut command = Command::new(BIN);
        command
            .current_dir(dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (sender, receiver) = std::sync::mpsc::channel();
        let kept = Arc::clone(&log);
        // Keep draining stderr for the life of the process so its logging never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sender = Some(sender);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .trim_end_matches(|c: char| !c.is_ascii_digit());
                    if let (Some(sender), Ok(addr)) = (sender.take(), addr.parse::<SocketAddr>()) {
                        let _ = sender.send(addr);
                    }
                }
                kept.lock().unwrap().push(line);
            }
        });
        let addr = receiver
            .recv_timeout(WAIT)
            .expect("`codeinsight serve` did not log `listening on ADDR`");
        ServeProcess {
            child,
            addr,
            database: database.to_owned(),
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The server's log so far, one string.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Stops the server the way an operator does (SIGTERM) and waits for it to exit.
    pub fn stop(mut self) -> String {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).unwrap()).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < WAIT,
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Let the log reader take the last lines.
        std::thread::sleep(Duration::from_millis(100));
        self.log_text()
    }

    /// Resident memory of the server process, in MiB, from `/proc`.
    pub fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse().ok())
            .unwrap();
        kib / 1024.0
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A token for `user` on `database`, made by `codeinsight token create`; returns (token id, token).
pub fn create_token(database: &str, user: &str) -> (String, String) {
    let output = Command::new(BIN)
        .args(["token", "create", "--user", user, "--database", database])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let id = String::from_utf8_lossy(&output.stderr)
        .split('`')
        .nth(1)
        .unwrap()
        .to_owned();
    (id, token)
}

/// `POST /api/v1/runs` with `body`; panics unless the run is created.
pub async fn submit(
    http: &reqwest::Client,
    server: &ServeProcess,
    token: &str,
    body: &Value,
) -> RunCreated {
    let response = http
        .post(server.url("/api/v1/runs"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status.as_u16(), 201, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The run with all its jobs, read page by page as a client must (a page holds at most 500 jobs), and the raw
/// text of every page.
pub async fn run_pages(
    http: &reqwest::Client,
    server: &ServeProcess,
    token: &str,
    run_id: &str,
) -> (Run, Vec<String>) {
    let mut texts = Vec::new();
    let mut cursor: Option<String> = None;
    let mut run: Option<Run> = None;
    loop {
        let mut request = http
            .get(server.url(&format!("/api/v1/runs/{run_id}")))
            .bearer_auth(token);
        if let Some(cursor) = &cursor {
            request = request.query(&[("cursor", cursor)]);
        }
        let text = request.send().await.unwrap().text().await.unwrap();
        let mut page: Run = serde_json::from_str(&text).unwrap();
        texts.push(text);
        cursor = page.next_cursor.take();
        match &mut run {
            None => run = Some(page),
            Some(run) => {
                assert!(
                    !page.jobs.is_empty(),
                    "a page with a cursor before it is never empty"
                );
                run.jobs.append(&mut page.jobs);
            }
        }
        if cursor.is_none() {
            break;
        }
    }
    (run.unwrap(), texts)
}

/// Waits until every job of the run has finished; returns the run and the raw pages of the last read.
pub async fn wait_for_run(
    http: &reqwest::Client,
    server: &ServeProcess,
    token: &str,
    run_id: &str,
) -> (Run, Vec<String>) {
    let started = Instant::now();
    loop {
        let (run, texts) = run_pages(http, server, token, run_id).await;
        if run.completed + run.failed == run.total {
            return (run, texts);
        }
        assert!(
            started.elapsed() < WAIT * 3,
            "the run did not finish: {}/{}",
            run.completed + run.failed,
            run.total
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The SQLite database file of a `sqlite://` URL, with its WAL when there is one, as bytes.
pub fn database_bytes(database: &str) -> Vec<u8> {
    let path = PathBuf::from(database.trim_start_matches("sqlite://"));
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    bytes
}

/// Whether `needle` occurs in `haystack`.
pub fn contains_bytes(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Fails unless `program` is on `PATH` (the security tests run the real tools; CI installs them).
pub fn require(program: &str) {
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|directory| directory.join(program).is_file())
    });
    assert!(
        found,
        "`{program}` is not installed; `.ci/run` installs what these tests need"
    );
}
