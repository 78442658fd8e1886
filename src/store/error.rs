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
