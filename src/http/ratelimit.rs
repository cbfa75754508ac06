//! Per-client rate limits: agenda creation, and lookups of unknown agenda
//! tokens (so tokens cannot be guessed at speed).
//!
//! A token bucket per client: `per_minute` requests, refilled
//! continuously, with a burst of the same size. Exhausted clients get 429
//! with `Retry-After`. Buckets of quiet clients are dropped, so memory stays
//! bounded by the number of recently active clients. A client is an IPv4
//! address or an IPv6 /64 (see [`client_of`]).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, ResponseError};

use super::{AppState, HttpError};

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

    /// Spends one request, checking and taking under one lock (so
    /// concurrent requests cannot all see the last unit); `Err(seconds)`
    /// when none was left.
    pub fn take(&self, ip: IpAddr) -> Result<(), u64> {
        let ip = client_of(ip);
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

    /// Gives back a unit [`RateLimiter::take`] took for a request that
    /// turned out not to count.
    pub fn refund(&self, ip: IpAddr) {
        let ip = client_of(ip);
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = map.get_mut(&ip) {
            self.refill(b, now);
            b.0 = (b.0 + 1.0).min(self.burst);
        }
    }
}

/// The bucket a client address counts against: an IPv4 address as it is
/// (an IPv4-mapped IPv6 address as that IPv4 address), an IPv6 address by
/// its /64. A /64 is what one subscriber or host is usually given, and
/// every address in it is theirs to use: a limit per exact IPv6 address
/// would be no limit at all.
pub fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u64::MAX as u128))),
        },
    }
}

/// A unit taken for a token lookup in flight: given back when dropped
/// (the token was known, the request failed or the client went away),
/// unless [`Reservation::spend`] keeps it.
struct Reservation<'a> {
    limiter: &'a RateLimiter,
    ip: IpAddr,
    spent: bool,
}

impl Reservation<'_> {
    fn spend(mut self) {
        self.spent = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.spent {
            self.limiter.refund(self.ip);
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
    pub fn create_agenda(&self, req: &HttpRequest) -> Result<(), HttpError> {
        self.create_agenda_from(client_ip(req))
    }

    /// [`Limits::create_agenda`] for a client known by its address (off a
    /// request's thread, where the request is not at hand).
    pub fn create_agenda_from(&self, ip: Option<IpAddr>) -> Result<(), HttpError> {
        match (&self.agenda_create, ip) {
            (Some(l), Some(ip)) => l
                .take(ip)
                .map_err(|retry_after| HttpError::TooManyRequests {
                    retry_after,
                    message: "too many agendas created from this address; try again later".into(),
                }),
            _ => Ok(()),
        }
    }
}

/// Marks a response as the answer to an unknown agenda token (set by
/// [`HttpError`]'s response), so the middleware can count it.
#[derive(Clone, Copy)]
pub struct UnknownToken;

/// Whether the path carries an agenda token.
fn token_path(path: &str) -> bool {
    path.strip_prefix("/api/agendas/")
        .or_else(|| path.strip_prefix("/agendas/"))
        .is_some_and(|rest| !rest.is_empty())
}

/// Middleware: every lookup on a token path takes one unit before it runs
/// and gives it back unless the answer was "no such agenda", so a client
/// out of units gets 429 on every token path (valid token or not: a 429
/// reveals nothing), and lookups in flight at once cannot spend more than
/// the limit between them. The price: a client with more lookups in flight
/// at one moment than its limit gets 429 for the extra ones, good tokens
/// included, until they finish.
pub async fn limit_token_lookups(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let limiter = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.limits.unknown_token.is_some().then(|| s.clone()));
    let ip = client_ip(req.request());
    let (Some(state), Some(ip), true) = (limiter, ip, token_path(req.path())) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let limiter = state.limits.unknown_token.as_ref().expect("checked above");
    if let Err(retry_after) = limiter.take(ip) {
        let err = HttpError::TooManyRequests {
            retry_after,
            message: "too many unknown agenda tokens from this address; try again later".into(),
        };
        return Ok(req.into_response(err.error_response()));
    }
    let reservation = Reservation {
        limiter,
        ip,
        spent: false,
    };
    let res = next.call(req).await?;
    if res.response().extensions().get::<UnknownToken>().is_some() {
        reservation.spend();
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
            assert!(l.take(ip).is_ok());
        }
        let wait = l.take(ip).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(l.take(other).is_ok(), "limits are per client");
        l.refund(ip);
        assert!(l.take(ip).is_ok(), "a refund gives one back");
        assert!(l.take(ip).is_err());
        assert!(RateLimiter::new(0).is_none());
    }

    #[test]
    fn ipv6_clients_are_their_slash_64() {
        let l = RateLimiter::new(2).unwrap();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let next_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(l.take(a).is_ok());
        assert!(l.take(b).is_ok());
        assert!(l.take(a).is_err(), "the same /64, the same bucket");
        assert!(l.take(next_64).is_ok(), "another /64 is another client");
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_of(mapped), v4);
        assert_eq!(client_of(v4), v4);
        assert_eq!(client_of(a), client_of(b));
        assert_ne!(client_of(a), client_of(next_64));
    }

    #[test]
    fn token_paths() {
        assert!(token_path("/agendas/abc.ics"));
        assert!(token_path("/api/agendas/abc/rotate"));
        assert!(!token_path("/api/agendas/"));
        assert!(!token_path("/api/conferences"));
    }
}
