//! The feed endpoints: a conference's feed (with the API's filters, also
//! under its short `/feeds/{code}.ics` address), a single talk's `.ics`,
//! and an agenda's private feed; and the current rendering of conference
//! and agenda feeds, which the subscribe panel measures.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};

use super::cache::Key;
use super::current::rendered_feed;
use super::representation::Rendered;
use super::respond::respond;
use crate::domain::agenda::AgendaToken;
use crate::domain::{ConferenceSlug, FeedOptions, SessionFilter};
use crate::http::error::Missing;
use crate::http::extract::{AgendaPath, ConferencePath, SessionPath};
use crate::http::{AppState, HttpError};
use crate::ical::calendars::{agenda_calendar, conference_calendar, session_calendar, Calendar};
use crate::store::is_feed_code;

/// Shared caches may keep a public feed for five minutes, then must
/// revalidate (cheap: a 304 when nothing changed).
pub const PUBLIC_CACHE: &str = "public, max-age=300, must-revalidate";

/// Agenda feeds are one person's: no shared cache may keep them.
pub const PRIVATE_CACHE: &str = "private, max-age=300, must-revalidate";

/// `GET|HEAD /conferences/{conf}/sessions.ics?day=…&room=…&alarm=…&compact=…`
pub async fn conference_feed(
    state: web::Data<AppState>,
    ConferencePath(slug): ConferencePath,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let (filter, options) = feed_query(req.query_string())?;
    let rendered = conference_rendered(&state, slug, filter, options).await?;
    respond(&req, rendered, PUBLIC_CACHE).await
}

/// `GET|HEAD /feeds/{code}.ics`: the short address of a conference feed
/// whose filter makes a long URL (see [`crate::store::feed_code`]). The
/// same representation, ETags included, as the long address.
pub async fn short_feed(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let code = path.into_inner();
    let unknown = || HttpError::not_found(Missing::Feed, "no such feed address");
    if !is_feed_code(&code) {
        return Err(unknown());
    }
    let (slug, query) = state
        .db(move |s| s.feed_link(&code))
        .await?
        .ok_or_else(unknown)?;
    let (filter, options) = feed_query(&query)?;
    let rendered = conference_rendered(&state, slug, filter, options).await?;
    respond(&req, rendered, PUBLIC_CACHE).await
}

/// A conference feed's filter and options from its query string.
pub fn feed_query(query: &str) -> Result<(SessionFilter, FeedOptions), HttpError> {
    let filter = SessionFilter::from_feed_query(query).map_err(HttpError::unreadable)?;
    let options = FeedOptions::from_query(query).map_err(HttpError::unreadable)?;
    Ok((filter, options))
}

/// The current rendering of a conference feed (see [`rendered_feed`]).
pub async fn conference_rendered(
    state: &AppState,
    slug: ConferenceSlug,
    filter: SessionFilter,
    options: FeedOptions,
) -> Result<Arc<Rendered>, HttpError> {
    let key = Key::Conference {
        slug: slug.to_string(),
        filter: filter.canonical(),
        options,
    };
    let site = state.site.clone();
    let s2 = slug.clone();
    rendered_feed(
        state,
        key,
        move |s| s.conference_version(&s2).map(|v| v.to_string()),
        move |s| {
            let (conf, calendar) = conference_calendar(&site, &filter, options, |each| {
                s.each_session(&slug, &filter, each)
            })?;
            Ok((conf.version.to_string(), rendered(calendar, "inline")))
        },
    )
    .await
}

/// A calendar as the cache keeps it, with its `Content-Disposition`:
/// feeds are shown `inline`, a single talk's `.ics` is an `attachment`
/// (a download).
fn rendered(c: Calendar, disposition: &str) -> Rendered {
    Rendered::new(
        c.body,
        c.last_modified,
        format!("{disposition}; filename=\"{}\"", c.filename),
    )
}

/// `GET|HEAD /conferences/{conf}/sessions/{id}.ics`
pub async fn session_ics(
    state: web::Data<AppState>,
    SessionPath { slug, id }: SessionPath,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let options =
        FeedOptions::from_options_query(req.query_string()).map_err(HttpError::unreadable)?;
    let key = Key::Session {
        slug: slug.to_string(),
        id: id.to_string(),
        options,
    };
    let site = state.site.clone();
    let s2 = slug.clone();
    let rendered = rendered_feed(
        &state,
        key,
        move |s| s.conference_version(&s2).map(|v| v.to_string()),
        move |s| {
            let (conf, session) = s.session(&slug, &id)?;
            let calendar = session_calendar(&site, &conf, &session, options);
            Ok((conf.version.to_string(), rendered(calendar, "attachment")))
        },
    )
    .await?;
    respond(&req, rendered, PUBLIC_CACHE).await
}

/// `GET|HEAD /agendas/{token}.ics`
pub async fn agenda_feed(
    state: web::Data<AppState>,
    AgendaPath(t): AgendaPath,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let options =
        FeedOptions::from_options_query(req.query_string()).map_err(HttpError::unreadable)?;
    let rendered = agenda_rendered(&state, t, options).await?;
    respond(&req, rendered, PRIVATE_CACHE).await
}

/// The current rendering of an agenda feed (see [`rendered_feed`]).
pub async fn agenda_rendered(
    state: &AppState,
    t: AgendaToken,
    options: FeedOptions,
) -> Result<Arc<Rendered>, HttpError> {
    let hash = t.hash();
    let site = state.site.clone();
    rendered_feed(
        state,
        Key::Agenda {
            hash: hash.0,
            options,
        },
        move |s| s.agenda_stamp(&hash),
        move |s| {
            // Stamp first, then data: if a change lands in between, the
            // newer data is filed under the older stamp, and the next
            // request (seeing the new stamp) renders again. Never stale.
            let stamp = s.agenda_stamp(&hash)?;
            let view = s.agenda(&hash)?;
            let calendar = agenda_calendar(&site, &t, &view, options);
            Ok((stamp, rendered(calendar, "inline")))
        },
    )
    .await
}
