//! frab's `schedule.json` (frab, pretalx, c3voc merges), and c3voc's flat
//! "schedule2" form (the CCC hub's `events[]` with `start` and `end`).
//!
//! Read from a [`serde_json::Value`] rather than typed structs: the real
//! files put `null` where the schema wants strings (547 times in 39C3's
//! merge), numbers where it wants strings (`id`), and fields nobody lists.

use serde_json::Value;

use super::source::{
    label_of, parse_duration, parse_time, DayRule, End, Event, Source, Time, Warning,
};
use super::text::one_line;
use crate::domain::ValidationError;

pub fn read(bytes: &[u8]) -> Result<Source, ValidationError> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| ValidationError::new("body", format!("invalid JSON: {e}")))?;
    read_value(&v)
}

pub fn read_value(v: &Value) -> Result<Source, ValidationError> {
    let schedule = v.get("schedule").filter(|s| s.is_object()).ok_or_else(|| {
        ValidationError::new("schedule", "a frab schedule.json has a \"schedule\" object")
    })?;
    let conf = schedule.get("conference").unwrap_or(&Value::Null);
    let pretalx = schedule
        .get("generator")
        .and_then(|g| string(g, "name"))
        .is_some_and(|n| n.to_ascii_lowercase().contains("pretalx"));
    let base_url = string(schedule, "base_url")
        .or_else(|| string(conf, "base_url"))
        .and_then(|u| url::Url::parse(&u).ok());
    let mut source = Source {
        acronym: string(conf, "acronym"),
        name: string(conf, "title"),
        timezone: string(conf, "time_zone_name"),
        url: string(conf, "url").or_else(|| base_url.as_ref().map(|u| u.to_string())),
        venue: string(conf, "venue"),
        base_url,
        ..Source::default()
    };
    if let Some(events) = schedule.get("events").and_then(Value::as_array) {
        read_flat(conf, events, &mut source)?;
        return Ok(source);
    }
    let days = conf.get("days").and_then(Value::as_array).ok_or_else(|| {
        ValidationError::new(
            "schedule.conference.days",
            "a frab schedule.json lists its days",
        )
    })?;
    for (i, day) in days.iter().enumerate() {
        let date = string(day, "date").unwrap_or_default();
        let day_date = date.trim().parse().map_err(|_| {
            ValidationError::new(
                format!("schedule.conference.days[{i}].date"),
                format!("{date:?} is not a date YYYY-MM-DD"),
            )
        })?;
        let offset = |k: &str| match string(day, k).as_deref().and_then(parse_time) {
            Some(Time::Offset(t)) => Some(t),
            Some(Time::Utc(t)) => Some(t.fixed_offset()),
            _ => None,
        };
        for (what, t) in [("start", offset("day_start")), ("end", offset("day_end"))] {
            if let Some(t) = t {
                source
                    .other_times
                    .push((format!("day {day_date}"), what, t));
            }
        }
        let rule = match (offset("day_start"), offset("day_end")) {
            (Some(s), Some(e)) => DayRule::Bounds(s, e),
            (Some(s), None) => DayRule::Start(s),
            _ => DayRule::None,
        };
        let Some(rooms) = day.get("rooms").and_then(Value::as_object) else {
            continue;
        };
        for (room, events) in rooms {
            for e in events.as_array().into_iter().flatten() {
                source
                    .events
                    .push(read_event(e, room, day_date, &rule, pretalx)?);
            }
        }
    }
    Ok(source)
}

fn read_event(
    e: &Value,
    room: &str,
    day: chrono::NaiveDate,
    rule: &DayRule,
    pretalx: bool,
) -> Result<Event, ValidationError> {
    let key = key(e);
    let title = string(e, "title").unwrap_or_default();
    let label = label_of(key.as_deref(), &title);
    let invalid = |m: String| ValidationError::new("sessions", format!("{label}: {m}"));
    let start_text = string(e, "start");
    let by_day = start_text
        .as_deref()
        .and_then(super::source::parse_clock)
        .map(|time| Time::Day {
            day,
            time,
            rule: rule.clone(),
        });
    let (start, start_also) = match (string(e, "date"), by_day) {
        (Some(d), also) => {
            let t = parse_time(&d)
                .ok_or_else(|| invalid(format!("its date {d:?} is not a date and time")))?;
            let how = format!(
                "its day {day} and start {}",
                start_text.as_deref().unwrap_or("").trim()
            );
            (t, also.map(|a| (a, how)))
        }
        (None, Some(t)) => (t, None),
        (None, None) => return Err(invalid("it has neither a date nor a start HH:MM".into())),
    };
    let end = match string(e, "end").as_deref().and_then(parse_time) {
        Some(t) => End::At(t),
        None => {
            let d = string(e, "duration").ok_or_else(|| invalid("it has no duration".into()))?;
            End::After(
                parse_duration(&d, pretalx).map_err(|m| invalid(format!("its duration: {m}")))?,
            )
        }
    };
    let mut ev = Event::new(start, end);
    ev.start_also = start_also;
    ev.key = key;
    ev.title = title;
    ev.subtitle = string(e, "subtitle");
    ev.room = string(e, "room").or_else(|| Some(room.to_owned()));
    ev.tracks = string(e, "track").into_iter().collect();
    texts(&mut ev, e);
    ev.speakers = e
        .get("persons")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(person_name)
        .collect();
    ev.links = links(e);
    Ok(ev)
}

