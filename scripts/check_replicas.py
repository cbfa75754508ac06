#!/usr/bin/env python3
"""The multi-replica check: real processes on loopback.

Three `confcal serve` replicas on one database (a `postgres://` URL, or an
SQLite file that the replicas share across processes in WAL mode), the same
CONFCAL_BASE_URL and admin token, each on its own port, and nginx in front
from deploy/nginx/confcal.conf (its ports and log path replaced). Checks,
each an assertion with its own message:

  1. a session changed through one replica is in the feed (new ETag, new
     SEQUENCE) served by each other replica at once; an agenda starred
     through one replica is in its feed on another;
  2. polling through nginx while a writer changes sessions: no response
     started after a write was acknowledged carries an older state (body,
     ETag or 304);
  3. the same with a replica SIGKILLed mid-load: no GET through nginx fails,
     no acknowledged write is lost, the restarted replica serves the same
     bytes and ETags as the others;
  4. (PostgreSQL) the replicas' connections killed by pg_terminate_backend,
     then the database restarted, then stopped and started: nothing stale,
     the first request afterwards succeeds, the replicas recover without a
     restart, /healthz answers 503 while the database is down;
  5. two replicas syncing the same conference at the same moment leave a
     schedule that is wholly one document or the other.

Loads are bounded in count and in time and stop by themselves; times are
printed, never asserted. Only the standard library (runs on any python3).

    scripts/check_replicas.py --bin target/debug/confcal [--db postgres://...|FILE]

Without --db: $CONFCAL_TEST_POSTGRES if set (scripts/with-postgres sets it),
else an SQLite file in a temporary folder. Part 4 needs PGBIN, PGDATA,
PGHOST, PGPORT, PGUSER (scripts/with-postgres sets them) and is skipped,
saying why, on SQLite.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN_TOKEN = "replicas-admin-token-0123456789-abcdefghijklmnop"
BASE_URL = "http://confcal.test"
CONF = "replicas"
RACE = "race"
REPLICAS = 3

failures = []
timings = []


def check(cond, message):
    """A checked assertion: failures are collected and the run fails at the end."""
    if not cond:
        failures.append(message)
        print(f"FAIL: {message}", flush=True)
    return cond


def require(cond, message):
    """An assertion the rest of the run depends on: stops at once."""
    if not cond:
        failures.append(message)
        raise SystemExit(f"FAIL: {message}")


def note(what, value):
    timings.append((what, value))
    print(f"  {what}: {value}", flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Response:
    def __init__(self, status, headers, body, started, finished):
        self.status = status
        self.headers = headers
        self.body = body
        self.started = started
        self.finished = finished

    def header(self, name):
        return self.headers.get(name.lower())


def request(port, method, path, body=None, headers=None, timeout=20):
    """One request on a new connection. `started` is taken before connecting,
    so a response whose `started` is after an acknowledgement was asked for
    after it."""
    hdrs = dict(headers or {})
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        length = resp.getheader("Content-Length")
        if length is not None and method != "HEAD" and int(length) != len(data):
            raise IOError(f"short body: {len(data)} of {length} bytes")
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data,
                        started, time.monotonic())
    finally:
        conn.close()


def try_request(port, method, path, **kw):
    """`request`, with a failure to connect or read answered as status 0."""
    started = time.monotonic()
    try:
        return request(port, method, path, **kw)
    except (OSError, http.client.HTTPException) as e:
        return Response(0, {}, str(e).encode(), started, time.monotonic())


ADMIN = {"Authorization": "Bearer " + ADMIN_TOKEN}


# --- the data -------------------------------------------------------------

def session_doc(i, title=None, day=0):
    hour = 9 + (i % 8)
    date = f"2026-06-{10 + day + (i // 8) % 2:02d}"
    return {
        "id": f"s{i:03d}",
        "title": title or f"Talk {i}",
        "speakers": [f"Speaker {i % 7}"],
        "start": f"{date}T{hour:02d}:00",
        "end": f"{date}T{hour:02d}:45",
        "room": f"Room {i % 3}",
        "tracks": [],
        "abstract": f"Abstract of talk {i}.",
        "notes": None,
        "url": None,
    }


def schedule(slug, sessions):
    return {
        "conference": {"slug": slug, "name": f"Replicas {slug}", "timezone": "Europe/Berlin",
                       "venue": "Loopback Hall", "url": None},
        "sessions": sessions,
    }


def feed_path(slug=CONF):
    return f"/conferences/{slug}/sessions.ics"


def events(ics):
    """{uid: {"SEQUENCE": int, "SUMMARY": str}} from a feed (lines unfolded)."""
    text = ics.decode().replace("\r\n ", "").replace("\r\n\t", "")
    out = {}
    for block in text.split("BEGIN:VEVENT")[1:]:
        block = block.split("END:VEVENT")[0]
        props = {}
        for line in block.split("\r\n"):
            if ":" in line:
                name, value = line.split(":", 1)
                props.setdefault(name.split(";")[0], value)
        out[props.get("UID")] = {"SEQUENCE": int(props.get("SEQUENCE", "0")),
                                 "SUMMARY": props.get("SUMMARY", "").replace("\\,", ",")}
    return out


def uid(sid, slug=CONF):
    return f"{sid}.{slug}@confcal.test"


# --- processes --------------------------------------------------------------

class Replica:
    def __init__(self, n, binary, db, work):
        self.n = n
        self.binary = binary
        self.db = db
        self.work = work
        self.port = free_port()
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        env = dict(os.environ, CONFCAL_ADMIN_TOKEN=ADMIN_TOKEN, CONFCAL_BASE_URL=BASE_URL,
                   RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        env.pop("CONFCAL_DB", None)
        log = open(os.path.join(self.work, f"replica{self.n}.log"), "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--db", self.db, "serve", "--addr", f"127.0.0.1:{self.port}",
             "--data-dir", os.path.join(self.work, "no-data")],
            env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def wait_ready(self, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                require(False, f"replica {self.n} exited with {self.proc.returncode}; "
                               f"see {self.work}/replica{self.n}.log:\n{self.log_tail()}")
            r = try_request(self.port, "GET", "/healthz", timeout=2)
            if r.status == 200:
                return
            time.sleep(0.05)
        require(False, f"replica {self.n} not healthy within {seconds} s:\n{self.log_tail()}")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self):
        try:
            with open(os.path.join(self.work, f"replica{self.n}.log"), "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        # A panic's message is at the start of a long backtrace: keep both ends.
        return text if len(text) <= 4000 else text[:2000] + "\n[...]\n" + text[-2000:]


class Nginx:
    def __init__(self, work, ports):
        self.work = os.path.join(work, "nginx")
        os.makedirs(os.path.join(self.work, "tmp"))
        self.port = free_port()
        self.access_log = os.path.join(self.work, "access.log")
        with open(os.path.join(REPO, "deploy", "nginx", "confcal.conf")) as f:
            conf = f.read()
        # The repository's file, with the test's addresses: each replaced
        # exactly once, so an edit of the file cannot silently escape the test.
        for i, port in enumerate(ports):
            conf, k = re.subn(rf"server 127\.0\.0\.1:{8081 + i} ", f"server 127.0.0.1:{port} ", conf)
            require(k == 1, f"deploy/nginx/confcal.conf: upstream line for 127.0.0.1:{8081 + i} not found once")
        conf, k = re.subn(r"listen 127\.0\.0\.1:8080;", f"listen 127.0.0.1:{self.port};", conf)
        require(k == 1, "deploy/nginx/confcal.conf: `listen 127.0.0.1:8080;` not found once")
        conf, k = re.subn(r"access_log /var/log/nginx/confcal\.access\.log", f"access_log {self.access_log}", conf)
        require(k == 1, "deploy/nginx/confcal.conf: its access_log line not found once")
        with open(os.path.join(self.work, "confcal.conf"), "w") as f:
            f.write(conf)
        t = os.path.join(self.work, "tmp")
        main = f"""
