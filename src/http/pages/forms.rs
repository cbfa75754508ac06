//! The pages' forms, every one a POST that changes state and answers
//! 303 See Other: star/unstar from any page (creating the browser's agenda
//! on first use), and the agenda page's unstar, rotate and delete.
//!
//! Every form passes the CSRF check first (see [`super::security`]); what
//! the head shows is checked before the body is read.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::http::{header, StatusCode};
use actix_web::{dev, web, FromRequest, HttpRequest, HttpResponse};
use chrono::Utc;
use url::form_urlencoded;

use super::security::{self, Privacy};
use super::{agenda_token, PageError};
use crate::domain::agenda::{proposed_token, star_creating_agenda, AgendaToken, Star, Starred};
use crate::domain::urls::{card, LOCAL};
use crate::domain::{ConferenceSlug, SessionId};
use crate::http::ratelimit::client_ip;
use crate::http::{conf_slug, read_body, session_id, AppState, HttpError};

/// A form's fields (`application/x-www-form-urlencoded`), first value per
/// key.
type Fields = HashMap<String, String>;

/// Largest form body: the forms hold a few short fields.
const FORM_LIMIT: usize = 16 * 1024;

/// A form that passed the CSRF check, the precondition of every
/// state-changing form (403 otherwise): what the head shows (the `Origin`,
/// the security cookie) is checked before the body is read, the token in
/// the form after. Taking the form through this extractor is the only way
/// a handler gets one, so no form can skip the check.
pub(super) struct CheckedForm(pub Fields);

/// The agenda page's forms (`/agendas/{token}/…`): the agenda token from
/// the path (an unknown-looking one is the same 404 as any unknown token,
/// and counts against the client's limit), then the checked form, every
/// failure answered with the agenda pages' privacy.
pub(super) struct AgendaForm {
    pub token: AgendaToken,
    pub fields: Fields,
}

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, PageError>>>>;

impl FromRequest for CheckedForm {
    type Error = PageError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let (req, payload) = (req.clone(), payload.take());
        Box::pin(async move {
            let fields = read_checked_form(&req, payload, Privacy::Public).await?;
            Ok(CheckedForm(fields))
        })
    }
}

impl FromRequest for AgendaForm {
    type Error = PageError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let (req, payload) = (req.clone(), payload.take());
        Box::pin(async move {
            let token = agenda_token(&req)?;
            let fields = read_checked_form(&req, payload, Privacy::Agenda).await?;
            Ok(AgendaForm { token, fields })
        })
    }
}

/// See [`CheckedForm`].
async fn read_checked_form(
    req: &HttpRequest,
    payload: dev::Payload,
    privacy: Privacy,
) -> Result<Fields, PageError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("the app has its state");
    let refused = |m: String| {
        PageError::forbidden(format!("This form cannot be accepted: {m}.")).with_privacy(privacy)
    };
    security::precheck_csrf(req, state).map_err(refused)?;
    crate::http::body::refuse_declared_over(req.headers(), FORM_LIMIT)?;
    let body = read_body(payload, FORM_LIMIT).await?;
    let mut fields = Fields::new();
    for (k, v) in form_urlencoded::parse(&body) {
        fields
            .entry(k.into_owned())
            .or_insert_with(|| v.into_owned());
    }
    security::check_csrf(req, state, fields.get("csrf").map(String::as_str)).map_err(refused)?;
    Ok(fields)
}

/// Which session a star form names, and whether to star or unstar it:
/// `action=star|unstar&session=ID` (a talk's own form), or
/// `star=ID`/`unstar=ID` (the button pressed in a list's one shared form,
/// which keeps a 1,000-talk page from carrying 1,000 forms).
fn star_target(form: &Fields) -> Result<(ConferenceSlug, SessionId, bool), PageError> {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    for (key, starred) in [("star", true), ("unstar", false)] {
        if let Some(id) = form.get(key).filter(|_| !form.contains_key("action")) {
            return Ok((conf_slug(get("conference"))?, session_id(id)?, starred));
        }
    }
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
fn back_to(form: &Fields, conf: &ConferenceSlug, id: &SessionId) -> String {
    match form.get("back").and_then(|b| security::local_path(b)) {
        Some(b) => card(b, id),
        None => LOCAL.session(conf, id),
    }
}

/// `POST /agendas/star` (form: csrf, conference, session, action, back):
/// stars into the browser's agenda, creating it (and its cookie) when the
/// browser has none or the one it names is gone.
pub(super) async fn star_from_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    CheckedForm(form): CheckedForm,
) -> Result<HttpResponse, PageError> {
    let (conf, id, starred) = star_target(&form)?;
    let location = back_to(&form, &conf, &id);

    let existing = security::agenda_token(&req, &state).map(|t| t.hash());
    let (store, gate, ip) = (state.store.clone(), state.clone(), client_ip(&req));
    let outcome = web::block(move || {
        star_creating_agenda(
            &store,
            existing.as_ref(),
            Star {
                conference: &conf,
                session: &id,
                starred,
                at: Utc::now(),
            },
            || -> Result<AgendaToken, HttpError> {
                gate.limits.create_agenda_from(ip)?;
                AgendaToken::generate().map_err(HttpError::internal)
            },
        )
    })
    .await
    .map_err(HttpError::from)??;
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
    form: AgendaForm,
) -> Result<HttpResponse, PageError> {
    let AgendaForm { token: t, fields } = form;
    let (conf, id, starred) = star_target(&fields)?;
    let (h, c, i) = (t.hash(), conf.clone(), id.clone());
    state
        .db(move |s| s.set_star(&h, &c, &i, starred, Utc::now()))
        .await
        .map_err(|e| PageError::from(e).private())?;
    Ok(security::see_other(&LOCAL.agenda(&t), Privacy::Agenda).finish())
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
    form: AgendaForm,
) -> Result<HttpResponse, PageError> {
    let AgendaForm { token: old, fields } = form;
    let new = match fields.get("new_token").filter(|t| !t.is_empty()) {
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
        None => AgendaToken::generate().map_err(HttpError::internal)?,
    };
    let (oh, nh) = (old.hash(), new.hash());
    state
        .db(move |s| s.rotate_agenda(&oh, &nh, Utc::now()))
        .await
        .map_err(|e| PageError::from(e).private())?;
    Ok(security::see_other(&LOCAL.agenda(&new), Privacy::Agenda)
        .append_header((header::SET_COOKIE, security::agenda_cookie(&state, &new)))
        .finish())
}

/// `POST /agendas/{token}/delete`
pub(super) async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: AgendaForm,
) -> Result<HttpResponse, PageError> {
    let t = form.token;
    let hash = t.hash();
    state
        .db(move |s| s.delete_agenda(&hash))
        .await
        .map_err(|e| PageError::from(e).private())?;
    let mut res = security::see_other(&LOCAL.my_agenda(), Privacy::Agenda);
    if security::agenda_token(&req, &state).as_ref() == Some(&t) {
        res.append_header((header::SET_COOKIE, security::clear_agenda_cookie(&state)));
    }
    Ok(res.finish())
}
