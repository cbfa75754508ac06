//! Following a source: a conference's schedule fetched from the URL where
//! it is published (pretalx, frab, Sessionize…), on an interval, and
//! synced into the store like any import.
//!
//! One attempt ([`attempt`]) is: take the source's turn in the store (a
//! lease, so two servers on one database do not both fetch it), fetch
//! conditionally ([`fetch`]), read the schedule with the importers, and
//! write the sync and the source's new state in one transaction. Anything
//! that goes wrong on the way (no answer, an error status, a body that
//! does not parse, a schedule that breaks a rule) changes no session: the
//! last good schedule keeps being served, and the error is recorded in the
//! source's state, counted in `/metrics` and logged. A schedule that would
//! cancel most of what is stored ([`suspicious`]) is held until the
//! operator confirms it.
//!
//! [`Follower`] runs attempts in the server: one task that sleeps until
//! the next source is due (or until woken by a change), and runs each
//! fetch on a thread of its own, at most [`CONCURRENCY`] at a time. Fetch
//! threads are not actix's blocking pool: a stop of the server never waits
//! for a slow upstream (a thread still fetching at the stop writes nothing).

pub mod fetch;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::domain::{ConferenceSlug, ValidationError};
use crate::import::{prepare, BuildError, Format, Options, PrepareError};
use crate::store::{
    Attempt, FetchOutcome, Held, SourceConfig, SourceRecord, SourceSync, Store, StoreError,
    SyncReport,
};
pub use fetch::{Client, ClientOptions, FetchError, Fetched};

/// `every_seconds` when none is given.
pub const DEFAULT_EVERY: u32 = 300;
/// The shortest interval accepted by default (`--source-min-every`): an
/// upstream is somebody else's server.
pub const DEFAULT_MIN_EVERY: u32 = 60;
/// The longest interval: a week.
pub const MAX_EVERY: u32 = 7 * 24 * 3600;
/// Longest source URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// The longest wait between attempts while an upstream keeps failing (or
/// the interval, if longer): the wait doubles with each failure up to it.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Fetches the server runs at once.
pub const CONCURRENCY: usize = 4;
/// The scheduler reads the table at least this often, so a source set by
/// `confcal source set` in another process is fetched without a restart.
pub const POLL: Duration = Duration::from_secs(10);
/// How long past its timeout an attempt's lease lasts: time to read and
/// write the schedule after the last byte arrived.
const LEASE_SLACK: Duration = Duration::from_secs(120);

/// The rule for holding a sync back: it would cancel more than half of
/// the conference's confirmed sessions (every one of them, when the
/// upstream suddenly lists none). A first sync, with nothing confirmed
/// yet, is never held.
pub fn suspicious(h: &Held) -> bool {
    h.confirmed > 0 && h.would_cancel * 2 > h.confirmed
}

