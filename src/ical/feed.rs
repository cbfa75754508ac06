//! The writing of a calendar of sessions: one VEVENT per session, the
//! VTIMEZONEs they need, and the calendar's own properties. Which
//! calendars there are (a conference's, a talk's, an agenda's) and what
//! they are called is [`super::calendars`]'.
//!
//! The output depends only on stored data, never on the time of the request
//! (`DTSTAMP` is the session's last change), so the same data always gives
//! byte-identical feeds and a stable ETag.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::colors::nearest_css3_name;
use super::vtimezone::ZonePlan;
use super::writer::{fmt_local, fmt_utc, IcalWriter};
use crate::domain::{Conference, FeedOptions, SessionRecord, Site, Status};

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
    /// `#rrggbb`: COLOR (as the nearest CSS3 name) and X-APPLE-CALENDAR-COLOR.
    pub color: Option<String>,
}

/// One VEVENT's worth of data.
pub struct Event<'a> {
    pub conference: &'a Conference,
    pub session: &'a SessionRecord,
}

/// The UID of a session: the same in every feed that contains it (so
/// clients that merge by UID show one event), stable for ever, and globally
/// unique through the host.
pub fn uid(conference: &str, session: &str, host: &str) -> String {
    format!("{session}.{conference}@{host}")
}

