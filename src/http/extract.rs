//! What a URL names, as extractors: a handler that takes a
//! [`ConferencePath`], a [`SessionPath`] or an [`AgendaPath`] gets ids that
//! are valid, and an id that cannot exist is answered as not found before
//! the handler runs (an agenda token that cannot be one, like any unknown
//! token: [`Missing::Agenda`], which the unknown-token limit counts).
//! (The pages, which answer in HTML, call [`SessionPath::of`] and friends
//! themselves.)

use std::future::{ready, Ready};

use actix_web::{dev, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{conf_slug, session_id, HttpError, Missing};
use crate::domain::agenda::AgendaToken;
use crate::domain::{ConferenceSlug, SessionId};

/// The conference of a route's `{conf}`.
pub struct ConferencePath(pub ConferenceSlug);

/// The session of a route's `{conf}` and `{id}`.
pub struct SessionPath {
    pub slug: ConferenceSlug,
    pub id: SessionId,
}

/// The agenda of a route's `{token}`.
pub struct AgendaPath(pub AgendaToken);

/// The route's parameters, decoded exactly as `web::Path` decodes them.
fn params<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, HttpError> {
    req.match_info()
        .load()
        .map_err(|_| HttpError::not_found(Missing::Page, "no such page"))
}

#[derive(Deserialize)]
struct ConfParam {
    conf: String,
}

#[derive(Deserialize)]
struct SessionParams {
    conf: String,
    id: String,
}

#[derive(Deserialize)]
struct TokenParam {
    token: String,
}

impl AgendaPath {
    pub fn of(req: &HttpRequest) -> Result<Self, HttpError> {
        let p: TokenParam = params(req)?;
        AgendaToken::parse(&p.token)
            .map(AgendaPath)
            .ok_or_else(|| HttpError::not_found(Missing::Agenda, "no such agenda"))
    }
}

impl ConferencePath {
    pub fn of(req: &HttpRequest) -> Result<Self, HttpError> {
        let p: ConfParam = params(req)?;
        Ok(ConferencePath(conf_slug(&p.conf)?))
    }
}

impl SessionPath {
    pub fn of(req: &HttpRequest) -> Result<Self, HttpError> {
        let p: SessionParams = params(req)?;
        Ok(SessionPath {
            slug: conf_slug(&p.conf)?,
            id: session_id(&p.id)?,
        })
    }
}

impl FromRequest for ConferencePath {
    type Error = HttpError;
    type Future = Ready<Result<Self, HttpError>>;

    fn from_request(req: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        ready(Self::of(req))
    }
}

impl FromRequest for AgendaPath {
    type Error = HttpError;
    type Future = Ready<Result<Self, HttpError>>;

    fn from_request(req: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        ready(Self::of(req))
    }
}

impl FromRequest for SessionPath {
    type Error = HttpError;
    type Future = Ready<Result<Self, HttpError>>;

    fn from_request(req: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        ready(Self::of(req))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{test, web, App, HttpResponse};

    use super::*;

    #[actix_web::test]
    async fn paths_are_decoded_like_web_path_and_bad_ids_are_not_found() {
        let app = test::init_service(App::new().route(
            "/c/{conf}/s/{id}",
            web::get().to(
                |p: SessionPath, raw: web::Path<(String, String)>| async move {
                    let (conf, id) = raw.into_inner();
                    assert_eq!((p.slug.as_str(), p.id.as_str()), (&conf[..], &id[..]));
                    HttpResponse::Ok().body(format!("{} {}", p.slug, p.id))
                },
            ),
        ))
        .await;
        let get = |uri: &str| test::TestRequest::get().uri(uri).to_request();
        let res = test::call_service(&app, get("/c/pycon%2Dus/s/talk%2D1")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(test::read_body(res).await, "pycon-us talk-1");
        for (uri, field) in [
            ("/c/Not%20a%20slug/s/x", "conference"),
            ("/c/ok/s/%2F", "session"),
        ] {
            let res = test::call_service(&app, get(uri)).await;
            assert_eq!(res.status(), 404, "{uri}");
            let body: serde_json::Value = test::read_body_json(res).await;
            assert_eq!(body["field"], field, "{uri}: {body}");
        }
    }
}
