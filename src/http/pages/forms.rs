//! The pages' forms, every one a POST that changes state and answers
//! 303 See Other: star/unstar from any page (creating the browser's agenda
//! on first use), and the agenda page's unstar, rotate and delete.
//!
//! Every form passes the CSRF check first (see [`super::security`]); what
//! the head shows is checked before the body is read.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use url::form_urlencoded;

use super::security::{self, Privacy};
use super::{agenda_token, PageError};
use crate::domain::agenda::{proposed_token, star_creating_agenda, AgendaToken, Starred};
use crate::domain::{ConferenceSlug, SessionId};
use crate::http::ratelimit::client_ip;
use crate::http::{conf_slug, read_body, session_id, ApiError, AppState};

/// A form body (`application/x-www-form-urlencoded`), first value per key.
async fn read_form(payload: web::Payload) -> Result<HashMap<String, String>, PageError> {
    let body = read_body(payload, 16 * 1024).await?;
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(&body) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    Ok(out)
}

/// The CSRF check every state-changing form passes first: 403 otherwise.
/// A form whose CSRF inputs pass: what the head shows (the `Origin`, the
/// security cookie) is checked before the body is read, the token in the
/// form after.
async fn read_checked_form(
    req: &HttpRequest,
    state: &AppState,
    payload: web::Payload,
    privacy: Privacy,
) -> Result<HashMap<String, String>, PageError> {
    security::precheck_csrf(req, state).map_err(|m| {
        PageError::forbidden(format!("This form cannot be accepted: {m}.")).with_privacy(privacy)
    })?;
    let form = read_form(payload).await?;
    check_csrf(req, state, &form, privacy)?;
    Ok(form)
}

fn check_csrf(
    req: &HttpRequest,
    state: &AppState,
    form: &HashMap<String, String>,
    privacy: Privacy,
) -> Result<(), PageError> {
    security::check_csrf(req, state, form.get("csrf").map(String::as_str)).map_err(|m| {
        PageError::forbidden(format!("This form cannot be accepted: {m}.")).with_privacy(privacy)
    })
}

/// Which session a star form names, and whether to star or unstar it.
fn star_target(
    form: &HashMap<String, String>,
) -> Result<(ConferenceSlug, SessionId, bool), PageError> {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let starred = match get("action") {
        "star" => true,
        "unstar" => false,
        _ => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "The form must say whether to star or unstar.",
            ))
        }
    };
    Ok((
        conf_slug(get("conference"))?,
        session_id(get("session"))?,
        starred,
    ))
}

/// Where to send the browser after a star: the page the form was on (a
/// local path only), at the session's card.
fn back_to(form: &HashMap<String, String>, conf: &ConferenceSlug, id: &SessionId) -> String {
    match form.get("back").and_then(|b| security::local_path(b)) {
        Some(b) => format!("{b}#s-{id}"),
        None => format!("/conferences/{conf}/sessions/{id}"),
    }
}

/// `POST /agendas/star` (form: csrf, conference, session, action, back):
/// stars into the browser's agenda, creating it (and its cookie) when the
/// browser has none or the one it names is gone.
pub(super) async fn star_from_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = read_checked_form(&req, &state, payload, Privacy::Public).await?;
    let (conf, id, starred) = star_target(&form)?;
    let location = back_to(&form, &conf, &id);

    let existing = security::agenda_token(&req, &state).map(|t| t.hash());
    let (store, gate, ip) = (state.store.clone(), state.clone(), client_ip(&req));
    let outcome = web::block(move || {
        star_creating_agenda(
            &store,
            existing.as_ref(),
            &conf,
            &id,
            starred,
            Utc::now(),
            || -> Result<AgendaToken, ApiError> {
                gate.limits.create_agenda_from(ip)?;
                AgendaToken::generate().map_err(|e| ApiError::Internal(e.to_string()))
            },
        )
    })
    .await
    .map_err(ApiError::from)??;
    let new_cookie = match outcome {
        Starred::Created(t) => Some(security::agenda_cookie(&state, &t)),
        Starred::Existing { .. } | Starred::NoAgenda => None,
    };
    let mut res = security::see_other(&location, Privacy::Public);
    if let Some(c) = new_cookie {
        res.append_header((header::SET_COOKIE, c));
    }
    Ok(res.finish())
}

/// `POST /agendas/{token}/stars`: the agenda page's unstar (and re-star)
/// buttons act on that agenda, whichever the cookie names.
pub(super) async fn star_on_agenda(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let t = agenda_token(&path)?;
    let form = read_checked_form(&req, &state, payload, Privacy::Agenda).await?;
    let (conf, id, starred) = star_target(&form)?;
    let (h, c, i) = (t.hash(), conf.clone(), id.clone());
    state
        .db(move |s| s.set_star(&h, &c, &i, starred, Utc::now()))
        .await
        .map_err(|e| PageError::from(e).private())?;
    Ok(security::see_other(&format!("/agendas/{}", t.expose()), Privacy::Agenda).finish())
}

/// `POST /agendas/{token}/rotate`: a new token; the old one stops working.
///
/// The form carries the new token (`new_token`, a fresh one on every view
/// of the agenda page), so a browser that sends the form again because the
/// answer never came lands on the same new address, not on a 404 (see
/// [`crate::store::Store::rotate_agenda`]). A form without it (an older
/// page) gets a token picked here.
pub(super) async fn rotate(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let old = agenda_token(&path)?;
    let form = read_checked_form(&req, &state, payload, Privacy::Agenda).await?;
    let new = match form.get("new_token").filter(|t| !t.is_empty()) {
        Some(raw) => proposed_token(raw, &old).map_err(|e| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "This form cannot be used: {}. Open the agenda page again.",
                    e.message
                ),
            )
            .private()
        })?,
        None => AgendaToken::generate().map_err(|e| ApiError::Internal(e.to_string()))?,
    };
    let (oh, nh) = (old.hash(), new.hash());
    state
        .db(move |s| s.rotate_agenda(&oh, &nh, Utc::now()))
        .await
        .map_err(|e| PageError::from(e).private())?;
    Ok(
        security::see_other(&format!("/agendas/{}", new.expose()), Privacy::Agenda)
            .append_header((header::SET_COOKIE, security::agenda_cookie(&state, &new)))
            .finish(),
    )
}

/// `POST /agendas/{token}/delete`
pub(super) async fn delete(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let t = agenda_token(&path)?;
    read_checked_form(&req, &state, payload, Privacy::Agenda).await?;
    let hash = t.hash();
    state
        .db(move |s| s.delete_agenda(&hash))
        .await
        .map_err(|e| PageError::from(e).private())?;
    let mut res = security::see_other("/agendas", Privacy::Agenda);
    if security::agenda_token(&req, &state).as_ref() == Some(&t) {
        res.append_header((header::SET_COOKIE, security::clear_agenda_cookie(&state)));
    }
    Ok(res.finish())
}
