"""Imports every real published schedule in ../shared/real-schedules with
the real binary, serves the database, and checks what the JSON API answers
against what this script reads from each file by itself (xml.etree, json,
datetime, zoneinfo and the `icalendar` package: nothing of confcal's):

- one session per event of the file;
- every session's start and end are the instants the file says, and its
  title, room and language are the file's (white space collapsed);
- an event of no length is one in its .ics too (DTSTART, no DTEND);
- a second import of the same file changes nothing: the report says all
  unchanged, and the feed's and the API's ETags stay the same;
- the warnings name what is odd about the file (DebConf23's UTC dates in
  an Asia/Kolkata schedule, DemoCon's "UTC" with +01:00, ...).

Every file of the directory must be either imported here or listed as a
format confcal does not read (and then its import must fail, saying why).

Usage: check_imports.py CONFCAL_BINARY SCHEDULES_DIR
"""

import collections
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import icalendar

UTC = dt.timezone.utc

# file, slug, --timezone (None: the file's own), and substrings that must
# appear in the import's warnings, each with how many warnings must hold
# it (None: at least one). Zones the files lack are the venue's, as
# SOURCES.md infers them.
FILES = [
    ("frab-31c3.schedule.xml", "31c3", "Europe/Berlin", []),
    ("frab-cccamp2019.schedule.json", "camp2019", None, []),
    ("pretalx-rc3-2020.schedule.json", "rc3-2020", "Europe/Berlin", []),
    (
        "pretalx-democon.schedule.json",
        "democon",
        None,
        # 36 events, and each of its 3 days' bounds.
        [("but UTC is at +00:00 then", 39), ("the full date was taken", 36)],
    ),
    ("hub-schedule2-example.json", "hub-38c3-example", None, []),
    (
        "ccc-36c3-voc-merged.schedule.xml",
        "36c3",
        "Europe/Berlin",
        # Three events listed under the last day, dated the day after it.
        [("\"Iron Curtis\": its day 2019-12-30 and <start> 00:00 say", 1)],
    ),
    (
        "ccc-38c3-hub.schedule.xml",
        "38c3",
        None,
        # Day 1's start and day 4's end are written in UTC.
        [("day 2024-12-27: its start 2024-12-27T09:30:00+00:00 is written with the offset +00:00", 1),
         ("day 2024-12-30: its end 2024-12-30T17:45:00+00:00", 1)],
    ),
    (
        "ccc-39c3-hub.schedule.xml",
        "39c3-hub",
        None,
        [("day 2025-12-27: its start 2025-12-27T09:00:00+00:00 is written with the offset +00:00", 1)],
    ),
    ("ccc-39c3-voc-everything.schedule.json", "39c3", None, []),
    (
        "ccc-39c3-voc-blockshifts.schedule.xml",
        "39c3-blockshifts",
        # The venue is Hamburg; the file says Europe/Amsterdam.
        "Europe/Berlin",
        [("the schedule says its zone is \"Europe/Amsterdam\"", 1)],
    ),
    (
        "fosdem-2007.schedule.xml",
        "fosdem-2007",
        "Europe/Brussels",
        [("its link \"../../slides/", None)],
    ),
    ("fosdem-2023.schedule.xml", "fosdem-2023", "Europe/Brussels", []),
    ("fosdem-2026.schedule.xml", "fosdem-2026", None, []),
    (
        "wafer-debconf23.pentabarf.xml",
        "debconf23",
        None,
        # 117 events, and 8 days whose bounds are in UTC too.
        [
            ("is written with the offset +00:00, but Asia/Kolkata is at +05:30 then", 125),
            ("warning: day 2023-09-09: its start 2023-09-09T21:30:00+00:00", 1),
        ],
    ),
    ("lca2020.conference.ics", "lca2020", None, []),
    ("sessionize-global-azure-austria-2024.all.json", "global-azure-austria-2024", "Europe/Vienna", []),
    ("sessionize-qa-or-the-highway-2026.all.json", "qa-or-the-highway-2026", "America/New_York", []),
]

# Files in a format confcal does not read, and what its refusal must say.
NOT_READ = {
    # SCaLE's Drupal Views feed: <nodes> of HTML fragments, not frab.
    "scale16x-drupal.sign.xml": "root element is <nodes>",
}


def norm(s):
    return " ".join((s or "").split())


def lang(s):
    """`de, EN` as confcal keeps it (`de, en`); None when none, or not tags."""
    tags = []
    for t in (s or "").split(","):
        t = t.strip().lower()
        if not t:
            continue
        if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{1,8})*", t):
            return None
        if t not in tags:
            tags.append(t)
    return ", ".join(tags) or None


def room(s):
    return norm(s) or None


def duration(s):
    parts = s.strip().split(":")
    n = [int(p) for p in parts]
    if len(n) == 2:
        return dt.timedelta(hours=n[0], minutes=n[1])
    if len(parts[0]) == 1:  # pretalx: days, hours, minutes
        return dt.timedelta(days=n[0], hours=n[1], minutes=n[2])
    return dt.timedelta(hours=n[0], minutes=n[1], seconds=n[2])


