// The doctor's side: pick next, start, and the result form — ICPC-2 type-ahead that searches as
// the doctor types, errors next to their field (the console's own and the core's), and a result
// filed only when every field is right.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import {
  DEMO,
  attributeBecomes,
  calls,
  cliAs,
  countBecomes,
  eventually,
  launch,
  openConsole,
  openedLinks,
  doctorWithConsultation,
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
beforeEach(async () => {
  page = await openConsole(browser, ui.url, "en");
  await signIn(page, "doctor");
  await page.locator(".data-table tbody tr").first().waitFor();
});
afterEach(async () => {
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

/** Opens the consultation of `name` in progress with this doctor: Nora Vik's in the demo. */
async function openInProgress(name = "Nora Vik") {
  const row = page.locator(".data-table tbody tr", { hasText: name });
  await row.locator("button", { hasText: "Open" }).click();
  await page.locator(".result-form").waitFor();
  await textBecomes(page.locator("#screen-title"), name);
}

/** The row of consultation `id` in the admin's insurer report of the demo partner (what the core decrypts of the result filed). */
function reportRow(id) {
  const day = (offset) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const dir = mkdtempSync(join(tmpdir(), "digimed-report-"));
  try {
    const file = join(dir, "report.csv");
    cliAs("admin", ["report", "export", "--partner", DEMO.partner.name, "--from", day(-2), "--to", day(1), "--out", file]);
    const [header, ...lines] = readFileSync(file, "utf8").trim().split(/\r?\n/).map((l) => l.split(","));
    const line = lines.find((l) => l[0] === String(id));
    return line && Object.fromEntries(header.map((h, i) => [h, line[i]]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function submit() {
  await page.locator(".result-form button[type=submit]").click();
}

/**
 * Waits until the error under a field says `expected` (a string, or a RegExp it matches), the field
 * is marked invalid, points at it and has the focus.
 */
async function errorIs(field, expected) {
  await textBecomes(page.locator(`#result-${field}-error`), expected);
  const input = page.locator(`#result-${field}`);
  await attributeBecomes(input, "aria-invalid", "true");
  await attributeBecomes(input, "aria-describedby", new RegExp(`result-${field}-error`));
  await page.waitForFunction((id) => document.activeElement?.id === id, `result-${field}`, { timeout: 2000 });
}

/** Types into the ICPC-2 field and waits for the suggestions of exactly that text. */
async function typeCode(text) {
  const input = page.locator("#result-icpc2");
  await input.fill("");
  await input.pressSequentially(text, { delay: 30 });
  await page.locator("#result-icpc2-list").waitFor();
  await page.waitForFunction(
    (text) => {
      const last = window.__digimed.calls.filter((c) => c.cmd === "icpc2_search").at(-1);
      return last?.args.query === text && last.answered;
    },
    text,
  );
  // The answer is rendered on the next frames.
  await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
}

async function options() {
  return page.locator("#result-icpc2-list [role=option]").allTextContents();
}

describe("the doctor's result form", () => {
  test("my consultations lists only mine; the one in progress has the result form", async () => {
    // The first row may be the one saying the list is being read.
    await eventually(async () => {
      const names = await page.locator('table[aria-label="My consultations"] tbody tr td:first-child').allTextContents();
      assert.deepEqual(names, ["Nora Vik"], "only the open consultations assigned to this doctor");
    });
    // Below them, the consultations nobody has picked yet, the nearest deadline first.
    await eventually(async () => {
      const waiting = await page.locator("table[aria-labelledby=waiting-title] tbody tr td:first-child").allTextContents();
      assert.deepEqual(waiting, ["Jonas Myhre", "Sofie Berntsen", "Magnus Haugen", "Ingrid Solberg"]);
    });
    await shot(page, "doctor-mine-en");
    await openInProgress();
    await shot(page, "doctor-workspace-en");
  });

  test("the ICPC-2 field searches as the doctor types, by code and by words", async () => {
    await openInProgress();
    await typeCode("r7");
    await eventually(async () => {
      const byCode = await options();
      assert.ok(byCode.length > 3, `several R7x codes (got ${byCode.length})`);
      for (const o of byCode) assert.match(o, /^R7\d/);
    });

    await typeCode("hoste");
    await eventually(async () => {
      const byWord = await options();
      assert.equal(byWord[0], "R05 Hoste", "the title that is the word itself comes first");
      assert.ok(!byWord.some((o) => o.startsWith("R71 ")), "words match from their start: Kikhoste is not a hit");
    });
    // Words match from their start, accents folded as the core does: "ovre luftvei" finds R74.
    await typeCode("ovre luftvei");
    await eventually(async () => assert.deepEqual(await options(), ["R74 Akutt øvre luftveisinfeksjon"]));

    await typeCode("qqzzy");
    await textBecomes(page.locator("#result-icpc2-list .typeahead-empty"), "No matching code.");
    await attributeBecomes(page.locator("#result-icpc2"), "aria-expanded", "true");
    await page.keyboard.press("Escape");
    await countBecomes(page.locator("#result-icpc2-list"), 0, "Escape closes the list");
  });

  test("arrow keys move through the suggestions and Enter chooses one", async () => {
    await openInProgress();
    await typeCode("r7");
    const input = page.locator("#result-icpc2");
    const first = await options();
    await attributeBecomes(input, "aria-activedescendant", "result-icpc2-list-0");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    await attributeBecomes(input, "aria-activedescendant", "result-icpc2-list-2");
    await attributeBecomes(page.locator("#result-icpc2-list-2"), "aria-selected", "true");
    await page.keyboard.press("ArrowUp");
    await attributeBecomes(input, "aria-activedescendant", "result-icpc2-list-1");
    await shot(page, "doctor-typeahead-en");
    await page.keyboard.press("Enter");
    const chosen = first[1];
    await valueBecomes(input, chosen.slice(0, 3));
    await textBecomes(page.locator(".typeahead-chosen"), chosen);
    await countBecomes(page.locator("#result-icpc2-list"), 0);
  });

  test("errors appear next to their field, and nothing is filed until all are right", async () => {
    // A doctor of their own with one consultation in progress (the demo doctor's stays open for the other tests).
    const { doctor, id: consultationId } = doctorWithConsultation("Dr. Tove Lund", "tove.lund", ["Vilde", "Moen"]);
    await page.locator(".shell-header button", { hasText: "Sign out" }).click();
    await page.fill("#signin-server", DEMO.server);
    await page.fill("#signin-username", doctor.login);
    await page.fill("#signin-password", doctor.password);
    await page.locator("form button[type=submit]").click();
    await page.locator(".shell-nav").waitFor();
    await openInProgress("Vilde Moen");
    // The form's own checks: a code and an outcome are required; the console is not called.
    await submit();
    await errorIs("icpc2", "Required.");
    assert.equal((await calls(page, "complete_with_result")).length, 0);

    await typeCode("ovre luftvei");
    await page.keyboard.press("Enter");
    await valueBecomes(page.locator("#result-icpc2"), "R74");
    await submit();
    await errorIs("outcome", "Required.");
    await countBecomes(page.locator("#result-icpc2-error"), 0, "the fixed field's error is gone");
    assert.equal((await calls(page, "complete_with_result")).length, 0);

    // The core's checks come back with the field named, and are shown under that field.
    await page.selectOption("#result-outcome", "helped");
    await page.fill("#result-notes", "Sore throat for three days, no fever. Rest and fluids.");
    await page.fill("#result-policy_number", "44-1002");
    await submit();
    await errorIs("policy_number", "The policy number has digits only.");
    await shot(page, "doctor-result-error-en");

    await page.fill("#result-policy_number", "4410029381");
    await page.fill("#result-patient_ssn", "12345678901");
    await submit();
    await errorIs("patient_ssn", /^The patient's national id is not valid/);
    await countBecomes(page.locator("#result-policy_number-error"), 0);
    assert.equal((await calls(page, "complete_with_result"))[0].id, consultationId);
    const filed = () => sql(`SELECT version, author_staff_id FROM consultation_results WHERE consultation_id = ${consultationId}`);
    const state = () => sql(`SELECT state FROM consultations WHERE id = ${consultationId}`)[0].state;
    assert.deepEqual(filed(), [], "nothing filed");
    assert.equal(state(), "in_progress");

    await page.fill("#result-patient_ssn", "");
    await submit();
    await page.locator(".alert-info", { hasText: "Consultation completed and result filed." }).waitFor();
    const sent = (await calls(page, "complete_with_result")).at(-1);
    assert.deepEqual(sent.input, {
      icpc2: "R74",
      outcome: "helped",
      notes: "Sore throat for three days, no fever. Rest and fluids.",
      policy_number: "4410029381",
      patient_ssn: null,
      patient_job_description: null,
    });
    const [{ id: doctorId }] = sql(`SELECT id FROM staff WHERE login_role = '${doctor.login}'`);
    assert.deepEqual(filed(), [{ version: 1, author_staff_id: doctorId }]);
    assert.equal(state(), "completed");
    // What was filed, as the core reads it back (the results are encrypted in the database).
    const reported = reportRow(consultationId);
    assert.equal(reported?.["ICPC-2 code"], "R74");
    assert.equal(reported?.Outcome, "Helped");
    assert.equal(reported?.["Policy number"], "4410029381");
    // The workspace stays on the completed consultation and shows what was filed, read back.
    await textBecomes(page.locator(".workspace .badge-state"), "Completed");
    await textBecomes(page.locator(".result-view .result-current"), /^Version 1, by Dr\. Tove Lund, /);
    // Back on my consultations, which no longer lists the completed one (once read: "Loading…" lists none either).
    await page.locator("button", { hasText: "Back to my consultations" }).click();
    await textBecomes(page.locator(`table[aria-label="My consultations"] tbody td.muted`), "You have no open consultations. Pick the next one from the queue.");
    assert.equal(await page.locator(".data-table tbody tr td:first-child", { hasText: "Vilde Moen" }).count(), 0);
  });

  test("pick next takes the longest-waiting referral; start shows Join, the patient's demo links and the form", async () => {
    const [{ id: jonas }] = sql(
      "SELECT c.id FROM consultations c JOIN patient_persons pp ON pp.id = c.patient_person_id WHERE pp.name = 'Jonas Myhre'",
    );
    try {
      await page.locator("button", { hasText: "Pick next" }).click();
      await page.locator("#screen-title", { hasText: "Jonas Myhre" }).waitFor();
      await textBecomes(page.locator(".workspace .badge-state"), "Assigned");
      assert.equal(await page.locator(".result-form").count(), 0, "no result form before the consultation starts");
      await page.locator("button", { hasText: "Start consultation" }).click();
      await textBecomes(page.locator(".rooms"), /https:\/\/meet\.digimed\.test\/[0-9a-f]{32}/);
      await textBecomes(page.locator(".workspace .badge-state"), "In progress");
      // Nothing is configured here: the links say they are demo links.
      await textBecomes(page.locator(".rooms .meeting-demo"), "Demo link — no meeting service is set up");
      const [{ room_name: room }] = sql(`SELECT room_name FROM meeting_rooms WHERE consultation_id = ${jonas}`);
      await textBecomes(page.locator(".patient-links .patient-link-url").first(), `https://meet.digimed.test/${room}`);
      // Join opens the doctor's link in the system browser (recorded by the bridge).
      await page.locator(".rooms button", { hasText: "Join the meeting" }).click();
      await textBecomes(page.locator(".rooms-join [role=status]"), "Opened in your browser.");
      assert.deepEqual(await openedLinks(ui.url), [`https://meet.digimed.test/${room}`]);
      await page.locator(".result-form").waitFor();
      await shot(page, "doctor-started-en");
    } finally {
      // The other tests find the doctor with Nora Vik's consultation only: Jonas Myhre's is cancelled again.
      if (sql(`SELECT state FROM consultations WHERE id = ${jonas}`)[0].state !== "ready_for_pickup") {
        cliAs("doctor", ["consultation", "cancel", String(jonas), "--reason", "Picked in a test"]);
      }
    }
  });
});
