//! Calendars of sessions: the conference feeds, a single talk's `.ics`, and
//! (later) agenda feeds all go through [`render`].
//!
//! The output depends only on stored data, never on the time of the request
//! (`DTSTAMP` is the session's last change), so the same data always gives
//! byte-identical feeds and a stable ETag.

use std::collections::BTreeMap;

use chrono::{DateTime, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;

use super::vtimezone::write_vtimezone;
use super::writer::{fmt_local, fmt_utc, IcalWriter};
use crate::domain::Conference;
use crate::store::{SessionRecord, Status};

pub const PRODID: &str = "-//confcal//confcal 0.1//EN";

/// How often calendar apps should poll (RFC 7986 REFRESH-INTERVAL, and the
/// X-PUBLISHED-TTL that Outlook reads).
pub const REFRESH: &str = "PT1H";

/// The calendar-level properties of one feed.
pub struct CalendarMeta {
    /// NAME / X-WR-CALNAME, e.g. "PyCon US 2012 · Friday 9 March · E2".
    pub name: String,
    pub description: String,
    /// SOURCE: the feed's own URL.
    pub source_url: String,
    /// URL: the web page showing the same sessions.
    pub page_url: String,
    /// X-WR-TIMEZONE, and the zone whose VTIMEZONE an empty feed carries.
    pub tz: Tz,
    /// The window that zone's VTIMEZONE covers when the feed has no events.
    pub empty_window: (DateTime<Utc>, DateTime<Utc>),
}

/// One VEVENT's worth of data.
pub struct Event<'a> {
    pub conference: &'a Conference,
    pub session: &'a SessionRecord,
}

/// Where links and UIDs point.
pub struct Site<'a> {
    /// Public base URL without trailing slash.
    pub base_url: &'a str,
    /// Host part of the base URL: the right-hand side of every UID.
    pub uid_host: &'a str,
}

/// The UID of a session: the same in every feed that contains it (so
/// clients that merge by UID show one event), stable for ever, and globally
/// unique through the host.
pub fn uid(conference: &str, session: &str, host: &str) -> String {
    format!("{session}.{conference}@{host}")
}

pub fn session_page_url(base: &str, conference: &str, session: &str) -> String {
    format!("{base}/conferences/{conference}/sessions/{session}")
}

