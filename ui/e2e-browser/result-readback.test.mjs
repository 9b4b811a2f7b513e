// A result read back and amended, the patient's consultations and a follow-up, in the doctor's
// workspace: the result form takes the job description and refuses an adult's national id next to
// the field, the filed result is shown as the core reads it back (and the read is audited in the
// doctor's name), an amendment needs its reason and keeps the earlier version, and a follow-up is
// booked and opened; the same from the command line, seen in bokmål.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import {
  DEMO,
  attributeBecomes,
  cliAs,
  countBecomes,
  focusBecomes,
  launch,
  openConsole,
  doctorWithConsultation,
  serveUi,
  shot,
  sql,
  syntheticNationalId,
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
}

/** The logins that read consultation `id`'s result, in the audit log's order. */
function readers(id) {
  return sql(
    `SELECT actor FROM audit_log WHERE action = 'READ' AND entity_type = 'consultation_results' AND entity_id = '${id}' ORDER BY id`,
  ).map((r) => r.actor);
}

function versions(id) {
  return sql(`SELECT version FROM consultation_results WHERE consultation_id = ${id} ORDER BY version`).map((r) => r.version);
}

/** Chooses an ICPC-2 code by typing it and taking the first suggestion. */
async function chooseCode(id, code) {
  const input = page.locator(`#${id}`);
  await input.fill("");
  await input.pressSequentially(code, { delay: 30 });
  await page.locator(`#${id}-list [role=option]`).first().waitFor();
  await textBecomes(page.locator(`#${id}-list [role=option]`).first(), new RegExp(`^${code} `));
  await page.keyboard.press("Enter");
  await valueBecomes(input, code);
}

/** A synthetic national id of someone born `years` ago, in 1900–1999 or 2000 on (D-M-Y of today). */
function bornYearsAgo(years) {
  const d = new Date();
  const year = d.getFullYear() - years;
  if (year < 2000) return syntheticNationalId(year, d.getMonth() + 1, Math.min(d.getDate(), 28));
  // After 1999 the individual number is 500–999: built here as support.mjs builds the 1900s ones.
  const two = (n) => String(n).padStart(2, "0");
  for (let individual = 500; individual < 1000; individual++) {
    const digits = [...`${two(Math.min(d.getDate(), 28))}${two(d.getMonth() + 1 + 80)}${two(year % 100)}${individual}`].map(Number);
    const check = (w) => {
      const r = 11 - (w.reduce((s, x, i) => s + x * digits[i], 0) % 11);
      return r === 11 ? 0 : r;
    };
    const k1 = check([3, 7, 6, 1, 8, 9, 4, 5, 2]);
    if (k1 === 10) continue;
    digits.push(k1);
    const k2 = check([5, 4, 3, 2, 7, 6, 5, 4, 3, 2]);
    if (k2 === 10) {
      digits.pop();
      continue;
    }
    digits.push(k2);
    return digits.join("");
  }
  throw new Error("no synthetic national id for that date");
}

