//! "My time zone": every page that shows times can show them in the
//! visitor's IANA zone as well, beside the conference's own.
//!
//! The zone comes from `?tz=` (the form on each page sends it) or else from
//! the cookie that a `?tz=` sets, so it follows the visitor from page to
//! page without riding in every link. `?tz=` empty goes back to conference
//! time and clears the cookie; a zone equal to the conference's shows
//! nothing more there, but is remembered for other conferences (a visitor
//! from Los Angeles is still one at a Berlin conference). An unknown
//! zone in the URL is a 400 naming `tz` (a typo must not silently show the
//! wrong times); an unknown zone in the cookie (a zone that left the tz
//! database, a hand-edited cookie) is ignored, as if there were none.

use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use chrono_tz::Tz;
use url::form_urlencoded;

use super::security;
use super::PageError;
use crate::http::AppState;

/// A year: a visitor's zone changes rarely.
const MAX_AGE: u32 = 365 * 24 * 3600;

/// The visitor's choice of zone for this request.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    /// The zone asked for, `None` for conference time.
    pub zone: Option<Tz>,
    /// `Set-Cookie` to send when the URL changed the choice.
    pub cookie: Option<String>,
}

impl Choice {
    /// The zone to show besides `conf` (none when it is `conf` itself).
    pub fn beside(&self, conf: Tz) -> Option<Tz> {
        self.zone.filter(|z| *z != conf)
    }
}

/// Parses an IANA zone name as the pages take it.
pub fn parse_zone(raw: &str) -> Result<Option<Tz>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<Tz>().map(Some).map_err(|_| {
        format!(
            "“{}” is not a time zone of the IANA database; \
             give a name such as Europe/Berlin or America/New_York",
            raw.chars().take(60).collect::<String>()
        )
    })
}

/// The `tz` value of a query string, if it has one (the last one wins).
pub fn query_zone(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "tz")
        .map(|(_, v)| v.into_owned())
        .last()
}

/// The query without its `tz` (and `at`, for now-and-next) keys: what the
/// page's filters read.
pub fn without_keys(query: &str, keys: &[&str]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if keys.contains(&k.as_ref()) {
            any = true;
        } else {
            out.append_pair(&k, &v);
        }
    }
    if any {
        out.finish()
    } else {
        query.to_owned()
    }
}

/// The visitor's zone: `?tz=` (setting or clearing the cookie), else the
/// cookie's.
pub fn choice(req: &HttpRequest, state: &AppState) -> Result<Choice, PageError> {
    if let Some(raw) = query_zone(req.query_string()) {
        let zone = parse_zone(&raw).map_err(|m| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                format!("The time zone “tz” cannot be used: {m}."),
            )
        })?;
        let cookie = match zone {
            Some(z) => security::set_cookie(state, "tz", z.name(), MAX_AGE),
            None => security::set_cookie(state, "tz", "", 0),
        };
        return Ok(Choice {
            zone,
            cookie: Some(cookie),
        });
    }
    let zone = security::read_cookie(req, &security::cookie_name(state, "tz"))
        .and_then(|v| parse_zone(&v).ok().flatten());
    Ok(Choice { zone, cookie: None })
}

/// The form on each page: pick a zone, or go back to conference time.
pub struct ZoneForm {
    /// This page (the form is a GET to it).
    pub action: String,
    /// The page's own query, kept as hidden fields.
    pub keep: Vec<(String, String)>,
    /// The conference's zone (of the first conference, on an agenda).
    pub conf: &'static str,
    /// The zone shown beside it, if any.
    pub mine: Option<&'static str>,
    /// This page in conference time.
    pub reset: String,
}

impl ZoneForm {
    /// `query`: the page's query without `tz`.
    pub fn new(action: &str, query: &str, conf: Tz, mine: Option<Tz>) -> Self {
        let keep: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut reset = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &keep {
            reset.append_pair(k, v);
        }
        reset.append_pair("tz", "");
        ZoneForm {
            action: action.to_owned(),
            keep,
            conf: conf.name(),
            mine: mine.map(|z| z.name()),
            reset: format!("{action}?{}", reset.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_parse_and_unknown_ones_say_so() {
        assert_eq!(
            parse_zone("Europe/Berlin").unwrap(),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(parse_zone("  ").unwrap(), None);
        let e = parse_zone("Mars/Olympus").unwrap_err();
        assert!(e.contains("Mars/Olympus") && e.contains("IANA"), "{e}");
        assert!(parse_zone("PST").is_err());
    }

    #[test]
    fn tz_is_taken_out_of_the_query() {
        assert_eq!(
            query_zone("day=2012-03-09&tz=Asia%2FTokyo"),
            Some("Asia/Tokyo".into())
        );
        assert_eq!(query_zone("day=2012-03-09"), None);
        assert_eq!(
            without_keys("day=2012-03-09&tz=Asia%2FTokyo&room=E1", &["tz"]),
            "day=2012-03-09&room=E1"
        );
        // Untouched when there is nothing to take out (its encoding kept).
        assert_eq!(without_keys("q=a+b", &["tz"]), "q=a+b");
        let f = ZoneForm::new("/c/x", "day=2012-03-09", chrono_tz::UTC, None);
        assert_eq!(f.reset, "/c/x?day=2012-03-09&tz=");
        assert_eq!(f.keep, [("day".to_owned(), "2012-03-09".to_owned())]);
    }
}
