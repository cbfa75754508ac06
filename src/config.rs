//! Configuration: command-line flags, each also settable by a `CONFCAL_*`
//! environment variable (flags win).

use std::fmt;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "confcal",
    version,
    about = "Conference schedules as iCalendar feeds"
)]
pub struct Cli {
    /// The database: a SQLite file (created if missing), or a PostgreSQL
    /// URL, `postgres://user:password@host:5432/dbname` (for several
    /// replicas sharing one database; the password is never shown).
    #[arg(
        long,
        env = "CONFCAL_DB",
        default_value = "confcal.db",
        hide_env_values = true,
        global = true
    )]
    pub db: PathBuf,

    /// Log lines as human-readable text or as JSON objects, one a line
    /// (`RUST_LOG` sets what is logged: `info`, `confcal=debug,warn`...).
    #[arg(
        long,
        env = "CONFCAL_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app, the JSON API and the feeds (the default).
    Serve(ServeArgs),
    /// Import schedules into the database: confcal documents, frab or
    /// pretalx schedule.xml / schedule.json, Sessionize, iCalendar. All or
    /// nothing.
    Import(ImportArgs),
    /// Follow a schedule's URL: set, show, sync now or stop following the
    /// source a conference is kept up to date from (a running server
    /// fetches it on its interval).
    #[command(subcommand)]
    Source(SourceCommand),
    /// Write a consistent copy of the database to PATH while the server may
    /// be running (SQLite's online backup API; atomic rename into place).
    Backup {
        /// Where to write the copy (replaced if it exists).
        path: PathBuf,
    },
    /// Print a conference as a schedule document (JSON, the import format):
    /// its confirmed sessions in start order.
    Export {
        /// Conference slug.
        conf: String,
    },
    /// Exit 0 when the local server's /healthz answers 200, else 1 (for a
    /// container HEALTHCHECK; needs no curl).
    Healthcheck {
        /// Address the server listens on; an unspecified host (0.0.0.0)
        /// means loopback.
        #[arg(long, env = "CONFCAL_ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Print a deterministic, realistic schedule document (for benchmarks).
    Generate {
        /// Number of sessions.
        #[arg(long)]
        sessions: usize,
        /// Days of the conference (at least as many as the sessions need).
        #[arg(long)]
        days: Option<usize>,
        /// Rooms, 10 to 15 is realistic.
        #[arg(long, default_value_t = 12)]
        rooms: usize,
        /// Seed of the generator: the same seed prints the same document.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// `confcal import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The files' format; `auto` recognises it from the content.
    #[arg(long, value_enum, default_value_t = crate::import::Format::Auto)]
    pub format: crate::import::Format,
    /// The conference's slug (otherwise frab's acronym, or the file's name
    /// up to its first dot). One file only.
    #[arg(long, value_parser = parse_slug)]
    pub conference: Option<crate::domain::ConferenceSlug>,
    /// The conference's IANA time zone, such as Europe/Berlin: needed when
    /// the schedule names none (Sessionize, FOSDEM, several frab files),
    /// and it overrides the one a schedule names.
    #[arg(long, value_parser = parse_zone)]
    pub timezone: Option<chrono_tz::Tz>,
    /// Schedule files to import, or `http(s)://` URLs to fetch them from.
    #[arg(required = true, value_name = "FILE_OR_URL")]
    pub files: Vec<PathBuf>,
}

/// `confcal source ...`: acts on the database directly, like `import`.
#[derive(Debug, Clone, Subcommand)]
pub enum SourceCommand {
    /// Follow URL for conference CONF (which need not exist yet: the first
    /// sync creates it). A running server fetches it within seconds.
    Set {
        conf: String,
        url: String,
        /// The schedule's format; `auto` recognises it from the content.
        #[arg(long, value_enum, default_value_t = crate::import::Format::Auto)]
        format: crate::import::Format,
        /// The conference's IANA time zone, for schedules that name none
        /// (Sessionize, FOSDEM, several frab files).
        #[arg(long, value_parser = parse_zone)]
        timezone: Option<chrono_tz::Tz>,
        /// Seconds between fetches.
        #[arg(long, default_value_t = crate::follow::DEFAULT_EVERY)]
        every: u32,
    },
    /// Print the source's state as JSON (all sources without CONF).
    Show { conf: Option<String> },
    /// Fetch the source now and sync the conference from it; exit 1 when
    /// nothing could be applied or the sync is held.
    Sync {
        conf: String,
        /// Apply a sync that would be held as suspicious (one that cancels
        /// most of the schedule).
        #[arg(long)]
        confirm: bool,
        /// Longest the fetch may take, in milliseconds.
        #[arg(long, default_value_t = 30_000,
              value_parser = clap::value_parser!(u64).range(1..=600_000))]
        timeout_ms: u64,
        /// The public URL of the server, named in the User-Agent.
        #[arg(long, env = "CONFCAL_BASE_URL")]
        base_url: Option<String>,
    },
    /// Stop following the source (the sessions stay as last synced).
    Delete { conf: String },
}

