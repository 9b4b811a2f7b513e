// End-to-end: the built console (debug binary, UI embedded) in a real WebKit webview under Xvfb,
// driven through tauri-driver and WebKitWebDriver, signed in to a real PostgreSQL with the demo
// data, with `digimed serve` receiving a partner's signed referral, which a secretary books. Each
// role signs in and works; every screen is saved as a screenshot (tests/artifacts/e2e/) in English
// and Norwegian.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  By,
  choose,
  clearScreenshots,
  demoDatabase,
  fill,
  find,
  log,
  openConsole,
  postReferral,
  psql,
  screenshot,
  serverOf,
  setLanguage,
  shutdown,
  signIn,
  startDesktop,
  startDriver,
  startService,
  syntheticNationalId,
  textBecomes,
  waitInPage,
  xlsxRows,
} from "./lib.mjs";

let db;
let service;
let driverUrl;
let consoleEnv;
/** The consultation the doctor completes, which the admin then finds in the insurer report. */
let completedByDoctor = null;

before(async () => {
  const owner = process.env.DATABASE_URL;
  assert.ok(owner, "DATABASE_URL must name the PostgreSQL server (scripts/test.sh starts the project's own)");
  clearScreenshots();
  const desktop = await startDesktop();
  db = demoDatabase(owner);
  service = await startService(db.url, db.keyFile, desktop);
  // The console gets what `make run` gives it: the server without a user, demo mode, the keys.
  consoleEnv = {
    ...desktop,
    DIGIMED_SERVER: serverOf(db.url),
    DIGIMED_DEMO: "1",
    DIGIMED_KEY_FILE: db.keyFile,
  };
  delete consoleEnv.DATABASE_URL;
  driverUrl = await startDriver(consoleEnv);
});

after(async () => {
  await shutdown();
});

/** One console process for the duration of `fn`, closed afterwards even when `fn` fails. */
async function withConsole(fn) {
  const driver = await openConsole(driverUrl);
  try {
    await find(driver, "#signin-username", 30_000);
    await fn(driver);
  } finally {
    await driver.quit().catch((e) => log("closing the console:", e.message));
  }
}

async function queueRows(driver) {
  return driver.executeScript(() =>
    [...document.querySelectorAll("table[role=grid] tbody tr[id]")].map((tr) => tr.querySelector("td")?.textContent ?? ""),
  );
}

async function navItems(driver) {
  return driver.executeScript(() => [...document.querySelectorAll(".shell-nav .nav-item")].map((b) => b.textContent.trim()));
}

