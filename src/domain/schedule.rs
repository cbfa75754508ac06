//! The schedule document: the JSON format that `confcal import`, the admin
//! API and `data/*.json` share, and its validation into domain types.
//!
//! Parsing is two steps. `serde` reads the raw [`ScheduleDocument`] (so type
//! errors name their JSON path), then [`ScheduleDocument::validate`] checks
//! every rule and turns local times into UTC instants. Only a fully valid
//! [`Schedule`] ever reaches the store, which is what makes a bad import
//! change nothing.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::ids::{ConferenceSlug, SessionId};
use super::localtime::{format_local, parse_local};
use super::ValidationError;

/// Caps that keep one document from filling the disk or a feed line with
/// megabytes; generous for any real talk.
pub mod limits {
    pub const NAME: usize = 200;
    pub const TITLE: usize = 300;
    pub const SPEAKERS: usize = 20;
    pub const ROOM: usize = 100;
    pub const TRACKS: usize = 20;
    pub const ABSTRACT: usize = 20_000;
    pub const NOTES: usize = 5_000;
    pub const URL: usize = 2_000;
    pub const SESSIONS: usize = 200_000;
    /// A kind is a word (`talk`, `lightning-talk`), not a description.
    pub const KIND: usize = 40;
    /// Slides, video, code, a pad: twenty is far beyond any real talk, and
    /// every link is a line of every event's DESCRIPTION.
    pub const LINKS: usize = 20;
    pub const LINK_TITLE: usize = 100;
    /// One postal address line; it is repeated in every event's LOCATION.
    pub const ADDRESS: usize = 300;
    /// Languages of one session: `de, en` is two; ten is generous.
    pub const LANGUAGES: usize = 10;
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDocument {
    pub conference: ConferenceDoc,
    pub sessions: Vec<SessionDoc>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConferenceDoc {
    pub slug: String,
    pub name: String,
    pub timezone: String,
    #[serde(default)]
    pub venue: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// The newer optional fields are left out of an export when absent, so
    /// documents of data that never used them export as they always did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<GeoDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// `{"lat": 37.4039, "lon": -121.974}`: WGS 84 degrees.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeoDoc {
    pub lat: f64,
    pub lon: f64,
}

/// `{"title": "Slides", "url": "https://…"}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkDoc {
    pub title: String,
    pub url: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionDoc {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub speakers: Vec<String>,
    pub start: String,
    pub end: String,
    #[serde(default)]
    pub room: Option<String>,
    #[serde(default)]
    pub tracks: Vec<String>,
    #[serde(default, rename = "abstract")]
    pub abstract_: String,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkDoc>,
    /// The language(s) it is held in: `de`, or `de, en` (see
    /// [`parse_language`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// A conference's own data (what the `conferences` table holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conference {
    pub slug: ConferenceSlug,
    pub name: String,
    pub tz: Tz,
    pub venue: Option<String>,
    pub url: Option<String>,
    /// The venue's postal address, the last part of every LOCATION.
    pub address: Option<String>,
    pub geo: Option<Geo>,
    /// `#rrggbb`, lowercase.
    pub color: Option<String>,
}

/// A point on the map, validated: both coordinates finite and in range.
///
/// The fields are private so that no NaN can ever be in one, which is what
/// makes the `Eq` below (and so `Conference: Eq`) honest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geo {
    lat: f64,
    lon: f64,
}

impl Eq for Geo {}

impl Geo {
    pub fn new(lat: f64, lon: f64) -> Result<Geo, ValidationError> {
        for (field, v, max) in [("lat", lat, 90.0), ("lon", lon, 180.0)] {
            if !v.is_finite() || !(-max..=max).contains(&v) {
                return Err(ValidationError::new(
                    field,
                    format!("{v} is not a number from -{max} to {max}"),
                ));
            }
        }
        // -0.0 and 0.0 are the same place; keep one spelling of it.
        Ok(Geo {
            lat: lat + 0.0,
            lon: lon + 0.0,
        })
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }

    pub fn lon(&self) -> f64 {
        self.lon
    }
}

/// A link of a session: slides, video, code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub title: String,
    pub url: String,
}

