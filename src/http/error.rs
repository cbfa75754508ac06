//! The one error type of the HTTP layer, and how each variant answers.
//!
//! Every error is a JSON body `{"error": "...", "field": "..."}`. Internal
//! errors are logged with their cause and answered with a generic message:
//! a 500 never shows SQL, paths or secrets.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::ValidationError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A request that cannot be read: bad query values, malformed JSON.
    #[error("{message}")]
    BadRequest {
        field: Option<String>,
        message: String,
    },
    /// Well-formed input that breaks a rule of the data (end before start).
    #[error("{message}")]
    Unprocessable {
        field: Option<String>,
        message: String,
    },
    #[error("{message}")]
    NotFound {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    TooManyRequests { retry_after: u64, message: String },
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 503: the database is busy (another writer holds the lock: worth a
    /// retry after `retry_after` seconds) or cannot be written (no
    /// `retry_after`: an operator must act).
    #[error("{message}")]
    Unavailable {
        retry_after: Option<u64>,
        message: String,
    },
    #[error("internal error")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    pub fn not_found(field: &str, message: impl Into<String>) -> Self {
        ApiError::NotFound {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    /// A rule broken by a request body or document.
    pub fn invalid(e: ValidationError) -> Self {
        ApiError::Unprocessable {
            field: non_empty(e.field),
            message: e.message,
        }
    }

    /// A query string or JSON that cannot be read.
    pub fn unreadable(e: ValidationError) -> Self {
        ApiError::BadRequest {
            field: non_empty(e.field),
            message: e.message,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadRequest { field, .. }
            | ApiError::Unprocessable { field, .. }
            | ApiError::NotFound { field, .. } => field.as_deref(),
            ApiError::Unauthorized(_) | ApiError::Forbidden(_) => Some("authorization"),
            ApiError::PayloadTooLarge { .. } => Some("body"),
            ApiError::TooManyRequests { .. } | ApiError::Unavailable { .. } => None,
            ApiError::Internal(_) => None,
        }
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConferenceNotFound(slug) => {
                ApiError::not_found("conference", format!("no conference {slug:?}"))
            }
            StoreError::SessionNotFound {
                conference,
                session,
            } => ApiError::not_found(
                "session",
                format!("no session {session:?} in conference {conference:?}"),
            ),
            StoreError::AgendaNotFound => ApiError::not_found("token", "no such agenda"),
            StoreError::Limit(message) => ApiError::Unprocessable {
                field: None,
                message,
            },
            StoreError::TokenInUse => ApiError::Unprocessable {
                field: Some("token".into()),
                message: StoreError::TokenInUse.to_string(),
            },
            StoreError::Busy(cause) => {
                tracing::warn!(%cause, "database busy: answered 503");
                ApiError::Unavailable {
                    retry_after: Some(BUSY_RETRY_AFTER_SECS),
                    message: "the database is busy with another write: try again shortly".into(),
                }
            }
            StoreError::Storage(cause) => {
                tracing::error!(%cause, "database cannot be written: answered 503");
                ApiError::Unavailable {
                    retry_after: None,
                    message: "the database cannot be written at the moment".into(),
                }
            }
            StoreError::Unhealthy(message) => ApiError::Unavailable {
                retry_after: None,
                message,
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// `Retry-After` of a 503 for a busy database: a write queued behind
/// another usually gets through a second later.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(%cause, "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized(_) => {
                res.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ApiError::TooManyRequests { retry_after, .. }
            | ApiError::Unavailable {
                retry_after: Some(retry_after),
                ..
            } => {
                res.insert_header(("Retry-After", retry_after.to_string()));
            }
            ApiError::NotFound { field: Some(f), .. } if f == "token" => {
                res.extensions_mut().insert(super::ratelimit::UnknownToken);
            }
            _ => {}
        }
        res.insert_header(("Cache-Control", "no-store"))
            .json(ErrorBody {
                error: self.to_string(),
                field: self.field(),
            })
    }
}