/// Renders a whole VCALENDAR from events in memory.
pub fn render(meta: &CalendarMeta, events: &[Event<'_>], site: &Site) -> Bytes {
    render_with(meta, events, site, FeedOptions::default())
}

/// [`render`] with feed options (alarms, compact descriptions).
pub fn render_with(
    meta: &CalendarMeta,
    events: &[Event<'_>],
    site: &Site,
    options: FeedOptions,
) -> Bytes {
    let mut b = FeedBuilder::with_options(site, events.len(), options);
    // Every zone's rule is chosen from all its events, before any is written.
    let mut windows: BTreeMap<&'static str, (Tz, Window)> = BTreeMap::new();
    for e in events {
        let (s, end) = (e.session.data.start, e.session.data.end);
        windows
            .entry(e.conference.tz.name())
            .and_modify(|(_, (a, b))| {
                *a = (*a).min(s);
                *b = (*b).max(end);
            })
            .or_insert((e.conference.tz, (s, end)));
    }
    for (tz, window) in windows.into_values() {
        b.plan_zone(tz, window);
    }
    for e in events {
        b.push(e);
    }
    b.finish(meta)
}

/// Room kept for the calendar header in front of the events: the
/// properties plus a VTIMEZONE with a few dozen observances fit easily.
const HEADER_GAP: usize = 16 * 1024;

/// A span of instants, first to last.
type Window = (DateTime<Utc>, DateTime<Utc>);

/// Renders a feed one event at a time, so a caller can stream sessions
/// straight from the database without holding them all in memory.
///
/// The VTIMEZONEs come before the events in the output but depend on all of
/// them (their span), so events are written first, after a gap left at the
/// start of the buffer, and the header is put into the end of that gap at
/// the end: the body is then a slice of the one buffer, never copied (for a
/// 100,000-event feed that copy was a tenth of the render).
pub struct FeedBuilder<'a> {
    site: &'a Site,
    events: IcalWriter,
    /// How every zone used is written; ordered by name so the output is
    /// deterministic.
    zones: BTreeMap<&'static str, ZonePlan>,
    options: FeedOptions,
}

impl<'a> FeedBuilder<'a> {
    /// `expected` events size the buffer: ~1.5 KB is typical of an event
    /// with a real abstract, and over-reserving a little beats a dozen
    /// reallocations of a megabyte buffer.
    pub fn new(site: &'a Site, expected: usize) -> Self {
        Self::with_options(site, expected, FeedOptions::default())
    }

    /// A compact feed's events are about half the size: reserve for that.
    pub fn with_options(site: &'a Site, expected: usize, options: FeedOptions) -> Self {
        let per_event = if options.compact { 800 } else { 1600 };
        FeedBuilder {
            options,
            site,
            events: {
                let mut buf = String::with_capacity(HEADER_GAP + expected * per_event);
                buf.push_str(&" ".repeat(HEADER_GAP));
                IcalWriter::from_string(buf)
            },
            zones: BTreeMap::new(),
        }
    }

    /// Chooses how `tz` is written from the span of instants its events
    /// cover (see [`ZonePlan`]). A streaming caller plans each zone before
    /// its first event, from what it knows of them all (a conference's first
    /// start and last end); a zone never planned is planned from its first
    /// event.
    pub fn plan_zone(&mut self, tz: Tz, (first, last): Window) {
        self.zones
            .entry(tz.name())
            .or_insert_with(|| ZonePlan::new(tz, first, last));
    }

    pub fn push(&mut self, e: &Event<'_>) {
        let tz = e.conference.tz;
        let (s, end) = (e.session.data.start, e.session.data.end);
        let plan = self
            .zones
            .entry(tz.name())
            .or_insert_with(|| ZonePlan::new(tz, s, end));
        write_event(&mut self.events, e, self.site, self.options, plan);
    }

    /// The whole calendar. `meta` comes last because it may depend on
    /// what was read along with the events (the conference record).
    pub fn finish(mut self, meta: &CalendarMeta) -> Bytes {
        let (first, last) = meta.empty_window;
        self.zones
            .entry(meta.tz.name())
            .or_insert_with(|| ZonePlan::new(meta.tz, first, last));
        let mut events = self.events.finish().into_bytes();
        let mut w = IcalWriter::with_capacity(4096);
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
        if let Some(hex) = &meta.color {
            if let Some(name) = nearest_css3_name(hex) {
                w.raw("COLOR", name);
            }
            w.raw("X-APPLE-CALENDAR-COLOR", hex);
        }
        for plan in self.zones.values() {
            plan.write(&mut w);
        }
        let header = w.finish();
        events.extend_from_slice(b"END:VCALENDAR\r\n");
        if header.len() <= HEADER_GAP {
            let start = HEADER_GAP - header.len();
            events[start..HEADER_GAP].copy_from_slice(header.as_bytes());
            let len = events.len() - start;
            if events.capacity() - len > len / 8 {
                // The body is a slice of the buffer, and `Bytes` keeps the
                // whole allocation alive: the gap, and what was reserved
                // for events a filter left out (a 300-byte feed of a
                // 1,000-session conference held 1.6 MB). Copied out when
                // that waste passes an eighth of the body, so what the
                // cache counts is what it holds.
                Bytes::copy_from_slice(&events[start..])
            } else {
                Bytes::from(events).slice(start..)
            }
        } else {
            // Many zones with many transitions: rare, so copy.
            let mut out = Vec::with_capacity(header.len() + events.len() - HEADER_GAP);
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(&events[HEADER_GAP..]);
            Bytes::from(out)
        }
    }
}

/// Times go out as `DTSTART;TZID=…` local time where the zone's VTIMEZONE
/// carries them right in every reader ([`ZonePlan::represents`]), and in
/// UTC otherwise (the repeated hour of a fall-back, a year the zone's rule
/// pair does not fit), which every reader reads the same.
fn write_event(
    w: &mut IcalWriter,
    e: &Event<'_>,
    site: &Site,
    options: FeedOptions,
    plan: &mut ZonePlan,
) {
    let c = e.conference;
    let s = e.session;
    let d = &s.data;
    let page = site.links().session(&c.slug, &d.id);
    w.begin("VEVENT");
    w.raw("UID", &uid(c.slug.as_str(), d.id.as_str(), &site.uid_host));
    let modified = fmt_utc(&s.last_modified);
    w.raw("DTSTAMP", &modified);
    w.raw("LAST-MODIFIED", &modified);
    w.raw("CREATED", &fmt_utc(&s.created));
    w.raw("SEQUENCE", &s.sequence.to_string());
    // An event of no length has no DTEND: RFC 5545 wants a DTEND later
    // than DTSTART, and a DATE-TIME DTSTART alone is an event that ends
    // when it starts (§3.6.1).
    let has_end = d.end > d.start;
    if plan.represents(d.start) && (!has_end || plan.represents(d.end)) {
        let name = format!("DTSTART;TZID={}", c.tz.name());
        w.raw(
            &name,
            &fmt_local(&d.start.with_timezone(&c.tz).naive_local()),
        );
        if has_end {
            let name = format!("DTEND;TZID={}", c.tz.name());
            w.raw(&name, &fmt_local(&d.end.with_timezone(&c.tz).naive_local()));
        }
    } else {
        w.raw("DTSTART", &fmt_utc(&d.start));
        if has_end {
            w.raw("DTEND", &fmt_utc(&d.end));
        }
    }
    let cancelled = s.status == Status::Cancelled;
    // A talk in one language says so on its title (RFC 5545 §3.2.10: one
    // tag per property, so a talk in several says it nowhere here; the
    // page and the JSON API list them). Tags are [a-z0-9-]: no quoting.
    let summary = match d.language.as_deref() {
        Some(tag) if !tag.contains(',') => Cow::Owned(format!("SUMMARY;LANGUAGE={tag}")),
        _ => Cow::Borrowed("SUMMARY"),
    };
    if cancelled {
        // Outlook shows a cancelled event like any other: say it in words.
        w.text_parts(&summary, &[CANCELLED_PREFIX, &d.title]);
    } else {
        w.text(&summary, &d.title);
    }
    if options.compact {
        write_compact_description(w, e, &page);
    } else {
        write_description(w, e, &page);
    }
    let location = full_location(d.room.as_deref(), c.venue.as_deref(), c.address.as_deref());
    if let Some(location) = &location {
        w.text("LOCATION", location);
    }
    if let Some(geo) = c.geo {
        let (lat, lon) = (geo.lat(), geo.lon());
        w.raw("GEO", &format!("{lat};{lon}"));
        // Apple Calendar shows a map only for a structured location whose
        // title is the LOCATION text exactly.
        if let Some(location) = &location {
            let mut params = vec![("VALUE", "URI")];
            if let Some(a) = c.address.as_deref() {
                params.push(("X-ADDRESS", a));
            }
            params.push(("X-APPLE-RADIUS", APPLE_RADIUS_METRES));
            params.push(("X-TITLE", location));
            w.raw_with_params(
                "X-APPLE-STRUCTURED-LOCATION",
                &params,
                &format!("geo:{lat},{lon}"),
            );
        }
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
    if let (Some(minutes), false) = (options.alarm, cancelled) {
        // RFC 5545 §3.6.6: a DISPLAY alarm must carry a DESCRIPTION.
        w.begin("VALARM");
        w.raw("ACTION", "DISPLAY");
        w.text("DESCRIPTION", &d.title);
        w.raw("TRIGGER", &format!("-PT{minutes}M"));
        w.end("VALARM");
    }
    w.end("VEVENT");
}

/// What a cancelled session's SUMMARY starts with.
pub const CANCELLED_PREFIX: &str = "Cancelled: ";

/// How far around the point Apple Calendar draws the place: the size of a
/// conference centre, in metres.
const APPLE_RADIUS_METRES: &str = "100";

/// How long a compact feed's abstract may be, in characters.
pub const COMPACT_ABSTRACT: usize = 200;

/// "E2, Santa Clara Convention Center".
pub fn location(room: Option<&str>, venue: Option<&str>) -> Option<String> {
    full_location(room, venue, None)
}

/// "E2, Santa Clara Convention Center, 5001 Great America Pkwy, Santa
/// Clara, CA 95054": room, venue and address, each where known.
pub fn full_location(
    room: Option<&str>,
    venue: Option<&str>,
    address: Option<&str>,
) -> Option<String> {
    let parts: Vec<&str> = [room, venue, address].into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The DESCRIPTION of an event, as parts of one text (see
/// [`IcalWriter::text_parts`]): cancellation, speakers, abstract, notes,
/// links.
fn write_description(w: &mut IcalWriter, e: &Event<'_>, page: &str) {
    const GAP: &str = "\n\n";
    let d = &e.session.data;
    let speakers = (!d.speakers.is_empty()).then(|| format!("by {}", d.speakers.join(", ")));
    fn add<'a>(parts: &mut Vec<&'a str>, p: &[&'a str]) {
        if !parts.is_empty() {
            parts.push(GAP);
        }
        parts.extend_from_slice(p);
    }
    let mut parts: Vec<&str> = Vec::with_capacity(16);
    if e.session.status == Status::Cancelled {
        add(&mut parts, &["This session has been cancelled."]);
    }
    if let Some(s) = &speakers {
        add(&mut parts, &[s]);
    }
    if !d.abstract_.is_empty() {
        add(&mut parts, &[&d.abstract_]);
    }
    for (i, l) in d.links.iter().enumerate() {
        // One block, a link a line.
        if i == 0 {
            add(&mut parts, &[&l.title, ": ", &l.url]);
        } else {
            parts.extend_from_slice(&["\n", &l.title, ": ", &l.url]);
        }
    }
    if let Some(n) = &d.notes {
        add(&mut parts, &["Note: ", n]);
    }
    if let Some(u) = &d.url {
        add(&mut parts, &[u]);
    }
    add(&mut parts, &[&e.conference.name, " — ", page]);
    w.text_parts("DESCRIPTION", &parts);
}

/// A compact feed's DESCRIPTION: cancellation, speakers, the start of the
/// abstract ([`short_abstract`]) and the talk page; no links, notes or URL.
/// About half the bytes of a full event, so a 1,000-session feed stays far
/// under the 1,000,000 bytes past which Google Calendar drops a feed.
fn write_compact_description(w: &mut IcalWriter, e: &Event<'_>, page: &str) {
    let d = &e.session.data;
    let speakers = (!d.speakers.is_empty()).then(|| format!("by {}", d.speakers.join(", ")));
    let short = short_abstract(&d.abstract_, COMPACT_ABSTRACT);
    fn add<'a>(parts: &mut Vec<&'a str>, p: &[&'a str]) {
        if !parts.is_empty() {
            parts.push("\n\n");
        }
        parts.extend_from_slice(p);
    }
    let mut parts: Vec<&str> = Vec::with_capacity(8);
    if e.session.status == Status::Cancelled {
        add(&mut parts, &["This session has been cancelled."]);
    }
    if let Some(s) = &speakers {
        add(&mut parts, &[s]);
    }
    if !short.is_empty() {
        add(&mut parts, &[&short]);
    }
    add(&mut parts, &[page]);
    w.text_parts("DESCRIPTION", &parts);
}

/// The first sentence or sentences of `text` that fit in `max` characters:
/// cut after the last sentence end (`.`, `!`, `?` or `…` followed by white
/// space, or a line break) within `max`; when there is none, at the last
/// word boundary, with "…". Text that fits is returned whole.
pub fn short_abstract(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let text = text.trim();
    // Byte offset of the first character past `max`; none: it all fits.
    let Some((limit, _)) = text.char_indices().nth(max) else {
        return Cow::Borrowed(text);
    };
    // A cut before byte `i <= limit` keeps at most `max` characters.
    let mut sentence_end = None;
    let mut prev = None;
    for (i, c) in text.char_indices().take_while(|&(i, _)| i <= limit) {
        let after_sentence = matches!(prev, Some('.' | '!' | '?' | '…')) && c.is_whitespace();
        if after_sentence || c == '\n' {
            sentence_end = Some(i);
        }
        prev = Some(c);
    }
    if let Some(end) = sentence_end {
        return Cow::Borrowed(text[..end].trim_end());
    }
    // No sentence end: the last whole word, leaving room for the ellipsis.
    let room = &text[..text
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(limit, |(i, _)| i)];
    let cut = match room.rfind(char::is_whitespace) {
        Some(i) => &room[..i],
        None => room,
    };
    let cut =
        cut.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-'));
    Cow::Owned(format!("{cut}…"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_whole() {
        assert_eq!(short_abstract("  One. Two.  ", 200), "One. Two.");
        assert_eq!(short_abstract("", 200), "");
        let exact = "a".repeat(200);
        assert_eq!(short_abstract(&exact, 200), exact);
    }

    #[test]
    fn cuts_after_the_last_sentence_that_fits() {
        let first = "Using Apache Cassandra from Python is easy to do.";
        let second = " This talk will cover setting up a local instance.";
        let text = format!("{first}{second} {}", "More words here. ".repeat(20));
        let cut = short_abstract(&text, 110);
        assert_eq!(cut, format!("{first}{second}"));
        let cut = short_abstract(&text, 60);
        assert_eq!(cut, first);
        // A line break ends a sentence too (a heading, a list item).
        let text = format!("Why Code Generation?\n{}", "word ".repeat(60));
        assert_eq!(short_abstract(&text, 100), "Why Code Generation?");
        // Not inside a number or a dotted name.
        let text = format!("Python 2.7 and jinja2.ext {}", "word ".repeat(60));
        let cut = short_abstract(&text, 50);
        assert!(cut.ends_with('…'), "{cut}");
        assert!(cut.starts_with("Python 2.7 and jinja2.ext"), "{cut}");
    }

    #[test]
    fn without_a_sentence_end_cuts_at_a_word_with_an_ellipsis() {
        let text = "word ".repeat(100);
        let cut = short_abstract(&text, 200);
        assert!(cut.ends_with("word…"), "{cut}");
        assert!(cut.chars().count() <= 200, "{}", cut.chars().count());
        // Multibyte text, one endless word: cut at a character, never
        // inside one.
        let text = "日本語".repeat(100);
        let cut = short_abstract(&text, 200);
        assert_eq!(cut.chars().count(), 200);
        assert!(cut.ends_with('…'));
        // Trailing punctuation before the ellipsis goes.
        let text = format!("{}, {}", "a".repeat(150), "b".repeat(100));
        assert_eq!(short_abstract(&text, 200), format!("{}…", "a".repeat(150)));
    }

    #[test]
    fn locations_join_what_is_known() {
        assert_eq!(
            full_location(Some("E2"), Some("Hall"), Some("1 Main St")).as_deref(),
            Some("E2, Hall, 1 Main St")
        );
        assert_eq!(
            full_location(None, None, Some("1 Main St")).as_deref(),
            Some("1 Main St")
        );
        assert_eq!(full_location(Some("E2"), None, None).as_deref(), Some("E2"));
        assert_eq!(full_location(None, None, None), None);
        assert_eq!(
            location(Some("E2"), Some("Hall")).as_deref(),
            Some("E2, Hall")
        );
    }
}
