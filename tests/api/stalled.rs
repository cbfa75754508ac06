//! Clients that send a request and never read the answer, against the real
//! binary (its memory read from `/proc/<pid>/status`, its sockets from
//! `/proc/<pid>/fd`): a large conference's page, JSON listing, feed and
//! agenda, each several megabytes. Bounded loads on loopback that stop by
//! themselves; sizes and counts are asserted, never times.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use confcal::domain::{ConferenceSlug, SessionFilter};
use confcal::generate::{generate, write, GenerateArgs};
use confcal::store::Store;

use crate::helpers::BinaryServer;
use crate::memory::proc_status;

const MB: usize = 1024 * 1024;
/// The send timeout the server runs with: short, so the test is.
const SEND_TIMEOUT_MS: &str = "1000";
/// Sessions in the conference: its page is about 10 MB, its JSON listing
/// and its feed over 5 MB, each more than the kernel's largest send buffer
/// (4 MB) can take off the server's hands; the agenda (half of them) has a
/// feed of about 3 MB, which the cache hands out whole.
const SESSIONS: usize = 4_000;

/// A database with one large conference and an agenda that stars 2,000 of
/// its sessions (the most an agenda holds); returns the agenda's token.
fn large_conference(db: &Path) -> String {
    conference_of(db, SESSIONS)
}

/// [`large_conference`] with `sessions` sessions.
fn conference_of(db: &Path, sessions: usize) -> String {
    let doc = generate(&GenerateArgs {
        sessions,
        days: None,
        rooms: 12,
        seed: 7,
    });
    let file = db.with_extension("json");
    write(&doc, std::fs::File::create(&file).unwrap()).unwrap();
    let store = Store::open(db).unwrap();
    confcal::import::import_sources(&store, &[file], &confcal::import::Options::default()).unwrap();
    let slug = ConferenceSlug::parse("bench-conf").unwrap();
    let (_, sessions) = store.sessions(&slug, &SessionFilter::default()).unwrap();
    let token = confcal::domain::agenda::AgendaToken::generate().unwrap();
    let hash = token.hash();
    store
        .create_agenda(&hash, None, chrono::Utc::now())
        .unwrap();
    for s in sessions.iter().take(confcal::store::MAX_STARS as usize) {
        store
            .set_star(&hash, &slug, &s.data.id, true, chrono::Utc::now())
            .unwrap();
    }
    token.expose().to_owned()
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(120))
        .build()
}

/// A whole body read by an ordinary client.
fn fetch(base: &str, path: &str) -> Vec<u8> {
    let r = agent().get(&format!("{base}{path}")).call().unwrap();
    assert_eq!(r.status(), 200, "{path}");
    let mut body = Vec::new();
    r.into_reader().read_to_end(&mut body).unwrap();
    body
}

/// [`fetch`] right after the uncached renderings, which keep the workers
/// busy for seconds (debug build): actix reads the time from a cache that
/// a busy worker does not refresh, so a connection it takes just then can
/// find its five seconds for the request head already spent and get a
/// 408. That is asked again (for at most a minute); anything else fails.
fn fetch_after_renders(base: &str, path: &str) -> Vec<u8> {
    let start = Instant::now();
    loop {
        match agent().get(&format!("{base}{path}")).call() {
            Ok(r) => {
                assert_eq!(r.status(), 200, "{path}");
                let mut body = Vec::new();
                r.into_reader().read_to_end(&mut body).unwrap();
                return body;
            }
            Err(ureq::Error::Status(408, _)) if start.elapsed() < Duration::from_secs(60) => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("{path}: {e}"),
        }
    }
}

/// A client that asks for `path` and reads nothing, with a receive buffer
/// as small as the system allows, set before it connects (so its very
/// first window is small, as a client that means to stall would have it).
fn stalled(addr: &str, path: &str) -> TcpStream {
    stalled_with(addr, path, "")
}

/// [`stalled`], with `extra` header lines (each ending in CRLF).
fn stalled_with(addr: &str, path: &str, extra: &str) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    let s: TcpStream = socket.into();
    (&s).write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").as_bytes())
        .unwrap();
    s
}

