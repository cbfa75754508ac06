//! Fetching a source: one conditional GET, blocking (callers run it on a
//! thread of its own, never on an async worker).
//!
//! ureq does the HTTP; what a schedule source needs beyond it is here:
//! `If-None-Match` / `If-Modified-Since` from the last schedule applied, a
//! deadline on the whole fetch (redirects and body included), a bound on
//! the body (after decompression, so a small gzip bomb is no way round
//! it), a User-Agent that names confcal and the server's public URL, and
//! redirects followed here rather than by ureq, so that an https source is
//! never sent on to plain http and at most [`MAX_REDIRECTS`] are taken.
//! Error messages are ours: they never carry the URL (which may hold
//! credentials), and say what an operator can act on.

use std::io::Read;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Redirects followed before giving up (a loop, or a chain nobody meant).
pub const MAX_REDIRECTS: usize = 5;

/// The longest `Retry-After` honoured: an upstream asking for more is
/// asked again after a day.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How a fetch is made.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The whole fetch, from connecting to the last byte of the body.
    pub timeout: Duration,
    /// The largest body accepted, decompressed.
    pub max_bytes: usize,
    /// `confcal/<version> (+<public URL>)`.
    pub user_agent: String,
}

impl ClientOptions {
    /// The User-Agent for a server whose public URL is `base_url` (lets an
    /// upstream's operator see who fetches their schedule, and how to reach
    /// them).
    pub fn user_agent_for(base_url: Option<&str>) -> String {
        let version = env!("CARGO_PKG_VERSION");
        match base_url {
            Some(b) => format!("confcal/{version} (+{b})"),
            None => format!("confcal/{version}"),
        }
    }
}

/// A reusable client (it keeps idle connections to upstreams).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    opts: ClientOptions,
}

/// What a fetch brought.
#[derive(Debug)]
pub enum Fetched {
    /// 304: the schedule last applied is still the upstream's.
    NotModified {
        etag: Option<String>,
        last_modified: Option<String>,
    },
    /// 200 and the body.
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// Why a fetch brought nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    pub message: String,
    /// The upstream's status, when it answered.
    pub status: Option<u16>,
    /// What its `Retry-After` asked for (capped at [`MAX_RETRY_AFTER`]).
    pub retry_after: Option<Duration>,
    /// No answer within the timeout.
    pub timed_out: bool,
}