fn parse_slug(s: &str) -> Result<crate::domain::ConferenceSlug, String> {
    crate::domain::ConferenceSlug::parse(s)
}

fn parse_zone(s: &str) -> Result<chrono_tz::Tz, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not an IANA time zone name (such as Europe/Berlin)"))
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CONFCAL_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,

    /// Public URL of the service, used in feed links and UIDs (without it:
    /// http:// and the listen address).
    #[arg(long, env = "CONFCAL_BASE_URL")]
    pub base_url: Option<String>,

    /// Folder of schedule documents (*.json) imported when the database is empty.
    #[arg(long, env = "CONFCAL_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Bearer token that enables the admin API; without it every admin call
    /// answers 403.
    #[arg(long, env = "CONFCAL_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "CONFCAL_BODY_LIMIT", default_value_t = 16 * 1024 * 1024)]
    pub body_limit: usize,

    /// Memory for rendered feeds, in MiB (0 turns the cache off).
    #[arg(long, env = "CONFCAL_FEED_CACHE_MB", default_value_t = 256)]
    pub feed_cache_mb: usize,

    /// Agendas one client address may create per minute (0: no limit).
    #[arg(long, env = "CONFCAL_AGENDA_CREATE_PER_MINUTE", default_value_t = 20)]
    pub agenda_create_per_minute: u32,

    /// Unknown agenda tokens one client address may try per minute; past
    /// it, every agenda URL answers 429 (0: no limit).
    #[arg(long, env = "CONFCAL_UNKNOWN_TOKEN_PER_MINUTE", default_value_t = 30)]
    pub unknown_token_per_minute: u32,

    /// HTTP worker threads [default: number of CPUs].
    #[arg(long, env = "CONFCAL_WORKERS")]
    pub workers: Option<usize>,

    /// Longest a write waits for the database's write lock (held by another
    /// process, or by a long import) before it answers 503 with
    /// Retry-After, in milliseconds.
    #[arg(long, env = "CONFCAL_WRITE_TIMEOUT_MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub write_timeout_ms: u64,

    /// Longest the reading of a request body may take once its head has
    /// arrived, in milliseconds; past it the answer is 408 and the
    /// connection is closed (a client trickling a body holds a connection).
    #[arg(long, env = "CONFCAL_BODY_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub body_timeout_ms: u64,

    /// Longest the fetch of a followed source may take, redirects and body
    /// included, in milliseconds.
    #[arg(long, env = "CONFCAL_SOURCE_TIMEOUT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub source_timeout_ms: u64,

    /// The shortest interval (every_seconds) a followed source may have.
    #[arg(long, env = "CONFCAL_SOURCE_MIN_EVERY", default_value_t = crate::follow::DEFAULT_MIN_EVERY,
          value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub source_min_every: u32,
    /// Longest a response may wait for a client that has stopped reading
    /// it, in milliseconds: once the client has taken nothing for this
    /// long, the connection is closed and what it held is freed. (Linux:
    /// the kernel's TCP_USER_TIMEOUT; elsewhere no limit.)
    #[arg(long, env = "CONFCAL_SEND_TIMEOUT_MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub send_timeout_ms: u64,
    /// Memory for response bodies made for one client and not yet sent
    /// (a page, a JSON listing, an agenda: not the cached feeds, which
    /// every client shares), in MiB. Past it, such a response is answered
    /// 503 with `Retry-After` instead, until slow or stalled clients have
    /// taken theirs or been cut off by the send timeout. One client (an
    /// address, an IPv6 /64) holds at most a quarter of it.
    #[arg(long, env = "CONFCAL_UNSENT_MB", default_value_t = 256,
          value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub unsent_mb: u64,
}

