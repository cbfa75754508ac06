//! The `.ics` endpoints: a conference's feed (with the API's filters) and a
//! single talk, with ETag / Last-Modified revalidation.

use std::time::{Duration, SystemTime};

use actix_web::http::header::{self, HttpDate};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{conf_slug, session_id, ApiError, AppState};
use crate::domain::SessionFilter;
use crate::ical::feed::{self, CalendarMeta, Event, Site};
use crate::store::ConferenceRecord;

/// Shared caches may keep a public feed for five minutes, then must
/// revalidate (cheap: a 304 when nothing changed).
const PUBLIC_CACHE: &str = "public, max-age=300, must-revalidate";

/// `GET|HEAD /conferences/{conf}/sessions.ics?day=…&room=…`
pub async fn conference_feed(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let slug = conf_slug(&path)?;
    let filter =
        SessionFilter::from_feed_query(req.query_string()).map_err(ApiError::unreadable)?;
    let f = filter.clone();
    let (conf, sessions) = state.db(move |s| s.sessions(&slug, &f)).await?;
    let c = &conf.conference;
    let query = filter.canonical();
    let suffix = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let meta = CalendarMeta {
        name: calendar_name(&conf, &filter),
        description: format!(
            "Sessions of {}{}, kept up to date by confcal.",
            c.name,
            c.venue
                .as_deref()
                .map(|v| format!(" at {v}"))
                .unwrap_or_default()
        ),
        source_url: format!(
            "{}/conferences/{}/sessions.ics{suffix}",
            state.base_url, c.slug
        ),
        page_url: format!("{}/conferences/{}{suffix}", state.base_url, c.slug),
        tz: c.tz,
        empty_window: conference_window(&conf),
    };
    let events: Vec<Event<'_>> = sessions
        .iter()
        .map(|s| Event {
            conference: c,
            session: s,
        })
        .collect();
    let body = feed::render(&meta, &events, &site(&state));
    Ok(ics_response(
        &req,
        body,
        // The conference's last change, not only its listed sessions': a
        // session that left this filter changes the feed too.
        conf.last_modified,
        &format!(
            "inline; filename=\"{}\"",
            feed_filename(c.slug.as_str(), &filter)
        ),
        PUBLIC_CACHE,
    ))
}

/// `GET|HEAD /conferences/{conf}/sessions/{id}.ics`
pub async fn session_ics(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (conf, id) = path.into_inner();
    let (slug, id) = (conf_slug(&conf)?, session_id(&id)?);
    let (conf, session) = state.db(move |s| s.session(&slug, &id)).await?;
    let c = &conf.conference;
    let d = &session.data;
    let meta = CalendarMeta {
        name: format!("{} · {}", c.name, d.title),
        description: format!("{} at {}", d.title, c.name),
        source_url: format!(
            "{}/conferences/{}/sessions/{}.ics",
            state.base_url, c.slug, d.id
        ),
        page_url: feed::session_page_url(&state.base_url, c.slug.as_str(), d.id.as_str()),
        tz: c.tz,
        empty_window: (d.start, d.end),
    };
    let events = [Event {
        conference: c,
        session: &session,
    }];
    let body = feed::render(&meta, &events, &site(&state));
    Ok(ics_response(
        &req,
        body,
        session.last_modified,
        &format!("attachment; filename=\"{}.ics\"", d.id),
        PUBLIC_CACHE,
    ))
}

fn site(state: &AppState) -> Site<'_> {
    Site {
        base_url: &state.base_url,
        uid_host: &state.uid_host,
    }
}

fn conference_window(conf: &ConferenceRecord) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = conf.first_start.unwrap_or(conf.created);
    (first, conf.last_end.unwrap_or(first))
}

/// "PyCon US 2012 · Friday 9 March · E2": what the filter selects, in words.
pub fn calendar_name(conf: &ConferenceRecord, f: &SessionFilter) -> String {
    let mut parts = vec![conf.conference.name.clone()];
    if !f.days.is_empty() {
        let days: Vec<String> = f
            .days
            .iter()
            .map(|d| d.format("%A %-d %B").to_string())
            .collect();
        parts.push(days.join(" or "));
    }
    if !f.rooms.is_empty() {
        parts.push(f.rooms.join(" or "));
    }
    if !f.speakers.is_empty() {
        parts.push(format!("by {}", f.speakers.join(" or ")));
    }
    if !f.tracks.is_empty() {
        parts.push(format!("track {}", f.tracks.join(" or ")));
    }
    if !f.q.is_empty() {
        let q: Vec<String> = f.q.iter().map(|q| format!("“{q}”")).collect();
        parts.push(q.join(" or "));
    }
    parts.join(" · ")
}

/// `pycon-us-2012-2012-03-09-e2.ics`: the slug plus the filter values,
/// reduced to characters every file system and browser accepts.
pub fn feed_filename(slug: &str, f: &SessionFilter) -> String {
    let mut name = slug.to_owned();
    let values = f
        .days
        .iter()
        .map(|d| d.to_string())
        .chain(f.rooms.iter().cloned())
        .chain(f.speakers.iter().cloned())
        .chain(f.tracks.iter().cloned())
        .chain(f.q.iter().cloned());
    for v in values {
        let part: String = v
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let part = part
            .split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        if !part.is_empty() && name.len() + part.len() < 120 {
            name.push('-');
            name.push_str(&part);
        }
    }
    format!("{name}.ics")
}

/// A strong validator: the body's SHA-256, so equal bytes give equal tags.
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Answers 200 with the calendar, or 304 when the client's copy is current.
pub fn ics_response(
    req: &HttpRequest,
    body: String,
    last_modified: DateTime<Utc>,
    disposition: &str,
    cache_control: &'static str,
) -> HttpResponse {
    let tag = etag(body.as_bytes());
    let modified =
        SystemTime::UNIX_EPOCH + Duration::from_secs(last_modified.timestamp().max(0) as u64);
    let fresh = not_modified(req, &tag, modified);
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, tag))
        .insert_header((header::LAST_MODIFIED, HttpDate::from(modified)))
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header((header::VARY, "Accept-Encoding"));
    if fresh {
        return res.finish();
    }
    res.insert_header((header::CONTENT_TYPE, "text/calendar; charset=utf-8"))
        .insert_header((header::CONTENT_DISPOSITION, disposition.to_owned()))
        .body(body)
}

/// RFC 9110 §13.2.2: If-None-Match decides when present; otherwise
/// If-Modified-Since (second precision, like our timestamps).
fn not_modified(req: &HttpRequest, tag: &str, modified: SystemTime) -> bool {
    let headers = req.headers();
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        let Ok(inm) = inm.to_str() else { return false };
        return inm
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == tag || t.strip_prefix("W/") == Some(tag));
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<HttpDate>().ok())
        .is_some_and(|since| modified <= SystemTime::from(since))
}
