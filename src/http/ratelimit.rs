//! Per-client rate limits: agenda creation, and lookups of unknown agenda
//! tokens (so tokens cannot be guessed at speed).
//!
//! A token bucket per client address: `per_minute` requests, refilled
//! continuously, with a burst of the same size. Exhausted clients get 429
//! with `Retry-After`. Buckets of quiet clients are dropped, so memory stays
//! bounded by the number of recently active clients.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, ResponseError};

use super::{ApiError, AppState};

/// Most tracked clients before idle buckets are swept.
const MAX_CLIENTS: usize = 100_000;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// `None` when `per_minute` is 0: the limit is off.
    pub fn new(per_minute: u32) -> Option<Self> {
        (per_minute > 0).then(|| RateLimiter {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(per_minute),
            buckets: Mutex::new(HashMap::new()),
        })
    }

    fn refill(&self, b: &mut (f64, Instant), now: Instant) {
        let elapsed = now.saturating_duration_since(b.1).as_secs_f64();
        b.0 = (b.0 + elapsed * self.per_second).min(self.burst);
        b.1 = now;
    }

    /// Whether the client may make one more request, without spending it;
    /// `Err(seconds)` says when it may.
    pub fn peek(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let Some(b) = map.get_mut(&ip) else {
            return Ok(());
        };
        self.refill(b, now);
        if b.0 >= 1.0 {
            Ok(())
        } else {
            Err(((1.0 - b.0) / self.per_second).ceil().max(1.0) as u64)
        }
    }

    /// Spends one request; `Err(seconds)` when none was left.
    pub fn take(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_CLIENTS {
            // Full buckets are indistinguishable from absent ones: drop them.
            let (rate, burst) = (self.per_second, self.burst);
            map.retain(|_, b| {
                b.0 + now.saturating_duration_since(b.1).as_secs_f64() * rate < burst
            });
        }
        let b = map.entry(ip).or_insert((self.burst, now));
        self.refill(b, now);
        if b.0 >= 1.0 {
            b.0 -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.0) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// The limits a server runs with.
pub struct Limits {
    pub agenda_create: Option<RateLimiter>,
    pub unknown_token: Option<RateLimiter>,
}

/// The client's address: the peer of the connection. (Behind a reverse
/// proxy every client shares the proxy's address; the proxy should limit.)
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    req.peer_addr().map(|a| a.ip())
}

impl Limits {
    pub fn off() -> Self {
        Limits {
            agenda_create: None,
            unknown_token: None,
        }
    }

    /// Spends one agenda creation for this client, or answers 429.
    pub fn create_agenda(&self, req: &HttpRequest) -> Result<(), ApiError> {
        match (&self.agenda_create, client_ip(req)) {
            (Some(l), Some(ip)) => l.take(ip).map_err(|retry_after| ApiError::TooManyRequests {
                retry_after,
                message: "too many agendas created from this address; try again later".into(),
            }),
            _ => Ok(()),
        }
    }
}

/// Marks a response as the answer to an unknown agenda token (set by
/// [`ApiError`]'s response), so the middleware can count it.
#[derive(Clone, Copy)]
pub struct UnknownToken;

/// Whether the path carries an agenda token.
fn token_path(path: &str) -> bool {
    path.strip_prefix("/api/agendas/")
        .or_else(|| path.strip_prefix("/agendas/"))
        .is_some_and(|rest| !rest.is_empty())
}

/// Middleware: a client that has run out of unknown-token lookups gets 429
/// on every token path (valid token or not, so a 429 reveals nothing), and
/// each unknown-token answer spends one lookup.
pub async fn limit_token_lookups(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let limiter = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.limits.unknown_token.is_some().then(|| s.clone()));
    let (Some(state), true) = (limiter, token_path(req.path())) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let ip = client_ip(req.request());
    let limiter = state.limits.unknown_token.as_ref().expect("checked above");
    if let Some(ip) = ip {
        if let Err(retry_after) = limiter.peek(ip) {
            let err = ApiError::TooManyRequests {
                retry_after,
                message: "too many unknown agenda tokens from this address; try again later".into(),
            };
            return Ok(req.into_response(err.error_response()));
        }
    }
    let res = next.call(req).await?;
    if let Some(ip) = ip {
        if res.response().extensions().get::<UnknownToken>().is_some() {
            let _ = limiter.take(ip);
        }
    }
    Ok(res.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_empty_and_name_a_wait() {
        let l = RateLimiter::new(3).unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.peek(ip).is_ok());
            assert!(l.take(ip).is_ok());
        }
        let wait = l.take(ip).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(l.peek(ip).is_err());
        assert!(l.take(other).is_ok(), "limits are per client");
        assert!(RateLimiter::new(0).is_none());
    }

    #[test]
    fn token_paths() {
        assert!(token_path("/agendas/abc.ics"));
        assert!(token_path("/api/agendas/abc/rotate"));
        assert!(!token_path("/api/agendas/"));
        assert!(!token_path("/api/conferences"));
    }
}