worker_processes 2;
pid {self.work}/nginx.pid;
error_log {self.work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {t}; proxy_temp_path {t}; fastcgi_temp_path {t};
    uwsgi_temp_path {t}; scgi_temp_path {t};
    include {self.work}/confcal.conf;
}}
"""
        with open(os.path.join(self.work, "nginx.conf"), "w") as f:
            f.write(main)
        self.binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(self.binary, os.X_OK):
            raise SystemExit("check_replicas: nginx not found (scripts/install-test-deps installs it)")
        # Workers may run as an unprivileged user: let them write the log and temp files.
        os.chmod(work, 0o755)
        for root, dirs, _ in os.walk(self.work):
            os.chmod(root, 0o777)

    def start(self):
        subprocess.run([self.binary, "-c", os.path.join(self.work, "nginx.conf"), "-p", self.work + "/"],
                       check=True)
        deadline = time.monotonic() + 10
        while try_request(self.port, "GET", "/healthz", timeout=2).status != 200:
            require(time.monotonic() < deadline, "nginx did not answer /healthz within 10 s")
            time.sleep(0.05)

    def stop(self):
        pid_file = os.path.join(self.work, "nginx.pid")
        if os.path.exists(pid_file):
            with open(pid_file) as f:
                pid = int(f.read().strip())
            try:
                os.kill(pid, signal.SIGQUIT)
            except ProcessLookupError:
                pass
            for _ in range(100):
                if not os.path.exists(pid_file):
                    break
                time.sleep(0.05)

    def error_log(self):
        try:
            with open(os.path.join(self.work, "error.log")) as f:
                return f.read()
        except OSError:
            return ""


# --- the checks -------------------------------------------------------------

def get_feed(port, slug=CONF, etag=None):
    headers = {"Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    return request(port, "GET", feed_path(slug), headers=headers)


def put_session(port, i, title):
    return request(port, "PUT", f"/api/conferences/{CONF}/sessions/s{i:03d}",
                   body={k: v for k, v in session_doc(i, title).items() if k != "id"}, headers=ADMIN)


def check_cross_replica(replicas):
    print("== 1. a change through one replica, seen by the others at once", flush=True)
    for writer in replicas:
        before = {r.n: get_feed(r.port) for r in replicas}
        for r in replicas:
            require(before[r.n].status == 200, f"replica {r.n}: feed answered {before[r.n].status}")
        etags = {b.header("etag") for b in before.values()}
        check(len(etags) == 1, f"the replicas serve one ETag for the same data, got {etags}")
        check(len({b.body for b in before.values()}) == 1, "the replicas serve the same bytes for the same data")
        i = writer.n + 1
        old = events(before[writer.n].body)[uid(f"s{i:03d}")]
        title = f"Changed through replica {writer.n} at {time.time():.6f}"
        w = put_session(writer.port, i, title)
        require(w.status == 200, f"PUT session through replica {writer.n}: {w.status} {w.body[:200]!r}")
        for r in replicas:
            if r is writer:
                continue
            after = get_feed(r.port)
            check(after.status == 200, f"replica {r.n} after a write on {writer.n}: {after.status}")
            check(after.header("etag") != before[r.n].header("etag"),
                  f"replica {r.n} still serves the old ETag after a write acknowledged by replica {writer.n}")
            ev = events(after.body).get(uid(f"s{i:03d}"), {})
            check(ev.get("SUMMARY") == title,
                  f"replica {r.n}: s{i:03d}'s SUMMARY is {ev.get('SUMMARY')!r}, not the title written on {writer.n}")
            check(ev.get("SEQUENCE", -1) > old["SEQUENCE"],
                  f"replica {r.n}: s{i:03d}'s SEQUENCE {ev.get('SEQUENCE')} not above {old['SEQUENCE']}")
            cond = get_feed(r.port, etag=before[r.n].header("etag"))
            check(cond.status == 200,
                  f"replica {r.n} answered {cond.status} to If-None-Match with the ETag from before the write")

    print("== 1b. an agenda starred through one replica, in its feed on another", flush=True)
    a, b, c = replicas
    created = request(a.port, "POST", "/api/agendas", body={"name": "replicas"})
    require(created.status == 201, f"POST /api/agendas on replica {a.n}: {created.status} {created.body[:200]!r}")
    token = json.loads(created.body)["token"]

    def star(r, i, method="PUT"):
        resp = request(r.port, method, f"/api/agendas/{token}/sessions/{CONF}/s{i:03d}")
        require(resp.status in (200, 201, 204), f"{method} star s{i:03d} on replica {r.n}: {resp.status} {resp.body[:200]!r}")

    def agenda_uids(r):
        resp = request(r.port, "GET", f"/agendas/{token}.ics")
        require(resp.status == 200, f"agenda feed on replica {r.n}: {resp.status}")
        return set(events(resp.body))

    star(a, 10)
    for r in (b, c):
        check(uid("s010") in agenda_uids(r), f"s010 starred on replica {a.n} is not in the agenda feed on {r.n}")
    star(b, 11)
    for r in (a, c):
        check(uid("s011") in agenda_uids(r), f"s011 starred on replica {b.n} is not in the agenda feed on {r.n}")
    star(c, 10, "DELETE")
    for r in (a, b):
        check(agenda_uids(r) == {uid("s011")}, f"agenda on replica {r.n} after s010 unstarred on {c.n}: {agenda_uids(r)}")
    return token


class Load:
    """Pollers GETting the feed through nginx (half of them conditional)
    while one writer changes sessions one after the other through nginx.
    Each write sets a session's title to `Load <k>`, k counting up, and the
    feed's newest k is the state it shows. Bounded: the writer makes
    `writes` writes; pollers stop when it is done, or after `max_seconds`."""

    def __init__(self, port, writes, pollers=4, max_seconds=60, sessions=range(20, 30), on_write=None):
        self.port = port
        self.writes = writes
        self.pollers = pollers
        self.max_seconds = max_seconds
        self.sessions = list(sessions)
        self.on_write = on_write
        self.acks = []          # (ack time, k, session)
        self.attempts = []      # (k, session, status)
        self.polls = []         # (start, status, k shown, etag, detail)
        self.etag_state = {}    # etag -> k, learnt from 200s
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.k0 = 0

    def state_of(self, body):
        ks = [int(m) for m in re.findall(rb"SUMMARY:Load (\d+)", body)]
        return max(ks, default=0)

    def writer(self):
        try:
            for j in range(self.writes):
                k = self.k0 + j + 1
                i = self.sessions[j % len(self.sessions)]
                r = try_request(self.port, "PUT", f"/api/conferences/{CONF}/sessions/s{i:03d}",
                                body={kk: v for kk, v in session_doc(i, f"Load {k}").items() if kk != "id"},
                                headers=ADMIN)
                with self.lock:
                    self.attempts.append((k, i, r.status))
                    if r.status == 200:
                        self.acks.append((r.finished, k, i))
                if self.on_write:
                    self.on_write(j)
        finally:
            self.done.set()

    def poller(self, n):
        etag = None
        deadline = time.monotonic() + self.max_seconds
        count = 0
        while not self.done.is_set() and time.monotonic() < deadline:
            count += 1
            conditional = etag is not None and count % 2 == 0
            r = try_request(self.port, "GET", feed_path(), headers=dict(
                {"Accept-Encoding": "identity"}, **({"If-None-Match": etag} if conditional else {})))
            if r.status == 200:
                ok = r.body.rstrip().endswith(b"END:VCALENDAR")
                k = self.state_of(r.body)
                with self.lock:
                    seen = self.etag_state.setdefault(r.header("etag"), k)
                detail = None if ok else "truncated body"
                if seen != k:
                    detail = f"ETag {r.header('etag')} served for states {seen} and {k}"
                etag = r.header("etag")
                self.polls.append((r.started, 200, k, etag, detail))
            elif r.status == 304:
                with self.lock:
                    k = self.etag_state.get(etag)
                self.polls.append((r.started, 304, k, etag, None))
            else:
                self.polls.append((r.started, r.status, None, None, r.body[:200]))

    def run(self):
        self.k0 = self.state_of(get_feed(self.port).body)
        threads = [threading.Thread(target=self.poller, args=(n,)) for n in range(self.pollers)]
        wt = threading.Thread(target=self.writer)
        t0 = time.monotonic()
        for t in threads:
            t.start()
        wt.start()
        wt.join(self.max_seconds + 30)
        self.done.set()
        for t in threads:
            t.join(30)
        self.seconds = time.monotonic() - t0

    def check_fresh(self, label):
        """No response started after the acknowledgement of write k shows a
        state before k (a 200's body, the state its ETag stands for, or a 304
        to an older ETag)."""
        acks = sorted(self.acks)
        stale = []
        for started, status, k, etag, detail in self.polls:
            if status not in (200, 304):
                continue
            # the newest write acknowledged before this request started
            newest = max((ak for at, ak, _ in acks if at < started), default=self.k0)
            if k is None or k < newest:
                stale.append((status, k, newest, etag))
        check(not stale, f"{label}: {len(stale)} responses started after an acknowledged write showed an "
                         f"older state (status, shown, acknowledged, etag), first: {stale[:3]}")
        bad = [p for p in self.polls if p[4] is not None and p[1] == 200]
        check(not bad, f"{label}: inconsistent responses: {[p[4] for p in bad[:3]]}")
        n200 = sum(1 for p in self.polls if p[1] == 200)
        n304 = sum(1 for p in self.polls if p[1] == 304)
        note(f"{label}: polls", f"{len(self.polls)} in {self.seconds:.1f} s ({n200} 200, {n304} 304), "
                                f"{len(self.acks)} of {len(self.attempts)} writes acknowledged, "
                                f"{len(self.etag_state)} distinct ETags")
        check(len(self.etag_state) > 1, f"{label}: the pollers saw only one state; the load checked nothing")


def check_polling(nginx, writes):
    print("== 2. polling through nginx while a writer changes sessions", flush=True)
    load = Load(nginx.port, writes=writes)
    load.run()
    check(len(load.acks) == load.writes, f"writes through nginx: {load.writes - len(load.acks)} not acknowledged: "
                                         f"{[a for a in load.attempts if a[2] != 200][:3]}")
    failed = [p for p in load.polls if p[1] not in (200, 304)]
    check(not failed, f"polling: {len(failed)} GETs failed, first: {failed[:3]}")
    load.check_fresh("polling")


def check_same_everywhere(load, replicas, label):
    """No acknowledged write lost: each session's title is its last
    acknowledged write (or a later attempt whose answer was lost), and every
    replica serves the same bytes and ETag."""
    feeds = {r.n: get_feed(r.port) for r in replicas}
    ev = events(feeds[0].body)
    for i in load.sessions:
        mine = [a for a in load.attempts if a[1] == i]
        acked = [k for k, s, st in mine if st == 200]
        if not acked:
            continue
        last_acked = max(acked)
        later_unacked = [k for k, s, st in mine if k > last_acked]
        shown = ev[uid(f"s{i:03d}")]["SUMMARY"]
        allowed = {f"Load {last_acked}"} | {f"Load {k}" for k in later_unacked}
        check(shown in allowed, f"{label}: s{i:03d} shows {shown!r}; its last acknowledged write was Load {last_acked}")
    check(len({f.header('etag') for f in feeds.values()}) == 1,
          f"{label}: the replicas' ETags differ: {[f.header('etag') for f in feeds.values()]}")
    check(len({f.body for f in feeds.values()}) == 1, f"{label}: the replicas serve different bytes")


def check_kill(nginx, replicas, writes):
    print("== 3. a replica SIGKILLed mid-load", flush=True)
    victim = replicas[1]
    killed = {}

    def on_write(j):
        if j == writes // 3:
            victim.kill()
            killed["at"] = time.monotonic()
        if j == 2 * writes // 3:
            victim.start()
            victim.wait_ready()
            killed["back"] = time.monotonic()

    load = Load(nginx.port, writes=writes, on_write=on_write)
    load.run()
    require("back" in killed, "the replica was not killed and restarted during the load")
    note("SIGKILLed replica back (restart to /healthz 200)", f"{killed['back'] - killed['at']:.2f} s after the kill")
    failed = [p for p in load.polls if p[1] not in (200, 304)]
    check(not failed, f"SIGKILL: {len(failed)} GETs through nginx failed, first: {failed[:3]}")
    bad_writes = [a for a in load.attempts if a[2] != 200]
    note("SIGKILL: writes not acknowledged", f"{len(bad_writes)} {bad_writes[:3]}")
    load.check_fresh("SIGKILL")
    check_same_everywhere(load, replicas, "SIGKILL")
    errors = [line for line in nginx.error_log().splitlines()
              if f"127.0.0.1:{victim.port}" in line and "[error]" in line]
    cut = sum("while reading response header" in line or "while reading upstream" in line for line in errors)
    refused = sum("Connection refused" in line for line in errors)
    note("SIGKILL: requests nginx passed on to another replica",
         f"{cut} cut by the kill mid-request, {refused} refused while it was down")
    for path in (f"/api/conferences/{CONF}/sessions", f"/conferences/{CONF}/sessions/s020.ics",
                 f"/conferences/{CONF}/schedule.json"):
        answers = {r.n: request(r.port, "GET", path, headers={"Accept-Encoding": "identity"}) for r in replicas}
        check(all(a.status == 200 for a in answers.values()), f"{path}: {[a.status for a in answers.values()]}")
        check(len({(a.body, a.header('etag')) for a in answers.values()}) == 1,
              f"{path}: the restarted replica serves other bytes or ETag than the others")


def psql(sql):
    out = subprocess.run([os.path.join(os.environ["PGBIN"], "psql"), "-d", "postgres", "-qAt",
                          "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def pg_ctl(*args):
    cmd = [os.path.join(os.environ["PGBIN"], "pg_ctl"), "-D", os.environ["PGDATA"], "-w", "-t", "60", *args]
    if os.environ.get("CONFCAL_TEST_PG_RUNAS"):
        cmd = ["runuser", "-u", os.environ["CONFCAL_TEST_PG_RUNAS"], "--"] + cmd
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def check_recovery(nginx, replicas, counter, writes):
    """The first request to each replica after its connections died
    succeeds, shows the newest data, and a write then reads back everywhere."""

    def first_requests(label):
        """The first request of one replica is a write, the first of each
        other a read that must show it (a replica answering from its cache
        without reaching the database would show the title before), then
        every replica writes once and every replica reads each write."""
        counter[0] += 1
        w = replicas[counter[0] % len(replicas)]
        title = f"After {label} {counter[0]}"
        t = time.monotonic()
        resp = try_request(w.port, "PUT", f"/api/conferences/{CONF}/sessions/s005",
                           body={k: v for k, v in session_doc(5, title).items() if k != "id"}, headers=ADMIN)
        check(resp.status == 200, f"{label}: the first request to replica {w.n} (a write) answered "
                                  f"{resp.status} {resp.body[:200]!r}")
        note(f"{label}: first request (PUT) on replica {w.n}", f"{(time.monotonic() - t) * 1000:.1f} ms")
        for r in replicas:
            if r is w:
                continue
            t = time.monotonic()
            f = try_request(r.port, "GET", feed_path(), headers={"Accept-Encoding": "identity"})
            check(f.status == 200, f"{label}: the first request to replica {r.n} (a read) answered {f.status} "
                                   f"{f.body[:200]!r}")
            note(f"{label}: first request (GET) on replica {r.n}", f"{(time.monotonic() - t) * 1000:.1f} ms")
            shown = events(f.body).get(uid("s005"), {}).get("SUMMARY") if f.status == 200 else None
            check(shown == title, f"{label}: replica {r.n}'s first answer shows {shown!r}, not {title!r} "
                                  f"written on {w.n}")
        for w in replicas:
            counter[0] += 1
            title = f"After {label} {counter[0]}"
            resp = try_request(w.port, "PUT", f"/api/conferences/{CONF}/sessions/s005",
                               body={k: v for k, v in session_doc(5, title).items() if k != "id"}, headers=ADMIN)
            check(resp.status == 200, f"{label}: a write through replica {w.n} answered {resp.status} {resp.body[:200]!r}")
            for r in replicas:
                f = try_request(r.port, "GET", feed_path(), headers={"Accept-Encoding": "identity"})
                shown = events(f.body).get(uid("s005"), {}).get("SUMMARY") if f.status == 200 else None
                check(shown == title, f"{label}: replica {r.n} shows {shown!r} after {title!r} was written on {w.n}")

    print("== 4a. connections killed with pg_terminate_backend", flush=True)
    terminate = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                 "WHERE usename = 'confcal' AND pid <> pg_backend_pid()")
    n = psql(terminate)
    note("pg_terminate_backend: connections killed", n)
    check(int(n) >= 1, "no confcal connection to kill: the replicas hold no pooled connections?")
    first_requests("after pg_terminate_backend")

    print("== 4b. database restarted (pg_ctl restart -m fast)", flush=True)
    t = time.monotonic()
    pg_ctl("restart", "-m", "fast", "-l", os.path.join(os.environ["PGDATA"], "..", "server.log"))
    note("pg_ctl restart", f"{time.monotonic() - t:.2f} s")
    first_requests("after a database restart")

    print("== 4c. database down: /healthz 503, then back", flush=True)
    pg_ctl("stop", "-m", "fast")
    t = time.monotonic()

    def down(r):
        while True:  # at least one try per replica, all within 20 s of the stop
            status = try_request(r.port, "GET", "/healthz", timeout=10).status
            if status == 503 or time.monotonic() - t > 20:
                break
            time.sleep(0.1)
        check(status == 503, f"replica {r.n}: /healthz answered {status} (not 503) with the database down for 20 s")
        note(f"database down: replica {r.n} /healthz 503 after", f"{time.monotonic() - t:.2f} s")

    threads = [threading.Thread(target=down, args=(r,)) for r in replicas]
    for th in threads:
        th.start()
    for th in threads:
        th.join(40)
    pg_ctl("start", "-l", os.path.join(os.environ["PGDATA"], "..", "server.log"))
    first_requests("after the database was down")
    for r in replicas:
        check(r.proc.poll() is None, f"replica {r.n} exited while the database was down")
        check(try_request(r.port, "GET", "/healthz").status == 200, f"replica {r.n}: /healthz not 200 once the database is back")

    print("== 4d. connections killed under polling load through nginx", flush=True)
    killed = []

    def on_write(j):
        if j in (writes // 4, writes // 2, 3 * writes // 4):
            killed.append(psql(terminate))

    load = Load(nginx.port, writes=writes, on_write=on_write)
    load.run()
    note("under load: connections killed", " + ".join(killed))
    failed = [p for p in load.polls if p[1] not in (200, 304)]
    note("under load: GETs failed (a query on a killed connection may)", f"{len(failed)} {failed[:2]}")
    note("under load: writes not acknowledged", f"{len(load.attempts) - len(load.acks)}")
    load.check_fresh("pg_terminate_backend under load")
    check_same_everywhere(load, replicas, "pg_terminate_backend under load")


def check_race(replicas, rounds=8, size=150):
    print("== 5. two replicas syncing one conference at the same moment", flush=True)
    a, b = replicas[0], replicas[1]
    r = request(a.port, "PUT", f"/api/conferences/{RACE}", body=schedule(RACE, [session_doc(i) for i in range(size)]),
                headers=ADMIN)
    require(r.status in (200, 201), f"PUT {RACE}: {r.status} {r.body[:200]!r}")
    wins = {"X": 0, "Y": 0}
    statuses = []
    overlapped = 0
    for rnd in range(rounds):
        # X and Y overlap in half their ids and differ in every title.
        docs = {
            "X": schedule(RACE, [session_doc(i, f"X{rnd} {i}") for i in range(0, size)]),
            "Y": schedule(RACE, [session_doc(i, f"Y{rnd} {i}") for i in range(size // 2, size + size // 2)]),
        }
        barrier = threading.Barrier(2)
        results = {}

        def sync(replica, name):
            body = json.dumps(docs[name]).encode()
            barrier.wait()
            results[name] = try_request(replica.port, "PUT", f"/api/conferences/{RACE}", body=body,
                                        headers=dict(ADMIN, **{"Content-Type": "application/json"}), timeout=60)

        ts = [threading.Thread(target=sync, args=(a, "X")), threading.Thread(target=sync, args=(b, "Y"))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(90)
        statuses.append((results["X"].status, results["Y"].status))
        rx, ry = results["X"], results["Y"]
        overlapped += max(rx.started, ry.started) < min(rx.finished, ry.finished)
        for name, res in results.items():
            check(res.status in (200, 503), f"race round {rnd}: sync {name} answered {res.status} {res.body[:200]!r}")
        views = []
        for rep in replicas:
            resp = request(rep.port, "GET", f"/api/conferences/{RACE}/sessions")
            require(resp.status == 200, f"race: sessions on replica {rep.n}: {resp.status}")
            views.append({s["id"]: s["title"] for s in json.loads(resp.body)["sessions"]})
        check(all(v == views[0] for v in views), f"race round {rnd}: the replicas disagree on the schedule")
        got = views[0]
        whole = {name: {s["id"]: s["title"] for s in d["sessions"]} for name, d in docs.items()}
        acked = [name for name, res in results.items() if res.status == 200]
        winner = [name for name in acked if got == whole[name]]
        check(len(winner) == 1, f"race round {rnd}: the schedule is not wholly X or wholly Y of the syncs "
                                f"acknowledged ({acked}): {len(got)} sessions, titles "
                                f"{sorted({t.split()[0] for t in got.values()})}")
        if winner:
            wins[winner[0]] += 1
    note("race: winners", f"{wins}; the two syncs were in flight together in {overlapped} of {rounds} rounds; "
                          f"statuses {sorted(set(statuses))}")
    check(overlapped > 0, "race: the two syncs never overlapped in time; the race checked nothing")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "debug", "confcal"))
    ap.add_argument("--db", default=None, help="postgres:// URL or SQLite file (default: $CONFCAL_TEST_POSTGRES, "
                                               "else a temporary SQLite file)")
    ap.add_argument("--writes", type=int, default=60, help="writes in each load (default 60)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="confcal-replicas.")
    os.makedirs(os.path.join(work, "no-data"))
    db = args.db or os.environ.get("CONFCAL_TEST_POSTGRES") or os.path.join(work, "confcal.db")
    is_pg = db.startswith(("postgres://", "postgresql://"))
    shown_db = re.sub(r"://([^:@/]+):[^@/]*@", r"://\1:<password>@", db)
    print(f"check_replicas: {REPLICAS} replicas of {args.bin} on {shown_db}, nginx in front", flush=True)
    t_all = time.monotonic()
    replicas = [Replica(n, args.bin, db, work) for n in range(REPLICAS)]
    nginx = None
    try:
        t = time.monotonic()
        for r in replicas:
            r.start()
        for r in replicas:
            r.wait_ready()
        note("three replicas started (to /healthz 200)", f"{time.monotonic() - t:.2f} s")
        nginx = Nginx(work, [r.port for r in replicas])
        nginx.start()

        n_sessions = 40
        put = request(nginx.port, "PUT", f"/api/conferences/{CONF}",
                      body=schedule(CONF, [session_doc(i) for i in range(n_sessions)]), headers=ADMIN)
        require(put.status in (200, 201), f"PUT {CONF} through nginx: {put.status} {put.body[:300]!r}")

        token = {}
        phases = [("1", lambda: token.setdefault("t", check_cross_replica(replicas))),
                  ("2", lambda: check_polling(nginx, args.writes)),
                  ("3", lambda: check_kill(nginx, replicas, args.writes))]
        counter = [0]
        if is_pg and all(os.environ.get(v) for v in ("PGBIN", "PGDATA", "PGHOST", "PGPORT")):
            phases.append(("4", lambda: check_recovery(nginx, replicas, counter, args.writes)))
        else:
            print("== 4. skipped: needs PostgreSQL started by scripts/with-postgres "
                  "(pg_terminate_backend and restarts)" if not is_pg else
                  "== 4. skipped: PGBIN/PGDATA/PGHOST/PGPORT not set (run under scripts/with-postgres)", flush=True)
        phases.append(("5", lambda: check_race(replicas)))
        for name, phase in phases:
            t = time.monotonic()
            phase()
            note(f"part {name} took", f"{time.monotonic() - t:.2f} s")

        # Agenda tokens never reach nginx's access log.
        for method, path in (("GET", f"/agendas/{token['t']}.ics"), ("PUT", f"/api/agendas/{token['t']}/sessions/{CONF}/s012"),
                             ("GET", f"/api/agendas/{token['t']}")):
            resp = request(nginx.port, method, path)
            check(resp.status in (200, 201, 204), f"{method} {path.replace(token['t'], '<token>')} through nginx: {resp.status}")
        nginx.stop()  # flushes the access log
        with open(nginx.access_log) as f:
            logged = f.read()
        check("/agendas/<token>" in logged, "nginx's access log has no masked agenda path")
        check(not re.search(r"/agendas/[A-Za-z0-9_-]{43}", logged), "nginx's access log holds an agenda token")
        for r in replicas:
            check(r.proc.poll() is None, f"replica {r.n} exited during the run:\n{r.log_tail()}")
    finally:
        if nginx:
            nginx.stop()
        for r in replicas:
            r.stop()
        if failures and nginx:
            print("nginx error log (last lines):\n" + nginx.error_log()[-2000:], flush=True)
        if args.keep or failures:
            print(f"check_replicas: logs kept in {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    note("whole run", f"{time.monotonic() - t_all:.1f} s")
    if failures:
        print(f"check_replicas: {len(failures)} checks FAILED", flush=True)
        sys.exit(1)
    print("check_replicas: all checks passed", flush=True)


if __name__ == "__main__":
    main()
