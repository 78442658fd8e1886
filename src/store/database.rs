//! The [`Store`] handle: which backend a database URL names (`sqlite://PATH` or `postgres://...`), opening it, and
//! applying the embedded migrations. Every other file of this module adds methods to `Store` for one kind of
//! record.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::StoreError;
use super::backend::{Backend, on_pool};

/// Migrations for the `SQLite` backend, embedded in the binary and applied by [`Store::connect`].
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// Migrations for the `PostgreSQL` backend. Instances starting together apply them once: sqlx holds an advisory
/// lock while it migrates.
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Connections per instance to `PostgreSQL`: the claimer, the writer, the heartbeat, the event listener and the
/// HTTP handlers share them.
pub const POSTGRES_POOL_SIZE: u32 = 16;

/// A cheap-to-clone handle on the server's database.
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) backend: Backend,
}

impl Store {
    /// Opens the database named by `database_url` (`sqlite://PATH`, created if missing, with its directory) and
    /// applies pending migrations; applying none is a single indexed read, so this is cheap on every start.
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        Store::connect_with(database_url, true).await
    }

    /// Like [`Store::connect`]; `durable_commits = false` lets commits return before the disk has them
    /// (`synchronous=NORMAL` under WAL: a killed process loses nothing, a power cut may lose the last commits).
    pub async fn connect_with(
        database_url: &str,
        durable_commits: bool,
    ) -> Result<Store, StoreError> {
        if Store::is_postgres(database_url) {
            return Store::connect_postgres(database_url).await;
        }
        if !database_url.starts_with("sqlite:") {
            return Err(StoreError::UnsupportedUrl(without_password(database_url)));
        }
        let options = SqliteConnectOptions::from_str(database_url)
            .map_err(|_| StoreError::UnsupportedUrl(without_password(database_url)))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a job acknowledged over HTTP survives a power cut, not only a killed process. Writes are
            // batched (a run is one transaction, results are written in groups) so the fsyncs stay few.
            .synchronous(if durable_commits {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(Duration::from_secs(10))
            // A finished job's text is rewritten with its secrets masked; deleted and overwritten content is
            // zeroed on disk rather than left in free pages.
            .pragma("secure_delete", "ON")
            .foreign_keys(true);
        let file = options.get_filename().to_path_buf();
        if let Some(parent) = file.parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            // The database holds every user's code: a directory made for it is the owner's alone.
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
                .create(parent)
                .map_err(|source| StoreError::CreateDirectory {
                    path: parent.display().to_string(),
                    source,
                })?;
        }
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(if durable_commits { 8 } else { 1 })
            .connect_with(options)
            .await?;
        restrict_to_owner(&file);
        SQLITE_MIGRATIONS.run(&pool).await?;
        Ok(Store {
            backend: Backend::Sqlite(pool),
        })
    }

    /// Whether `database_url` names a `PostgreSQL` database.
    pub fn is_postgres(database_url: &str) -> bool {
        database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")
    }

    /// Whether this store is on `PostgreSQL` (several instances may share it).
    pub fn shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    async fn connect_postgres(database_url: &str) -> Result<Store, StoreError> {
        let options = PgConnectOptions::from_str(database_url)
            .map_err(|_| StoreError::UnsupportedUrl(without_password(database_url)))?
            .application_name("codeinsight");
        // One plain connection first: a wrong host, port, password or database fails at once with the
        // database's words, where the pool would retry until its timeout and report only that it timed out.
        sqlx::Connection::close(
            <sqlx::PgConnection as sqlx::Connection>::connect_with(&options).await?,
        )
        .await?;
        let pool = PgPoolOptions::new()
            .min_connections(1)
            .max_connections(POSTGRES_POOL_SIZE)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        POSTGRES_MIGRATIONS.run(&pool).await?;
        Ok(Store {
            backend: Backend::Postgres(pool),
        })
    }

    /// The database file a `sqlite:` URL names, so that a server can keep it out of its linters' sandboxes.
    pub fn database_file(database_url: &str) -> Option<std::path::PathBuf> {
        if !database_url.starts_with("sqlite:") {
            return None;
        }
        let options = SqliteConnectOptions::from_str(database_url).ok()?;
        let file = options.get_filename();
        let file = if file.is_absolute() {
            file.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(file)
        };
        Some(file)
    }

    /// A listener on `channels` (`PostgreSQL` `LISTEN`), for instances sharing the database to hear each other;
    /// `None` on `SQLite`, which one process serves.
    pub async fn listener(
        &self,
        channels: &[&str],
    ) -> Result<Option<sqlx::postgres::PgListener>, StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(None),
            Backend::Postgres(pool) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                listener.listen_all(channels.iter().copied()).await?;
                Ok(Some(listener))
            }
        }
    }

    /// Sends each of `payloads` on `channel` (`PostgreSQL` `NOTIFY`, at most 8,000 bytes each) in one statement;
    /// nothing on `SQLite`.
    pub async fn notify(&self, channel: &str, payloads: &[String]) -> Result<(), StoreError> {
        if let Backend::Postgres(pool) = &self.backend
            && !payloads.is_empty()
        {
            sqlx::query("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload")
                .bind(channel)
                .bind(payloads)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }
}

/// The current time as stored: Unix microseconds.
/// Makes the database file (and its WAL and shared-memory files, which SQLite gives the same mode) readable by
/// its owner only. A failure is logged: the database still works, and the directory may already protect it.
fn restrict_to_owner(file: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut paths = vec![file.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut name = file.as_os_str().to_owned();
            name.push(suffix);
            paths.push(std::path::PathBuf::from(name));
        }
        for path in paths.iter().filter(|path| path.exists()) {
            if let Err(error) =
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            {
                tracing::warn!(%error, file = %path.display(), "could not make the database private to its owner");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = file;
}

/// `database_url` with its password (`scheme://user:PASSWORD@host`) masked, for messages.
fn without_password(database_url: &str) -> String {
    let Some((scheme, rest)) = database_url.split_once("://") else {
        return database_url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) if credentials.contains(':') => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => database_url.to_owned(),
    }
}

pub(crate) fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

pub(super) fn from_micros(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {micros} out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_database_url_is_quoted_without_its_password() {
        assert_eq!(
            without_password("postgres://ci:hunter2@db.internal:5432/codeinsight?x=%"),
            "postgres://ci:***@db.internal:5432/codeinsight?x=%"
        );
        assert_eq!(without_password("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
        assert_eq!(without_password("postgres://ci@db/x"), "postgres://ci@db/x");
    }
}
