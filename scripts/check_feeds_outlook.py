#!/usr/bin/env python3
"""Read confcal's feeds the way Outlook and Exchange do, per [MS-OXCICAL].

Why this exists: Outlook does not evaluate a VTIMEZONE as RFC 5545 says.
It collapses it to one Windows time zone (PidLidTimeZoneStruct: a standard
offset, a daylight offset and ONE yearly rule pair) and applies that pair to
every year.  A feed that RFC readers get right can still put talks at the
wrong hour in Outlook, so this fifth reader models, without any iCalendar
library, what [MS-OXCICAL] ("iCalendar to Appointment Object Conversion
Algorithm") prescribes on import, and holds the result to feedcheck.py's
contract (the instants expected_instants.py computed, every feed of the
plan made by feed_plan.py).  It follows the SHOULD rules, which Appendix A
says Outlook and Exchange implement unless a note says otherwise:

  2.1.3.1.1.19 VTIMEZONE: "VTIMEZONEs MUST be used to resolve all local times
    in the iCalendar file".  A TZID with no VTIMEZONE fails.
  2.1.3.1.1.19.2 STANDARD, 1+ instances: "only the STANDARD component with the
    largest DTSTART ... SHOULD be parsed".  A VTIMEZONE without STANDARD gives
    Outlook no standard offset (lBias) and fails (MS-STANOICAL 2.2.47: "If a
    time zone cannot be approximated or parsed, it is ignored").
  2.1.3.1.1.19.3 DAYLIGHT, 0+: likewise only the one with the largest DTSTART;
    with none, no daylight time at all: the standard offset holds all year.
  2.1.3.1.1.19.2.5 / .3.5 TZOFFSETTO: the standard and daylight offsets.
    .3.4 TZOFFSETFROM: "SHOULD be ignored on import" (so a transition's wall
    clock is read in the offset of the other observance of the pair, as
    Windows does: the daylight onset in standard time, the standard onset in
    daylight time).  RDATE, TZNAME and everything else are ignored (MS-STANOICAL
    2.2.47 lists the only properties used: TZID, DTSTART, RRULE, TZOFFSETFROM,
    TZOFFSETTO).
  2.1.3.1.1.19.2.2 / .3.2 RRULE (only when a DAYLIGHT exists): "MUST be of
    frequency YEARLY and MUST specify either a BYDAY or a BYMONTHDAY, but not
    both"; BYDAY "MUST specify a single occurrence of a single day of the week
    (e.g. BYDAY=2MO, but not BYDAY=MO or BYDAY=1MO,3MO)", the week numbers of
    2.1.3.2.1.6 being -1 (last), 1, 2, 3, 4; BYMONTHDAY "a single day of the
    month"; the month is BYMONTH's, "or, if not present, the month portion of
    DTSTART".  Anything else fails.  UNTIL, COUNT and INTERVAL have no place
    in the Windows rule and are ignored: the rule holds every year.
  2.1.3.1.1.19.2.1 / .3.1 DTSTART: the onset's time of day (wHour, wMinute,
    wSecond).  Without an RRULE the onset date "SHOULD be imported" as
    wYear=0, wMonth = DTSTART's month, wDayOfWeek = its weekday, wDay = "the
    occurrence of the day of week in the month for the date specified by
    DTSTART" (SYSTEMTIME's wDay 5 meaning the last): a one-off date becomes a
    yearly "n-th weekday of the month" rule.

Each DTSTART/DTEND with TZID is then read with that one rule pair in its own
year; values ending in "Z" are UTC; floating times and dates fail.  A value
in the repeated hour is taken as daylight time, like Windows' conversion.

Usage: scripts/check_feeds_outlook.py PLAN.json
       scripts/check_feeds_outlook.py --self-test   # the model on hand-made feeds
"""
import re
import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from feedcheck import main, z

LABEL = "outlook-ms-oxcical"
DAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]  # SYSTEMTIME wDayOfWeek order


class Rejected(Exception):
    """A VTIMEZONE Outlook cannot turn into a Windows time zone."""


# ---- content lines (RFC 5545 3.1) without a library ----

