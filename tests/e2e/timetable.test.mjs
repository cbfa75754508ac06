// End-to-end, issue 16: the attendee's pages in Debian's headless Chromium.
// The seed's timetable (PyCon US 2012, Friday 9 March: E1, E2, E3) with the
// talks in the right rows and columns, measured on the rendered page; a DST
// day's grid; a generated 1,000-talk conference's list and timetable with
// their page weight and render time (reported, never asserted on time); a
// switch to another time zone and back; now and next; axe-core on every
// page kind; the no-JavaScript pass at phone width. Screenshots of the
// timetable (desktop, phone), now and next and a talk page go to docs/.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(new URL("../../scripts/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const BASE = process.env.CONFCAL_URL;
const TOKEN = process.env.CONFCAL_E2E_ADMIN_TOKEN;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOTS || "target/screenshots";
const DOCS = process.env.DOCS_SHOTS || SHOTS;
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const figures = {};

async function launch(options = {}) {
  assert.ok(BASE, "CONFCAL_URL is not set: run this through scripts/e2e");
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}`);
  const profile = mkdtempSync(join(tmpdir(), "confcal-e2e-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1200, height: 900 },
    ...options,
  });
  const problems = [];
  const watch = (p) => {
    p.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    p.on("pageerror", (e) => problems.push(String(e)));
    p.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
  };
  context.on("page", watch);
  context.pages().forEach(watch);
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

const ids = (page) => page.$$eval('main [id^="s-"]', (els) => els.map((e) => e.id.slice(2)));
const box = async (page, sel) => {
  const b = await page.locator(sel).boundingBox();
  assert.ok(b, `${sel} is shown`);
  return b;
};
const near = (a, b, what, tol = 2) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

/// Page weight (HTML bytes) and the browser's timings of the last navigation.
async function timings(page) {
  return page.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0];
    return {
      html_bytes: n.decodedBodySize,
      response_ms: Math.round(n.responseEnd - n.requestStart),
      dom_content_loaded_ms: Math.round(n.domContentLoadedEventEnd - n.startTime),
      load_ms: Math.round(n.loadEventEnd - n.startTime),
    };
  });
}

describe("the seed's timetable and the DST day (with JavaScript)", () => {
  let b;
  before(async () => {
    b = await launch();
  });
  after(async () => {
    if (b) await b.close();
  });

  it("puts Friday's talks in their rooms' columns and their times' rows", async () => {
    const { page } = b;
    await page.goto(`${BASE}/conferences/pycon-us-2012`);
    await Promise.all([page.waitForNavigation(), page.locator("#view-timetable").click()]);
    assert.equal(page.url(), `${BASE}/conferences/pycon-us-2012/timetable`);
    await page.getByRole("link", { name: "Friday 9th March", exact: true }).click();
    await page.waitForURL(/day=2012-03-09/);
    const rooms = await page.locator(".room-h").allTextContents();
    assert.deepEqual(rooms, ["E1", "E2", "E3"]);
    const col = {};
    for (const r of rooms) col[r] = await box(page, `.room-h:text-is("${r}")`);
    const at = {};
    for (const id of await ids(page)) at[id] = await box(page, `#s-${id}`);
    const inRoom = (id, r) => {
      const c = col[r];
      assert.ok(at[id].x >= c.x - 1 && at[id].x + at[id].width <= c.x + c.width + 1, `${id} in ${r}`);
    };
    inRoom("dismantling-jinja", "E2");
    inRoom("apache-cassandra-and-python", "E2");
    inRoom("make-sure-your-programs-crash", "E1");
    inRoom("introspecting-running-python-processes", "E1");
    inRoom("python-metaprogramming-for-mad-scientists", "E3");
    // Rows: 2:00pm is where the first hour line is; 40 minutes is 8 rows,
    // 30 minutes 6, and back-to-back talks touch.
    const two = await box(page, '.hour:has-text("2:00pm")');
    const three = await box(page, '.hour:has-text("3:00pm")');
    const hour = three.y - two.y;
    const row = hour / 12;
    near(at["dismantling-jinja"].y, two.y, "2:00pm starts at the 2pm line", 3);
    near(at["dismantling-jinja"].height, 8 * row, "40 minutes", 4);
    near(at["make-sure-your-programs-crash"].height, 6 * row, "30 minutes", 4);
    near(at["apache-cassandra-and-python"].y, at["dismantling-jinja"].y + 8 * row, "2:40pm", 3);
    near(at["make-sure-your-programs-crash"].y, two.y + 16 * row, "3:20pm", 3);
    near(at["python-metaprogramming-for-mad-scientists"].y, two.y + 29 * row, "4:25pm", 3);
    // Keyboard: Tab walks the talks in time order.
    const order = [];
    await page.locator("#s-dismantling-jinja h3 a").focus();
    for (let i = 0; i < 10 && order.length < 5; i++) {
      const id = await page.evaluate(() => document.activeElement.closest("article")?.id);
      if (id && order.at(-1) !== id) order.push(id);
      await page.keyboard.press("Tab");
    }
    assert.deepEqual(order, [
      "s-dismantling-jinja",
      "s-apache-cassandra-and-python",
      "s-make-sure-your-programs-crash",
      "s-python-metaprogramming-for-mad-scientists",
      "s-introspecting-running-python-processes",
    ]);
    // Focus is visible: an outline on the focused link.
    await page.locator("#s-apache-cassandra-and-python h3 a").focus();
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, "none");
    mkdirSync(DOCS, { recursive: true });
    // A fresh view of the page (no focus, at the top) for the README.
    await page.goto(page.url());
    await page.screenshot({ path: join(DOCS, "screenshot-timetable.png"), fullPage: false });
  });

  it("draws the 23-hour day by real time", async () => {
    const { page } = b;
    await page.goto(`${BASE}/conferences/dst-lab/timetable?day=2012-03-11`);
    const labels = (await page.locator(".hour").allTextContents()).map((t) => t.trim());
    assert.deepEqual(labels.slice(0, 3), ["12:00am", "1:00am", "3:00am"]);
    const span = await box(page, "#s-spring-gap-span");
    const before = await box(page, "#s-sun-before-gap");
    const afterGap = await box(page, "#s-sun-after-gap");
    // 1:30am PST to 3:30am PDT is one hour, like the plain hour before it.
    near(span.height, before.height, "the gap-spanning talk is an hour tall", 3);
    // 3:00am PDT starts half an hour after 1:30am PST.
    near(afterGap.y - span.y, before.height / 2, "3:00am is 30 minutes after 1:30am", 3);
    await page.screenshot({ path: join(SHOTS, "timetable-dst.png"), fullPage: true });
  });

  it("prints the timetable legibly", async () => {
    const { page } = b;
    await page.goto(`${BASE}/conferences/pycon-us-2012/timetable?day=2012-03-09`);
    await page.emulateMedia({ media: "print" });
    for (const sel of ["#zone-form", ".views", ".subscribe", "#s-dismantling-jinja button"]) {
      assert.equal(await page.locator(sel).first().isVisible(), false, `${sel} is not printed`);
    }
    assert.equal(await page.locator(".tt-grid").evaluate((e) => getComputedStyle(e).display), "grid");
    const slot = await page.locator("#s-dismantling-jinja").evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.equal(slot, "rgb(255, 255, 255)", "black on white");
    await page.pdf({ path: join(SHOTS, "timetable-print.pdf"), format: "A4", landscape: true });
    await page.emulateMedia({ media: "screen" });
  });

  it("switches to another time zone and back", async () => {
    const { page, context } = b;
    await page.goto(`${BASE}/conferences/pycon-us-2012/timetable?day=2012-03-09`);
    assert.equal(await page.locator(".mine").count(), 0);
    await page.getByLabel("Show times also in").fill("Asia/Tokyo");
    await Promise.all([page.waitForNavigation(), page.getByRole("button", { name: "Show", exact: true }).click()]);
    assert.match(page.url(), /tz=Asia%2FTokyo/);
    assert.match(page.url(), /day=2012-03-09/, "the form keeps the day");
    assert.equal(
      (await page.locator("#s-dismantling-jinja .mine").textContent()).trim(),
      "(7:00am–7:40am Asia/Tokyo)",
    );
    // Remembered: the list shows Tokyo's times too, beside the conference's.
    await page.goto(`${BASE}/conferences/pycon-us-2012`);
    assert.equal(
      await page.locator("#s-dismantling-jinja .mine").textContent(),
      "7:00am to 7:40am, Saturday 10th March (Asia/Tokyo)",
    );
    const cookie = (await context.cookies(BASE)).find((c) => c.name === "confcal_tz");
    assert.equal(cookie?.value, "Asia/Tokyo");
    await Promise.all([page.waitForNavigation(), page.locator("#tz-reset").click()]);
    assert.equal(await page.locator(".mine").count(), 0);
    assert.equal((await context.cookies(BASE)).find((c) => c.name === "confcal_tz"), undefined);
    assert.match(await page.locator("#tz-note").textContent(), /Conference time: America\/Los_Angeles/);
  });

  it("shows now and next at a given moment", async () => {
    const { page } = b;
    await page.goto(`${BASE}/conferences/pycon-us-2012/now?at=2012-03-09T14:10`);
    assert.equal(await page.locator("[data-now]").getAttribute("data-now"), "dismantling-jinja");
    const next = await page.$$eval("[data-next]", (els) => els.map((e) => e.dataset.next));
    assert.deepEqual(next, [
      "make-sure-your-programs-crash",
      "apache-cassandra-and-python",
      "python-metaprogramming-for-mad-scientists",
    ]);
    await page.screenshot({ path: join(DOCS, "screenshot-now.png"), fullPage: true });
    await page.goto(`${BASE}/conferences/pycon-us-2012/sessions/dismantling-jinja`);
    const google = await page.getByRole("link", { name: "Add to Google Calendar" }).getAttribute("href");
    assert.ok(google.includes("dates=20120309T220000Z/20120309T224000Z"), google);
    await page.screenshot({ path: join(DOCS, "screenshot-talk.png"), fullPage: true });
  });

  it("had no script errors or CSP violations", () => {
    assert.deepEqual(b.problems, []);
  });
});

