#!/usr/bin/env python3
"""Check confcal's served iCalendar feeds with the `vobject` PyPI package.

Why this exists: vobject (used by Radicale, calendarserver tools, many
scripts) is a third independent reader: it turns each VTIMEZONE into a
tzinfo with dateutil's tz.tzical, and resolves DTSTART;TZID=X through its
own TZID registry.  Like the other checkers, it must read from every feed
of the plan (feed_plan.py) the instants expected_instants.py computed; the
contract is feedcheck.py's.

What was verified about vobject 0.9.x (icalendar.py) and is guarded here:
  * its TZID registry is global to the process and first-come: registerTzinfo
    keeps a TZID already registered, so a second feed's VTIMEZONE for the
    same TZID would be ignored in favour of the first feed's.  The registry
    is therefore emptied (but for UTC) before each feed, as for a fresh
    process reading one calendar;
  * for a TZID not registered, getTzid() silently falls back to pytz (the
    zone database pytz ships), not the feed.  VTIMEZONEs are transformed
    before VEVENTs (sortChildKeys), so with the registry emptied every TZID
    of the feed resolves to the tzinfo built from the feed's own VTIMEZONE;
    each value is checked to carry a tzical zone named like its TZID, never
    a pytz one.
The instant is then read twice, from vobject's own resolution and from the
wall-clock value with tzinfo built explicitly from the VTIMEZONE component
(TimezoneComponent.gettzinfo()); the two must agree.

Usage: scripts/check_feeds_vobject.py PLAN.json
Needs: pip install 'vobject>=0.9.7,<0.10'
"""
import sys
from datetime import datetime, timezone

import vobject
import vobject.icalendar as vical

from feedcheck import main, z

LABEL = "vobject"


def reset_tzid_registry():
    """Forget every TZID registered by an earlier feed (vobject keeps them
    in the module-global dict `__tzidMap`), keeping only UTC."""
    registry = vars(vical)["__tzidMap"]
    registry.clear()
    vical.registerTzid("UTC", vical.utc)


def instant(event, name, zones):
    """UTC datetime of DTSTART/DTEND, or raise ValueError saying why not."""
    lines = event.contents.get(name.lower(), [])
    if len(lines) != 1:
        raise ValueError(f"{len(lines)} {name} properties")
    value = lines[0].value
    if not isinstance(value, datetime):
        raise ValueError(f"{name} is a {type(value).__name__}, not a date-time")
    tzid = lines[0].params.get("X-VOBJ-ORIGINAL-TZID", [None])[0]  # vobject moves TZID here
    if tzid is None:
        if value.tzinfo is None:
            raise ValueError(f"{name} is floating (neither TZID nor UTC)")
        if value.utcoffset() != vical.ZERO_DELTA:
            raise ValueError(f"{name} has no TZID but vobject gave it a zone ({value.tzinfo!r})")
        return value.astimezone(timezone.utc)
    if tzid not in zones:
        raise ValueError(f"{name};TZID={tzid} has no VTIMEZONE in the calendar")
    resolved = value.tzinfo
    if type(resolved).__module__.startswith("pytz") or getattr(resolved, "_tzid", None) != tzid:
        raise ValueError(f"{name};TZID={tzid} was not resolved with the feed's VTIMEZONE "
                         f"but with {resolved!r}")
    own = value.replace(tzinfo=None).replace(tzinfo=zones[tzid]).astimezone(timezone.utc)
    theirs = value.astimezone(timezone.utc)
    if own != theirs:
        raise ValueError(f"{name}: vobject's own resolution {z(theirs)} differs from "
                         f"the feed's VTIMEZONE {z(own)}")
    return own


def read_feed(body, _complain):
    reset_tzid_registry()
    cal = vobject.readOne(body.decode("utf-8"))
    zones = {vtz.tzid.value: vtz.gettzinfo() for vtz in cal.contents.get("vtimezone", [])}
    events = []
    for event in cal.contents.get("vevent", []):
        try:
            result = (z(instant(event, "DTSTART", zones)), z(instant(event, "DTEND", zones)))
        except Exception as exc:
            result = str(exc)
        uid = event.contents.get("uid", [None])[0]
        events.append((uid.value if uid else "", result))
    return events


if __name__ == "__main__":
    sys.exit(main(LABEL, read_feed, sys.argv[1:], __doc__))
