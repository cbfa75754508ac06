//! For operators: `GET /healthz`, `GET /metrics` (Prometheus text format,
//! written by hand), the request counters behind it, and the client side of
//! `confcal healthcheck`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::http::Method;
use actix_web::{web, HttpResponse};

use super::AppState;
use crate::store::{DbStats, StoreError};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics));
}

/// 200 `{"status":"ok"}` when the database answers a query through the
/// reading pool *and* its files are sound ([`crate::store::Store::health`]:
/// not deleted or replaced, not read-only, room on the disk), else 503 with
/// what is wrong. Reads never wait for a writer, so a write lock held
/// elsewhere does not make the server look down.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    let outcome = match web::block(move || store.ping().and_then(|()| store.health())).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(StoreError::Unhealthy(problems))) => Err((problems.clone(), problems)),
        Ok(Err(e)) => Err((e.to_string(), "the database does not answer".to_owned())),
        Err(e) => Err((e.to_string(), "the database does not answer".to_owned())),
    };
    match outcome {
        Ok(()) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({"status": "ok"})),
        Err((cause, public)) => {
            tracing::warn!(error = %cause, "health check failed");
            HttpResponse::ServiceUnavailable()
                .insert_header(("Cache-Control", "no-store"))
                .json(serde_json::json!({"status": "unavailable", "error": public}))
        }
    }
}

pub async fn metrics(
    state: web::Data<AppState>,
    m: web::Data<Metrics>,
    follower: Option<web::Data<crate::follow::Follower>>,
) -> HttpResponse {
    let store = state.store.clone();
    let stats = match web::block(move || store.stats()).await {
        Ok(Ok(s)) => Some(s),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: cannot read database statistics");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot read database statistics");
            None
        }
    };
    let hits = state.feeds.hits.load(Ordering::Relaxed);
    let renders = state.feeds.renders.load(Ordering::Relaxed);
    let mut body = m.render(hits, renders, stats.as_ref());
    gauge(
        &mut body,
        "confcal_feed_cache_bytes",
        "Bytes the rendered-feed cache holds (bodies and compressed variants).",
        state.feeds.bytes(),
    );
    gauge(
        &mut body,
        "confcal_feed_cache_limit_bytes",
        "The rendered-feed cache's limit (--feed-cache-mb).",
        state.feeds.max_bytes(),
    );
    gauge(
        &mut body,
        "confcal_feed_cache_entries",
        "Feeds in the rendered-feed cache.",
        state.feeds.len(),
    );
    let budget = &state.send_budget;
    gauge(
        &mut body,
        "confcal_unsent_bytes",
        "Bytes of response bodies made for one client and not yet sent.",
        budget.held(),
    );
    gauge(
        &mut body,
        "confcal_unsent_limit_bytes",
        "The limit of those bytes (--unsent-mb).",
        budget.limit(),
    );
    header(
        &mut body,
        "confcal_unsent_refused_total",
        "counter",
        "Responses answered 503 because unsent bodies held the whole limit.",
    );
    let _ = writeln!(body, "confcal_unsent_refused_total {}", budget.refused());
    if let Some(f) = follower {
        f.metrics(&mut body).await;
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

/// Upper bounds of the latency histogram, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative); the last slot is above every bound.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
}

#[derive(Default)]
struct Inner {
    /// (route pattern, method, status) → count.
    requests: HashMap<(String, &'static str, u16), u64>,
    durations: HashMap<String, Histogram>,
}

/// Request counters, shared by every worker (one short lock per request).
/// Labels are route *patterns* (`/agendas/{token}.ics`), never paths, so no
/// token reaches the metrics and the number of series stays bounded.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    in_flight: AtomicI64,
}

