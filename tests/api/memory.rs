//! Memory an anonymous client can make the server hold, measured on the
//! real binary from `/proc/<pid>/status`: bounded loads on loopback that
//! stop by themselves, asserting sizes, never times.

use std::time::Duration;

use crate::helpers::BinaryServer;

/// A field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`) in bytes.
pub fn proc_status(pid: i32, field: &str) -> usize {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    let kb: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

/// A gauge from `/metrics`.
fn metric(base: &str, name: &str) -> usize {
    let text = agent()
        .get(&format!("{base}/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

const MB: usize = 1024 * 1024;

/// Distinct `?q=` feeds, each in identity, gzip and brotli: the cache
/// (8 MB here) must hold about its limit, counting every body's allocation
/// and every compressed variant, and so must the process. Each of these
/// renderings used to keep a buffer sized for the whole conference alive
/// behind a body of a few hundred bytes.
#[test]
fn distinct_feeds_keep_the_cache_and_the_process_near_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start(&dir.path().join("c.db"), &["--feed-cache-mb", "8"]);
    let base = server.base.clone();
    // Warm up every path once (allocator arenas, thread pools, zones).
    let warm = agent();
    for i in 0..50 {
        for enc in ["identity", "gzip", "br"] {
            let r = warm
                .get(&format!(
                    "{base}/conferences/pycon-us-2012/sessions.ics?q=warm{i}"
                ))
                .set("Accept-Encoding", enc)
                .call()
                .unwrap();
            assert_eq!(r.status(), 200);
            r.into_string().unwrap();
        }
    }
    let baseline = proc_status(server.pid(), "VmRSS");
    const THREADS: usize = 4;
    const EACH: usize = 500;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let base = base.clone();
            std::thread::spawn(move || {
                let a = agent();
                for i in 0..EACH {
                    let enc = ["identity", "gzip", "br"][i % 3];
                    let q = ["python", "django", "web", "talk"][i % 4];
                    let r = a
                        .get(&format!(
                            "{base}/conferences/pycon-us-2012/sessions.ics?q={q}&q=x{t}n{i}"
                        ))
                        .set("Accept-Encoding", enc)
                        .call()
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    let mut sink = Vec::new();
                    std::io::Read::read_to_end(&mut r.into_reader(), &mut sink).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let rss = proc_status(server.pid(), "VmRSS");
    let hwm = proc_status(server.pid(), "VmHWM");
    // The limit plus a fixed allowance for allocator slack and buffers.
    let allowance = 16 * MB;
    eprintln!(
        "baseline {} KB, after {} KB, peak {} KB",
        baseline / 1024,
        rss / 1024,
        hwm / 1024
    );
    assert!(
        rss <= baseline + 8 * MB + allowance,
        "VmRSS {} KB after 2,000 distinct feeds, baseline {} KB",
        rss / 1024,
        baseline / 1024
    );
    let held = metric(&base, "confcal_feed_cache_bytes");
    let limit = metric(&base, "confcal_feed_cache_limit_bytes");
    assert_eq!(limit, 8 * MB);
    assert!(held <= limit, "the cache counts {held} bytes over {limit}");
    let entries = metric(&base, "confcal_feed_cache_entries");
    eprintln!("the cache holds {entries} feeds in {held} bytes");
    assert!(entries > 10, "the cache still caches");
}