describe("a 1,000-talk conference", () => {
  let b;
  before(async () => {
    b = await launch();
  });
  after(async () => {
    if (b) await b.close();
  });

  it("lists it in at most 300 KB of HTML and renders its timetable", async (t) => {
    const { page } = b;
    await page.goto(`${BASE}/conferences/bench-conf`);
    const list = await timings(page);
    assert.equal((await ids(page)).length, 1000);
    assert.ok(list.html_bytes <= 300 * 1024, `the list is ${list.html_bytes} bytes`);
    await page.goto(`${BASE}/conferences/bench-conf/timetable`);
    const grid = await timings(page);
    const shown = (await ids(page)).length;
    assert.ok(shown > 50, `${shown} talks in the first day's grid`);
    figures.bench_list = list;
    figures.bench_timetable = { ...grid, talks: shown };
    t.diagnostic(`1,000-talk list: ${JSON.stringify(list)}`);
    t.diagnostic(`its timetable (first day, ${shown} talks): ${JSON.stringify(grid)}`);
    console.log(`e2e figures: ${JSON.stringify(figures)}`);
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(join(SHOTS, "figures.json"), JSON.stringify(figures, null, 2) + "\n");
  });
});

describe("axe-core on every page kind", () => {
  let b;
  let agenda;
  before(async () => {
    // axe is injected as an inline script, which the pages' CSP forbids.
    b = await launch({ bypassCSP: true });
    const { page } = b;
    await page.goto(`${BASE}/conferences/pycon-us-2012`);
    await Promise.all([
      page.waitForNavigation(),
      page.locator("#s-dismantling-jinja").getByRole("button", { name: "☆ Star" }).click(),
    ]);
    await page.locator("#s-apache-cassandra-and-python").getByRole("button", { name: "☆ Star" }).click();
    await page.waitForLoadState();
    await page.goto(`${BASE}/agendas`);
    agenda = page.url();
    // A conference of its own with a change (the seed's must stay as it is
    // for the other tests), so that the changes page has entries to check.
    const admin = async (method, path, body) => {
      const r = await fetch(BASE + path, {
        method,
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.ok(r.ok, `${method} ${path}: ${r.status} ${await r.text()}`);
    };
    const talk = (id, start, end, room) => ({
      id, title: `Talk ${id}`, speakers: ["Ada Example"], start, end, room, tracks: [],
      abstract: "About it.", notes: null, url: null, kind: "talk",
    });
    await admin("PUT", "/api/conferences/e2e-axe", {
      conference: { slug: "e2e-axe", name: "Axe Conf", timezone: "Europe/Berlin" },
      sessions: [talk("one", "2026-06-12T09:00", "2026-06-12T10:00", "A"), talk("two", "2026-06-12T10:30", "2026-06-12T11:00", "B")],
    });
    await admin("PUT", "/api/conferences/e2e-axe/sessions/one",
      talk("one", "2026-06-12T09:30", "2026-06-12T10:30", "B"));
  });
  after(async () => {
    if (b) await b.close();
  });

  const pages = () => [
    ["home", "/"],
    ["list", "/conferences/pycon-us-2012"],
    ["list, filtered, my zone", "/conferences/pycon-us-2012?room=E2&tz=Europe%2FBerlin"],
    ["timetable", "/conferences/pycon-us-2012/timetable?day=2012-03-09&tz="],
    ["timetable, DST day", "/conferences/dst-lab/timetable?day=2012-11-04"],
    ["now and next", "/conferences/pycon-us-2012/now?at=2012-03-09T14:10"],
    ["now, before", "/conferences/pycon-us-2012/now?at=2012-01-01T10:00"],
    ["talk", "/conferences/pycon-us-2012/sessions/apache-cassandra-and-python"],
    ["agenda", agenda.slice(BASE.length)],
    ["changes", "/conferences/e2e-axe/changes"],
    ["changes, my zone", "/conferences/e2e-axe/changes?tz=Asia%2FTokyo"],
    ["agenda's changes", agenda.slice(BASE.length) + "/changes"],
    ["error", "/conferences/pycon-us-2012/timetable?day=nonsense"],
  ];

  it("finds no serious or critical violation", async (t) => {
    const { page, context } = b;
    const found = [];
    const all = [...pages(), ["no agenda yet", "/agendas", "clear cookies"]];
    for (const [kind, path, clear] of all) {
      if (clear) await context.clearCookies();
      await page.goto(BASE + path);
      await page.addScriptTag({ content: AXE });
      const r = await page.evaluate(async () => {
        const res = await window.axe.run(document, { resultTypes: ["violations"] });
        return res.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ") + " " + (n.any[0]?.message || "")).slice(0, 3) }));
      });
      const bad = r.filter((v) => v.impact === "serious" || v.impact === "critical");
      t.diagnostic(`${kind}: ${r.length ? JSON.stringify(r) : "no violations"}`);
      if (bad.length) found.push({ kind, path, bad });
    }
    assert.deepEqual(found, []);
  });
});

describe("without JavaScript at phone width", () => {
  let b;
  before(async () => {
    b = await launch({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
  });
  after(async () => {
    if (b) await b.close();
  });

  it("shows the timetable as a list by start time, and stars from it", async () => {
    const { page } = b;
    await page.goto(`${BASE}/conferences/pycon-us-2012/timetable?day=2012-03-09`);
    assert.equal(await page.locator(".room-h").first().isVisible(), false);
    const order = await ids(page);
    let last = -1;
    let x = null;
    for (const id of order) {
      const bb = await box(page, `#s-${id}`);
      assert.ok(bb.y > last, `${id} below the one before`);
      if (x !== null) near(bb.x, x, "one column");
      last = bb.y;
      x = bb.x;
    }
    // Each talk says its room when the columns are gone.
    assert.match(await page.locator("#s-dismantling-jinja .where").textContent(), /E2/);
    assert.ok(await page.locator("#s-dismantling-jinja .where").isVisible());
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
    await page.screenshot({ path: join(DOCS, "screenshot-timetable-phone.png"), fullPage: false });
    await Promise.all([
      page.waitForNavigation(),
      page.locator("#s-dismantling-jinja").getByRole("button", { name: "☆ Star" }).click(),
    ]);
    assert.match(page.url(), /timetable\?day=2012-03-09#s-dismantling-jinja$/);
    assert.ok(await page.locator("#s-dismantling-jinja").getByRole("button", { name: /Starred/ }).isVisible());
    assert.match(await page.locator("#s-dismantling-jinja").getAttribute("class"), /is-starred/);
    // Now and next, without JavaScript, on a phone.
    await page.goto(`${BASE}/conferences/pycon-us-2012/now?at=2012-03-09T15:30`);
    assert.equal(await page.locator("[data-now]").getAttribute("data-now"), "make-sure-your-programs-crash");
    const o2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(o2 <= 0, `now page is ${o2}px wider than the phone`);
  });
});
