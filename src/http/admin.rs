//! The admin API: replace a whole schedule, create or replace one session,
//! cancel one. Enabled only when an admin token is configured: every
//! handler here takes [`AdminAuth`] as its first argument, so the token is
//! checked before anything else, the body included.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde::Serialize;

use super::auth::AdminAuth;
use super::{conf_slug, read_body, session_id, ApiError, AppState};
use crate::domain::schedule::{parse_document, parse_json, parse_value, SessionDoc};
use crate::domain::ValidationError;

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
    _admin: AdminAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let slug = conf_slug(&path).map_err(|_| {
        ApiError::bad_request(
            "conference",
            format!("{:?} is not a valid conference slug", *path),
        )
    })?;
    let body = read_body(payload, state.body_limit).await?;
    let doc = parse_document(&body).map_err(ApiError::unreadable)?;
    let schedule = doc.validate().map_err(ApiError::invalid)?;
    if schedule.conference.slug != slug {
        return Err(ApiError::invalid(ValidationError::new(
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
    _admin: AdminAuth,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (conf, id) = path.into_inner();
    let slug = conf_slug(&conf)?;
    let id = crate::domain::SessionId::parse(&id).map_err(|m| ApiError::bad_request("id", m))?;
    let body = read_body(payload, state.body_limit).await?;
    let mut value: serde_json::Value = parse_json(&body).map_err(ApiError::unreadable)?;
    match value.get("id") {
        None => {
            if let Some(obj) = value.as_object_mut() {
                obj.insert("id".into(), id.as_str().into());
            }
        }
        Some(given) if given.as_str() == Some(id.as_str()) => {}
        Some(_) => {
            return Err(ApiError::invalid(ValidationError::new(
                "id",
                format!("the body's id differs from {:?} in the URL", id.as_str()),
            )))
        }
    }
    let doc: SessionDoc = parse_value(value).map_err(ApiError::unreadable)?;
    let tz_slug = slug.clone();
    let conf = state.db(move |s| s.conference(&tz_slug)).await?;
    let data = doc
        .validate(conf.conference.tz)
        .map_err(ApiError::invalid)?;
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
        "session": super::api::SessionJson::new(&session, &conf, &state.base_url),
    })))
}

/// `DELETE /api/conferences/{conf}/sessions/{id}`: cancel (never delete).
pub async fn cancel_session(
    _admin: AdminAuth,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (conf, id) = path.into_inner();
    let (slug, id) = (conf_slug(&conf)?, session_id(&id)?);
    let (s2, i2) = (slug.clone(), id.clone());
    let outcome = state
        .db(move |s| s.cancel_session(&s2, &i2, Utc::now()))
        .await?;
    let (conf, session) = state.db(move |s| s.session(&slug, &id)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "outcome": outcome,
        "session": super::api::SessionJson::new(&session, &conf, &state.base_url),
    })))
}