/// The content of a session: everything a change to which must reach
/// calendars (and so bumps its `SEQUENCE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionData {
    pub id: SessionId,
    pub title: String,
    pub speakers: Vec<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub room: Option<String>,
    pub tracks: Vec<String>,
    pub abstract_: String,
    pub notes: Option<String>,
    pub url: Option<String>,
    /// `talk`, `keynote`, `break`: see [`parse_kind`].
    pub kind: Option<String>,
    pub links: Vec<Link>,
    /// `de` or `de, en`: see [`parse_language`].
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub conference: Conference,
    pub sessions: Vec<SessionData>,
}

impl ScheduleDocument {
    /// Consumes the document: each session's text moves into the validated
    /// schedule as it is checked, so a 100,000-session import never holds
    /// two copies of the schedule in memory.
    pub fn validate(self) -> Result<Schedule, ValidationError> {
        let conference = self.conference.validate()?;
        if self.sessions.len() > limits::SESSIONS {
            return Err(ValidationError::new(
                "sessions",
                format!("at most {} sessions per document", limits::SESSIONS),
            ));
        }
        let mut seen = HashSet::with_capacity(self.sessions.len());
        let mut sessions = Vec::with_capacity(self.sessions.len());
        for (i, doc) in self.sessions.into_iter().enumerate() {
            let s = doc
                .validate(conference.tz)
                .map_err(|e| e.within(&format!("sessions[{i}]"), Some(&doc.id)))?;
            if !seen.insert(s.id.clone()) {
                return Err(ValidationError::new(
                    format!("sessions[{i}].id"),
                    format!("session id {:?} appears more than once", s.id.as_str()),
                ));
            }
            sessions.push(s);
        }
        Ok(Schedule {
            conference,
            sessions,
        })
    }

    /// The document for stored data; `validate` of the result gives back the
    /// same conference and sessions (used by `confcal export`).
    pub fn from_schedule(schedule: &Schedule) -> Self {
        let c = &schedule.conference;
        ScheduleDocument {
            conference: ConferenceDoc {
                slug: c.slug.to_string(),
                name: c.name.clone(),
                timezone: c.tz.name().to_owned(),
                venue: c.venue.clone(),
                url: c.url.clone(),
                address: c.address.clone(),
                geo: c.geo.map(|g| GeoDoc {
                    lat: g.lat(),
                    lon: g.lon(),
                }),
                color: c.color.clone(),
            },
            sessions: schedule
                .sessions
                .iter()
                .map(|s| SessionDoc::from_data(s, c.tz))
                .collect(),
        }
    }
}

impl ConferenceDoc {
    pub fn validate(&self) -> Result<Conference, ValidationError> {
        let slug = ConferenceSlug::parse(&self.slug)
            .map_err(|m| ValidationError::new("conference.slug", m))?;
        let tz: Tz = self.timezone.parse().map_err(|_| {
            ValidationError::new(
                "conference.timezone",
                format!(
                    "{:?} is not an IANA time zone name (such as America/Los_Angeles)",
                    self.timezone
                ),
            )
        })?;
        Ok(Conference {
            slug,
            name: line("conference.name", &self.name, limits::NAME)?,
            tz,
            venue: opt_line("conference.venue", &self.venue, limits::NAME)?,
            url: opt_url("conference.url", &self.url)?,
            address: opt_line("conference.address", &self.address, limits::ADDRESS)?,
            geo: self
                .geo
                .map(|g| Geo::new(g.lat, g.lon))
                .transpose()
                .map_err(|e| e.within("conference.geo", None))?,
            color: self
                .color
                .as_deref()
                .map(parse_color)
                .transpose()
                .map_err(|m| ValidationError::new("conference.color", m))?,
        })
    }
}

