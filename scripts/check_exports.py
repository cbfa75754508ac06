#!/usr/bin/env python3
"""Check confcal's schedule.xml and schedule.json exports as an app would read them.

Why this exists: Giggity, EventFahrplan, ConfClerk and the FOSDEM apps read
the frab/c3voc formats in different ways, and an export is right only when
every way lands on the same instants, the ones the schedule meant.  This
script shares no code with confcal.  For each conference it fetches both
documents from the running server and checks:

  * schema: the XML against the c3voc XSD (`xmllint --schema`) and the JSON
    against the c3voc JSON schema (Draft 6, with format checks), zero errors;
  * the day model: each day's start and end are at the day change (the same
    local time, on the day's date and the next), every event starts within
    its day, and the two ways readers compute a start agree -- the event's
    full ISO 8601 `date`, and the day's `date` plus the event's `start`
    (plus one day when `start` is before the day change) -- with `date`
    carrying the offset the zone (Python's zoneinfo) has at that instant;
  * identity: every guid is the UUID the documented derivation gives for
    that conference and session id (recomputed here with hashlib), ids are
    unique positive 32-bit integers, and XML and JSON agree on both;
  * content: the events are exactly the conference's confirmed sessions as
    the JSON API lists them, with their titles, rooms, speakers, abstracts,
    notes, links, kinds and tracks; and every start and end equals both the
    API's and the instant expected_instants.py computed from the schedule
    documents (the API's alone for conferences without a document here,
    such as imported real files).

With `round-trip BASE ORIG COPY [ORIG COPY ...]` it compares instead the
sessions of conference COPY (made by importing ORIG's export) with ORIG's,
as the JSON API lists them: the same session ids, each with the same
content and instants.  The one difference allowed is the one the export
makes on purpose: a session without a url of its own is exported with its
confcal page as url, so it comes back with that url.

Usage: check_exports.py BASE XSD SCHEMA EXPECTED.json WORKDIR CONF [CONF ...]
       check_exports.py round-trip BASE ORIG COPY [ORIG COPY ...]
Exits non-zero if anything failed; every conference is checked and reported.
"""
import hashlib
import json
import subprocess
import sys
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from jsonschema import Draft6Validator

# The namespace confcal derives its UUIDs in (src/export/guid.rs), and the
# derivation: RFC 9562's name-based version 8 with SHA-256 (Appendix B.2).
NAMESPACE = uuid.UUID("54b99a8c-7ede-40fc-bd3d-d01d1c7c6c55")