/// When to try again after `failures` failures in a row: the interval,
/// doubled for each failure after the first, up to [`MAX_BACKOFF`] (or the
/// interval itself if longer); never before the upstream's `Retry-After`.
pub fn backoff(every: u32, failures: i64, retry_after: Option<Duration>) -> Duration {
    let every = Duration::from_secs(u64::from(every));
    let doublings = u32::try_from(failures.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let wait = every
        .saturating_mul(1u32 << doublings)
        .min(MAX_BACKOFF.max(every));
    wait.max(retry_after.unwrap_or_default())
}

/// Checks what an operator asks for. `min_every` is the server's shortest
/// interval. Errors name the field.
pub fn check_config(
    url: &str,
    format: &str,
    timezone: Option<&str>,
    every_seconds: i64,
    min_every: u32,
) -> Result<SourceConfig, ValidationError> {
    let url = url.trim();
    if url.len() > MAX_URL_LEN {
        return Err(ValidationError::new(
            "url",
            format!("longer than {MAX_URL_LEN} characters"),
        ));
    }
    let parsed = url::Url::parse(url)
        .map_err(|e| ValidationError::new("url", format!("not an absolute URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ValidationError::new(
            "url",
            format!("a {}: URL: use http or https", parsed.scheme()),
        ));
    }
    if parsed.host_str().map_or(true, str::is_empty) {
        return Err(ValidationError::new("url", "the URL names no host"));
    }
    let format = Format::parse(format).map_err(|m| ValidationError::new("format", m))?;
    let timezone = match timezone.map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            t.parse::<Tz>()
                .map_err(|_| {
                    ValidationError::new(
                        "timezone",
                        format!("{t:?} is not an IANA time zone name (such as Europe/Berlin)"),
                    )
                })?
                .name()
                .to_owned(),
        ),
    };
    let min = i64::from(min_every.max(1));
    if every_seconds < min || every_seconds > i64::from(MAX_EVERY) {
        return Err(ValidationError::new(
            "every_seconds",
            format!("{every_seconds} is not between {min} and {MAX_EVERY} (a week)"),
        ));
    }
    let mut clean = parsed;
    clean.set_fragment(None);
    Ok(SourceConfig {
        url: clean.to_string(),
        format: format.name().to_owned(),
        timezone,
        every_seconds: every_seconds as u32,
    })
}

/// The body of `PUT /api/conferences/{conf}/source`:
/// `{"url": "...", "format": "auto", "timezone": null, "every_seconds": 300}`
/// (only `url` is required).
pub fn parse_config(body: &[u8], min_every: u32) -> Result<SourceConfig, ValidationError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ValidationError::new("body", format!("not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ValidationError::new(
            "body",
            "a JSON object with url, format, timezone and every_seconds",
        ));
    };
    if let Some(k) = map
        .keys()
        .find(|k| !["url", "format", "timezone", "every_seconds"].contains(&k.as_str()))
    {
        return Err(ValidationError::new(
            k.as_str(),
            "unknown field: use url, format, timezone and every_seconds",
        ));
    }
    let text = |k: &str| -> Result<Option<&str>, ValidationError> {
        match map.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ValidationError::new(k, "must be a string")),
        }
    };
    let url = text("url")?.ok_or_else(|| ValidationError::new("url", "required"))?;
    let format = text("format")?.unwrap_or("auto");
    let timezone = text("timezone")?;
    let every = match map.get("every_seconds") {
        None | Some(Value::Null) => i64::from(DEFAULT_EVERY),
        Some(v) => v.as_i64().ok_or_else(|| {
            ValidationError::new("every_seconds", "must be a whole number of seconds")
        })?,
    };
    check_config(url, format, timezone, every, min_every)
}

/// What one attempt did.
#[derive(Debug, Clone)]
pub struct AttemptReport {
    pub outcome: FetchOutcome,
    /// Why nothing was applied (for `error`), or what is held (`held`).
    pub error: Option<String>,
    /// The upstream did not answer in time.
    pub timed_out: bool,
    /// The sync applied (for `ok`).
    pub report: Option<SyncReport>,
    pub held: Option<Held>,
    pub warnings: Vec<crate::import::Warning>,
}

impl AttemptReport {
    fn failed(e: String, timed_out: bool) -> AttemptReport {
        AttemptReport {
            outcome: FetchOutcome::Error,
            error: Some(e),
            timed_out,
            report: None,
            held: None,
            warnings: Vec::new(),
        }
    }
}

/// The lease of one attempt: its timeout and time to apply what came.
pub fn lease(client: &Client, now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::from_std(client.options().timeout + LEASE_SLACK)
        .unwrap_or(chrono::Duration::hours(1))
}

