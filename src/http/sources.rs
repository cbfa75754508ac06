//! The admin API of followed sources (see [`crate::follow`]):
//!
//! - `PUT /api/conferences/{conf}/source`: follow a URL
//!   (`{"url", "format", "timezone", "every_seconds"}`); a fetch is due at once
//! - `GET` on the same path: the state of following it
//! - `POST .../source/sync[?confirm=true]`: fetch and sync now, and answer
//!   what happened (`confirm` applies a sync that would be held)
//! - `DELETE`: stop following (the sessions stay as last synced)

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::json;

use super::auth::AdminAuth;
use super::{new_conf_slug as slug, read_body, AppState, HttpError, Missing};
use crate::domain::ConferenceSlug;
use crate::follow::{parse_config, state_json, Follower};
use crate::store::FetchOutcome;

fn no_source(slug: &ConferenceSlug) -> HttpError {
    HttpError::not_found(
        Missing::Source,
        format!("conference {:?} follows no source", slug.as_str()),
    )
}

fn answer(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

/// `PUT /api/conferences/{conf}/source`: 201 when the conference followed
/// no source, else 200; the answer is the source's state.
pub async fn put(
    _admin: AdminAuth,
    state: web::Data<AppState>,
    follower: web::Data<Follower>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let slug = slug(&path)?;
    let body = read_body(payload, state.body_limit).await?;
    let config = parse_config(&body, follower.min_every()).map_err(HttpError::unreadable)?;
    let (created, rec) = state
        .db(move |s| s.put_source(&slug, &config, Utc::now()))
        .await?;
    follower.wake();
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(answer(status, state_json(&rec)))
}

/// `GET /api/conferences/{conf}/source`
pub async fn show(
    _admin: AdminAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let slug = slug(&path)?;
    let s = slug.clone();
    let rec = state
        .db(move |st| st.source(&s))
        .await?
        .ok_or_else(|| no_source(&slug))?;
    Ok(answer(StatusCode::OK, state_json(&rec)))
}

/// `DELETE /api/conferences/{conf}/source`: 204, or 404 when there was
/// none.
pub async fn delete(
    _admin: AdminAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let slug = slug(&path)?;
    let s = slug.clone();
    if state.db(move |st| st.delete_source(&s)).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(no_source(&slug))
    }
}

/// `POST /api/conferences/{conf}/source/sync[?confirm=true]`: fetches now
/// and answers `{"outcome", "source", ...}`: 200 when the schedule was
/// applied or found unchanged, 409 when the sync is held (naming
/// `confirm`), 502 when nothing could be applied (504 when the upstream
/// did not answer in time), each error with `error` and `field` as every
/// error body has them.
pub async fn sync(
    _admin: AdminAuth,
    follower: web::Data<Follower>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let slug = slug(&path)?;
    let mut confirm = false;
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match (k.as_ref(), v.as_ref()) {
            ("confirm", "true" | "1" | "yes") => confirm = true,
            ("confirm", "false" | "0" | "no" | "") => confirm = false,
            ("confirm", other) => {
                return Err(HttpError::bad_request(
                    "confirm",
                    format!("{other:?}: use confirm=true"),
                ))
            }
            (other, _) => {
                return Err(HttpError::bad_request(
                    "query",
                    format!("unknown parameter {other:?}: use confirm"),
                ))
            }
        }
    }
    let (report, rec) = follower
        .sync_now(&slug, confirm)
        .await?
        .ok_or_else(|| no_source(&slug))?;
    let Some(report) = report else {
        // The source was changed or deleted while it was fetched, or the
        // server is stopping: what was fetched was not applied.
        return Err(HttpError::Framework {
            status: StatusCode::CONFLICT,
            field: Some("source"),
            message: "the source changed while it was fetched: nothing was applied".into(),
        });
    };
    let mut body = json!({
        "outcome": report.outcome,
        "source": state_json(&rec),
    });
    if let Some(r) = &report.report {
        body["sync"] = json!({
            "created": r.created, "updated": r.updated,
            "cancelled": r.cancelled, "unchanged": r.unchanged.len(),
        });
        body["warnings"] = json!(report.warnings);
    }
    let status = match report.outcome {
        FetchOutcome::Ok | FetchOutcome::NotModified => StatusCode::OK,
        FetchOutcome::Held => {
            body["field"] = "confirm".into();
            StatusCode::CONFLICT
        }
        FetchOutcome::Error => {
            body["field"] = "source".into();
            if report.timed_out {
                StatusCode::GATEWAY_TIMEOUT
            } else {
                StatusCode::BAD_GATEWAY
            }
        }
    };
    if let Some(e) = &report.error {
        body["error"] = e.clone().into();
    }
    Ok(answer(status, body))
}
