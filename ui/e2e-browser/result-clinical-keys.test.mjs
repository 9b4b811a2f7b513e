// A console without the clinical keys (a computer that is not a doctor's or admin's workstation):
// the doctor's result form files nothing, keeps no draft and says why, in English and in bokmål
// (docs/operations.md, "Key domains").

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { DEMO, doctorWithConsultation, launch, openConsole, serveUi, shot, sql, textBecomes, valueBecomes } from "./support.mjs";

const EN =
  "Consultation results can only be read or written on a doctor's or admin's workstation that holds the clinical keys. This computer does not hold them.";
const NB =
  "Konsultasjonsresultater kan bare leses eller skrives på en arbeidsstasjon for lege eller administrator som har de kliniske nøklene. Denne datamaskinen har dem ikke.";

let ui;
let browser;
let page;
before(async () => {
  ui = await serveUi({ clinicalKeys: false });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ui?.stop();
});
afterEach(async () => {
  assert.deepEqual(page?.problems ?? [], []);
  await page?.context().close();
});

async function signInAs(who, language) {
  page = await openConsole(browser, ui.url, language);
  await page.fill("#signin-server", DEMO.server);
  await page.fill("#signin-username", who.login);
  await page.fill("#signin-password", who.password);
  await page.locator("form button[type=submit]").click();
  await page.locator(".shell-nav").waitFor();
  await textBecomes(page.locator(".shell-header"), new RegExp(who.name.replace(".", "\\.")));
}

async function signOut() {
  await page.locator(".shell-header button", { hasText: /^(Sign out|Logg ut)$/ }).click();
  await page.locator("#signin-server").waitFor();
}

async function open(name) {
  await page.locator(".data-table tbody tr", { hasText: name }).waitFor({ timeout: 10_000 }).catch(async () => {
    throw new Error(`no row of ${name}: ${await page.locator("main").innerText()}`);
  });
  const row = page.locator(".data-table tbody tr", { hasText: name });
  await row.locator("button", { hasText: /^(Open|Åpne)$/ }).click();
  await page.locator(".result-form").waitFor();
}

describe("a console without the clinical keys", () => {
  for (const [language, sentence, patient, local] of [
    ["en", EN, ["Vilde", "Moen"], "tove.lund"],
    // Born on another day: a referral of the same national id would be the first patient's.
    ["nb", NB, ["Ida", "Strand", [1991, 6, 3]], "eirik.berg"],
  ]) {
    test(`files no result and says why (${language})`, async () => {
      const name = local === "tove.lund" ? "Dr. Tove Lund" : "Dr. Eirik Berg";
      const { doctor, id } = doctorWithConsultation(name, local, patient);
      await signInAs(doctor, language);
      await open(patient.slice(0, 2).join(" "));
      await page.locator("#result-icpc2").pressSequentially("r74", { delay: 30 });
      await page.locator("#result-icpc2-list [role=option]").first().waitFor();
      await page.keyboard.press("Enter");
      await valueBecomes(page.locator("#result-icpc2"), "R74");
      await page.selectOption("#result-outcome", "helped");
      await page.fill("#result-notes", "Sore throat for three days, no fever.");
      await page.locator(".result-form button[type=submit]").click();
      await textBecomes(page.locator(".result-form .alert-error"), sentence);
      // Nor is the half-written result kept as a draft, and the form says so.
      await textBecomes(page.locator(".result-form .draft-problem"), new RegExp(sentence.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
      await shot(page, `result-no-clinical-keys-${language}`);
      assert.deepEqual(sql(`SELECT id FROM consultation_results WHERE consultation_id = ${id}`), [], "nothing filed");
      assert.equal(sql(`SELECT state FROM consultations WHERE id = ${id}`)[0].state, "in_progress");
      assert.deepEqual(sql(`SELECT id FROM drafts WHERE kind = 'consultation_result' AND subject_id = ${id}`), [], "no draft kept");
      await valueBecomes(page.locator("#result-notes"), "Sore throat for three days, no fever.", "the doctor's text stays in the form");
      await signOut();
    });
  }
});