/// One attempt on a source already claimed ([`Store::claim_source`]):
/// fetch, read, sync and record. Blocking. `stopping` is looked at before
/// anything is written: a server that has stopped serving writes nothing
/// more. `None` when nothing was recorded (the source changed or went
/// meanwhile, or the server is stopping).
pub fn attempt(
    store: &Store,
    client: &Client,
    rec: &SourceRecord,
    confirm: bool,
    stopping: &AtomicBool,
) -> Result<Option<AttemptReport>, StoreError> {
    let slug = rec.conference.as_str();
    let shown = fetch::redact_url(&rec.config.url);
    let fetched = client.fetch(
        &rec.config.url,
        rec.etag.as_deref(),
        rec.last_modified.as_deref(),
    );
    let at = Utc::now();
    let every = rec.config.every_seconds;
    let after =
        |d: Duration| at + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::hours(1));
    let mut a = Attempt {
        at,
        next_due: after(Duration::from_secs(u64::from(every))),
        http_status: None,
        etag: None,
        last_modified: None,
    };
    let fail = |a: &mut Attempt,
                e: String,
                status: Option<u16>,
                retry: Option<Duration>,
                timed_out: bool| {
        a.http_status = status;
        a.next_due = after(backoff(every, rec.failures + 1, retry));
        if stopping.load(Ordering::SeqCst) {
            return Ok(None);
        }
        tracing::warn!(
            conference = slug,
            url = %shown,
            error = %e,
            status,
            failures = rec.failures + 1,
            next = %a.next_due.to_rfc3339_opts(SecondsFormat::Secs, true),
            "source: nothing applied, the last good schedule stays"
        );
        Ok(store
            .record_failure(slug, rec.generation, a, &e)?
            .then(|| AttemptReport::failed(e, timed_out)))
    };
    let (bytes, etag, last_modified) = match fetched {
        Err(e) => return fail(&mut a, e.message, e.status, e.retry_after, e.timed_out),
        Ok(Fetched::NotModified {
            etag,
            last_modified,
        }) => {
            a.http_status = Some(304);
            a.etag = etag;
            a.last_modified = last_modified;
            if stopping.load(Ordering::SeqCst) {
                return Ok(None);
            }
            tracing::debug!(conference = slug, url = %shown, "source: not modified");
            return Ok(store
                .record_not_modified(slug, rec.generation, &a)?
                .then_some(AttemptReport {
                    outcome: FetchOutcome::NotModified,
                    error: None,
                    timed_out: false,
                    report: None,
                    held: None,
                    warnings: Vec::new(),
                }));
        }
        Ok(Fetched::Body {
            bytes,
            etag,
            last_modified,
        }) => (bytes, etag, last_modified),
    };
    a.http_status = Some(200);
    let config = &rec.config;
    let slug_typed = ConferenceSlug::parse(slug)
        .map_err(|e| StoreError::Corrupt(format!("source of {slug:?}: {e}")))?;
    let opts = Options {
        format: Format::parse(&config.format).map_err(StoreError::Corrupt)?,
        conference: Some(slug_typed),
        timezone: config
            .timezone
            .as_deref()
            .map(|t| t.parse::<Tz>())
            .transpose()
            .map_err(|_| StoreError::Corrupt(format!("source zone {:?}", config.timezone)))?,
    };
    let prepared = prepare(&bytes, &opts, None, |s| match store.conference(s) {
        Ok(rec) => Ok(Some(rec.conference)),
        Err(StoreError::ConferenceNotFound(_)) => Ok(None),
        Err(e) => Err(e),
    });
    drop(bytes);
    let prepared = match prepared {
        Ok(p) => p,
        Err(PrepareError::Store(e)) => return Err(e),
        Err(PrepareError::Build(e)) => {
            return fail(&mut a, describe(&e), Some(200), None, false);
        }
    };
    a.etag = etag;
    a.last_modified = last_modified;
    if stopping.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let warnings: Vec<String> = prepared.warnings.iter().map(|w| w.to_string()).collect();
    let synced = store.sync_from_source(
        slug,
        rec.generation,
        &a,
        &prepared.schedule,
        prepared.format.name(),
        &warnings,
        confirm,
        suspicious,
    )?;
    Ok(synced.map(|s| match s {
        SourceSync::Applied(report) => {
            tracing::info!(
                conference = slug,
                url = %shown,
                format = prepared.format.name(),
                created = report.created.len(),
                updated = report.updated.len(),
                cancelled = report.cancelled.len(),
                unchanged = report.unchanged.len(),
                warnings = warnings.len(),
                "source: synced"
            );
            AttemptReport {
                outcome: FetchOutcome::Ok,
                error: None,
                timed_out: false,
                report: Some(report),
                held: None,
                warnings: prepared.warnings,
            }
        }
        SourceSync::Held(h) => {
            let why = held_message(&h);
            tracing::warn!(
                conference = slug,
                url = %shown,
                would_cancel = h.would_cancel,
                confirmed = h.confirmed,
                sessions = h.sessions,
                "source: sync held as suspicious, nothing applied"
            );
            AttemptReport {
                outcome: FetchOutcome::Held,
                error: Some(why),
                timed_out: false,
                report: None,
                held: Some(h),
                warnings: prepared.warnings,
            }
        }
    }))
}