impl Default for ServeArgs {
    fn default() -> Self {
        // The defaults (and environment) exactly as `confcal serve` with no
        // flags would have them: `confcal` alone must behave the same.
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Only::parse_from(["confcal"]).serve
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A secret string (the admin token). Its `Debug` and `Display` never show
/// it, so printing configuration or an error cannot leak it, and it has no
/// `==`: [`Secret::matches`] is the one way to compare it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `given` is this secret. Both are hashed first and the
    /// digests compared in constant time, so neither the secret's length
    /// nor any prefix of it leaks through how long the answer takes.
    pub fn matches(&self, given: &str) -> bool {
        use sha2::{Digest, Sha256};
        constant_time_eq(
            &Sha256::digest(given.as_bytes()),
            &Sha256::digest(self.0.as_bytes()),
        )
    }
}

/// Equal length and content, in time that depends only on the length
/// (which is public wherever this is used: digests, fixed-size tokens).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keeps the compiler from ending the loop at the first difference.
    std::hint::black_box(diff) == 0
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            Err("must not be empty".into())
        } else {
            Ok(Secret(s.to_owned()))
        }
    }
}

/// The shortest admin token accepted: anyone who can reach the server may
/// try tokens, and nothing limits the tries, so the token must be
/// unguessable by itself (32 characters of base64 carry 192 bits).
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

/// Different characters an admin token needs at least: a long run of one
/// or two characters (`aaaa…`, `1212…`) is as guessable as a short token.
const MIN_ADMIN_TOKEN_DISTINCT: usize = 8;

/// How to make a good token, for error messages and the README.
pub const MAKE_ADMIN_TOKEN: &str =
    "`openssl rand -base64 32` or `head -c 32 /dev/urandom | base64`";

impl Secret {
    /// Why this is too weak to be the admin token, if it is.
    pub fn admin_token_weakness(&self) -> Option<String> {
        let chars = self.0.chars().count();
        let mut distinct: Vec<char> = self.0.chars().collect();
        distinct.sort_unstable();
        distinct.dedup();
        if chars < MIN_ADMIN_TOKEN_CHARS {
            Some(format!(
                "it is {chars} character{} long, and must be at least {MIN_ADMIN_TOKEN_CHARS}",
                if chars == 1 { "" } else { "s" }
            ))
        } else if distinct.len() < MIN_ADMIN_TOKEN_DISTINCT {
            Some(format!(
                "it has {} different characters, and needs at least {MIN_ADMIN_TOKEN_DISTINCT}",
                distinct.len()
            ))
        } else {
            None
        }
    }
}

/// Everything [`crate::startup::Application::build`] needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: String,
    /// A file or a URL; its `Debug` and `Display` hide a password.
    pub db: crate::store::DbTarget,
    pub base_url: Option<String>,
    /// Seed folder; `None` starts with whatever the database holds.
    pub data_dir: Option<PathBuf>,
    pub admin_token: Option<Secret>,
    pub body_limit: usize,
    pub feed_cache_mb: usize,
    pub agenda_create_per_minute: u32,
    pub unknown_token_per_minute: u32,
    pub workers: Option<usize>,
    /// See [`ServeArgs::write_timeout_ms`].
    pub write_timeout_ms: u64,
    /// See [`ServeArgs::body_timeout_ms`].
    pub body_timeout_ms: u64,
    /// See [`ServeArgs::source_timeout_ms`].
    pub source_timeout_ms: u64,
    /// See [`ServeArgs::source_min_every`].
    pub source_min_every: u32,
    /// See [`ServeArgs::send_timeout_ms`].
    pub send_timeout_ms: u64,
    /// See [`ServeArgs::unsent_mb`].
    pub unsent_mb: u64,
}

impl Settings {
    pub fn from_args(db: PathBuf, a: ServeArgs) -> Settings {
        Settings {
            addr: a.addr,
            db: crate::store::DbTarget::parse(&db),
            base_url: a.base_url,
            data_dir: Some(a.data_dir),
            admin_token: a.admin_token,
            body_limit: a.body_limit,
            feed_cache_mb: a.feed_cache_mb,
            agenda_create_per_minute: a.agenda_create_per_minute,
            unknown_token_per_minute: a.unknown_token_per_minute,
            workers: a.workers,
            write_timeout_ms: a.write_timeout_ms,
            body_timeout_ms: a.body_timeout_ms,
            source_timeout_ms: a.source_timeout_ms,
            source_min_every: a.source_min_every,
            send_timeout_ms: a.send_timeout_ms,
            unsent_mb: a.unsent_mb,
        }
    }