impl SessionDoc {
    /// Validates one session; field names in errors are relative
    /// (`start`, `speakers[1]`), the caller prefixes them.
    pub fn validate(&self, tz: Tz) -> Result<SessionData, ValidationError> {
        let id = SessionId::parse(&self.id).map_err(|m| ValidationError::new("id", m))?;
        let start = parse_local(&self.start, tz)
            .map_err(|e| ValidationError::new("start", e.to_string()))?;
        let end =
            parse_local(&self.end, tz).map_err(|e| ValidationError::new("end", e.to_string()))?;
        // An end equal to the start is an event of no length (a
        // published schedule's marker, such as 36C3's one zero-minute
        // event): kept as it is, neither padded nor refused.
        if end < start {
            return Err(ValidationError::new(
                "end",
                format!("end {} must not be before start {}", self.end, self.start),
            ));
        }
        if self.speakers.len() > limits::SPEAKERS {
            return Err(ValidationError::new(
                "speakers",
                format!("at most {} speakers", limits::SPEAKERS),
            ));
        }
        let speakers = self
            .speakers
            .iter()
            .enumerate()
            .map(|(i, s)| line(&format!("speakers[{i}]"), s, limits::NAME))
            .collect::<Result<Vec<_>, _>>()?;
        if self.tracks.len() > limits::TRACKS {
            return Err(ValidationError::new(
                "tracks",
                format!("at most {} tracks", limits::TRACKS),
            ));
        }
        let tracks = self
            .tracks
            .iter()
            .enumerate()
            .map(|(i, s)| line(&format!("tracks[{i}]"), s, limits::NAME))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SessionData {
            id,
            title: line("title", &self.title, limits::TITLE)?,
            speakers,
            start,
            end,
            room: opt_line("room", &self.room, limits::ROOM)?,
            tracks,
            abstract_: multiline("abstract", &self.abstract_, limits::ABSTRACT)?,
            notes: self
                .notes
                .as_deref()
                .map(|n| multiline("notes", n, limits::NOTES))
                .transpose()?
                .filter(|n| !n.is_empty()),
            url: opt_url("url", &self.url)?,
            kind: self
                .kind
                .as_deref()
                .map(parse_kind)
                .transpose()
                .map_err(|m| ValidationError::new("kind", m))?,
            links: self.validate_links()?,
            language: self
                .language
                .as_deref()
                .map(parse_language)
                .transpose()
                .map_err(|m| ValidationError::new("language", m))?
                .flatten(),
        })
    }

    fn validate_links(&self) -> Result<Vec<Link>, ValidationError> {
        if self.links.len() > limits::LINKS {
            return Err(ValidationError::new(
                "links",
                format!("at most {} links", limits::LINKS),
            ));
        }
        self.links
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let title = line(&format!("links[{i}].title"), &l.title, limits::LINK_TITLE)?;
                let field = format!("links[{i}].url");
                let url = opt_url(&field, &Some(l.url.clone()))?
                    .ok_or_else(|| ValidationError::new(field, "must not be empty"))?;
                Ok(Link { title, url })
            })
            .collect()
    }

    pub fn from_data(s: &SessionData, tz: Tz) -> Self {
        SessionDoc {
            id: s.id.to_string(),
            title: s.title.clone(),
            speakers: s.speakers.clone(),
            start: format_local(s.start, tz),
            end: format_local(s.end, tz),
            room: s.room.clone(),
            tracks: s.tracks.clone(),
            abstract_: s.abstract_.clone(),
            notes: s.notes.clone(),
            url: s.url.clone(),
            kind: s.kind.clone(),
            links: s
                .links
                .iter()
                .map(|l| LinkDoc {
                    title: l.title.clone(),
                    url: l.url.clone(),
                })
                .collect(),
            language: s.language.clone(),
        }
    }
}

/// A session's language(s): language tags (`de`, `pt-br`, `en`) joined
/// by commas (`de, en`, as frab and pretalx write several). Read
/// case-insensitively (a primary tag of 2 or 3 letters, ISO 639, and
/// optional subtags), kept lowercase and joined by ", ", each tag once;
/// an empty value is no language. A closed shape because a single tag
/// becomes the feed's LANGUAGE parameter (RFC 5545 §3.2.10, a BCP 47 tag).
pub fn parse_language(s: &str) -> Result<Option<String>, String> {
    let mut tags: Vec<String> = Vec::new();
    for raw in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let tag = raw.to_ascii_lowercase();
        let mut parts = tag.split('-');
        let primary = parts.next().unwrap_or("");
        let ok = (2..=3).contains(&primary.len())
            && primary.bytes().all(|b| b.is_ascii_lowercase())
            && parts.all(|p| {
                (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
            });
        if !ok {
            return Err(format!(
                "{:?} is not a language tag (such as de, en or pt-br; several joined by commas)",
                raw.chars().take(40).collect::<String>()
            ));
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > limits::LANGUAGES {
        return Err(format!("at most {} languages", limits::LANGUAGES));
    }
    Ok((!tags.is_empty()).then(|| tags.join(", ")))
}

/// A session kind: 1–40 characters of `a-z`, `0-9` and `-`. A closed
/// alphabet because kinds are filter values in feed URLs and parts of file
/// names, and lowercase only so that `kind=Talk` and `kind=talk` can never
/// name two different things.
pub fn parse_kind(s: &str) -> Result<String, String> {
    let ok = (1..=limits::KIND).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{:?} is not a kind: use 1 to {} characters of a-z, 0-9 and - (such as talk, keynote, break)",
            s.chars().take(60).collect::<String>(),
            limits::KIND
        ))
    }
}