def name_uuid(name):
    b = bytearray(hashlib.sha256(NAMESPACE.bytes + name.encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x80
    b[8] = (b[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(b)))


def fetch(url):
    with urllib.request.urlopen(url) as r:
        return r.read(), r.headers


def utc(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(timezone.utc)


def parse_hms(s):
    parts = [int(p) for p in s.split(":")]
    if len(parts) == 2:
        return timedelta(hours=parts[0], minutes=parts[1])
    return timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2])


class Report:
    def __init__(self, conf):
        self.conf = conf
        self.errors = []

    def fail(self, where, msg):
        self.errors.append(f"{self.conf}: {where}: {msg}")

    def check(self, ok, where, msg):
        if not ok:
            self.fail(where, msg)
        return ok


def check_day_model(rep, fmt, zone, day_date, day_start, day_end,
                    guid, date_s, start_s, dur_s, events_out):
    """The rules every event of every day must satisfy, in either format."""
    where = f"{fmt} event {guid}"
    date = datetime.fromisoformat(date_s)
    if not rep.check(date.tzinfo is not None, where, f"date {date_s} has no offset"):
        return
    # The offset written is the zone's at that instant.
    rep.check(date.astimezone(zone).utcoffset() == date.utcoffset(), where,
              f"date {date_s}: {zone.key} is at {date.astimezone(zone).utcoffset()} then")
    # day date + start (+1 day before the day change) == date's wall time.
    change = day_start.astimezone(zone).time()
    start_t = parse_hms(start_s)
    wall = datetime.combine(day_date, datetime.min.time()) + start_t
    if start_t < timedelta(hours=change.hour, minutes=change.minute):
        wall += timedelta(days=1)
    written = date.replace(tzinfo=None)
    if fmt == "json":
        written = written.replace(second=0)  # the schema's start has no seconds
    rep.check(wall == written, where,
              f"day {day_date} + start {start_s} reads {wall}, date says {written}")
    rep.check(day_start <= date < day_end, where,
              f"starts at {date_s}, outside its day [{day_start.isoformat()}, {day_end.isoformat()})")
    events_out[guid] = (date.astimezone(timezone.utc), parse_hms(dur_s))


def check_day_bounds(rep, fmt, zone, index, expected_index, day_date, day_start, day_end, change):
    where = f"{fmt} day {index} ({day_date})"
    rep.check(index == expected_index, where, f"index {index}, expected {expected_index}")
    for name, t, d in [("start", day_start, day_date), ("end", day_end, day_date + timedelta(days=1))]:
        local = t.astimezone(zone)
        rep.check(t.utcoffset() == local.utcoffset(), where,
                  f"{name} {t.isoformat()} is not at {zone.key}'s offset")
        rep.check((local.date(), local.time()) == (d, change), where,
                  f"{name} {t.isoformat()} is not {change} on {d}")


def read_xml(rep, text, zone):
    """Reads the XML as an app would; returns {guid: fields} and the event ids."""
    root = ET.fromstring(text)
    events = {}
    instants = {}
    ids = {}
    days = root.findall("day")
    rep.check(len(days) >= 1, "xml", "no <day>")
    conf = root.find("conference")
    rep.check(conf.findtext("time_zone_name") == zone.key, "xml",
              f"time_zone_name {conf.findtext('time_zone_name')!r}, expected {zone.key}")
    rep.check(conf.findtext("days") == str(len(days)), "xml", "<days> is not the number of <day>s")
    change = None
    for i, day in enumerate(days, 1):
        day_date = datetime.strptime(day.get("date"), "%Y-%m-%d").date()
        ds, de = datetime.fromisoformat(day.get("start")), datetime.fromisoformat(day.get("end"))
        change = change or ds.astimezone(zone).time()
        check_day_bounds(rep, "xml", zone, int(day.get("index")), i, day_date, ds, de, change)
        for room in day.findall("room"):
            for ev in room.findall("event"):
                guid = ev.get("guid")
                rep.check(guid not in events, "xml", f"guid {guid} appears twice")
                rep.check(ev.findtext("room") == room.get("name"), f"xml event {guid}",
                          "<room> is not its room's name")
                check_day_model(rep, "xml", zone, day_date, ds, de, guid,
                                ev.findtext("date"), ev.findtext("start"), ev.findtext("duration"),
                                instants)
                ids[guid] = int(ev.get("id"))
                persons = ev.find("persons")
                links = ev.find("links")
                events[guid] = {
                    "title": ev.findtext("title"),
                    "room": room.get("name"),
                    "speakers": [p.text or "" for p in persons] if persons is not None else [],
                    "abstract": ev.findtext("abstract") or "",
                    "notes": ev.findtext("description"),
                    "url": ev.findtext("url"),
                    "kind": ev.findtext("type") or None,
                    "track": ev.findtext("track") or "",
                    "links": [{"title": l.text or "", "url": l.get("href")} for l in links]
                    if links is not None else [],
                    "slug": ev.findtext("slug"),
                }
    return events, instants, ids


def read_json(rep, doc, zone):
    events, instants, ids = {}, {}, {}
    conf = doc["schedule"]["conference"]
    if "time_zone_name" in conf:
        rep.check(conf["time_zone_name"] == zone.key, "json", "time_zone_name differs")
    rep.check(conf["daysCount"] == len(conf["days"]), "json", "daysCount is not len(days)")
    change = None
    for i, day in enumerate(conf["days"], 1):
        day_date = datetime.strptime(day["date"], "%Y-%m-%d").date()
        ds, de = datetime.fromisoformat(day["day_start"]), datetime.fromisoformat(day["day_end"])
        change = change or ds.astimezone(zone).time()
        check_day_bounds(rep, "json", zone, day["index"], i, day_date, ds, de, change)
        for room_name, evs in day["rooms"].items():
            for ev in evs:
                guid = ev["guid"]
                rep.check(guid not in events, "json", f"guid {guid} appears twice")
                rep.check(ev["room"] == room_name, f"json event {guid}", "room is not its key")
                check_day_model(rep, "json", zone, day_date, ds, de, guid,
                                ev["date"], ev["start"], ev["duration"], instants)
                end = datetime.fromisoformat(ev["end"])
                rep.check(end.astimezone(zone).utcoffset() == end.utcoffset(), f"json event {guid}",
                          f"end {ev['end']} is not at the zone's offset")
                instants[guid] = (instants[guid][0], end.astimezone(timezone.utc) - instants[guid][0])
                ids[guid] = ev["id"]
                events[guid] = {
                    "title": ev["title"],
                    "room": room_name,
                    "speakers": [p["name"] for p in ev["persons"]],
                    "abstract": ev["abstract"] or "",
                    "notes": ev["description"],
                    "url": ev["url"],
                    "kind": ev["type"] or None,
                    "track": ev["track"] or "",
                    "links": [{"title": l.get("title", ""), "url": l["url"]} for l in ev["links"]],
                    "slug": ev["slug"],
                }
    return events, instants, ids


ROUND_TRIP_FIELDS = ["title", "speakers", "start", "end", "room", "tracks", "abstract",
                     "notes", "url", "kind", "links", "language", "status"]


def round_trip(argv):
    if len(argv) < 5 or len(argv) % 2 != 1:
        sys.exit(__doc__)
    base = argv[2]
    failures = []
    for orig, copy in zip(argv[3::2], argv[4::2]):
        rep = Report(f"{orig} -> {copy}")
        listing = "/sessions?status=all"
        a = {s["id"]: s for s in json.loads(fetch(f"{base}/api/conferences/{orig}{listing}")[0])["sessions"]}
        b = {s["id"]: s for s in json.loads(fetch(f"{base}/api/conferences/{copy}{listing}")[0])["sessions"]}
        # Cancelled sessions are not exported, so they cannot come back.
        live = {i: s for i, s in a.items() if s["status"] == "confirmed"}
        rep.check(set(b) == set(live), "sessions",
                  f"ids differ: only in the original {sorted(set(live) - set(b))[:5]}, "
                  f"only in the copy {sorted(set(b) - set(live))[:5]}")
        for sid in sorted(set(live) & set(b)):
            s, t = dict(live[sid]), b[sid]
            if s["url"] is None:
                s["url"] = f"{base}/conferences/{orig}/sessions/{sid}"
            for k in ROUND_TRIP_FIELDS:
                x, y = s[k], t[k]
                if k in ("start", "end"):
                    x, y = utc(x), utc(y)
                if k == "tracks":
                    # frab has one track an event: the export joins a
                    # session's tracks with ", ", and that one comes back.
                    x, y = ", ".join(x), ", ".join(y)
                rep.check(x == y, f"session {sid}", f"{k}: {y!r} came back for {x!r}")
        print(f"check_exports: round trip {orig} -> {copy}: {len(b)} of {len(live)} sessions: "
              + ("ok" if not rep.errors else f"{len(rep.errors)} problem(s)"))
        failures += rep.errors
    for f in failures[:200]:
        print("  " + f)
    if failures:
        sys.exit(f"check_exports: {len(failures)} round-trip problem(s)")


def main(argv):
    if len(argv) > 1 and argv[1] == "round-trip":
        return round_trip(argv)
    if len(argv) < 7:
        sys.exit(__doc__)
    base, xsd, schema_path, expected_path, work = argv[1:6]
    confs = argv[6:]
    with open(schema_path, encoding="utf-8") as f:
        validator = Draft6Validator(json.load(f), format_checker=Draft6Validator.FORMAT_CHECKER)
    with open(expected_path, encoding="utf-8") as f:
        expected = {(e["conference"], e["id"]): (utc(e["start_utc"]), utc(e["end_utc"]))
                    for e in json.load(f)}
    failures = []
    total = 0
    for conf in confs:
        rep = Report(conf)
        api_conf = json.loads(fetch(f"{base}/api/conferences/{conf}")[0])
        zone = ZoneInfo(api_conf["timezone"])
        sessions = json.loads(fetch(f"{base}/api/conferences/{conf}/sessions")[0])["sessions"]
        by_guid = {name_uuid(f"{conf}/sessions/{s['id']}"): s for s in sessions}

        xml_bytes, xml_headers = fetch(f"{base}/conferences/{conf}/schedule.xml")
        json_bytes, json_headers = fetch(f"{base}/conferences/{conf}/schedule.json")
        rep.check(xml_headers["Content-Type"] == "application/xml; charset=utf-8", "xml",
                  f"Content-Type {xml_headers['Content-Type']}")
        rep.check(json_headers["Content-Type"] == "application/json", "json",
                  f"Content-Type {json_headers['Content-Type']}")
        xml_path = f"{work}/{conf}.schedule.xml"
        with open(xml_path, "wb") as f:
            f.write(xml_bytes)
        with open(f"{work}/{conf}.schedule.json", "wb") as f:
            f.write(json_bytes)
        lint = subprocess.run(["xmllint", "--noout", "--schema", xsd, xml_path],
                              capture_output=True, text=True)
        if lint.returncode != 0:
            rep.fail("xml", "XSD: " + lint.stderr.strip()[:2000])
        doc = json.loads(json_bytes)
        for e in validator.iter_errors(doc):
            rep.fail("json", f"schema: {e.json_path}: {e.message[:300]}")

        xml_events, xml_instants, xml_ids = read_xml(rep, xml_bytes, zone)
        json_events, json_instants, json_ids = read_json(rep, doc, zone)
        rep.check(xml_ids == json_ids, "xml/json", "the documents disagree on guids or ids")
        rep.check(xml_instants == json_instants, "xml/json", "the documents disagree on instants")
        ids = list(xml_ids.values())
        rep.check(len(set(ids)) == len(ids) and all(0 < n < 2**31 for n in ids), "xml",
                  "event ids are not unique positive 32-bit integers")

        rep.check(set(xml_events) == set(by_guid), "xml",
                  f"{len(xml_events)} events for {len(by_guid)} confirmed sessions; "
                  f"unknown guids {sorted(set(xml_events) - set(by_guid))[:3]}, "
                  f"missing {[by_guid[g]['id'] for g in sorted(set(by_guid) - set(xml_events))][:3]}")
        for guid, s in by_guid.items():
            sid = s["id"]
            served = (utc(s["start"]), utc(s["end"]))
            want = expected.get((conf, sid), served)
            rep.check(served == want, f"api session {sid}",
                      f"the API serves {served[0].isoformat()}..{served[1].isoformat()}, "
                      f"the document meant {want[0].isoformat()}..{want[1].isoformat()}")
            page = f"{base}/conferences/{conf}/sessions/{sid}"
            content = {
                "title": s["title"], "room": s["room"] or "", "speakers": s["speakers"],
                "abstract": s["abstract"], "notes": s["notes"], "url": s["url"] or page,
                "kind": s["kind"], "track": ", ".join(s["tracks"]),
                "links": [{"title": l["title"], "url": l["url"]} for l in s["links"]],
            }
            for fmt, events, instants in [("xml", xml_events, xml_instants),
                                          ("json", json_events, json_instants)]:
                if guid not in events:
                    continue
                where = f"{fmt} session {sid}"
                start, dur = instants[guid]
                rep.check((start, start + dur) == want, where,
                          f"reads {start.isoformat()}..{(start + dur).isoformat()}, "
                          f"meant {want[0].isoformat()}..{want[1].isoformat()}")
                got = {k: events[guid][k] for k in content}
                for k in content:
                    rep.check(got[k] == content[k], where, f"{k}: {got[k]!r} != {content[k]!r}")
                # The documented way back to the session id.
                slug = events[guid]["slug"] or ""
                acronym = conf.replace("-", "_").ljust(4, "_")
                rep.check(slug.startswith(acronym + "-")
                          and slug[len(acronym) + 1:].lstrip("_") == sid, where,
                          f"slug {slug!r} does not give back the session id {sid!r}")
        total += len(by_guid)
        status = "ok" if not rep.errors else f"{len(rep.errors)} problem(s)"
        print(f"check_exports: {conf}: {len(by_guid)} events, {len(doc['schedule']['conference']['days'])} days: {status}")
        failures += rep.errors
    for f in failures[:200]:
        print("  " + f)
    if failures:
        sys.exit(f"check_exports: {len(failures)} problem(s)")
    print(f"check_exports: {len(confs)} conferences, {total} events: XSD and JSON schema clean, "
          "date and day + start agree, instants as meant")


if __name__ == "__main__":
    main(sys.argv)
