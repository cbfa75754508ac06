//! Building the application: open the store, seed it, bind, serve.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Compress};
use actix_web::{web, App, HttpServer};

use crate::config::Settings;
use crate::http::cache::FeedCache;
use crate::http::ratelimit::{limit_token_lookups, Limits, RateLimiter};
use crate::http::{self, AppState};
use crate::import::{import_dir, ImportError};
use crate::store::{Store, StoreError};

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
}

/// A built, bound, not yet running server. Tests build it on port 0 and
/// read the port the system chose.
pub struct Application {
    port: u16,
    base_url: String,
    server: Server,
}

impl Application {
    /// Must be called inside an actix/tokio runtime.
    pub fn build(settings: Settings) -> Result<Application, StartupError> {
        let store = Store::open(&settings.db)?;
        if let Some(dir) = &settings.data_dir {
            if store.is_empty()? && dir.is_dir() {
                for (path, report) in import_dir(&store, dir)? {
                    tracing::info!(
                        file = %path.display(),
                        created = report.created.len(),
                        "seeded the empty database"
                    );
                }
            }
        }
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
        let state = web::Data::new(AppState {
            store,
            base_url: base_url.clone(),
            uid_host,
            admin_token: settings.admin_token.clone(),
            body_limit: settings.body_limit,
            feeds: FeedCache::new(settings.feed_cache_mb * 1024 * 1024),
            limits: Limits {
                agenda_create: RateLimiter::new(settings.agenda_create_per_minute),
                unknown_token: RateLimiter::new(settings.unknown_token_per_minute),
            },
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(limit_token_lookups))
                .wrap(Compress::default())
                .wrap(from_fn(http::logging::log_request))
                .configure(http::routes)
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            addr: settings.addr.clone(),
            source,
        })?;
        if let Some(n) = settings.workers {
            server = server.workers(n.max(1));
        }
        Ok(Application {
            port: local.port(),
            base_url,
            server: server.run(),
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

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn normalise_base_url(raw: &str) -> Result<String, StartupError> {
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(u.as_str().trim_end_matches('/').to_owned())
        }
        _ => Err(StartupError::BaseUrl(raw.to_owned())),
    }
}