/// A colour as `#rrggbb` (either case in, lowercase out).
pub fn parse_color(s: &str) -> Result<String, String> {
    match s.strip_prefix('#') {
        Some(hex) if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(s.to_ascii_lowercase())
        }
        _ => Err(format!(
            "{:?} is not a colour of the form #rrggbb (such as #1e90ff)",
            s.chars().take(60).collect::<String>()
        )),
    }
}

/// A required one-line text: trimmed, non-empty, no control characters.
fn line(field: &str, s: &str, max: usize) -> Result<String, ValidationError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("longer than {max} characters"),
        ));
    }
    if t.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must be one line without control characters",
        ));
    }
    Ok(t.to_owned())
}

/// An optional one-line text; `null` and blank both mean absent.
fn opt_line(
    field: &str,
    s: &Option<String>,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => line(field, t, max).map(Some),
    }
}

/// Free text that may span lines. CRLF and lone CR become LF, so stored text
/// has one line-end convention; other control characters except tab are
/// rejected rather than silently dropped.
fn multiline(field: &str, s: &str, max: usize) -> Result<String, ValidationError> {
    let normalised = s.replace("\r\n", "\n").replace('\r', "\n");
    let t = normalised.trim();
    if t.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("longer than {max} characters"),
        ));
    }
    if let Some(c) = t
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ValidationError::new(
            field,
            format!("contains the control character U+{:04X}", c as u32),
        ));
    }
    Ok(t.to_owned())
}

/// An optional absolute http(s) URL.
fn opt_url(field: &str, s: &Option<String>) -> Result<Option<String>, ValidationError> {
    let Some(raw) = s.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if raw.len() > limits::URL {
        return Err(ValidationError::new(
            field,
            format!("longer than {} characters", limits::URL),
        ));
    }
    match url::Url::parse(raw) {
        // Parsing percent-encodes (a space becomes three characters), so
        // the limit applies again to what is stored: else a stored URL
        // could fail this very check when its export is imported again.
        Ok(u) if u.as_str().len() > limits::URL => Err(ValidationError::new(
            field,
            format!("longer than {} characters once encoded", limits::URL),
        )),
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(Some(u.to_string()))
        }
        _ => Err(ValidationError::new(
            field,
            format!("{raw:?} is not an absolute http(s) URL"),
        )),
    }
}

/// Reads a schedule document from JSON bytes. Errors name the JSON path
/// that failed (`sessions[2].speakers`), not just a line and column.
pub fn parse_document(bytes: &[u8]) -> Result<ScheduleDocument, ValidationError> {
    parse_json(bytes)
}

/// [`parse_document`] from a reader (a file), without first reading the
/// whole file into memory.
pub fn read_document(reader: impl std::io::Read) -> Result<ScheduleDocument, ValidationError> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let doc: ScheduleDocument = serde_path_to_error::deserialize(&mut de).map_err(path_error)?;
    de.end()
        .map_err(|e| ValidationError::new("body", format!("invalid JSON: {e}")))?;
    Ok(doc)
}

/// Deserialises an already parsed JSON value, with the same field-naming
/// errors as [`parse_json`] (no second trip through text).
pub fn parse_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(value).map_err(path_error)
}

fn path_error(e: serde_path_to_error::Error<serde_json::Error>) -> ValidationError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    // serde_path_to_error writes "?" for a segment it cannot name (a syntax
    // error after a key, as in `{"a": 1,}`): name the enclosing field, and
    // when the failure is not inside any field ("." or "?"), the body.
    let mut known = path.as_str();
    while let Some(parent) = known.strip_suffix(".?") {
        known = parent;
    }
    let field = if known == "." || known == "?" {
        "body".to_owned()
    } else {
        known.to_owned()
    };
    ValidationError::new(field, format!("invalid JSON: {inner}"))
}

