use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use confcal::config::{Cli, Command, ImportArgs, LogFormat, ServeArgs, Settings, SourceCommand};
use confcal::domain::{ConferenceSlug, ScheduleDocument};
use confcal::generate::{generate, write, GenerateArgs};
use confcal::import::{import_sources, Options};
use confcal::startup::{shutdown_signal, Application};
use confcal::store::{BackupOptions, DbTarget, Store, StoreOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match cli.command {
        None => serve(Settings::from_args(cli.db, ServeArgs::default())),
        Some(Command::Serve(args)) => serve(Settings::from_args(cli.db, args)),
        Some(Command::Import(args)) => import(&cli.db, args),
        Some(Command::Source(cmd)) => source(&cli.db, cmd),
        Some(Command::Backup { path }) => backup(&cli.db, &path),
        Some(Command::Export { conf }) => export(&cli.db, &conf),
        Some(Command::Healthcheck { addr, timeout }) => {
            confcal::http::ops::probe(&addr, std::time::Duration::from_secs(timeout.max(1)))
        }
        Some(Command::Generate {
            sessions,
            days,
            rooms,
            seed,
        }) => {
            let doc = generate(&GenerateArgs {
                sessions,
                days,
                rooms,
                seed,
            });
            let out = std::io::BufWriter::new(std::io::stdout().lock());
            write(&doc, out).map_err(|e| e.to_string())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("confcal: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr (stdout is for `export` and `generate` output), as
/// text or JSON lines; `RUST_LOG` filters them (default `info`).
fn init_logging(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

fn serve(settings: Settings) -> Result<(), String> {
    tracing::info!(config = %settings.describe(), "effective configuration");
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build_with_shutdown(settings, shutdown_signal())
            .map_err(|e| e.to_string())?;
        tracing::info!(base_url = %app.base_url(), "confcal listening");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

/// The database must exist: backing up or exporting a mistyped path must
/// not create an empty database there.
fn existing(db: &Path) -> Result<(), String> {
    if db.is_file() {
        Ok(())
    } else {
        Err(format!(
            "no database at {} (set --db or CONFCAL_DB)",
            db.display()
        ))
    }
}

fn backup(db: &Path, dest: &Path) -> Result<(), String> {
    if let DbTarget::Postgres(url) = DbTarget::parse(db) {
        return Err(format!(
            "confcal backup copies a SQLite file; {url} is PostgreSQL: back it up with pg_dump \
             (for example `pg_dump --format=custom --file=confcal.dump DBNAME`)"
        ));
    }
    existing(db)?;
    let started = std::time::Instant::now();
    let report =
        confcal::store::backup(db, dest, BackupOptions::default()).map_err(|e| e.to_string())?;
    tracing::info!(
        from = %db.display(),
        to = %dest.display(),
        pages = report.pages,
        restarts = report.restarts,
        removed_stale = report.removed_stale.len(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "backup written"
    );
    Ok(())
}

fn export(db: &Path, conf: &str) -> Result<(), String> {
    let target = DbTarget::parse(db);
    if target.path().is_some() {
        existing(db)?;
    }
    let slug = ConferenceSlug::parse(conf).map_err(|_| format!("no conference {conf:?}"))?;
    let store = Store::open_target(&target, StoreOptions::default()).map_err(|e| e.to_string())?;
    let schedule = store.export(&slug).map_err(|e| e.to_string())?;
    let doc = ScheduleDocument::from_schedule(&schedule);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, &doc)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            writeln!(out)
                .and_then(|()| out.flush())
                .map_err(|e| e.to_string())
        })
}

/// How long `confcal import` waits for the write lock: an operator's
/// import may queue behind a server's long write rather than fail.
const IMPORT_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The store as `import` and `source` open it: waiting up to
/// [`IMPORT_WRITE_TIMEOUT`] for a running server's write.
fn open_for_command(db: &Path) -> Result<Store, String> {
    Store::open_target(
        &DbTarget::parse(db),
        StoreOptions {
            write_timeout: IMPORT_WRITE_TIMEOUT,
            ..StoreOptions::default()
        },
    )
    .map_err(|e| e.to_string())
}

fn import(db: &std::path::Path, args: ImportArgs) -> Result<(), String> {
    // URLs are fetched first, each into a file named as the URL's last
    // segment (so a source without a name of its own is named after it);
    // nothing is written to the database until every source has been read.
    let downloads = Downloads::new()?;
    let mut files = Vec::with_capacity(args.files.len());
    let mut shown = Vec::with_capacity(args.files.len());
    for (i, f) in args.files.iter().enumerate() {
        match f
            .to_str()
            .filter(|s| s.starts_with("http://") || s.starts_with("https://"))
        {
            Some(url) => {
                files.push(downloads.fetch(i, url)?);
                shown.push(confcal::follow::fetch::redact_url(url));
            }
            None => {
                files.push(f.clone());
                shown.push(f.display().to_string());
            }
        }
    }
    let store = open_for_command(db)?;
    let opts = Options {
        format: args.format,
        conference: args.conference,
        timezone: args.timezone,
    };
    let reports = import_sources(&store, &files, &opts).map_err(|e| {
        // A downloaded file is named by its URL, not its temporary path.
        let mut msg = e.to_string();
        for (file, name) in files.iter().zip(&shown) {
            msg = msg.replace(&file.display().to_string(), name);
        }
        msg
    })?;
    // The import is committed by now: a closed stdout (`| head`) must not
    // turn it into a failure, so write errors end the report quietly.
    let mut out = std::io::stdout().lock();
    let _ = (|| -> std::io::Result<()> {
        for (path, r, warnings) in reports {
            let name = files
                .iter()
                .position(|f| *f == path)
                .map_or_else(|| path.display().to_string(), |i| shown[i].clone());
            writeln!(
                out,
                "{}: {} created, {} updated, {} cancelled, {} unchanged, {} warnings",
                name,
                r.created.len(),
                r.updated.len(),
                r.cancelled.len(),
                r.unchanged.len(),
                warnings.len()
            )?;
            for (what, ids) in [
                ("created", &r.created),
                ("updated", &r.updated),
                ("cancelled", &r.cancelled),
            ] {
                for id in ids {
                    writeln!(out, "  {what} {id}")?;
                }
            }
            for w in warnings {
                writeln!(out, "  warning: {w}")?;
            }
        }
        out.flush()
    })();
    Ok(())
}

/// Prints a JSON value on stdout, a closed stdout (`| head`) ending it
/// quietly: what was asked is done by then.
fn print_json(v: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, v)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
}

/// `confcal source set|show|sync|delete`, on the database file (a running
/// server on the same file picks a new source up within seconds).
fn source(db: &Path, cmd: SourceCommand) -> Result<(), String> {
    use confcal::follow::{self, ClientOptions};
    let slug = |conf: &str| {
        ConferenceSlug::parse(conf).map_err(|e| format!("{conf:?} is not a conference slug: {e}"))
    };
    if !matches!(cmd, SourceCommand::Set { .. }) {
        existing(db)?;
    }
    let store = open_for_command(db)?;
    match cmd {
        SourceCommand::Set {
            conf,
            url,
            format,
            timezone,
            every,
        } => {
            let slug = slug(&conf)?;
            let config = follow::check_config(
                &url,
                format.name(),
                timezone.map(|t| t.name()),
                i64::from(every),
                follow::DEFAULT_MIN_EVERY,
            )
            .map_err(|e| format!("{}: {}", cli_flag(&e.field), e.message))?;
            let (_, rec) = store
                .put_source(&slug, &config, chrono::Utc::now())
                .map_err(|e| e.to_string())?;
            print_json(&follow::state_json(&rec));
            Ok(())
        }
        SourceCommand::Show { conf: Some(conf) } => {
            let slug = slug(&conf)?;
            let rec = store
                .source(&slug)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("conference {conf:?} follows no source"))?;
            print_json(&follow::state_json(&rec));
            Ok(())
        }
        SourceCommand::Show { conf: None } => {
            let all = store.sources().map_err(|e| e.to_string())?;
            print_json(&serde_json::Value::Array(
                all.iter().map(follow::state_json).collect(),
            ));
            Ok(())
        }
        SourceCommand::Sync {
            conf,
            confirm,
            timeout_ms,
            base_url,
        } => {
            let slug = slug(&conf)?;
            let client = follow::Client::new(ClientOptions {
                timeout: std::time::Duration::from_millis(timeout_ms),
                max_bytes: ServeArgs::default().body_limit,
                user_agent: ClientOptions::user_agent_for(base_url.as_deref()),
            });
            let never = std::sync::atomic::AtomicBool::new(false);
            let (report, rec) = follow::sync_once(&store, &client, &slug, confirm, &never)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("conference {conf:?} follows no source"))?;
            let report =
                report.ok_or("the source changed while it was fetched: nothing applied")?;
            let mut line = format!("{conf}: {}", report.outcome.as_str());
            if let Some(r) = &report.report {
                line.push_str(&format!(
                    ": {} created, {} updated, {} cancelled, {} unchanged, {} warnings",
                    r.created.len(),
                    r.updated.len(),
                    r.cancelled.len(),
                    r.unchanged.len(),
                    report.warnings.len()
                ));
            }
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            if let Some(r) = &report.report {
                for (what, ids) in [
                    ("created", &r.created),
                    ("updated", &r.updated),
                    ("cancelled", &r.cancelled),
                ] {
                    for id in ids {
                        let _ = writeln!(out, "  {what} {id}");
                    }
                }
            }
            for w in &report.warnings {
                let _ = writeln!(out, "  warning: {w}");
            }
            let _ = out.flush();
            match (report.outcome, report.error) {
                (_, None) => Ok(()),
                (confcal::store::FetchOutcome::Held, Some(e)) => {
                    Err(format!("{e} (confcal source sync --confirm {conf})"))
                }
                (_, Some(e)) => Err(format!("{}: {e}", rec.conference)),
            }
        }
        SourceCommand::Delete { conf } => {
            let s = slug(&conf)?;
            if store.delete_source(&s).map_err(|e| e.to_string())? {
                Ok(())
            } else {
                Err(format!("conference {conf:?} follows no source"))
            }
        }
    }
}

/// The command-line argument of a source's field.
fn cli_flag(field: &str) -> String {
    match field {
        "url" => "URL".into(),
        "every_seconds" => "--every".into(),
        other => format!("--{other}"),
    }
}

/// Schedules `confcal import` fetched from URLs, in a temporary folder
/// removed when the import ends (whether it succeeded or not).
struct Downloads {
    dir: std::path::PathBuf,
    client: confcal::follow::Client,
}

impl Downloads {
    fn new() -> Result<Downloads, String> {
        use confcal::follow::{Client, ClientOptions};
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|e| e.to_string())?;
        let dir = std::env::temp_dir().join(format!(
            "confcal-import-{}-{:016x}",
            std::process::id(),
            u64::from_le_bytes(suffix)
        ));
        Ok(Downloads {
            dir,
            client: Client::new(ClientOptions {
                timeout: std::time::Duration::from_millis(ServeArgs::default().source_timeout_ms),
                max_bytes: ServeArgs::default().body_limit,
                user_agent: ClientOptions::user_agent_for(None),
            }),
        })
    }

    /// Fetches `url` (the same client as a followed source: timeout, size
    /// limit, redirects never from https to http) into a file of its own.
    fn fetch(&self, index: usize, url: &str) -> Result<std::path::PathBuf, String> {
        let shown = confcal::follow::fetch::redact_url(url);
        let bytes = match self.client.fetch(url, None, None) {
            Ok(confcal::follow::Fetched::Body { bytes, .. }) => bytes,
            Ok(confcal::follow::Fetched::NotModified { .. }) => {
                return Err(format!(
                    "{shown}: the server answered 304 to an unconditional GET"
                ))
            }
            Err(e) => return Err(format!("{shown}: {e}")),
        };
        let name = url::Url::parse(url)
            .ok()
            .and_then(|u| {
                u.path_segments()
                    .and_then(|mut s| s.next_back().map(str::to_owned))
            })
            .filter(|n| !n.is_empty() && !n.starts_with('.'))
            .unwrap_or_else(|| "schedule".to_owned());
        let folder = self.dir.join(index.to_string());
        std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        let path = folder.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }
}

impl Drop for Downloads {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
