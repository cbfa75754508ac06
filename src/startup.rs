//! Building the application: open the store, seed it, bind, serve; and
//! stopping it: finish the requests in flight, checkpoint the WAL.

use std::future::Future;
use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Compress};
use actix_web::{web, App};

use crate::config::Settings;
use crate::domain::Site;
use crate::follow::{ClientOptions, Follower};
use crate::http::feeds::FeedCache;
use crate::http::ops::Metrics;
use crate::http::protocol;
use crate::http::ratelimit::{limit_token_lookups, Limits, RateLimiter};
use crate::http::server::ServerOptions;
use crate::http::{self, AppState};
use crate::import::{seed_dir, ImportError};
use crate::store::{Store, StoreError, StoreOptions};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot import the seed data: {0}")]
    Seed(#[from] ImportError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("invalid base URL {0:?}: it must be an absolute http(s) URL")]
    BaseUrl(String),
    #[error(
        "the admin token (CONFCAL_ADMIN_TOKEN or --admin-token) is too weak: {0}; \
         make one with {make}",
        make = crate::config::MAKE_ADMIN_TOKEN
    )]
    WeakAdminToken(String),
}

/// Seconds requests in flight get to finish once a stop begins. Under 10,
/// so the WAL checkpoint that follows still fits in the 10 s an
/// orchestrator (`docker stop`, Kubernetes) waits before `SIGKILL`.
pub const SHUTDOWN_GRACE_SECS: u64 = 9;

/// The whole stop, from the signal to the exit, must end before this: the
/// 10 s an orchestrator waits, less a margin for the exit itself.
pub const STOP_DEADLINE: Duration = Duration::from_millis(9_500);

/// Longest the shutdown checkpoint waits for other connections (another
/// process's read transaction, a query still running): it then copies
/// what it can and lets the rest wait in the WAL for the next start.
pub const SHUTDOWN_CHECKPOINT_WAIT: Duration = Duration::from_millis(500);

/// How often the server looks at the database's files (see
/// [`Store::health`]): a deleted `-wal` is rescued within this long even
/// when nobody asks `/healthz`.
pub const FILE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// A built, bound, not yet running server. Tests build it on port 0 and
/// read the port the system chose.
pub struct Application {
    port: u16,
    base_url: String,
    server: Server,
    store: Store,
    /// Fetches followed sources while the server runs.
    follower: web::Data<Follower>,
    /// When the shutdown signal came, so the stop can keep to
    /// [`STOP_DEADLINE`].
    stop_began: Arc<OnceLock<Instant>>,
}

impl Application {
    /// Must be called inside an actix/tokio runtime. The server stops on the
    /// OS signals actix-web handles itself, or by [`Application::handle`].
    pub fn build(settings: Settings) -> Result<Application, StartupError> {
        Self::build_inner(settings, None)
    }

