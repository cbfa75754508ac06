use std::process::ExitCode;

use clap::Parser;
use confcal::config::{Cli, Command, ServeArgs, Settings};
use confcal::generate::{generate, write, GenerateArgs};
use confcal::import::import_files;
use confcal::startup::Application;
use confcal::store::Store;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        None => serve(Settings::from_args(cli.db, ServeArgs::default())),
        Some(Command::Serve(args)) => serve(Settings::from_args(cli.db, args)),
        Some(Command::Import { files }) => import(&cli.db, &files),
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

fn serve(settings: Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).map_err(|e| e.to_string())?;
        tracing::info!(base_url = %app.base_url(), "confcal listening");
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn import(db: &std::path::Path, files: &[std::path::PathBuf]) -> Result<(), String> {
    let store = Store::open(db).map_err(|e| e.to_string())?;
    let reports = import_files(&store, files).map_err(|e| e.to_string())?;
    for (path, r) in reports {
        println!(
            "{}: {} created, {} updated, {} cancelled, {} unchanged",
            path.display(),
            r.created.len(),
            r.updated.len(),
            r.cancelled.len(),
            r.unchanged.len()
        );
        for (what, ids) in [
            ("created", &r.created),
            ("updated", &r.updated),
            ("cancelled", &r.cancelled),
        ] {
            for id in ids {
                println!("  {what} {id}");
            }
        }
    }
    Ok(())
}