/// Why an import of what the upstream sent failed, naming the source's
/// own settings where one would fix it.
fn describe(e: &BuildError) -> String {
    match e {
        BuildError::NeedsTimezone => {
            "the schedule names no time zone: set the source's timezone (such as Europe/Berlin)"
                .into()
        }
        other => format!("the schedule cannot be imported: {other}"),
    }
}

fn held_message(h: &Held) -> String {
    format!(
        "held: the upstream lists {} sessions, and applying it would cancel {} of the {} \
         confirmed here; nothing was changed (sync with confirm=true to apply it)",
        h.sessions, h.would_cancel, h.confirmed
    )
}

/// An attempt now, outside the schedule (`confcal source sync`, the
/// `POST .../source/sync` of a server): claims the source whatever its due
/// time and runs [`attempt`]. `None` when the conference has no source.
pub fn sync_once(
    store: &Store,
    client: &Client,
    slug: &ConferenceSlug,
    confirm: bool,
    stopping: &AtomicBool,
) -> Result<Option<(Option<AttemptReport>, SourceRecord)>, StoreError> {
    let now = Utc::now();
    let Some(rec) = store.claim_source(slug.as_str(), now, lease(client, now), true)? else {
        return Ok(None);
    };
    let report = attempt(store, client, &rec, confirm, stopping)?;
    let after = store.source(slug)?.unwrap_or(rec);
    Ok(Some((report, after)))
}

fn time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        t.to_rfc3339_opts(SecondsFormat::Secs, true).into()
    })
}

/// A source's state as the API answers it. The URL is shown without its
/// password (the rest is the operator's own).
pub fn state_json(rec: &SourceRecord) -> Value {
    let url = match url::Url::parse(&rec.config.url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => rec.config.url.clone(),
    };
    json!({
        "conference": rec.conference,
        "url": url,
        "format": rec.config.format,
        "timezone": rec.config.timezone,
        "every_seconds": rec.config.every_seconds,
        "state": rec.last_outcome.map_or("pending", FetchOutcome::as_str),
        "created": time(Some(rec.created)),
        "last_attempt": time(rec.last_attempt),
        "last_success": time(rec.last_success),
        "last_change": time(rec.last_change),
        "next_attempt": time(Some(rec.next_due)),
        "last_error": rec.last_error,
        "http_status": rec.http_status,
        "consecutive_failures": rec.failures,
        "etag": rec.etag,
        "last_modified": rec.last_modified,
        "last_sync": rec.counts,
        "held": rec.held.map(|h| json!({
            "would_cancel": h.would_cancel,
            "confirmed": h.confirmed,
            "sessions": h.sessions,
            "message": held_message(&h),
        })),
        "format_read": rec.format_read,
        "warnings": rec.warnings,
    })
}

