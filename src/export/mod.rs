//! Exports for schedule apps: a conference as frab/c3voc `schedule.xml`
//! and `schedule.json`, the documents Giggity, EventFahrplan, ConfClerk
//! and the FOSDEM apps read.
//!
//! [`Export::new`] lays a conference out the way both formats want it
//! (conference days, rooms within days, events within rooms, the ids apps
//! key on), and [`frab_xml`] and [`frab_json`] write that one layout, so the
//! two documents cannot disagree. Nothing here knows about HTTP; the handler
//! is [`crate::http::exports`].
//!
//! - [`days`]: the conference day (from a day change in the morning,
//!   chosen from the data, to the next) and its bounds.
//! - [`guid`]: event and room UUIDs and numeric event ids, derived from
//!   stable names so apps keep favourites across updates.
//! - [`xml`]: the escaping XML writer.
//!
//! Cancelled sessions are left out, as pretalx does: the formats have no
//! way to say "cancelled", and apps (and importers that follow a schedule)
//! learn of a cancellation by the event leaving the document. A title
//! prefix would reach importers as a renamed talk that still takes place.

pub mod days;
pub mod frab_json;
pub mod frab_xml;
pub mod guid;
pub mod xml;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, SecondsFormat, Timelike};
use chrono_tz::Tz;

use crate::domain::urls::Links;
use crate::domain::{Conference, SessionData};
use crate::store::{ConferenceRecord, SessionRecord, Status};

/// What the documents name as their producer.
pub const GENERATOR: &str = "confcal";

/// The two documents of one layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// The file name apps and the URL know it by.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Xml => "schedule.xml",
            Format::Json => "schedule.json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "application/xml; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    /// The document for `export`.
    pub fn render(self, export: &Export<'_>) -> Vec<u8> {
        match self {
            Format::Xml => frab_xml::render(export).into_bytes(),
            Format::Json => frab_json::render(export),
        }
    }
}

/// A conference laid out for the schedule formats.
pub struct Export<'a> {
    pub conference: &'a Conference,
    /// The conference's data version: it changes whenever anything in it
    /// does, which is what apps compare to notice an update.
    pub version: String,
    /// The documents' own addresses (`…/schedule.xml`, `…/schedule.json`).
    pub xml_url: String,
    pub json_url: String,
    pub acronym: String,
    pub days: Vec<Day<'a>>,
    /// Every room with an event, in display order.
    pub rooms: Vec<Room>,
    /// Every track named by an event, in display order.
    pub tracks: Vec<&'a str>,
    /// `HH:MM`: the finest grid every start and end sits on, at most an hour.
    pub timeslot: String,
    /// Local time at which each conference day begins (see [`days`]).
    pub day_change: chrono::NaiveTime,
}

pub struct Room {
    /// Empty for sessions without a room: the formats require one, and an
    /// empty name says "not known" without inventing a place.
    pub name: String,
    pub guid: String,
}

pub struct Day<'a> {
    /// 1, 2, …: one per conference day with events, in date order. A day
    /// without events (a rest day; months between the parts of a test
    /// fixture) is left out: apps would show it as an empty tab.
    pub index: usize,
    pub date: NaiveDate,
    pub start: DateTime<Tz>,
    pub end: DateTime<Tz>,
    /// The rooms with events this day, in [`Export::rooms`] order.
    pub rooms: Vec<DayRoom<'a>>,
}

pub struct DayRoom<'a> {
    /// Index into [`Export::rooms`].
    pub room: usize,
    /// In start order.
    pub events: Vec<Event<'a>>,
}

pub struct Event<'a> {
    pub session: &'a SessionData,
    /// The numeric `id` the formats require (see [`guid::event_numbers`]).
    pub number: u32,
    pub guid: String,
    pub start: DateTime<Tz>,
    pub end: DateTime<Tz>,
    /// `{acronym}-{session id}` (see [`event_slug`]).
    pub slug: String,
    /// The session's own page if it has one, else its confcal page.
    pub url: String,
}

