//! Identifiers that appear in URLs: conference slugs and session ids.
//!
//! Both are parsed once at the edge (JSON document, URL path) into newtypes, so
//! every later layer can put them into URLs, UIDs and SQL without re-checking.

use std::fmt;

/// Longest id we accept: long enough for any slugified title, short enough
/// that a UID built from two of them stays on one folded line or two.
pub const MAX_ID_LEN: usize = 100;

fn check(kind: &str, s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("{kind} must not be empty"));
    }
    if s.len() > MAX_ID_LEN {
        return Err(format!("{kind} is longer than {MAX_ID_LEN} characters"));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "{kind} {s:?} may contain only lowercase letters a-z, digits and '-'"
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(format!("{kind} {s:?} must not start or end with '-'"));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Accepts `[a-z0-9-]{1,100}`, not starting or ending with `-`.
            pub fn parse(s: &str) -> Result<Self, String> {
                check($kind, s).map(|()| Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A conference's URL slug, e.g. `pycon-us-2012`.
    ConferenceSlug,
    "conference slug"
);
id_type!(
    /// A session's id, unique within its conference, e.g. `dismantling-jinja`.
    SessionId,
    "session id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs() {
        for ok in ["pycon-us-2012", "a", "0", "dismantling-jinja", "a-b-c"] {
            assert_eq!(SessionId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_bad_slugs() {
        let long = "a".repeat(MAX_ID_LEN + 1);
        for bad in [
            "",
            "Upper",
            "under_score",
            "sp ace",
            "-lead",
            "trail-",
            "dot.ics",
            "slash/",
            "é",
            long.as_str(),
        ] {
            assert!(ConferenceSlug::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(ConferenceSlug::parse(&"a".repeat(MAX_ID_LEN)).is_ok());
    }
}
