//! iCalendar (RFC 5545) as Indico, Sched, pretalx and self-made
//! exports publish it: each `VEVENT` is an event, its `UID` the key.
//!
//! Times keep what they say: `…Z` is UTC, `TZID=Australia/Brisbane` is a
//! wall-clock time in that IANA zone (whether or not the file carries a
//! `VTIMEZONE` for it: the tz database knows the zone better than a copy
//! of its rules), and a floating time is in the conference's zone.
//!
//! A reader of our own (unfolding, content lines, parameters, text
//! escapes), not the `icalendar` crate: its parser brings two versions of
//! `nom`, `iso8601` and `uuid` into the server's build, and would still
//! hand back the same raw strings that the time rules here have to read.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;

use super::source::{label_of, End, Event, Source, Time, Warning};
use crate::domain::ValidationError;

/// One content line: `NAME;PARAM=VALUE:value`.
#[derive(Debug, Clone, PartialEq)]
struct Property {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Property {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Lines with their continuations joined (RFC 5545 §3.1: a line break
/// followed by a space or a tab is no break).
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match raw.strip_prefix([' ', '\t']) {
            Some(cont) if !lines.is_empty() => lines.last_mut().expect("not empty").push_str(cont),
            _ if raw.is_empty() => {}
            _ => lines.push(raw.to_owned()),
        }
    }
    lines
}

/// Splits a content line into name, parameters and value; quoted
/// parameter values may hold `;`, `:` and `,`.
fn parse_line(line: &str) -> Option<Property> {
    let mut params = Vec::new();
    let mut quoted = false;
    let mut part_start = 0;
    let mut name: Option<String> = None;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b';' | b':' if !quoted => {
                let part = &line[part_start..i];
                match &name {
                    None => name = Some(part.to_ascii_uppercase()),
                    Some(_) => {
                        let (k, v) = part.split_once('=')?;
                        params.push((k.to_ascii_uppercase(), v.trim_matches('"').to_owned()));
                    }
                }
                part_start = i + 1;
                if b == b':' {
                    return Some(Property {
                        name: name?,
                        params,
                        value: line[i + 1..].to_owned(),
                    });
                }
            }
            _ => {}
        }
    }
    None
}

/// A TEXT value with its escapes read (`\n`, `\,`, `\;`, `\\`).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(c) => out.push(c),
            None => out.push('\\'),
        }
    }
    out
}

/// A TZID as an IANA zone: the name itself, or the zone at its end
/// (`/mozilla.org/20050126_1/Europe/Berlin`), or the `X-LIC-LOCATION`
/// that the file's VTIMEZONE of that TZID gives.
fn zone_of(tzid: &str, locations: &HashMap<String, String>) -> Option<Tz> {
    let tzid = tzid.trim();
    if let Ok(tz) = tzid.parse() {
        return Some(tz);
    }
    if let Some(tz) = locations.get(tzid).and_then(|l| l.parse().ok()) {
        return Some(tz);
    }
    tzid.match_indices('/')
        .find_map(|(i, _)| tzid[i + 1..].parse().ok())
}

/// A DATE-TIME or DATE value (`20200114T070000`, `…Z`, `20200114`).
enum Value {
    DateTime(Time),
    Date(NaiveDate),
}

fn read_time(p: &Property, locations: &HashMap<String, String>) -> Result<Value, String> {
    let v = p.value.trim();
    let is_date = p
        .param("VALUE")
        .is_some_and(|t| t.eq_ignore_ascii_case("DATE"))
        || v.len() == 8;
    if is_date {
        return NaiveDate::parse_from_str(v, "%Y%m%d")
            .map(Value::Date)
            .map_err(|_| format!("its {} {v:?} is not a date", p.name));
    }
    let (naive, utc) = match v.strip_suffix(['Z', 'z']) {
        Some(n) => (n, true),
        None => (v, false),
    };
    let t = NaiveDateTime::parse_from_str(naive, "%Y%m%dT%H%M%S")
        .map_err(|_| format!("its {} {v:?} is not a date-time", p.name))?;
    if utc {
        return Ok(Value::DateTime(Time::Utc(t.and_utc())));
    }
    match p.param("TZID") {
        None => Ok(Value::DateTime(Time::Local(t))),
        Some(tzid) => zone_of(tzid, locations)
            .map(|tz| Value::DateTime(Time::Zoned(t, tz)))
            .ok_or_else(|| {
                format!(
                    "its {} has TZID={tzid:?}, which is not an IANA time zone",
                    p.name
                )
            }),
    }
}