    /// The effective configuration on one line, `key=value`, secrets shown
    /// as `<redacted>` (logged at start-up).
    pub fn describe(&self) -> String {
        let or_default = |v: Option<String>, d: &str| v.unwrap_or_else(|| d.to_owned());
        format!(
            "addr={} db={} public_url={} data_dir={} admin_token={} body_limit={} \
             feed_cache_mb={} agenda_create_per_minute={} unknown_token_per_minute={} workers={} \
             write_timeout_ms={} body_timeout_ms={} source_timeout_ms={} source_min_every={} send_timeout_ms={} \
             unsent_mb={}",
            self.addr,
            self.db,
            or_default(self.base_url.clone(), "<from addr>"),
            or_default(
                self.data_dir.as_ref().map(|d| d.display().to_string()),
                "<none>"
            ),
            self.admin_token
                .as_ref()
                .map_or_else(|| "<unset>".to_owned(), |t| t.to_string()),
            self.body_limit,
            self.feed_cache_mb,
            self.agenda_create_per_minute,
            self.unknown_token_per_minute,
            or_default(self.workers.map(|w| w.to_string()), "<CPUs>"),
            self.write_timeout_ms,
            self.body_timeout_ms,
            self.source_timeout_ms,
            self.source_min_every,
            self.send_timeout_ms,
            self.unsent_mb,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s: Secret = "hunter2".parse().unwrap();
        assert!(!format!("{s:?} {s}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
        assert!("  ".parse::<Secret>().is_err());
    }

    #[test]
    fn secrets_match_only_themselves() {
        let s = Secret::new("q0vJ3pZ7mYb8H2sX+R4nW1cT6eK9uLdA5gFhNiOoPjE=");
        assert!(s.matches("q0vJ3pZ7mYb8H2sX+R4nW1cT6eK9uLdA5gFhNiOoPjE="));
        assert!(!s.matches("q0vJ3pZ7mYb8H2sX+R4nW1cT6eK9uLdA5gFhNiOoPjE"));
        assert!(!s.matches(""));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn weak_admin_tokens_are_named() {
        for weak in ["x", "hunter2", &"a".repeat(64), &"12".repeat(20)] {
            assert!(Secret::new(weak).admin_token_weakness().is_some(), "{weak}");
        }
        let short = Secret::new("0123456789abcdefghijklmnopqrstu");
        assert!(short
            .admin_token_weakness()
            .unwrap()
            .contains("31 characters"));
        // What `openssl rand -base64 32` prints.
        let good = Secret::new("q0vJ3pZ7mYb8H2sX+R4nW1cT6eK9uLdA5gFhNiOoPjE=");
        assert_eq!(good.admin_token_weakness(), None);
    }

    #[test]
    fn cli_shapes() {
        let cli = Cli::parse_from(["confcal", "--db", "x.db", "import", "a.json", "b.json"]);
        assert_eq!(cli.db, PathBuf::from("x.db"));
        assert!(
            matches!(cli.command, Some(Command::Import(ref a)) if a.files.len() == 2
            && a.format == crate::import::Format::Auto && a.timezone.is_none())
        );
        let cli = Cli::parse_from([
            "confcal",
            "import",
            "--format",
            "frab-xml",
            "--conference",
            "36c3",
            "--timezone",
            "Europe/Berlin",
            "f.xml",
        ]);
        assert!(matches!(cli.command, Some(Command::Import(ref a))
            if a.format == crate::import::Format::FrabXml
            && a.conference.as_ref().map(|c| c.as_str()) == Some("36c3")
            && a.timezone == Some(chrono_tz::Europe::Berlin)));
        for bad in [
            ["confcal", "import", "--format", "pdf", "f"],
            ["confcal", "import", "--timezone", "CEST", "f"],
            ["confcal", "import", "--conference", "Bad_Slug", "f"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
        let cli = Cli::parse_from(["confcal", "serve", "--addr", "0.0.0.0:9000"]);
        assert!(matches!(cli.command, Some(Command::Serve(ref a)) if a.addr == "0.0.0.0:9000"));
        assert!(Cli::try_parse_from(["confcal", "import"]).is_err());
        let cli = Cli::parse_from(["confcal", "--log-format", "json", "backup", "b.db"]);
        assert_eq!(cli.log_format, LogFormat::Json);
        assert!(
            matches!(cli.command, Some(Command::Backup { ref path }) if path == &PathBuf::from("b.db"))
        );
        let cli = Cli::parse_from(["confcal", "export", "pycon", "--log-format", "text"]);
        assert!(matches!(cli.command, Some(Command::Export { ref conf }) if conf == "pycon"));
        assert!(Cli::try_parse_from(["confcal", "--log-format", "xml"]).is_err());
    }

    #[test]
    fn effective_configuration_redacts_the_token() {
        let a = ServeArgs {
            admin_token: Some(Secret::new("hunter2")),
            ..ServeArgs::default()
        };
        let s = Settings::from_args("x.db".into(), a);
        let text = s.describe();
        assert!(text.contains("admin_token=<redacted>"), "{text}");
        assert!(!text.contains("hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
