#!/usr/bin/env python3
"""Check confcal's served iCalendar feeds with the `icalendar` PyPI package.

Why this exists: a feed is correct only when independent implementations
read from it the same instants we meant.  expected_instants.py says what we
meant (from the schedule documents, via zoneinfo) and feed_plan.py which
served feeds must hold which sessions; this script parses every feed of the
plan with icalendar 6.x and resolves every DTSTART/DTEND *with the feed's
own VTIMEZONE* (Timezone.to_tz(lookup_tzid=False), never the system zone
database), or as UTC for values ending in "Z".  Every feed must also carry
X-WR-TIMEZONE.  The contract (exactly the planned sessions, once each, same
instants) is feedcheck.py's.

Usage: scripts/check_feeds_python.py PLAN.json
Needs: pip install 'icalendar>=6.1,<7' tzdata
"""
import sys
from datetime import datetime, timezone

from icalendar import Calendar

from feedcheck import main, z

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


def read_feed(body, complain):
    cal = Calendar.from_ical(body)
    if "X-WR-TIMEZONE" not in cal:
        complain("calendar has no X-WR-TIMEZONE")
    zones = own_timezones(cal)
    events = []
    for event in cal.walk("VEVENT"):
        try:
            result = (z(instant(event, "DTSTART", zones)), z(instant(event, "DTEND", zones)))
        except Exception as exc:
            result = str(exc)
        events.append((str(event.get("UID", "")), result))
    return events


if __name__ == "__main__":
    sys.exit(main(LABEL, read_feed, sys.argv[1:], __doc__))
