//! The two databases the store talks to, and how one method body serves both: [`on_pool!`] compiles a body once
//! per backend (so every statement, bind and row read is checked against both), [`Dialect`] gives the few
//! statements that differ, and [`StoreRow`] reads a row of either backend by column name.
//!
//! The statements are shared where they can be: `$N` placeholders, `RETURNING`, integer timestamps, JSON as text.
//! What differs: `SQLite` takes its write lock when a writing transaction begins (`BEGIN IMMEDIATE`) and is told
//! which partial index to use (`INDEXED BY`); `PostgreSQL` claims with `FOR UPDATE SKIP LOCKED`, merges JSON with
//! `jsonb`, matches a list with `= ANY($N)`, and folds case with `ILIKE`.

use std::future::Future;

use sqlx::postgres::{PgPool, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqlitePool, SqliteRow};
use sqlx::{Row, Transaction};

/// The store's connection pool, of either backend.
#[derive(Debug, Clone)]
pub(super) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend it is.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::backend::Backend::Sqlite($pool) => $body,
            $crate::store::backend::Backend::Postgres($pool) => $body,
        }
    };
}
pub(super) use on_pool;

/// What differs between the backends, looked up on the pool a body runs with.
pub(super) trait Dialect {
    type Db: sqlx::Database;
    const POSTGRES: bool;

    /// The statement for this backend.
    fn sql(&self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        if Self::POSTGRES { postgres } else { sqlite }
    }

    /// A transaction that writes. `SQLite` takes the write lock at once (`BEGIN IMMEDIATE`), so that a transaction
    /// that read first never fails to upgrade its lock halfway; `PostgreSQL` locks rows as it goes.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl Dialect for SqlitePool {
    type Db = Sqlite;
    const POSTGRES: bool = false;

    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Sqlite>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl Dialect for PgPool {
    type Db = Postgres;
    const POSTGRES: bool = true;

    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Postgres>, sqlx::Error>> + Send {
        self.begin()
    }
}

/// A row of either backend, read by column name.
pub(super) trait StoreRow {
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn optional_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    fn optional_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
    fn optional_flag(&self, column: &str) -> Result<Option<bool>, sqlx::Error>;
    fn real(&self, column: &str) -> Result<f64, sqlx::Error>;
}

macro_rules! store_row {
    ($row:ty) => {
        impl StoreRow for $row {
            fn text(&self, column: &str) -> Result<String, sqlx::Error> {
                self.try_get(column)
            }
            fn optional_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(column)
            }
            fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
                self.try_get(column)
            }
            fn optional_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(column)
            }
            fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
                self.try_get(column)
            }
            fn optional_flag(&self, column: &str) -> Result<Option<bool>, sqlx::Error> {
                self.try_get(column)
            }
            fn real(&self, column: &str) -> Result<f64, sqlx::Error> {
                self.try_get(column)
            }
        }
    };
}

store_row!(SqliteRow);
store_row!(PgRow);