def parse(text):
    """The calendar as nested {"name", "props": [(name, params, value)], "subs"}."""
    lines = re.sub(r"\r?\n[ \t]", "", text).splitlines()
    root = {"name": None, "props": [], "subs": []}
    stack = [root]
    for line in filter(None, lines):
        m = re.match(r'((?:[^:;"]|"[^"]*")*?)((?:;(?:[^:"]|"[^"]*")*)?):(.*)$', line)
        if not m:
            raise ValueError(f"not a content line: {line!r}")
        name, value = m.group(1).upper(), m.group(3)
        params = {}
        for p in re.findall(r';((?:[^;"]|"[^"]*")*)', m.group(2)):
            key, _, val = p.partition("=")
            params[key.upper()] = val.strip('"')
        if name == "BEGIN":
            comp = {"name": value.upper(), "props": [], "subs": []}
            stack[-1]["subs"].append(comp)
            stack.append(comp)
        elif name == "END":
            if len(stack) == 1 or stack[-1]["name"] != value.upper():
                raise ValueError(f"END:{value} does not close BEGIN:{stack[-1]['name']}")
            stack.pop()
        else:
            stack[-1]["props"].append((name, params, value))
    if len(stack) != 1:
        raise ValueError(f"BEGIN:{stack[-1]['name']} is never closed")
    return root


def prop(comp, name):
    """(params, value) of the one property `name`, or None."""
    found = [(p, v) for n, p, v in comp["props"] if n == name]
    if len(found) > 1:
        raise ValueError(f"{len(found)} {name} properties in {comp['name']}")
    return found[0] if found else None


def local_datetime(value):
    if not re.fullmatch(r"\d{8}T\d{6}", value):
        raise ValueError(f"not a local date-time: {value}")
    return datetime.strptime(value, "%Y%m%dT%H%M%S")


def utc_offset(value):
    m = re.fullmatch(r"([+-])(\d\d)(\d\d)(\d\d)?", value or "")
    if not m:
        raise Rejected(f"bad UTC offset {value!r}")
    secs = int(m[2]) * 3600 + int(m[3]) * 60 + int(m[4] or 0)
    return timedelta(seconds=secs if m[1] == "+" else -secs)


# ---- the Windows time zone Outlook makes of a VTIMEZONE ----

def observance_rule(obs):
    """The SYSTEMTIME-style yearly onset of one STANDARD/DAYLIGHT, as
    (month, weekday 0=SU, occurrence 1..5 with 5=last | None, monthday | None, time)."""
    start = local_datetime(prop(obs, "DTSTART")[1])
    rrule = prop(obs, "RRULE")
    if rrule is None:  # 2.1.3.1.1.19.2.1: wYear 0, month, weekday, occurrence of DTSTART
        weekday = (start.weekday() + 1) % 7
        return (start.month, weekday, (start.day - 1) // 7 + 1, None, start.time())
    parts = dict(p.partition("=")[::2] for p in rrule[1].upper().split(";"))
    where = f"{obs['name']} RRULE:{rrule[1]}"
    if parts.get("FREQ") != "YEARLY":
        raise Rejected(f"{where}: MS-OXCICAL 2.1.3.1.1.19.2.2 needs FREQ=YEARLY")
    if ("BYDAY" in parts) == ("BYMONTHDAY" in parts):
        raise Rejected(f"{where}: needs either BYDAY or BYMONTHDAY, not both or neither")
    month = parts.get("BYMONTH", str(start.month))
    if not re.fullmatch(r"1[0-2]|0?[1-9]", month):
        raise Rejected(f"{where}: BYMONTH must be one month")
    if "BYDAY" in parts:
        m = re.fullmatch(r"([+-]?\d)(SU|MO|TU|WE|TH|FR|SA)", parts["BYDAY"])
        if not m or int(m[1]) not in (-1, 1, 2, 3, 4):
            raise Rejected(f"{where}: BYDAY must be a single occurrence (-1, 1-4) of a single day")
        n = int(m[1])
        return (int(month), DAYS.index(m[2]), 5 if n == -1 else n, None, start.time())
    if not re.fullmatch(r"[1-9]|[12]\d|3[01]", parts["BYMONTHDAY"]):
        raise Rejected(f"{where}: BYMONTHDAY must be a single day of the month")
    return (int(month), None, None, int(parts["BYMONTHDAY"]), start.time())


def onset(rule, year):
    """Local wall-clock date-time of the rule's onset in `year`."""
    month, weekday, occurrence, monthday, at = rule
    if monthday is not None:
        try:
            return datetime.combine(date(year, month, monthday), at)
        except ValueError:
            raise Rejected(f"BYMONTHDAY={monthday} does not exist in {year}-{month:02d}")
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - (first.weekday() + 1) % 7) % 7 + 7 * (occurrence - 1))
    while day.month != month:  # occurrence 5: the last one
        day -= timedelta(days=7)
    return datetime.combine(day, at)