/// Waits (at most a minute) until the answer has begun to arrive: by then
/// the server has its body and is writing it.
fn wait_answer_begun(s: &TcpStream) {
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut b = [0u8; 16];
    let n = s.peek(&mut b).expect("the answer begins within a minute");
    assert!(n > 0 && b.starts_with(b"HTTP/1.1 200"), "{:?}", &b[..n]);
}

/// How many of the connections from `clients` (local ports) to
/// `server` (port) the server still holds open, by the kernel's table of
/// IPv4 sockets: the server's end of each is ESTABLISHED until the server
/// lets it go (the clients close nothing).
fn still_open(server: u16, clients: &[u16]) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next().unwrap(), 16).unwrap();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            f.len() > 3 && port(f[1]) == server && clients.contains(&port(f[2])) && f[3] == "01"
        })
        .count()
}

/// Waits up to `limit` for `ok`, polling; returns whether it came true.
fn eventually(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    ok()
}

/// What a stalled client finds once it does read: what was in its buffer,
/// then the end (a reset, or EOF), never a wait for more.
fn read_to_end_or_reset(mut s: TcpStream) -> usize {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0;
    loop {
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("the server still holds a connection it had cut off ({got} bytes read)")
            }
            Err(_) => return got,
        }
    }
}

/// 100 clients stall on a cached (shared) feed, an agenda's, then 15 more
/// on the conference's feed, page and JSON listing and the agenda's JSON
/// and page. The server keeps one copy of the shared feed, not one per
/// client (each used to copy all of it into its connection's write
/// buffer); it cuts every stalled client
/// off once the send timeout has passed without the client taking
/// anything, and gives the memory back (at least half of what the load
/// took; the peak is read from `VmHWM`); meanwhile `/healthz` answers and
/// an ordinary client gets every body whole and byte-identical.
#[test]
fn clients_that_stop_reading_are_cut_off_and_their_memory_returned() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let token = large_conference(&db);
    let server = BinaryServer::start(&db, &["--send-timeout-ms", SEND_TIMEOUT_MS]);
    let (base, pid) = (server.base.clone(), server.pid());
    let addr = base.trim_start_matches("http://").to_owned();

    let feed = "/conferences/bench-conf/sessions.ics";
    let page = "/conferences/bench-conf";
    let listing = "/api/conferences/bench-conf/sessions";
    let agenda = format!("/api/agendas/{token}");
    let agenda_page = format!("/agendas/{token}");
    let agenda_feed = format!("/agendas/{token}.ics");
    // Ordinary reads first: the bodies to compare with, and every path
    // warmed (the feed cached, the allocator's arenas in use).
    let mut want = Vec::new();
    for path in [agenda_feed.as_str(), feed, listing, agenda.as_str()] {
        let body = fetch(&base, path);
        assert_eq!(fetch(&base, path), body, "{path} is the same twice");
        want.push((path.to_owned(), body));
    }
    let page_len = fetch(&base, page).len();
    assert!(fetch(&base, &agenda_page).len() > MB);
    let feed_len = want[0].1.len();
    for (path, body) in &want {
        eprintln!("{path}: {} KB", body.len() / 1024);
        assert!(body.len() > 2 * MB, "{path} is large");
    }
    eprintln!("{page}: {} KB", page_len / 1024);
    // The large bodies of the warm-up are freed by now; let the server
    // give that memory back before it is measured.
    std::thread::sleep(Duration::from_millis(1_500));
    let rss_before = proc_status(pid, "VmRSS");

    // A shared (cached) feed: 100 clients that never read.
    const FEED_CLIENTS: usize = 100;
    let mut held: Vec<TcpStream> = (0..FEED_CLIENTS)
        .map(|_| stalled(&addr, &agenda_feed))
        .collect();
    for s in &held {
        wait_answer_begun(s);
    }
    let rss_feed = proc_status(pid, "VmRSS");
    eprintln!(
        "{FEED_CLIENTS} stalled on the feed: VmRSS {} KB -> {} KB",
        rss_before / 1024,
        rss_feed / 1024
    );
    assert!(
        rss_feed.saturating_sub(rss_before) < FEED_CLIENTS * feed_len / 4,
        "{FEED_CLIENTS} clients stalled on a {} KB feed grew the server by {} KB",
        feed_len / 1024,
        rss_feed.saturating_sub(rss_before) / 1024
    );

    // Uncached bodies, each rendered for its client.
    for _ in 0..3 {
        held.push(stalled(&addr, page));
        held.push(stalled(&addr, feed));
        held.push(stalled(&addr, listing));
        held.push(stalled(&addr, &agenda));
        held.push(stalled(&addr, &agenda_page));
    }
    // While they are held: health, and whole bodies for a reading client.
    for s in &held {
        wait_answer_begun(s);
    }
    fetch_after_renders(&base, "/healthz");
    for (path, body) in &want {
        let got = fetch_after_renders(&base, path);
        assert!(got == *body, "{path} differs under load");
    }
    let hwm = proc_status(pid, "VmHWM");

    // Every stalled connection is let go of by the server ...
    let server_port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let ports: Vec<u16> = held
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect();
    let all_cut = eventually(Duration::from_secs(90), || {
        still_open(server_port, &ports) == 0
    });
    assert!(
        all_cut,
        "the server still holds {} of {} stalled connections",
        still_open(server_port, &ports),
        ports.len()
    );
    // ... as each client sees when it reads at last.
    let n = held.len();
    for s in held {
        read_to_end_or_reset(s);
    }
    // ... and the memory they had it take is given back: at least half of
    // it (the rest is the allocator's and SQLite's working set for such a
    // load, and the pool threads it started). Kept by glibc, it was all
    // of it.
    let taken = hwm.saturating_sub(rss_before);
    let limit = rss_before + (taken / 2).max(32 * MB);
    let returned = eventually(Duration::from_secs(20), || {
        proc_status(pid, "VmRSS") <= limit
    });
    let rss_after = proc_status(pid, "VmRSS");
    eprintln!(
        "{n} stalled clients: VmRSS before {} KB, peak {} KB, after {} KB",
        rss_before / 1024,
        hwm / 1024,
        rss_after / 1024
    );
    assert!(
        returned,
        "VmRSS {} KB after the stalled clients were cut off, {} KB before they came, \
         {} KB at the peak",
        rss_after / 1024,
        rss_before / 1024,
        hwm / 1024
    );
    // The server goes on serving, bodies whole.
    for (path, body) in &want {
        assert!(fetch(&base, path) == *body, "{path} differs afterwards");
    }
}