def aware(value, zone):
    t = dt.datetime.fromisoformat(value)
    if t.tzinfo is None:
        t = t.replace(tzinfo=zone)
        assert t.utcoffset() == t.replace(fold=1).utcoffset(), f"{value} is ambiguous in {zone}"
    return t.astimezone(UTC)


def frab_xml(path, zone):
    root = ET.parse(path).getroot()
    conf = root.find("conference")
    change = conf.findtext("day_change") if conf is not None else None
    change = dt.time.fromisoformat(change) if change else None
    out = []
    for day in root.findall("day"):
        events = day.findall("event") + [e for r in day.findall("room") for e in r.findall("event")]
        for e in events:
            date = (e.findtext("date") or "").strip()
            if date:
                start = aware(date, zone)
            else:
                clock = dt.time.fromisoformat(e.findtext("start").strip())
                d = dt.date.fromisoformat(day.get("date"))
                if change and clock < change:
                    d += dt.timedelta(days=1)
                start = aware(dt.datetime.combine(d, clock).isoformat(), zone)
            where = room(e.findtext("room")) or room(e.get("room")) or room(
                next((r.get("name") for r in day.findall("room") if e in list(r)), None)
            )
            out.append(
                (
                    start,
                    start + duration(e.findtext("duration")),
                    norm(e.findtext("title")),
                    where,
                    lang(e.findtext("language")),
                )
            )
    return out


def frab_json(path, zone):
    s = json.load(open(path, encoding="utf-8"))["schedule"]
    if "events" in s:  # c3voc schedule2
        return [
            (
                aware(e["start"], zone),
                aware(e["end"], zone),
                norm(e["title"]),
                room((e.get("room") or {}).get("name")),
                lang(e.get("language")),
            )
            for e in s["events"]
        ]
    out = []
    for day in s["conference"]["days"]:
        for name, events in day["rooms"].items():
            for e in events:
                start = aware(e["date"], zone)
                out.append(
                    (
                        start,
                        start + duration(e["duration"]),
                        norm(e["title"]),
                        room(e.get("room")) or room(name),
                        lang(e.get("language")),
                    )
                )
    return out


def sessionize(path, zone):
    s = json.load(open(path, encoding="utf-8"))
    rooms = {r["id"]: r["name"] for r in s["rooms"]}
    return [
        (
            aware(x["startsAt"], zone),
            aware(x["endsAt"], zone),
            norm(x["title"]),
            room(rooms.get(x.get("roomId"))),
            None,
        )
        for x in s["sessions"]
    ]


def ics(path, zone):
    cal = icalendar.Calendar.from_ical(open(path, "rb").read())
    out = []
    for e in cal.walk("VEVENT"):
        start = e["DTSTART"].dt
        end = e["DTEND"].dt if "DTEND" in e else start
        assert start.tzinfo is not None, "the real file's times are zoned"
        out.append(
            (
                start.astimezone(UTC),
                end.astimezone(UTC),
                norm(str(e.get("SUMMARY", ""))),
                room(str(e.get("LOCATION", ""))),
                None,
            )
        )
    return out


def expected(path, zone):
    name = os.path.basename(path)
    if name.endswith(".ics"):
        return ics(path, zone)
    if name.endswith(".xml"):
        return frab_xml(path, zone)
    if name.startswith("sessionize"):
        return sessionize(path, zone)
    return frab_json(path, zone)


def file_zone(path):
    """The zone the file names, for times it writes without an offset."""
    name = os.path.basename(path)
    if name.endswith(".xml"):
        conf = ET.parse(path).getroot().find("conference")
        return conf.findtext("time_zone_name") if conf is not None else None
    if name.endswith(".json") and not name.startswith("sessionize"):
        return json.load(open(path, encoding="utf-8"))["schedule"]["conference"].get("time_zone_name")
    return None


