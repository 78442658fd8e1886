//! The store's error type: what can go wrong talking to the database, without any HTTP meaning attached.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "unsupported database url `{0}` (expected sqlite://PATH or postgres://USER@HOST:PORT/DATABASE)"
    )]
    UnsupportedUrl(String),
    #[error("cannot create the database directory `{path}`")]
    CreateDirectory {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored JSON is invalid")]
    Json(#[from] serde_json::Error),
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
    #[error("cannot generate a random token: {0}")]
    Random(String),
}

impl StoreError {
    /// Whether the failure may pass by itself: the database was unreachable, restarting, busy or out of
    /// resources for a moment, or the transaction lost a serialization race. Anything else is the database
    /// refusing this very write (a constraint, a trigger, data it cannot take), which a retry would meet again.
    pub fn is_transient(&self) -> bool {
        let StoreError::Database(error) = self else {
            return false;
        };
        let sqlx::Error::Database(database) = error else {
            // I/O, TLS, protocol, pool timeouts and closed pools: the connection, not the statement.
            return matches!(
                error,
                sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::Protocol(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            );
        };
        let Some(code) = database.code() else {
            return false;
        };
        // PostgreSQL's SQLSTATE classes: connection exception, operator intervention (a restart), insufficient
        // resources, transaction rollback (serialization failure, deadlock).
        if ["08", "57", "53", "40"]
            .iter()
            .any(|class| code.starts_with(class))
        {
            return true;
        }
        // SQLite's extended result codes: BUSY and LOCKED in their low byte.
        code.parse::<u32>()
            .is_ok_and(|code| matches!(code & 0xff, 5 | 6))
    }
}