    /// Like [`Application::build`], but the server stops gracefully (no new
    /// connections, requests in flight finish) when `shutdown` completes,
    /// and on nothing else: `confcal serve` passes [`shutdown_signal`].
    pub fn build_with_shutdown(
        settings: Settings,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Application, StartupError> {
        Self::build_inner(settings, Some(Box::pin(shutdown)))
    }

    fn build_inner(
        settings: Settings,
        shutdown: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
    ) -> Result<Application, StartupError> {
        // Before anything is opened: a weak token is a start-up error, not
        // a server that anyone may administer after enough guesses.
        if let Some(weakness) = settings
            .admin_token
            .as_ref()
            .and_then(|t| t.admin_token_weakness())
        {
            return Err(StartupError::WeakAdminToken(weakness));
        }
        // On a thread of its own: the PostgreSQL client blocks on a runtime
        // of its own, which it may not start on this one's thread (`build`
        // runs inside the server's runtime). Nothing is bound before the
        // store can serve.
        let store = std::thread::scope(|s| {
            s.spawn(|| open_and_seed(&settings))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })?;
        let listener = TcpListener::bind(&settings.addr).map_err(|source| StartupError::Bind {
            addr: settings.addr.clone(),
            source,
        })?;
        let local = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.addr.clone(),
            source,
        })?;
        let base_url = match &settings.base_url {
            Some(b) => normalise_base_url(b)?,
            None => format!("http://{local}"),
        };
        let uid_host = url::Url::parse(&base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| StartupError::BaseUrl(base_url.clone()))?;
        let metrics = web::Data::new(Metrics::new());
        let follower = web::Data::new(Follower::new(
            store.clone(),
            ClientOptions {
                timeout: Duration::from_millis(settings.source_timeout_ms.max(1)),
                max_bytes: settings.body_limit,
                // The public URL only when one is configured: a listen
                // address says nothing to an upstream's operator.
                user_agent: ClientOptions::user_agent_for(
                    settings.base_url.is_some().then_some(base_url.as_str()),
                ),
            },
            settings.source_min_every,
        ));
        let app_follower = follower.clone();
        let state = web::Data::new(AppState {
            store: store.clone(),
            site: Site {
                base_url: base_url.clone(),
                uid_host,
            },
            admin_token: settings.admin_token.clone(),
            body_limit: settings.body_limit,
            body_timeout: Duration::from_millis(settings.body_timeout_ms.max(1)),
            feeds: FeedCache::new(settings.feed_cache_mb * 1024 * 1024),
            limits: Limits {
                agenda_create: RateLimiter::new(settings.agenda_create_per_minute),
                unknown_token: RateLimiter::new(settings.unknown_token_per_minute),
            },
            send_budget: http::stream::SendBudget::new(
                usize::try_from(settings.unsent_mb.saturating_mul(1024 * 1024))
                    .unwrap_or(usize::MAX),
                // One per worker: what a request holds while its body is
                // made (rows, rendering, a compressed copy) is several
                // times the body, and the rendering is on the blocking
                // pool, not on the worker, so more would only hold more.
                settings
                    .workers
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            ),
        });
        let body_limit = settings.body_limit;
        let stop_began = Arc::new(OnceLock::new());
        let shutdown = shutdown.map(|shutdown| {
            let began = stop_began.clone();
            Box::pin(async move {
                shutdown.await;
                let _ = began.set(Instant::now());
            }) as std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
        });
        let options = ServerOptions {
            workers: settings.workers.map(|n| n.max(1)),
            shutdown_timeout_secs: SHUTDOWN_GRACE_SECS,
            shutdown,
            send_timeout: Duration::from_millis(settings.send_timeout_ms.max(1)),
        };
        let server = http::server::serve(listener, options, move || {
            // Middleware, innermost first: the request meets them from the
            // bottom up, the response from the top down.
            App::new()
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(app_follower.clone())
                .wrap(from_fn(http::body::deadline))
                .wrap(from_fn(limit_token_lookups))
                .wrap(from_fn(protocol::head_as_get))
                .wrap(from_fn(protocol::mark_final))
                .wrap(Compress::default())
                .wrap(from_fn(http::stream::slice_large))
                .wrap(http::error::framework_errors())
                .wrap(from_fn(protocol::finish))
                .wrap(from_fn(http::logging::log_request))
                .configure(|cfg| http::extractors(cfg, body_limit))
                .configure(http::routes)
        })
        .map_err(|source| StartupError::Bind {
            addr: settings.addr.clone(),
            source,
        })?;
        Ok(Application {
            port: local.port(),
            base_url,
            server,
            store,
            follower,
            stop_began,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Handle to stop the server from elsewhere (signals, tests).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped, then closes the database cleanly: the WAL is
    /// checkpointed into the main file and truncated, so the database file
    /// is complete by itself. While serving, the database's files are
    /// checked every [`FILE_CHECK_INTERVAL`].
    ///
    /// The checkpoint waits for other connections at most
    /// [`SHUTDOWN_CHECKPOINT_WAIT`], and never past [`STOP_DEADLINE`] after
    /// the signal: another process holding a read transaction, or a query
    /// still running, used to make it wait out the 10 s busy timeout, past
    /// the orchestrator's `SIGKILL`. What it cannot copy in time stays in
    /// the WAL, which SQLite applies at the next open: nothing is lost.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application {
            server,
            store,
            follower,
            stop_began,
            ..
        } = self;
        let watch = actix_web::rt::spawn(watch_files(store.clone()));
        let follow = actix_web::rt::spawn(follower.clone().into_inner().run());
        let served = server.await;
        watch.abort();
        // No new fetch starts, and one still running writes nothing: the
        // stop does not wait for an upstream.
        follow.abort();
        follower.stop();
        served?;
        let started = Instant::now();
        let wait = match stop_began.get() {
            Some(began) => (*began + STOP_DEADLINE)
                .saturating_duration_since(started)
                .min(SHUTDOWN_CHECKPOINT_WAIT),
            None => SHUTDOWN_CHECKPOINT_WAIT,
        };
        // Blocking here is fine: the server is stopped, nothing else runs.
        let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
        match store.checkpoint_within(wait) {
            Ok(c) if c.complete => {
                tracing::info!(ms = ms(started), "stopped; database checkpointed")
            }
            Ok(c) => tracing::warn!(
                ms = ms(started),
                wal_frames = c.wal_frames,
                copied = c.copied,
                "stopped; the WAL checkpoint could not finish in time (another connection is \
                 reading): the rest stays in the WAL and is applied at the next start"
            ),
            Err(e) => tracing::warn!(error = %e, "stopped; WAL checkpoint failed"),
        }
        Ok(())
    }
}

