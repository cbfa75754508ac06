/**
 * Check confcal's served iCalendar feeds with Mozilla's ical.js (2.x).
 *
 * Why this exists: a feed is correct only when independent implementations
 * read from it the same instants we meant. expected_instants.py says what we
 * meant (from the schedule documents, via Python's zoneinfo) and
 * feed_plan.py which served feeds must hold which sessions; this script
 * fetches every feed of the plan and resolves every DTSTART/DTEND with
 * ical.js, using only the feed's own VTIMEZONE components (ical.js ships no
 * zone database: each VTIMEZONE of the feed is registered with
 * ICAL.TimezoneService, and ical.js also prefers the calendar's own
 * definition when it parses a TZID).
 *
 * Every planned session must appear exactly once (UID "{id}.{conference}@..."),
 * with the same start and end instants, and no other event may appear (the
 * same contract as feedcheck.py's for the Python readers).
 *
 * Usage: node scripts/check_feeds_icaljs.mjs PLAN.json
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

/** Check one feed of the plan; push problems; return the number matched. */
async function checkFeed(feed, problems) {
  const { name, url } = feed;
  const expected = new Map(feed.events.map((e) => [`${e.id}.${e.conference}`, e]));
  let calendar;
  try {
    const resp = await fetch(url);
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    calendar = new ICAL.Component(ICAL.parse(await resp.text()));
  } catch (err) {
    for (const e of expected.values()) problems.push(`${name}: ${e.conference}/${e.id}: feed unusable: ${err.message}`);
    return 0;
  }
  if (!calendar.hasProperty('x-wr-timezone')) problems.push(`${name}: calendar has no X-WR-TIMEZONE`);

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
    const key = at < 0 ? null : uid.slice(0, at);
    if (key === null || !expected.has(key)) {
      problems.push(`${name}: unexpected event UID ${JSON.stringify(uid)}`);
      continue;
    }
    seen.set(key, [...(seen.get(key) ?? []), vevent]);
  }

  let passed = 0;
  for (const [key, e] of expected) {
    const where = `${name}: ${e.conference}/${e.id}`;
    const events = seen.get(key) ?? [];
    if (events.length !== 1) {
      problems.push(`${where}: found ${events.length} events, expected exactly 1`);
      continue;
    }
    let start, end;
    try {
      start = instant(events[0], 'dtstart', feedZones);
      end = instant(events[0], 'dtend', feedZones);
    } catch (err) {
      problems.push(`${where}: ${err.message}`);
      continue;
    }
    if (start !== e.start_utc || end !== e.end_utc) {
      problems.push(`${where}: read ${start}..${end}, expected ${e.start_utc}..${e.end_utc}`);
      continue;
    }
    passed += 1;
  }
  return passed;
}

async function main(argv) {
  if (argv.length !== 1) {
    console.error('usage: check_feeds_icaljs.mjs PLAN.json');
    return 2;
  }
  const plan = JSON.parse(readFileSync(argv[0], 'utf8'));
  const problems = [];
  let passed = 0;
  let total = 0;
  for (const feed of plan) {
    total += feed.events.length;
    passed += await checkFeed(feed, problems);
  }
  for (const line of problems) console.log(line);
  console.log(`${LABEL}: ${passed} passed, ${problems.length} failed`);
  return problems.length || passed !== total ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