describe("the console, end to end", () => {
  test("sign-in screen in both languages; a wrong password is refused by the database", async () => {
    await withConsole(async (driver) => {
      await setLanguage(driver, "nb");
      await textBecomes(driver, "#signin-title", "Logg inn");
      const server = await driver.findElement(By.css("#signin-server")).getAttribute("value");
      assert.equal(server, serverOf(db.url), "the server the installation suggests is filled in");
      await screenshot(driver, "signin-nb");
      await setLanguage(driver, "en");
      await textBecomes(driver, "#signin-title", "Sign in");
      await screenshot(driver, "signin-en");

      await signIn(driver, db.staff.secretary, { password: "not-the-password" });
      await textBecomes(driver, ".signin-card .alert-error", /Wrong username or password/);
      assert.equal((await driver.findElements(By.css(".shell-nav"))).length, 0);
      await screenshot(driver, "signin-wrong-password-en");

      await signIn(driver, { ...db.staff.secretary, login: "" });
      await textBecomes(driver, "#signin-username-error", "Enter your username.");
      await screenshot(driver, "signin-missing-username-en");
    });
  });

  test("secretary: a partner's referral arrives live in the screening list, is booked, and joins the queue", async () => {
    await withConsole(async (driver) => {
      await setLanguage(driver, "en");
      await signIn(driver, db.staff.secretary);
      // The secretary starts on the screening list: the demo's referrals awaiting a decision.
      await textBecomes(driver, "#screen-title", "Screening");
      await find(driver, "table[role=grid] tbody tr[id]");
      const nav = await navItems(driver);
      assert.deepEqual(nav, ["Screening", "Consultation queue"], `secretary's screens: ${nav}`);
      await textBecomes(driver, ".shell-name", "Sara Lie");
      assert.deepEqual(await queueRows(driver), ["Astrid Holm", "Per Gundersen", "Silje Bakke"], "the nearest deadline first");
      await screenshot(driver, "secretary-screening-en");

      // Mark this page: a reload would lose the mark.
      await driver.executeScript(() => {
        window.__notReloaded = true;
      });
      const born = syntheticNationalId(1992, 5, 17);
      const receipt = await postReferral(service, db.partner, {
        JournalGuid: crypto.randomUUID(),
        PID: born,
        FormatId: "http://ehelse.no/xmlstds/henvisning/2017-11-30",
        MessageTimestamp: new Date().toISOString(),
        Firstname: "Line",
        Lastname: "Danser",
        Email: "line.danser@example.com",
        PhoneNumber: "+4741234599",
      });
      assert.equal(receipt.status, 201, JSON.stringify(receipt.body));
      assert.deepEqual([receipt.body.consultation_id, receipt.body.status], [null, "awaiting_screening"], "no consultation before screening");
      await waitInPage(
        driver,
        "the new referral in the screening list",
        () => [...document.querySelectorAll("table[role=grid] tbody tr[id] td:first-child")].some((td) => td.textContent === "Line Danser"),
        [],
        15_000,
      );
      assert.equal(await driver.executeScript(() => window.__notReloaded === true), true, "the page was not reloaded");
      await textBecomes(driver, ".screen-head .muted", "4 to screen");
      await screenshot(driver, "secretary-screening-live-referral-en");

      // The new referral's panel, opened from the keyboard, and its booking.
      await driver.executeScript(() => document.querySelector("table[role=grid]").focus());
      await driver.actions().sendKeys("\uE010").perform(); // End: the latest deadline is last
      await driver.actions().sendKeys("\uE007").perform(); // Enter
      await textBecomes(driver, "#panel-title", "Line Danser");
      await find(driver, ".screening-panel .referral-fields");
      await screenshot(driver, "secretary-referral-panel-en");
      await (await find(driver, ".screening-panel .button-row .button-primary")).click(); // Create booking
      await find(driver, "#booking-title");
      await screenshot(driver, "secretary-booking-dialog-en");
      await (await find(driver, ".dialog button[type=submit]")).click(); // Book
      const said = await textBecomes(driver, ".screening-done span", /^Booked: consultation \d+ is in the doctors' queue\.$/);
      const id = Number(psql(db.url, `SELECT c.id FROM consultations c WHERE c.referral_id = ${receipt.body.referral_id}`));
      assert.equal(said, `Booked: consultation ${id} is in the doctors' queue.`, "the console names the consultation booked");
      await textBecomes(driver, ".screen-head .muted", "3 to screen");

      // The booked referral's consultation is in the queue.
      await driver.executeScript(() => [...document.querySelectorAll(".shell-nav .nav-item")].find((b) => b.textContent.trim() === "Consultation queue").click());
      await textBecomes(driver, "#screen-title", "Consultation queue");
      await waitInPage(driver, "the booked referral in the queue", (id) => document.querySelector(`#queue-row-${id}`), [id]);
      const cells = await driver.executeScript((id) => [...document.querySelectorAll(`#queue-row-${id} td`)].map((td) => td.textContent.trim()), id);
      assert.deepEqual(cells.slice(0, 4), ["Line Danser", "fjordtrygd", "Ready for pickup", "Unassigned"]);
      await textBecomes(driver, ".screen-head .muted", "8 open");
      await screenshot(driver, "secretary-queue-en");

      await setLanguage(driver, "nb");
      await textBecomes(driver, "#screen-title", "Konsultasjonskø");
      await textBecomes(driver, ".screen-head .muted", "8 åpne");
      await screenshot(driver, "secretary-queue-nb");
    });
  });

  test("doctor: pick next, start, complete with an ICPC-2 result chosen through the type-ahead", async () => {
    await withConsole(async (driver) => {
      await setLanguage(driver, "en");
      await signIn(driver, db.staff.doctor);
      await find(driver, ".data-table tbody tr");
      const nav = await navItems(driver);
      assert.ok(nav.includes("My consultations") && !nav.includes("Consultation queue") && !nav.includes("Screening"), `doctor's screens: ${nav}`);
      await waitInPage(driver, "my consultations", () => document.querySelector(".data-table tbody td")?.textContent !== "Loading…");
      await screenshot(driver, "doctor-my-consultations-en");

      await (await find(driver, ".screen-head .button-primary")).click(); // Pick next
      await waitInPage(driver, "the picked consultation", () => document.querySelector(".workspace .badge-state"));
      await textBecomes(driver, "#screen-title", "Jonas Myhre", { message: "the longest-waiting referral is picked" });
      const id = Number(
        psql(db.url, "SELECT c.id FROM consultations c JOIN patient_persons p ON p.id = c.patient_person_id WHERE p.name = 'Jonas Myhre'"),
      );
      assert.equal(psql(db.url, `SELECT state FROM consultations WHERE id = ${id}`), "pending_sp");
      await textBecomes(driver, ".workspace .badge-state", "Assigned");
      await screenshot(driver, "doctor-picked-en");

      await (await find(driver, ".workspace .card .button-primary")).click(); // Start
      await textBecomes(driver, ".rooms", /https?:\/\//);
      await find(driver, ".result-form");
      assert.equal(psql(db.url, `SELECT state FROM consultations WHERE id = ${id}`), "in_progress");
      await screenshot(driver, "doctor-started-en");

      // Nothing chosen yet: the form says so next to the field, and nothing reaches the database.
      await (await find(driver, ".result-form button[type=submit]")).click();
      await textBecomes(driver, "#result-icpc2-error", "Required.");

      const code = await find(driver, "#result-icpc2");
      await code.sendKeys("ovre luftvei");
      await waitInPage(driver, "ICPC-2 suggestions", () => document.querySelectorAll("#result-icpc2-list [role=option]").length > 0);
      const suggestions = await driver.executeScript(() =>
        [...document.querySelectorAll("#result-icpc2-list [role=option]")].map((o) => o.textContent),
      );
      assert.equal(suggestions[0], "R74 Akutt øvre luftveisinfeksjon");
      await screenshot(driver, "doctor-icpc2-typeahead-en");
      await code.sendKeys("\uE007"); // Enter chooses the highlighted suggestion
      await textBecomes(driver, ".typeahead-chosen", "R74 Akutt øvre luftveisinfeksjon");
      await choose(driver, "#result-outcome", "helped");
      await (await find(driver, "#result-notes")).sendKeys("Sore throat for three days, no fever. Rest and fluids.");
      await (await find(driver, "#result-policy_number")).sendKeys("4410029381");
      await screenshot(driver, "doctor-result-form-en");
      await (await find(driver, ".result-form button[type=submit]")).click();
      await textBecomes(driver, ".alert-info", "Consultation completed and result filed.");
      await screenshot(driver, "doctor-completed-en");

      // The database has the consultation completed and one result version by this doctor (its
      // fields are encrypted; the core's own tests read them back).
      assert.equal(psql(db.url, `SELECT state FROM consultations WHERE id = ${id}`), "completed");
      completedByDoctor = id;
      assert.equal(
        psql(
          db.url,
          `SELECT count(*) || ' ' || string_agg(s.login_role, ',') FROM consultation_results r
             JOIN staff s ON s.id = r.author_staff_id WHERE r.consultation_id = ${id} AND r.version = 1`,
        ),
        `1 ${db.staff.doctor.login}`,
      );

      // The workspace stays on the completed consultation, with its result read back; then back to the list.
      await textBecomes(driver, ".result-view .result-current", /^Version 1, by /);
      await (await find(driver, ".screen-head .button-secondary")).click(); // Back to my consultations
      await textBecomes(driver, "#screen-title", "My consultations");
      await setLanguage(driver, "nb");
      await textBecomes(driver, "#screen-title", "Mine konsultasjoner");
      await screenshot(driver, "doctor-my-consultations-nb");
    });
  });

  test("support agent: onboards a walk-in patient, records a paper signature, finds the patient in Consent status", async () => {
    await withConsole(async (driver) => {
      await setLanguage(driver, "en");
      await signIn(driver, db.staff.customer_support);
      await find(driver, "#onboard-name");
      await textBecomes(driver, ".shell-name", "Ola Brekke");
      const nav = await navItems(driver);
      assert.deepEqual(nav, ["Onboard patient", "Consent status"]);
      // No Clerk key is set for the console here: the account goes to the local directory.
      await textBecomes(driver, ".screen .notice-info", /local account directory/);
      await screenshot(driver, "support-onboard-en");

      // Nothing typed: the first field's error, with the contract's code, and nothing sent.
      await (await find(driver, ".onboard-form button[type=submit]")).click();
      await textBecomes(driver, "#onboard-name-error", "Name is required. (name_required)");
      await fill(driver, "#onboard-name", "Silje Berg");
      await fill(driver, "#onboard-email", "silje.berg@example.com");
      await fill(driver, "#onboard-phone", "412 34");
      await (await find(driver, ".onboard-form button[type=submit]")).click();
      // The core refuses the phone number under its field; no patient is created.
      await textBecomes(driver, "#onboard-phone-error", "This is not a valid phone number. (invalid_phone_format)");
      assert.equal(psql(db.url, "SELECT count(*) FROM patient_persons WHERE name = 'Silje Berg'"), "0");
      await screenshot(driver, "support-onboard-errors-en");

      await fill(driver, "#onboard-phone", "412 34 520");
      await (await find(driver, ".onboard-form button[type=submit]")).click();
      await waitInPage(driver, "the result card with its forms", () => document.querySelectorAll(".onboard-result .form-item").length > 0, [], 30_000);
      await textBecomes(driver, "#onboard-result-title", "Silje Berg is onboarded");
      const forms = await driver.executeScript(() =>
        [...document.querySelectorAll(".onboard-result .form-item")].map((li) => `${li.querySelector(".form-title").textContent}: ${li.querySelector(".badge").textContent}`),
      );
      assert.deepEqual(forms, ["Privacy Policy & GDPR Consent: Unsigned", "Profile Sharing Consent: Unsigned"]);
      const patientId = Number(
        psql(db.url, "SELECT p.id FROM patients p JOIN patient_persons pp ON pp.id = p.patient_person_id WHERE pp.name = 'Silje Berg'"),
      );
      assert.equal(
        psql(db.url, `SELECT string_agg(status, ',' ORDER BY id) FROM forms WHERE patient_id = ${patientId}`),
        "pending,pending",
        "the clinic's rule created both forms",
      );
      await screenshot(driver, "support-onboarded-en");

      // The privacy form signed on paper: the text first, then the confirmation.
      await driver.executeScript(() =>
        [...document.querySelectorAll(".onboard-result .form-item")]
          .find((li) => li.textContent.includes("Privacy Policy"))
          .querySelector(".form-actions .button-primary")
          .click(),
      );
      await waitInPage(driver, "the form text", () => document.querySelector("[role=dialog] .form-text")?.textContent.length > 0);
      await textBecomes(driver, "[role=dialog] .form-text", /^We process your personal data to provide care\./);
      await (await find(driver, "[role=dialog] button[type=submit]")).click();
      await textBecomes(driver, "#sign-confirm-error", "Confirm that the patient signed this text.");
      await screenshot(driver, "support-paper-signature-en");
      await (await find(driver, "#sign-confirm")).click();
      await (await find(driver, "[role=dialog] button[type=submit]")).click();
      await waitInPage(driver, "the signature notice", () => document.querySelector(".onboard-result .alert-success"));
      assert.equal(
        psql(db.url, `SELECT status || ' ' || signed_by FROM forms f JOIN form_templates t ON t.id = f.template_id WHERE f.patient_id = ${patientId} AND t.key = 'privacy_gdpr'`),
        "signed staff_attested",
      );
      assert.equal(
        psql(db.url, `SELECT string_agg(consent_type, ',' ORDER BY consent_type) FROM consents WHERE patient_id = ${patientId} AND withdrawn_at IS NULL`),
        "analytics,marketing",
      );
      await screenshot(driver, "support-paper-signed-en");
      await setLanguage(driver, "nb");
      await screenshot(driver, "support-onboarded-nb");

      // Consent status: she still waits for profile sharing, beside the demo's walk-ins.
      await setLanguage(driver, "en");
      const buttons = await driver.findElements(By.css(".shell-nav .nav-item"));
      await buttons[1].click();
      await waitInPage(driver, "the waiting list", () => document.querySelectorAll("table[aria-labelledby=waiting-title] tbody button.row-link").length > 0);
      const waiting = await driver.executeScript(() =>
        [...document.querySelectorAll("table[aria-labelledby=waiting-title] tbody tr")].map((tr) =>
          [...tr.querySelectorAll("td")].slice(0, 2).map((td) => td.textContent.trim()).join(": "),
        ),
      );
      assert.deepEqual(waiting, [
        "Lars Nilsen: Profile Sharing Consent",
        "Mari Eriksen: Privacy Policy & GDPR Consent, Profile Sharing Consent",
        "Silje Berg: Profile Sharing Consent",
      ]);
      await textBecomes(driver, "#waiting-title", "Patients waiting for forms (3)");
      await screenshot(driver, "support-consent-status-en");
      await driver.executeScript(() =>
        [...document.querySelectorAll("button.row-link")].find((b) => b.textContent === "Silje Berg").click(),
      );
      await waitInPage(driver, "her forms and history", () => document.querySelectorAll(".side-panel .form-item").length === 2 && document.querySelectorAll(".side-panel .timeline li").length > 0);
      await textBecomes(driver, "#consent-panel-title", "Silje Berg");
      await screenshot(driver, "support-consent-patient-en");
      await setLanguage(driver, "nb");
      await textBecomes(driver, "#waiting-title", "Pasienter som mangler signatur (3)");
      await screenshot(driver, "support-consent-patient-nb");
      await (await find(driver, ".side-panel-head button")).click();
      await screenshot(driver, "support-consent-status-nb");
      await (await driver.findElements(By.css(".shell-nav .nav-item")))[0].click();
      await find(driver, "#onboard-name");
      await screenshot(driver, "support-onboard-nb");
    });
  });

  test("admin: exports the insurer report, which holds the consultation the doctor completed", async () => {
    await withConsole(async (driver) => {
      await setLanguage(driver, "en");
      await signIn(driver, db.staff.admin);
      await find(driver, "#report-partner");
      await textBecomes(driver, ".shell-name", "Hanne Strand");
      assert.deepEqual(await navItems(driver), ["Admin", "Screening", "Onboard patient", "Consent status"]);
      await waitInPage(driver, "the partners and outcomes", () => document.querySelector("#report-partner option") && document.querySelector(".outcome-list li"));
      await screenshot(driver, "admin-en");

      const today = new Date();
      const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
      const from = iso(new Date(today.getTime() - 7 * 86_400_000));
      const to = iso(today);
      await choose(driver, "#report-partner", "fjordtrygd");
      await fill(driver, "#report-from", from);
      await fill(driver, "#report-to", to);
      await (await find(driver, "form[aria-labelledby=report-title] button[type=submit]")).click();
      await waitInPage(driver, "the report summary", () => document.querySelector(".report-summary") || document.querySelector("form[aria-labelledby=report-title] .alert-error, #report-to-error, #report-partner-error"), [], 60_000);
      const error = await driver.executeScript(() => document.querySelector("form[aria-labelledby=report-title] .alert-error, .field-error")?.textContent);
      assert.equal(error ?? null, null, "the export succeeded");
      const expected = join(consoleEnv.HOME, "Downloads", `insurer-report-fjordtrygd-${from}-${to}.xlsx`);
      await textBecomes(driver, ".report-summary .file-path", expected);
      await screenshot(driver, "admin-report-exported-en");

      // The file is in the Downloads folder, and it has the consultation the doctor completed.
      assert.ok(existsSync(expected), `${expected} exists`);
      assert.ok(completedByDoctor, "the doctor completed a consultation earlier in this run");
      const completed = String(completedByDoctor);
      const rows = xlsxRows(expected);
      assert.deepEqual(rows[0].slice(0, 3), ["Consultation", "State", "Created"]);
      const count = Number(await driver.executeScript(() => document.querySelector(".report-summary strong").textContent.match(/\d+/)[0]));
      assert.equal(rows.length - 1, count, "a row per consultation counted in the summary");
      const row = rows.find((r) => r[0] === completed);
      assert.ok(row, `consultation ${completed} is in the report`);
      const header = rows[0];
      const cell = (name) => row[header.indexOf(name)];
      assert.equal(cell("State"), "completed");
      assert.equal(cell("ICPC-2 code"), "R74");
      assert.equal(cell("Outcome"), "Helped");
      assert.equal(cell("Policy number"), "4410029381");

      await setLanguage(driver, "nb");
      await screenshot(driver, "admin-report-exported-nb");
      await (await driver.findElements(By.css(".shell-nav .nav-item")))[3].click(); // Samtykkestatus
      await waitInPage(driver, "the waiting list", () => document.querySelectorAll("table[aria-labelledby=waiting-title] tbody button.row-link").length > 0);
      await screenshot(driver, "admin-consent-status-nb");
      await setLanguage(driver, "en");
      await screenshot(driver, "admin-consent-status-en");
    });
  });
});
