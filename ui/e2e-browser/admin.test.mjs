// The administrator's screen: the insurer report export (partner, period, format; a progress bar
// fed by the console's ReportProgress event; the summary of what was saved) and the list of
// consultation outcomes (add, refuse a duplicate next to the field, retire).

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import {
  attributeBecomes,
  calls,
  countBecomes,
  eventually,
  focusBecomes,
  launch,
  openConsole,
  serveUi,
  shot,
  signIn,
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

const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;

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
    await page.evaluate(() => window.__digimed.holdReport());
    await page.locator("#report-title ~ button[type=submit], form[aria-labelledby=report-title] button[type=submit]").click();

    // While the file is written: the progress bar and the count so far.
    const label = page.locator("label[for=report-progress]");
    await label.waitFor();
    await page.waitForFunction(() => document.querySelector("label[for=report-progress]")?.textContent === "Writing 1 of 8 consultations");
    await attributeBecomes(page.locator("#report-progress"), "max", "100");
    await eventually(async () => assert.equal(await page.locator("#report-progress").evaluate((p) => p.value), 13));
    await textBecomes(page.locator("form[aria-labelledby=report-title] button[type=submit]"), "Exporting…");
    await shot(page, "admin-report-progress-en");

    await page.evaluate(() => window.__digimed.releaseReport());
    const summary = page.locator(".report-summary");
    await summary.waitFor();
    await countBecomes(page.locator("#report-progress"), 0, "the bar goes when the export is done");
    await textBecomes(summary.locator("strong"), "8 consultations saved");
    await textBecomes(summary.locator(".file-path"), `/home/hanne/Downloads/insurer-report-fjordtrygd-${from}-${iso(today)}.xlsx`);
    const facts = await summary.locator("dt").evaluateAll((dts) => dts.map((dt) => `${dt.textContent}: ${dt.nextElementSibling.textContent}`));
    assert.equal(facts[0], "Waiting time, median: 2 hrs");
    assert.equal(facts[3], "Deadline breaches: 1");
    assert.ok(facts.includes("Helped: 1"), `the outcomes are counted (${facts})`);
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
    assert.deepEqual(await outcomes(), ["Helped helped Retire", "Referred to GP referred_gp Retire", "Unable to help unable Retire"]);

    await page.fill("#outcome-label", "  helped ");
    await page.locator("#outcome-label ~ button, form:has(#outcome-label) button[type=submit]").click();
    await textBecomes(page.locator("#outcome-label-error"), "The outcome 'helped' already exists.");
    await attributeBecomes(page.locator("#outcome-label"), "aria-invalid", "true");
    assert.equal((await page.evaluate(() => window.__digimed.outcomes())).length, 3, "nothing added");
    await shot(page, "admin-outcome-duplicate-en");

    await page.fill("#outcome-label", "Referred to specialist");
    await page.locator("form:has(#outcome-label) button[type=submit]").click();
    await page.locator(".outcome-list li", { hasText: "Referred to specialist" }).waitFor();
    await countBecomes(page.locator("#outcome-label-error"), 0);
    await valueBecomes(page.locator("#outcome-label"), "");
    await eventually(async () =>
      assert.deepEqual(await outcomes(), [
        "Helped helped Retire",
        "Referred to GP referred_gp Retire",
        "Referred to specialist referred_to_specialist Retire",
        "Unable to help unable Retire",
      ]),
    );

    await page.locator(".outcome-list li", { hasText: "Unable" }).locator("button").click();
    await page.locator(".outcome-list li.retired", { hasText: "Unable" }).waitFor();
    await eventually(async () => assert.equal((await outcomes()).at(-1), "Unable to help unable Restore", "a retired outcome goes last"));
    await shot(page, "admin-outcomes-en");
  });

  test("reads the audit log, checks its chain, and lists the staff", async () => {
    await open("en");
    await page.locator(".audit-table tbody tr").first().waitFor();
    await countBecomes(page.locator(".audit-table tbody tr"), 3);
    await page.getByRole("button", { name: "Verify the chain" }).click();
    await page.getByText("The chain is intact: 3 rows checked.").waitFor();
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
    await page.evaluate(() => window.__digimed.holdReport());
    await page.locator("form[aria-labelledby=report-title] button[type=submit]").click();
    await page.waitForFunction(() => document.querySelector("label[for=report-progress]")?.textContent === "Skriver 1 av 8 konsultasjoner");
    await shot(page, "admin-report-progress-nb");
    await page.evaluate(() => window.__digimed.releaseReport());
    await textBecomes(page.locator(".report-summary strong"), "8 konsultasjoner lagret");
    // The seed's outcomes are named in Norwegian; an added one by its own label.
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
