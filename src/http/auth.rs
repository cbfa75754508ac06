//! Who may call the admin API: [`AdminAuth`], an extractor that only a
//! request carrying the configured admin token yields.
//!
//! Every admin handler takes it as its first argument. actix-web runs a
//! handler's extractors in the order of its arguments and stops at the
//! first that fails, so a request without the token is refused before any
//! later argument (a `web::Json`, a `web::Bytes`) reads the body; and with
//! `Expect: 100-continue` before the client is even told to send it (see
//! [`super::server`]).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use super::{AppState, HttpError};

/// Proof that the request carries `Authorization: Bearer <admin token>`.
/// It can only be made by [`FromRequest`], which checks the token.
#[derive(Debug)]
pub struct AdminAuth {
    _checked: (),
}

impl FromRequest for AdminAuth {
    type Error = HttpError;
    type Future = Ready<Result<AdminAuth, HttpError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authorize(req))
    }
}

/// 403 when the admin API is off (no token configured), 401 without the
/// `Bearer` header or with another token.
fn authorize(req: &HttpRequest) -> Result<AdminAuth, HttpError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| HttpError::internal("the app state is not configured"))?;
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
    if expected.matches(given.trim()) {
        Ok(AdminAuth { _checked: () })
    } else {
        Err(HttpError::Unauthorized("wrong admin token".into()))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::pin::Pin;
    use std::rc::Rc;
    use std::task::{Context, Poll};

    use actix_web::error::PayloadError;
    use actix_web::http::StatusCode;
    use actix_web::test::TestRequest;
    use actix_web::web::Bytes;
    use futures_util::Stream;

    use super::*;
    use crate::config::Secret;
    use crate::domain::Site;
    use crate::http::feeds::FeedCache;
    use crate::http::ratelimit::Limits;
    use crate::store::Store;

    const TOKEN: &str = "q0vJ3pZ7mYb8H2sX+R4nW1cT6eK9uLdA5gFhNiOoPjE=";

    /// A body that records whether anything asked for it.
    struct Watched(Rc<Cell<bool>>, Option<Bytes>);

    impl Stream for Watched {
        type Item = Result<Bytes, PayloadError>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0.set(true);
            Poll::Ready(self.1.take().map(Ok))
        }
    }

    /// What a handler `fn(AdminAuth, web::Bytes)` gets: actix-web builds a
    /// handler's arguments as this tuple, so this is the order it runs.
    async fn extract(
        auth: Option<&str>,
        dir: &std::path::Path,
    ) -> (Result<(AdminAuth, Bytes), actix_web::Error>, bool) {
        let state = web::Data::new(AppState {
            store: Store::open(&dir.join("t.db")).unwrap(),
            site: Site {
                base_url: "http://localhost".into(),
                uid_host: "localhost".into(),
            },
            admin_token: Some(Secret::new(TOKEN)),
            body_limit: 1024,
            body_timeout: std::time::Duration::from_secs(10),
            feeds: FeedCache::new(0),
            limits: Limits {
                agenda_create: None,
                unknown_token: None,
            },
            send_budget: crate::http::stream::SendBudget::new(1 << 20, 1),
        });
        let mut req = TestRequest::put().app_data(state);
        if let Some(a) = auth {
            req = req.insert_header(("Authorization", a));
        }
        let (req, _) = req.to_http_parts();
        let read = Rc::new(Cell::new(false));
        let body: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(Watched(read.clone(), Some(Bytes::from_static(b"{}"))));
        let mut payload = Payload::Stream { payload: body };
        let got = <(AdminAuth, Bytes)>::from_request(&req, &mut payload).await;
        (got, read.get())
    }

    #[actix_web::test]
    async fn the_token_is_checked_before_a_later_argument_reads_the_body() {
        let dir = tempfile::tempdir().unwrap();
        for auth in [None, Some("Bearer wrong"), Some("Basic abc")] {
            let (got, read) = extract(auth, dir.path()).await;
            let err = got.expect_err("refused");
            assert_eq!(
                err.as_response_error().status_code(),
                StatusCode::UNAUTHORIZED
            );
            assert!(!read, "the body was read for {auth:?}");
        }
        let bearer = format!("bearer {TOKEN}");
        let (got, read) = extract(Some(&bearer), dir.path()).await;
        assert_eq!(got.expect("accepted").1, Bytes::from_static(b"{}"));
        assert!(read);
    }
}
