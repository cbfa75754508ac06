//! What `--db` / `CONFCAL_DB` names: a SQLite file or a PostgreSQL URL.

use std::fmt;
use std::path::{Path, PathBuf};

/// The database a confcal uses. A value starting `postgres://` or
/// `postgresql://` is a PostgreSQL URL; anything else is a file path, as it
/// has always been (so no SQLite user's setting changes meaning).
#[derive(Clone, PartialEq, Eq)]
pub enum DbTarget {
    Sqlite(PathBuf),
    Postgres(PgUrl),
}

impl DbTarget {
    /// Reads `--db`'s value (a path as given on the command line).
    pub fn parse(db: &Path) -> DbTarget {
        match db.to_str() {
            Some(s) if PgUrl::is_url(s) => DbTarget::Postgres(PgUrl(s.to_owned())),
            _ => DbTarget::Sqlite(db.to_owned()),
        }
    }

    /// The SQLite file, if this is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            DbTarget::Sqlite(p) => Some(p),
            DbTarget::Postgres(_) => None,
        }
    }
}

/// Shown as a path, or as the URL with its password replaced (see
/// [`PgUrl`]'s `Display`): fit for logs and error messages.
impl fmt::Display for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbTarget::Sqlite(p) => write!(f, "{}", p.display()),
            DbTarget::Postgres(u) => u.fmt(f),
        }
    }
}

impl fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbTarget({self})")
    }
}

/// A PostgreSQL connection URL. Its `Display` and `Debug` replace the
/// password (in the user part, or a `password=` parameter) with `***`, so
/// that a log line, an error or a metric showing it can never leak it;
/// only [`PgUrl::secret`] gives the URL itself, to connect with.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl(String);

impl PgUrl {
    fn is_url(s: &str) -> bool {
        s.starts_with("postgres://") || s.starts_with("postgresql://")
    }

    /// `None` for what is not a `postgres://` or `postgresql://` URL.
    pub fn new(s: &str) -> Option<PgUrl> {
        Self::is_url(s).then(|| PgUrl(s.to_owned()))
    }

    /// The URL with its password, for the client library alone.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// The URL as shown (see the type's docs).
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(Some("***"));
                }
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k.eq_ignore_ascii_case("password") {
                            "***".to_owned()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                if !pairs.is_empty() {
                    u.query_pairs_mut().clear().extend_pairs(pairs);
                }
                u.to_string()
            }
            // Not a URL we can read (the client library will say why):
            // shown as its scheme alone, since anything after it might be
            // a password.
            Err(_) => "postgres://(unreadable URL)".to_owned(),
        }
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_paths_and_urls_are_postgres() {
        assert_eq!(
            DbTarget::parse(Path::new("confcal.db")),
            DbTarget::Sqlite("confcal.db".into())
        );
        assert_eq!(
            DbTarget::parse(Path::new("./postgres://x")).path(),
            Some(Path::new("./postgres://x"))
        );
        for u in ["postgres://h/db", "postgresql://u@h:5432/db"] {
            assert!(matches!(
                DbTarget::parse(Path::new(u)),
                DbTarget::Postgres(_)
            ));
        }
    }

    #[test]
    fn the_password_is_never_shown() {
        let t = DbTarget::parse(Path::new(
            "postgres://app:s3cr%23t@db.example:5432/confcal?sslmode=disable&password=other",
        ));
        for shown in [t.to_string(), format!("{t:?}")] {
            assert!(!shown.contains("s3cr"), "{shown}");
            assert!(!shown.contains("other"), "{shown}");
            assert!(shown.contains("app:***@db.example:5432/confcal"), "{shown}");
            assert!(shown.contains("sslmode=disable"), "{shown}");
        }
        let no_pw = PgUrl::new("postgres://app@h/db").unwrap();
        assert_eq!(no_pw.to_string(), "postgres://app@h/db");
        assert!(PgUrl::new("postgres://a:pw@[bad")
            .unwrap()
            .to_string()
            .find("pw")
            .is_none());
    }
}
