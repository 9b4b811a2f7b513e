// The console's side of the public pages: the admin's panel of patients' ratings (per doctor, per
// partner, the newest comments) in both languages; the support agent issuing a patient a new
// preferences link from the patient card (the old token gone from the database), and setting the
// language the patient's messages are written in, beside the card's list of messages.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";

import { psql } from "../../tests/e2e/database.mjs";
import { DEMO, artifacts, launch, openConsole, serveUi, signIn, sql, textBecomes } from "./support.mjs";

let ui;
let browser;
let page;

/** The demo database, as its owner. */
function ownerUrl() {
  const owner = new URL(DEMO.server);
  owner.username = new URL(process.env.DATABASE_URL).username;
  return owner.toString();
}

before(async () => {
  ui = await serveUi();
  browser = await launch();
  // Three answered reviews and one waiting, as the review page leaves them.
  const owner = new URL(ownerUrl());
  const consultations = sql(`SELECT id, assigned_doctor_id FROM consultations ORDER BY assigned_doctor_id NULLS LAST, id LIMIT 4`);
  const answers = [
    [5, "Very helpful, and on time."],
    [4, null],
    [2, "The video froze twice."],
  ];
  consultations.forEach((c, i) => {
    const token = randomBytes(32).toString("base64url");
    psql(owner.toString(), `INSERT INTO consultation_reviews (consultation_id, token) VALUES (${c.id}, '${token}')`);
    const answer = answers[i];
    if (answer) {
      const comment = answer[1] === null ? "NULL" : `'${answer[1]}'`;
      psql(
        owner.toString(),
        `UPDATE consultation_reviews SET rating = ${answer[0]}, comment = ${comment}, submitted_at = now() - interval '${i} hours'
          WHERE consultation_id = ${c.id}`,
      );
    }
  });
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

async function panelShot(name) {
  mkdirSync(artifacts, { recursive: true });
  await page.locator("#admin-reviews").screenshot({ path: join(artifacts, `${name}.png`) });
}

describe("patients' ratings on the Admin screen", () => {
  for (const [language, text] of [
    ["en", { title: "Patients' ratings", overall: "3 answered, average 3.7 of 5 (1 review links not answered).", doctor: "Per doctor" }],
    ["nb", { title: "Pasientenes vurderinger", overall: "3 svar, snitt 3,7 av 5 (1 vurderingslenker ikke besvart).", doctor: "Per lege" }],
  ]) {
    test(`counts, averages and the newest comments (${language})`, async () => {
      page = await openConsole(browser, ui.url, language);
      await signIn(page, "admin");
      await textBecomes(page.locator("#reviews-title"), text.title);
      await textBecomes(page.locator("#reviews-overall"), text.overall);
      const doctors = page.locator("#reviews-by-doctor tbody tr");
      assert.ok((await doctors.count()) >= 1);
      assert.equal(await page.locator("#reviews-by-doctor caption").textContent(), text.doctor);
      const comments = await page.locator(".review-comment-text").allTextContents();
      assert.deepEqual(comments, ["Very helpful, and on time.", "The video froze twice."]);
      await page.locator("#admin-reviews").scrollIntoViewIfNeeded();
      await panelShot(`admin-reviews-${language}`);
    });
  }
});

describe("a new preferences link from the patient card", () => {
  test("the support agent asks once more, then the old token is gone", async () => {
    page = await openConsole(browser, ui.url, "en");
    await signIn(page, "customer_support");
    await page.locator(".shell-nav .nav-item", { hasText: "Consent status" }).click();
    const first = page.locator("table[aria-labelledby=waiting-title] tbody button.row-link").first();
    await first.waitFor();
    const name = (await first.textContent()).trim();
    await first.click();
    await page.locator("#consent-patient-card").click();
    await textBecomes(page.locator("#card-title"), name);
    const [{ id: person }] = sql(`SELECT id FROM patient_persons WHERE name = '${name.replace(/'/g, "''")}'`);
    const [{ token: before }] = sql(`SELECT token FROM communication_preference_tokens WHERE patient_person_id = ${person}`);

    mkdirSync(artifacts, { recursive: true });
    await page.locator("#card-rotate-preference-link").click();
    await page.locator("#card-rotate-preference-link-confirm").waitFor();
    await page.locator("#card-rotate-preference-link-confirm").scrollIntoViewIfNeeded();
    await page.locator("section[aria-labelledby=card-preference-link-title]").screenshot({ path: join(artifacts, "card-preference-link-confirm-en.png") });
    await page.locator("#card-rotate-preference-link-confirm").click();
    await textBecomes(page.locator("#card-preference-link-rotated"), "A new preferences link was issued. The old link no longer works.");
    await page.locator("section[aria-labelledby=card-preference-link-title]").screenshot({ path: join(artifacts, "card-preference-link-rotated-en.png") });
    const [after] = sql(`SELECT token, rotated_at IS NOT NULL AS rotated FROM communication_preference_tokens WHERE patient_person_id = ${person}`);
    assert.notEqual(after.token, before);
    assert.equal(after.rotated, true);
    assert.ok(!(await page.content()).includes(after.token), "the new token is not shown");
    const [audit] = sql(`SELECT actor FROM audit_log WHERE entity_type = 'communication_preference_tokens' AND action = 'UPDATE' ORDER BY id DESC LIMIT 1`);
    assert.equal(audit.actor, DEMO.customer_support.login);
  });
});

describe("the language of the patient's messages, on the patient card", () => {
  for (const [language, text] of [
    ["en", { nav: "Consent status", saved: "Saved: messages are written in English.", choice: "en", stored: "en" }],
    ["nb", { nav: "Samtykkestatus", saved: "Lagret: meldingene skrives på norsk (bokmål).", choice: "nb", stored: "nb" }],
  ]) {
    test(`the support agent sets it; the card's messages are listed beside it (${language})`, async () => {
      // Every patient starts in the other language, so that saving changes it.
      psql(ownerUrl(), `UPDATE patient_persons SET language = '${text.stored === "en" ? "nb" : "en"}'`);
      page = await openConsole(browser, ui.url, language);
      await signIn(page, "customer_support");
      await page.locator(".shell-nav .nav-item", { hasText: text.nav }).click();
      const first = page.locator("table[aria-labelledby=waiting-title] tbody button.row-link").first();
      await first.waitFor();
      const name = (await first.textContent()).trim();
      await first.click();
      await page.locator("#consent-patient-card").click();
      await textBecomes(page.locator("#card-title"), name);
      const [{ id: person }] = sql(`SELECT id FROM patient_persons WHERE name = '${name.replace(/'/g, "''")}'`);
      await page.locator("#card-language-select").selectOption(text.choice);
      await page.locator("section[aria-labelledby=card-language-title] button[type=submit]").click();
      await textBecomes(page.locator("#card-language-saved"), text.saved);
      assert.equal(sql(`SELECT language FROM patient_persons WHERE id = ${person}`)[0].language, text.stored);
      const [audit] = sql(`SELECT actor FROM audit_log WHERE entity_type = 'patient_persons' AND action = 'UPDATE' AND entity_id = '${person}' ORDER BY id DESC LIMIT 1`);
      assert.equal(audit.actor, DEMO.customer_support.login);
      mkdirSync(artifacts, { recursive: true });
      await page.locator("section[aria-labelledby=card-language-title]").scrollIntoViewIfNeeded();
      await page.locator("section[aria-labelledby=card-language-title]").screenshot({ path: join(artifacts, `card-message-language-${language}.png`) });
      await page.locator(".message-list").scrollIntoViewIfNeeded();
      await page.locator(".message-list").screenshot({ path: join(artifacts, `card-messages-${language}.png`) });
    });
  }
});
