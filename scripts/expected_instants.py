#!/usr/bin/env python3
"""Compute the UTC instants that confcal's feeds are meant to contain.

Why this exists: an iCalendar feed is correct only when independent
implementations read from it the same instants we meant.  This script says
what we meant, without any of the Rust code: it reads schedule documents
(data/*.json, tests/fixtures/*.json) and resolves every session's start and
end with Python's zoneinfo (which falls back to the `tzdata` pip package when
the system has no zone database).  feed_plan.py turns its output into the
list of served feeds to check, and the check_feeds_* readers compare what
they read from those feeds against it.

Rules, failing loudly when a document breaks them:
  * "2012-11-04T01:30-07:00" (explicit offset) is taken at that offset, and the
    offset must be one the zone really uses at that wall-clock time;
  * "2012-03-09T14:00" (no offset) must exist in the zone and be unambiguous;
    a time in a spring-forward gap or a fall-back overlap is an error;
  * a session must end after it starts.

Usage: scripts/expected_instants.py DOC.json [DOC.json ...] > expected.json
Output: [{"conference", "id", "start_utc", "end_utc"}, ...] with "...Z" times.
"""
import json
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def fail(msg):
    sys.exit(f"expected_instants: {msg}")


def exists(local, zone, fold):
    """True when wall-clock `local` (naive) exists in `zone` with this fold."""
    aware = local.replace(tzinfo=zone, fold=fold)
    back = aware.astimezone(timezone.utc).astimezone(zone)
    return back.replace(tzinfo=None) == local


def to_utc(value, zone, where):
    dt = datetime.fromisoformat(value)
    local = dt.replace(tzinfo=None)
    if dt.tzinfo is not None:
        offset = dt.utcoffset()
        if not any(exists(local, zone, f) and
                   local.replace(tzinfo=zone, fold=f).utcoffset() == offset
                   for f in (0, 1)):
            fail(f"{where}: {value}: {zone.key} does not use that offset at that wall-clock time")
        return dt.astimezone(timezone.utc)
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        kind = "occurs twice (fall-back)" if exists(local, zone, 0) else "does not exist (spring-forward gap)"
        fail(f"{where}: {value} {kind} in {zone.key}; give an explicit offset")
    return first.astimezone(timezone.utc)


def iso_z(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def main(paths):
    if not paths:
        sys.exit(__doc__)
    out = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        conf = doc["conference"]
        zone = ZoneInfo(conf["timezone"])
        for s in doc["sessions"]:
            where = f"{path}: {conf['slug']}/{s['id']}"
            start = to_utc(s["start"], zone, where + " start")
            end = to_utc(s["end"], zone, where + " end")
            if end <= start:
                fail(f"{where}: does not end ({iso_z(end)}) after it starts ({iso_z(start)})")
            if any(o["conference"] == conf["slug"] and o["id"] == s["id"] for o in out):
                fail(f"{where}: duplicate session id")
            out.append({"conference": conf["slug"], "id": s["id"],
                        "start_utc": iso_z(start), "end_utc": iso_z(end)})
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
