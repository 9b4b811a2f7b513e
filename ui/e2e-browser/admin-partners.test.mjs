// Adding a referral partner on the admin screen: a bad name refused next to the field, a
// generated webhook secret shown once (and gone when acknowledged), an entered secret that is too
// short refused by the backend, a taken name, and the same in Norwegian.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { calls, eventually, focusBecomes, launch, openConsole, serveUi, shot, signIn, textBecomes, valueBecomes } from "./support.mjs";

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
  await page.locator(".partner-list li").first().waitFor();
  return page;
}

const card = () => page.locator(".card", { has: page.locator("#partners-title") });

describe("partners on the admin screen", () => {
  test("adds a partner with a generated secret, shown once", async () => {
    await open("en");
    assert.deepEqual(await card().locator(".partner-list li").allTextContents(), ["fjordtrygd"]);
    await card().getByLabel("Name", { exact: true }).fill("Nordvakt Forsikring");
    await card().getByRole("button", { name: "Add partner" }).click();
    await textBecomes(page.locator("#partner-name-error"), "A partner name is lower-case letters, digits, '-' and '_' (e.g. pridok).");
    await focusBecomes(page, "partner-name");
    assert.deepEqual(await calls(page, "partner_add"), []);

    await card().getByLabel("Name", { exact: true }).fill("nordvakt");
    await card().getByLabel("Deadline to start a consultation (working days)").fill("3");
    await card().getByRole("button", { name: "Add partner" }).click();
    const shown = page.locator("#partner-new-secret");
    const secret = await valueBecomes(shown, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal((await page.evaluate(() => window.__digimed.partners())).find((p) => p.name === "nordvakt").secret, secret);
    assert.deepEqual(await calls(page, "partner_add"), [{ partner: { name: "nordvakt", deadline_working_days: 3, is_test_partner: false, secret: null } }]);
    await textBecomes(card().locator(".partner-secret"), /is not shown again/);
    // The list is read again after the partner is added.
    await eventually(async () => assert.deepEqual(await card().locator(".partner-list li").allTextContents(), ["fjordtrygd", "nordvakt"]));
    await valueBecomes(card().getByLabel("Name", { exact: true }), "", "the form is empty again");
    await card().scrollIntoViewIfNeeded();
    await shot(page, "admin-partner-secret-en");
    await card().getByRole("button", { name: "I have passed it on" }).click();
    await shown.waitFor({ state: "detached" });
    assert.equal(await page.content().then((html) => html.includes(secret)), false, "the secret is gone from the page");
  });

  test("an entered secret too short, and a taken name, are refused by the backend", async () => {
    await open("en");
    await card().getByLabel("Name", { exact: true }).fill("fjordtrygd");
    await card().getByLabel("Enter the secret agreed with the partner").check();
    await card().getByRole("button", { name: "Add partner" }).click();
    await textBecomes(page.locator("#partner-secret-error"), "Enter the secret, or let the console generate one.");
    await card().getByLabel("Secret", { exact: true }).fill("too-short");
    await card().getByRole("button", { name: "Add partner" }).click();
    // The error of the previous attempt is still shown until the backend answers.
    await textBecomes(page.locator("#partner-secret-error"), "The webhook secret is too short; use at least 24 random bytes.");
    await card().getByLabel("Secret", { exact: true }).fill("a-long-enough-secret-agreed-on-the-phone");
    await card().getByRole("button", { name: "Add partner" }).click();
    await textBecomes(page.locator("#partner-name-error"), "A partner 'fjordtrygd' already exists.");
    assert.equal((await page.evaluate(() => window.__digimed.partners())).length, 1, "nothing added");
    assert.equal(await page.locator("#partner-new-secret").count(), 0);
    await card().scrollIntoViewIfNeeded();
    await shot(page, "admin-partner-errors-en");
  });

  test("in Norwegian", async () => {
    await open("nb");
    assert.equal(await page.locator("#partners-title").textContent(), "Samarbeidspartnere");
    await card().getByLabel("Navn", { exact: true }).fill("nordvakt");
    await card().getByLabel("Frist for å starte en konsultasjon (arbeidsdager)").fill("61");
    await card().getByRole("button", { name: "Legg til partner" }).click();
    await textBecomes(page.locator("#partner-deadline_days-error"), "Fristen er 1 til 60 arbeidsdager.");
    await card().getByLabel("Frist for å starte en konsultasjon (arbeidsdager)").fill("2");
    await card().getByRole("button", { name: "Legg til partner" }).click();
    await page.locator("#partner-new-secret").waitFor();
    await textBecomes(card().locator(".partner-secret"), /vises ikke igjen/);
    await card().scrollIntoViewIfNeeded();
    await shot(page, "admin-partner-secret-nb");
  });
});