/// An RFC 5545 DURATION (`PT1H30M`, `P1D`, `P2W`).
fn read_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let s = s.strip_prefix('P')?;
    let mut total = 0i64;
    let mut num = String::new();
    let mut in_time = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '0'..='9' => num.push(c),
            'T' if num.is_empty() => in_time = true,
            'W' | 'D' | 'H' | 'M' | 'S' => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                any = true;
                total += n * match (c, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
            }
            _ => return None,
        }
    }
    (any && num.is_empty()).then(|| Duration::seconds(if neg { -total } else { total }))
}

pub fn read(bytes: &[u8]) -> Result<Source, ValidationError> {
    let text =
        std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).map_err(|e| {
            ValidationError::new("body", format!("the iCalendar file is not UTF-8: {e}"))
        })?;
    let lines = unfold(text);
    if !lines
        .first()
        .is_some_and(|l| l.trim().eq_ignore_ascii_case("BEGIN:VCALENDAR"))
    {
        return Err(ValidationError::new(
            "body",
            "an iCalendar file begins with BEGIN:VCALENDAR",
        ));
    }
    // Components as a stack of names, and each VEVENT's own properties
    // (not those of a VALARM inside it).
    let mut stack: Vec<String> = Vec::new();
    let mut calendar: Vec<Property> = Vec::new();
    let mut events: Vec<Vec<Property>> = Vec::new();
    let mut locations: HashMap<String, String> = HashMap::new();
    let mut tz_block: Option<(Option<String>, Option<String>)> = None;
    for (n, line) in lines.iter().enumerate() {
        let p = parse_line(line).ok_or_else(|| {
            ValidationError::new(
                "body",
                format!("line {} is not an iCalendar content line: {line:?}", n + 1),
            )
        })?;
        match p.name.as_str() {
            "BEGIN" => {
                let c = p.value.trim().to_ascii_uppercase();
                if c == "VEVENT" && stack.len() == 1 {
                    events.push(Vec::new());
                }
                if c == "VTIMEZONE" {
                    tz_block = Some((None, None));
                }
                stack.push(c);
            }
            "END" => {
                if stack.pop().as_deref() == Some("VTIMEZONE") {
                    if let Some((Some(id), Some(loc))) = tz_block.take() {
                        locations.insert(id, loc);
                    }
                }
            }
            _ => match stack.as_slice() {
                [_] => calendar.push(p),
                [_, e] if e == "VEVENT" => events.last_mut().expect("began").push(p),
                [_, t] if t == "VTIMEZONE" => {
                    if let Some(b) = tz_block.as_mut() {
                        match p.name.as_str() {
                            "TZID" => b.0 = Some(p.value.trim().to_owned()),
                            "X-LIC-LOCATION" => b.1 = Some(p.value.trim().to_owned()),
                            _ => {}
                        }
                    }
                }
                _ => {}
            },
        }
    }
    let cal = |name: &str| {
        calendar
            .iter()
            .find(|p| p.name == name)
            .map(|p| unescape(&p.value))
            .filter(|v| !v.trim().is_empty())
    };
    let mut source = Source {
        name: cal("X-WR-CALNAME")
            .or_else(|| cal("NAME"))
            .or_else(|| cal("X-WR-CALDESC")),
        timezone: cal("X-WR-TIMEZONE"),
        ..Source::default()
    };
    let mut zones_used: Vec<Tz> = Vec::new();
    for props in events {
        let get = |name: &str| props.iter().find(|p| p.name == name);
        let text = |name: &str| {
            get(name)
                .map(|p| unescape(&p.value))
                .filter(|v| !v.trim().is_empty())
        };
        let key = text("UID");
        let title = text("SUMMARY").unwrap_or_default();
        let label = label_of(key.as_deref(), &title);
        let invalid = |m: String| ValidationError::new("sessions", format!("{label}: {m}"));
        if text("STATUS").is_some_and(|s| s.trim().eq_ignore_ascii_case("CANCELLED")) {
            source.warnings.push(Warning::new(
                Some(label),
                "its STATUS is CANCELLED: left out (cancelled if it was imported before)",
            ));
            continue;
        }
        let dtstart = get("DTSTART").ok_or_else(|| invalid("it has no DTSTART".into()))?;
        let start = read_time(dtstart, &locations).map_err(invalid)?;
        let end = match (get("DTEND"), get("DURATION")) {
            (Some(p), _) => Some(Ok(read_time(p, &locations).map_err(invalid)?)),
            (None, Some(d)) => Some(Err(read_duration(&d.value)
                .filter(|d| *d >= Duration::zero())
                .ok_or_else(|| {
                    invalid(format!("its DURATION {:?} is not a duration", d.value))
                })?)),
            (None, None) => None,
        };
        let (start, end) = match (start, end) {
            (Value::DateTime(s), Some(Ok(Value::DateTime(e)))) => (s, End::At(e)),
            // A DURATION is a length: added to the start's instant.
            (Value::DateTime(s), Some(Err(d))) => (s, End::After(d)),
            // RFC 5545 §3.6.1: no end is an event of no length.
            (Value::DateTime(s), None) => (s, End::After(Duration::zero())),
            (Value::Date(s), e) => {
                let e = match e {
                    Some(Ok(Value::Date(e))) => e,
                    Some(Err(d)) => s + Duration::days(d.num_days().max(1)),
                    _ => s + Duration::days(1),
                };
                (
                    Time::Local(s.and_time(NaiveTime::MIN)),
                    End::At(Time::Local(e.and_time(NaiveTime::MIN))),
                )
            }
            (Value::DateTime(_), Some(Ok(Value::Date(_)))) => {
                return Err(invalid(
                    "its DTSTART is a date-time but its DTEND a date".into(),
                ))
            }
        };
        if let Time::Zoned(_, tz) = &start {
            if !zones_used.contains(tz) {
                zones_used.push(*tz);
            }
        }
        let ev = props_event(&props, start, end);
        if get("RRULE").is_some() {
            source.warnings.push(Warning::new(
                Some(ev.label()),
                "it repeats (RRULE): only its first occurrence was imported",
            ));
        }
        source.events.push(ev);
    }
    // A file that writes every time in one zone and names no other is in
    // that zone.
    if source.timezone.is_none() && zones_used.len() == 1 {
        source.timezone = Some(zones_used[0].name().to_owned());
    }
    Ok(source)
}

