// The administrator's screen: the insurer report export (partner, period, format; a progress bar
// fed by the console's ReportProgress event; the summary of what was saved) and the list of
// consultation outcomes (add, refuse a duplicate next to the field, retire).

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import {
  attributeBecomes,
  calls,
  countBecomes,
  eventually,
  focusBecomes,
  hold,
  launch,
  openConsole,
  release,
  serveUi,
  shot,
  signIn,
  sql,
  textBecomes,
  valueBecomes,
} from "./support.mjs";

let ui;
let browser;
let page;
before(async () => {
  ui = await serveUi();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ui?.stop();
});
afterEach(async () => {
  // A test that failed while the export was held must not leave it held for the next.
  await release(ui.url, "report_export");
  if (page) {
    assert.deepEqual(page.problems, []);
    await page.context().close();
    page = null;
  }
});

async function open(language) {
  page = await openConsole(browser, ui.url, language);
  await signIn(page, "admin");
  await page.locator("#report-partner option").first().waitFor({ state: "attached" });
  await page.locator(".outcome-list li").first().waitFor();
  return page;
}

/** A date (YYYY-MM-DD) in the clinic's time zone, where report periods are counted. */
const iso = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Oslo" }).format(d);

/**
 * Records the console's ReportProgress events as the bridge sends them to the page (what feeds
 * the bar); `progressEvents()` reads them.
 */
async function recordProgress() {
  await page.evaluate(
    () =>
      new Promise((ok, fail) => {
        window.__progress = [];
        const source = new EventSource("/events");
        source.onmessage = (m) => {
          const { event, payload } = JSON.parse(m.data);
          if (event === "report-progress") window.__progress.push(payload);
        };
        source.onopen = () => ok();
        source.onerror = () => fail(new Error("the bridge's events cannot be read"));
      }),
  );
}
const progressEvents = () => page.evaluate(() => window.__progress);

/** The outcomes in the database, in the order the console lists them (active first, by label). */
const storedOutcomes = () => sql("SELECT code, label, active FROM result_outcomes ORDER BY NOT active, label");

async function outcomes() {
  return page.locator(".outcome-list li").evaluateAll((items) =>
    items.map((li) => `${li.querySelector("span").textContent} ${li.querySelector("code").textContent} ${li.querySelector("button").textContent}`),
  );
}

