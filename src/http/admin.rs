//! The admin API: replace a whole schedule, create or replace one session,
//! cancel one. Enabled only when an admin token is configured.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{conf_slug, read_body, session_id, AppState, HttpError};
use crate::config::constant_time_eq;
use crate::domain::schedule::{parse_document, parse_json, parse_value, SessionDoc};
use crate::domain::ValidationError;

/// Checks `Authorization: Bearer <token>` against the configured token.
///
/// Both sides are hashed first and the digests compared in constant time,
/// so neither the length nor any prefix of the token leaks through timing.
fn authorize(state: &AppState, req: &HttpRequest) -> Result<(), HttpError> {
    let Some(expected) = &state.admin_token else {
        return Err(HttpError::Forbidden(
            "the admin API is disabled: start confcal with CONFCAL_ADMIN_TOKEN set to enable it"
                .into(),
        ));
    };
    let given = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 9110 §11.1).
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token)
        })
        .ok_or_else(|| {
            HttpError::Unauthorized("send the admin token as Authorization: Bearer <token>".into())
        })?;
    if constant_time_eq(
        &Sha256::digest(given.trim().as_bytes()),
        &Sha256::digest(expected.expose().as_bytes()),
    ) {
        Ok(())
    } else {
        Err(HttpError::Unauthorized("wrong admin token".into()))
    }
}

#[derive(Serialize)]
struct SyncCounts {
    conference: String,
    conference_created: bool,
    created: usize,
    updated: usize,
    cancelled: usize,
    unchanged: usize,
}

/// `PUT /api/conferences/{conf}`: sync the whole schedule.
pub async fn put_schedule(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    authorize(&state, &req)?;
    let slug = conf_slug(&path).map_err(|_| {
        HttpError::bad_request(
            "conference",
            format!("{:?} is not a valid conference slug", *path),
        )
    })?;
    let body = read_body(payload, state.body_limit).await?;
    let doc = parse_document(&body).map_err(HttpError::unreadable)?;
    let schedule = doc.validate().map_err(HttpError::invalid)?;
    if schedule.conference.slug != slug {
        return Err(HttpError::invalid(ValidationError::new(
            "conference.slug",
            format!(
                "the document is for {:?} but was sent to {:?}",
                schedule.conference.slug.as_str(),
                slug.as_str()
            ),
        )));
    }
    let report = state
        .db(move |s| s.sync_schedule(&schedule, Utc::now()))
        .await?;
    let status = if report.conference_created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(SyncCounts {
        conference: slug.to_string(),
        conference_created: report.conference_created,
        created: report.created.len(),
        updated: report.updated.len(),
        cancelled: report.cancelled.len(),
        unchanged: report.unchanged.len(),
    }))
}

/// `PUT /api/conferences/{conf}/sessions/{id}`: create or replace one
/// session. The body is one session object of the schedule document; its
/// `id`, if given, must match the URL.
pub async fn put_session(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    authorize(&state, &req)?;
    let (conf, id) = path.into_inner();
    let slug = conf_slug(&conf)?;
    let id = crate::domain::SessionId::parse(&id).map_err(|m| HttpError::bad_request("id", m))?;
    let body = read_body(payload, state.body_limit).await?;
    let mut value: serde_json::Value = parse_json(&body).map_err(HttpError::unreadable)?;
    match value.get("id") {
        None => {
            if let Some(obj) = value.as_object_mut() {
                obj.insert("id".into(), id.as_str().into());
            }
        }
        Some(given) if given.as_str() == Some(id.as_str()) => {}
        Some(_) => {
            return Err(HttpError::invalid(ValidationError::new(
                "id",
                format!("the body's id differs from {:?} in the URL", id.as_str()),
            )))
        }
    }
    let doc: SessionDoc = parse_value(value).map_err(HttpError::unreadable)?;
    let tz_slug = slug.clone();
    let conf = state.db(move |s| s.conference(&tz_slug)).await?;
    let data = doc
        .validate(conf.conference.tz)
        .map_err(HttpError::invalid)?;
    let (put_slug, put_data) = (slug.clone(), data.clone());
    let outcome = state
        .db(move |s| s.put_session(&put_slug, &put_data, Utc::now()))
        .await?;
    let (conf, session) = state.db(move |s| s.session(&slug, &data.id)).await?;
    let status = if outcome == crate::store::Outcome::Created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(serde_json::json!({
        "outcome": outcome,
        "session": super::api::SessionJson::new(&session, &conf, &state.site),
    })))
}

/// `DELETE /api/conferences/{conf}/sessions/{id}`: cancel (never delete).
pub async fn cancel_session(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    authorize(&state, &req)?;
    let (conf, id) = path.into_inner();
    let (slug, id) = (conf_slug(&conf)?, session_id(&id)?);
    let (s2, i2) = (slug.clone(), id.clone());
    let outcome = state
        .db(move |s| s.cancel_session(&s2, &i2, Utc::now()))
        .await?;
    let (conf, session) = state.db(move |s| s.session(&slug, &id)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "outcome": outcome,
        "session": super::api::SessionJson::new(&session, &conf, &state.site),
    })))
}
