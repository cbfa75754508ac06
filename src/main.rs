use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use confcal::config::{Cli, Command, ImportArgs, LogFormat, ServeArgs, Settings};
use confcal::domain::{ConferenceSlug, ScheduleDocument};
use confcal::generate::{generate, write, GenerateArgs};
use confcal::import::{import_sources, Options};
use confcal::startup::{shutdown_signal, Application};
use confcal::store::{BackupOptions, Store, StoreOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match cli.command {
        None => serve(Settings::from_args(cli.db, ServeArgs::default())),
        Some(Command::Serve(args)) => serve(Settings::from_args(cli.db, args)),
        Some(Command::Import(args)) => import(&cli.db, args),
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
    existing(db)?;
    let slug = ConferenceSlug::parse(conf).map_err(|_| format!("no conference {conf:?}"))?;
    let store = Store::open(db).map_err(|e| e.to_string())?;
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

fn import(db: &std::path::Path, args: ImportArgs) -> Result<(), String> {
    // Reading from a URL is the work of following a source; until then,
    // say so rather than fail on a file named "https:".
    if let Some(url) = args.files.iter().find(|f| {
        f.to_str()
            .is_some_and(|s| s.starts_with("http://") || s.starts_with("https://"))
    }) {
        return Err(format!(
            "{}: confcal import reads files; download the schedule first (curl -o schedule.xml URL)",
            url.display()
        ));
    }
    let store = Store::open_with(
        db,
        StoreOptions {
            write_timeout: IMPORT_WRITE_TIMEOUT,
            ..StoreOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let opts = Options {
        format: args.format,
        conference: args.conference,
        timezone: args.timezone,
    };
    let reports = import_sources(&store, &args.files, &opts).map_err(|e| e.to_string())?;
    // The import is committed by now: a closed stdout (`| head`) must not
    // turn it into a failure, so write errors end the report quietly.
    let mut out = std::io::stdout().lock();
    let _ = (|| -> std::io::Result<()> {
        for (path, r, warnings) in reports {
            writeln!(
                out,
                "{}: {} created, {} updated, {} cancelled, {} unchanged, {} warnings",
                path.display(),
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