/// The status of the answer a stalled client has begun to receive.
fn answer_status(s: &TcpStream) -> u16 {
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut b = [0u8; 16];
    let n = s.peek(&mut b).expect("the answer begins within a minute");
    assert!(n >= 12 && b.starts_with(b"HTTP/1.1 "), "{:?}", &b[..n]);
    std::str::from_utf8(&b[9..12]).unwrap().parse().unwrap()
}

/// The whole of a small answer (a 503), read at last.
fn read_small_answer(mut s: TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !out.windows(4).any(|w| w == b"\r\n\r\n") || !out.ends_with(b"}") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A value of the server's `/metrics`.
fn metric(base: &str, name: &str) -> usize {
    let text = String::from_utf8(fetch_after_renders(base, "/metrics")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
}

/// A flood of stalled clients on bodies made each for its own client
/// (the JSON listing is rendered for every request, and so is a page,
/// which differs by its CSRF token; neither is cached): the bodies
/// still unsent never hold more than `--unsent-mb`, whatever the number of
/// clients. Past it the answer is a 503 with `Retry-After` and our JSON,
/// the cached feed is still served (it is shared, and not counted), and
/// once the send timeout has cut the stalled clients off, pages are served
/// again. Without the budget, 80 clients on the 10 MB page the list was
/// then held 700 MB.
#[test]
fn a_flood_of_private_bodies_stays_within_the_unsent_budget() {
    const BUDGET_MB: usize = 32;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    // A listing of about 6 MB: more than the kernel's send buffers take
    // off the server's hands (4 MB), so each stalled client holds much of
    // it in the server.
    conference_of(&db, SESSIONS);
    let server = BinaryServer::start(
        &db,
        &[
            "--send-timeout-ms",
            "3000",
            "--unsent-mb",
            &BUDGET_MB.to_string(),
        ],
    );
    let (base, pid) = (server.base.clone(), server.pid());
    let addr = base.trim_start_matches("http://").to_owned();
    let page = "/api/conferences/bench-conf/sessions";
    let feed = "/conferences/bench-conf/sessions.ics";
    let page_len = fetch(&base, page).len();
    let feed_body = fetch(&base, feed);
    assert!(
        page_len > 2 * MB && feed_body.len() > confcal::http::stream::SLICE,
        "{page_len}"
    );
    std::thread::sleep(Duration::from_millis(1_500));
    let rss_before = proc_status(pid, "VmRSS");

    // 20 that take nothing and ask for gzip (a compressed listing is small
    // enough for the kernel's buffers to take it all, so these hold
    // nothing here and are all served), then 60 more in identity.
    let mut held: Vec<TcpStream> = (0..20)
        .map(|_| stalled_with(&addr, page, "Accept-Encoding: gzip\r\n"))
        .collect();
    let gzip_statuses: Vec<u16> = held.iter().map(answer_status).collect();
    let gzip_unsent = metric(&base, "confcal_unsent_bytes");
    eprintln!("gzip: {gzip_statuses:?}, {gzip_unsent} bytes unsent");
    assert!(
        gzip_statuses.iter().all(|&s| s == 200),
        "compressed listings are served: {gzip_statuses:?}, {gzip_unsent} bytes unsent"
    );
    held.extend((0..60).map(|_| stalled(&addr, page)));
    let statuses: Vec<u16> = held.iter().map(answer_status).collect();
    let served = statuses.iter().filter(|&&s| s == 200).count();
    let refused = statuses.iter().filter(|&&s| s == 503).count();
    eprintln!(
        "page {} KB: {served} served, {refused} refused",
        page_len / 1024
    );
    assert_eq!(served + refused, statuses.len(), "{statuses:?}");
    assert!(served >= 2, "the budget holds a few pages: {statuses:?}");
    assert!(
        refused > 0,
        "80 pages of {} KB fit in {BUDGET_MB} MB",
        page_len / 1024
    );
    let unsent = metric(&base, "confcal_unsent_bytes");
    assert!(
        unsent <= BUDGET_MB * MB,
        "{unsent} bytes held, past the budget"
    );
    // The shared feed is not refused, and health answers.
    assert!(
        fetch_after_renders(&base, feed) == feed_body,
        "the cached feed is served"
    );
    fetch_after_renders(&base, "/healthz");
    let hwm = proc_status(pid, "VmHWM");
    let grew = hwm.saturating_sub(rss_before);
    eprintln!(
        "VmRSS before {} KB, peak {} KB (+{} KB)",
        rss_before / 1024,
        hwm / 1024,
        grew / 1024
    );
    // The budget, and what the requests being made hold: one per worker
    // (the server has two), each with its rows, the records it serializes,
    // the growing buffer, the body and a compressed copy (about eight
    // bodies' worth, with what the allocator keeps of it per thread); and
    // SQLite's working set. Measured: +140 MB. Unbounded, the 80 clients'
    // bodies alone are 450 MB, and without the limit on requests in the
    // making the rows of all 80 were loaded at once (+600 MB).
    let bound = BUDGET_MB * MB + 2 * 8 * page_len + 32 * MB;
    assert!(
        grew < bound,
        "80 stalled clients grew the server by {} KB (bound {} KB)",
        grew / 1024,
        bound / 1024
    );

    // A refused client finds a whole 503 in our shape.
    let first_refused = statuses.iter().position(|&s| s == 503).unwrap();
    let mut refused_answer = None;
    let mut rest = Vec::new();
    for (i, s) in held.into_iter().enumerate() {
        if i == first_refused {
            refused_answer = Some(read_small_answer(s));
        } else {
            rest.push(s);
        }
    }
    let answer = refused_answer.unwrap();
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("\r\nretry-after: "), "{answer}");
    assert!(
        lower.contains("\r\ncontent-type: application/json"),
        "{answer}"
    );
    assert!(answer.contains("\"error\":"), "{answer}");

    // Once the send timeout has cut the stalled clients off, nothing is
    // held and pages are served again.
    let freed = eventually(Duration::from_secs(60), || {
        metric(&base, "confcal_unsent_bytes") == 0
    });
    assert!(
        freed,
        "{} bytes still held",
        metric(&base, "confcal_unsent_bytes")
    );
    assert!(metric(&base, "confcal_unsent_refused_total") >= refused);
    assert_eq!(fetch_after_renders(&base, page).len(), page_len);
    drop(rest);
}