/// Renders a whole VCALENDAR.
pub fn render(meta: &CalendarMeta, events: &[Event<'_>], site: &Site<'_>) -> String {
    // ~1.1 KB per event is typical of real abstracts; over-reserving a
    // little beats a dozen reallocations of a megabyte buffer.
    let mut w = IcalWriter::with_capacity(1024 + events.len() * 1400);
    w.begin("VCALENDAR");
    w.raw("VERSION", "2.0");
    w.raw("PRODID", PRODID);
    w.raw("CALSCALE", "GREGORIAN");
    w.text("NAME", &meta.name);
    w.text("X-WR-CALNAME", &meta.name);
    w.text("DESCRIPTION", &meta.description);
    w.text("X-WR-CALDESC", &meta.description);
    w.raw("X-WR-TIMEZONE", meta.tz.name());
    w.raw("REFRESH-INTERVAL;VALUE=DURATION", REFRESH);
    w.raw("X-PUBLISHED-TTL", REFRESH);
    w.raw("SOURCE;VALUE=URI", &meta.source_url);
    w.raw("URL;VALUE=URI", &meta.page_url);

    for (tz, (first, last)) in zone_windows(meta, events).into_values() {
        write_vtimezone(&mut w, tz, first, last);
    }
    for e in events {
        write_event(&mut w, e, site);
    }
    w.end("VCALENDAR");
    w.finish()
}

/// A span of instants, first to last.
type Window = (DateTime<Utc>, DateTime<Utc>);

/// For every zone used, the span of instants its VTIMEZONE must cover.
/// Zones are ordered by name so the output is deterministic.
fn zone_windows(meta: &CalendarMeta, events: &[Event<'_>]) -> BTreeMap<&'static str, (Tz, Window)> {
    let mut zones: BTreeMap<&'static str, (Tz, Window)> = BTreeMap::new();
    for e in events {
        let tz = e.conference.tz;
        let (s, end) = (e.session.data.start, e.session.data.end);
        zones
            .entry(tz.name())
            .and_modify(|(_, (a, b))| {
                *a = (*a).min(s);
                *b = (*b).max(end);
            })
            .or_insert((tz, (s, end)));
    }
    zones
        .entry(meta.tz.name())
        .or_insert((meta.tz, meta.empty_window));
    zones
}

/// True when the wall-clock time of `t` in `tz` names exactly one instant.
/// In the repeated hour of a fall-back it names two, and parsers disagree on
/// which one `DTSTART;TZID=…` means (RFC 5545 says the first; ical.js takes
/// the second), so such times are written in UTC instead.
fn unambiguous(tz: Tz, t: DateTime<Utc>) -> bool {
    matches!(
        tz.from_local_datetime(&t.with_timezone(&tz).naive_local()),
        LocalResult::Single(_)
    )
}

fn write_event(w: &mut IcalWriter, e: &Event<'_>, site: &Site<'_>) {
    let c = e.conference;
    let s = e.session;
    let d = &s.data;
    let page = session_page_url(site.base_url, c.slug.as_str(), d.id.as_str());
    w.begin("VEVENT");
    w.raw("UID", &uid(c.slug.as_str(), d.id.as_str(), site.uid_host));
    let modified = fmt_utc(&s.last_modified);
    w.raw("DTSTAMP", &modified);
    w.raw("LAST-MODIFIED", &modified);
    w.raw("CREATED", &fmt_utc(&s.created));
    w.raw("SEQUENCE", &s.sequence.to_string());
    if unambiguous(c.tz, d.start) && unambiguous(c.tz, d.end) {
        let name = format!("DTSTART;TZID={}", c.tz.name());
        w.raw(
            &name,
            &fmt_local(&d.start.with_timezone(&c.tz).naive_local()),
        );
        let name = format!("DTEND;TZID={}", c.tz.name());
        w.raw(&name, &fmt_local(&d.end.with_timezone(&c.tz).naive_local()));
    } else {
        w.raw("DTSTART", &fmt_utc(&d.start));
        w.raw("DTEND", &fmt_utc(&d.end));
    }
    w.text("SUMMARY", &d.title);
    w.text("DESCRIPTION", &description(e, &page));
    if let Some(location) = location(d.room.as_deref(), c.venue.as_deref()) {
        w.text("LOCATION", &location);
    }
    w.raw("URL;VALUE=URI", d.url.as_deref().unwrap_or(&page));
    if !d.tracks.is_empty() {
        w.text_list("CATEGORIES", &d.tracks);
    }
    w.raw(
        "STATUS",
        match s.status {
            Status::Confirmed => "CONFIRMED",
            Status::Cancelled => "CANCELLED",
        },
    );
    w.end("VEVENT");
}

/// "E2, Santa Clara Convention Center".
pub fn location(room: Option<&str>, venue: Option<&str>) -> Option<String> {
    match (room, venue) {
        (Some(r), Some(v)) => Some(format!("{r}, {v}")),
        (Some(x), None) | (None, Some(x)) => Some(x.to_owned()),
        (None, None) => None,
    }
}

fn description(e: &Event<'_>, page: &str) -> String {
    let d = &e.session.data;
    let mut parts: Vec<String> = Vec::with_capacity(5);
    if e.session.status == Status::Cancelled {
        parts.push("This session has been cancelled.".to_owned());
    }
    if !d.speakers.is_empty() {
        parts.push(format!("by {}", d.speakers.join(", ")));
    }
    if !d.abstract_.is_empty() {
        parts.push(d.abstract_.clone());
    }
    if let Some(n) = &d.notes {
        parts.push(format!("Note: {n}"));
    }
    if let Some(u) = &d.url {
        parts.push(u.clone());
    }
    parts.push(format!("{} — {page}", e.conference.name));
    parts.join("\n\n")
}