impl Export<'_> {
    /// Lays out the confirmed sessions of `rec`. `sessions` are all of the
    /// conference's sessions in start order, cancelled ones included (they
    /// keep their numbers reserved, see [`guid::event_numbers`]).
    pub fn new<'a>(
        rec: &'a ConferenceRecord,
        sessions: &'a [SessionRecord],
        links: Links<'_>,
    ) -> Export<'a> {
        let c = &rec.conference;
        let tz = c.tz;
        let slug = c.slug.as_str();
        let xml_url = links.schedule_export(&c.slug, Format::Xml.file_name());
        let json_url = links.schedule_export(&c.slug, Format::Json.file_name());
        let acronym = acronym(slug);
        let numbers = guid::event_numbers(slug, sessions);
        let live: Vec<&SessionData> = sessions
            .iter()
            .filter(|s| s.status == Status::Confirmed)
            .map(|s| &s.data)
            .collect();

        // Rooms and tracks in the order the pages list them: by name,
        // ignoring case; the room-less last.
        let distinct: BTreeSet<&str> = live.iter().map(|s| room_name(s)).collect();
        let mut room_names: Vec<&str> = distinct.into_iter().collect();
        room_names.sort_by_cached_key(|r| (r.is_empty(), r.to_lowercase(), *r));
        let room_index: BTreeMap<&str, usize> = room_names
            .iter()
            .enumerate()
            .map(|(i, r)| (*r, i))
            .collect();
        let distinct: BTreeSet<&str> = live
            .iter()
            .flat_map(|s| s.tracks.iter().map(String::as_str))
            .collect();
        let mut tracks: Vec<&str> = distinct.into_iter().collect();
        tracks.sort_by_cached_key(|t| (t.to_lowercase(), *t));

        let change = days::choose_day_change(live.iter().map(|s| (s.start, s.end)), tz);
        let mut grid = 60;
        let mut by_day: BTreeMap<NaiveDate, BTreeMap<usize, Vec<Event<'_>>>> = BTreeMap::new();
        for s in &live {
            let start = s.start.with_timezone(&tz);
            let end = s.end.with_timezone(&tz);
            for t in [start, end] {
                grid = gcd(grid, t.minute());
            }
            let day = days::conference_day(start.naive_local(), change);
            let event = Event {
                session: s,
                number: numbers[&s.id],
                guid: guid::session_guid(slug, s.id.as_str()),
                start,
                end,
                slug: event_slug(&acronym, s.id.as_str()),
                url: s
                    .url
                    .clone()
                    .unwrap_or_else(|| links.session(&c.slug, &s.id)),
            };
            by_day
                .entry(day)
                .or_default()
                .entry(room_index[room_name(s)])
                .or_default()
                .push(event);
        }

        // The conference days that have events. A conference with nothing
        // on still needs one day (both formats require it): the day of its
        // first (cancelled) session, or of its creation.
        if by_day.is_empty() {
            let at = rec.first_start.unwrap_or(rec.created).with_timezone(&tz);
            by_day.insert(
                days::conference_day(at.naive_local(), change),
                BTreeMap::new(),
            );
        }
        let days_out = by_day
            .into_iter()
            .enumerate()
            .map(|(i, (date, rooms))| {
                let (start, end) = days::day_bounds(date, change, tz);
                Day {
                    index: i + 1,
                    date,
                    start,
                    end,
                    rooms: rooms
                        .into_iter()
                        .map(|(room, events)| DayRoom { room, events })
                        .collect(),
                }
            })
            .collect();

        Export {
            conference: c,
            version: rec.version.to_string(),
            xml_url,
            json_url,
            acronym,
            days: days_out,
            rooms: room_names
                .iter()
                .map(|r| Room {
                    name: (*r).to_owned(),
                    guid: guid::room_guid(slug, r),
                })
                .collect(),
            tracks,
            timeslot: hh_mm(i64::from(grid)),
            day_change: change,
        }
    }

    pub fn first_date(&self) -> NaiveDate {
        self.days.first().map(|d| d.date).unwrap_or_default()
    }

    pub fn last_date(&self) -> NaiveDate {
        self.days.last().map(|d| d.date).unwrap_or_default()
    }

    /// The zone's name where the JSON schema's pattern allows it
    /// (`Area/Location` or `UTC`); legacy names such as `US/Pacific` do
    /// not match it and are left out of the JSON (every time there carries
    /// its offset anyway).
    pub fn json_zone_name(&self) -> Option<&'static str> {
        let name = self.conference.tz.name();
        zone_name_fits_schema(name).then_some(name)
    }
}

