//! What keeps the pages safe: the agenda and CSRF cookies, the CSRF check
//! of every state-changing form, the redirect target check, and the
//! security headers of every HTML response.
//!
//! CSRF is a double-submit token: a random value in an HttpOnly,
//! SameSite=Lax cookie, repeated in a hidden field of every form; a POST is
//! accepted only when both are present and equal (compared in constant
//! time) and, when the browser sends an `Origin`, it is the base URL's.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::config::constant_time_eq;
use crate::domain::agenda::AgendaToken;
use crate::http::AppState;

/// A CSRF token: 32 random bytes in base64url.
const CSRF_LEN: usize = 43;
/// How long the browser keeps the agenda cookie: 400 days, the most
/// browsers accept.
const AGENDA_MAX_AGE: u32 = 400 * 24 * 3600;

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Which referrer policy a page gets: agenda pages carry the secret token
/// in their URL, so they never send a Referer anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privacy {
    Public,
    Agenda,
}

fn secure(state: &AppState) -> bool {
    state.base_url.starts_with("https://")
}

/// Cookie names. Over https they take the `__Host-` prefix, which browsers
/// accept only from a Secure, host-only, `Path=/` cookie, so a sibling
/// subdomain cannot plant a CSRF or agenda cookie.
pub fn cookie_name(state: &AppState, base: &str) -> String {
    if secure(state) {
        format!("__Host-confcal_{base}")
    } else {
        format!("confcal_{base}")
    }
}

/// The value of cookie `name` in the request's `Cookie` header(s).
pub fn read_cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure over https.
/// `max_age` 0 deletes the cookie.
pub fn set_cookie(state: &AppState, base: &str, value: &str, max_age: u32) -> String {
    format!(
        "{}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        cookie_name(state, base),
        if secure(state) { "; Secure" } else { "" }
    )
}

pub fn agenda_cookie(state: &AppState, t: &AgendaToken) -> String {
    set_cookie(state, "agenda", t.expose(), AGENDA_MAX_AGE)
}

pub fn clear_agenda_cookie(state: &AppState) -> String {
    set_cookie(state, "agenda", "", 0)
}

/// The agenda token the browser remembers, if it has the shape of one.
pub fn agenda_token(req: &HttpRequest, state: &AppState) -> Option<AgendaToken> {
    read_cookie(req, &cookie_name(state, "agenda")).and_then(|t| AgendaToken::parse(&t))
}

/// The visitor's CSRF token: the cookie's when it has the right shape,
/// otherwise a fresh one that the response must set (`new`).
pub struct Csrf {
    pub token: String,
    pub new: bool,
}

impl Csrf {
    pub fn of(req: &HttpRequest, state: &AppState) -> Result<Csrf, getrandom::Error> {
        if let Some(t) = read_cookie(req, &cookie_name(state, "csrf")).filter(|t| well_formed(t)) {
            return Ok(Csrf {
                token: t,
                new: false,
            });
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Csrf {
            token: URL_SAFE_NO_PAD.encode(bytes),
            new: true,
        })
    }

    /// Kept 30 days; a form left open longer than its cookie fails with a
    /// page that says to reload.
    pub fn set_cookie(&self, state: &AppState) -> Option<String> {
        self.new
            .then(|| set_cookie(state, "csrf", &self.token, 24 * 3600 * 30))
    }
}

fn well_formed(t: &str) -> bool {
    t.len() == CSRF_LEN
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a state-changing request was refused.
pub fn check_csrf(req: &HttpRequest, state: &AppState, field: Option<&str>) -> Result<(), String> {
    precheck_csrf(req, state)?;
    let cookie = read_cookie(req, &cookie_name(state, "csrf"));
    match (cookie, field) {
        (Some(c), Some(f)) if well_formed(&c) && constant_time_eq(c.as_bytes(), f.as_bytes()) => {
            Ok(())
        }
        _ => Err("the form has expired or did not come from this site; \
             please reload the page and try again"
            .into()),
    }
}

/// What [`check_csrf`] can tell from the head alone, before the body is
/// read: a foreign `Origin`, or no well-formed security cookie, fails
/// whatever the form holds, so its body need not (and is not) read.
pub fn precheck_csrf(req: &HttpRequest, state: &AppState) -> Result<(), String> {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let expected = origin_of(&state.base_url);
        if origin.to_str().ok() != Some(expected.as_str()) {
            return Err("the form was sent from another site".into());
        }
    }
    match read_cookie(req, &cookie_name(state, "csrf")) {
        None => Err("your browser did not send the form's security cookie; \
             please allow cookies for this site, reload the page and try again"
            .into()),
        Some(c) if !well_formed(&c) => Err("the form has expired or did not come from this site; \
             please reload the page and try again"
            .into()),
        Some(_) => Ok(()),
    }
}

/// `scheme://host[:port]` of the base URL: what browsers send as `Origin`.
fn origin_of(base: &str) -> String {
    url::Url::parse(base)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// A local path to send the browser back to after a form, or `None` when
/// `raw` could lead anywhere else (`//evil`, `/\evil`, `https://…`,
/// control characters): never an open redirect.
pub fn local_path(raw: &str) -> Option<&str> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && raw.len() <= 2000
        && !raw
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    ok.then_some(raw)
}

/// The headers every HTML response carries.
pub fn html_headers(res: &mut HttpResponseBuilder, privacy: Privacy) {
    res.insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((
            header::REFERRER_POLICY,
            match privacy {
                Privacy::Public => "strict-origin-when-cross-origin",
                Privacy::Agenda => "no-referrer",
            },
        ))
        .insert_header((
            header::CACHE_CONTROL,
            match privacy {
                // Pages hold the visitor's CSRF token and stars.
                Privacy::Public => "private, no-cache",
                Privacy::Agenda => "private, no-store",
            },
        ));
}

/// A 303 See Other to a local path (after a POST, the browser GETs it).
pub fn see_other(location: &str, privacy: Privacy) -> HttpResponseBuilder {
    let mut res = HttpResponse::build(StatusCode::SEE_OTHER);
    res.insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if privacy == Privacy::Agenda {
        res.insert_header((header::REFERRER_POLICY, "no-referrer"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_only() {
        for ok in ["/", "/conferences/x?day=2012-03-09&room=E2", "/agendas"] {
            assert_eq!(local_path(ok), Some(ok));
        }
        for bad in [
            "",
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "evil",
            "/a\r\nSet-Cookie: x=y",
            "/a b",
            "\t/x",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn origin_is_scheme_host_port() {
        assert_eq!(origin_of("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(origin_of("https://cal.example/base"), "https://cal.example");
    }
}
