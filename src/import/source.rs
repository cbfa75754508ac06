//! What every format's reader produces ([`Source`]), and the rules that
//! make it a schedule document: which instant an event starts and ends,
//! which zone the conference is in, which id each session gets, and what
//! of its text the document can hold.
//!
//! The readers only read: they keep times as the source wrote them
//! ([`Time`]). Here they become instants in one place, so the rules about
//! conference days, offsets that disagree with the zone and missing zones
//! hold for every format alike. The result is an ordinary
//! [`ScheduleDocument`]: its validation stays the one gate for the
//! daylight-saving rules, and the store is written by the same sync as
//! any other import.

use std::collections::HashMap;
use std::fmt;

use chrono::{
    DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::text::{cut, html_to_text, multi_line, one_line, slugify};
use crate::domain::ids::MAX_ID_LEN;
use crate::domain::localtime::{fmt_offset, format_local, parse_local};
use crate::domain::schedule::{
    limits, parse_kind, parse_language, ConferenceDoc, GeoDoc, LinkDoc, SessionDoc,
};
use crate::domain::{Conference, ConferenceSlug, ScheduleDocument, SessionId, ValidationError};

/// A time as a source wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum Time {
    /// With its offset (`2019-12-27T11:00:00+01:00`): an instant.
    Offset(DateTime<FixedOffset>),
    /// In UTC (`…Z`, iCalendar's `…T090000Z`): an instant.
    Utc(DateTime<Utc>),
    /// A wall-clock time in the conference's zone (Sessionize, floating
    /// iCalendar times).
    Local(NaiveDateTime),
    /// A wall-clock time in a named zone (an iCalendar `TZID`).
    Zoned(NaiveDateTime, Tz),
    /// A frab conference day and a clock time (`<day date=…>` and
    /// `<start>`): the calendar date is the day's, or the next one for a
    /// talk after midnight, as `rule` says.
    Day {
        day: NaiveDate,
        time: NaiveTime,
        rule: DayRule,
    },
}

/// How a frab conference day tells talks after midnight from the day's
/// own: the first rule that the source gives.
#[derive(Debug, Clone, PartialEq)]
pub enum DayRule {
    /// The day's first and last instants (`<day start=… end=…>`): the talk
    /// is on the calendar date, of the day's and the next, that falls
    /// between them.
    Bounds(DateTime<FixedOffset>, DateTime<FixedOffset>),
    /// Only the day's start: a talk that starts before it is the next
    /// calendar date's.
    Start(DateTime<FixedOffset>),
    /// The conference's `<day_change>` (FOSDEM's 09:00): a talk that
    /// starts before it is the next calendar date's.
    Change(NaiveTime),
    /// Nothing: the day's date.
    None,
}

/// How an event's end is given.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    At(Time),
    After(Duration),
}

/// One event of a source, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The source's identifier (frab's guid or id, Sessionize's id, an
    /// iCalendar UID): what the session's id is derived from.
    pub key: Option<String>,
    pub title: String,
    pub subtitle: Option<String>,
    pub speakers: Vec<String>,
    pub room: Option<String>,
    pub tracks: Vec<String>,
    pub abstract_: String,
    pub notes: Option<String>,
    pub url: Option<String>,
    /// (title, address); the address may be relative to the source's base.
    pub links: Vec<(String, String)>,
    /// The source's own word for it (`lecture`, `Workshop`, `break`).
    pub kind: Option<String>,
    /// As written: `de`, `de, en`.
    pub language: Option<String>,
    /// frab's `<slug>`: in confcal's own exports, the way back to the
    /// session id (see [`own_export_id`]).
    pub slug: Option<String>,
    pub start: Time,
    /// A second reading of the start that the source gives beside
    /// `start`, and how to name it (frab's conference day and `<start>`
    /// beside `<date>`): when it is another instant, the import warns.
    pub start_also: Option<(Time, String)>,
    pub end: End,
}

impl Event {
    pub fn new(start: Time, end: End) -> Event {
        Event {
            key: None,
            title: String::new(),
            subtitle: None,
            speakers: Vec::new(),
            room: None,
            tracks: Vec::new(),
            abstract_: String::new(),
            notes: None,
            url: None,
            links: Vec::new(),
            kind: None,
            language: None,
            slug: None,
            start,
            start_also: None,
            end,
        }
    }

    /// How warnings and errors name the event (see [`label_of`]).
    pub fn label(&self) -> String {
        label_of(self.key.as_deref(), &self.title)
    }
}

/// How warnings and errors name an event: its key and (the start of) its
/// title, `event 6561 "31C3 Opening Event"`.
pub fn label_of(key: Option<&str>, title: &str) -> String {
    let title: String = one_line(title).chars().take(60).collect();
    match key {
        Some(k) => format!("event {k} {title:?}"),
        None => format!("event {title:?}"),
    }
}

/// A whole source, as read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Source {
    /// frab's `<acronym>`: the conference's slug unless `--conference`.
    pub acronym: Option<String>,
    pub name: Option<String>,
    /// The zone the source names (frab's `time_zone_name`).
    pub timezone: Option<String>,
    pub url: Option<String>,
    pub venue: Option<String>,
    /// What relative link addresses are relative to.
    pub base_url: Option<url::Url>,
    pub events: Vec<Event>,
    /// Times the source gives beside its events' (frab's `<day start=…
    /// end=…>`), by what they belong to (`day 2024-12-27`) and what they
    /// are (`start`): checked against the zone like an event's.
    pub other_times: Vec<(String, &'static str, DateTime<FixedOffset>)>,
    /// What the reader already found odd.
    pub warnings: Vec<Warning>,
}

