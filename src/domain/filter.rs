//! Session filters, shared by the JSON API, the feeds and the pages.
//!
//! `day=2012-03-09&room=E1&room=E2` means "on that local day AND in room E1
//! OR E2": different keys combine with AND, repeated keys with OR. A filter is
//! parsed once from the query string, and [`SessionFilter::canonical`] gives
//! a normalised form that names cached feeds and download files.

use chrono::NaiveDate;

use super::ValidationError;

/// At most this many values per key: a feed URL is a bookmark, not a query
/// language, and an unbounded OR list would be an unbounded SQL statement.
pub const MAX_VALUES: usize = 50;
const MAX_VALUE_LEN: usize = 200;

/// Full-text search is bounded on its own, far below the other keys: every
/// term is a lookup (a prefix term a merge of every indexed word it begins)
/// in the conference's words, so the count of `q` values, of words over all
/// of them and the length of a word are capped, and only words of at least
/// [`PREFIX_MIN`] characters match as prefixes.
pub const MAX_Q_VALUES: usize = 8;
pub const MAX_Q_WORDS: usize = 16;
pub const MAX_WORD_LEN: usize = 40;
/// Shorter words match whole words only: `q=a` would otherwise be a prefix
/// term matching nearly every word of the index.
pub const PREFIX_MIN: usize = 3;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum StatusFilter {
    /// The default for listings: what is on.
    #[default]
    Confirmed,
    Cancelled,
    /// Feeds use this: a cancelled talk must stay in them so calendars learn
    /// of the cancellation.
    All,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SessionFilter {
    pub days: Vec<NaiveDate>,
    pub rooms: Vec<String>,
    pub speakers: Vec<String>,
    pub tracks: Vec<String>,
    pub q: Vec<String>,
    /// Only sessions of these kinds (a session without a kind matches none).
    pub kinds: Vec<String>,
    /// Not sessions of these kinds (a session without a kind always passes).
    pub not_kinds: Vec<String>,
    pub status: StatusFilter,
}

impl SessionFilter {
    /// Parses an URL query string. Unknown keys are an error rather than
    /// ignored, so a typo (`rooms=E2`) does not silently give every session.
    pub fn from_query(query: &str) -> Result<Self, ValidationError> {
        Self::parse(query, true, false)
    }

    /// For pages: like [`SessionFilter::from_query`], and the feed options
    /// (`alarm`, `compact`) are let through, since a page hands them on to
    /// the feed URL it offers (parse them with
    /// [`super::FeedOptions::from_query`]).
    pub fn from_page_query(query: &str) -> Result<Self, ValidationError> {
        Self::parse(query, true, true)
    }

    /// For feeds: like [`SessionFilter::from_query`] but `status` is not
    /// accepted at all (feeds always carry cancelled sessions, so that
    /// calendars learn of cancellations), and the status is `All`.
    pub fn from_feed_query(query: &str) -> Result<Self, ValidationError> {
        let mut f = Self::parse(query, false, true)?;
        f.status = StatusFilter::All;
        Ok(f)
    }

    /// `options`: skip the feed options' keys (their own parser reads them).
    fn parse(query: &str, allow_status: bool, options: bool) -> Result<Self, ValidationError> {
        let mut f = SessionFilter::default();
        let mut status_seen = false;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let key = key.as_ref();
            let value = value.trim();
            // The decoder replaces invalid UTF-8 with U+FFFD: refuse it
            // rather than search for replacement characters.
            if key.contains('\u{FFFD}') || value.contains('\u{FFFD}') {
                return Err(ValidationError::new(
                    truncate(key),
                    "is not valid UTF-8 once percent-decoded",
                ));
            }
            match key {
                "day" => f.days.push(parse_day(value)?),
                "room" => f.rooms.push(text(key, value)?),
                "speaker" => f.speakers.push(text(key, value)?),
                "track" => f.tracks.push(text(key, value)?),
                "q" => {
                    let v = text(key, value)?;
                    if !tokens(&v).is_empty() {
                        f.q.push(v);
                    }
                }
                "kind" => f.kinds.push(kind(key, value)?),
                "not_kind" => f.not_kinds.push(kind(key, value)?),
                k if options && super::feed_options::KEYS.contains(&k) => {}
                "status" if !allow_status => return Err(ValidationError::new(
                    "status",
                    "feeds always include cancelled sessions, so calendars learn of cancellations",
                )),
                "status" => {
                    if status_seen {
                        return Err(ValidationError::new("status", "give status at most once"));
                    }
                    status_seen = true;
                    f.status = match value {
                        "confirmed" => StatusFilter::Confirmed,
                        "cancelled" => StatusFilter::Cancelled,
                        "all" => StatusFilter::All,
                        _ => {
                            return Err(ValidationError::new(
                                "status",
                                format!("{value:?} is not one of confirmed, cancelled, all"),
                            ))
                        }
                    }
                }
                other => return Err(ValidationError::new(
                    truncate(other),
                    "unknown filter; use day, room, speaker, track, q, kind, not_kind or status",
                )),
            }
        }
        for (key, n) in [
            ("day", f.days.len()),
            ("room", f.rooms.len()),
            ("speaker", f.speakers.len()),
            ("track", f.tracks.len()),
            ("q", f.q.len()),
            ("kind", f.kinds.len()),
            ("not_kind", f.not_kinds.len()),
        ] {
            if n > MAX_VALUES {
                return Err(ValidationError::new(
                    key,
                    format!("at most {MAX_VALUES} values"),
                ));
            }
        }
        f.normalise();
        f.check_q()?;
        Ok(f)
    }

    /// The search bounds (see [`MAX_Q_VALUES`]), checked once the values
    /// are deduplicated.
    fn check_q(&self) -> Result<(), ValidationError> {
        if self.q.len() > MAX_Q_VALUES {
            return Err(ValidationError::new(
                "q",
                format!("at most {MAX_Q_VALUES} search values"),
            ));
        }
        let mut words = 0;
        for v in &self.q {
            for w in tokens(v) {
                words += 1;
                if w.chars().count() > MAX_WORD_LEN {
                    return Err(ValidationError::new(
                        "q",
                        format!("words longer than {MAX_WORD_LEN} characters are not searched"),
                    ));
                }
            }
        }
        if words > MAX_Q_WORDS {
            return Err(ValidationError::new(
                "q",
                format!("at most {MAX_Q_WORDS} search words in all"),
            ));
        }
        Ok(())
    }

    /// Sorts and dedups every list, so equal filters compare (and hash) equal.
    fn normalise(&mut self) {
        self.days.sort();
        self.days.dedup();
        for v in [
            &mut self.rooms,
            &mut self.speakers,
            &mut self.tracks,
            &mut self.q,
            &mut self.kinds,
            &mut self.not_kinds,
        ] {
            v.sort();
            v.dedup();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
            && self.rooms.is_empty()
            && self.speakers.is_empty()
            && self.tracks.is_empty()
            && self.q.is_empty()
            && self.kinds.is_empty()
            && self.not_kinds.is_empty()
    }

    /// The normalised query string (status left out): `day=…&room=…`. New
    /// keys go last, so filters without them keep the strings (cache keys,
    /// SOURCE URLs) they always had.
    pub fn canonical(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for d in &self.days {
            s.append_pair("day", &d.to_string());
        }
        for (k, vs) in [
            ("room", &self.rooms),
            ("speaker", &self.speakers),
            ("track", &self.tracks),
            ("q", &self.q),
            ("kind", &self.kinds),
            ("not_kind", &self.not_kinds),
        ] {
            for v in vs {
                s.append_pair(k, v);
            }
        }
        s.finish()
    }

    /// An FTS5 query for the `q` values: each value's words must all match
    /// (as prefixes when at least [`PREFIX_MIN`] characters long, else as
    /// whole words), any value may. Every word is quoted, so FTS5 syntax
    /// in user text (`AND`, `*`, `"`, `:`) is inert.
    pub fn fts_query(&self) -> Option<String> {
        self.fts_query_with(|w| w.to_owned())
    }

    /// [`SessionFilter::fts_query`] with each word's phrase text made by
    /// `phrase` (the store writes a word as its index holds it); whether a
    /// word is a prefix is decided on the word as typed.
    pub fn fts_query_with(&self, mut phrase: impl FnMut(&str) -> String) -> Option<String> {
        let alternatives: Vec<String> = self
            .search_terms()?
            .iter()
            .map(|terms| {
                let words: Vec<String> = terms
                    .iter()
                    .map(|&(w, prefix)| {
                        let star = if prefix { "*" } else { "" };
                        format!("\"{}\"{star}", phrase(w).replace('"', "\"\""))
                    })
                    .collect();
                format!("({})", words.join(" AND "))
            })
            .collect();
        Some(alternatives.join(" OR "))
    }

    /// The search's structure, for every backend: one list per `q` value
    /// (any may match) of its words (all must), each with whether it
    /// matches as a prefix. `None` without `q`.
    pub fn search_terms(&self) -> Option<Vec<Vec<(&str, bool)>>> {
        if self.q.is_empty() {
            return None;
        }
        Some(
            self.q
                .iter()
                .map(|v| {
                    tokens(v)
                        .into_iter()
                        .map(|w| (w, w.chars().count() >= PREFIX_MIN))
                        .collect()
                })
                .collect(),
        )
    }
}

/// Words of a free-text query, split the way FTS5's default tokenizer does
/// (anything but letters and digits separates words).
fn tokens(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

fn parse_day(v: &str) -> Result<NaiveDate, ValidationError> {
    let bad = || {
        ValidationError::new(
            "day",
            format!("{:?} is not a date of the form YYYY-MM-DD", truncate(v)),
        )
    };
    if v.len() != 10 {
        return Err(bad());
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| bad())
}

fn text(key: &str, v: &str) -> Result<String, ValidationError> {
    if v.is_empty() {
        return Err(ValidationError::new(key, "must not be empty"));
    }
    if v.chars().count() > MAX_VALUE_LEN {
        return Err(ValidationError::new(
            key,
            format!("longer than {MAX_VALUE_LEN} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(ValidationError::new(key, "contains control characters"));
    }
    Ok(v.to_owned())
}

/// A kind as a filter value: compared lowercase, as kinds are stored.
fn kind(key: &str, v: &str) -> Result<String, ValidationError> {
    super::schedule::parse_kind(&v.to_lowercase()).map_err(|m| ValidationError::new(key, m))
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let f =
            SessionFilter::from_query("room=E2&day=2012-03-09&room=E1&room=E2&q=jinja+compiler")
                .unwrap();
        assert_eq!(f.rooms, ["E1", "E2"]);
        assert_eq!(f.days, [NaiveDate::from_ymd_opt(2012, 3, 9).unwrap()]);
        assert_eq!(
            f.canonical(),
            "day=2012-03-09&room=E1&room=E2&q=jinja+compiler"
        );
        assert_eq!(
            SessionFilter::from_query("room=E2&room=E1&q=jinja%20compiler&day=2012-03-09").unwrap(),
            f
        );
        assert!(SessionFilter::from_query("").unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_values() {
        for (q, field) in [
            ("day=friday-ish", "day"),
            ("day=2012-3-9", "day"),
            ("day=2012-02-30", "day"),
            ("room=", "room"),
            ("rooms=E2", "rooms"),
            ("status=maybe", "status"),
            ("speaker=%07", "speaker"),
            ("room=%FF", "room"),
        ] {
            assert_eq!(
                SessionFilter::from_query(q).unwrap_err().field,
                field,
                "{q}"
            );
        }
        for q in ["status=confirmed", "status=all", "room=E1&status=cancelled"] {
            assert_eq!(
                SessionFilter::from_feed_query(q).unwrap_err().field,
                "status"
            );
        }
        assert_eq!(
            SessionFilter::from_feed_query("room=E1").unwrap().status,
            StatusFilter::All
        );
        let many = vec!["room=x"; MAX_VALUES + 1].join("&");
        assert_eq!(SessionFilter::from_query(&many).unwrap_err().field, "room");
    }

    #[test]
    fn kinds() {
        let f = SessionFilter::from_query("not_kind=break&kind=Talk&kind=keynote&not_kind=break")
            .unwrap();
        assert_eq!(f.kinds, ["keynote", "talk"]);
        assert_eq!(f.not_kinds, ["break"]);
        assert!(!f.is_empty());
        assert_eq!(f.canonical(), "kind=keynote&kind=talk&not_kind=break");
        for (q, field) in [
            ("kind=", "kind"),
            ("kind=coffee+break", "kind"),
            ("not_kind=a_b", "not_kind"),
            ("kind=%E2%98%95", "kind"),
        ] {
            assert_eq!(
                SessionFilter::from_query(q).unwrap_err().field,
                field,
                "{q}"
            );
        }
        let long = format!("kind={}", "k".repeat(41));
        assert_eq!(SessionFilter::from_query(&long).unwrap_err().field, "kind");
    }

    #[test]
    fn feed_options_pass_only_where_a_feed_url_is_made() {
        assert_eq!(
            SessionFilter::from_query("alarm=10").unwrap_err().field,
            "alarm"
        );
        let f = SessionFilter::from_feed_query("room=E2&alarm=10&compact=1").unwrap();
        assert_eq!(f.canonical(), "room=E2");
        let f = SessionFilter::from_page_query("alarm=10&room=E2").unwrap();
        assert_eq!(f.canonical(), "room=E2");
        assert_eq!(
            SessionFilter::from_feed_query("alarms=10")
                .unwrap_err()
                .field,
            "alarms"
        );
    }

    #[test]
    fn fts_query_quotes_user_text() {
        let f = SessionFilter::from_query("q=a%22b+OR*&q=NEAR(x)").unwrap();
        assert_eq!(
            f.fts_query().unwrap(),
            "(\"NEAR\"* AND \"x\") OR (\"a\" AND \"b\" AND \"OR\")"
        );
        assert_eq!(
            SessionFilter::from_query("q=%2B%2B").unwrap().fts_query(),
            None
        );
    }

    #[test]
    fn search_terms_are_bounded() {
        let values: Vec<String> = (0..=MAX_Q_VALUES).map(|i| format!("q=w{i}")).collect();
        assert_eq!(
            SessionFilter::from_query(&values.join("&"))
                .unwrap_err()
                .field,
            "q"
        );
        let words = vec!["abc"; MAX_Q_WORDS + 1].join("+");
        assert_eq!(
            SessionFilter::from_query(&format!("q={words}"))
                .unwrap_err()
                .field,
            "q"
        );
        let long = "x".repeat(MAX_WORD_LEN + 1);
        assert_eq!(
            SessionFilter::from_query(&format!("q={long}"))
                .unwrap_err()
                .field,
            "q"
        );
        let ok = vec!["abc"; MAX_Q_WORDS].join("+");
        assert!(SessionFilter::from_query(&format!("q={ok}")).is_ok());
        assert_eq!(
            SessionFilter::from_query("q=ab+abc")
                .unwrap()
                .fts_query()
                .unwrap(),
            "(\"ab\" AND \"abc\"*)"
        );
    }
}
