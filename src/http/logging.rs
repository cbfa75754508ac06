//! One log line per request, with secrets taken out of the path, and the
//! request counters behind `/metrics`.

use std::borrow::Cow;
use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;

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

/// Replaces the token in agenda paths (`/agendas/{token}.ics`,
/// `/api/agendas/{token}/...`) with `<token>`.
pub fn redact(path: &str) -> Cow<'_, str> {
    for prefix in ["/api/agendas/", "/agendas/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            if rest.is_empty() {
                return Cow::Borrowed(path);
            }
            let end = rest.find(['/', '.']).unwrap_or(rest.len());
            return Cow::Owned(format!("{prefix}<token>{}", &rest[end..]));
        }
    }
    Cow::Borrowed(path)
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
    }
}
