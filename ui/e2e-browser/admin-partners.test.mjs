// Adding a referral partner on the admin screen: a bad name refused next to the field, a
// generated webhook secret shown once (and gone when acknowledged), an entered secret that is too
// short refused by the backend, a taken name, a partner whose referrals are booked on arrival, and
// the same in Norwegian.

import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { after, afterEach, before, describe, test } from "node:test";
import {
  calls,
  cliAs,
  eventually,
  focusBecomes,
  launch,
  openConsole,
  serveUi,
  shot,
  signIn,
  sql,
  startWebhookService,
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
  await page.locator(".partner-list .partner-name").first().waitFor();
  return page;
}

const card = () => page.locator(".card", { has: page.locator("#partners-title") });

/** The partners in the database, as the list shows them (by name). */
const storedPartners = () => sql("SELECT name FROM partners ORDER BY name").map((p) => p.name);

/**
 * What the partner webhook answers a body signed with `secret` as `partner` (Standard Webhooks):
 * 401 when the secret is not the partner's, otherwise what it makes of the body.
 */
async function webhookAnswer(service, partner, secret, body) {
  const id = `msg_${randomBytes(8).toString("hex")}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const key = secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  const response = await fetch(`${service}/v1/webhooks/pridok?partner=${encodeURIComponent(partner)}`, {
    method: "POST",
    headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${signature}` },
    body,
  });
  return response.status;
}

describe("partners on the admin screen", () => {
  test("adds a partner with a generated secret, shown once", async () => {
    await open("en");
    const listed = await card().locator(".partner-list .partner-name").allTextContents();
    assert.ok(listed.includes("fjordtrygd"), `the demo's partner is listed (${listed})`);
    assert.deepEqual(listed, storedPartners());
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
    assert.deepEqual(sql("SELECT deadline_working_days, is_test_partner FROM partners WHERE name = 'nordvakt'"), [
      { deadline_working_days: 3, is_test_partner: false },
    ]);
    // The secret shown is the one stored: the partner webhook takes a body it signed (and refuses
    // one signed otherwise), and then looks at what the body says (nothing here: refused, not stored).
    const service = await startWebhookService();
    assert.equal(await webhookAnswer(service, "nordvakt", secret, "{}"), 422, "signed with the secret shown");
    assert.equal(await webhookAnswer(service, "nordvakt", `whsec_${randomBytes(32).toString("base64")}`, "{}"), 401, "signed with another");
    assert.deepEqual(await calls(page, "partner_add"), [
      { partner: { name: "nordvakt", deadline_working_days: 3, is_test_partner: false, secret: null, book_on_arrival: false } },
    ]);
    await textBecomes(card().locator(".partner-secret"), /is not shown again/);
    // The list is read again after the partner is added.
    await eventually(async () => {
      const now = await card().locator(".partner-list .partner-name").allTextContents();
      assert.deepEqual(now.filter((n) => n !== "nordvakt"), listed);
      assert.deepEqual(now, storedPartners(), "nordvakt in its place by name");
    });
    await valueBecomes(card().getByLabel("Name", { exact: true }), "", "the form is empty again");
    await card().scrollIntoViewIfNeeded();
    await shot(page, "admin-partner-secret-en");
    await card().getByRole("button", { name: "I have passed it on" }).click();
    await shown.waitFor({ state: "detached" });
    assert.equal(await page.content().then((html) => html.includes(secret)), false, "the secret is gone from the page");
  });

  test("an entered secret too short, and a taken name, are refused by the backend", async () => {
    await open("en");
    const before = storedPartners();
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
    assert.deepEqual(storedPartners(), before, "nothing added");
    assert.equal(await page.locator("#partner-new-secret").count(), 0);
    await card().scrollIntoViewIfNeeded();
    await shot(page, "admin-partner-errors-en");
  });

  test("a partner's referrals are booked on arrival once the admin says so, and the list shows it", async () => {
    await open("en");
    const item = card().locator(".partner-list li", { has: page.locator(".partner-name", { hasText: /^fjordtrygd$/ }) });
    await textBecomes(item.locator(".partner-arrival"), "· Screened first");
    const box = card().getByLabel("Book referrals from fjordtrygd on arrival");
    assert.equal(await box.isChecked(), false);
    try {
      await box.click();
      await textBecomes(card().locator("[role=status]"), "fjordtrygd: referrals are now booked on arrival.");
      await textBecomes(item.locator(".partner-arrival"), "· Booked on arrival");
      assert.equal(await box.isChecked(), true);
      assert.deepEqual(sql("SELECT book_on_arrival FROM partners WHERE name = 'fjordtrygd'"), [{ book_on_arrival: true }]);
      await card().scrollIntoViewIfNeeded();
      await shot(page, "admin-partner-on-arrival-en");
      await box.click();
      await textBecomes(card().locator("[role=status]"), "fjordtrygd: referrals now wait for screening.");
      assert.deepEqual(sql("SELECT book_on_arrival FROM partners WHERE name = 'fjordtrygd'"), [{ book_on_arrival: false }]);
    } finally {
      // The other test files' demo partner screens its referrals.
      cliAs("admin", ["partner", "set", "fjordtrygd", "--book-on-arrival", "false"]);
    }
    // A new partner may book on arrival from the start.
    await card().getByLabel("Name", { exact: true }).fill("hurtigvakt");
    await card().getByLabel("Book referrals on arrival (no screening)").check();
    await card().getByRole("button", { name: "Add partner" }).click();
    await page.locator("#partner-new-secret").waitFor();
    assert.deepEqual(sql("SELECT book_on_arrival FROM partners WHERE name = 'hurtigvakt'"), [{ book_on_arrival: true }]);
  });

  test("in Norwegian", async () => {
    await open("nb");
    assert.equal(await page.locator("#partners-title").textContent(), "Samarbeidspartnere");
    await card().getByLabel("Navn", { exact: true }).fill("fjellvakt");
    await card().getByLabel("Frist for å starte en konsultasjon (arbeidsdager)").fill("61");
    await card().getByRole("button", { name: "Legg til partner" }).click();
    await textBecomes(page.locator("#partner-deadline_days-error"), "Fristen er 1 til 60 arbeidsdager.");
    await card().getByLabel("Frist for å starte en konsultasjon (arbeidsdager)").fill("2");
    await card().getByRole("button", { name: "Legg til partner" }).click();
    await page.locator("#partner-new-secret").waitFor();
    await textBecomes(card().locator(".partner-secret"), /vises ikke igjen/);
    assert.deepEqual(sql("SELECT deadline_working_days FROM partners WHERE name = 'fjellvakt'"), [{ deadline_working_days: 2 }]);
    await textBecomes(card().locator(".partner-list li", { hasText: "fjellvakt" }).locator(".partner-arrival"), "· Screenes først");
    await card().scrollIntoViewIfNeeded();
    await shot(page, "admin-partner-secret-nb");
  });
});
