#!/usr/bin/env python3
"""Slow uploads against a server with few file descriptors.

Starts the release binary under `prlimit --nofile=N:N` (default 1,024, the
common default), opens CONNS (default 1,100) uploads to `POST /agendas/star`
that pass every check the head allows (a well-formed CSRF cookie, no
Origin, 100 bytes declared), sends 6 bytes of each and then one byte every
2 s, and meanwhile starts a fresh `/healthz` probe every second. Prints what
the slow uploads got (status, when), how long the probes waited, and the
server's open descriptors. The slow clients come from 40 loopback addresses
(127.0.1.1-40), as many clients would, so the per-address limit on agenda
token paths does not turn them away first.

    python3 bench/slow_uploads.py                        # the default deadline
    python3 bench/slow_uploads.py --body-timeout-ms 600000   # ten minutes: as before it

Nothing is asserted: it measures. Needs Linux (/proc, prlimit).
"""

import argparse
import os
import selectors
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CSRF = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
HEAD = (
    "POST /agendas/star HTTP/1.1\r\nHost: localhost\r\n"
    f"Cookie: confcal_csrf={CSRF}\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n"
    "Content-Length: 100\r\n\r\ncsrf=x"
).encode()
SOURCES = 40


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def probe(port, began, results):
    t = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=120)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        line = s.makefile("rb").readline().decode(errors="replace").strip()
        s.close()
        status = line[9:12] if line.startswith("HTTP/1.1 ") else f"closed: {line!r}"
    except OSError as e:
        status = f"error: {e}"
    results.append((t - began, time.monotonic() - t, status))


def fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/confcal")
    ap.add_argument("--conns", type=int, default=1100)
    ap.add_argument("--nofile", type=int, default=1024)
    ap.add_argument("--body-timeout-ms", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=40.0, help="how long to watch")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="confcal-slow-")
    port = free_port()
    cmd = [
        "prlimit", f"--nofile={args.nofile}:{args.nofile}", args.binary, "serve",
        "--addr", f"127.0.0.1:{port}", "--db", os.path.join(tmp, "db"), "--data-dir", "data",
    ]
    if args.body_timeout_ms is not None:
        cmd += ["--body-timeout-ms", str(args.body_timeout_ms)]
    log = open(os.path.join(tmp, "server.log"), "w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.5)
        if server.poll() is not None:
            log.flush()
            sys.exit("the server did not start:\n" + open(os.path.join(tmp, "server.log")).read())
        print("command:", " ".join(cmd))
        print(f"server fds at rest: {fds(server.pid)}")
        run(args, port, server, tmp)
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    errors = sum("Too many open files" in l for l in open(os.path.join(tmp, "server.log")))
    print(f"server log lines naming 'Too many open files': {errors}")


def run(args, port, server, tmp):
    sel = selectors.DefaultSelector()
    began = time.monotonic()
    conns = {}
    for i in range(args.conns):
        s = socket.socket()
        s.bind((f"127.0.1.{1 + i % SOURCES}", 0))
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        conns[s] = {"sent": 0, "answer": None, "when": None}
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ)
    probes = []
    fd_samples = []
    next_probe = began
    next_trickle = began + 2
    deadline = began + args.seconds
    while time.monotonic() < deadline:
        now = time.monotonic()
        if now >= next_probe:
            threading.Thread(target=probe, args=(port, began, probes), daemon=True).start()
            fd_samples.append((now - began, fds(server.pid)))
            next_probe += 1
        for key, ev in sel.select(timeout=0.1):
            s, c = key.fileobj, conns[key.fileobj]
            if ev & selectors.EVENT_READ:
                try:
                    data = s.recv(4096)
                except OSError as e:
                    data, c["answer"] = b"", f"error: {e.strerror}"
                if c["answer"] is None:
                    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
                    c["answer"] = line[9:12] if line.startswith("HTTP/1.1 ") else "closed"
                c["when"] = time.monotonic() - began
                sel.unregister(s)
                s.close()
            elif ev & selectors.EVENT_WRITE and c["sent"] == 0:
                try:
                    s.send(HEAD)
                    c["sent"] = 1
                    sel.modify(s, selectors.EVENT_READ)
                except BlockingIOError:
                    pass
                except OSError as e:
                    c["answer"], c["when"] = f"error: {e.strerror}", time.monotonic() - began
                    sel.unregister(s)
                    s.close()
        if now >= next_trickle:
            next_trickle += 2
            for s, c in conns.items():
                if c["answer"] is None and c["sent"]:
                    try:
                        s.send(b"x")
                    except OSError:
                        pass
        answered = [c["when"] for c in conns.values() if c["answer"] is not None]
        if len(answered) == len(conns) and now - began > max(answered) + 5:
            break  # every upload answered, and five probes since
    started = len(fd_samples)
    time.sleep(1)
    report(args, conns, list(probes), started, fd_samples)
    for s in list(conns):
        if conns[s]["answer"] is None:
            s.close()


def report(args, conns, probes, started, fd_samples):
    by = {}
    for c in conns.values():
        by.setdefault(c["answer"] or "no answer (still held)", []).append(c["when"])
    print(f"slow uploads: {args.conns}")
    for answer, whens in sorted(by.items(), key=lambda kv: -len(kv[1])):
        ws = [w for w in whens if w is not None]
        span = f", at {min(ws):.1f}-{max(ws):.1f} s (median {statistics.median(ws):.1f} s)" if ws else ""
        print(f"  {answer}: {len(whens)}{span}")
        if ws:
            per = {}
            for w in ws:
                per[int(w)] = per.get(int(w), 0) + 1
            print("    by second: " + ", ".join(f"{k} s: {v}" for k, v in sorted(per.items())))
    ok = [p for p in probes if p[2] == "200"]
    print(f"/healthz probes, one started a second: {started}")
    if ok:
        waits = sorted(p[1] for p in ok)
        print(
            f"  200: {len(ok)}; waited min {waits[0]:.2f} s, median {statistics.median(waits):.2f} s, "
            f"max {waits[-1]:.2f} s"
        )
    print("  each, started at: waited (status): " + ", ".join(
        f"{t:.0f} s: {w:.1f} s" + ("" if st == "200" else f" ({st})") for t, w, st in sorted(probes)))
    print(f"  still waiting when the run ended: {started - len(probes)}")
    peak = max((n for _, n in fd_samples if n is not None), default=None)
    print(f"server open fds: peak {peak} (limit {args.nofile}); samples (s, fds): "
          + ", ".join(f"{t:.0f}:{n}" for t, n in fd_samples[::4]))


if __name__ == "__main__":
    sys.exit(main())
