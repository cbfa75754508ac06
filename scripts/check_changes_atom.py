#!/usr/bin/env python3
"""Reads a confcal changes feed (Atom) with Python's feedparser, an
independent parser, and fails unless it is a well-formed Atom 1.0 feed
whose newest entry is the expected change.

    check_changes_atom.py FEED_URL SESSION_ID TEXT... [--entries N]
                          [--has SESSION_ID TEXT]...

Checks: no parse problem (feedparser's `bozo` unset), version `atom10`;
the feed's id, title, updated, self link and alternate link; every
entry's id (unique), title, updated and alternate link to a talk page;
the newest entry links to SESSION_ID's page and its summary contains
every TEXT (e.g. "Room: E2 → E3"); each --has: some entry of that
session's page whose summary contains its TEXT; with --entries, exactly N entries;
and the feed revalidates: fetched again with its ETag, a 304.
"""

import argparse
import re
import sys

import feedparser


def shown(msg):
    """Messages never show an agenda's token."""
    return re.sub(r"/agendas/[^/]+/", "/agendas/<token>/", msg)


def fail(msg):
    print(shown(f"check_changes_atom: {msg}"), file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("session")
    ap.add_argument("texts", nargs="*")
    ap.add_argument("--entries", type=int)
    ap.add_argument("--has", nargs=2, action="append", default=[], metavar=("SESSION_ID", "TEXT"))
    a = ap.parse_args()

    d = feedparser.parse(a.url)
    if d.get("bozo"):
        fail(f"{a.url}: not well-formed: {d.get('bozo_exception')!r}")
    if d.get("status") != 200:
        fail(f"{a.url}: HTTP {d.get('status')}")
    if d.version != "atom10":
        fail(f"{a.url}: read as {d.version!r}, not Atom 1.0")
    f = d.feed
    for key in ("id", "title", "updated_parsed"):
        if not f.get(key):
            fail(f"{a.url}: the feed has no {key}")
    rels = {link.get("rel"): link.get("href") for link in f.get("links", [])}
    if rels.get("self") != a.url:
        fail(f"{a.url}: rel=self is {rels.get('self')!r}")
    if not (rels.get("alternate") or "").endswith("/changes"):
        fail(f"{a.url}: rel=alternate is {rels.get('alternate')!r}")

    ids = set()
    for e in d.entries:
        for key in ("id", "title", "updated_parsed", "link", "summary"):
            if not e.get(key):
                fail(f"{a.url}: an entry has no {key}: {e!r}")
        if e.id in ids:
            fail(f"{a.url}: entry id {e.id} twice")
        ids.add(e.id)
        if "/sessions/" not in e.link:
            fail(f"{a.url}: entry {e.id} links to {e.link}, not a talk page")
    if a.entries is not None and len(d.entries) != a.entries:
        fail(f"{a.url}: {len(d.entries)} entries, expected {a.entries}")
    if not d.entries:
        fail(f"{a.url}: no entries")
    newest = d.entries[0]
    if not newest.link.endswith(f"/sessions/{a.session}"):
        fail(f"{a.url}: the newest entry is of {newest.link}, not {a.session}")
    for text in a.texts:
        if text not in newest.summary:
            fail(f"{a.url}: the newest entry's summary lacks {text!r}: {newest.summary!r}")

    for session, text in a.has:
        if not any(e.link.endswith(f"/sessions/{session}") and text in e.summary for e in d.entries):
            fail(f"{a.url}: no entry of {session} says {text!r}")

    etag = d.get("etag")
    if not etag:
        fail(f"{a.url}: no ETag")
    again = feedparser.parse(a.url, etag=etag)
    if again.get("status") != 304:
        fail(f"{a.url}: revalidated with its ETag, HTTP {again.get('status')}, not 304")
    print(shown(
        f"check_changes_atom: {a.url}: Atom 1.0, {len(d.entries)} entries, "
        f"newest {newest.title!r}, 304 on revalidation"
    ))


if __name__ == "__main__":
    main()