/// The c3voc "schedule2" form: one flat list of events with full start
/// and end times; rooms and tracks are objects that refer to the
/// conference's lists.
fn read_flat(conf: &Value, events: &[Value], source: &mut Source) -> Result<(), ValidationError> {
    let track_names: Vec<(String, String)> = conf
        .get("tracks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| Some((string(t, "slug")?, string(t, "name")?)))
        .collect();
    for e in events {
        let key = key(e);
        let title = string(e, "title").unwrap_or_default();
        let label = label_of(key.as_deref(), &title);
        let invalid = |m: String| ValidationError::new("sessions", format!("{label}: {m}"));
        if let Some(state) = string(e, "state").filter(|s| {
            matches!(
                s.as_str(),
                "CANCELED" | "WITHDRAWN" | "DELETED" | "REJECTED"
            )
        }) {
            source.warnings.push(Warning::new(
                Some(label),
                format!("its state is {state}: left out (cancelled if it was imported before)"),
            ));
            continue;
        }
        let start = string(e, "start")
            .as_deref()
            .and_then(parse_time)
            .ok_or_else(|| invalid("its start is not a date and time".into()))?;
        let end = match string(e, "end").as_deref().and_then(parse_time) {
            Some(t) => End::At(t),
            None => {
                let d = string(e, "duration")
                    .ok_or_else(|| invalid("it has neither an end nor a duration".into()))?;
                End::After(
                    parse_duration(&d, false).map_err(|m| invalid(format!("its duration: {m}")))?,
                )
            }
        };
        let mut ev = Event::new(start, end);
        ev.key = key;
        ev.title = title;
        ev.subtitle = string(e, "subtitle");
        ev.room = match e.get("room") {
            Some(r @ Value::Object(_)) => string(r, "name"),
            Some(r) => as_string(r),
            None => None,
        };
        ev.tracks = match e.get("track") {
            Some(t @ Value::Object(_)) => string(t, "name")
                .or_else(|| {
                    let slug = string(t, "slug")?;
                    track_names
                        .iter()
                        .find(|(s, _)| *s == slug)
                        .map(|(_, n)| n.clone())
                        .or(Some(slug))
                })
                .into_iter()
                .collect(),
            Some(t) => as_string(t).into_iter().collect(),
            None => Vec::new(),
        };
        texts(&mut ev, e);
        // Everyone on stage; a CONTRIBUTOR helped make it but does not
        // present it.
        ev.speakers = e
            .get("participants")
            .or_else(|| e.get("persons"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| string(p, "role").as_deref() != Some("CONTRIBUTOR"))
            .filter_map(person_name)
            .collect();
        ev.links = links(e);
        source.events.push(ev);
    }
    Ok(())
}

/// guid, else id, else code: the most global identifier the event has.
fn key(e: &Value) -> Option<String> {
    ["guid", "id", "code"].iter().find_map(|k| string(e, k))
}

fn person_name(p: &Value) -> Option<String> {
    match p {
        Value::String(s) => Some(s.clone()),
        _ => ["public_name", "full_public_name", "name"]
            .iter()
            .find_map(|k| string(p, k)),
    }
}

/// `links` and `attachments`: `{"url", "title"}`, the title falling back
/// to the link's type (`SLIDES` is "Slides").
fn links(e: &Value) -> Vec<(String, String)> {
    ["links", "attachments"]
        .iter()
        .filter_map(|k| e.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(|l| {
            let url = string(l, "url").or_else(|| string(l, "href"))?;
            let title = string(l, "title")
                .or_else(|| {
                    string(l, "type").map(|t| {
                        let t = t.replace('_', " ").to_lowercase();
                        let mut c = t.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect())
                            .unwrap_or_default()
                    })
                })
                .unwrap_or_default();
            Some((title, url))
        })
        .collect()
}

/// A field as text: a string, or a number written out; `null`, empty
/// and anything else are `None`.
/// The fields both JSON forms (schedule.json's events and schedule2's)
/// write under the same names.
fn texts(ev: &mut Event, e: &Value) {
    ev.kind = string(e, "type");
    ev.language = string(e, "language");
    ev.slug = string(e, "slug");
    ev.abstract_ = string(e, "abstract").unwrap_or_default();
    ev.notes = string(e, "description");
    ev.url = string(e, "url");
}

pub fn string(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(as_string)
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
    .filter(|s| !one_line(s).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frab_json_days_rooms_and_nulls() {
        let v = serde_json::json!({"schedule": {"version": "1", "base_url": "https://f.example/",
        "conference": {"acronym": "Camp2019", "title": "Camp", "time_zone_name": "Europe/Berlin",
          "days": [{"index": 1, "date": "2019-08-21", "day_start": "2019-08-21T09:00:00+02:00",
                    "day_end": "2019-08-22T04:00:00+02:00",
            "rooms": {"Curie": [
              {"id": 10386, "guid": null, "date": "2019-08-21T11:00:00+02:00", "start": "11:00",
               "duration": "00:30", "room": "Curie", "title": "Opening", "subtitle": null,
               "track": "CCC", "type": "lecture", "language": "en", "abstract": "Hi", "description": "",
               "persons": [{"id": 1, "public_name": "jinxx"}, {"name": "smtw"}],
               "links": [{"url": "https://edri.org", "title": "EDRi"}],
               "attachments": [{"url": "/a.pdf", "title": null, "type": "SLIDES"}]}
            ]}}]}}});
        let s = read_value(&v).unwrap();
        assert_eq!(s.acronym.as_deref(), Some("Camp2019"));
        let e = &s.events[0];
        assert_eq!(
            e.key.as_deref(),
            Some("10386"),
            "a number id, the guid null"
        );
        assert_eq!(e.speakers, ["jinxx", "smtw"]);
        assert_eq!(e.notes, None);
        assert_eq!(e.links[1], ("Slides".to_owned(), "/a.pdf".to_owned()));
        assert!(matches!(
            e.start_also,
            Some((
                Time::Day {
                    rule: DayRule::Bounds(..),
                    ..
                },
                _
            ))
        ));
    }

    #[test]
    fn schedule2_flat_events() {
        let v = serde_json::json!({"schedule": {"version": "x", "conference": {"acronym": "38c3",
          "title": "38C3", "time_zone_name": "Europe/Berlin",
          "tracks": [{"name": "Hardware & Making", "slug": "hardware-making"}]},
        "events": [
          {"type": "TALK", "guid": "b174", "start": "2024-12-28T00:15:00+01:00",
           "end": "2024-12-28T00:55:00+01:00", "room": {"name": "Saal ZIGZAG"},
           "title": "AI", "track": {"slug": "hardware-making"},
           "participants": [{"name": "S", "role": "SPEAKER"}, {"name": "C", "role": "CONTRIBUTOR"}],
           "links": [{"type": "ORIGIN", "url": "https://o.example/"}]},
          {"guid": "gone", "state": "CANCELED", "title": "Gone", "start": "2024-12-28T00:15:00+01:00"}
        ]}});
        let s = read_value(&v).unwrap();
        assert_eq!(s.events.len(), 1);
        let e = &s.events[0];
        assert_eq!(e.room.as_deref(), Some("Saal ZIGZAG"));
        assert_eq!(e.tracks, ["Hardware & Making"]);
        assert_eq!(e.speakers, ["S"]);
        assert_eq!(
            e.links,
            [("Origin".to_owned(), "https://o.example/".to_owned())]
        );
        assert!(matches!(e.end, End::At(Time::Offset(_))));
        assert!(s.warnings[0].message.contains("CANCELED"));
    }

    #[test]
    fn errors() {
        for (v, needle) in [
            (serde_json::json!({"x": 1}), "\"schedule\" object"),
            (serde_json::json!({"schedule": {"conference": {}}}), "days"),
            (
                serde_json::json!({"schedule": {"conference": {"days": [{"date": "2020-01-01",
                  "rooms": {"R": [{"id": 3, "title": "T", "date": "2020-01-01T10:00:00+01:00", "duration": "x"}]}}]}}}),
                "event 3 \"T\": its duration",
            ),
        ] {
            let e = read_value(&v).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
    }
}
