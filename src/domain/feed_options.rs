//! How a feed is rendered, as opposed to which sessions it holds.
//!
//! `alarm=N` adds a reminder N minutes before every event, `compact=1`
//! shortens every DESCRIPTION. Neither selects sessions, so they are not
//! part of [`super::SessionFilter`] (the JSON API has no use for them and
//! rejects them), but they change the bytes of a feed: they are part of its
//! cache key and of its own URL (SOURCE), so a calendar that re-reads the
//! feed from SOURCE gets the same reminders.

use super::ValidationError;

/// Longest reminder: a day before.
pub const MAX_ALARM_MINUTES: u16 = 1440;

/// The query keys that are feed options; every other key is a filter.
pub const KEYS: &[&str] = &["alarm", "compact"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FeedOptions {
    /// Minutes before the start; `None`: no VALARM (the default, since a
    /// feed's alarms go off on every subscriber's devices).
    pub alarm: Option<u16>,
    /// Short descriptions, so that a very large feed stays under Google
    /// Calendar's limit (it silently drops feeds over 1,000,000 bytes).
    pub compact: bool,
}

impl FeedOptions {
    /// Reads `alarm` and `compact` from a query string, ignoring every other
    /// key (the filter's parser reads those, and rejects unknown ones).
    pub fn from_query(query: &str) -> Result<FeedOptions, ValidationError> {
        let mut o = FeedOptions::default();
        let (mut alarm_seen, mut compact_seen) = (false, false);
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "alarm" => {
                    once(&mut alarm_seen, "alarm")?;
                    o.alarm = Some(parse_alarm(&value)?);
                }
                "compact" => {
                    once(&mut compact_seen, "compact")?;
                    o.compact = match value.as_ref() {
                        "1" => true,
                        "0" => false,
                        v => {
                            return Err(ValidationError::new(
                                "compact",
                                format!("{:?} is not 1 (compact) or 0 (full)", truncate(v)),
                            ))
                        }
                    };
                }
                _ => {}
            }
        }
        Ok(o)
    }

    /// Like [`FeedOptions::from_query`], for a URL that takes nothing but
    /// options (a single talk's `.ics`, an agenda feed): any other key is
    /// an error, as it is for filters, so a typo never goes unnoticed.
    pub fn from_options_query(query: &str) -> Result<FeedOptions, ValidationError> {
        for (key, _) in url::form_urlencoded::parse(query.as_bytes()) {
            if !KEYS.contains(&key.as_ref()) {
                return Err(ValidationError::new(
                    truncate(&key),
                    "unknown parameter; this feed takes alarm and compact",
                ));
            }
        }
        Self::from_query(query)
    }

    pub fn is_default(&self) -> bool {
        *self == FeedOptions::default()
    }

    /// The normalised query (`alarm=15&compact=1`); empty for the default,
    /// so feeds without options keep the URLs they always had.
    pub fn canonical(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if let Some(n) = self.alarm {
            s.append_pair("alarm", &n.to_string());
        }
        if self.compact {
            s.append_pair("compact", "1");
        }
        s.finish()
    }
}

fn once(seen: &mut bool, key: &str) -> Result<(), ValidationError> {
    if std::mem::replace(seen, true) {
        return Err(ValidationError::new(
            key,
            format!("give {key} at most once"),
        ));
    }
    Ok(())
}

/// Whole minutes, 0 to 1440, in plain digits: no sign, no fraction, no
/// unit, no space (`alarm=15`).
fn parse_alarm(v: &str) -> Result<u16, ValidationError> {
    let bad = || {
        ValidationError::new(
            "alarm",
            format!(
                "{:?} is not a whole number of minutes from 0 to {MAX_ALARM_MINUTES}",
                truncate(v)
            ),
        )
    };
    if v.is_empty() || v.len() > 4 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u16 = v.parse().map_err(|_| bad())?;
    if n > MAX_ALARM_MINUTES {
        return Err(bad());
    }
    Ok(n)
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// `a&b`, leaving out empty parts.
pub fn join_query(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}&{b}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options_and_ignores_filters() {
        let o = FeedOptions::from_query("room=E2&alarm=15&compact=1").unwrap();
        assert_eq!(
            o,
            FeedOptions {
                alarm: Some(15),
                compact: true
            }
        );
        assert_eq!(o.canonical(), "alarm=15&compact=1");
        let none = FeedOptions::from_query("room=E2&compact=0").unwrap();
        assert!(none.is_default());
        assert_eq!(none.canonical(), "");
        assert_eq!(FeedOptions::from_query("alarm=0").unwrap().alarm, Some(0));
        assert_eq!(
            FeedOptions::from_query("alarm=1440").unwrap().alarm,
            Some(1440)
        );
        // Leading zeros are the same number, and the same cache entry.
        assert_eq!(
            FeedOptions::from_query("alarm=0015").unwrap().canonical(),
            "alarm=15"
        );
    }

    #[test]
    fn rejects_bad_values_naming_the_field() {
        for (q, field) in [
            ("alarm=", "alarm"),
            ("alarm=-5", "alarm"),
            ("alarm=%2B5", "alarm"),
            ("alarm=1441", "alarm"),
            ("alarm=99999", "alarm"),
            ("alarm=15m", "alarm"),
            ("alarm=1.5", "alarm"),
            ("alarm=%205", "alarm"),
            ("alarm=%EF%BC%91", "alarm"),
            ("alarm=5&alarm=10", "alarm"),
            ("compact=yes", "compact"),
            ("compact=true", "compact"),
            ("compact=", "compact"),
            ("compact=1&compact=1", "compact"),
        ] {
            let e = FeedOptions::from_query(q).unwrap_err();
            assert_eq!(e.field, field, "{q}: {e:?}");
            assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn option_only_urls_reject_other_keys() {
        assert_eq!(
            FeedOptions::from_options_query("alarm=10").unwrap().alarm,
            Some(10)
        );
        assert_eq!(
            FeedOptions::from_options_query("room=E2")
                .unwrap_err()
                .field,
            "room"
        );
        assert_eq!(join_query("a=1", ""), "a=1");
        assert_eq!(join_query("", "b=2"), "b=2");
        assert_eq!(join_query("a=1", "b=2"), "a=1&b=2");
    }
}
