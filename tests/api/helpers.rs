//! Starts the real application on port 0 with its own temporary database,
//! and a tiny blocking HTTP client for the tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use confcal::config::{Secret, Settings};
use confcal::startup::Application;
use serde_json::Value;

/// Long enough for the start-up check (32 characters at least).
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789-abcdefghij";

pub struct TestApp {
    pub base: String,
    #[allow(dead_code)] // read by the agenda and crash tests
    pub db: PathBuf,
    /// Keeps the temporary database alive as long as the app.
    #[allow(dead_code)]
    pub dir: tempfile::TempDir,
    handle: actix_web::dev::ServerHandle,
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The app seeded from `data/` with the admin API on.
pub fn spawn_app() -> TestApp {
    spawn_app_with(|_| {})
}

/// The app with [`test_settings`] as `change` leaves them.
pub fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("confcal.db");
    spawn_on(dir, db, change)
}

/// What the tests start the app with, on the database `db`: port 0,
/// seeded from `data/`, the admin API on, rate limits off (0, so tests that
/// make many requests are not throttled), two workers.
pub fn test_settings(db: PathBuf) -> Settings {
    Settings {
        addr: "127.0.0.1:0".into(),
        db: confcal::store::DbTarget::Sqlite(db),
        base_url: None,
        data_dir: Some(repo_path("data")),
        admin_token: Some(Secret::new(ADMIN_TOKEN)),
        body_limit: 16 * 1024 * 1024,
        feed_cache_mb: 64,
        agenda_create_per_minute: 0,
        unknown_token_per_minute: 0,
        workers: Some(2),
        write_timeout_ms: 5_000,
        body_timeout_ms: 10_000,
        source_timeout_ms: 30_000,
        source_min_every: 60,
        send_timeout_ms: 30_000,
        unsent_mb: 256,
    }
}

/// Starts a server on an existing database file (restarts, crash tests).
pub fn spawn_on(
    dir: tempfile::TempDir,
    db: PathBuf,
    change: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = test_settings(db.clone());
    change(&mut settings);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(settings).expect("app builds");
            tx.send((app.port(), app.handle())).unwrap();
            app.run_until_stopped().await.unwrap();
        })
    });
    let (port, handle) = rx.recv().expect("server started");
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        db,
        dir,
        handle,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command at once; the future only waits for it.
        drop(self.handle.stop(false));
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// Reads a ureq answer whatever its status (4xx and 5xx included);
    /// a transport error fails the test. Repeated headers (Set-Cookie) are
    /// kept, one entry each.
    pub fn from_result(method: &str, path: &str, res: Result<ureq::Response, ureq::Error>) -> Resp {
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .flat_map(|n| {
                resp.all(&n)
                    .into_iter()
                    .map(|v| (n.clone(), v.to_owned()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).unwrap();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts a JSON error body `{"error": ..., "field": ...}`.
    pub fn assert_error(&self, status: u16, field: &str) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        let j = self.json();
        assert_eq!(j["field"], field, "{j}");
        let msg = j["error"].as_str().expect("error message").to_owned();
        assert!(!msg.is_empty());
        msg
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Resp {
        let mut req = ureq::request(method, &self.url(path));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let res = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        Resp::from_result(method, path, res)
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], None)
    }

    pub fn admin(&self, method: &str, path: &str, body: &Value) -> Resp {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        self.request(
            method,
            path,
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ],
            Some(body.to_string().as_bytes()),
        )
    }

    pub fn put_schedule(&self, doc: &Value) -> Resp {
        let slug = doc["conference"]["slug"].as_str().unwrap();
        self.admin("PUT", &format!("/api/conferences/{slug}"), doc)
    }

    /// Session ids of a listing, in the order served.
    pub fn ids(&self, path: &str) -> Vec<String> {
        let r = self.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.json()["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

pub fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(repo_path(&format!("tests/fixtures/{name}"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A small schedule document with one session per entry of `sessions`
/// (id, start, end); everything else filled in.
pub fn doc(slug: &str, tz: &str, sessions: &[(&str, &str, &str)]) -> Value {
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|(id, start, end)| {
            serde_json::json!({"id": id, "title": format!("Talk {id}"), "speakers": ["Someone"],
                "start": start, "end": end, "room": "Hall", "tracks": [],
                "abstract": "About it.", "notes": null, "url": null})
        })
        .collect();
    serde_json::json!({
        "conference": {"slug": slug, "name": format!("Conf {slug}"), "timezone": tz,
                       "venue": "Venue", "url": null},
        "sessions": sessions
    })
}

/// The real binary serving on a free port, its stderr collected.
pub struct BinaryServer {
    child: Option<Child>,
    pub base: String,
    log: Arc<Mutex<String>>,
}

impl Drop for BinaryServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl BinaryServer {
    /// `confcal serve` on `db`, seeded from `data/`, with `extra` flags.
    pub fn start(db: &Path, extra: &[&str]) -> BinaryServer {
        Self::start_env(db, extra, &[])
    }

    /// [`BinaryServer::start`] with environment variables (e.g. `RUST_LOG`).
    pub fn start_env(db: &Path, extra: &[&str], env: &[(&str, &str)]) -> BinaryServer {
        Self::spawn(Command::new(env!("CARGO_BIN_EXE_confcal")), db, extra, env)
    }

    /// [`BinaryServer::start`] allowed at most `nofile` open file
    /// descriptors (`ulimit -n`).
    #[allow(dead_code)] // used by the descriptor tests
    pub fn start_limited(db: &Path, extra: &[&str], nofile: u64) -> BinaryServer {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_confcal"));
        // SAFETY: runs in the child between fork and exec, and only calls
        // setrlimit, which is async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: nofile,
                    rlim_max: nofile,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        Self::spawn(cmd, db, extra, &[])
    }

    fn spawn(mut cmd: Command, db: &Path, extra: &[&str], env: &[(&str, &str)]) -> BinaryServer {
        let mut child = cmd
            .arg("--db")
            .arg(db)
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--workers",
                "2",
                "--data-dir",
            ])
            .arg(repo_path("data"))
            .args(extra)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("CONFCAL_LOG_FORMAT")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap_or_default();
                // `base_url=http://...` in text, `"base_url":"http://..."` in JSON.
                if let Some(i) = line.find("base_url") {
                    let url: String = line[i + 8..]
                        .trim_start_matches(['=', '"', ':'])
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect();
                    let _ = tx.send(url);
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server reports its address");
        BinaryServer {
            child: Some(child),
            base,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<(ExitStatus, Duration)> {
        let start = Instant::now();
        let child = self.child.as_mut().unwrap();
        while start.elapsed() < limit {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return Some((status, start.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}