impl FetchError {
    fn new(message: impl Into<String>) -> FetchError {
        FetchError {
            message: message.into(),
            status: None,
            retry_after: None,
            timed_out: false,
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Client {
    pub fn new(opts: ClientOptions) -> Client {
        let agent = ureq::AgentBuilder::new()
            .redirects(0)
            .timeout_connect(opts.timeout.min(Duration::from_secs(10)))
            .user_agent(&opts.user_agent)
            .max_idle_connections_per_host(2)
            .build();
        Client { agent, opts }
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// GETs `url`, conditionally when validators are given.
    pub fn fetch(
        &self,
        url: &str,
        etag: Option<&str>,
        last_modified: Option<&str>,
    ) -> Result<Fetched, FetchError> {
        let deadline = Instant::now() + self.opts.timeout;
        let mut current = url::Url::parse(url)
            .map_err(|e| FetchError::new(format!("the URL cannot be read: {e}")))?;
        for _ in 0..=MAX_REDIRECTS {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timed_out());
            }
            let mut req = self
                .agent
                .request_url("GET", &current)
                .timeout(left)
                .set(
                    "Accept",
                    "application/xml, application/json, text/calendar, text/xml;q=0.9, */*;q=0.5",
                )
                .set("Accept-Encoding", "gzip");
            if let Some(e) = etag {
                req = req.set("If-None-Match", e);
            }
            if let Some(m) = last_modified {
                req = req.set("If-Modified-Since", m);
            }
            let resp = match req.call() {
                Ok(r) => r,
                Err(ureq::Error::Status(_, r)) => r,
                Err(ureq::Error::Transport(t)) => return Err(self.transport(&t)),
            };
            let status = resp.status();
            let header = |n: &str| resp.header(n).map(str::to_owned);
            match status {
                200 => {
                    let (etag, last_modified) = (header("ETag"), header("Last-Modified"));
                    let bytes = self.body(resp)?;
                    return Ok(Fetched::Body {
                        bytes,
                        etag,
                        last_modified,
                    });
                }
                304 => {
                    return Ok(Fetched::NotModified {
                        etag: header("ETag"),
                        last_modified: header("Last-Modified"),
                    })
                }
                301 | 302 | 303 | 307 | 308 => {
                    let location = resp.header("Location").ok_or_else(|| {
                        FetchError::new(format!("the upstream answered {status} with no Location"))
                    })?;
                    current = next_location(&current, location)?;
                }
                _ => {
                    return Err(FetchError {
                        message: format!(
                            "the upstream answered {status} {}",
                            resp.status_text().trim()
                        )
                        .trim_end()
                        .to_owned(),
                        status: Some(status),
                        retry_after: resp
                            .header("Retry-After")
                            .and_then(|v| retry_after(v, Utc::now())),
                        timed_out: false,
                    })
                }
            }
        }
        Err(FetchError::new(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }

    /// The body, decompressed, up to the limit.
    fn body(&self, resp: ureq::Response) -> Result<Vec<u8>, FetchError> {
        let limit = self.opts.max_bytes;
        let too_large = || {
            FetchError::new(format!(
                "the schedule is larger than the limit of {limit} bytes"
            ))
        };
        let gzip = is_gzip(resp.header("Content-Encoding"));
        // A declared length over the limit is refused unread; a compressed
        // body is measured as it is decompressed.
        let declared = resp
            .header("Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if !gzip && declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let raw = resp.into_reader();
        let reader: Box<dyn Read> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        let mut bytes = Vec::new();
        reader
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io(&e, "reading the schedule"))?;
        if bytes.len() > limit {
            return Err(too_large());
        }
        Ok(bytes)
    }

    fn timed_out(&self) -> FetchError {
        FetchError {
            message: format!(
                "no complete answer within {} ms",
                self.opts.timeout.as_millis()
            ),
            timed_out: true,
            ..FetchError::new("")
        }
    }

    fn io(&self, e: &std::io::Error, doing: &str) -> FetchError {
        if matches!(
            e.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ) {
            self.timed_out()
        } else {
            FetchError::new(format!("the connection broke {doing}: {e}"))
        }
    }

    /// ureq's transport errors, said without the URL.
    fn transport(&self, t: &ureq::Transport) -> FetchError {
        use ureq::ErrorKind as K;
        // ureq's message says what it was doing ("tls connection init
        // failed"), the source why ("invalid peer certificate: …").
        let detail = [
            t.message().map(str::to_owned),
            std::error::Error::source(t).map(|s| s.to_string()),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
        let io = std::error::Error::source(t).and_then(|s| s.downcast_ref::<std::io::Error>());
        if let Some(e) = io.filter(|e| {
            matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            )
        }) {
            return self.io(e, "");
        }
        let what = match t.kind() {
            K::Dns => "the host name cannot be resolved",
            K::ConnectionFailed => "cannot connect to the upstream",
            K::InvalidUrl | K::UnknownScheme => "the URL cannot be fetched",
            K::BadStatus | K::BadHeader => "the upstream's answer is not HTTP",
            K::Io => "the connection broke",
            _ => "the fetch failed",
        };
        let mut e = FetchError::new(if detail.is_empty() {
            what.to_owned()
        } else {
            format!("{what}: {detail}")
        });
        e.timed_out = detail.contains("timed out");
        e
    }
}

fn is_gzip(v: Option<&str>) -> bool {
    v.is_some_and(|v| {
        v.split(',').any(|c| {
            c.trim().eq_ignore_ascii_case("gzip") || c.trim().eq_ignore_ascii_case("x-gzip")
        })
    })
}

/// Where a redirect leads, if it may be followed: http(s) only, and never
/// from https down to http (the schedule, and any credentials, would
/// travel in the clear; and a downgraded answer could be anyone's).
pub fn next_location(from: &url::Url, location: &str) -> Result<url::Url, FetchError> {
    let to = from.join(location.trim()).map_err(|e| {
        FetchError::new(format!("a redirect to an address that cannot be read: {e}"))
    })?;
    match (from.scheme(), to.scheme()) {
        ("https", "http") => Err(FetchError::new(
            "a redirect from https to plain http: refused",
        )),
        (_, "http" | "https") => Ok(to),
        (_, other) => Err(FetchError::new(format!(
            "a redirect to a {other}: address: refused"
        ))),
    }
}

/// `Retry-After`: seconds, or an HTTP date; at most [`MAX_RETRY_AFTER`].
pub fn retry_after(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = v.trim();
    let wait = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = DateTime::parse_from_rfc2822(v).ok()?;
        (at.with_timezone(&Utc) - now).to_std().unwrap_or_default()
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// A URL fit for logs, metrics and pages: no user name or password, no
/// query (which may hold a key) and no fragment.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let had_query = u.query().is_some();
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            let mut s = u.to_string();
            if had_query {
                s.push_str("?…");
            }
            s
        }
        Err(_) => "<a URL that cannot be read>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_never_go_down_to_http() {
        let https = url::Url::parse("https://pretalx.example/ev/schedule.xml").unwrap();
        let http = url::Url::parse("http://frab.example/schedule.xml").unwrap();
        assert!(next_location(&https, "http://pretalx.example/x")
            .unwrap_err()
            .message
            .contains("https to plain http"));
        assert_eq!(
            next_location(&https, "/ev/schedule/export/schedule.xml")
                .unwrap()
                .as_str(),
            "https://pretalx.example/ev/schedule/export/schedule.xml"
        );
        assert_eq!(
            next_location(&http, "https://frab.example/s.xml")
                .unwrap()
                .as_str(),
            "https://frab.example/s.xml"
        );
        assert!(next_location(&http, "file:///etc/passwd").is_err());
        assert!(next_location(&http, "ftp://x/y").is_err());
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = DateTime::parse_from_rfc3339("2024-03-09T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Sat, 09 Mar 2024 12:05:00 GMT", now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            retry_after("Sat, 09 Mar 2024 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("99999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            redact_url("https://user:hunter2@sched.example/api/x.ics?api_key=s3cret#top"),
            "https://sched.example/api/x.ics?…"
        );
        assert_eq!(
            redact_url("https://pretalx.com/ev/schedule/export/schedule.xml"),
            "https://pretalx.com/ev/schedule/export/schedule.xml"
        );
    }

    #[test]
    fn user_agent_names_confcal_and_the_server() {
        let ua = ClientOptions::user_agent_for(Some("https://confcal.example"));
        assert!(ua.starts_with("confcal/"), "{ua}");
        assert!(ua.ends_with("(+https://confcal.example)"), "{ua}");
    }
}