/// Deserialises any JSON body with errors that name the failing field.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ValidationError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(de).map_err(path_error)?;
    // Trailing garbage after the document is an error too.
    serde_json::Deserializer::from_slice(bytes)
        .into_iter::<serde::de::IgnoredAny>()
        .nth(1)
        .map_or(Ok(()), |_| {
            Err(ValidationError::new(
                "body",
                "invalid JSON: trailing data after the document",
            ))
        })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(sessions: serde_json::Value) -> ScheduleDocument {
        serde_json::from_value(serde_json::json!({
            "conference": {"slug": "pycon-us-2012", "name": "PyCon US 2012",
                           "timezone": "America/Los_Angeles", "venue": "Santa Clara Convention Center", "url": null},
            "sessions": sessions
        }))
        .unwrap()
    }

    fn session(id: &str, start: &str, end: &str) -> serde_json::Value {
        serde_json::json!({"id": id, "title": "T", "speakers": ["A"], "start": start, "end": end,
                           "room": "E2", "tracks": [], "abstract": "x", "notes": null, "url": null})
    }

    #[test]
    fn valid_document() {
        let s = doc(serde_json::json!([session(
            "a",
            "2012-03-09T14:00",
            "2012-03-09T14:40"
        )]))
        .validate()
        .unwrap();
        assert_eq!(s.conference.tz, chrono_tz::America::Los_Angeles);
        assert_eq!(
            s.sessions[0].start.to_rfc3339(),
            "2012-03-09T22:00:00+00:00"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                session("a", "2012-03-09T14:00", "2012-03-09T13:00"),
                "sessions[0].end",
                "before start",
            ),
            (
                session("a", "2012-03-11T02:30", "2012-03-11T04:00"),
                "sessions[0].start",
                "does not exist",
            ),
            (
                session("a", "2012-11-04T01:30", "2012-11-04T04:00"),
                "sessions[0].start",
                "offset",
            ),
            (
                session("a", "2012-03-09T14:00-07:00", "2012-03-09T15:00"),
                "sessions[0].start",
                "not the offset",
            ),
            (
                session("Bad_Id", "2012-03-09T14:00", "2012-03-09T15:00"),
                "sessions[0].id",
                "lowercase",
            ),
        ];
        for (s, field, msg) in cases {
            let e = doc(serde_json::json!([s])).validate().unwrap_err();
            assert_eq!(e.field, field, "{e:?}");
            assert!(e.message.contains(msg), "{e:?}");
        }
    }

    #[test]
    fn an_event_of_no_length_is_valid() {
        let s = doc(serde_json::json!([session(
            "a",
            "2019-12-28T20:00",
            "2019-12-28T20:00"
        )]))
        .validate()
        .unwrap();
        assert_eq!(s.sessions[0].start, s.sessions[0].end);
    }

    #[test]
    fn duplicate_ids_and_bad_zone() {
        let e = doc(serde_json::json!([
            session("a", "2012-03-09T14:00", "2012-03-09T15:00"),
            session("a", "2012-03-09T16:00", "2012-03-09T17:00")
        ]))
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "sessions[1].id");
        let mut d = doc(serde_json::json!([]));
        d.conference.timezone = "PST".into();
        assert_eq!(d.validate().unwrap_err().field, "conference.timezone");
    }

    #[test]
    fn text_rules() {
        let mut s = session("a", "2012-03-09T14:00", "2012-03-09T15:00");
        s["abstract"] = "one\r\ntwo\rthree\n".into();
        s["title"] = "  Title  ".into();
        let v = doc(serde_json::json!([s.clone()])).validate().unwrap();
        assert_eq!(v.sessions[0].abstract_, "one\ntwo\nthree");
        assert_eq!(v.sessions[0].title, "Title");
        for (field, value) in [
            ("title", serde_json::json!("")),
            ("title", serde_json::json!("a\nb")),
            ("abstract", serde_json::json!("bell\u{7}")),
            ("url", serde_json::json!("javascript:alert(1)")),
            ("speakers", serde_json::json!([""])),
            ("title", serde_json::json!("x".repeat(limits::TITLE + 1))),
        ] {
            let mut bad = s.clone();
            bad[field] = value;
            let e = doc(serde_json::json!([bad])).validate().unwrap_err();
            assert!(
                e.field.starts_with(&format!("sessions[0].{field}")),
                "{e:?}"
            );
        }
    }

    #[test]
    fn languages() {
        assert_eq!(parse_language("de, EN,de"), Ok(Some("de, en".into())));
        assert_eq!(parse_language("pt-BR"), Ok(Some("pt-br".into())));
        assert_eq!(parse_language(" , "), Ok(None));
        for bad in ["English", "d", "de en", "de;en", "x-"] {
            assert!(parse_language(bad).is_err(), "{bad:?}");
        }
        let mut s = session("a", "2012-03-09T14:00", "2012-03-09T15:00");
        s["language"] = "en, de".into();
        let v = doc(serde_json::json!([s.clone()])).validate().unwrap();
        assert_eq!(v.sessions[0].language.as_deref(), Some("en, de"));
        s["language"] = "Deutsch".into();
        let e = doc(serde_json::json!([s])).validate().unwrap_err();
        assert_eq!(e.field, "sessions[0].language");
    }

    #[test]
    fn kinds_and_links() {
        let mut s = session("a", "2012-03-09T14:00", "2012-03-09T15:00");
        s["kind"] = "lightning-talk".into();
        s["links"] = serde_json::json!([
            {"title": " Slides ", "url": "https://example.com/slides.pdf"},
            {"title": "Video", "url": "http://example.com/v?id=1 2"}
        ]);
        let v = doc(serde_json::json!([s.clone()])).validate().unwrap();
        let d = &v.sessions[0];
        assert_eq!(d.kind.as_deref(), Some("lightning-talk"));
        assert_eq!(d.links[0].title, "Slides");
        assert_eq!(d.links[1].url, "http://example.com/v?id=1%202");
        for (field, value, path) in [
            ("kind", serde_json::json!("Talk"), "sessions[0].kind"),
            ("kind", serde_json::json!(""), "sessions[0].kind"),
            (
                "kind",
                serde_json::json!("coffee break"),
                "sessions[0].kind",
            ),
            (
                "kind",
                serde_json::json!("k".repeat(41)),
                "sessions[0].kind",
            ),
            ("kind", serde_json::json!("pause-café"), "sessions[0].kind"),
            (
                "links",
                serde_json::json!([{"title": "x", "url": "javascript:alert(1)"}]),
                "sessions[0].links[0].url",
            ),
            (
                "links",
                serde_json::json!([{"title": "x", "url": "ftp://example.com/a"}]),
                "sessions[0].links[0].url",
            ),
            (
                "links",
                serde_json::json!([{"title": "ok", "url": "https://a.example"}, {"title": "x", "url": ""}]),
                "sessions[0].links[1].url",
            ),
            (
                "links",
                serde_json::json!([{"title": "", "url": "https://a.example"}]),
                "sessions[0].links[0].title",
            ),
            (
                "links",
                serde_json::json!([{"title": "a\nb", "url": "https://a.example"}]),
                "sessions[0].links[0].title",
            ),
            (
                "links",
                serde_json::json!([{"title": "t".repeat(limits::LINK_TITLE + 1), "url": "https://a.example"}]),
                "sessions[0].links[0].title",
            ),
            (
                "links",
                serde_json::json!(vec![
                    serde_json::json!({"title": "t", "url": "https://a.example"});
                    limits::LINKS + 1
                ]),
                "sessions[0].links",
            ),
        ] {
            let mut bad = s.clone();
            bad[field] = value;
            let e = doc(serde_json::json!([bad])).validate().unwrap_err();
            assert_eq!(e.field, path, "{e:?}");
        }
        let v = doc(serde_json::json!([session(
            "a",
            "2012-03-09T14:00",
            "2012-03-09T15:00"
        )]))
        .validate()
        .unwrap();
        assert_eq!(
            (v.sessions[0].kind.as_ref(), v.sessions[0].links.len()),
            (None, 0)
        );
    }

    #[test]
    fn venue_address_geo_and_color() {
        let mut d = doc(serde_json::json!([]));
        d.conference.address = Some(" 5001 Great America Pkwy, Santa Clara, CA 95054 ".into());
        d.conference.geo = Some(GeoDoc {
            lat: 37.4039,
            lon: -121.974,
        });
        d.conference.color = Some("#1E90FF".into());
        let c = d.clone().validate().unwrap().conference;
        assert_eq!(
            c.address.as_deref(),
            Some("5001 Great America Pkwy, Santa Clara, CA 95054")
        );
        assert_eq!(
            (c.geo.unwrap().lat(), c.geo.unwrap().lon()),
            (37.4039, -121.974)
        );
        assert_eq!(c.color.as_deref(), Some("#1e90ff"), "stored lowercase");
        // The edges are places too; -0 is written as 0.
        assert!(Geo::new(90.0, 180.0).is_ok() && Geo::new(-90.0, -180.0).is_ok());
        assert!(Geo::new(-0.0, -0.0).unwrap().lat().is_sign_positive());
        for (lat, lon, field) in [
            (90.5, 0.0, "conference.geo.lat"),
            (-91.0, 0.0, "conference.geo.lat"),
            (0.0, 180.01, "conference.geo.lon"),
            (f64::NAN, 0.0, "conference.geo.lat"),
            (0.0, f64::INFINITY, "conference.geo.lon"),
        ] {
            let mut bad = d.clone();
            bad.conference.geo = Some(GeoDoc { lat, lon });
            assert_eq!(bad.validate().unwrap_err().field, field, "{lat} {lon}");
        }
        for color in [
            "1e90ff",
            "#1e90f",
            "#1e90ffaa",
            "#ggg000",
            "blue",
            "",
            "#1e90f\u{e9}",
        ] {
            let mut bad = d.clone();
            bad.conference.color = Some(color.into());
            assert_eq!(
                bad.validate().unwrap_err().field,
                "conference.color",
                "{color:?}"
            );
        }
        let mut bad = d.clone();
        bad.conference.address = Some("line one\nline two".into());
        assert_eq!(bad.validate().unwrap_err().field, "conference.address");
        let mut bad = d;
        bad.conference.address = Some("a".repeat(limits::ADDRESS + 1));
        assert_eq!(bad.validate().unwrap_err().field, "conference.address");
        // Unknown keys inside geo are an error like everywhere else.
        let e = serde_json::from_value::<GeoDoc>(serde_json::json!({"lat": 1, "lng": 2}));
        assert!(e.is_err());
    }

    #[test]
    fn export_round_trips() {
        let mut with_fields = session("c", "2012-03-09T16:00", "2012-03-09T17:00");
        with_fields["kind"] = "keynote".into();
        with_fields["links"] =
            serde_json::json!([{"title": "Slides", "url": "https://e.example/s"}]);
        let mut d = doc(serde_json::json!([
            session("a", "2012-11-04T01:30-07:00", "2012-11-04T01:30-08:00"),
            session("b", "2012-03-09T14:00:30", "2012-03-09T15:00"),
            with_fields
        ]));
        d.conference.address = Some("5001 Great America Pkwy".into());
        d.conference.geo = Some(GeoDoc {
            lat: 37.4039,
            lon: -121.974,
        });
        d.conference.color = Some("#AA0000".into());
        let v = d.validate().unwrap();
        let again = ScheduleDocument::from_schedule(&v);
        assert_eq!(again.clone().validate().unwrap(), v);
        // Through JSON text too, as `confcal export` writes it.
        let text = serde_json::to_string(&again).unwrap();
        assert_eq!(
            parse_document(text.as_bytes()).unwrap().validate().unwrap(),
            v
        );
        // Absent fields stay absent in an export (documents of data that
        // never used them export as before).
        let plain = doc(serde_json::json!([session(
            "a",
            "2012-03-09T14:00",
            "2012-03-09T15:00"
        )]))
        .validate()
        .unwrap();
        let text = serde_json::to_string(&ScheduleDocument::from_schedule(&plain)).unwrap();
        for key in [
            "\"kind\"",
            "\"links\"",
            "\"address\"",
            "\"geo\"",
            "\"color\"",
        ] {
            assert!(!text.contains(key), "{key} in {text}");
        }
    }
}
