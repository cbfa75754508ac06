#!/usr/bin/env python3
"""Check confcal's served iCalendar feeds with libical (C).

Why this exists: libical is a fourth independent reader, and the one most
desktop and server calendars are built on.  check_feeds_libical.c (compiled
by check-feeds) prints, for one .ics file, every VEVENT's UID and UTC start
and end as libical reads them with the file's own VTIMEZONE; this script
fetches every feed of the plan (feed_plan.py), runs that program on it and
holds its output to feedcheck.py's contract.

Usage: scripts/check_feeds_libical.py DUMP_PROGRAM PLAN.json
Needs: apt-get install libical-dev gcc pkg-config
"""
import subprocess
import sys
import tempfile
from datetime import datetime, timezone

from feedcheck import main, z

LABEL = "libical"


def dumper(program):
    def read_feed(body, complain):
        with tempfile.NamedTemporaryFile(suffix=".ics") as f:
            f.write(body)
            f.flush()
            out = subprocess.run([program, f.name], capture_output=True, text=True,
                                 check=True).stdout
        events = []
        for line in out.splitlines():
            uid, start, end = line.split("\t")
            if start == "ERROR" and not uid:
                complain(end)
            elif start == "ERROR":
                events.append((uid, end))
            else:
                events.append((uid, tuple(z(datetime.fromtimestamp(int(t), timezone.utc))
                                          for t in (start, end))))
        return events
    return read_feed


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(LABEL, dumper(sys.argv[1]), sys.argv[2:], __doc__))
