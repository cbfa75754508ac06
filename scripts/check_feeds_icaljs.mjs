#!/usr/bin/env node
/**
 * Check confcal's served iCalendar feeds with Mozilla's ical.js (2.x).
 *
 * Why this exists: a feed is correct only when independent implementations
 * read from it the same instants we meant. expected_instants.py says what we
 * meant (from the schedule documents, via Python's zoneinfo); this script
 * fetches {BASE_URL}/conferences/{slug}/sessions.ics for every conference in
 * it and resolves every DTSTART/DTEND with ical.js, using only the feed's own
 * VTIMEZONE components (ical.js ships no zone database: each VTIMEZONE of the
 * feed is registered with ICAL.TimezoneService, and ical.js also prefers the
 * calendar's own definition when it parses a TZID).
 *
 * Every expected session must appear exactly once (UID "{id}.{conference}@..."),
 * with the same start and end instants, and no other event may appear.
 *
 * Usage: node scripts/check_feeds_icaljs.mjs EXPECTED.json BASE_URL
 * Needs: (cd scripts && npm ci)   # ical.js from scripts/package-lock.json
 */
import { readFileSync } from 'node:fs';
import ICAL from 'ical.js';

const LABEL = 'ical.js';

const iso = (unixSeconds) => new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');

/** UTC ISO string of DTSTART/DTEND, or throw saying why it cannot be read. */
function instant(vevent, name, feedZones) {
  const prop = vevent.getFirstProperty(name);
  if (!prop) throw new Error(`no ${name.toUpperCase()}`);
  const time = prop.getFirstValue();
  if (prop.type !== 'date-time') throw new Error(`${name.toUpperCase()} is a ${prop.type}, not a date-time`);
  const tzid = prop.getParameter('tzid');
  if (tzid !== undefined && tzid !== null) {
    if (!feedZones.has(tzid)) throw new Error(`${name.toUpperCase()};TZID=${tzid} has no VTIMEZONE in the calendar`);
    if (time.zone.tzid !== tzid || !time.zone.component) {
      throw new Error(`${name.toUpperCase()};TZID=${tzid} was not resolved with the feed's VTIMEZONE`);
    }
  } else if (time.zone !== ICAL.Timezone.utcTimezone) {
    throw new Error(`${name.toUpperCase()} is floating (neither TZID nor UTC): ${time}`);
  }
  return iso(time.toUnixTime());
}

/** Check one conference's feed; push problems; return the number matched. */
async function checkConference(base, conf, expected, problems) {
  const url = `${base.replace(/\/+$/, '')}/conferences/${conf}/sessions.ics`;
  let calendar;
  try {
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    calendar = new ICAL.Component(ICAL.parse(await resp.text()));
  } catch (err) {
    for (const id of expected.keys()) problems.push(`${conf}/${id}: feed ${url} unusable: ${err.message}`);
    return 0;
  }
  if (!calendar.hasProperty('x-wr-timezone')) problems.push(`${conf}: calendar has no X-WR-TIMEZONE`);

  // Only this feed's zones: forget any registered for an earlier feed.
  ICAL.TimezoneService.reset();
  const feedZones = new Set();
  for (const vtimezone of calendar.getAllSubcomponents('vtimezone')) {
    const zone = new ICAL.Timezone(vtimezone);
    ICAL.TimezoneService.register(zone);
    feedZones.add(zone.tzid);
  }

  const seen = new Map();
  for (const vevent of calendar.getAllSubcomponents('vevent')) {
    const uid = String(vevent.getFirstPropertyValue('uid') ?? '');
    const at = uid.indexOf('@');
    const key = at < 0 ? '' : uid.slice(0, at);
    const id = key.endsWith(`.${conf}`) ? key.slice(0, -conf.length - 1) : null;
    if (id === null || !expected.has(id)) {
      problems.push(`${conf}: unexpected event UID ${JSON.stringify(uid)}`);
      continue;
    }
    seen.set(id, [...(seen.get(id) ?? []), vevent]);
  }

  let passed = 0;
  for (const [id, [wantStart, wantEnd]] of expected) {
    const events = seen.get(id) ?? [];
    if (events.length !== 1) {
      problems.push(`${conf}/${id}: found ${events.length} events, expected exactly 1`);
      continue;
    }
    let start, end;
    try {
      start = instant(events[0], 'dtstart', feedZones);
      end = instant(events[0], 'dtend', feedZones);
    } catch (err) {
      problems.push(`${conf}/${id}: ${err.message}`);
      continue;
    }
    if (start !== wantStart || end !== wantEnd) {
      problems.push(`${conf}/${id}: read ${start}..${end}, expected ${wantStart}..${wantEnd}`);
      continue;
    }
    passed += 1;
  }
  return passed;
}

async function main(argv) {
  if (argv.length !== 2) {
    console.error('usage: check_feeds_icaljs.mjs EXPECTED.json BASE_URL');
    return 2;
  }
  const rows = JSON.parse(readFileSync(argv[0], 'utf8'));
  const byConf = new Map();
  for (const row of rows) {
    if (!byConf.has(row.conference)) byConf.set(row.conference, new Map());
    byConf.get(row.conference).set(row.id, [row.start_utc, row.end_utc]);
  }
  const problems = [];
  let passed = 0;
  for (const [conf, expected] of byConf) passed += await checkConference(argv[1], conf, expected, problems);
  for (const line of problems) console.log(line);
  console.log(`${LABEL}: ${passed} passed, ${problems.length} failed`);
  return problems.length || passed !== rows.length ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