/// The event's fields other than its times.
fn props_event(props: &[Property], start: Time, end: End) -> Event {
    let text = |name: &str| {
        props
            .iter()
            .find(|p| p.name == name)
            .map(|p| unescape(&p.value))
            .filter(|v| !v.trim().is_empty())
    };
    let mut ev = Event::new(start, end);
    ev.key = text("UID");
    ev.title = text("SUMMARY").unwrap_or_default();
    ev.abstract_ = text("DESCRIPTION").unwrap_or_default();
    ev.room = text("LOCATION");
    ev.url = text("URL");
    ev.tracks = props
        .iter()
        .filter(|p| p.name == "CATEGORIES")
        .flat_map(|p| split_list(&p.value))
        .collect();
    ev
}

/// A comma-separated TEXT list (`CATEGORIES:Kernel,Security\, Privacy`).
fn split_list(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push('\\');
                    cur.push(n);
                }
            }
            ',' => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| unescape(&s).trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-CALDESC:linux.conf.au 2020\r\n\
BEGIN:VEVENT\r\nSUMMARY:Main Conference: plenary\r\n\
DTSTART;TZID=Australia/Brisbane;VALUE=DATE-TIME:20200114T070000\r\n\
DTEND;TZID=Australia/Brisbane;VALUE=DATE-TIME:20200114T090000\r\nUID:201@lca2020.linux.org.au\r\n\
DESCRIPTION:<p>Women of Open T\r\n echnology Breakfast</p>\\n\\, Room 5\r\nLOCATION:Room 5\r\n\
CATEGORIES:Kernel,Security\\, Privacy\r\n\
BEGIN:VALARM\r\nDESCRIPTION:not the event's\r\nEND:VALARM\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:u2\r\nSUMMARY:Zero\r\nDTSTART:20200115T000000Z\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:u3\r\nSUMMARY:Floating\r\nDTSTART:20200115T100000\r\nDURATION:PT1H30M\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn reads_events_with_tzid_and_no_vtimezone() {
        let s = read(ICS.as_bytes()).unwrap();
        assert_eq!(s.name.as_deref(), Some("linux.conf.au 2020"));
        assert_eq!(
            s.timezone.as_deref(),
            Some("Australia/Brisbane"),
            "the one TZID used"
        );
        assert_eq!(s.events.len(), 3);
        let e = &s.events[0];
        assert_eq!(e.key.as_deref(), Some("201@lca2020.linux.org.au"));
        assert_eq!(
            e.abstract_,
            "<p>Women of Open Technology Breakfast</p>\n, Room 5"
        );
        assert_eq!(e.tracks, ["Kernel", "Security, Privacy"]);
        assert!(matches!(
            e.start,
            Time::Zoned(_, chrono_tz::Australia::Brisbane)
        ));
        assert_eq!(
            s.events[1].end,
            End::After(Duration::zero()),
            "no DTEND: no length"
        );
        assert!(matches!(s.events[2].start, Time::Local(_)));
        assert_eq!(s.events[2].end, End::After(Duration::minutes(90)));
    }

    #[test]
    fn tzids_and_durations() {
        let none = HashMap::new();
        assert_eq!(
            zone_of("/mozilla.org/20050126_1/Europe/Berlin", &none),
            Some(chrono_tz::Europe::Berlin)
        );
        let loc = HashMap::from([("Custom".to_owned(), "Asia/Kolkata".to_owned())]);
        assert_eq!(zone_of("Custom", &loc), Some(chrono_tz::Asia::Kolkata));
        assert_eq!(zone_of("W. Europe Standard Time", &none), None);
        assert_eq!(read_duration("PT1H30M"), Some(Duration::minutes(90)));
        assert_eq!(read_duration("P1DT2H"), Some(Duration::hours(26)));
        assert_eq!(read_duration("P2W"), Some(Duration::days(14)));
        assert_eq!(read_duration("PT"), None);
        assert_eq!(read_duration("1H"), None);
        assert_eq!(
            parse_line("ATTENDEE;CN=\"Doe; J:r\":mailto:j@e.example")
                .unwrap()
                .param("CN"),
            Some("Doe; J:r")
        );
    }

    #[test]
    fn errors_name_the_event() {
        for (body, needle) in [
            ("BEGIN:VCARD\r\nEND:VCARD\r\n", "BEGIN:VCALENDAR"),
            ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:S\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "event x \"S\": it has no DTSTART"),
            ("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=Nowhere:20200101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "not an IANA"),
            ("BEGIN:VCALENDAR\r\nno colon here\r\nEND:VCALENDAR\r\n", "line 2"),
        ] {
            let e = read(body.as_bytes()).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
    }
}
