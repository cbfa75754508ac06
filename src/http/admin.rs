//! The admin API: replace a whole schedule, import one as published
//! (frab, Sessionize, iCalendar), create or replace one session, cancel
//! one. Enabled only when an admin token is configured: every handler here
//! takes [`AdminAuth`] as its first argument, so the token is checked
//! before anything else, the body included.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde::Serialize;

use super::auth::AdminAuth;
use super::{conf_slug, new_conf_slug, read_body, session_id, AppState, HttpError};
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
    _admin: AdminAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    let slug = new_conf_slug(&path)?;
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
    Ok(SyncCounts::new(slug.as_str(), &report).respond())
}

/// `POST /api/conferences/{conf}/import?format=…&timezone=…`: sync the
/// conference from a schedule as published (frab XML or JSON, Sessionize,
/// iCalendar, or our own document), sent as the raw body. The URL names
/// the conference; the answer is `PUT`'s, with the import's warnings.
pub async fn import_schedule(
    _admin: AdminAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
    use crate::import::{prepare, BuildError, Format, Options, PrepareError};
    let slug = new_conf_slug(&path)?;
    let mut opts = Options {
        conference: Some(slug.clone()),
        ..Options::default()
    };
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match k.as_ref() {
            "format" => {
                opts.format = Format::parse(&v).map_err(|m| HttpError::bad_request("format", m))?
            }
            "timezone" if v.is_empty() => {}
            "timezone" => {
                opts.timezone = Some(v.parse().map_err(|_| {
                    HttpError::bad_request(
                        "timezone",
                        format!("{v:?} is not an IANA time zone name (such as Europe/Berlin)"),
                    )
                })?)
            }
            // Named as the field (its first 64 characters), as the
            // exports and filters do.
            other => {
                let key: String = other.chars().take(64).collect();
                return Err(HttpError::bad_request(
                    &key,
                    format!("unknown parameter {key:?}: use format and timezone"),
                ));
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
        PrepareError::Store(e) => HttpError::from(e),
        PrepareError::Build(BuildError::NeedsTimezone) => HttpError::Unprocessable {
            field: Some("timezone".into()),
            message: "the schedule names no time zone: give its IANA zone as ?timezone= (such as Europe/Berlin)".into(),
        },
        PrepareError::Build(BuildError::NeedsConference) => {
            HttpError::invalid(ValidationError::new("conference", "no conference slug"))
        }
        PrepareError::Build(BuildError::Unreadable(v)) => HttpError::unreadable(v),
        PrepareError::Build(BuildError::Invalid(v)) => HttpError::invalid(v),
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
    _admin: AdminAuth,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, HttpError> {
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
    _admin: AdminAuth,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, HttpError> {
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