def describe(rule):
    month, weekday, occurrence, monthday, at = rule
    if monthday is not None:
        return f"{month:02d}-{monthday:02d} {at:%H:%M}"
    nth = {5: "last"}.get(occurrence, f"#{occurrence}")
    return f"{nth} {DAYS[weekday]} of month {month} {at:%H:%M}"


def fmt(offset):
    mins = int(offset.total_seconds() // 60)
    return f"{'-' if mins < 0 else '+'}{abs(mins) // 60:02d}:{abs(mins) % 60:02d}"


class WindowsZone:
    """What PidLidTimeZoneStruct holds: standard offset, and maybe daylight
    offset plus one (daylight onset, standard onset) rule pair for all years."""

    def __init__(self, vtz):
        def latest(kind):
            obs = [c for c in vtz["subs"] if c["name"] == kind]
            for c in obs:
                if prop(c, "DTSTART") is None:
                    raise Rejected(f"{kind} without DTSTART")
            return max(obs, key=lambda c: local_datetime(prop(c, "DTSTART")[1]), default=None)
        standard, daylight = latest("STANDARD"), latest("DAYLIGHT")
        if standard is None:
            raise Rejected("no STANDARD component, so no standard offset (MS-OXCICAL "
                           "2.1.3.1.1.19.2 requires 1+); Outlook ignores such a VTIMEZONE")
        self.std = utc_offset((prop(standard, "TZOFFSETTO") or (None, None))[1])
        self.dst = None
        if daylight is not None:
            self.dst = utc_offset((prop(daylight, "TZOFFSETTO") or (None, None))[1])
            self.dst_rule, self.std_rule = observance_rule(daylight), observance_rule(standard)

    def __str__(self):
        if self.dst is None:
            return f"Outlook zone {fmt(self.std)} all year"
        return (f"Outlook zone {fmt(self.std)}, daylight {fmt(self.dst)} from "
                f"{describe(self.dst_rule)} to {describe(self.std_rule)}, every year")

    def to_utc(self, local):
        if self.dst is None:
            return (local - self.std).replace(tzinfo=timezone.utc)
        begin, end = onset(self.dst_rule, local.year), onset(self.std_rule, local.year)
        in_dst = begin <= local < end if begin < end else not end <= local < begin
        return (local - (self.dst if in_dst else self.std)).replace(tzinfo=timezone.utc)


# ---- reading a feed ----

def read_feed(body, _complain):
    root = parse(body.decode("utf-8"))
    cals = [c for c in root["subs"] if c["name"] == "VCALENDAR"]
    if len(cals) != 1:
        raise ValueError(f"{len(cals)} VCALENDAR components")
    zones = {}
    for vtz in (c for c in cals[0]["subs"] if c["name"] == "VTIMEZONE"):
        tzid = (prop(vtz, "TZID") or ({}, ""))[1]
        try:
            zones[tzid] = WindowsZone(vtz)
        except (Rejected, ValueError) as exc:
            zones[tzid] = f"VTIMEZONE {tzid} rejected: {exc}"

    def instant(event, name):
        found = prop(event, name)
        if found is None:
            raise ValueError(f"no {name}")
        params, value = found
        if params.get("VALUE", "DATE-TIME").upper() != "DATE-TIME":
            raise ValueError(f"{name} is not a date-time: {value}")
        if value.endswith("Z"):
            return local_datetime(value[:-1]).replace(tzinfo=timezone.utc), None
        if "TZID" not in params:
            raise ValueError(f"{name} is floating (neither TZID nor UTC): {value}")
        zone = zones.get(params["TZID"], f"{name};TZID={params['TZID']} has no VTIMEZONE")
        if isinstance(zone, str):
            raise ValueError(zone)
        return zone.to_utc(local_datetime(value)), f"{params['TZID']}: {zone}"

    events = []
    for event in (c for c in cals[0]["subs"] if c["name"] == "VEVENT"):
        try:
            (start, why1), (end, why2) = instant(event, "DTSTART"), instant(event, "DTEND")
            result = (z(start), z(end), why1 or why2 or "UTC")
        except (Rejected, ValueError) as exc:
            result = str(exc)
        events.append(((prop(event, "UID") or ({}, ""))[1], result))
    return events


# ---- self-test: the model on hand-made feeds whose answers are known ----

NEW_FORM = {  # one DAYLIGHT + one STANDARD with yearly rules, or one STANDARD
    "America/Los_Angeles": ("20070311T020000", "-0800", "-0700", "BYMONTH=3;BYDAY=2SU",
                            "20071104T020000", "-0700", "-0800", "BYMONTH=11;BYDAY=1SU"),
    "Australia/Lord_Howe": ("20081005T020000", "+1030", "+1100", "BYMONTH=10;BYDAY=1SU",
                            "20080406T020000", "+1100", "+1030", "BYMONTH=4;BYDAY=1SU"),
    "Australia/Sydney": ("20081005T020000", "+1000", "+1100", "BYMONTH=10;BYDAY=1SU",
                         "20080406T030000", "+1100", "+1000", "BYMONTH=4;BYDAY=1SU"),
    "Europe/Berlin": ("19810329T020000", "+0100", "+0200", "BYMONTH=3;BYDAY=-1SU",
                      "19961027T030000", "+0200", "+0100", "BYMONTH=10;BYDAY=-1SU"),
    "Asia/Kolkata": None,
}
# (TZID, local wall clock); the right answer comes from zoneinfo.
GOOD = [("America/Los_Angeles", "20120310T090000"), ("America/Los_Angeles", "20120311T030000"),
        ("America/Los_Angeles", "20120701T120000"), ("America/Los_Angeles", "20121104T023000"),
        ("America/Los_Angeles", "20131103T003000"), ("Australia/Lord_Howe", "20120331T090000"),
        ("Australia/Lord_Howe", "20120401T090000"), ("Australia/Lord_Howe", "20121007T023000"),
        ("Australia/Sydney", "20120401T090000"), ("Australia/Sydney", "20121007T030000"),
        ("Australia/Sydney", "20120331T090000"), ("Europe/Berlin", "20120325T030000"),
        ("Europe/Berlin", "20121028T040000"), ("Europe/Berlin", "20121027T120000"),
        ("Asia/Kolkata", "20120310T090000")]
# Old-form VTIMEZONEs (one observance per transition, no RRULE) and what
# Outlook makes of them: (name, VTIMEZONE body, local, Outlook's UTC or error).
OLD_FORM = [
    ("latest pair of two years applied to 2006",
     "TZID:LA\n" + "".join(
         f"BEGIN:{k}\nDTSTART:{d}\nTZOFFSETFROM:{f}\nTZOFFSETTO:{t}\nEND:{k}\n" for k, d, f, t in [
             ("DAYLIGHT", "20060402T020000", "-0800", "-0700"),
             ("STANDARD", "20061029T020000", "-0700", "-0800"),
             ("DAYLIGHT", "20120311T020000", "-0800", "-0700"),
             ("STANDARD", "20121104T020000", "-0700", "-0800")]),
     "20060401T090000", "2006-04-01T16:00:00Z"),  # 2012's 2nd-Sunday-of-March rule: PDT, 1 h early
    ("one-off 2nd Sunday of March 2012 applied to 2013",
     "TZID:LA\nBEGIN:STANDARD\nDTSTART:20111106T020000\nTZOFFSETFROM:-0700\nTZOFFSETTO:-0800\n"
     "END:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:20120311T020000\nTZOFFSETFROM:-0800\n"
     "TZOFFSETTO:-0700\nEND:DAYLIGHT\n", "20130310T090000", "2013-03-10T16:00:00Z"),
    ("last Sunday of October as occurrence 5",
     "TZID:LA\nBEGIN:DAYLIGHT\nDTSTART:20060402T020000\nTZOFFSETFROM:-0800\nTZOFFSETTO:-0700\n"
     "END:DAYLIGHT\nBEGIN:STANDARD\nDTSTART:20061029T020000\nTZOFFSETFROM:-0700\n"
     "TZOFFSETTO:-0800\nEND:STANDARD\n", "20061028T090000", "2006-10-28T16:00:00Z"),
    ("DAYLIGHT only",
     "TZID:LA\nBEGIN:DAYLIGHT\nDTSTART:20120311T020000\nTZOFFSETFROM:-0800\nTZOFFSETTO:-0700\n"
     "END:DAYLIGHT\n", "20120312T090000", "no STANDARD component"),
    ("BYDAY without an occurrence",
     "TZID:LA\nBEGIN:DAYLIGHT\nDTSTART:20070311T020000\nTZOFFSETFROM:-0800\nTZOFFSETTO:-0700\n"
     "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=SU\nEND:DAYLIGHT\nBEGIN:STANDARD\n"
     "DTSTART:20071104T020000\nTZOFFSETFROM:-0700\nTZOFFSETTO:-0800\n"
     "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\nEND:STANDARD\n", "20120312T090000",
     "BYDAY must be a single occurrence"),
]


def self_test():
    """Run the model on NEW_FORM/GOOD and OLD_FORM; print "LABEL-self-test: N passed, M failed"."""
    def vtimezone(tzid, rules):
        if rules is None:
            return (f"BEGIN:VTIMEZONE\nTZID:{tzid}\nBEGIN:STANDARD\nDTSTART:19451015T000000\n"
                    f"TZOFFSETFROM:+0630\nTZOFFSETTO:+0530\nEND:STANDARD\nEND:VTIMEZONE\n")
        out = f"BEGIN:VTIMEZONE\nTZID:{tzid}\n"
        for kind, (start, frm, to, rule) in (("DAYLIGHT", rules[:4]), ("STANDARD", rules[4:])):
            out += (f"BEGIN:{kind}\nDTSTART:{start}\nTZOFFSETFROM:{frm}\nTZOFFSETTO:{to}\n"
                    f"RRULE:FREQ=YEARLY;{rule}\nEND:{kind}\n")
        return out + "END:VTIMEZONE\n"

    def vevent(uid, dtstart):
        return f"BEGIN:VEVENT\nUID:{uid}@t\nDTSTART{dtstart}\nDTEND:20300101T000000Z\nEND:VEVENT\n"

    def calendar(body):
        return f"BEGIN:VCALENDAR\nVERSION:2.0\n{body}END:VCALENDAR\n".replace("\n", "\r\n")

    def truth(tzid, local):
        return z(local_datetime(local).replace(tzinfo=ZoneInfo(tzid)).astimezone(timezone.utc))

    wants = {f"good{i}@t": truth(tzid, local) for i, (tzid, local) in enumerate(GOOD)}
    wants["utc@t"] = "2012-11-04T08:30:00Z"
    body = "".join(vtimezone(t, r) for t, r in NEW_FORM.items())
    body += "".join(vevent(f"good{i}", f";TZID={tzid}:{local}")
                    for i, (tzid, local) in enumerate(GOOD))
    got = dict(read_feed(calendar(body + vevent("utc", ":20121104T083000Z")).encode(), None))
    for name, vtz, local, want in OLD_FORM:
        feed = calendar(f"BEGIN:VTIMEZONE\n{vtz}END:VTIMEZONE\n"
                        + vevent(name, f";TZID=LA:{local}"))
        got.update(read_feed(feed.encode(), None))
        wants[f"{name}@t"] = want
    failed = 0
    for uid, want in wants.items():
        result = got.get(uid, "missing")
        ok = result[0] == want if isinstance(result, tuple) else want in result
        if not ok:
            failed += 1
            print(f"self-test {uid}: read {result}, expected {want}")
    print(f"{LABEL}-self-test: {len(wants) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    sys.exit(main(LABEL, read_feed, sys.argv[1:], __doc__))
