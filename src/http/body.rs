//! One path for every request body: a deadline on reading it, and the
//! size checked from `Content-Length` before any of it is read.
//!
//! actix-web has a deadline for the request head (`client_request_timeout`)
//! but none for the body: a client that sends a `Content-Length` and then
//! a byte a minute held its connection (and a file descriptor) for ever,
//! and 1,100 of them, under the common limit of 1,024 descriptors, stopped
//! the server from accepting. [`deadline`] wraps every request's payload
//! in a stream that fails once [`BODY_DEADLINE`] (`--body-timeout-ms`) has
//! passed since the head arrived; [`super::read_body`], through which all
//! handlers read (the JSON API, the admin API and the pages' forms), turns
//! that into a 408 naming `body`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::middleware::Next;
use actix_web::rt::time::{sleep, Sleep};
use actix_web::web::Bytes;
use actix_web::{web, Error, HttpMessage};
use futures_util::Stream;

use super::{AppState, HttpError};

/// The default of `--body-timeout-ms`: ample for a 16 MiB import on a
/// slow line, short for a connection that only trickles.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// The message [`super::read_body`] recognises as the deadline's.
pub(super) const TIMED_OUT: &str = "the request body was not received in time";

/// Middleware: a declared body over the configured limit is a 413 before
/// anything is read; any other body gets its deadline.
pub async fn deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let settings = req
        .app_data::<web::Data<AppState>>()
        .map(|s| (s.body_limit, s.body_timeout));
    if let Some((limit, timeout)) = settings {
        refuse_declared_over(req.headers(), limit)?;
        let payload = req.take_payload();
        let timed = Timed {
            inner: payload,
            sleep: Box::pin(sleep(timeout)),
            expired: false,
        };
        req.set_payload(Payload::Stream {
            payload: Box::pin(timed),
        });
    }
    next.call(req).await
}

/// A `Content-Length` over `limit` is a 413 before any of the body is read,
/// so that a route with a smaller cap than the server's (agenda JSON,
/// forms) refuses it before `100 Continue` and before the upload.
pub fn refuse_declared_over(
    headers: &actix_web::http::header::HeaderMap,
    limit: usize,
) -> Result<(), HttpError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(HttpError::PayloadTooLarge { limit });
    }
    Ok(())
}

struct Timed {
    inner: Payload,
    sleep: Pin<Box<Sleep>>,
    expired: bool,
}

impl Stream for Timed {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired = true;
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                TIMED_OUT,
            )))));
        }
        Poll::Pending
    }
}
