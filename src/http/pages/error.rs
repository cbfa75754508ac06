//! [`PageError`]: how the pages answer a failure, as an HTML page with
//! the same status (and the same rate-limit signal) the API would give.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::security::{self, Privacy};
use super::Layout;
use crate::domain::ValidationError;
use crate::http::error::with_causes;
use crate::http::{HttpError, Missing};
use crate::store::StoreError;

/// An error answered with an HTML page (the API's errors are JSON).
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
    /// A link back, e.g. to the unfiltered conference page.
    back: Option<(String, String)>,
    privacy: Privacy,
    /// 429: seconds until the client may try again.
    retry_after: Option<u64>,
    /// The answer to an unknown agenda token: the rate limiter counts it.
    unknown_token: bool,
}

impl PageError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        PageError {
            status,
            message: message.into(),
            back: None,
            privacy: Privacy::Public,
            retry_after: None,
            unknown_token: false,
        }
    }

    pub(super) fn forbidden(message: String) -> Self {
        PageError::new(StatusCode::FORBIDDEN, message)
    }

    pub(super) fn bad_filter(e: ValidationError, conf_path: String) -> Self {
        let mut err = PageError::new(
            StatusCode::BAD_REQUEST,
            format!("The filter “{}” cannot be used: {}.", e.field, e.message),
        );
        err.back = Some((conf_path, "Show every session".into()));
        err
    }

    /// The answer on a page whose URL holds an agenda token: no Referer
    /// may leave it.
    pub(super) fn private(self) -> Self {
        self.with_privacy(Privacy::Agenda)
    }

    pub(super) fn with_privacy(mut self, privacy: Privacy) -> Self {
        self.privacy = privacy;
        self
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl From<HttpError> for PageError {
    fn from(e: HttpError) -> Self {
        let status = e.status_code();
        let mut retry_after = None;
        let mut unknown_token = false;
        let message = match &e {
            HttpError::TooManyRequests {
                retry_after: r,
                message,
            } => {
                retry_after = Some(*r);
                format!("Too many requests: {message}.")
            }
            HttpError::Unavailable {
                retry_after: r,
                message,
            } => {
                retry_after = *r;
                format!("Not possible right now: {message}. Please try again in a moment.")
            }
            HttpError::Internal(cause) => {
                tracing::error!(cause = %with_causes(cause.as_ref()), "internal error on a page");
                "Something went wrong on our side. Please try again in a moment.".to_owned()
            }
            HttpError::NotFound { what, .. } => match what {
                Missing::Conference => "There is no such conference.".to_owned(),
                Missing::Session => "There is no such session.".to_owned(),
                Missing::Agenda => {
                    unknown_token = true;
                    "There is no such agenda. Its address may have been \
                                  replaced by a new one, or the agenda deleted."
                        .to_owned()
                }
                Missing::Feed | Missing::Source | Missing::Page => {
                    "There is no such page.".to_owned()
                }
            },
            other => other.to_string(),
        };
        PageError {
            retry_after,
            unknown_token,
            ..PageError::new(status, message)
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        HttpError::from(e).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    message: &'a str,
    back: Option<&'a str>,
    back_label: &'a str,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let title = match self.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::TOO_MANY_REQUESTS => "Too many requests",
            StatusCode::SERVICE_UNAVAILABLE => "Unavailable",
            s if s.is_client_error() => "Cannot do that",
            _ => "Server error",
        };
        let page = ErrorPage {
            layout: Layout::new(title),
            message: &self.message,
            back: self.back.as_ref().map(|(p, _)| p.as_str()),
            back_label: self.back.as_ref().map_or("", |(_, l)| l.as_str()),
        };
        let body = page
            .render()
            .unwrap_or_else(|_| "<!DOCTYPE html><title>Error</title>".into());
        let mut res = HttpResponse::build(self.status);
        security::html_headers(&mut res, self.privacy);
        if let Some(r) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, r.to_string()));
        }
        if self.unknown_token {
            res.extensions_mut()
                .insert(crate::http::ratelimit::UnknownToken);
        }
        res.insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}