/// Opens the store (waiting for a PostgreSQL server that is not up yet),
/// seeds an empty one from the data folder, and warms the time zones.
fn open_and_seed(settings: &Settings) -> Result<Store, StartupError> {
    let store = Store::open_target(
        &settings.db,
        StoreOptions {
            write_timeout: Duration::from_millis(settings.write_timeout_ms.max(1)),
            ..StoreOptions::default()
        },
    )?;
    tracing::info!(backend = store.backend_name(), db = %settings.db, "database open");
    if let Some(dir) = settings.data_dir.as_ref().filter(|d| d.is_dir()) {
        for (path, report) in seed_dir(&store, dir)?.unwrap_or_default() {
            tracing::info!(
                file = %path.display(),
                created = report.created.len(),
                "seeded the empty database"
            );
        }
    }
    warm_time_zones(&store);
    Ok(store)
}

/// Checks the database's files every [`FILE_CHECK_INTERVAL`] (what
/// [`Store::health`] logs and rescues), until aborted.
async fn watch_files(store: Store) {
    let mut tick = actix_web::rt::time::interval(FILE_CHECK_INTERVAL);
    loop {
        tick.tick().await;
        let s = store.clone();
        // The outcome is logged by `health` itself, once per change.
        let _ = web::block(move || s.health()).await;
    }
}

/// Completes on the first SIGTERM or SIGINT (Ctrl-C), logging which. Both
/// mean a graceful stop (actix-web alone would treat SIGINT as a forced one).
pub async fn shutdown_signal() {
    use actix_web::rt::signal;
    let interrupt = Box::pin(async {
        if let Err(e) = signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
        "SIGINT"
    });
    #[cfg(unix)]
    let terminate = Box::pin(async {
        match signal::unix::signal(signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
        "SIGTERM"
    });
    #[cfg(not(unix))]
    let terminate = Box::pin(std::future::pending::<&'static str>());
    let (name, _) = futures_util::future::select(interrupt, terminate)
        .await
        .factor_first();
    tracing::info!(
        signal = name,
        grace_secs = SHUTDOWN_GRACE_SECS,
        "stopping: no new connections, finishing requests in flight"
    );
}

/// Builds the transition tables of the stored conferences' zones on a
/// background thread (a few milliseconds per zone), so the first feed after
/// a start does not pay for them.
fn warm_time_zones(store: &Store) {
    let zones: Vec<chrono_tz::Tz> = match store.conferences() {
        Ok(confs) => confs.iter().map(|c| c.conference.tz).collect(),
        Err(_) => return,
    };
    std::thread::spawn(move || {
        for tz in zones {
            crate::ical::vtimezone::transitions(tz);
        }
    });
}

fn normalise_base_url(raw: &str) -> Result<String, StartupError> {
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(u.as_str().trim_end_matches('/').to_owned())
        }
        _ => Err(StartupError::BaseUrl(raw.to_owned())),
    }
}
