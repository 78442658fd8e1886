//! Reaching a server: either the remote one configured, or the embedded default, which is the real server started
//! in-process on 127.0.0.1 with an ephemeral port, a random per-process token for the user `local` and its `SQLite`
//! database in the data directory. Both give back the same [`ApiClient`], so both take the same HTTP and WebSocket
//! path.

use std::fmt::Write as _;
use std::net::SocketAddr;

use crate::client::{ApiClient, ClientError};
use crate::protocol::ServerLimits;
use crate::server::{EphemeralToken, RunningServer, ServerConfig};

use super::dashboard;
use super::failure::Failure;
use super::settings::{ServerChoice, sqlite_url};

/// The user the embedded server's token belongs to.
pub const LOCAL_USER: &str = "local";

pub struct Connection {
    pub client: ApiClient,
    pub user_id: String,
    /// What one request may carry, as the server advertises it (its defaults for a server that does not).
    pub limits: ServerLimits,
    embedded: Option<RunningServer>,
}

impl Connection {
    pub async fn open(choice: &ServerChoice) -> Result<Connection, Failure> {
        Connection::open_with_llm(choice, None).await
    }

    /// Like [`Connection::open`], giving an embedded server the AI reviewer's model. A remote server reviews with
    /// its own configuration.
    pub async fn open_with_llm(
        choice: &ServerChoice,
        llm: Option<crate::reviewer::LlmConfig>,
    ) -> Result<Connection, Failure> {
        match choice {
            ServerChoice::Embedded {
                data_dir,
                rules_dir,
                linters,
            } => {
                // A dashboard serving this data directory with the same rules and linters is this user's server
                // already: reviewing through it shows the run live in the browser.
                if llm.is_none()
                    && let Some(connection) =
                        dashboard::connect(data_dir, rules_dir.as_deref(), linters).await
                {
                    return Ok(connection);
                }
                let (mut config, token) = embedded_config(
                    data_dir,
                    rules_dir.as_deref(),
                    linters,
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                )?;
                config.llm = llm;
                // The embedded server's jobs end with this command: do not wait for the disk on every commit.
                config.durable_commits = false;
                let limits = config.limits.advertised();
                let running = crate::server::start(config).await.map_err(|error| {
                    Failure::server(format!(
                        "cannot start the embedded server: {}",
                        crate::error_chain(&error)
                    ))
                })?;
                let client = ApiClient::new(&running.base_url(), &token).map_err(Failure::from)?;
                Ok(Connection {
                    client,
                    user_id: LOCAL_USER.to_owned(),
                    limits,
                    embedded: Some(running),
                })
            }
            ServerChoice::Remote { url, token, user } => {
                let client = ApiClient::new(url, token).map_err(Failure::from)?;
                let me = match client.whoami().await {
                    Ok(me) => Some(me),
                    Err(ClientError::NotFound { .. }) => None,
                    Err(error) => return Err(error.into()),
                };
                let limits = me.as_ref().and_then(|me| me.limits).unwrap_or_default();
                let user_id = match (user, me) {
                    (Some(user), _) => user.clone(),
                    (None, Some(me)) => me.user_id,
                    (None, None) => {
                        return Err(Failure::server(format!(
                            "the server at `{url}` cannot say whom the token belongs to (no `/api/v1/whoami`)"
                        ))
                        .with_help("set `CODEINSIGHT_USER` or `user` in codeinsight.toml"));
                    }
                };
                Ok(Connection {
                    client,
                    user_id,
                    limits,
                    embedded: None,
                })
            }
        }
    }

    /// A connection to a server someone else runs (no embedded server to stop).
    pub fn remote(client: ApiClient, user_id: String, limits: Option<ServerLimits>) -> Connection {
        Connection {
            client,
            user_id,
            limits: limits.unwrap_or_default(),
            embedded: None,
        }
    }

    /// Stops the embedded server, letting it finish writing.
    pub async fn close(self) {
        if let Some(running) = self.embedded {
            running.shutdown().await;
        }
    }
}

/// The configuration of the local user's own server on `listen`: the data directory's `SQLite` database, a random
/// in-memory token for [`LOCAL_USER`] (returned), the project's rules and linters. On a loopback address the
/// files are the user's own, so linters run in the project as by hand; anywhere else they are untrusted.
pub fn embedded_config(
    data_dir: &std::path::Path,
    rules_dir: Option<&std::path::Path>,
    linters: &crate::engine::LintersConfig,
    listen: SocketAddr,
) -> Result<(ServerConfig, String), Failure> {
    std::fs::create_dir_all(data_dir).map_err(|error| {
        Failure::usage(format!(
            "cannot create the data directory `{}`: {error}",
            data_dir.display()
        ))
        .with_help("set `CODEINSIGHT_DATA_DIR` to a writable directory")
    })?;
    let token = random_token()?;
    let mut config = ServerConfig::new(listen, sqlite_url(data_dir));
    config.ephemeral_tokens = vec![EphemeralToken {
        token: token.clone(),
        user_id: LOCAL_USER.to_owned(),
        admin: true,
    }];
    config.rules_dir = rules_dir.map(std::path::Path::to_path_buf);
    config.linters.clone_from(linters);
    if listen.ip().is_loopback() {
        config.linters.trust = crate::engine::linters::Trust::OwnFiles;
    }
    Ok((config, token))
}

/// 32 random bytes from the OS, hex-encoded.
fn random_token() -> Result<String, Failure> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| Failure::server(format!("cannot generate a token: {error}")))?;
    let mut token = String::with_capacity(64);
    for byte in bytes {
        let _ = write!(token, "{byte:02x}");
    }
    Ok(token)
}
