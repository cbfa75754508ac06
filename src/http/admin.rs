//! The admin API: replace a whole schedule, import one as published
//! (frab, Sessionize, iCalendar), create or replace one session,
//! cancel one. Enabled only when an admin token is configured.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{conf_slug, read_body, session_id, ApiError, AppState};
use crate::domain::schedule::{parse_document, parse_json, parse_value, SessionDoc};
use crate::domain::ValidationError;

/// Checks `Authorization: Bearer <token>` against the configured token.
///
/// Both sides are hashed first and the digests compared in constant time,
/// so neither the length nor any prefix of the token leaks through timing.
pub(super) fn authorize(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    let Some(expected) = &state.admin_token else {
        return Err(ApiError::Forbidden(
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
            ApiError::Unauthorized("send the admin token as Authorization: Bearer <token>".into())
        })?;
    if constant_time_eq(
        &Sha256::digest(given.trim().as_bytes()),
        &Sha256::digest(expected.expose().as_bytes()),
    ) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized("wrong admin token".into()))
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Serialize)]
struct SyncCounts {
    conference: String,
    conference_created: bool,
    created: usize,
    updated: usize,
    cancelled: usize,
    unchanged: usize,
    /// What an import of a published schedule corrected, dropped or found
    /// contradictory, each naming its event (none for `PUT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    warnings: Option<Vec<crate::import::Warning>>,
}

impl SyncCounts {
    fn new(slug: &str, report: &crate::store::SyncReport) -> Self {
        SyncCounts {
            conference: slug.to_owned(),
            conference_created: report.conference_created,
            created: report.created.len(),
            updated: report.updated.len(),
            cancelled: report.cancelled.len(),
            unchanged: report.unchanged.len(),
            warnings: None,
        }
    }

    /// 201 when the conference was new, else 200.
    fn respond(self) -> HttpResponse {
        let status = if self.conference_created {
            actix_web::http::StatusCode::CREATED
        } else {
            actix_web::http::StatusCode::OK
        };
        HttpResponse::build(status).json(self)
    }
}

/// `PUT /api/conferences/{conf}`: sync the whole schedule.
pub async fn put_schedule(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &req)?;
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
    Ok(SyncCounts::new(slug.as_str(), &report).respond())
}

/// `POST /api/conferences/{conf}/import?format=…&timezone=…`: sync the
/// conference from a schedule as published (frab XML or JSON, Sessionize,
/// iCalendar, or our own document), sent as the raw body. The URL names
/// the conference; the answer is `PUT`'s, with the import's warnings.
pub async fn import_schedule(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    use crate::import::{prepare, BuildError, Format, Options, PrepareError};
    authorize(&state, &req)?;
    let slug = conf_slug(&path).map_err(|_| {
        ApiError::bad_request(
            "conference",
            format!("{:?} is not a valid conference slug", *path),
        )
    })?;
    let mut opts = Options {
        conference: Some(slug.clone()),
        ..Options::default()
    };
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match k.as_ref() {
            "format" => {
                opts.format = Format::parse(&v).map_err(|m| ApiError::bad_request("format", m))?
            }
            "timezone" if v.is_empty() => {}
            "timezone" => {
                opts.timezone = Some(v.parse().map_err(|_| {
                    ApiError::bad_request(
                        "timezone",
                        format!("{v:?} is not an IANA time zone name (such as Europe/Berlin)"),
                    )
                })?)
            }
            other => {
                return Err(ApiError::bad_request(
                    "query",
                    format!("unknown parameter {other:?}: use format and timezone"),
                ))
            }
        }
    }
    let body = read_body(payload, state.body_limit).await?;
    // Reading a few megabytes of XML is work for the blocking pool, like
    // the store lookup it needs.
    let store = state.store.clone();
    let prepared = web::block(move || {
        prepare(&body, &opts, None, |slug| match store.conference(slug) {
            Ok(rec) => Ok(Some(rec.conference)),
            Err(crate::store::StoreError::ConferenceNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        })
    })
    .await?
    .map_err(|e| match e {
        PrepareError::Store(e) => ApiError::from(e),
        PrepareError::Build(BuildError::NeedsTimezone) => ApiError::Unprocessable {
            field: Some("timezone".into()),
            message: "the schedule names no time zone: give its IANA zone as ?timezone= (such as Europe/Berlin)".into(),
        },
        PrepareError::Build(BuildError::NeedsConference) => {
            ApiError::invalid(ValidationError::new("conference", "no conference slug"))
        }
        PrepareError::Build(BuildError::Unreadable(v)) => ApiError::unreadable(v),
        PrepareError::Build(BuildError::Invalid(v)) => ApiError::invalid(v),
    })?;
    let schedule = prepared.schedule;
    let report = state
        .db(move |s| s.sync_schedule(&schedule, Utc::now()))
        .await?;
    let mut counts = SyncCounts::new(slug.as_str(), &report);
    counts.warnings = Some(prepared.warnings);
    Ok(counts.respond())
}

/// `PUT /api/conferences/{conf}/sessions/{id}`: create or replace one
/// session. The body is one session object of the schedule document; its
/// `id`, if given, must match the URL.
pub async fn put_session(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &req)?;
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
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
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
        "session": super::api::SessionJson::new(&session, &conf, &state.base_url),
    })))
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