fn room_name(s: &SessionData) -> &str {
    s.room.as_deref().unwrap_or("")
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The conference slug in the shape both schemas take for an acronym: the
/// JSON schema allows no `-` after the first character and both want at
/// least four characters, so `-` becomes `_` and a short slug is padded
/// with `_` (`pycon-us-2012` → `pycon_us_2012`, `ab` → `ab__`). Turning
/// `_` back into `-` and trimming gives the slug again.
pub fn acronym(slug: &str) -> String {
    let mut a: String = slug
        .chars()
        .map(|c| if c == '-' { '_' } else { c })
        .collect();
    while a.len() < 4 {
        a.push('_');
    }
    a
}

/// `{acronym}-{session id}`, frab's shape (`36c3-10496-opening`), and the
/// way back to the session id for an importer of our own export: the slug
/// after `{acronym}-`, leading `_` removed. An id shorter than four
/// characters is padded in front with `_` (`pycon_us_2012-__42`): the XSD
/// wants four characters after the hyphen, the JSON schema an alphanumeric
/// last one, and session ids never contain `_`.
pub fn event_slug(acronym: &str, id: &str) -> String {
    format!("{acronym}-{:_>4}", id)
}

/// `^([A-Z][a-z]+/[A-Z][a-z]+)|UTC$` as JSON Schema applies it (a search,
/// so the first branch is a prefix and the second a suffix).
fn zone_name_fits_schema(name: &str) -> bool {
    fn word(s: &str) -> usize {
        let b = s.as_bytes();
        if b.first().is_some_and(u8::is_ascii_uppercase) {
            let n = b[1..].iter().take_while(|c| c.is_ascii_lowercase()).count();
            if n > 0 {
                return n + 1;
            }
        }
        0
    }
    let area = word(name);
    name.ends_with("UTC")
        || (area > 0 && name[area..].starts_with('/') && word(&name[area + 1..]) > 0)
}

/// `02:05` from minutes; hours beyond 99 get more digits.
pub fn hh_mm(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl Event<'_> {
    /// `<date>`: the start with the offset in force at that instant,
    /// `2012-03-09T14:00:00-08:00` (an offset with seconds, which only
    /// local mean times before about 1900 have, cannot be written in
    /// ISO 8601's `±HH:MM`: that start is written in UTC).
    pub fn date(&self) -> String {
        iso(self.start)
    }

    pub fn end_date(&self) -> String {
        iso(self.end)
    }

    /// `<start>`: the local wall time, `HH:MM` (`HH:MM:SS` with seconds,
    /// which only the XML allows; see [`Event::start_hm`]).
    pub fn start_time(&self) -> String {
        let t = self.start.time();
        if t.second() == 0 {
            t.format("%H:%M").to_string()
        } else {
            t.format("%H:%M:%S").to_string()
        }
    }

    /// `HH:MM` of the start, seconds dropped (the JSON schema's shape).
    pub fn start_hm(&self) -> String {
        self.start.time().format("%H:%M").to_string()
    }

    /// `<duration>`: `HH:MM`, with `:SS` when the length has seconds (XML
    /// only; see [`Event::duration_hm`]).
    pub fn duration(&self) -> String {
        let secs = (self.end - self.start).num_seconds();
        if secs % 60 == 0 {
            hh_mm(secs / 60)
        } else {
            format!("{}:{:02}", hh_mm(secs / 60), secs % 60)
        }
    }

    /// `HH:MM`, seconds dropped.
    pub fn duration_hm(&self) -> String {
        hh_mm((self.end - self.start).num_seconds() / 60)
    }

    /// frab has one track per event: several are joined with `, ` (the
    /// conference's track list names each one).
    pub fn track(&self) -> String {
        self.session.tracks.join(", ")
    }

    pub fn kind(&self) -> &str {
        self.session.kind.as_deref().unwrap_or("")
    }
}

/// ISO 8601 with the offset, or in UTC where the offset has seconds.
pub fn iso(t: DateTime<Tz>) -> String {
    use chrono::Offset;
    if t.offset().fix().local_minus_utc() % 60 == 0 {
        t.to_rfc3339_opts(SecondsFormat::Secs, false)
    } else {
        t.with_timezone(&chrono::Utc)
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acronyms_fit_both_schemas() {
        assert_eq!(acronym("pycon-us-2012"), "pycon_us_2012");
        assert_eq!(acronym("ab"), "ab__");
        assert_eq!(acronym("36c3"), "36c3");
        assert_eq!(acronym("a-b"), "a_b_");
    }

    #[test]
    fn slugs_fit_both_schemas_and_give_the_id_back() {
        assert_eq!(
            event_slug("pycon_us_2012", "dismantling-jinja"),
            "pycon_us_2012-dismantling-jinja"
        );
        assert_eq!(event_slug("ab__", "42"), "ab__-__42");
        assert_eq!(event_slug("ab__", "x"), "ab__-___x");
        assert_eq!(event_slug("conf", "abcd"), "conf-abcd");
        // XSD `[a-z0-9_]{4,}-[a-z0-9\-_]{4,}` and JSON `[a-z0-9_-]+[a-z0-9]$`,
        // for every length of id up to the padding and past it.
        for id in ["x", "4a", "a-b", "abcd", "a-b-c-d-e", "0"] {
            for slug in ["ab", "pycon-us-2012", "36c3"] {
                let a = acronym(slug);
                let s = event_slug(&a, id);
                let (head, tail) = s.split_once('-').unwrap();
                assert_eq!(head, a);
                assert!(head.len() >= 4 && tail.len() >= 4, "{s}");
                assert!(head
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
                assert!(tail
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'));
                assert!(s.chars().last().unwrap().is_ascii_alphanumeric(), "{s}");
                assert_eq!(tail.trim_start_matches('_'), id, "the id comes back");
            }
        }
    }

    #[test]
    fn zone_names_as_the_json_schema_reads_them() {
        for ok in [
            "America/Los_Angeles",
            "Europe/Berlin",
            "America/Argentina/Buenos_Aires",
            "America/Port-au-Prince",
            "UTC",
            "Etc/UTC",
        ] {
            assert!(zone_name_fits_schema(ok), "{ok}");
        }
        for bad in ["US/Pacific", "EST5EDT", "Etc/GMT+5", "GMT", "EST"] {
            assert!(!zone_name_fits_schema(bad), "{bad}");
        }
    }

    #[test]
    fn durations_and_clock_labels() {
        assert_eq!(hh_mm(0), "00:00");
        assert_eq!(hh_mm(40), "00:40");
        assert_eq!(hh_mm(26 * 60 + 30), "26:30");
        assert_eq!(hh_mm(130 * 60), "130:00");
    }
}
