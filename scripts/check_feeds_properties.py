#!/usr/bin/env python3
"""Check, with an independent parser, what a feed says besides its times.

Why this exists: the other check_feeds_* readers prove the instants; this
one proves, with the `icalendar` PyPI package, the properties that calendar
apps act on, against the schedule documents themselves (not our output):

  * LOCATION is "room, venue, address"; with `geo`, GEO is the conference's
    point and X-APPLE-STRUCTURED-LOCATION is `geo:lat,lon` whose X-TITLE
    parameter equals LOCATION exactly (Apple shows the map only then);
  * the calendar's X-APPLE-CALENDAR-COLOR is the document's `color`, and
    COLOR is a CSS3 colour name (RFC 7986 §5.9), not a hex value;
  * every link of a session is in its DESCRIPTION (full feeds);
  * a feed asked for `alarm=N` has exactly one VALARM per event, ACTION
    DISPLAY with a DESCRIPTION and TRIGGER -PT{N}M; a feed not asked for one
    has none; a `compact=1` feed lists no links.

Usage: scripts/check_feeds_properties.py BASE_URL DOC.json [DOC.json ...]
Needs: pip install 'icalendar>=6.1,<7'
"""
import json
import sys
import urllib.request
from datetime import timedelta

from icalendar import Calendar

LABEL = "properties (python-icalendar)"
CSS3_SAMPLE = {"dodgerblue", "black", "white", "red", "turquoise"}


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as resp:
        return Calendar.from_ical(resp.read())


def check_feed(cal, doc, alarm, compact, fail):
    conf = doc["conference"]
    sessions = {s["id"]: s for s in doc["sessions"]}
    color = conf.get("color")
    if color:
        if str(cal.get("X-APPLE-CALENDAR-COLOR")) != color:
            fail(f"X-APPLE-CALENDAR-COLOR {cal.get('X-APPLE-CALENDAR-COLOR')!r} != {color}")
        css = str(cal.get("COLOR", ""))
        if not css.isalpha():
            fail(f"COLOR {css!r} is not a CSS3 colour name")
    events = list(cal.walk("VEVENT"))
    if len(events) != len(sessions):
        fail(f"{len(events)} events for {len(sessions)} sessions")
    for ev in events:
        sid = str(ev["UID"]).split(".")[0]
        s = sessions.get(sid)
        if s is None:
            fail(f"unexpected event {ev['UID']}")
            continue
        where = f"{conf['slug']}/{sid}"
        parts = [p for p in (s.get("room"), conf.get("venue"), conf.get("address")) if p]
        want_location = ", ".join(parts) if parts else None
        got_location = str(ev["LOCATION"]) if "LOCATION" in ev else None
        if got_location != want_location:
            fail(f"{where}: LOCATION {got_location!r} != {want_location!r}")
        geo = conf.get("geo")
        if geo:
            g = ev.get("GEO")
            if g is None or abs(g.latitude - geo["lat"]) > 1e-9 or abs(g.longitude - geo["lon"]) > 1e-9:
                fail(f"{where}: GEO {g!r} != {geo}")
            sl = ev.get("X-APPLE-STRUCTURED-LOCATION")
            if sl is None:
                fail(f"{where}: no X-APPLE-STRUCTURED-LOCATION")
            else:
                uri = str(sl)
                if uri != f"geo:{geo['lat']},{geo['lon']}":
                    fail(f"{where}: X-APPLE-STRUCTURED-LOCATION {uri!r}")
                if sl.params.get("X-TITLE") != want_location:
                    fail(f"{where}: X-TITLE {sl.params.get('X-TITLE')!r} != LOCATION {want_location!r}")
        description = str(ev.get("DESCRIPTION", ""))
        for link in s.get("links", []):
            present = link["url"] in description
            if present == compact:
                fail(f"{where}: link {link['url']} {'in' if present else 'missing from'} "
                     f"the {'compact' if compact else 'full'} DESCRIPTION")
        alarms = list(ev.walk("VALARM"))
        if alarm is None:
            if alarms:
                fail(f"{where}: a VALARM nobody asked for")
        elif len(alarms) != 1:
            fail(f"{where}: {len(alarms)} VALARMs for alarm={alarm}")
        else:
            a = alarms[0]
            if str(a.get("ACTION")) != "DISPLAY" or not str(a.get("DESCRIPTION", "")):
                fail(f"{where}: VALARM must be ACTION:DISPLAY with a DESCRIPTION")
            if a["TRIGGER"].dt != timedelta(minutes=-alarm):
                fail(f"{where}: TRIGGER {a['TRIGGER'].to_ical()!r} for alarm={alarm}")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    base = argv[0].rstrip("/")
    passed = failed = 0
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        slug = doc["conference"]["slug"]
        for query, alarm, compact in [("", None, False), ("?alarm=10", 10, False),
                                      ("?alarm=10&compact=1", 10, True)]:
            name = f"/conferences/{slug}/sessions.ics{query}"
            errors = []
            check_feed(fetch(base + name), doc, alarm, compact, errors.append)
            if errors:
                failed += 1
                for e in errors:
                    print(f"{LABEL}: FAIL {name}: {e}")
            else:
                passed += 1
    print(f"{LABEL}: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
