//! The one error type of the HTTP layer, and how each variant answers.
//!
//! Every error is a JSON body `{"error": "...", "field": "..."}`. Internal
//! errors are logged with their cause and answered with a generic message:
//! a 500 never shows SQL, paths or secrets.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError, UrlencodedError};
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
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
    /// An error that actix answered by itself (an extractor, the Compress
    /// middleware), put in our shape by [`framework_errors`].
    #[error("{message}")]
    Http {
        status: StatusCode,
        field: Option<&'static str>,
        message: String,
    },
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
            ApiError::Http { field, .. } => *field,
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
                    message: if cause == crate::store::DEADLINE_PASSED {
                        "the search took too long: narrow it, or try again shortly".into()
                    } else {
                        "the database is busy with another write: try again shortly".into()
                    },
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
            ApiError::Http { status, .. } => *status,
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

impl From<JsonPayloadError> for ApiError {
    fn from(e: JsonPayloadError) -> Self {
        match e {
            JsonPayloadError::OverflowKnownLength { limit, .. }
            | JsonPayloadError::Overflow { limit } => ApiError::PayloadTooLarge { limit },
            JsonPayloadError::ContentType => {
                ApiError::bad_request("content-type", "the body must be application/json")
            }
            other => ApiError::bad_request("body", format!("cannot read the body: {other}")),
        }
    }
}

impl From<UrlencodedError> for ApiError {
    fn from(e: UrlencodedError) -> Self {
        match e {
            UrlencodedError::Overflow { limit, .. } => ApiError::PayloadTooLarge { limit },
            other => ApiError::bad_request("body", format!("cannot read the form: {other}")),
        }
    }
}

impl From<QueryPayloadError> for ApiError {
    fn from(e: QueryPayloadError) -> Self {
        ApiError::bad_request("query", format!("cannot read the query: {e}"))
    }
}

/// A path that does not fit its route is no such page, as actix has it.
impl From<PathError> for ApiError {
    fn from(_: PathError) -> Self {
        ApiError::NotFound {
            field: None,
            message: "no such page".into(),
        }
    }
}

/// Middleware (actix's [`ErrorHandlers`]), outside Compress: an error
/// response that is neither our JSON nor one of the pages' HTML error
/// pages was made by actix itself, empty or as plain text (Compress's 406
/// is `br, gzip, deflate`). It is answered again in our JSON shape, with
/// the same status and the fields that explain it (`Allow`, `Retry-After`,
/// `Vary`). Extractor errors never get here: [`crate::http::extractors`]
/// turns them into [`ApiError`]s where they happen.
///
/// (Errors actix-http writes before any application code sees the
/// request, a request line it cannot parse (400), a head too large (431)
/// or too slow (408), have no hook in actix-http and stay empty.)
pub fn framework_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(as_json)
}

fn ours(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"))
}

fn as_json<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if ours(res.headers()) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (field, message) = match status {
        StatusCode::NOT_ACCEPTABLE => (
            Some("accept-encoding"),
            "no content coding this server has is acceptable: it sends br, gzip or none \
             (identity)"
                .to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (Some("body"), "the request body is too large".into()),
        s => (
            None,
            s.canonical_reason().unwrap_or("error").to_ascii_lowercase(),
        ),
    };
    let (req, old) = res.into_parts();
    let mut new = ApiError::Http {
        status,
        field,
        message,
    }
    .error_response();
    for name in [header::ALLOW, header::RETRY_AFTER, header::VARY] {
        for v in old.headers().get_all(&name) {
            new.headers_mut().append(name.clone(), v.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use actix_web::http::StatusCode;
    use actix_web::{test, web, App, HttpResponse};
    use serde_json::Value;

    #[actix_web::test]
    async fn extractor_and_framework_errors_answer_in_our_shape() {
        let app = test::init_service(
            App::new()
                .wrap(super::framework_errors())
                .configure(|c| crate::http::extractors(c, 16))
                .route(
                    "/json",
                    web::post().to(|_: web::Json<Value>| async { HttpResponse::Ok().finish() }),
                )
                .route(
                    "/query",
                    web::get().to(|_: web::Query<HashMap<String, u32>>| async {
                        HttpResponse::Ok().finish()
                    }),
                )
                .route(
                    "/plain",
                    web::get().to(|| async {
                        HttpResponse::MethodNotAllowed()
                            .insert_header(("Allow", "GET, HEAD"))
                            .body("method not allowed, in text")
                    }),
                )
                .route(
                    "/page",
                    web::get().to(|| async {
                        HttpResponse::NotFound()
                            .content_type("text/html; charset=utf-8")
                            .body("<p>an HTML error page</p>")
                    }),
                ),
        )
        .await;
        let json = |ct: &str, body: &'static [u8]| {
            test::TestRequest::post()
                .uri("/json")
                .insert_header(("Content-Type", ct.to_owned()))
                .set_payload(body)
                .to_request()
        };
        for (req, status, field) in [
            (
                json("application/json", b"[1, 2, 3, 4, 5, 6, 7, 8, 9]"),
                StatusCode::PAYLOAD_TOO_LARGE,
                "body",
            ),
            (
                json("application/json", b"{"),
                StatusCode::BAD_REQUEST,
                "body",
            ),
            (
                json("text/plain", b"{}"),
                StatusCode::BAD_REQUEST,
                "content-type",
            ),
            (
                test::TestRequest::get().uri("/query?n=many").to_request(),
                StatusCode::BAD_REQUEST,
                "query",
            ),
        ] {
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status(), status);
            let body: Value = test::read_body_json(res).await;
            assert_eq!(body["field"], field, "{body}");
            assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
        }
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/plain").to_request()).await;
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(res.headers().get("allow").unwrap(), "GET, HEAD");
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["error"], "method not allowed");
        // Our own HTML error pages stay as they are.
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/page").to_request()).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            test::read_body(res).await,
            web::Bytes::from_static(b"<p>an HTML error page</p>")
        );
    }
}
