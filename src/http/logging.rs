//! One log line per request, with secrets taken out of the path.

use std::borrow::Cow;
use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

/// Middleware: logs method, path (agenda tokens redacted), status, duration
/// and body size once the response is ready. The query string is left out:
/// it is user text and never needed to tell what happened.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = redact(req.path()).into_owned();
    let res = next.call(req).await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    match &res {
        Ok(r) => {
            let bytes = match r.response().body().size() {
                BodySize::Sized(n) => n as i64,
                _ => -1,
            };
            tracing::info!(%method, %path, status = r.status().as_u16(), ms, bytes, "request");
        }
        Err(e) => tracing::info!(%method, %path, error = %e, ms, "request failed"),
    }
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
