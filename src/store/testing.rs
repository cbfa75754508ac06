//! The backends the store's tests run on: SQLite always, PostgreSQL when
//! `CONFCAL_TEST_POSTGRES` names a database (each test in a schema of its
//! own, dropped afterwards, so tests run in parallel).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{DbTarget, PgUrl, Store, StoreOptions};

/// The variable naming a PostgreSQL database the tests may create
/// schemas in: `postgres://user@127.0.0.1:5432/dbname`.
pub const PG_ENV: &str = "CONFCAL_TEST_POSTGRES";

/// A store under test and what keeps its database alive.
pub struct TestStore {
    pub name: &'static str,
    pub store: Store,
    keep: Keep,
}

impl TestStore {
    /// The PostgreSQL schema, on that backend.
    pub fn schema(&self) -> Option<&PgSchema> {
        match &self.keep {
            Keep::Schema(s) => Some(s),
            Keep::Dir(_) => None,
        }
    }

    /// A second store on the same database: another replica (PostgreSQL)
    /// or another process (SQLite).
    pub fn another(&self) -> Store {
        match &self.keep {
            Keep::Dir(d) => Store::open(&d.path().join("t.db")).unwrap(),
            Keep::Schema(s) => {
                Store::open_target(&DbTarget::Postgres(s.url()), StoreOptions::default()).unwrap()
            }
        }
    }
}

enum Keep {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Schema(PgSchema),
}

/// A schema of its own in the test database, dropped on drop.
pub struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    /// `None` (with a line saying why) when [`PG_ENV`] is not set.
    pub fn new() -> Option<PgSchema> {
        let Ok(base) = std::env::var(PG_ENV) else {
            eprintln!("skipping PostgreSQL: {PG_ENV} is not set");
            return None;
        };
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_subsec_nanos()
        );
        let mut c = ::postgres::Client::connect(&base, ::postgres::NoTls)
            .unwrap_or_else(|e| panic!("{PG_ENV}: cannot connect: {e}"));
        c.batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
        Some(PgSchema { base, name })
    }

    /// The URL of the test database with this schema as its search path.
    pub fn url(&self) -> PgUrl {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        PgUrl::new(&format!(
            "{}{sep}options=-c%20search_path%3D{}&application_name={}",
            self.base, self.name, self.name
        ))
        .expect("a postgres URL")
    }
}

impl PgSchema {
    /// Ends every server connection of this test's stores (they name
    /// themselves after the schema), as an operator's
    /// `pg_terminate_backend` or a server restart would. Returns how many.
    pub fn terminate_connections(&self) -> i64 {
        let mut c = ::postgres::Client::connect(&self.base, ::postgres::NoTls).unwrap();
        c.query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = $1",
            &[&self.name],
        )
        .unwrap()
        .get(0)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = ::postgres::Client::connect(&self.base, ::postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }
}

/// A fresh store on every backend the machine has.
pub fn backends() -> Vec<TestStore> {
    backends_with(StoreOptions::default())
}

pub fn backends_with(options: StoreOptions) -> Vec<TestStore> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open_with(&dir.path().join("t.db"), options).unwrap();
    let mut out = vec![TestStore {
        name: "sqlite",
        store: sqlite,
        keep: Keep::Dir(dir),
    }];
    if let Some(schema) = PgSchema::new() {
        let store = Store::open_target(&DbTarget::Postgres(schema.url()), options)
            .unwrap_or_else(|e| panic!("PostgreSQL store: {e}"));
        out.push(TestStore {
            name: "postgres",
            store,
            keep: Keep::Schema(schema),
        });
    }
    out
}
