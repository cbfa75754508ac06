//! Personal agendas: create, show, star, unstar, rotate, delete (the feed
//! is served with the others, in [`super::feeds`]).
//!
//! The token in the URL is the only key. Every path that takes a token
//! answers an unknown, malformed, rotated or deleted one with the same 404,
//! and lookups go by the token's hash.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::api::SessionJson;
use super::error::Missing;
use super::extract::AgendaPath;
use super::{conf_slug, read_body, session_id, AppState, HttpError};
use crate::domain::agenda::{agenda_name, conflicts, proposed_token, AgendaToken, DEFAULT_NAME};
use crate::domain::schedule::parse_json;
use crate::domain::urls::webcal;

/// An agenda token from the URL: one that cannot be a token is not found,
/// like any unknown one.
fn token(raw: &str) -> Result<AgendaToken, HttpError> {
    AgendaToken::parse(raw).ok_or_else(|| HttpError::not_found(Missing::Agenda, "no such agenda"))
}

#[derive(Serialize)]
struct Links {
    token: String,
    feed_url: String,
    webcal_url: String,
    manage_url: String,
}

fn links(state: &AppState, t: &AgendaToken) -> Links {
    let feed_url = state.site.links().agenda_feed(t, "");
    Links {
        token: t.expose().to_owned(),
        webcal_url: webcal(&feed_url),
        manage_url: state.site.links().agenda(t),
        feed_url,
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewAgenda {
    #[serde(default)]
    name: Option<String>,
}

/// Creates an agenda and returns its (only ever shown once) token.
pub async fn create_agenda(
    state: &AppState,
    name: Option<String>,
) -> Result<AgendaToken, HttpError> {
    let t = AgendaToken::generate().map_err(HttpError::internal)?;
    let hash = t.hash();
    state
        .db(move |s| s.create_agenda(&hash, name.as_deref(), Utc::now()))
        .await?;
    Ok(t)
}

/// The largest agenda JSON body (a name, a proposed token).
const AGENDA_JSON_LIMIT: usize = 4096;

/// `POST /api/agendas` (optional JSON `{"name": "..."}`).
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    state.limits.create_agenda(&req)?;
    super::body::refuse_declared_over(req.headers(), AGENDA_JSON_LIMIT)?;
    let body = read_body(payload, AGENDA_JSON_LIMIT).await?;
    let req: NewAgenda = if body.iter().all(u8::is_ascii_whitespace) {
        NewAgenda::default()
    } else {
        parse_json(&body).map_err(HttpError::unreadable)?
    };
    let name = agenda_name(req.name.as_deref()).map_err(HttpError::invalid)?;
    let t = create_agenda(&state, name).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(links(&state, &t)))
}

#[derive(Serialize)]
struct StarredJson<'a> {
    conference: &'a str,
    #[serde(flatten)]
    session: SessionJson<'a>,
}

/// `GET /api/agendas/{token}`
pub async fn show(
    state: web::Data<AppState>,
    AgendaPath(t): AgendaPath,
) -> Result<HttpResponse, HttpError> {
    let hash = t.hash();
    let view = state.db(move |s| s.agenda(&hash)).await?;
    let sessions: Vec<StarredJson<'_>> = view
        .sessions
        .iter()
        .map(|(slug, s)| StarredJson {
            conference: slug,
            session: SessionJson::new(s, &view.conferences[slug], &state.site),
        })
        .collect();
    let l = links(&state, &t);
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "private, no-store"))
        .json(serde_json::json!({
            "name": view.agenda.name.as_deref().unwrap_or(DEFAULT_NAME),
            "sessions": sessions,
            "conflicts": conflicts(&view),
            "feed_url": l.feed_url,
            "webcal_url": l.webcal_url,
            "manage_url": l.manage_url,
        })))
}

/// `PUT` (star) and `DELETE` (unstar) `/api/agendas/{token}/sessions/{conf}/{id}`
pub async fn star(
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let (t, conf, id) = path.into_inner();
    let t = token(&t)?;
    let (conf, id) = (conf_slug(&conf)?, session_id(&id)?);
    let starred = req.method() == actix_web::http::Method::PUT;
    let hash = t.hash();
    let (c2, i2) = (conf.clone(), id.clone());
    let changed = state
        .db(move |s| s.set_star(&hash, &c2, &i2, starred, Utc::now()))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "conference": conf.as_str(),
        "id": id.as_str(),
        "starred": starred,
        "changed": changed,
    })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Rotation {
    #[serde(default)]
    token: Option<String>,
}

/// `POST /api/agendas/{token}/rotate`, optionally `{"token": "<new>"}`.
///
/// With a proposed token the call can be repeated: if its answer was lost
/// (a crash or a dropped connection after the commit), sending the same
/// request again answers the same links (see [`crate::store::Store::rotate_agenda`]).
/// Without one the server picks the token, and a lost answer loses it.
pub async fn rotate(
    state: web::Data<AppState>,
    AgendaPath(old): AgendaPath,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    super::body::refuse_declared_over(req.headers(), AGENDA_JSON_LIMIT)?;
    let body = read_body(payload, AGENDA_JSON_LIMIT).await?;
    let asked: Rotation = if body.iter().all(u8::is_ascii_whitespace) {
        Rotation::default()
    } else {
        parse_json(&body).map_err(HttpError::unreadable)?
    };
    let new = match asked.token {
        Some(raw) => proposed_token(&raw, &old).map_err(HttpError::invalid)?,
        None => AgendaToken::generate().map_err(HttpError::internal)?,
    };
    let (oh, nh) = (old.hash(), new.hash());
    state
        .db(move |s| s.rotate_agenda(&oh, &nh, Utc::now()))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(links(&state, &new)))
}

/// `DELETE /api/agendas/{token}`
pub async fn delete(
    state: web::Data<AppState>,
    AgendaPath(t): AgendaPath,
) -> Result<HttpResponse, HttpError> {
    let hash = t.hash();
    state.db(move |s| s.delete_agenda(&hash)).await?;
    Ok(HttpResponse::NoContent().finish())
}
