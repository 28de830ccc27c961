//! The workspace's one test harness (a dev-dependency of every crate, never shipped): the
//! backend a test runs on and [`on_both_backends!`], which runs one test body on each; the test
//! databases ([`database`]: SQLite files, PostgreSQL databases copied from a migrated template);
//! a migrated catalog store per test with raw SQL helpers ([`TestDb`]); and the small builders
//! and paths the tests of several crates share ([`fixtures`]).
//!
//! PostgreSQL tests run when `PRODLINK_TEST_PG` holds an admin URL (a database the user may
//! connect to and create databases from, e.g. `postgres://prodlink@127.0.0.1:54329/postgres`;
//! `scripts/test.sh` sets it); without it each PostgreSQL test says it was skipped and passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod database;
pub mod fixtures;
mod testdb;

pub use database::{Database, PG_ENV};
pub use fixtures::*;
pub use testdb::{Arg, Db, Template, TestDb};

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A PostgreSQL database made for the named test (`module::path::test`).
    Postgres(&'static str),
}

impl Backend {
    /// PostgreSQL for `test`, or `None` (after saying so) when `PRODLINK_TEST_PG` is unset.
    pub fn postgres(test: &'static str) -> Option<Self> {
        if database::admin_url().is_some() {
            Some(Self::Postgres(test))
        } else {
            eprintln!("skipped {test}: {PG_ENV} is not set (scripts/test.sh sets it)");
            None
        }
    }

    pub fn is_postgres(self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// The backend's name as prodlink reports it (`/mcp/health`'s `backend`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// Declares, for each named test function of the file, the tests `sqlite::NAME` and
/// `postgres::NAME`; the PostgreSQL one says it was skipped and passes when
/// `PRODLINK_TEST_PG` is unset. Three forms:
///
/// - `on_both_backends!(a, b)`: each `async fn NAME(backend: Backend)` runs on a Tokio runtime;
/// - `on_both_backends!(open = Type::function; a, b)`: each `async fn NAME(x: X)` gets
///   `Type::function(backend).await`, the type named as in the test file (e.g.
///   `open = TestDb::new` hands every test a migrated store);
/// - `on_both_backends!(sync: a, b)`: each `fn NAME(backend: Backend)` runs without a runtime
///   (tests that drive the `prodlink` binary).
#[macro_export]
macro_rules! on_both_backends {
    (sync: $($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name($crate::Backend::Sqlite);
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                let test = concat!(module_path!(), "::", stringify!($name));
                if let Some(backend) = $crate::Backend::postgres(test) {
                    super::$name(backend);
                }
            })*
        }
    };
    (open = $ty:ident :: $ctor:ident; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(super::$ty::$ctor($crate::Backend::Sqlite).await).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let test = concat!(module_path!(), "::", stringify!($name));
                if let Some(backend) = $crate::Backend::postgres(test) {
                    super::$name(super::$ty::$ctor(backend).await).await;
                }
            })*
        }
    };
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::Backend::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let test = concat!(module_path!(), "::", stringify!($name));
                if let Some(backend) = $crate::Backend::postgres(test) {
                    super::$name(backend).await;
                }
            })*
        }
    };
}
