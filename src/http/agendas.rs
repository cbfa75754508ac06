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
use super::{conf_slug, read_body, session_id, ApiError, AppState};
use crate::domain::agenda::AgendaToken;
use crate::domain::schedule::parse_json;
use crate::domain::{AgendaView, SessionRecord, Status};

pub use crate::domain::agenda::DEFAULT_NAME;
const MAX_NAME: usize = 100;

/// An agenda token from the URL: one that cannot be a token is not found,
/// like any unknown one.
pub(crate) fn token(raw: &str) -> Result<AgendaToken, ApiError> {
    AgendaToken::parse(raw).ok_or_else(|| ApiError::not_found("token", "no such agenda"))
}

#[derive(Serialize)]
struct Links {
    token: String,
    feed_url: String,
    webcal_url: String,
    manage_url: String,
}

fn links(state: &AppState, t: &AgendaToken) -> Links {
    let feed_url = format!("{}/agendas/{}.ics", state.site.base_url, t.expose());
    Links {
        token: t.expose().to_owned(),
        webcal_url: webcal(&feed_url),
        manage_url: format!("{}/agendas/{}", state.site.base_url, t.expose()),
        feed_url,
    }
}

/// `webcal://…`: the scheme that makes Apple Calendar and Thunderbird offer
/// to subscribe instead of importing once.
pub fn webcal(url: &str) -> String {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    format!("webcal://{rest}")
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NewAgenda {
    #[serde(default)]
    name: Option<String>,
}

pub fn agenda_name(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(n) if n.chars().count() > MAX_NAME => Err(ApiError::Unprocessable {
            field: Some("name".into()),
            message: format!("longer than {MAX_NAME} characters"),
        }),
        Some(n) if n.chars().any(char::is_control) => Err(ApiError::Unprocessable {
            field: Some("name".into()),
            message: "must be one line without control characters".into(),
        }),
        Some(n) => Ok(Some(n.to_owned())),
    }
}

/// Creates an agenda and returns its (only ever shown once) token.
pub async fn create_agenda(
    state: &AppState,
    name: Option<String>,
) -> Result<AgendaToken, ApiError> {
    let t = AgendaToken::generate().map_err(|e| ApiError::Internal(e.to_string()))?;
    let hash = t.hash();
    state
        .db(move |s| s.create_agenda(&hash, name.as_deref(), Utc::now()))
        .await?;
    Ok(t)
}

/// `POST /api/agendas` (optional JSON `{"name": "..."}`).
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    state.limits.create_agenda(&req)?;
    let body = read_body(payload, 4096).await?;
    let req: NewAgenda = if body.iter().all(u8::is_ascii_whitespace) {
        NewAgenda::default()
    } else {
        parse_json(&body).map_err(ApiError::unreadable)?
    };
    let name = agenda_name(req.name.as_deref())?;
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

#[derive(Serialize)]
pub struct SessionRef<'a> {
    pub conference: &'a str,
    pub id: &'a str,
    pub title: &'a str,
}

#[derive(Serialize)]
pub struct Conflict<'a> {
    pub a: SessionRef<'a>,
    pub b: SessionRef<'a>,
}

/// Pairs of starred, not cancelled sessions whose times overlap (sharing
/// only an end/start instant is not an overlap), in start order.
pub fn conflicts(view: &AgendaView) -> Vec<Conflict<'_>> {
    let live: Vec<&(String, SessionRecord)> = view
        .sessions
        .iter()
        .filter(|(_, s)| s.status == Status::Confirmed)
        .collect();
    fn r((c, s): &(String, SessionRecord)) -> SessionRef<'_> {
        SessionRef {
            conference: c,
            id: s.data.id.as_str(),
            title: &s.data.title,
        }
    }
    let mut out = Vec::new();
    // `live` is sorted by start, so the inner scan stops at the first
    // session that starts after this one ends.
    for (i, a) in live.iter().enumerate() {
        for b in &live[i + 1..] {
            if b.1.data.start >= a.1.data.end {
                break;
            }
            out.push(Conflict { a: r(a), b: r(b) });
        }
    }
    out
}

/// `GET /api/agendas/{token}`
pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let t = token(&path)?;
    let hash = t.hash();
    let view = state.db(move |s| s.agenda(&hash)).await?;
    let sessions: Vec<StarredJson<'_>> = view
        .sessions
        .iter()
        .map(|(slug, s)| StarredJson {
            conference: slug,
            session: SessionJson::new(s, &view.conferences[slug], &state.site.base_url),
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
) -> Result<HttpResponse, ApiError> {
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

/// Fewest distinct characters a proposed token may have. 43 random
/// base64url characters have about 31; fewer than 16 happens by chance
/// about never, and catches `AAAA…` and `abab…`.
const MIN_DISTINCT: usize = 16;

/// Checks a client's proposed new token: a token's exact shape (43
/// base64url characters, i.e. 256 bits), not the old one, not obviously
/// made by hand. The messages never repeat the token.
pub fn proposed_token(raw: &str, old: &AgendaToken) -> Result<AgendaToken, ApiError> {
    let invalid = |message: &str| ApiError::Unprocessable {
        field: Some("token".into()),
        message: message.into(),
    };
    let t = AgendaToken::parse(raw).ok_or_else(|| {
        invalid(
            "a token is 43 characters of A-Z, a-z, 0-9, '-' and '_': 32 random bytes \
             in base64url",
        )
    })?;
    if &t == old {
        return Err(invalid("the new token must differ from the old one"));
    }
    let distinct: std::collections::HashSet<u8> = raw.bytes().collect();
    if distinct.len() < MIN_DISTINCT {
        return Err(invalid(
            "this token does not look random: make it from 32 bytes of a CSPRNG",
        ));
    }
    Ok(t)
}

/// `POST /api/agendas/{token}/rotate`, optionally `{"token": "<new>"}`.
///
/// With a proposed token the call can be repeated: if its answer was lost
/// (a crash or a dropped connection after the commit), sending the same
/// request again answers the same links (see [`crate::store::Store::rotate_agenda`]).
/// Without one the server picks the token, and a lost answer loses it.
pub async fn rotate(
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let old = token(&path)?;
    let body = read_body(payload, 4096).await?;
    let asked: Rotation = if body.iter().all(u8::is_ascii_whitespace) {
        Rotation::default()
    } else {
        parse_json(&body).map_err(ApiError::unreadable)?
    };
    let new = match asked.token {
        Some(raw) => proposed_token(&raw, &old)?,
        None => AgendaToken::generate().map_err(|e| ApiError::Internal(e.to_string()))?,
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
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let hash = token(&path)?.hash();
    state.db(move |s| s.delete_agenda(&hash)).await?;
    Ok(HttpResponse::NoContent().finish())
}
