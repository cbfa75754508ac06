"""The contract every Python feed checker (check_feeds_*.py) is held to.

Why this exists: each checker is one independent iCalendar reader, and all
of them must be judged the same way, so the judging lives here once.  A
plan (made by feed_plan.py) lists served feeds, each with exactly the
sessions it must contain and their UTC instants (from expected_instants.py).
For every feed, run() fetches it, hands the bytes to the checker's reader,
and requires every expected session to appear exactly once (UID
"{id}.{conference}@..."), with the same start and end instants, and no other
event.  It prints one line per problem, then "LABEL: N passed, M failed".

A reader is read_feed(body, complain) -> [(uid, result), ...] where result
is (start_z, end_z) or (start_z, end_z, note) with "...Z" strings, or a
string saying why that event could not be read; complain(msg) records a
problem of the whole feed, and raising makes the whole feed unusable.
"""
import json
import sys
import urllib.request
from collections import defaultdict


def z(dt):
    """A UTC datetime as "YYYY-MM-DDTHH:MM:SSZ"."""
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def check(label, read_feed, plan, fetch=None):
    """Check every feed of `plan`; print the problems and the summary line.
    Returns the process exit status (0 only when everything matched)."""
    fetch = fetch or (lambda url: urllib.request.urlopen(url, timeout=30).read())
    problems = []
    passed = total = 0
    for feed in plan:
        name = feed["name"]
        expected = {f"{e['id']}.{e['conference']}": e for e in feed["events"]}
        total += len(expected)
        try:
            events = read_feed(fetch(feed["url"]), lambda msg: problems.append(f"{name}: {msg}"))
        except Exception as exc:  # unreachable, HTTP error, unparsable
            problems.extend(f"{name}: {e['conference']}/{e['id']}: feed unusable: {exc}"
                            for e in expected.values())
            continue
        seen = defaultdict(list)
        for uid, result in events:
            key, at, _host = uid.partition("@")
            if not at or key not in expected:
                problems.append(f"{name}: unexpected event UID {uid!r}")
                continue
            seen[key].append(result)
        for key, e in expected.items():
            where = f"{name}: {e['conference']}/{e['id']}"
            results = seen.get(key, [])
            if len(results) != 1:
                problems.append(f"{where}: found {len(results)} events, expected exactly 1")
                continue
            result = results[0]
            if isinstance(result, str):
                problems.append(f"{where}: {result}")
            elif tuple(result[:2]) != (e["start_utc"], e["end_utc"]):
                note = f" ({result[2]})" if len(result) > 2 else ""
                problems.append(f"{where}: read {result[0]}..{result[1]}, "
                                f"expected {e['start_utc']}..{e['end_utc']}{note}")
            else:
                passed += 1
    for line in problems:
        print(line)
    print(f"{label}: {passed} passed, {len(problems)} failed")
    return 1 if problems or passed != total else 0


def main(label, read_feed, argv, usage):
    """Command line of a checker: `CHECKER PLAN.json`."""
    if len(argv) != 1:
        sys.exit(usage)
    with open(argv[0], encoding="utf-8") as f:
        plan = json.load(f)
    return check(label, read_feed, plan)