/// The route label of a request: its matched pattern, or `unmatched`.
pub const UNMATCHED: &str = "unmatched";

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Call when a request starts; the guard counts it as in flight until
    /// dropped.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    pub fn record(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let method = method_label(method);
        let bucket = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key = (route.to_owned(), method, status);
        *inner.requests.entry(key).or_insert(0) += 1;
        let h = match inner.durations.get_mut(route) {
            Some(h) => h,
            None => inner.durations.entry(route.to_owned()).or_default(),
        };
        h.counts[bucket] += 1;
        h.sum += seconds;
    }

    /// The exposition text.
    pub fn render(&self, feed_hits: u64, feed_renders: u64, stats: Option<&DbStats>) -> String {
        let mut out = String::with_capacity(4096);
        let (mut requests, mut durations) = {
            let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let requests: Vec<_> = inner
                .requests
                .iter()
                .map(|((r, m, s), n)| (r.clone(), *m, *s, *n))
                .collect();
            let durations: Vec<_> = inner
                .durations
                .iter()
                .map(|(r, h)| (r.clone(), h.counts, h.sum))
                .collect();
            (requests, durations)
        };
        requests.sort();
        durations.sort_by(|a, b| a.0.cmp(&b.0));

        header(
            &mut out,
            "confcal_http_requests_total",
            "counter",
            "HTTP requests by route pattern, method and status.",
        );
        for (route, method, status, n) in &requests {
            let _ = writeln!(
                out,
                "confcal_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        header(
            &mut out,
            "confcal_http_request_duration_seconds",
            "histogram",
            "Time from request to response head, by route pattern.",
        );
        for (route, counts, sum) in &durations {
            let route = escape(route);
            let mut cumulative = 0;
            for (i, bound) in BUCKETS.iter().enumerate() {
                cumulative += counts[i];
                let _ = writeln!(
                    out,
                    "confcal_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += counts[BUCKETS.len()];
            let _ = writeln!(
                out,
                "confcal_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {cumulative}"
            );
            let _ = writeln!(
                out,
                "confcal_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "confcal_http_request_duration_seconds_count{{route=\"{route}\"}} {cumulative}"
            );
        }
        gauge(
            &mut out,
            "confcal_http_requests_in_flight",
            "Requests being served now.",
            self.in_flight.load(Ordering::Relaxed),
        );
        header(
            &mut out,
            "confcal_feed_renders_total",
            "counter",
            "Feeds rendered from the database (cache misses).",
        );
        let _ = writeln!(out, "confcal_feed_renders_total {feed_renders}");
        header(
            &mut out,
            "confcal_feed_cache_hits_total",
            "counter",
            "Feeds served from the rendered-feed cache.",
        );
        let _ = writeln!(out, "confcal_feed_cache_hits_total {feed_hits}");
        if let Some(s) = stats {
            gauge(
                &mut out,
                "confcal_conferences",
                "Conferences stored.",
                s.conferences,
            );
            header(
                &mut out,
                "confcal_sessions",
                "gauge",
                "Sessions stored, by status.",
            );
            let _ = writeln!(
                out,
                "confcal_sessions{{status=\"confirmed\"}} {}",
                s.sessions_confirmed
            );
            let _ = writeln!(
                out,
                "confcal_sessions{{status=\"cancelled\"}} {}",
                s.sessions_cancelled
            );
            gauge(&mut out, "confcal_agendas", "Personal agendas.", s.agendas);
            gauge(
                &mut out,
                "confcal_database_size_bytes",
                "Database file (page_count * page_size) plus its WAL.",
                s.size_bytes,
            );
        }
        gauge(
            &mut out,
            "confcal_database_up",
            "1 when the statistics query answered.",
            u8::from(stats.is_some()),
        );
        out
    }
}

/// Counts a request as in flight while alive.
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

/// Standard methods by name, anything else as `other` (bounded labels).
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Label-value escaping of the text format: backslash, quote, newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `confcal healthcheck`: GET `/healthz` on the local server listening on
/// `addr` (an unspecified address such as `0.0.0.0` means loopback) with a
/// plain TCP stream, so the container image needs no curl. `Ok` on a 200.
pub fn probe(addr: &str, timeout: Duration) -> Result<(), String> {
    let target = local_target(addr)?;
    let mut stream = TcpStream::connect_timeout(&target, timeout)
        .map_err(|e| format!("cannot connect to {target}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\nUser-Agent: confcal-healthcheck\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send to {target}: {e}"))?;
    let mut response = Vec::new();
    stream
        .take(64 * 1024)
        .read_to_end(&mut response)
        .map_err(|e| format!("no answer from {target}: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let status_line = text.lines().next().unwrap_or_default();
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    if status == "200" {
        Ok(())
    } else {
        Err(format!("{target}/healthz answered {status_line:?}"))
    }
}

fn local_target(addr: &str) -> Result<SocketAddr, String> {
    let mut found = addr
        .to_socket_addrs()
        .map_err(|e| format!("bad address {addr:?}: {e}"))?;
    let mut a = found
        .next()
        .ok_or_else(|| format!("bad address {addr:?}"))?;
    if a.ip().is_unspecified() {
        a.set_ip(match a.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::new();
        m.record("/a/{x}", &Method::GET, 200, 0.0005);
        m.record("/a/{x}", &Method::GET, 200, 0.2);
        m.record(UNMATCHED, &Method::from_bytes(b"BREW").unwrap(), 404, 20.0);
        let text = m.render(3, 1, None);
        assert!(text.contains(
            "confcal_http_requests_total{route=\"/a/{x}\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "confcal_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 1"
        ));
        assert!(text.contains(
            "confcal_http_request_duration_seconds_bucket{route=\"/a/{x}\",le=\"0.001\"} 1"
        ));
        assert!(text.contains(
            "confcal_http_request_duration_seconds_bucket{route=\"/a/{x}\",le=\"0.25\"} 2"
        ));
        assert!(text.contains(
            "confcal_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"10\"} 0"
        ));
        assert!(text.contains(
            "confcal_http_request_duration_seconds_bucket{route=\"unmatched\",le=\"+Inf\"} 1"
        ));
        assert!(text.contains("confcal_feed_cache_hits_total 3"));
        assert!(text.contains("confcal_database_up 0"));
        assert_eq!(escape("a\"b\\c\n"), "a\\\"b\\\\c\\n");
    }

    #[test]
    fn probe_targets_loopback_for_unspecified_addresses() {
        assert_eq!(
            local_target("0.0.0.0:8080").unwrap(),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(local_target("[::]:9").unwrap(), "[::1]:9".parse().unwrap());
        assert!(local_target("nonsense").is_err());
    }
}
