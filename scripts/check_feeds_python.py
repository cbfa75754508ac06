#!/usr/bin/env python3
"""Check confcal's served iCalendar feeds with the `icalendar` PyPI package.

Why this exists: a feed is correct only when independent implementations
read from it the same instants we meant.  expected_instants.py says what we
meant (from the schedule documents, via zoneinfo); this script fetches
{BASE_URL}/conferences/{slug}/sessions.ics for every conference in it, parses
the feed with icalendar 6.x, and resolves every DTSTART/DTEND *with the
feed's own VTIMEZONE* (Timezone.to_tz(lookup_tzid=False), never the system
zone database), or as UTC for values ending in "Z".

Every expected session must appear exactly once (UID "{id}.{conference}@..."),
with the same start and end instants, and no other event may appear.

Usage: scripts/check_feeds_python.py EXPECTED.json BASE_URL
Needs: pip install 'icalendar>=6.1,<7' tzdata
"""
import json
import sys
import urllib.request
from collections import defaultdict
from datetime import datetime, timezone

from icalendar import Calendar

LABEL = "python-icalendar"


def own_timezones(cal):
    """TZID -> tzinfo built from this calendar's VTIMEZONE components only."""
    zones = {}
    for vtz in cal.walk("VTIMEZONE"):
        try:
            zones[str(vtz["TZID"])] = vtz.to_tz(lookup_tzid=False)
        except TypeError:  # icalendar 6.0: to_tz() always builds from the component
            zones[str(vtz["TZID"])] = vtz.to_tz()
    return zones


def instant(event, name, zones):
    """UTC datetime of DTSTART/DTEND, or raise ValueError saying why not."""
    prop = event.get(name)
    if prop is None:
        raise ValueError(f"no {name}")
    raw = prop.to_ical().decode()
    value = prop.dt
    if not isinstance(value, datetime):
        raise ValueError(f"{name} is a {type(value).__name__}, not a date-time: {raw}")
    tzid = prop.params.get("TZID")
    if tzid is not None:
        if tzid not in zones:
            raise ValueError(f"{name};TZID={tzid} has no VTIMEZONE in the calendar")
        local = value.replace(tzinfo=None)  # the wall-clock value as written
        return local.replace(tzinfo=zones[tzid]).astimezone(timezone.utc)
    if raw.endswith("Z"):
        return value.astimezone(timezone.utc)
    raise ValueError(f"{name} is floating (neither TZID nor UTC): {raw}")


def z(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_conference(base, conf, expected, problems):
    """Return the number of expected sessions of `conf` that matched."""
    url = f"{base.rstrip('/')}/conferences/{conf}/sessions.ics"
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            cal = Calendar.from_ical(resp.read())
    except Exception as exc:  # unreachable, HTTP error, unparsable
        for sid in expected:
            problems.append(f"{conf}/{sid}: feed {url} unusable: {exc}")
        return 0
    if "X-WR-TIMEZONE" not in cal:
        problems.append(f"{conf}: calendar has no X-WR-TIMEZONE")
    zones = own_timezones(cal)
    seen = defaultdict(list)
    for event in cal.walk("VEVENT"):
        uid = str(event.get("UID", ""))
        key, at, _host = uid.partition("@")
        if not at or not key.endswith("." + conf) or key[: -len(conf) - 1] not in expected:
            problems.append(f"{conf}: unexpected event UID {uid!r}")
            continue
        seen[key[: -len(conf) - 1]].append(event)
    passed = 0
    for sid, (want_start, want_end) in expected.items():
        events = seen.get(sid, [])
        if len(events) != 1:
            problems.append(f"{conf}/{sid}: found {len(events)} events, expected exactly 1")
            continue
        try:
            start = instant(events[0], "DTSTART", zones)
            end = instant(events[0], "DTEND", zones)
        except Exception as exc:
            problems.append(f"{conf}/{sid}: {exc}")
            continue
        if (z(start), z(end)) != (want_start, want_end):
            problems.append(f"{conf}/{sid}: read {z(start)}..{z(end)}, "
                            f"expected {want_start}..{want_end}")
            continue
        passed += 1
    return passed


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    with open(argv[0], encoding="utf-8") as f:
        rows = json.load(f)
    by_conf = defaultdict(dict)
    for row in rows:
        by_conf[row["conference"]][row["id"]] = (row["start_utc"], row["end_utc"])
    problems = []
    passed = sum(check_conference(argv[1], conf, exp, problems) for conf, exp in by_conf.items())
    for line in problems:
        print(line)
    failed = len(problems)
    print(f"{LABEL}: {passed} passed, {failed} failed")
    return 1 if failed or passed != len(rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
