//! The read-only JSON API: conferences and their sessions, each answer
//! with validators like the feeds' (see [`json_ok`]).

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::extract::{ConferencePath, SessionPath};
use super::feeds::{compress, strong_etag, Variant};
use super::protocol::if_none_match;
use super::{AppState, HttpError};
use crate::domain::{ConferenceRecord, Link, SessionFilter, SessionRecord, Site, Status};

#[derive(Serialize)]
pub struct ConferenceJson<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub timezone: &'a str,
    pub venue: Option<&'a str>,
    pub url: Option<&'a str>,
    pub address: Option<&'a str>,
    pub geo: Option<GeoJson>,
    pub color: Option<&'a str>,
    pub session_count: i64,
    pub start: Option<String>,
    pub end: Option<String>,
    pub last_modified: String,
    pub sessions_url: String,
    pub feed_url: String,
}

impl<'a> ConferenceJson<'a> {
    pub fn new(rec: &'a ConferenceRecord, site: &Site) -> Self {
        let c = &rec.conference;
        ConferenceJson {
            slug: c.slug.as_str(),
            name: &c.name,
            timezone: c.tz.name(),
            venue: c.venue.as_deref(),
            url: c.url.as_deref(),
            address: c.address.as_deref(),
            geo: c.geo.map(|g| GeoJson {
                lat: g.lat(),
                lon: g.lon(),
            }),
            color: c.color.as_deref(),
            session_count: rec.session_count,
            start: rec.first_start.map(|t| local_rfc3339(t, c.tz)),
            end: rec.last_end.map(|t| local_rfc3339(t, c.tz)),
            last_modified: utc_rfc3339(rec.last_modified),
            sessions_url: site.links().api_sessions(&c.slug),
            feed_url: site.links().conference_feed(&c.slug, ""),
        }
    }
}

/// `{"lat": 37.4039, "lon": -121.974}`, as the schedule document has it.
#[derive(Serialize)]
pub struct GeoJson {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Serialize)]
pub struct SessionJson<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub speakers: &'a [String],
    pub start: String,
    pub end: String,
    pub room: Option<&'a str>,
    pub tracks: &'a [String],
    #[serde(rename = "abstract")]
    pub abstract_: &'a str,
    pub notes: Option<&'a str>,
    pub url: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub links: &'a [Link],
    /// `de` or `de, en`; `null` when not known.
    pub language: Option<&'a str>,
    pub status: Status,
    pub sequence: i64,
    pub created: String,
    pub last_modified: String,
    pub ics_url: String,
}

impl<'a> SessionJson<'a> {
    pub fn new(s: &'a SessionRecord, conf: &ConferenceRecord, site: &Site) -> Self {
        let tz = conf.conference.tz;
        let d = &s.data;
        SessionJson {
            id: d.id.as_str(),
            title: &d.title,
            speakers: &d.speakers,
            start: local_rfc3339(d.start, tz),
            end: local_rfc3339(d.end, tz),
            room: d.room.as_deref(),
            tracks: &d.tracks,
            abstract_: &d.abstract_,
            notes: d.notes.as_deref(),
            url: d.url.as_deref(),
            kind: d.kind.as_deref(),
            links: &d.links,
            language: d.language.as_deref(),
            status: s.status,
            sequence: s.sequence,
            created: utc_rfc3339(s.created),
            last_modified: utc_rfc3339(s.last_modified),
            ics_url: site.links().session_feed(&conf.conference.slug, &d.id, ""),
        }
    }
}

/// `2012-03-09T14:00:00-08:00`: the local time with the offset in force at
/// that instant, so the string is both readable and unambiguous.
pub fn local_rfc3339(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

pub fn utc_rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Caches may keep an API answer but must ask before each use: programs
/// read the API right after changing it (an admin sync, then a check), so
/// freshness comes first, and the 304 makes asking cheap. (Feeds, polled
/// by calendars hours apart, may be kept five minutes.)
pub const API_CACHE: &str = "public, no-cache";

/// Bodies above this are compressed on a blocking thread.
const COMPRESS_INLINE: usize = 64 * 1024;

/// A 200 of the read API: `value` as JSON in the best coding the client
/// takes, with a strong ETag per coding (the identity body's hash, plus
/// the coding: the same scheme and compressor settings as the feeds), or a
/// 304 when the client's copy is current, decided before any compression.
pub async fn json_ok(req: &HttpRequest, value: &impl Serialize) -> Result<HttpResponse, HttpError> {
    let body =
        Bytes::from(serde_json::to_vec(value).map_err(|e| HttpError::internal_in("JSON", e))?);
    let variant = Variant::negotiate(req);
    let etag = variant.etag(&strong_etag(&body));
    let fresh = if_none_match(req, &etag) == Some(true);
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, API_CACHE))
        .insert_header((header::VARY, "Accept-Encoding"));
    if fresh {
        return Ok(res.finish());
    }
    res.content_type("application/json");
    let Some(enc) = variant.content_encoding() else {
        return Ok(res.body(body));
    };
    res.insert_header((header::CONTENT_ENCODING, enc.as_str()));
    let compressed = if body.len() <= COMPRESS_INLINE {
        compress(&body, variant)
    } else {
        web::block(move || compress(&body, variant)).await?
    };
    Ok(res.body(compressed))
}

pub async fn conferences(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let confs = state.db(|s| s.conferences()).await?;
    let body: Vec<ConferenceJson<'_>> = confs
        .iter()
        .map(|c| ConferenceJson::new(c, &state.site))
        .collect();
    json_ok(&req, &serde_json::json!({ "conferences": body })).await
}

pub async fn conference(
    state: web::Data<AppState>,
    ConferencePath(slug): ConferencePath,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let conf = state.db(move |s| s.conference(&slug)).await?;
    json_ok(&req, &ConferenceJson::new(&conf, &state.site)).await
}

pub async fn sessions(
    state: web::Data<AppState>,
    ConferencePath(slug): ConferencePath,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let filter = SessionFilter::from_query(req.query_string()).map_err(HttpError::unreadable)?;
    let (conf, sessions) = state.db(move |s| s.sessions(&slug, &filter)).await?;
    let list: Vec<SessionJson<'_>> = sessions
        .iter()
        .map(|s| SessionJson::new(s, &conf, &state.site))
        .collect();
    json_ok(
        &req,
        &serde_json::json!({
            "conference": conf.conference.slug.as_str(),
            "timezone": conf.conference.tz.name(),
            "count": list.len(),
            "sessions": list,
        }),
    )
    .await
}

pub async fn session(
    state: web::Data<AppState>,
    SessionPath { slug, id }: SessionPath,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let (conf, session) = state.db(move |s| s.session(&slug, &id)).await?;
    json_ok(&req, &SessionJson::new(&session, &conf, &state.site)).await
}
