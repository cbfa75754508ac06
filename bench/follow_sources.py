#!/usr/bin/env python3
"""The cost of following sources that answer 304.

    bench/follow_sources.py BIN [--sources 100] [--seconds 10]

Starts an upstream on loopback that serves a small frab schedule.xml per
path with an ETag and answers 304 to a matching If-None-Match, and a
confcal server (BIN) following SOURCES of its URLs every second (so the
server is asked for 100 fetches a second, as many as it can do). Once
every source has had its first sync, it measures for SECONDS: the fetches
the server made (its /metrics), and the CPU time the server used
(/proc/PID/stat). Prints one line per figure as `key value`.

Every second is far more often than anyone follows a schedule (five
minutes is the default): the CPU per round of 100 fetches is the figure
that carries over, scaled by how often rounds come.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "bench-admin-token-0123456789-abcdefghij"


def schedule(n):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<schedule><version>1</version>'
        f"<conference><acronym>c{n}</acronym><title>Conference {n}</title>"
        "<time_zone_name>Europe/Berlin</time_zone_name></conference>"
        '<day index="1" date="2026-06-05"><room name="Hall">'
        + "".join(
            f'<event guid="t{i}"><date>2026-06-05T{10 + i}:00:00+02:00</date>'
            f"<start>{10 + i}:00</start><duration>00:30</duration><room>Hall</room>"
            f"<title>Talk {i}</title><abstract>About talk {i}.</abstract></event>"
            for i in range(5)
        )
        + "</room></day></schedule>\n"
    ).encode()


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests = 0
    not_modified = 0
    lock = threading.Lock()

    def do_GET(self):
        n = self.path.strip("/").split(".")[0]
        etag = f'"{n}-v1"'
        with Upstream.lock:
            Upstream.requests += 1
        if self.headers.get("If-None-Match") == etag:
            with Upstream.lock:
                Upstream.not_modified += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        body = schedule(n)
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(method, url, body=None):
    req = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def fetches(base):
    text = call("GET", base + "/metrics").decode()
    out = {}
    for m in re.finditer(r'^confcal_source_fetches_total\{outcome="(\w+)"\} (\d+)$', text, re.M):
        out[m.group(1)] = int(m.group(2))
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--sources", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()

    up = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    up.daemon_threads = True
    threading.Thread(target=up.serve_forever, daemon=True).start()
    up_base = f"http://127.0.0.1:{up.server_address[1]}"

    work = tempfile.mkdtemp()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, CONFCAL_ADMIN_TOKEN=TOKEN, RUST_LOG="warn")
    server = subprocess.Popen(
        [a.bin, "--db", f"{work}/follow.db", "serve", "--addr", f"127.0.0.1:{port}",
         "--data-dir", f"{work}/none", "--source-min-every", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(400):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        for n in range(a.sources):
            call("PUT", f"{base}/api/conferences/c{n:03d}/source",
                 {"url": f"{up_base}/{n:03d}.xml", "every_seconds": 1})
        deadline = time.time() + 60
        while fetches(base).get("ok", 0) < a.sources:
            if time.time() > deadline:
                sys.exit(f"the first syncs did not finish: {fetches(base)}")
            time.sleep(0.1)
        f0, c0, t0 = fetches(base), cpu_seconds(server.pid), time.monotonic()
        time.sleep(a.seconds)
        f1, c1, t1 = fetches(base), cpu_seconds(server.pid), time.monotonic()
        n304 = f1.get("not_modified", 0) - f0.get("not_modified", 0)
        other = sum(f1.values()) - sum(f0.values()) - n304
        cpu = c1 - c0
        wall = t1 - t0
        print(f"sources {a.sources}")
        print(f"seconds {wall:.1f}")
        print(f"fetches_304 {n304}")
        print(f"fetches_other {other}")
        print(f"fetches_per_second {n304 / wall:.0f}")
        print(f"rounds_per_second {n304 / a.sources / wall:.2f}")
        print(f"server_cpu_ms_per_round {cpu * 1000 / max(n304, 1) * a.sources:.1f}")
        print(f"server_cpu_ms_per_fetch {cpu * 1000 / max(n304, 1):.3f}")
        print(f"server_cpu_percent {100 * cpu / wall:.0f}")
    finally:
        server.terminate()
        server.wait(timeout=15)
        up.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
