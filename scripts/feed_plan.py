#!/usr/bin/env python3
"""List the served feeds the readers must check, with what each must hold.

Why this exists: every kind of feed is rendered with its own VTIMEZONE (a
conference's covers all its sessions, a single talk's only that talk, an
agenda's every zone and year its stars touch), so each kind must be read
back, not just the conference feeds.  From expected_instants.py's output and
the running server this prints a plan for the check_feeds_* readers:

  * every conference's feed, /conferences/{conf}/sessions.ics, with all its
    sessions;
  * every session's own download, /conferences/{conf}/sessions/{id}.ics;
  * OPTION_FEEDS' feeds with reminders and compact descriptions;
  * one agenda, created through the JSON API (POST /api/agendas, then PUT
    /api/agendas/{token}/sessions/{conf}/{id} per star), starring AGENDA:
    sessions of five conferences in four zones, two of them Los Angeles in
    different years (2006's and 2012's US rules in one VTIMEZONE).

Usage: scripts/feed_plan.py EXPECTED.json BASE_URL > plan.json
Output: [{"name", "url", "events": [{"conference", "id", "start_utc", "end_utc"}]}]
"""
import json
import sys
import urllib.request
from collections import defaultdict

AGENDA = [
    ("dst-lab", "sun-morning"), ("dst-lab", "fall-first-0130"), ("dst-lab", "fall-after-repeat"),
    ("la-2006", "mar-morning"), ("la-2006", "sun-after-gap"), ("la-2006", "nov-morning"),
    ("lhi-2012", "sun-second-0140"), ("lhi-2012", "oct-morning"),
    ("sydney-2012", "sun-first-0230"), ("sydney-2012", "oct-after-gap"),
    ("kolkata-2012", "escaping-text"),
    ("berlin-2026", "sat-late"), ("berlin-2026", "oct-fall-back"),
]

# Conferences whose feed is also checked with alarm=10&compact=1.
OPTION_FEEDS = ["berlin-2026", "dst-lab"]


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    with open(argv[0], encoding="utf-8") as f:
        rows = json.load(f)
    base = argv[1].rstrip("/")
    by_conf = defaultdict(list)
    for row in rows:
        by_conf[row["conference"]].append(row)
    plan = []
    for conf, events in by_conf.items():
        name = f"/conferences/{conf}/sessions.ics"
        plan.append({"name": name, "url": base + name, "events": events})
        for e in events:
            name = f"/conferences/{conf}/sessions/{e['id']}.ics"
            plan.append({"name": name, "url": base + name, "events": [e]})

    # Feed options (reminders, compact descriptions) must not change an
    # instant; check_feeds_properties.py reads what they add.
    for conf in OPTION_FEEDS:
        name = f"/conferences/{conf}/sessions.ics?alarm=10&compact=1"
        plan.append({"name": name, "url": base + name, "events": by_conf[conf]})

    token = call("POST", f"{base}/api/agendas", {"name": "check-feeds: mixed zones"})["token"]
    starred = []
    for conf, sid in AGENDA:
        row = next((e for e in by_conf[conf] if e["id"] == sid), None)
        if row is None:
            sys.exit(f"feed_plan: AGENDA names {conf}/{sid}, which no schedule document has")
        call("PUT", f"{base}/api/agendas/{token}/sessions/{conf}/{sid}")
        starred.append(row)
    plan.append({"name": "/agendas/<token>.ics", "url": f"{base}/agendas/{token}.ics",
                 "events": starred})
    json.dump(plan, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