/// Something the import corrected, dropped or found contradictory, named
/// by the event (or day) it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub event: Option<String>,
    pub message: String,
}

impl Warning {
    pub fn new(event: Option<String>, message: impl Into<String>) -> Warning {
        Warning {
            event,
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.event {
            Some(e) => write!(f, "{e}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why a source cannot become a schedule document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The source names no zone, and none was given.
    #[error("the schedule names no time zone: give its IANA zone (such as Europe/Berlin)")]
    NeedsTimezone,
    /// Neither the source nor the operator names the conference.
    #[error("the schedule names no conference: give its slug")]
    NeedsConference,
    /// The input cannot be read as its format (not well-formed, not the
    /// format at all).
    #[error("{0}")]
    Unreadable(ValidationError),
    /// The input reads, but breaks a rule of the data.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
}

/// What the operator says about an import.
#[derive(Debug, Clone, Default)]
pub struct Given {
    pub slug: Option<ConferenceSlug>,
    pub timezone: Option<Tz>,
    /// A slug from the file's name, the last resort.
    pub file_slug: Option<String>,
}

/// The schedule document for `source`, and the warnings. `stored` is the
/// conference as stored, if it is: what the source does not say (its
/// address, map point, colour, and its zone and name where the source
/// has none) stays as it is, so that importing a schedule changes only
/// what the schedule says.
pub fn build(
    source: Source,
    given: &Given,
    stored: Option<&Conference>,
) -> Result<(ScheduleDocument, Vec<Warning>), BuildError> {
    let mut warnings = source.warnings;
    let slug = conference_slug(&source.acronym, given)?;
    let acronym = source.acronym.clone();
    let tz = zone(&source.timezone, given, stored, &mut warnings)?;
    let base = source.base_url.clone();
    let conference = ConferenceDoc {
        slug: slug.to_string(),
        name: source
            .name
            .as_deref()
            .map(one_line)
            .filter(|n| !n.is_empty())
            .map(|n| cut(n, limits::NAME).0)
            .or_else(|| stored.map(|c| c.name.clone()))
            .unwrap_or_else(|| slug.to_string()),
        timezone: tz.name().to_owned(),
        venue: source
            .venue
            .as_deref()
            .map(one_line)
            .filter(|v| !v.is_empty())
            .map(|v| cut(v, limits::NAME).0)
            .or_else(|| stored.and_then(|c| c.venue.clone())),
        url: match source.url.as_deref().and_then(|u| absolute_url(u, None)) {
            Some(u) => Some(u),
            None => stored.and_then(|c| c.url.clone()),
        },
        address: stored.and_then(|c| c.address.clone()),
        geo: stored.and_then(|c| c.geo).map(|g| GeoDoc {
            lat: g.lat(),
            lon: g.lon(),
        }),
        color: stored.and_then(|c| c.color.clone()),
    };

    let mut by_owner: Vec<(String, Vec<String>)> = Vec::new();
    for (owner, what, t) in &source.other_times {
        let actual = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
        if actual == *t.offset() {
            continue;
        }
        let note = format!(
            "its {what} {} is written with the offset {}, but {} is at {} then ({})",
            t.to_rfc3339(),
            fmt_offset(*t.offset()),
            tz.name(),
            fmt_offset(actual),
            local(t.with_timezone(&Utc), tz)
        );
        match by_owner.iter_mut().find(|(o, _)| o == owner) {
            Some((_, n)) => n.push(note),
            None => by_owner.push((owner.clone(), vec![note])),
        }
    }
    for (owner, notes) in by_owner {
        warnings.push(Warning::new(Some(owner), notes.join("; ")));
    }
    let mut timed = Vec::with_capacity(source.events.len());
    for ev in source.events {
        let label = ev.label();
        let (start, end, notes) = times(&ev, tz).map_err(|m| {
            BuildError::Invalid(ValidationError::new("sessions", format!("{label}: {m}")))
        })?;
        if !notes.is_empty() {
            warnings.push(Warning::new(Some(label.clone()), notes.join("; ")));
        }
        timed.push((ev, label, start, end));
    }
    let own: Vec<Option<String>> = timed
        .iter()
        .map(|(ev, ..)| own_export_id(acronym.as_deref(), ev))
        .collect();
    let mut derived = session_ids(
        &timed
            .iter()
            .zip(&own)
            .filter(|(_, own)| own.is_none())
            .map(|((ev, _, start, _), _)| {
                (
                    ev.key.as_deref(),
                    ev.title.as_str(),
                    *start,
                    ev.room.as_deref(),
                )
            })
            .collect::<Vec<_>>(),
    )
    .into_iter();
    let ours: Vec<bool> = own.iter().map(Option::is_some).collect();
    let ids: Vec<String> = own
        .into_iter()
        .map(|o| o.unwrap_or_else(|| derived.next().expect("one id per event")))
        .collect();
    let mut sessions = Vec::with_capacity(timed.len());
    for (((ev, label, start, end), id), ours) in timed.into_iter().zip(ids).zip(ours) {
        let mut w = |m: String| warnings.push(Warning::new(Some(label.clone()), m));
        let at = (start, end);
        sessions.push(session(ev, id, at, tz, base.as_ref(), ours, &mut w));
    }
    Ok((
        ScheduleDocument {
            conference,
            sessions,
        },
        warnings,
    ))
}

/// The operator's slug, else one from the source's acronym, else from
/// the file's name.
pub fn conference_slug(
    acronym: &Option<String>,
    given: &Given,
) -> Result<ConferenceSlug, BuildError> {
    if let Some(s) = &given.slug {
        return Ok(s.clone());
    }
    [acronym.as_deref(), given.file_slug.as_deref()]
        .into_iter()
        .flatten()
        .map(|s| slugify(s, MAX_ID_LEN))
        .find_map(|s| ConferenceSlug::parse(&s).ok())
        .ok_or(BuildError::NeedsConference)
}

/// The operator's zone, else the source's, else the stored conference's;
/// none of them is an error. A source's zone that is no IANA name is an
/// error too (naming the option that overrides it).
fn zone(
    named: &Option<String>,
    given: &Given,
    stored: Option<&Conference>,
    warnings: &mut Vec<Warning>,
) -> Result<Tz, BuildError> {
    let named = named.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if let Some(tz) = given.timezone {
        if let Some(n) = named.filter(|n| *n != tz.name()) {
            warnings.push(Warning::new(
                None,
                format!(
                    "the schedule says its zone is {n:?}; {} was taken as given",
                    tz.name()
                ),
            ));
        }
        return Ok(tz);
    }
    match named {
        Some(n) => n.parse::<Tz>().map_err(|_| {
            BuildError::Invalid(ValidationError::new(
                "timezone",
                format!(
                    "the schedule's zone {n:?} is not an IANA time zone name: give the zone (such as Europe/Berlin)"
                ),
            ))
        }),
        None => stored.map(|c| c.tz).ok_or(BuildError::NeedsTimezone),
    }
}

/// An event's start and end instants, and what was odd about them.
type Times = (DateTime<Utc>, DateTime<Utc>, Vec<String>);

/// See [`Times`]: the start as the source gives it, checked against its
/// second reading; the end from the start and the duration, or as given.
fn times(ev: &Event, tz: Tz) -> Result<Times, String> {
    let mut notes = Vec::new();
    let start = instant(&ev.start, tz, "start", &mut notes)?;
    if let Some((also, how)) = &ev.start_also {
        // Only a disagreement is reported; a second reading that cannot be
        // made (its local time is in a gap) is no evidence either way.
        let mut ignored = Vec::new();
        if let Ok(other) = instant(also, tz, "start", &mut ignored) {
            if other != start {
                notes.push(format!(
                    "{how} say {}, but its full date says {}: the full date was taken",
                    local(other, tz),
                    local(start, tz)
                ));
            }
        }
    }
    let end = match &ev.end {
        End::At(t) => instant(t, tz, "end", &mut notes)?,
        End::After(d) => start + *d,
    };
    if end < start {
        return Err(format!(
            "it ends ({}) before it starts ({})",
            local(end, tz),
            local(start, tz)
        ));
    }
    Ok((start, end, notes))
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M%:z").to_string()
}

/// One time as an instant. A local time goes through the schedule
/// document's own rule ([`parse_local`]): one in a daylight-saving gap is
/// an error, one in the repeated hour is an error without an offset.
fn instant(t: &Time, tz: Tz, what: &str, notes: &mut Vec<String>) -> Result<DateTime<Utc>, String> {
    let in_zone = |naive: NaiveDateTime, z: Tz| {
        parse_local(&naive.format("%Y-%m-%dT%H:%M:%S").to_string(), z)
            .map_err(|e| format!("its {what}: {e}"))
    };
    match t {
        Time::Offset(dt) => {
            let instant = dt.with_timezone(&Utc);
            let actual = tz.offset_from_utc_datetime(&instant.naive_utc()).fix();
            if actual != *dt.offset() {
                notes.push(format!(
                    "its {what} {} is written with the offset {}, but {} is at {} then: the instant was kept ({})",
                    dt.to_rfc3339(),
                    fmt_offset(*dt.offset()),
                    tz.name(),
                    fmt_offset(actual),
                    local(instant, tz)
                ));
            }
            Ok(instant)
        }
        Time::Utc(dt) => Ok(*dt),
        Time::Local(naive) => in_zone(*naive, tz),
        Time::Zoned(naive, z) => in_zone(*naive, *z),
        Time::Day { day, time, rule } => {
            let on = |d: NaiveDate| in_zone(d.and_time(*time), tz);
            let next = day.succ_opt().unwrap_or(*day);
            match rule {
                DayRule::None => on(*day),
                DayRule::Change(change) => on(if time < change { next } else { *day }),
                DayRule::Start(s) => {
                    let first = s.with_timezone(&tz).naive_local();
                    on(if day.and_time(*time) < first {
                        next
                    } else {
                        *day
                    })
                }
                DayRule::Bounds(s, e) => {
                    let (s, e) = (s.with_timezone(&Utc), e.with_timezone(&Utc));
                    let within = |t: &DateTime<Utc>| s <= *t && *t <= e;
                    match on(*day) {
                        Ok(t) if within(&t) => Ok(t),
                        first => match on(next) {
                            Ok(t) if within(&t) => Ok(t),
                            _ => first,
                        },
                    }
                }
            }
        }
    }
}

/// The session id of an event of confcal's own frab export: its slug is
/// `{acronym}-{id}` (the id padded in front with `_`) and its guid the one
/// confcal derives from the conference's slug and that id. Both must
/// agree, so no other schedule's event is taken for one of ours; then
/// importing an export gives back the very sessions that were exported,
/// under their own ids.
fn own_export_id(acronym: Option<&str>, ev: &Event) -> Option<String> {
    let acronym = acronym?;
    let id = ev
        .slug
        .as_deref()?
        .strip_prefix(acronym)?
        .strip_prefix('-')?
        .trim_start_matches('_');
    SessionId::parse(id).ok()?;
    // The acronym is the slug with `-` written `_` and padded with `_`.
    let conference = acronym.replace('_', "-");
    let conference = conference.trim_end_matches('-');
    (ev.key.as_deref()? == crate::export::guid::session_guid(conference, id)).then(|| id.to_owned())
}

/// What an event's id is made of: its key, title, start and room.
pub type IdInput<'a> = (Option<&'a str>, &'a str, DateTime<Utc>, Option<&'a str>);

/// The sessions' ids, in the events' order: each derived from its
/// event's key alone (so it stays the same on every later import of the
/// same source, wherever the event moves), made unique within the
/// conference where keys repeat. Of events that share a key (a workshop
/// held twice under one guid, ids reused by merged sources), the first
/// by start keeps the plain id and each other one gets a suffix digested
/// from its start, room and title: a repeat added later does not change
/// the ids the earlier ones had. Position decides only between events
/// that agree in all of these.
pub fn session_ids(events: &[IdInput<'_>]) -> Vec<String> {
    // Room for a suffix ("-" and 8 hex digits, and "-" and a count).
    const BASE: usize = MAX_ID_LEN - 16;
    let bases: Vec<String> = events
        .iter()
        .map(|(key, title, start, room)| {
            let raw = key.map(str::trim).filter(|k| !k.is_empty());
            let (text, digest_of) = match raw {
                Some(k) => (k.to_owned(), k.to_owned()),
                // No identifier at all: the title, made unique by the time
                // and room (it changes if they change; nothing else is
                // stable in such a source).
                None => (
                    title.to_string(),
                    format!("{title}|{}|{}", start.timestamp(), room.unwrap_or("")),
                ),
            };
            let slug = slugify(&text, MAX_ID_LEN);
            if slug.is_empty() || slug.len() > BASE || raw.is_none() {
                let head = slugify(&text, BASE - 9);
                let head = if head.is_empty() {
                    "event".to_owned()
                } else {
                    head
                };
                format!("{head}-{}", digest8(&digest_of))
            } else {
                slug
            }
        })
        .collect();
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, b) in bases.iter().enumerate() {
        groups.entry(b.as_str()).or_default().push(i);
    }
    let mut ids = bases.clone();
    for members in groups.values().filter(|m| m.len() > 1) {
        let mut order = members.clone();
        order.sort_by_key(|&i| {
            let (_, title, start, room) = events[i];
            (start, room.unwrap_or(""), title, i)
        });
        let mut seen: HashMap<String, usize> = HashMap::new();
        for &i in &order[1..] {
            let (_, title, start, room) = events[i];
            let mut id = format!(
                "{}-{}",
                bases[i],
                digest8(&format!(
                    "{}|{}|{title}",
                    start.timestamp(),
                    room.unwrap_or("")
                ))
            );
            let n = seen.entry(id.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                id = format!("{id}-{n}");
            }
            ids[i] = id;
        }
    }
    ids
}

fn digest8(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// An absolute http(s) address: `s` itself, or `s` resolved against
/// `base`. Anything else (`mailto:`, a relative address with no base) is
/// `None`.
fn absolute_url(s: &str, base: Option<&url::Url>) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let u = match url::Url::parse(s) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(s).ok()?,
        Err(_) => return None,
    };
    (matches!(u.scheme(), "http" | "https")
        && u.host().is_some()
        && u.as_str().len() <= limits::URL)
        .then(|| u.to_string())
}

/// The session document for one event: its text as the document can hold
/// it, every cut or drop reported through `warn`.
///
/// `ours`: the event is one of confcal's own export (see
/// [`own_export_id`]), whose text is ours already: kept as it is, no HTML
/// read into it. (Its one frab track stays one: the export joins several
/// with ", ", and a track's own name may have a comma.)
fn session(
    ev: Event,
    id: String,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    tz: Tz,
    base: Option<&url::Url>,
    ours: bool,
    warn: &mut dyn FnMut(String),
) -> SessionDoc {
    let mut notes: Vec<String> = Vec::new();
    let line = |what: &str, s: &str, max: usize, notes: &mut Vec<String>| -> String {
        let (t, was_cut) = cut(one_line(s), max);
        if was_cut {
            notes.push(format!("its {what} was cut to {max} characters"));
        }
        t
    };
    let mut title = line("title", &ev.title, limits::TITLE, &mut notes);
    if title.is_empty() {
        title = "(untitled)".to_owned();
        notes.push("it has no title: shown as \"(untitled)\"".into());
    }
    let mut speakers: Vec<String> = Vec::new();
    for s in &ev.speakers {
        let s = line("speaker's name", s, limits::NAME, &mut notes);
        if !s.is_empty() && !speakers.contains(&s) {
            speakers.push(s);
        }
    }
    if speakers.len() > limits::SPEAKERS {
        notes.push(format!(
            "it has {} speakers: the first {} were kept",
            speakers.len(),
            limits::SPEAKERS
        ));
        speakers.truncate(limits::SPEAKERS);
    }
    let mut tracks: Vec<String> = Vec::new();
    for t in &ev.tracks {
        let t = line("track", t, limits::NAME, &mut notes);
        if !t.is_empty() && !tracks.contains(&t) {
            tracks.push(t);
        }
    }
    tracks.truncate(limits::TRACKS);
    let room = ev
        .room
        .as_deref()
        .map(|r| line("room", r, limits::ROOM, &mut notes))
        .filter(|r| !r.is_empty());

    let text = |what: &str, s: &str, max: usize, notes: &mut Vec<String>| -> String {
        let text = if ours {
            std::borrow::Cow::Borrowed(s)
        } else {
            html_to_text(s)
        };
        let (t, was_cut) = cut(multi_line(&text), max);
        if was_cut {
            notes.push(format!("its {what} was cut to {max} characters"));
        }
        t
    };
    let mut abstract_ = text("abstract", &ev.abstract_, limits::ABSTRACT, &mut notes);
    if let Some(sub) = ev
        .subtitle
        .as_deref()
        .map(one_line)
        .filter(|s| !s.is_empty())
    {
        // The subtitle is the first paragraph of the text, unless the text
        // already says it.
        if !abstract_.contains(&sub) {
            abstract_ = if abstract_.is_empty() {
                sub
            } else {
                cut(format!("{sub}\n\n{abstract_}"), limits::ABSTRACT).0
            };
        }
    }
    let description = ev
        .notes
        .as_deref()
        .map(|n| text("description", n, limits::NOTES, &mut notes))
        .filter(|n| !n.is_empty() && *n != abstract_);

    let url = match ev.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => {
            let abs = absolute_url(u, base);
            if abs.is_none() {
                notes.push(format!("its address {u:?} is not an http(s) URL: left out"));
            }
            abs
        }
        None => None,
    };
    let mut links: Vec<LinkDoc> = Vec::new();
    for (title, href) in &ev.links {
        let Some(href_abs) = absolute_url(href, base) else {
            notes.push(format!("its link {href:?} is not an http(s) URL: left out"));
            continue;
        };
        if links.iter().any(|l| l.url == href_abs) || url.as_deref() == Some(href_abs.as_str()) {
            continue;
        }
        let (mut t, _) = cut(one_line(title), limits::LINK_TITLE);
        if t.is_empty() {
            t = "Link".to_owned();
        }
        links.push(LinkDoc {
            title: t,
            url: href_abs,
        });
    }
    if links.len() > limits::LINKS {
        notes.push(format!(
            "it has {} links: the first {} were kept",
            links.len(),
            limits::LINKS
        ));
        links.truncate(limits::LINKS);
    }
    let kind = ev
        .kind
        .as_deref()
        .map(|k| slugify(k, limits::KIND))
        .filter(|k| parse_kind(k).is_ok());
    let language = match ev.language.as_deref().map(parse_language) {
        Some(Ok(l)) => l,
        Some(Err(m)) => {
            notes.push(format!("its language: {m}: left out"));
            None
        }
        None => None,
    };

    let doc = SessionDoc {
        id,
        title,
        speakers,
        start: format_local(start, tz),
        end: format_local(end, tz),
        room,
        tracks,
        abstract_,
        notes: description,
        url,
        kind,
        links,
        language,
    };
    for n in notes {
        warn(n);
    }
    doc
}

/// A duration as schedules write it: `HH:MM` and `H:MM` (hours may pass
/// 24), `HH:MM:SS` (a two-digit first part, as frab and FOSDEM write
/// `00:05:00`), and pretalx's `D:HH:MM` for events of a day or more
/// (`1:02:30` is 26 h 30 min: pretalx writes the days without a leading
/// zero, and only when there are some). `pretalx` reads every three-part
/// duration as pretalx's.
pub fn parse_duration(s: &str, pretalx: bool) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration of the form HH:MM");
    let parts: Vec<&str> = s.trim().split(':').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let n = |p: &str| p.parse::<i64>().map_err(|_| bad());
    let two = |p: &str| -> Result<i64, String> {
        let v = n(p)?;
        (p.len() == 2 && v < 60).then_some(v).ok_or_else(bad)
    };
    match parts.as_slice() {
        [h, m] => Ok(Duration::minutes(n(h)? * 60 + two(m)?)),
        [a, b, c] if pretalx || a.len() == 1 => {
            let hours = two(b)?;
            if hours >= 24 {
                return Err(bad());
            }
            Ok(Duration::minutes((n(a)? * 24 + hours) * 60 + two(c)?))
        }
        [h, m, sec] => Ok(Duration::seconds((n(h)? * 60 + two(m)?) * 60 + two(sec)?)),
        _ => Err(bad()),
    }
}

