//! The running dashboard of a data directory. `codeinsight dashboard` writes `dashboard.json` there (readable by
//! the user only: it holds the dashboard's in-memory token) and removes it when it stops; `review`, `history` and
//! `show` without a configured server use that dashboard's server instead of starting their own, when it serves
//! the same rules and linters, so that a review shows up live in the browser.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::connection::{Connection, LOCAL_USER};
use crate::client::ApiClient;
use crate::engine::LintersConfig;

const FILE_NAME: &str = "dashboard.json";
/// How long a review waits for a dashboard that does not answer before starting its own server.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize, Deserialize)]
pub struct DashboardFile {
    pub url: String,
    pub token: String,
    pub pid: u32,
    /// Which rules and linters the dashboard's server runs: a review uses it only when they are its own.
    pub setup: String,
}

fn file(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// A fingerprint of the rules directory and linter settings a server runs with.
pub fn setup_fingerprint(rules_dir: Option<&Path>, linters: &LintersConfig) -> String {
    let text = serde_json::json!({
        "rules_dir": rules_dir.map(|dir| dir.display().to_string()),
        "linters": linters,
    })
    .to_string();
    crate::protocol::sha256_hex(text.as_bytes())
}

/// Writes the dashboard's file atomically, readable by its owner only.
pub fn announce(data_dir: &Path, dashboard: &DashboardFile) -> std::io::Result<()> {
    let mut temporary = tempfile::NamedTempFile::new_in(data_dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        temporary
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    serde_json::to_writer_pretty(&mut temporary, dashboard).map_err(std::io::Error::other)?;
    temporary.write_all(b"\n")?;
    temporary.as_file().sync_all()?;
    temporary
        .persist(file(data_dir))
        .map_err(|error| error.error)?;
    Ok(())
}

/// Removes the dashboard's file if it is still this process's.
pub fn withdraw(data_dir: &Path) {
    let path = file(data_dir);
    let ours = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<DashboardFile>(&bytes).ok())
        .is_some_and(|found| found.pid == std::process::id());
    if ours {
        let _ = std::fs::remove_file(path);
    }
}

/// A connection to the dashboard serving `data_dir`, if one runs there with the same rules and linters and
/// answers; `None` otherwise (the caller starts its own server).
pub async fn connect(
    data_dir: &Path,
    rules_dir: Option<&Path>,
    linters: &LintersConfig,
) -> Option<Connection> {
    let bytes = std::fs::read(file(data_dir)).ok()?;
    let found: DashboardFile = serde_json::from_slice(&bytes).ok()?;
    if found.setup != setup_fingerprint(rules_dir, linters) {
        return None;
    }
    let client = ApiClient::new(&found.url, &found.token).ok()?;
    let me = tokio::time::timeout(ANSWER_WITHIN, client.whoami())
        .await
        .ok()?
        .ok()?;
    (me.user_id == LOCAL_USER).then(|| Connection::remote(client, LOCAL_USER.to_owned(), me.limits))
}