/// The line the conference page shows about its source: where the
/// schedule comes from, when it was last confirmed current and when it
/// last changed, in the conference's zone. `None` before the first
/// successful fetch.
pub fn page_note(rec: &SourceRecord, tz: Tz) -> Option<String> {
    let checked = rec.last_success?;
    let host = url::Url::parse(&rec.config.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "its source".into());
    let at = |t: DateTime<Utc>| {
        t.with_timezone(&tz)
            .format("%A %-d %B %Y, %H:%M %Z")
            .to_string()
    };
    let mut line = format!("Schedule updated from {host}: last checked {}", at(checked));
    if let Some(changed) = rec.last_change {
        let _ = write!(line, ", last changed {}", at(changed));
    }
    line.push('.');
    Some(line)
}

/// The server's follower: runs due attempts, and attempts asked for.
pub struct Follower {
    store: Store,
    client: Client,
    min_every: u32,
    wake: tokio::sync::Notify,
    slots: Arc<tokio::sync::Semaphore>,
    /// One lock per conference: an attempt asked for waits for the one
    /// running; the scheduler skips a conference that has one running.
    busy: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    stopping: Arc<AtomicBool>,
    outcomes: [AtomicU64; 4],
}

impl Follower {
    pub fn new(store: Store, client: ClientOptions, min_every: u32) -> Follower {
        Follower {
            store,
            client: Client::new(client),
            min_every: min_every.max(1),
            wake: tokio::sync::Notify::new(),
            slots: Arc::new(tokio::sync::Semaphore::new(CONCURRENCY)),
            busy: Mutex::new(HashMap::new()),
            stopping: Arc::new(AtomicBool::new(false)),
            outcomes: Default::default(),
        }
    }

    /// The shortest interval this server accepts.
    pub fn min_every(&self) -> u32 {
        self.min_every
    }

