// End-to-end: the real confcal binary (started by scripts/e2e, URL in
// CONFCAL_URL) driven by Debian's headless Chromium through playwright-core.
// The pages' main flow: filter by day and room with the form, see exactly the
// right sessions, follow the subscribe link and get a feed with exactly
// those sessions, download one talk's .ics, star two talks, open the agenda
// page and see them and its subscribe link. Also: the same without
// JavaScript, and no Content-Security-Policy violation anywhere.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

// playwright-core lives with the other Node test tools in scripts/.
const require = createRequire(new URL("../../scripts/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const BASE = process.env.CONFCAL_URL;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOTS || "target/screenshots";
const HOST = BASE ? new URL(BASE).hostname : "";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/// A browser with a fresh profile; fails (does not skip) without Chromium.
async function launch(options = {}) {
  assert.ok(BASE, "CONFCAL_URL is not set: run this through scripts/e2e");
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}`);
  const profile = mkdtempSync(join(tmpdir(), "confcal-e2e-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    acceptDownloads: true,
    viewport: { width: 1000, height: 900 },
    ...options,
  });
  const problems = [];
  context.on("page", (p) => watch(p, problems));
  for (const p of context.pages()) watch(p, problems);
  return {
    context,
    problems,
    page: context.pages()[0] ?? (await context.newPage()),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/// Collects CSP violations and script errors: the pages must have none.
function watch(page, problems) {
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
}

const sessionIds = (page) =>
  page.$$eval('main [id^="s-"]', (els) => els.map((e) => e.id.slice(2)));

/// UIDs of a calendar's events (content lines unfolded first).
function uids(ics) {
  const text = ics.replace(/\r\n[ \t]/g, "");
  return text
    .split("\r\n")
    .filter((l) => l.startsWith("UID:"))
    .map((l) => l.slice(4))
    .sort();
}

/// GET from inside the page (same origin, the browser's own cookies).
const fetchText = (page, url) =>
  page.evaluate(async (u) => {
    const r = await fetch(u);
    return { status: r.status, type: r.headers.get("content-type"), body: await r.text() };
  }, url);

async function apiIds(query) {
  const r = await fetch(`${BASE}/api/conferences/dst-lab/sessions?${query}&status=all`);
  assert.equal(r.status, 200);
  return (await r.json()).sessions.map((s) => s.id);
}

async function star(page, id) {
  const card = page.locator(`#s-${id}`);
  await Promise.all([page.waitForNavigation(), card.getByRole("button", { name: "☆ Star" }).click()]);
  await assert.doesNotReject(
    card.getByRole("button", { name: /Starred/ }).waitFor({ timeout: 5000 }),
    `${id} shows as starred`,
  );
}

describe("sessions, subscribe, download, star, agenda (with JavaScript)", () => {
  let b;
  before(async () => {
    b = await launch();
  });
  after(async () => {
    if (b) await b.close();
  });

  const expected = ["spring-gap-span", "sun-morning"];

  it("filters by day and room with the form", async () => {
    const { page } = b;
    await page.goto(`${BASE}/conferences/dst-lab`);
    assert.equal(await page.locator("h1").textContent(), "Sessions at DST Lab");
    await page.getByLabel("Day").selectOption("2012-03-11");
    await page.getByLabel("Room").selectOption("B");
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Show sessions" }).click()]);
    assert.equal(page.url(), `${BASE}/conferences/dst-lab?day=2012-03-11&room=B`);
    assert.deepEqual(await sessionIds(page), expected);
    assert.deepEqual(await sessionIds(page), await apiIds("day=2012-03-11&room=B"));
    assert.match(await page.locator("h1").textContent(), /matching your filters/);
    const current = await page.locator("#current-filters li").allTextContents();
    assert.deepEqual(current.map((t) => t.replace("×", "").trim()), ["Day: Sunday 11th March", "Room: B"]);
    const when = await page.locator("#s-sun-morning p").first().textContent();
    assert.equal(when, "9:00am to 10:00am · B · by Donald Knuth");
    assert.deepEqual(await page.locator(".listday h3").allTextContents(), ["Sunday 11th March"]);
    // JavaScript shows the copy button (it is hidden without).
    assert.ok(await page.getByRole("button", { name: "Copy" }).isVisible());
    await page.screenshot({ path: join(SHOTS, "sessions-filtered.png"), fullPage: true });
  });

  it("follows the subscribe link to a feed of exactly those sessions", async () => {
    const { page } = b;
    const href = await page.locator("#subscribe-https").getAttribute("href");
    assert.equal(href, `${BASE}/conferences/dst-lab/sessions.ics?day=2012-03-11&room=B`);
    assert.equal(
      await page.locator("#subscribe-webcal").getAttribute("href"),
      href.replace(/^http:/, "webcal:"),
    );
    assert.equal(
      await page.locator("#subscribe-google").getAttribute("href"),
      "https://calendar.google.com/calendar/r?cid=" + encodeURIComponent(href),
    );
    const feed = await fetchText(page, href);
    assert.equal(feed.status, 200);
    assert.match(feed.type, /^text\/calendar/);
    assert.deepEqual(uids(feed.body), expected.map((id) => `${id}.dst-lab@${HOST}`).sort());
  });

  it("downloads one talk's .ics from its page", async () => {
    const { page } = b;
    const list = page.url();
    await Promise.all([page.waitForNavigation(), page.locator("#s-sun-morning h4 a").click()]);
    assert.equal(page.url(), `${BASE}/conferences/dst-lab/sessions/sun-morning`);
    const card = page.locator("#s-sun-morning");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      card.getByRole("link", { name: "Download .ics" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "sun-morning.ics");
    const ics = readFileSync(await download.path(), "utf8");
    assert.match(ics, /^BEGIN:VCALENDAR\r\n/);
    assert.deepEqual(uids(ics), [`sun-morning.dst-lab@${HOST}`]);
    assert.match(ics, /DTSTART;TZID=America\/Los_Angeles:20120311T090000\r\n/);
    const google = await card.getByRole("link", { name: "Add to Google Calendar" }).getAttribute("href");
    assert.ok(
      google.startsWith(
        "https://calendar.google.com/calendar/render?action=TEMPLATE&dates=20120311T160000Z/20120311T170000Z&text=",
      ),
      google,
    );
    await page.goto(list);
  });

  it("stars two talks from the page", async () => {
    const { page, context } = b;
    for (const id of expected) await star(page, id);
    assert.equal(page.url().split("#")[0], `${BASE}/conferences/dst-lab?day=2012-03-11&room=B`);
    const cookie = (await context.cookies(BASE)).find((c) => c.name === "confcal_agenda");
    assert.ok(cookie, "the agenda cookie is set");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Lax");
    assert.equal(cookie.path, "/");
    // HttpOnly: page scripts cannot read it.
    assert.ok(!(await page.evaluate(() => document.cookie)).includes("confcal_agenda"));
  });

  it("opens the agenda page with both talks and its subscribe link", async () => {
    const { page, context } = b;
    await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: "★ My agenda" }).click()]);
    const m = page.url().match(/\/agendas\/([A-Za-z0-9_-]{43})$/);
    assert.ok(m, page.url());
    const token = m[1];
    const cookie = (await context.cookies(BASE)).find((c) => c.name === "confcal_agenda");
    assert.equal(cookie.value, token);
    assert.equal(await page.locator("h1").textContent(), "My agenda");
    assert.deepEqual(await sessionIds(page), expected);
    assert.deepEqual(await page.locator("main h2[id^=day-]").allTextContents(), ["Sunday 11th March 2012"]);
    const href = await page.locator("#subscribe-https").getAttribute("href");
    assert.equal(href, `${BASE}/agendas/${token}.ics`);
    assert.ok(await page.getByRole("link", { name: "Subscribe in Google Calendar" }).isVisible());
    assert.ok(await page.getByRole("link", { name: "Subscribe in Outlook.com" }).isVisible());
    const feed = await fetchText(page, href);
    assert.equal(feed.status, 200);
    assert.deepEqual(uids(feed.body), expected.map((id) => `${id}.dst-lab@${HOST}`).sort());
    await page.screenshot({ path: join(SHOTS, "agenda.png"), fullPage: true });
  });

  it("had no script errors or CSP violations", () => {
    assert.deepEqual(b.problems, []);
  });
});

