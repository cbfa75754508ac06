// End-to-end: what changed. A conference of its own (so the other tests'
// seed stays as it is) is created and then changed through the admin API,
// as an organiser would: a talk moved to another time and room, one
// renamed, one cancelled, one added. Chromium then finds the changes page
// from the conference page, sees each change with what it was and what it
// is now (in the conference's zone), and the Atom feed the page offers is
// read with Python's feedparser (scripts/check_changes_atom.py). The
// screenshot goes to docs/ for the README.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(new URL("../../scripts/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const BASE = process.env.CONFCAL_URL;
const TOKEN = process.env.CONFCAL_E2E_ADMIN_TOKEN;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOTS || "target/screenshots";
const DOCS = process.env.DOCS || "docs";
const PY = ".venv/bin/python";
const CONF = "e2e-changes";

function talk(id, title, start, end, room) {
  return {
    id, title, speakers: ["Ada Example"], start, end, room, tracks: [],
    abstract: "About it.", notes: null, url: null, kind: "talk",
  };
}

const talks = [
  talk("opening", "Opening keynote", "2026-06-12T09:00", "2026-06-12T10:00", "Main hall"),
  talk("rust-async", "Async Rust in practice", "2026-06-12T10:30", "2026-06-12T11:15", "Room 1"),
  talk("sqlite", "SQLite at scale", "2026-06-12T11:30", "2026-06-12T12:15", "Room 2"),
  talk("atom", "Feeds that last", "2026-06-12T14:00", "2026-06-12T14:45", "Room 1"),
];

async function admin(method, path, body) {
  const r = await fetch(BASE + path, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${await r.text()}`);
}

describe("what changed", () => {
  let context, page, profile;
  const problems = [];

  before(async () => {
    assert.ok(BASE, "CONFCAL_URL is not set: run this through scripts/e2e");
    assert.ok(TOKEN, "CONFCAL_E2E_ADMIN_TOKEN is not set: run this through scripts/e2e");
    assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}`);
    await admin("PUT", `/api/conferences/${CONF}`, {
      conference: { slug: CONF, name: "Changes Conf 2026", timezone: "Europe/Berlin", venue: "Hall" },
      sessions: talks,
    });
    const s = (id) => `/api/conferences/${CONF}/sessions/${id}`;
    await admin("PUT", s("rust-async"), { ...talks[1], start: "2026-06-12T15:00", end: "2026-06-12T15:45", room: "Room 2" });
    await admin("PUT", s("sqlite"), { ...talks[2], title: "SQLite at any scale" });
    await admin("DELETE", s("atom"));
    await admin("PUT", s("lightning"), talk("lightning", "Lightning talks", "2026-06-12T17:00", "2026-06-12T18:00", "Main hall"));
    profile = mkdtempSync(join(tmpdir(), "confcal-e2e-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
      viewport: { width: 1000, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(String(e)));
  });

  after(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("shows each change on the changes page, reached from the conference page", async () => {
    await page.goto(`${BASE}/conferences/${CONF}`);
    const feed = await page.getAttribute('link[rel="alternate"][type="application/atom+xml"]', "href");
    assert.equal(feed, `/conferences/${CONF}/changes.atom`);
    await page.click("#changes-link");
    assert.equal(page.url(), `${BASE}/conferences/${CONF}/changes`);
    const items = await page.$$eval("#changes > li", (els) =>
      els.map((li) => ({
        kinds: li.querySelector(".kinds strong").textContent,
        title: li.querySelector(".kinds a").textContent,
        // As shown: without the words only screen readers get ("was: ").
        details: [...li.querySelectorAll("dd")].map((d) => {
          const shown = d.cloneNode(true);
          shown.querySelectorAll(".vh").forEach((e) => e.remove());
          return shown.textContent.replace(/\s+/g, " ").trim();
        }),
        spoken: [...li.querySelectorAll("dd")].map((d) => d.textContent.replace(/\s+/g, " ").trim()),
      })),
    );
    assert.deepEqual(items.find((i) => i.kinds === "Renamed").spoken, ["was: SQLite at scale → now: SQLite at any scale"]);
    for (const i of items) delete i.spoken;
    assert.deepEqual(items, [
      { kinds: "New", title: "Lightning talks", details: ["5:00pm to 6:00pm, Friday 12th June", "Main hall"] },
      { kinds: "Cancelled", title: "Feeds that last", details: ["on → cancelled"] },
      { kinds: "Renamed", title: "SQLite at any scale", details: ["SQLite at scale → SQLite at any scale"] },
      {
        kinds: "Moved · Room changed",
        title: "Async Rust in practice",
        details: ["10:30am to 11:15am, Friday 12th June → 3:00pm to 3:45pm, Friday 12th June", "Room 1 → Room 2"],
      },
    ]);
    assert.match(await page.textContent("main"), /times are in Europe\/Berlin/);
    const shot = join(SHOTS, "changes.png");
    // When each change was made is the time of this run: masked, so the
    // README's picture stays the same bytes from run to run.
    await page.screenshot({ path: shot, fullPage: true, mask: [page.locator("time")], maskColor: "#d5d9e0" });
    copyFileSync(shot, join(DOCS, "screenshot-changes.png"));
    // The talk's link leads to its page.
    await page.click("text=Async Rust in practice");
    assert.equal(page.url(), `${BASE}/conferences/${CONF}/sessions/rust-async`);
    assert.deepEqual(problems, []);
  });

  it("offers the same changes as Atom, read by feedparser", () => {
    const r = spawnSync(
      PY,
      [
        "scripts/check_changes_atom.py",
        `${BASE}/conferences/${CONF}/changes.atom`,
        "lightning",
        "Room: Main hall",
        "--entries", "4",
        "--has", "rust-async", "Time: 10:30am to 11:15am, Friday 12th June → 3:00pm to 3:45pm, Friday 12th June",
        "--has", "rust-async", "Room: Room 1 → Room 2",
        "--has", "sqlite", "Title: SQLite at scale → SQLite at any scale",
        "--has", "atom", "Status: on → cancelled",
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, `feedparser check failed:\n${r.stdout}${r.stderr}`);
  });
});
