//! Sessionize's `/api/v2/{id}/view/All`: sessions, speakers, rooms,
//! categories and questions in separate lists, joined here by id.
//!
//! Sessionize writes local times with no offset and names no zone, so an
//! import always needs the operator's zone; it names no conference
//! either (the slug comes from `--conference` or the file's name). Its
//! service sessions (breakfast, breaks, lunch) are `break`s; a question's
//! answer that is a web address (a talk's YouTube video) is a link named
//! by the question.

use std::collections::HashMap;

use serde_json::Value;

use super::frab_json::string;
use super::source::{label_of, parse_time, End, Event, Source, Warning};
use crate::domain::ValidationError;

pub fn read(bytes: &[u8]) -> Result<Source, ValidationError> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| ValidationError::new("body", format!("invalid JSON: {e}")))?;
    read_value(&v)
}

fn by_id<'a>(v: &'a Value, list: &str) -> HashMap<String, &'a Value> {
    v.get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| Some((string(x, "id")?, x)))
        .collect()
}

fn ids(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| match x {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect()
}

pub fn read_value(v: &Value) -> Result<Source, ValidationError> {
    let sessions = v.get("sessions").and_then(Value::as_array).ok_or_else(|| {
        ValidationError::new(
            "sessions",
            "a Sessionize \"All\" view has a \"sessions\" list",
        )
    })?;
    let speakers = by_id(v, "speakers");
    let rooms = by_id(v, "rooms");
    let questions = by_id(v, "questions");
    // Category items by id, with the title of their category ("Track",
    // "Session format", "Level").
    let mut items: HashMap<String, (String, String)> = HashMap::new();
    for cat in v
        .get("categories")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let title = string(cat, "title")
            .unwrap_or_default()
            .to_ascii_lowercase();
        for item in cat
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(id), Some(name)) = (string(item, "id"), string(item, "name")) {
                items.insert(id, (title.clone(), name));
            }
        }
    }
    let mut source = Source::default();
    for s in sessions {
        let key = string(s, "id");
        let title = string(s, "title").unwrap_or_default();
        let label = label_of(key.as_deref(), &title);
        let invalid = |m: String| ValidationError::new("sessions", format!("{label}: {m}"));
        let (Some(starts), Some(ends)) = (string(s, "startsAt"), string(s, "endsAt")) else {
            source.warnings.push(Warning::new(
                Some(label),
                "it is not scheduled (no startsAt or endsAt): left out",
            ));
            continue;
        };
        let start = parse_time(&starts)
            .ok_or_else(|| invalid(format!("its startsAt {starts:?} is not a date and time")))?;
        let end = parse_time(&ends)
            .ok_or_else(|| invalid(format!("its endsAt {ends:?} is not a date and time")))?;
        let mut ev = Event::new(start, End::At(end));
        ev.key = key;
        ev.title = title;
        ev.abstract_ = string(s, "description").unwrap_or_default();
        ev.room = string(s, "roomId")
            .and_then(|id| rooms.get(&id))
            .and_then(|r| string(r, "name"))
            .or_else(|| string(s, "room"));
        ev.speakers = ids(s, "speakers")
            .iter()
            .filter_map(|id| speakers.get(id))
            .filter_map(|p| {
                string(p, "fullName").or_else(|| {
                    let name = format!(
                        "{} {}",
                        string(p, "firstName").unwrap_or_default(),
                        string(p, "lastName").unwrap_or_default()
                    );
                    Some(name.trim().to_owned()).filter(|n| !n.is_empty())
                })
            })
            .collect();
        if s.get("isServiceSession").and_then(Value::as_bool) == Some(true) {
            ev.kind = Some("break".into());
        }
        for id in ids(s, "categoryItems") {
            let Some((category, name)) = items.get(&id) else {
                continue;
            };
            if category.contains("format") || category.contains("type") {
                ev.kind.get_or_insert_with(|| name.clone());
            } else if category.contains("track") || category.contains("topic") {
                ev.tracks.push(name.clone());
            }
        }
        for (k, title) in [("liveUrl", "Live stream"), ("recordingUrl", "Recording")] {
            if let Some(u) = string(s, k) {
                ev.links.push((title.to_owned(), u));
            }
        }
        for a in s
            .get("questionAnswers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(answer) = string(a, "answerValue") else {
                continue;
            };
            let answer = answer.trim();
            if !(answer.starts_with("https://") || answer.starts_with("http://"))
                || answer.contains(char::is_whitespace)
            {
                continue;
            }
            let question = string(a, "questionId")
                .and_then(|id| questions.get(&id))
                .and_then(|q| string(q, "question"))
                .unwrap_or_default();
            ev.links.push((question, answer.to_owned()));
        }
        source.events.push(ev);
    }
    Ok(source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::source::Time;

    #[test]
    fn joins_speakers_rooms_questions_and_service_sessions() {
        let v = serde_json::json!({
          "sessions": [
            {"id": "658419", "title": "Keynote", "description": "D", "startsAt": "2024-04-20T09:00:00",
             "endsAt": "2024-04-20T09:45:00", "isServiceSession": false, "speakers": ["a", "b"],
             "categoryItems": [7], "roomId": 47112, "liveUrl": null, "recordingUrl": null,
             "questionAnswers": [{"questionId": 71787, "answerValue": "keynote-java-ai"},
                                 {"questionId": 71788, "answerValue": "https://youtube.com/live/x"}]},
            {"id": "93adc33b-fa58-4e9b-89cb-8c67a42fd276", "title": "Breakfast", "description": null,
             "startsAt": "2026-06-12T07:00:00", "endsAt": "2026-06-12T08:00:00",
             "isServiceSession": true, "speakers": [], "roomId": 1},
            {"id": "9", "title": "Unscheduled", "startsAt": null, "endsAt": null}
          ],
          "speakers": [{"id": "a", "fullName": "Ed Burns"}, {"id": "b", "firstName": "Sandra", "lastName": "A"}],
          "questions": [{"id": 71787, "question": "Short Title"}, {"id": 71788, "question": "YouTube Video"}],
          "categories": [{"id": 1, "title": "Track", "items": [{"id": 7, "name": "Java"}]}],
          "rooms": [{"id": 47112, "name": "Aula"}, {"id": 1, "name": "East Ballroom"}]
        });
        let s = read_value(&v).unwrap();
        assert_eq!(s.events.len(), 2);
        let k = &s.events[0];
        assert_eq!(k.speakers, ["Ed Burns", "Sandra A"]);
        assert_eq!(k.room.as_deref(), Some("Aula"));
        assert_eq!(k.tracks, ["Java"]);
        assert_eq!(
            k.links,
            [(
                "YouTube Video".to_owned(),
                "https://youtube.com/live/x".to_owned()
            )]
        );
        assert!(
            matches!(k.start, Time::Local(_)),
            "no offset: the operator's zone"
        );
        assert_eq!(s.events[1].kind.as_deref(), Some("break"));
        assert!(s.warnings[0]
            .to_string()
            .contains("event 9 \"Unscheduled\""));
        assert!(s.timezone.is_none() && s.name.is_none());
    }
}