    /// Makes the scheduler look at the table now (a source was set).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// From now on no attempt writes anything (the server has stopped).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn lock(&self, slug: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        busy.entry(slug.to_owned()).or_default().clone()
    }

    async fn db<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let store = self.store.clone();
        actix_web::web::block(move || f(&store))
            .await
            .map_err(|e| StoreError::Busy(format!("no blocking thread: {e}")))?
    }

    /// Runs [`attempt`] on a thread of its own and waits for it.
    async fn on_thread(
        &self,
        rec: SourceRecord,
        confirm: bool,
    ) -> Result<Option<AttemptReport>, StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (store, client, stopping) = (
            self.store.clone(),
            self.client.clone(),
            self.stopping.clone(),
        );
        std::thread::Builder::new()
            .name("confcal-follow".into())
            .spawn(move || {
                let _ = tx.send(attempt(&store, &client, &rec, confirm, &stopping));
            })
            .map_err(|e| StoreError::Busy(format!("cannot start a fetch thread: {e}")))?;
        let out = rx
            .await
            .map_err(|_| StoreError::Busy("the fetch thread ended without an answer".into()))?;
        if let Ok(Some(r)) = &out {
            self.outcomes[FetchOutcome::ALL
                .iter()
                .position(|o| *o == r.outcome)
                .unwrap_or(0)]
            .fetch_add(1, Ordering::Relaxed);
        }
        out
    }

    /// An attempt now (`POST .../source/sync`), after any one running for
    /// the conference. `None` when it has no source.
    pub async fn sync_now(
        &self,
        slug: &ConferenceSlug,
        confirm: bool,
    ) -> Result<Option<(Option<AttemptReport>, SourceRecord)>, StoreError> {
        let _turn = self.lock(slug.as_str()).lock_owned().await;
        let lease_until = lease(&self.client, Utc::now());
        let s = slug.clone();
        let Some(rec) = self
            .db(move |st| st.claim_source(s.as_str(), Utc::now(), lease_until, true))
            .await?
        else {
            return Ok(None);
        };
        let fallback = rec.clone();
        let report = self.on_thread(rec, confirm).await;
        self.wake();
        let report = report?;
        let s = slug.clone();
        let after = self.db(move |st| st.source(&s)).await?.unwrap_or(fallback);
        Ok(Some((report, after)))
    }

    /// The scheduler: until the task is dropped, takes each due source and
    /// runs its attempt, then sleeps until the next is due, [`POLL`] at
    /// most, or until [`Follower::wake`].
    pub async fn run(self: Arc<Self>) {
        loop {
            let now = Utc::now();
            match self.db(move |s| s.due_sources(now, 64)).await {
                Ok(due) => {
                    for slug in due {
                        let Ok(turn) = self.lock(&slug).try_lock_owned() else {
                            continue;
                        };
                        let Ok(slot) = self.slots.clone().acquire_owned().await else {
                            return;
                        };
                        let lease_until = lease(&self.client, Utc::now());
                        let s = slug.clone();
                        let claimed = self
                            .db(move |st| st.claim_source(&s, Utc::now(), lease_until, false))
                            .await;
                        let rec = match claimed {
                            Ok(Some(rec)) => rec,
                            Ok(None) => continue,
                            Err(e) => {
                                tracing::warn!(conference = %slug, error = %e, "source: cannot take its turn");
                                continue;
                            }
                        };
                        let this = self.clone();
                        actix_web::rt::spawn(async move {
                            if let Err(e) = this.on_thread(rec, false).await {
                                tracing::warn!(conference = %slug, error = %e, "source: the attempt failed");
                            }
                            drop((turn, slot));
                            // Its next due time is known now: the
                            // scheduler, asleep on the lease, recomputes.
                            this.wake();
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "source: cannot read the due sources"),
            }
            let next = self.db(|s| s.next_source_due()).await.ok().flatten();
            let wait = next
                .map(|t| (t - Utc::now()).to_std().unwrap_or_default())
                .unwrap_or(POLL)
                .clamp(Duration::from_millis(100), POLL);
            let sleep = Box::pin(actix_web::rt::time::sleep(wait));
            let woken = Box::pin(self.wake.notified());
            futures_util::future::select(sleep, woken).await;
        }
    }

    /// The follower's part of `/metrics`: attempts by outcome since the
    /// start, and per source whether its last attempt went well and when
    /// its schedule was last confirmed current. Labels are conference
    /// slugs only: no URL (which may hold credentials) is ever a label.
    pub async fn metrics(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP confcal_source_fetches_total Attempts to sync followed sources, by outcome.\n\
             # TYPE confcal_source_fetches_total counter"
        );
        for (o, n) in FetchOutcome::ALL.iter().zip(&self.outcomes) {
            let _ = writeln!(
                out,
                "confcal_source_fetches_total{{outcome=\"{}\"}} {}",
                o.as_str(),
                n.load(Ordering::Relaxed)
            );
        }
        let sources = match self.db(|s| s.sources()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot read the sources");
                return;
            }
        };
        let _ = writeln!(
            out,
            "# HELP confcal_sources Sources followed.\n# TYPE confcal_sources gauge\nconfcal_sources {}",
            sources.len()
        );
        let _ = writeln!(
            out,
            "# HELP confcal_source_up 1 when the source's last attempt applied its schedule or found it unchanged, 0 after an error or a held sync.\n# TYPE confcal_source_up gauge"
        );
        for s in &sources {
            let up = matches!(
                s.last_outcome,
                Some(FetchOutcome::Ok | FetchOutcome::NotModified)
            );
            let _ = writeln!(
                out,
                "confcal_source_up{{conference=\"{}\"}} {}",
                s.conference,
                u8::from(up)
            );
        }
        let _ = writeln!(
            out,
            "# HELP confcal_source_consecutive_failures Attempts in a row that ended in an error.\n# TYPE confcal_source_consecutive_failures gauge"
        );
        for s in &sources {
            let _ = writeln!(
                out,
                "confcal_source_consecutive_failures{{conference=\"{}\"}} {}",
                s.conference, s.failures
            );
        }
        let _ = writeln!(
            out,
            "# HELP confcal_source_last_success_timestamp_seconds When the schedule served was last confirmed to be the source's.\n# TYPE confcal_source_last_success_timestamp_seconds gauge"
        );
        for s in &sources {
            if let Some(t) = s.last_success {
                let _ = writeln!(
                    out,
                    "confcal_source_last_success_timestamp_seconds{{conference=\"{}\"}} {}",
                    s.conference,
                    t.timestamp()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_syncs_that_cancel_most_of_a_schedule() {
        let h = |would_cancel, confirmed, sessions| Held {
            would_cancel,
            confirmed,
            sessions,
        };
        assert!(suspicious(&h(10, 10, 0)), "an empty upstream");
        assert!(suspicious(&h(6, 10, 4)), "most gone");
        assert!(!suspicious(&h(5, 10, 5)), "half is not most");
        assert!(!suspicious(&h(1, 4, 4)), "one talk vanished");
        assert!(!suspicious(&h(0, 0, 0)), "nothing to lose");
        assert!(!suspicious(&h(0, 0, 120)), "a first sync");
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_honours_retry_after() {
        let s = Duration::from_secs;
        assert_eq!(backoff(300, 1, None), s(300));
        assert_eq!(backoff(300, 2, None), s(600));
        assert_eq!(backoff(300, 3, None), s(1200));
        assert_eq!(backoff(300, 30, None), MAX_BACKOFF);
        assert_eq!(
            backoff(86_400, 5, None),
            s(86_400),
            "a long interval is its own cap"
        );
        assert_eq!(backoff(300, 1, Some(s(7200))), s(7200));
        assert_eq!(backoff(300, 3, Some(s(10))), s(1200));
    }

    #[test]
    fn configs_are_checked_field_by_field() {
        let ok = parse_config(
            br#"{"url": "https://pretalx.com/ev/schedule/export/schedule.xml"}"#,
            60,
        )
        .unwrap();
        assert_eq!(ok.format, "auto");
        assert_eq!(ok.every_seconds, DEFAULT_EVERY);
        assert_eq!(ok.timezone, None);
        let field = |body: &str| parse_config(body.as_bytes(), 60).unwrap_err().field;
        assert_eq!(field(r#"{"url": "ftp://x/y"}"#), "url");
        assert_eq!(field(r#"{"url": "not a url"}"#), "url");
        assert_eq!(field(r#"{}"#), "url");
        assert_eq!(field(r#"{"url": "http://x/", "format": "pdf"}"#), "format");
        assert_eq!(
            field(r#"{"url": "http://x/", "timezone": "Mars/Base"}"#),
            "timezone"
        );
        assert_eq!(
            field(r#"{"url": "http://x/", "every_seconds": 10}"#),
            "every_seconds"
        );
        assert_eq!(
            field(r#"{"url": "http://x/", "every_seconds": 99999999}"#),
            "every_seconds"
        );
        assert_eq!(
            field(r#"{"url": "http://x/", "every_seconds": "5"}"#),
            "every_seconds"
        );
        assert_eq!(field(r#"{"url": "http://x/", "interval": 5}"#), "interval");
        assert_eq!(field(r#"[1]"#), "body");
        let tz = parse_config(
            br#"{"url": "http://x/s.json#frag", "format": "sessionize", "timezone": "Europe/Vienna", "every_seconds": 900}"#,
            60,
        )
        .unwrap();
        assert_eq!(
            (
                tz.url.as_str(),
                tz.format.as_str(),
                tz.timezone.as_deref(),
                tz.every_seconds
            ),
            ("http://x/s.json", "sessionize", Some("Europe/Vienna"), 900)
        );
    }
}