describe("results read back, amended, and followed up", () => {
  test("file with the job description, read it back, amend it with a reason, book a follow-up and open it", async () => {
    const { doctor, id } = doctorWithConsultation("Dr. Eva Berg", "eva.berg", ["Ida", "Strand", [1984, 2, 11]]);
    await signInAs(doctor, "en");
    const row = page.locator(".data-table tbody tr", { hasText: "Ida Strand" });
    await row.locator("button", { hasText: "Open" }).click();
    await page.locator(".result-form").waitFor();

    await chooseCode("result-icpc2", "R74");
    await page.selectOption("#result-outcome", "helped");
    await page.fill("#result-notes", "Sore throat for three days. Rest and fluids.");
    await page.fill("#result-patient_job_description", "Carpenter");
    await page.fill("#result-policy_number", "4410029381");
    // An adult's own national id is refused next to the field; nothing is filed.
    await page.fill("#result-patient_ssn", bornYearsAgo(40));
    await page.locator(".result-form button[type=submit]").click();
    await textBecomes(page.locator("#result-patient_ssn-error"), /only for a minor/);
    await attributeBecomes(page.locator("#result-patient_ssn"), "aria-invalid", "true");
    await focusBecomes(page, "result-patient_ssn");
    assert.deepEqual(versions(id), [], "nothing filed");
    await shot(page, "result-ssn-refused-en");

    await page.fill("#result-patient_ssn", "");
    await page.locator(".result-form button[type=submit]").click();
    await textBecomes(page.locator("p.alert-info[role=status]").first(), "Consultation completed and result filed.");
    await textBecomes(page.locator(".workspace .badge-state"), "Completed");
    // What was filed, as the core reads it back; the read is in the audit log in the doctor's name.
    const view = page.locator(".workspace .result-view");
    await textBecomes(view.locator(".result-current"), /^Version 1, by Dr\. Eva Berg, /);
    await textBecomes(view.locator(":scope > .result-facts dd").nth(3), "Carpenter");
    await textBecomes(view.locator(":scope > .result-facts dd").nth(0), /^R74 /);
    assert.deepEqual(versions(id), [1]);
    assert.ok(readers(id).length >= 1 && readers(id).every((r) => r === doctor.login), `readers: ${readers(id)}`);
    await shot(page, "result-readback-en");

    // An amendment needs its reason.
    await view.locator("button", { hasText: "Amend result" }).click();
    await valueBecomes(page.locator("#amend-patient_job_description"), "Carpenter");
    await valueBecomes(page.locator("#amend-icpc2"), "R74");
    await page.locator(".amend-form button[type=submit]").click();
    await textBecomes(page.locator("#amend-reason-error"), "Say why you amend the result.");
    await focusBecomes(page, "amend-reason");
    assert.deepEqual(versions(id), [1], "nothing written without a reason");
    await shot(page, "result-amend-reason-en");

    await page.fill("#amend-reason", "Referred after the lab results");
    await page.selectOption("#amend-outcome", "referred_gp");
    await page.locator(".amend-form button[type=submit]").click();
    await textBecomes(view.locator("p.alert-info[role=status]"), "Amendment saved as version 2.");
    await countBecomes(view.locator(".result-version"), 2);
    await textBecomes(view.locator(".result-version strong").nth(0), /^Version 2: amended by Dr\. Eva Berg, /);
    await textBecomes(view.locator(".result-version strong").nth(1), /^Version 1: filed by Dr\. Eva Berg, /);
    await textBecomes(view.locator(".result-reason"), "Reason: Referred after the lab results");
    await textBecomes(view.locator(":scope > .result-facts dd").nth(1), "Referred to GP");
    assert.deepEqual(versions(id), [1, 2], "the earlier version is kept");
    await view.locator(".result-version details summary").click();
    await textBecomes(view.locator(".result-version details .result-facts dd").nth(1), "Helped");
    await shot(page, "result-amended-en");

    // A follow-up, booked and said so, assigned to this doctor.
    await page.locator(".follow-up button", { hasText: "Book follow-up" }).click();
    await textBecomes(page.locator(".follow-up [role=status] p"), /^Follow-up booked \(#\d+\)\. It is assigned to you/);
    const [followUp] = sql(`SELECT id, state, assigned_doctor_id FROM consultations WHERE follow_up_of = ${id}`);
    const [{ id: doctorId }] = sql(`SELECT id FROM staff WHERE login_role = '${doctor.login}'`);
    assert.deepEqual(followUp && { state: followUp.state, doctor: followUp.assigned_doctor_id }, { state: "pending_sp", doctor: doctorId });
    const history = page.locator(".consultation-history");
    await countBecomes(history.locator("tbody tr[data-consultation]"), 2);
    await textBecomes(history.locator(`tr[data-consultation="${followUp.id}"] .badge-state`), "Assigned");
    await shot(page, "result-follow-up-en");

    // Opened, the follow-up lists the earlier consultation, whose result unfolds in place.
    await page.locator(".follow-up button", { hasText: "Open follow-up" }).click();
    await textBecomes(page.locator(".workspace .badge-state"), "Assigned");
    const earlier = history.locator(`tr[data-consultation="${id}"]`);
    await earlier.locator("button", { hasText: "Show result" }).click();
    await textBecomes(history.locator(".history-result .result-current"), /^Version 2, by Dr\. Eva Berg, /);
    await history.locator(".history-result").scrollIntoViewIfNeeded();
    await shot(page, "result-history-en");
  });

  test("completed and amended from the command line, read in bokmål", async () => {
    const { doctor, id } = doctorWithConsultation("Dr. Siri Holm", "siri.holm", ["Lars", "Aune", [1979, 6, 3]]);
    const child = bornYearsAgo(9);
    cliAs(doctor, [
      "consultation",
      "complete",
      String(id),
      "--icpc2",
      "R05",
      "--outcome",
      "helped",
      "--job-description",
      "Pupil",
      "--patient-ssn",
      child,
    ]);
    cliAs(doctor, ["result", "amend", String(id), "--reason", "Hosten var ikke akutt", "--icpc2", "R74"]);
    const followUp = JSON.parse(cliAs(doctor, ["consultation", "follow-up", String(id), "--json"]));
    assert.deepEqual(versions(id), [1, 2]);

    await signInAs(doctor, "nb");
    await page.locator(".data-table tbody tr", { hasText: "Lars Aune" }).locator("button", { hasText: "Åpne" }).click();
    await textBecomes(page.locator(".workspace .badge-state"), "Tildelt");
    const history = page.locator(".consultation-history");
    await textBecomes(history.locator(`tr[data-consultation="${followUp.id}"] td.row-actions`), "Åpen nå");
    const earlier = history.locator(`tr[data-consultation="${id}"]`);
    await earlier.locator("button", { hasText: "Vis resultat" }).click();
    const inline = history.locator(".history-result .result-view");
    await textBecomes(inline.locator(".result-current"), /^Versjon 2, av Dr\. Siri Holm, /);
    await textBecomes(inline.locator(".result-reason"), "Begrunnelse: Hosten var ikke akutt");
    await inline.scrollIntoViewIfNeeded();
    await shot(page, "result-history-nb");

    // The completed consultation itself: its result, the author's amendment form, the follow-up.
    await earlier.locator("button", { hasText: "Åpne" }).click();
    await textBecomes(page.locator(".workspace .badge-state"), "Fullført");
    const view = page.locator(".workspace .result-view");
    await textBecomes(view.locator(":scope > .result-facts dd").nth(3), "Pupil");
    await textBecomes(view.locator(":scope > .result-facts dd").nth(5), child);
    await view.locator("button", { hasText: "Endre resultat" }).click();
    await page.locator(".amend-form button[type=submit]").click();
    await textBecomes(page.locator("#amend-reason-error"), "Skriv hvorfor du endrer resultatet.");
    await shot(page, "result-amend-nb");
    await valueBecomes(page.locator("#amend-patient_ssn"), child);
    await page.locator("#amend-patient_ssn").scrollIntoViewIfNeeded();
    await shot(page, "result-amend-fields-nb");
    await page.locator(".amend-form button", { hasText: "Avbryt" }).click();
    await countBecomes(page.locator(".amend-form"), 0);
    await shot(page, "result-readback-nb");
    assert.deepEqual(versions(id), [1, 2]);
  });
});