describe("the admin screen", () => {
  test("exports the insurer report with a progress bar, then shows the summary", async () => {
    await open("en");
    await valueBecomes(page.locator("#report-partner"), "fjordtrygd", "the clinic's partner is chosen");
    const today = new Date();
    await valueBecomes(page.locator("#report-to"), iso(today), "the period ends today by default");
    const from = iso(new Date(today.getTime() - 7 * 86_400_000));
    await page.fill("#report-from", from);
    await recordProgress();
    await hold(ui.url, "report_export");
    await page.locator("#report-title ~ button[type=submit], form[aria-labelledby=report-title] button[type=submit]").click();

    // While the export is under way, before its first consultation is written (the bridge holds it
    // before it starts): a bar without a value yet, a label that says what is happening, not
    // "0 of 0", and the button says it is busy.
    const label = page.locator("label[for=report-progress]");
    await textBecomes(label, "Reading the consultations…");
    await attributeBecomes(page.locator("#report-progress"), "max", "100");
    await eventually(async () => assert.equal(await page.locator("#report-progress").evaluate((p) => p.hasAttribute("value")), false));
    await textBecomes(page.locator("form[aria-labelledby=report-title] button[type=submit]"), "Exporting…");
    await shot(page, "admin-report-progress-en");

    await release(ui.url, "report_export");
    const summary = page.locator(".report-summary");
    await summary.waitFor();
    await countBecomes(page.locator("#report-progress"), 0, "the bar goes when the export is done");
    await textBecomes(summary.locator("strong"), "8 consultations saved");
    const file = join(ui.home, "Downloads", `insurer-report-fjordtrygd-${from}-${iso(today)}.xlsx`);
    await textBecomes(summary.locator(".file-path"), file);
    assert.ok(existsSync(file), `the report is saved as ${file}`);
    // The progress the core reported while writing: the first row of 8, then all of them.
    await eventually(async () =>
      assert.deepEqual(await progressEvents(), [
        { done: 1, total: 8 },
        { done: 8, total: 8 },
      ]),
    );
    const facts = await summary.locator("dt").evaluateAll((dts) => dts.map((dt) => `${dt.textContent}: ${dt.nextElementSibling.textContent}`));
    assert.equal(facts[0], "Waiting time, median: 2 hrs");
    assert.equal(facts[3], "Deadline breaches: 1");
    assert.ok(facts.includes("Helped: 1"), `the outcomes are counted (${facts})`);
    // The total after discounts, as the database sums the partner's orders.
    const [{ total }] = sql("SELECT sum(total)::text AS total FROM orders");
    const shown = new Intl.NumberFormat("en-GB", { style: "currency", currency: "NOK", minimumFractionDigits: 2 }).format(total);
    assert.ok(facts.includes(`Total after discounts: ${shown}`), `the total is said (${facts})`);
    assert.deepEqual(await calls(page, "report_export"), [{ partner: "fjordtrygd", from, to: iso(today), format: "xlsx" }]);
    await shot(page, "admin-report-summary-en");
  });

  test("a period that ends before it starts is refused next to To, and no file is named", async () => {
    await open("en");
    await page.fill("#report-from", "2026-03-01");
    await page.fill("#report-to", "2026-02-01");
    // Whatever format the date fields use, the period is said in the console's language.
    await textBecomes(page.locator("#report-period"), "Consultations received from 1 Mar 2026 to 1 Feb 2026, both included (Norwegian time).");
    await page.check("input[name=report-format][value=csv]");
    await page.locator("form[aria-labelledby=report-title] button[type=submit]").click();
    await textBecomes(page.locator("#report-to-error"), "The period ends before it starts.");
    await attributeBecomes(page.locator("#report-to"), "aria-invalid", "true");
    await focusBecomes(page, "report-to");
    assert.equal(await page.locator(".report-summary").count(), 0);
    assert.equal((await calls(page, "report_export"))[0].format, "csv");
    await shot(page, "admin-report-error-en");
  });

  test("adds an outcome, refuses a duplicate next to the field, and retires one", async () => {
    await open("en");
    // The demo's outcomes, named in English; the list is the database's (another test may have added one).
    const listed = await outcomes();
    assert.deepEqual(
      listed.filter((o) => ["helped", "referred_gp", "unable"].includes(o.split(" ").at(-2))),
      ["Helped helped Retire", "Referred to GP referred_gp Retire", "Unable to help unable Retire"],
    );
    assert.deepEqual(
      listed.map((o) => o.split(" ").at(-2)),
      storedOutcomes().map((o) => o.code),
      "the database's outcomes, active first, by label",
    );
    const before = storedOutcomes().length;

    await page.fill("#outcome-label", "  helped ");
    await page.locator("#outcome-label ~ button, form:has(#outcome-label) button[type=submit]").click();
    await textBecomes(page.locator("#outcome-label-error"), "The outcome 'helped' already exists.");
    await attributeBecomes(page.locator("#outcome-label"), "aria-invalid", "true");
    assert.equal(storedOutcomes().length, before, "nothing added");
    await shot(page, "admin-outcome-duplicate-en");

    await page.fill("#outcome-label", "Referred to specialist");
    await page.locator("form:has(#outcome-label) button[type=submit]").click();
    await page.locator(".outcome-list li", { hasText: "Referred to specialist" }).waitFor();
    await countBecomes(page.locator("#outcome-label-error"), 0);
    await valueBecomes(page.locator("#outcome-label"), "");
    // In its place by its label, after Referred to GP.
    await eventually(async () => {
      const now = await outcomes();
      assert.equal(now.length, listed.length + 1);
      assert.equal(now[now.indexOf("Referred to GP referred_gp Retire") + 1], "Referred to specialist referred_to_specialist Retire");
    });
    assert.deepEqual(
      storedOutcomes().find((o) => o.code === "referred_to_specialist"),
      { code: "referred_to_specialist", label: "Referred to specialist", active: true },
    );

    await page.locator(".outcome-list li", { hasText: "Unable" }).locator("button").click();
    await page.locator(".outcome-list li.retired", { hasText: "Unable" }).waitFor();
    await eventually(async () => assert.equal((await outcomes()).at(-1), "Unable to help unable Restore", "a retired outcome goes last"));
    assert.equal(storedOutcomes().find((o) => o.code === "unable").active, false);
    await shot(page, "admin-outcomes-en");

    // Restored, it is offered again (and the other tests find the demo's outcomes as they were).
    await page.locator(".outcome-list li", { hasText: "Unable" }).getByRole("button", { name: "Restore" }).click();
    await page.locator(".outcome-list li:not(.retired)", { hasText: "Unable" }).waitFor();
    assert.equal(storedOutcomes().find((o) => o.code === "unable").active, true);
  });

  test("reads the audit log, checks its chain, and lists the staff", async () => {
    const newestBefore = sql("SELECT coalesce(max(id), 0) AS id FROM audit_log")[0].id;
    await open("en");
    await page.locator(".audit-table tbody tr").first().waitFor();
    // The newest rows of the log, newest first: a page of 50, as the database has them.
    await countBecomes(page.locator(".audit-table tbody tr"), 50);
    const shown = await page.locator(".audit-table tbody tr").evaluateAll((rows) =>
      rows.map((r) => {
        const td = [...r.querySelectorAll("td")].map((c) => c.textContent.trim());
        return `${td[0]} | ${td[2]} | ${td[3]} | ${td[4]}`;
      }),
    );
    const top = Number(shown[0].split(" | ")[0]);
    assert.ok(top >= newestBefore, `the newest row is shown (${top}, the log had ${newestBefore} before)`);
    const stored = sql(
      `SELECT id, actor, acting_for, action, entity_type, entity_id FROM audit_log WHERE id <= ${top} ORDER BY id DESC LIMIT 50`,
    ).map((r) => `${r.id} | ${r.actor}${r.acting_for ? ` (${r.acting_for})` : ""} | ${r.action} | ${r.entity_type} ${r.entity_id}`);
    assert.deepEqual(shown, stored);

    const rowsBefore = sql("SELECT count(*)::int AS n FROM audit_log")[0].n;
    await page.getByRole("button", { name: "Verify the chain" }).click();
    const intact = await textBecomes(page.locator(".alert-success[role=status]", { hasText: "chain" }), /^The chain is intact: \d+ rows checked\.$/);
    const checked = Number(intact.match(/(\d+) rows/)[1]);
    const rowsAfter = sql("SELECT count(*)::int AS n FROM audit_log")[0].n;
    assert.ok(checked >= rowsBefore && checked <= rowsAfter, `every row is checked: ${checked} of ${rowsBefore}–${rowsAfter}`);
    // The staff and the deliveries are lists of their own, each read when the screen opens.
    await countBecomes(page.locator("table[aria-labelledby=staff-title] tbody tr"), 5, "the demo clinic's five staff members");
    await page.getByText("No events have been sent to subscribers yet.").waitFor();
    assert.ok(await page.getByText("No events have been sent to subscribers yet.").isVisible());
    await shot(page, "admin-audit-en");
  });

  test("in Norwegian", async () => {
    await open("nb");
    assert.equal(await page.locator("#screen-title").textContent(), "Administrasjon");
    assert.equal(await page.locator("#outcomes-title").textContent(), "Utfall av konsultasjoner");
    await hold(ui.url, "report_export");
    await page.locator("form[aria-labelledby=report-title] button[type=submit]").click();
    await textBecomes(page.locator("label[for=report-progress]"), "Leser konsultasjonene …");
    await shot(page, "admin-report-progress-nb");
    await release(ui.url, "report_export");
    await textBecomes(page.locator(".report-summary strong"), "8 konsultasjoner lagret");
    // The clinic's standard outcomes are named in Norwegian; an added one by its own label.
    assert.ok((await page.locator(".outcome-list li").allTextContents()).some((t) => t.startsWith("Hjulpet")));
    await page.fill("#outcome-label", "Henvist til spesialist");
    await page.locator("form:has(#outcome-label) button[type=submit]").click();
    await page.locator(".outcome-list li", { hasText: "Henvist til spesialist" }).waitFor();
    await page.fill("#outcome-label", "henvist til spesialist!");
    await page.locator("form:has(#outcome-label) button[type=submit]").click();
    await textBecomes(page.locator("#outcome-label-error"), "The outcome 'henvist_til_spesialist' already exists.");
    await shot(page, "admin-nb");
  });
});
