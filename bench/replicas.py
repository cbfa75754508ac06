#!/usr/bin/env python3
"""Requests/s of three feeds, through one replica and through nginx over
three, on one database: bench/run.sh runs it on an SQLite file and on
PostgreSQL (under scripts/with-postgres) and prints their ratio.

    bench/replicas.py BIN DB SCHEDULE.json --seconds S --conns C

DB is an SQLite file or a postgres:// URL; SCHEDULE.json a document from
`confcal generate` (conference bench-conf), PUT through the admin API. The
replicas and nginx are the multi-replica test's (scripts/check_replicas.py,
deploy/nginx/confcal.conf). Prints `key value` lines:
whole_one, filtered_one, agenda_one, whole_nginx, filtered_nginx,
agenda_nginx (requests/s). Nothing is asserted.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))
import check_replicas as cr  # noqa: E402


def rps(port, path, seconds, conns):
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "-H", "Accept-Encoding: identity",
                          f"http://127.0.0.1:{port}{path}"], check=True, capture_output=True, text=True).stdout
    return re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("db")
    ap.add_argument("schedule")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--conns", type=int, default=32)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="confcal-bench-replicas.")
    os.makedirs(os.path.join(work, "no-data"))
    os.environ["RUST_LOG"] = "warn"
    replicas = [cr.Replica(n, args.bin, args.db, work) for n in range(3)]
    nginx = None
    try:
        for r in replicas:
            r.start()
        for r in replicas:
            r.wait_ready()
        nginx = cr.Nginx(work, [r.port for r in replicas])
        nginx.start()
        with open(args.schedule) as f:
            doc = json.load(f)
        one = replicas[0].port
        put = cr.request(one, "PUT", "/api/conferences/bench-conf", body=doc, headers=cr.ADMIN, timeout=300)
        if put.status not in (200, 201):
            raise SystemExit(f"PUT bench-conf: {put.status} {put.body[:300]!r}")
        # The same agenda as bench/run.sh's: 50 stars, every fifth session.
        agenda = cr.request(one, "POST", "/api/agendas")
        token = json.loads(agenda.body)["token"]
        for i in range(50):
            cr.request(one, "PUT", f"/api/agendas/{token}/sessions/bench-conf/s{i * 5:06d}")
        first_day = doc["sessions"][0]["start"][:10]
        paths = {
            "whole": "/conferences/bench-conf/sessions.ics",
            "filtered": f"/conferences/bench-conf/sessions.ics?day={first_day}&room=Room%2001",
            "agenda": f"/agendas/{token}.ics",
        }
        for name, path in paths.items():
            for r in replicas:  # warm each replica's cache, as a running service has
                cr.request(r.port, "GET", path, headers={"Accept-Encoding": "identity"})
            print(f"{name}_one {rps(one, path, args.seconds, args.conns)}", flush=True)
            print(f"{name}_nginx {rps(nginx.port, path, args.seconds, args.conns)}", flush=True)
    finally:
        if nginx:
            nginx.stop()
        for r in replicas:
            r.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
