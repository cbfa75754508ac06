//! The real binary under a small file-descriptor limit (`ulimit -n`), as
//! a server under the common limit of 1,024 meets 1,100 slow uploads, at a
//! scale a test can afford: more slow uploads than it has descriptors.
//! (`bench/slow_uploads.py` runs the full-size case.)

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::helpers::BinaryServer;

const NOFILE: u64 = 128;
const SLOW: usize = NOFILE as usize + 22;

fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Every slow upload holds a descriptor until its body deadline; once all
/// are taken, a new connection waits in the listen queue. The deadline
/// frees them: every upload gets its 408 (those accepted later, theirs
/// later), and a `/healthz` probe sent while none was free is answered.
/// Without the deadline neither happens (the reads below give up after
/// 30 s each and fail the test).
#[test]
fn slow_uploads_past_the_descriptor_limit_are_cut_and_new_connections_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = BinaryServer::start_limited(
        &dir.path().join("d.db"),
        // All from one address here: no per-address limit in the way.
        &[
            "--body-timeout-ms",
            "3000",
            "--unknown-token-per-minute",
            "0",
        ],
        NOFILE,
    );
    let addr = server.base.trim_start_matches("http://").to_owned();
    let head = "POST /agendas/star HTTP/1.1\r\nHost: localhost\r\n\
                Cookie: confcal_csrf=0123456789abcdefghijklmnopqrstuvwxyzABCDEFG\r\n\
                Content-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 100\r\n\r\ncsrf=x";
    let slow: Vec<TcpStream> = (0..SLOW)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            s.write_all(head.as_bytes()).unwrap();
            s
        })
        .collect();
    let began = Instant::now();
    while open_fds(server.pid()) < NOFILE as usize {
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "the server never ran out of descriptors ({} open)",
            open_fds(server.pid())
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let probe = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut line = String::new();
            let _ = BufReader::new(s).read_line(&mut line);
            line
        })
    };
    for (i, s) in slow.into_iter().enumerate() {
        let mut line = String::new();
        let _ = BufReader::new(s).read_line(&mut line);
        assert!(line.starts_with("HTTP/1.1 408"), "upload {i}: {line:?}");
    }
    let line = probe.join().unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "the probe: {line:?}");
}