/// `2019-12-27T11:00:00+01:00`, `…Z`, or a time without an offset
/// (`2024-04-20T09:00:00`, read in the conference's zone).
pub fn parse_time(s: &str) -> Option<Time> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(
            if t.offset().local_minus_utc() == 0 && s.ends_with(['Z', 'z']) {
                Time::Utc(t.with_timezone(&Utc))
            } else {
                Time::Offset(t)
            },
        );
    }
    // Offsets without seconds in the time, or without the colon.
    for f in [
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(Time::Offset(t));
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(Time::Local(t));
        }
    }
    None
}

/// `HH:MM` or `HH:MM:SS` as a clock time.
pub fn parse_clock(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M:%S"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Kolkata;
    use chrono_tz::Europe::Berlin;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn offset(s: &str) -> Time {
        Time::Offset(DateTime::parse_from_rfc3339(s).unwrap())
    }

    fn day(d: &str, t: &str, rule: DayRule) -> Time {
        Time::Day {
            day: d.parse().unwrap(),
            time: parse_clock(t).unwrap(),
            rule,
        }
    }

    fn at(t: &Time, tz: Tz) -> Result<DateTime<Utc>, String> {
        instant(t, tz, "start", &mut Vec::new())
    }

    #[test]
    fn after_midnight_talks_are_on_the_next_calendar_date() {
        // 31C3: day 2014-12-27 runs 11:00 to 04:00 the next morning.
        let bounds = DayRule::Bounds(
            DateTime::parse_from_rfc3339("2014-12-27T11:00:00+01:00").unwrap(),
            DateTime::parse_from_rfc3339("2014-12-28T04:00:00+01:00").unwrap(),
        );
        assert_eq!(
            at(&day("2014-12-27", "01:30", bounds.clone()), Berlin).unwrap(),
            utc("2014-12-28T00:30:00Z")
        );
        assert_eq!(
            at(&day("2014-12-27", "23:30", bounds.clone()), Berlin).unwrap(),
            utc("2014-12-27T22:30:00Z")
        );
        // A talk before the day's start that is not after midnight either
        // stays on the day's date.
        assert_eq!(
            at(&day("2014-12-27", "10:00", bounds), Berlin).unwrap(),
            utc("2014-12-27T09:00:00Z")
        );
        // FOSDEM's day_change 09:00.
        let change = DayRule::Change(parse_clock("09:00:00").unwrap());
        assert_eq!(
            at(
                &day("2023-02-04", "08:59", change.clone()),
                chrono_tz::Europe::Brussels
            )
            .unwrap(),
            utc("2023-02-05T07:59:00Z")
        );
        assert_eq!(
            at(
                &day("2023-02-04", "09:00", change),
                chrono_tz::Europe::Brussels
            )
            .unwrap(),
            utc("2023-02-04T08:00:00Z")
        );
        // Only a start: DebConf23 writes its day's start in UTC on the UTC
        // date (03:00 IST on 2023-09-10 is 21:30 UTC on the 9th).
        let start =
            DayRule::Start(DateTime::parse_from_rfc3339("2023-09-09T21:30:00+00:00").unwrap());
        assert_eq!(
            at(&day("2023-09-09", "10:30", start), Kolkata).unwrap(),
            utc("2023-09-10T05:00:00Z")
        );
        assert_eq!(
            at(&day("2014-12-27", "01:30", DayRule::None), Berlin).unwrap(),
            utc("2014-12-27T00:30:00Z")
        );
    }

    #[test]
    fn an_offset_the_zone_does_not_have_is_reported_and_the_instant_kept() {
        // DebConf23: written in UTC, the zone is Asia/Kolkata.
        let mut ev = Event::new(
            offset("2023-09-10T05:00:00+00:00"),
            End::After(Duration::minutes(30)),
        );
        ev.key = Some("35".into());
        ev.start_also = Some((
            day(
                "2023-09-09",
                "10:30",
                DayRule::Start(DateTime::parse_from_rfc3339("2023-09-09T21:30:00+00:00").unwrap()),
            ),
            "its day 2023-09-09 and <start> 10:30".into(),
        ));
        let (start, end, notes) = times(&ev, Kolkata).unwrap();
        assert_eq!(start, utc("2023-09-10T05:00:00Z"));
        assert_eq!(end, utc("2023-09-10T05:30:00Z"));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("+00:00") && notes[0].contains("Asia/Kolkata is at +05:30"),
            "{notes:?}"
        );
        // DemoCon: "UTC" with +01:00, and <start> is the +01:00 wall time:
        // both disagreements are named.
        let mut ev = Event::new(
            offset("2020-12-14T09:00:00+01:00"),
            End::After(Duration::minutes(30)),
        );
        ev.start_also = Some((
            day("2020-12-14", "09:00", DayRule::None),
            "its day 2020-12-14 and <start> 09:00".into(),
        ));
        let (start, _, notes) = times(&ev, chrono_tz::UTC).unwrap();
        assert_eq!(start, utc("2020-12-14T08:00:00Z"));
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes[1].contains("2020-12-14 09:00+00:00") && notes[1].contains("full date was taken")
        );
        // The same written in the zone's own offset is not odd.
        let ev = Event::new(
            offset("2020-12-14T09:00:00+01:00"),
            End::After(Duration::zero()),
        );
        assert!(times(&ev, Berlin).unwrap().2.is_empty());
    }

    #[test]
    fn a_days_bounds_in_another_offset_are_reported_once_per_day() {
        // 38C3: day 1 starts at 09:30 UTC in a Europe/Berlin schedule.
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
        let source = Source {
            acronym: Some("38c3".into()),
            timezone: Some("Europe/Berlin".into()),
            other_times: vec![
                (
                    "day 2024-12-27".into(),
                    "start",
                    t("2024-12-27T09:30:00+00:00"),
                ),
                (
                    "day 2024-12-27".into(),
                    "end",
                    t("2024-12-28T06:00:00+01:00"),
                ),
                (
                    "day 2024-12-28".into(),
                    "start",
                    t("2024-12-28T06:00:00+01:00"),
                ),
            ],
            ..Source::default()
        };
        let (_, w) = build(source, &Given::default(), None).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].event.as_deref(), Some("day 2024-12-27"));
        assert!(
            w[0].message.contains("its start 2024-12-27T09:30:00+00:00"),
            "{w:?}"
        );
        assert!(w[0].message.contains("Europe/Berlin is at +01:00"), "{w:?}");
    }

    #[test]
    fn local_times_follow_the_document_dst_rules() {
        let la = chrono_tz::America::Los_Angeles;
        let t = |s: &str| Time::Local(NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap());
        let gap = at(&t("2012-03-11T02:30"), la).unwrap_err();
        assert!(gap.contains("does not exist"), "{gap}");
        let twice = at(&t("2012-11-04T01:30"), la).unwrap_err();
        assert!(twice.contains("happens twice"), "{twice}");
        // With its offset, the repeated hour keeps it.
        assert_eq!(
            at(&offset("2012-11-04T01:30:00-08:00"), la).unwrap(),
            utc("2012-11-04T09:30:00Z")
        );
        // A TZID other than the conference's zone is read in its own zone.
        let zoned = Time::Zoned(
            NaiveDateTime::parse_from_str("2020-01-14T07:00", "%Y-%m-%dT%H:%M").unwrap(),
            chrono_tz::Australia::Brisbane,
        );
        assert_eq!(at(&zoned, Berlin).unwrap(), utc("2020-01-13T21:00:00Z"));
    }

    #[test]
    fn durations() {
        let m = |s: &str| parse_duration(s, false).map(|d| d.num_seconds());
        assert_eq!(m("00:30"), Ok(1800));
        assert_eq!(m("4:30"), Ok(16200));
        assert_eq!(m("26:30"), Ok(95400));
        assert_eq!(m("00:05:00"), Ok(300));
        assert_eq!(m("01:02:30"), Ok(3750));
        // pretalx: days, hours, minutes.
        assert_eq!(m("1:02:30"), Ok(95400));
        assert_eq!(
            parse_duration("01:02:30", true).unwrap().num_seconds(),
            95400
        );
        assert_eq!(m("00:00"), Ok(0));
        for bad in [
            "",
            "30",
            "1:5",
            "00:60",
            "a:30",
            "1:25:00",
            "-1:00",
            "1:00:00:00",
        ] {
            assert!(m(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn zero_length_stays_zero_length_and_end_before_start_is_an_error() {
        let ev = Event::new(
            offset("2019-12-28T20:00:00+01:00"),
            End::After(Duration::zero()),
        );
        let (s, e, _) = times(&ev, Berlin).unwrap();
        assert_eq!(s, e);
        let ev = Event::new(
            offset("2019-12-28T20:00:00+01:00"),
            End::At(offset("2019-12-28T19:00:00+01:00")),
        );
        assert!(times(&ev, Berlin).unwrap_err().contains("before it starts"));
    }

    #[test]
    fn ids_are_stable_unique_and_never_by_position_alone() {
        let t = utc("2019-12-27T10:00:00Z");
        let later = utc("2019-12-28T10:00:00Z");
        let ids = session_ids(&[
            (
                Some("29aecfd7-2e44-4f49-ab86-29b5e0877325"),
                "A",
                t,
                Some("Saal 1"),
            ),
            (Some("HOqeNIb6G7M4hYFKFRkCmQ"), "B", t, None),
            // The same guid twice (a workshop held twice), the later one
            // listed first.
            (Some("w"), "Workshop", later, Some("Room")),
            (Some("w"), "Workshop", t, Some("Room")),
            (Some("0"), "Zero", t, None),
            (None, "No id", t, Some("R")),
        ]);
        assert_eq!(ids[0], "29aecfd7-2e44-4f49-ab86-29b5e0877325");
        assert_eq!(ids[1], "hoqenib6g7m4hyfkfrkcmq");
        assert_eq!(ids[3], "w", "the earlier one keeps the plain id");
        assert!(ids[2].starts_with("w-") && ids[2].len() == 10, "{}", ids[2]);
        assert_eq!(ids[4], "0");
        assert!(ids[5].starts_with("no-id-"), "{}", ids[5]);
        // The same source read again gives the same ids, in any order.
        let again = session_ids(&[
            (Some("w"), "Workshop", t, Some("Room")),
            (Some("w"), "Workshop", later, Some("Room")),
        ]);
        assert_eq!(again, vec![ids[3].clone(), ids[2].clone()]);
        // Identical in everything: told apart by position, still unique.
        let same = session_ids(&[
            (Some("x"), "T", t, None),
            (Some("x"), "T", t, None),
            (Some("x"), "T", t, None),
        ]);
        assert_eq!(
            same.iter().collect::<std::collections::HashSet<_>>().len(),
            3,
            "{same:?}"
        );
        // Long keys are cut and digested, and stay valid ids.
        let long = "k".repeat(300);
        let ids = session_ids(&[(Some(long.as_str()), "T", t, None)]);
        assert!(ids[0].len() <= MAX_ID_LEN && crate::domain::SessionId::parse(&ids[0]).is_ok());
    }

    #[test]
    fn our_own_export_gives_its_session_ids_back() {
        let t = offset("2012-03-09T14:00:00-08:00");
        let mut ours = Event::new(t.clone(), End::After(Duration::minutes(40)));
        ours.key = Some(crate::export::guid::session_guid(
            "pycon-us-2012",
            "dismantling-jinja",
        ));
        ours.slug = Some(crate::export::event_slug(
            "pycon_us_2012",
            "dismantling-jinja",
        ));
        // Its text is ours: kept as it is, HTML-like or not.
        ours.notes = Some("notes <i>, and </p>".into());
        let mut short = Event::new(t.clone(), End::After(Duration::minutes(40)));
        short.key = Some(crate::export::guid::session_guid("pycon-us-2012", "a--b"));
        short.slug = Some(crate::export::event_slug("pycon_us_2012", "a--b"));
        // A slug of that shape with a guid confcal did not derive: a
        // foreign event, keyed by its guid as any other.
        let mut foreign = Event::new(t, End::After(Duration::minutes(40)));
        foreign.key = Some("29aecfd7-2e44-4f49-ab86-29b5e0877325".into());
        foreign.slug = Some("pycon_us_2012-keynote".into());
        let source = Source {
            acronym: Some("pycon_us_2012".into()),
            timezone: Some("America/Los_Angeles".into()),
            events: vec![ours, short, foreign],
            ..Source::default()
        };
        let given = Given {
            slug: Some(ConferenceSlug::parse("copy").unwrap()),
            ..Given::default()
        };
        let (doc, _) = build(source, &given, None).unwrap();
        let ids: Vec<&str> = doc.sessions.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "dismantling-jinja",
                "a--b",
                "29aecfd7-2e44-4f49-ab86-29b5e0877325"
            ]
        );
        assert_eq!(
            doc.sessions[0].notes.as_deref(),
            Some("notes <i>, and </p>")
        );
    }

    #[test]
    fn zone_comes_from_the_operator_the_source_or_the_store() {
        let mut w = Vec::new();
        let given = Given {
            timezone: Some(Berlin),
            ..Given::default()
        };
        assert_eq!(
            zone(&Some("Europe/Amsterdam".into()), &given, None, &mut w).unwrap(),
            Berlin
        );
        assert!(w[0].message.contains("Europe/Amsterdam"), "{w:?}");
        assert_eq!(
            zone(&None, &Given::default(), None, &mut w),
            Err(BuildError::NeedsTimezone)
        );
        let e = zone(
            &Some("Mars/Olympus".into()),
            &Given::default(),
            None,
            &mut w,
        )
        .unwrap_err();
        assert!(
            matches!(e, BuildError::Invalid(ref v) if v.field == "timezone"),
            "{e:?}"
        );
    }

    #[test]
    fn text_is_what_the_document_holds() {
        let mut ev = Event::new(
            offset("2019-12-28T20:00:00+01:00"),
            End::After(Duration::hours(1)),
        );
        ev.key = Some("1".into());
        ev.title = "A\n  wrapped title".into();
        ev.subtitle = Some("The sub".into());
        ev.abstract_ = "<p>One &amp; two</p>".into();
        ev.notes = Some("x".repeat(limits::NOTES + 10));
        ev.speakers = vec!["A".into(), "A".into(), " ".into(), "B".into()];
        ev.kind = Some("Talk 30 min + 10min Q&A".into());
        ev.language = Some("de, EN".into());
        // Relative to the schedule's base URL, as a browser reads it.
        ev.url = Some("/events/1.html".into());
        ev.links = vec![
            ("".into(), "https://e.example/slides".into()),
            ("Mail".into(), "mailto:a@e.example".into()),
        ];
        let base = url::Url::parse("https://fahrplan.example/2019/").unwrap();
        let mut warnings = Vec::new();
        let s = session(
            ev,
            "1".into(),
            (utc("2019-12-28T19:00:00Z"), utc("2019-12-28T20:00:00Z")),
            Berlin,
            Some(&base),
            false,
            &mut |m| warnings.push(m),
        );
        assert_eq!(s.title, "A wrapped title");
        assert_eq!(s.abstract_, "The sub\n\nOne & two");
        assert_eq!(s.notes.as_ref().unwrap().chars().count(), limits::NOTES);
        assert_eq!(s.speakers, ["A", "B"]);
        assert_eq!(s.kind.as_deref(), Some("talk-30-min-10min-q-a"));
        assert_eq!(s.language.as_deref(), Some("de, en"));
        assert_eq!(
            s.url.as_deref(),
            Some("https://fahrplan.example/events/1.html")
        );
        assert_eq!(s.links.len(), 1);
        assert_eq!(s.links[0].title, "Link");
        assert_eq!(s.start, "2019-12-28T20:00");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("description was cut")));
        assert!(warnings.iter().any(|w| w.contains("mailto:")));
    }

    #[test]
    fn times_as_written() {
        assert!(matches!(
            parse_time("2024-12-27T09:30:00+00:00"),
            Some(Time::Offset(_))
        ));
        assert!(matches!(
            parse_time("2024-12-27T09:30:00Z"),
            Some(Time::Utc(_))
        ));
        assert!(matches!(
            parse_time("2024-04-20T09:00:00"),
            Some(Time::Local(_))
        ));
        assert!(matches!(
            parse_time("2024-04-20T09:00+02:00"),
            Some(Time::Offset(_))
        ));
        assert_eq!(parse_time("friday"), None);
        assert_eq!(parse_clock("9:00"), NaiveTime::from_hms_opt(9, 0, 0));
    }
}