describe("the same without JavaScript", () => {
  let b;
  before(async () => {
    b = await launch({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
  });
  after(async () => {
    if (b) await b.close();
  });

  it("filters, stars and shows the agenda with plain forms and links", async () => {
    const { page } = b;
    await page.goto(`${BASE}/conferences/pycon-us-2012`);
    await page.getByLabel("Room").selectOption("E1");
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Show sessions" }).click()]);
    assert.equal(page.url(), `${BASE}/conferences/pycon-us-2012?room=E1`);
    const ids = await sessionIds(page);
    assert.deepEqual(ids, ["make-sure-your-programs-crash", "introspecting-running-python-processes"]);
    assert.equal(await page.getByRole("button", { name: "Copy" }).isVisible(), false);
    await star(page, ids[0]);
    await Promise.all([page.waitForNavigation(), page.getByRole("link", { name: "★ My agenda" }).click()]);
    assert.match(page.url(), /\/agendas\/[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(await sessionIds(page), [ids[0]]);
    // Unstar from the agenda page.
    await Promise.all([
      page.waitForNavigation(),
      page.getByRole("button", { name: /Unstar/ }).click(),
    ]);
    assert.deepEqual(await sessionIds(page), []);
    // A phone-width page has no horizontal scrolling.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
  });
});
