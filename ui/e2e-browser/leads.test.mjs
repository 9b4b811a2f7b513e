// The support agent's leads on the real core: the demo's callers without an account, listed with
// masked phones (each read audited); a minor in an uncovered postcode refused criterion by
// criterion with nothing written; an adult in a partner's area converted into a patient, who then
// leaves the list and opens on the patient card. In English and in bokmål.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { attributeBecomes, countBecomes, eventually, launch, openConsole, serveUi, shot, signIn, sql, textBecomes, valueBecomes } from "./support.mjs";

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

const TEXT = {
  en: {
    nav: "Leads",
    check: "Check",
    convert: "Convert to patient",
    failed: "The clinic cannot serve them",
    passed: "The clinic can serve them",
    underAge: "under 18; the clinic serves adults.",
    notCovered: "neither the clinic nor its partners cover this postcode.",
    offered: "the clinic offers this channel.",
    converted: (name) => `${name} is now a patient`,
    count: (n) => `${n} without an account`,
  },
  nb: {
    nav: "Interessenter",
    check: "Sjekk",
    convert: "Gjør til pasient",
    failed: "Klinikken kan ikke ta imot dem",
    passed: "Klinikken kan ta imot dem",
    underAge: "under 18 år; klinikken tar imot voksne.",
    notCovered: "verken klinikken eller partnerne dekker dette postnummeret.",
    offered: "klinikken tilbyr denne kanalen.",
    converted: (name) => `${name} er nå pasient`,
    count: (n) => `${n} uten konto`,
  },
};

/** The demo's lead named `name`: their person id, account and link's entry point. */
function leadRow(name) {
  return sql(
    `SELECT pp.id, pp.user_id, p.id AS patient_id, p.entry_point FROM patient_persons pp
       JOIN patients p ON p.patient_person_id = pp.id WHERE pp.name = '${name}'`,
  );
}

async function openLeads(language) {
  page = await openConsole(browser, ui.url, language);
  await signIn(page, "customer_support");
  await page.locator(".shell-nav .nav-item", { hasText: TEXT[language].nav }).click();
  await textBecomes(page.locator("#screen-title"), TEXT[language].nav);
  return page;
}

function row(name) {
  return page.locator(".leads-table tbody tr", { hasText: name });
}

function criterion(name) {
  return page.locator(`.lead-check [data-criterion="${name}"]`);
}

describe("leads", () => {
  test("the list shows the callers without an account, and a lead the clinic cannot serve is refused criterion by criterion (en)", async () => {
    const reads = Number(sql("SELECT count(*) AS n FROM audit_log WHERE action = 'READ' AND entity_type = 'patient_persons'")[0].n);
    await openLeads("en");
    const t = TEXT.en;
    await countBecomes(page.locator(".leads-table tbody tr"), 3);
    await textBecomes(page.locator(".leads-count"), t.count(3));
    await textBecomes(row("Kristin Hovland").locator("td").nth(4), "+47*****001");
    await textBecomes(row("Unknown caller").locator("td").nth(1), "Called the clinic");
    // Each phone shown was read through the audited path, in the agent's name.
    await eventually(() => {
      const n = Number(sql("SELECT count(*) AS n FROM audit_log WHERE action = 'READ' AND entity_type = 'patient_persons'")[0].n);
      assert.ok(n >= reads + 3, `three audited phone reads (had ${reads}, now ${n})`);
    });
    await shot(page, "leads-list-en");

    await row("Oskar Lien").click();
    const panel = page.locator(".lead-panel");
    await textBecomes(panel.locator("h2"), "Oskar Lien");
    await valueBecomes(panel.locator("#lead-date_of_birth"), "2011-03-30");
    await panel.locator("#lead-email").fill("oskar.lien@example.com");
    await panel.locator("#lead-postcode").fill("7010");
    await panel.locator("#lead-channel").selectOption("phone");
    await panel.getByRole("button", { name: t.check, exact: true }).click();
    await textBecomes(page.locator(".lead-check h4"), t.failed);
    await attributeBecomes(criterion("age"), "class", "criterion-failed");
    await textBecomes(criterion("age"), new RegExp(t.underAge.replace(/[.;]/g, ".")));
    await attributeBecomes(criterion("coverage"), "class", "criterion-failed");
    await textBecomes(criterion("coverage"), new RegExp(t.notCovered.replace(/[.;]/g, ".")));
    await attributeBecomes(criterion("channel"), "class", "criterion-passed");
    await shot(page, "leads-check-refused-en");

    // Converting anyway is refused by the core with the same criteria, and writes nothing.
    const before = leadRow("Oskar Lien");
    await panel.getByRole("button", { name: t.convert }).click();
    await attributeBecomes(page.locator(".lead-check"), "data-from", "conversion");
    await textBecomes(page.locator(".lead-check h4"), t.failed);
    await attributeBecomes(criterion("age"), "class", "criterion-failed");
    await attributeBecomes(criterion("coverage"), "class", "criterion-failed");
    await shot(page, "leads-convert-refused-en");
    assert.deepEqual(leadRow("Oskar Lien"), before);
    assert.equal(before[0].user_id, null);
    assert.equal(before[0].entry_point, "cold_call");
  });

  test("a lead the clinic can serve is converted into a patient and opens on the patient card (nb)", async () => {
    await openLeads("nb");
    const t = TEXT.nb;
    await countBecomes(page.locator(".leads-table tbody tr"), 3);
    await row("Kristin Hovland").click();
    const panel = page.locator(".lead-panel");
    await textBecomes(panel.locator("h2"), "Kristin Hovland");
    // The date of birth on record (from the national id) is filled in.
    await valueBecomes(panel.locator("#lead-date_of_birth"), "1978-09-14");
    await panel.locator("#lead-email").fill("kristin.hovland@example.com");
    // Bergen's 50xx is the insurer partner's area, not the clinic's own.
    await panel.locator("#lead-postcode").fill("5003");
    await panel.locator("#lead-channel").selectOption("video");
    await panel.getByRole("button", { name: t.check, exact: true }).click();
    await textBecomes(page.locator(".lead-check h4"), t.passed);
    await textBecomes(criterion("channel"), new RegExp(t.offered));
    await shot(page, "leads-check-passed-nb");

    await panel.getByRole("button", { name: t.convert }).click();
    await textBecomes(page.locator(".leads-converted > span").first(), new RegExp(`^${t.converted("Kristin Hovland")}`));
    await countBecomes(page.locator(".leads-table tbody tr"), 2);
    await countBecomes(row("Kristin Hovland"), 0);
    await countBecomes(page.locator(".lead-panel"), 0);
    await shot(page, "leads-converted-nb");

    const [lead] = leadRow("Kristin Hovland");
    assert.equal(lead.entry_point, "concierge_cold_call");
    assert.ok(lead.user_id, "the converted lead has an account");
    const email = sql(`SELECT email FROM users WHERE id = ${lead.user_id}`)[0].email;
    assert.equal(email, "kristin.hovland@example.com");
    await textBecomes(page.locator(".leads-converted > span").first(), new RegExp(`\\(pasientnummer ${lead.patient_id}\\)`));

    await page.locator("#leads-patient-card").click();
    await textBecomes(page.locator("#card-title"), "Kristin Hovland");
    await shot(page, "leads-patient-card-nb");
  });
});