def run(binary, db, args):
    p = subprocess.run(
        [binary, "--db", db, "import", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    return p.returncode, p.stdout, p.stderr


COUNTS = re.compile(
    r": (\d+) created, (\d+) updated, (\d+) cancelled, (\d+) unchanged, (\d+) warnings$", re.M
)


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.headers, r.read()


def main():
    binary, folder = sys.argv[1], sys.argv[2]
    listed = {f for f, *_ in FILES} | set(NOT_READ)
    present = {f for f in os.listdir(folder) if os.path.isfile(os.path.join(folder, f))}
    present.discard("SOURCES.md")
    failures = []
    if present != listed:
        failures.append(
            f"files not in this script's list: {sorted(present - listed)}; "
            f"listed but missing: {sorted(listed - present)}"
        )
    work = tempfile.mkdtemp()
    db = os.path.join(work, "c.db")
    rows = []
    firsts = {}
    for name, slug, tz, wanted in FILES:
        path = os.path.join(folder, name)
        args = ["--conference", slug] + (["--timezone", tz] if tz else []) + [path]
        code, out, err = run(binary, db, args)
        if code != 0:
            failures.append(f"{name}: import failed: {err.strip()}")
            continue
        m = COUNTS.search(out)
        created, warnings = int(m.group(1)), int(m.group(5))
        warning_lines = [l for l in out.splitlines() if l.startswith("  warning: ")]
        if len(warning_lines) != warnings:
            failures.append(f"{name}: {warnings} warnings counted, {len(warning_lines)} printed")
        for needle, count in wanted:
            n = sum(needle in l for l in warning_lines)
            if (count is None and n == 0) or (count is not None and n != count):
                failures.append(f"{name}: {n} warnings say {needle!r}, expected {count or 'some'}")
        firsts[name] = (slug, tz, args, created, warnings)

    # The files' own instants, read here.
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    addr = f"127.0.0.1:{port.getsockname()[1]}"
    port.close()
    server = subprocess.Popen(
        [binary, "--db", db, "serve", "--addr", addr, "--data-dir", os.path.join(work, "none")],
        env={**os.environ, "RUST_LOG": "warn"},
    )
    base = f"http://{addr}"
    try:
        for _ in range(200):
            try:
                get(base + "/api/conferences")
                break
            except OSError:
                time.sleep(0.05)
        for name, slug, tz, wanted in FILES:
            if name not in firsts:
                continue
            _, _, args, created, warnings = firsts[name]
            path = os.path.join(folder, name)
            zone_name = tz or file_zone(path)
            zone = ZoneInfo(zone_name) if zone_name else UTC
            want = expected(path, zone)
            _, body = get(f"{base}/api/conferences/{slug}/sessions")
            got_json = json.loads(body)
            got = [
                (
                    dt.datetime.fromisoformat(s["start"]).astimezone(UTC),
                    dt.datetime.fromisoformat(s["end"]).astimezone(UTC),
                    norm(s["title"]),
                    s["room"],
                    s["language"],
                )
                for s in got_json["sessions"]
            ]
            problems = []
            if created != len(want):
                problems.append(f"{created} created for {len(want)} events")
            if len(got) != len(want):
                problems.append(f"{len(got)} sessions served for {len(want)} events")
            missing = collections.Counter(want) - collections.Counter(got)
            extra = collections.Counter(got) - collections.Counter(want)
            if missing or extra:
                problems.append(
                    f"{sum(missing.values())} events not served as the file says, e.g. "
                    f"{list(missing)[:2]}; served instead: {list(extra)[:2]}"
                )
            feed = f"{base}/conferences/{slug}/sessions.ics"
            api = f"{base}/api/conferences/{slug}/sessions"
            tags = (get(feed)[0]["ETag"], get(api)[0]["ETag"])
            code, out, err = run(binary, db, args)
            m = COUNTS.search(out) if code == 0 else None
            if not m or m.groups()[:4] != ("0", "0", "0", str(len(want))):
                problems.append(f"the second import changed something: {out.splitlines()[:1]} {err}")
            if (get(feed)[0]["ETag"], get(api)[0]["ETag"]) != tags:
                problems.append("the second import changed the feed's or the API's ETag")
            zero = sum(1 for s, e, *_ in got if s == e)
            # An event of no length: its own .ics read by `icalendar` is one
            # event that ends when it starts (DTSTART alone, RFC 5545 §3.6.1).
            for s in got_json["sessions"]:
                if s["start"] != s["end"]:
                    continue
                _, body = get(s["ics_url"])
                events = icalendar.Calendar.from_ical(body).walk("VEVENT")
                start = dt.datetime.fromisoformat(s["start"]).astimezone(UTC)
                if (
                    len(events) != 1
                    or "DTEND" in events[0]
                    or events[0].start.astimezone(UTC) != start
                    or events[0].end.astimezone(UTC) != start
                ):
                    problems.append(f"{s['ics_url']} is not one event of no length at {start}")
            rows.append((name, len(want), len(got), warnings, zero, "ok" if not problems else "FAILED"))
            failures += [f"{name}: {p}" for p in problems]
    finally:
        server.terminate()
        server.wait(10)

    for name, needle in NOT_READ.items():
        code, out, err = run(binary, db, ["--conference", "not-read", "--timezone", "UTC",
                                          os.path.join(folder, name)])
        if code == 0 or needle not in err:
            failures.append(f"{name}: expected a refusal saying {needle!r}, got {code} {err.strip()}")
        else:
            rows.append((name, "-", "-", "-", "-", "refused: " + needle))

    print(f"{'file':48} {'events':>6} {'sessions':>8} {'warnings':>8} {'0-length':>8}  result")
    for r in rows:
        print(f"{r[0]:48} {r[1]:>6} {r[2]:>8} {r[3]:>8} {r[4]:>8}  {r[5]}")
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
