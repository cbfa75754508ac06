//! One log line per request, with secrets taken out of the path, and the
//! request counters behind `/metrics`.

use std::borrow::Cow;
use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use percent_encoding::percent_decode_str;

use super::ops::{Metrics, UNMATCHED};

/// Middleware: logs method, route pattern, path (agenda tokens redacted),
/// status, duration and body size once the response is ready, and counts
/// the request in [`Metrics`] (when the app has them) by route pattern. The
/// query string is left out: it is user text and never needed to tell what
/// happened.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = redact(req.path()).into_owned();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let in_flight = metrics.as_ref().map(|m| m.start());
    let res = next.call(req).await;
    let elapsed = start.elapsed().as_secs_f64();
    let ms = elapsed * 1000.0;
    match &res {
        Ok(r) => {
            let bytes = match r.response().body().size() {
                BodySize::Sized(n) => n as i64,
                _ => -1,
            };
            let pattern = r.request().match_pattern();
            let route = pattern.as_deref().unwrap_or(UNMATCHED);
            let status = r.status().as_u16();
            if let Some(m) = &metrics {
                m.record(route, &method, status, elapsed);
            }
            tracing::info!(%method, route, %path, status, ms, bytes, "request");
        }
        Err(e) => {
            let status = e.as_response_error().status_code().as_u16();
            if let Some(m) = &metrics {
                m.record(UNMATCHED, &method, status, elapsed);
            }
            tracing::info!(%method, %path, status, error = %e, ms, "request failed");
        }
    }
    drop(in_flight);
    res
}

/// Replaces agenda tokens in a path with `<token>`, wherever they are:
/// the segment after any `agendas` segment (`/agendas/{token}.ics`,
/// `/api/agendas/{token}/...`, and non-canonical spellings that route
/// nowhere but carry a token all the same: `//agendas/T.ics`,
/// `/Agendas/T`), and anywhere, any run of [`TOKEN_LEN`] or more
/// URL-safe base64 characters (a token with a character too many is still
/// all but the token). Segments are read percent-decoded, as the router
/// reads them, so `%41…` hides nothing; a segment changed is written
/// decoded. A long session id or slug is redacted too: a lost detail in a
/// log line costs less than a key in it.
pub fn redact(path: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(path.len());
    let mut changed = false;
    let mut after_agendas = false;
    for (i, raw) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let decoded = percent_decode_str(raw).decode_utf8_lossy();
        let mut segment = redact_runs(&decoded);
        if after_agendas && !decoded.is_empty() {
            let stem = segment.find('.').unwrap_or(segment.len());
            if &segment[..stem] != "<token>" {
                segment = Cow::Owned(format!("<token>{}", &segment[stem..]));
            }
        }
        after_agendas = decoded.eq_ignore_ascii_case("agendas");
        if segment != decoded {
            changed = true;
            out.push_str(&segment);
        } else {
            out.push_str(raw);
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(path)
    }
}

/// An agenda token's length (256 bits in unpadded URL-safe base64).
const TOKEN_LEN: usize = crate::domain::agenda::TOKEN_LEN;

/// `s` with every run of at least [`TOKEN_LEN`] URL-safe base64
/// characters replaced by `<token>`.
fn redact_runs(s: &str) -> Cow<'_, str> {
    let token_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::new();
    let (mut copied, mut run_start) = (0, None);
    for (i, c) in s.char_indices().chain([(s.len(), '/')]) {
        match (token_char(c), run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                if i - start >= TOKEN_LEN {
                    out.push_str(&s[copied..start]);
                    out.push_str("<token>");
                    copied = i;
                }
                run_start = None;
            }
            _ => {}
        }
    }
    if copied == 0 {
        return Cow::Borrowed(s);
    }
    out.push_str(&s[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_agenda_tokens() {
        assert_eq!(redact("/agendas/abcDEF_123.ics"), "/agendas/<token>.ics");
        assert_eq!(redact("/agendas/abc"), "/agendas/<token>");
        assert_eq!(
            redact("/api/agendas/abc/sessions/pycon/x"),
            "/api/agendas/<token>/sessions/pycon/x"
        );
        assert_eq!(redact("/api/agendas/"), "/api/agendas/");
        assert_eq!(redact("/api/conferences/x"), "/api/conferences/x");
        assert_eq!(redact("/"), "/");
        assert_eq!(redact("/conferences/a%20b"), "/conferences/a%20b");
    }

    #[test]
    fn redacts_tokens_in_paths_that_route_nowhere() {
        let t = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE";
        assert_eq!(t.len(), 43);
        let encoded = format!("%41{}", &t[1..]);
        let cases = [
            (format!("//agendas/{t}.ics"), "//agendas/<token>.ics"),
            (format!("/Agendas/{t}"), "/Agendas/<token>"),
            (format!("/AGENDAS/{t}/rotate"), "/AGENDAS/<token>/rotate"),
            (format!("/agendas//{t}"), "/agendas//<token>"),
            (format!("/x/{t}"), "/x/<token>"),
            (format!("/x/{t}x.ics"), "/x/<token>.ics"),
            (format!("/x/prefix.{t}"), "/x/prefix.<token>"),
            (format!("/agendas/{encoded}.ics"), "/agendas/<token>.ics"),
            (format!("/feeds/{encoded}"), "/feeds/<token>"),
            (
                format!("/api/agendas/{t}/sessions/c/{t}"),
                "/api/agendas/<token>/sessions/c/<token>",
            ),
        ];
        for (path, want) in &cases {
            let got = redact(path);
            assert_eq!(got, *want, "{path}");
            assert!(!got.contains(&t[1..]), "{path}");
        }
        // One character short of a token is left alone.
        assert_eq!(
            redact(&format!("/x/{}", &t[1..])),
            format!("/x/{}", &t[1..])
        );
    }
}
