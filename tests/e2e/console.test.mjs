// End-to-end: the built console (debug binary, UI embedded) in a real WebKit webview under Xvfb,
// driven through tauri-driver and WebKitWebDriver, signed in to a real PostgreSQL with the demo
// data. One referral is followed through its whole life across the roles: `digimed serve`
// receives a partner's signed referral; the secretary opens the patient's card (the phone is
// shown), records the call and books; a doctor picks it, starts it, files a result with an ICPC-2
// code and the patient's job description, reads it back and amends it; the admin gives a discount
// on its order, and the insurer report's row shows price, discount and total. Each role's other
// screens are visited too; every screen is saved as a screenshot (tests/artifacts/e2e/) in English
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
/** The referral followed through its whole life, and the consultation booked from it. */
const followed = { name: "Line Danser", referralId: null, consultationId: null };

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
    // A doctor's and admin's workstation: the clinical keys too.
    DIGIMED_CLINICAL_KEY_FILE: db.clinicalKeyFile,
  };
  delete consoleEnv.DATABASE_URL;
  // No meeting service: consultations get demo links, whatever the machine's environment says.
  for (const name of ["DIGIMED_JITSI_DOMAIN", "DIGIMED_JITSI_APP_ID", "DIGIMED_JITSI_SECRET"]) delete consoleEnv[name];
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
      // "Live updates on": from here on the list follows the database without a reload.
      await find(driver, ".live-dot");
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

      // The new referral's panel, opened from the keyboard: the number to call is shown.
      await driver.executeScript(() => document.querySelector("table[role=grid]").focus());
      await driver.actions().sendKeys("\uE010").perform(); // End: the latest deadline is last
      await driver.actions().sendKeys("\uE007").perform(); // Enter
      await textBecomes(driver, "#panel-title", followed.name);
      await find(driver, ".screening-panel .referral-fields");
      await textBecomes(driver, "#screening-contact-phone", /^\+47 ?41 ?23 ?45 ?99$/, { message: "the phone to call" });
      followed.referralId = receipt.body.referral_id;

      // The secretary calls and records the call.
      await choose(driver, "#screen-outcome", "reached");
      await fill(driver, "#screen-note", "Reached; she wants a video consultation this week.");
      await (await find(driver, ".screening-panel form button[type=submit]")).click();
      await textBecomes(driver, "#screening-call-log", /she wants a video consultation this week/);
      assert.equal(
        psql(db.url, `SELECT string_agg(kind || ' ' || call_outcome, ',') FROM consultation_screenings WHERE referral_id = ${followed.referralId}`),
        "call_attempt reached",
      );
      await screenshot(driver, "secretary-referral-panel-en");

      // The patient's card, over the screening list: phone in full, national id masked.
      await (await find(driver, "#screening-contact-card")).click();
      await textBecomes(driver, "#card-title", followed.name);
      await textBecomes(driver, "#card-phone", /^\+47 ?41 ?23 ?45 ?99$/);
      await textBecomes(driver, "#card-national-id", `******${born.slice(6)}`);
      await screenshot(driver, "secretary-patient-card-en");
      await setLanguage(driver, "nb");
      await textBecomes(driver, "#card-contact-title", "Kontaktopplysninger");
      await screenshot(driver, "secretary-patient-card-nb");
      await setLanguage(driver, "en");
      await (await find(driver, "#card-back")).click();
      await textBecomes(driver, "#panel-title", followed.name, { message: "the panel is still open behind the card" });
      await screenshot(driver, "secretary-referral-panel-after-card-en");

      // The booking: nobody assigned, so it waits for a doctor to pick it.
      await (await find(driver, ".screening-panel .button-row .button-primary")).click(); // Create booking
      await find(driver, "#booking-title");
      await screenshot(driver, "secretary-booking-dialog-en");
      await setLanguage(driver, "nb");
      await textBecomes(driver, "#booking-title", /Danser/);
      await screenshot(driver, "secretary-booking-dialog-nb");
      await setLanguage(driver, "en");
      await (await find(driver, ".dialog button[type=submit]")).click(); // Book
      const said = await textBecomes(driver, ".screening-done span", /^Booked: consultation \d+ is in the doctors' queue\.$/);
      const id = Number(psql(db.url, `SELECT c.id FROM consultations c WHERE c.referral_id = ${followed.referralId}`));
      followed.consultationId = id;
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

  test("doctor: picks the booked referral, starts it, files a result with ICPC-2 and job description, reads it back and amends it", async () => {
    assert.ok(followed.consultationId, "the secretary booked the referral earlier in this run");
    const id = followed.consultationId;
    await withConsole(async (driver) => {
      await setLanguage(driver, "en");
      await signIn(driver, db.staff.doctor);
      await find(driver, ".data-table tbody tr");
      const nav = await navItems(driver);
      assert.ok(nav.includes("My consultations") && !nav.includes("Consultation queue") && !nav.includes("Screening"), `doctor's screens: ${nav}`);
      await waitInPage(driver, "my consultations", () => document.querySelector(".data-table tbody td")?.textContent !== "Loading…");
      // The referral the secretary booked waits for a doctor, beside the demo's.
      await waitInPage(driver, "the booked referral waiting for a doctor", (id) => document.querySelector(`#waiting-row-${id}`), [id]);
      await textBecomes(driver, "#waiting-title", /^Waiting for a doctor \(\d+\)$/);
      await screenshot(driver, "doctor-my-consultations-en");
      await setLanguage(driver, "nb");
      await textBecomes(driver, "#waiting-title", /^Venter på lege \(\d+\)$/);
      await screenshot(driver, "doctor-waiting-nb");
      await setLanguage(driver, "en");

      // Pick next takes the longest-waiting one; the doctor then picks the booked referral by name.
      await (await find(driver, ".screen-head .button-primary")).click(); // Pick next
      await waitInPage(driver, "the picked consultation", () => document.querySelector(".workspace .badge-state"));
      await textBecomes(driver, "#screen-title", "Jonas Myhre", { message: "the longest-waiting referral is picked" });
      await textBecomes(driver, ".workspace .badge-state", "Assigned");
      await screenshot(driver, "doctor-picked-en");
      await (await find(driver, ".screen-head .button-secondary")).click(); // Back to my consultations
      await (await find(driver, `#waiting-row-${id} button`)).click(); // Pick
      await textBecomes(driver, "#screen-title", followed.name);
      await textBecomes(driver, ".workspace .badge-state", "Assigned");
      assert.equal(
        psql(db.url, `SELECT c.state || ' ' || s.login_role FROM consultations c JOIN staff s ON s.id = c.assigned_doctor_id WHERE c.id = ${id}`),
        `pending_sp ${db.staff.doctor.login}`,
      );

      await (await find(driver, ".workspace .card .button-primary")).click(); // Start
      await textBecomes(driver, ".rooms", /https?:\/\//);
      // The console says what happened: the link is queued as a message, not yet sent.
      await textBecomes(driver, ".rooms .links-sent", /^The patient's link is queued as a message/);
      // No meeting service is set up here: the links say they are demo links.
      await textBecomes(driver, ".rooms .meeting-demo", "Demo link — no meeting service is set up");
      await find(driver, ".result-form");
      assert.equal(psql(db.url, `SELECT state FROM consultations WHERE id = ${id}`), "in_progress");
      await screenshot(driver, "doctor-started-en");

      // Nothing chosen yet: the form says so next to the field, and nothing reaches the database.
      await (await find(driver, ".result-form button[type=submit]")).click();
      await textBecomes(driver, "#result-icpc2-error", "Required.");
      assert.equal(psql(db.url, `SELECT count(*) FROM consultation_results WHERE consultation_id = ${id}`), "0");

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
      await fill(driver, "#result-notes", "Sore throat for three days, no fever. Rest and fluids.");
      await fill(driver, "#result-patient_job_description", "Kindergarten teacher");
      await fill(driver, "#result-policy_number", "4410029381");
      await screenshot(driver, "doctor-result-form-en");
      await (await find(driver, ".result-form button[type=submit]")).click();
      await textBecomes(driver, ".alert-info", "Consultation completed and result filed.");
      assert.equal(psql(db.url, `SELECT state FROM consultations WHERE id = ${id}`), "completed");
      assert.equal(
        psql(
          db.url,
          `SELECT count(*) || ' ' || string_agg(s.login_role, ',') FROM consultation_results r
             JOIN staff s ON s.id = r.author_staff_id WHERE r.consultation_id = ${id} AND r.version = 1`,
        ),
        `1 ${db.staff.doctor.login}`,
      );

      // Read back (the fields are encrypted in the database; this is the core's audited read).
      await textBecomes(driver, ".result-view .result-current", /^Version 1, by /);
      const facts = async () =>
        driver.executeScript(() => [...document.querySelectorAll(".result-view > .result-facts dd")].map((dd) => dd.textContent.trim()));
      await waitInPage(driver, "the result's fields", () => document.querySelectorAll(".result-view > .result-facts dd").length >= 4);
      const filed = await facts();
      assert.match(filed[0], /^R74 /);
      assert.equal(filed[1], "Helped");
      assert.ok(filed.includes("Kindergarten teacher"), `the job description is read back: ${filed}`);
      await screenshot(driver, "doctor-result-readback-en");

      // Amended with a reason: a second version, the first kept.
      await driver.executeScript(() =>
        [...document.querySelectorAll(".result-view button")].find((b) => b.textContent.trim() === "Amend result").click(),
      );
      await find(driver, "#amend-reason");
      await (await find(driver, ".amend-form button[type=submit]")).click();
      await textBecomes(driver, "#amend-reason-error", "Say why you amend the result.");
      assert.equal(psql(db.url, `SELECT count(*) FROM consultation_results WHERE consultation_id = ${id}`), "1");
      await fill(driver, "#amend-reason", "Referred after the throat swab");
      await choose(driver, "#amend-outcome", "referred_gp");
      await screenshot(driver, "doctor-result-amend-en");
      await (await find(driver, ".amend-form button[type=submit]")).click();
      await textBecomes(driver, ".result-view p.alert-info[role=status]", "Amendment saved as version 2.");
      await textBecomes(driver, ".result-view .result-reason", "Reason: Referred after the throat swab");
      await waitInPage(driver, "the amended outcome", () => document.querySelectorAll(".result-view > .result-facts dd")[1]?.textContent.trim() === "Referred to GP");
      assert.equal(psql(db.url, `SELECT string_agg(version::text, ',' ORDER BY version) FROM consultation_results WHERE consultation_id = ${id}`), "1,2");
      await screenshot(driver, "doctor-result-amended-en");
      await setLanguage(driver, "nb");
      await textBecomes(driver, ".result-view .result-reason", "Begrunnelse: Referred after the throat swab");
      await screenshot(driver, "doctor-result-amended-nb");
      await setLanguage(driver, "en");

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
      assert.deepEqual(nav, ["Onboard patient", "Fax inbox", "Leads", "Consent status"]);
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
      await driver.executeScript(() => [...document.querySelectorAll(".shell-nav .nav-item")].find((b) => b.textContent.trim() === "Consent status").click());
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

  test("admin: gives a discount on the followed consultation, and the insurer report shows its price, discount and total", async () => {
    await withConsole(async (driver) => {
      await setLanguage(driver, "en");
      await signIn(driver, db.staff.admin);
      await find(driver, "#report-partner");
      await textBecomes(driver, ".shell-name", "Hanne Strand");
      assert.deepEqual(await navItems(driver), ["Admin", "Screening", "Onboard patient", "Fax inbox", "Leads", "Consent status"]);
      await waitInPage(driver, "the partners and outcomes", () => document.querySelector("#report-partner option") && document.querySelector(".outcome-list li"));
      await screenshot(driver, "admin-en");

      // A discount on the followed consultation's order, with its reason: the total is recomputed.
      const id = followed.consultationId;
      assert.ok(id, "the referral was booked earlier in this run");
      const line = `.billing-table tr[data-consultation="${id}"]`;
      // The content column scrolls to the billing card (the frame around it stays put).
      await driver.executeScript(() => {
        const main = document.querySelector(".shell-main");
        const card = document.querySelector(".card.billing");
        if (main && card) main.scrollTop += card.getBoundingClientRect().top - main.getBoundingClientRect().top;
      });
      await waitInPage(driver, `consultation ${id} in the billing`, (line) => document.querySelector(line), [line], 30_000).catch(async (e) => {
        const card = await driver.executeScript(() => document.querySelector(".card.billing")?.textContent);
        const rows = psql(db.url, "SELECT string_agg(id || ' ' || coalesce(partner_id::text, '-') || ' ' || created_at || ' ' || now(), '; ' ORDER BY id) FROM consultations");
        throw new Error(`${e.message}; the billing card reads: ${card}; consultations: ${rows}`);
      });
      await textBecomes(driver, `${line} td.price`, /950[.,]00/);
      await (await find(driver, `${line} td button`)).click(); // Give a discount
      await fill(driver, "#discount-amount", "1200");
      await fill(driver, "#discount-reason", "The patient waited past the deadline");
      await (await find(driver, "[role=dialog] button[type=submit]")).click();
      await textBecomes(driver, "#discount-amount-error", /larger than the price/);
      assert.equal(psql(db.url, `SELECT l.discount || ' ' || o.total FROM orders o JOIN line_items l ON l.order_id = o.id WHERE o.consultation_id = ${id}`), "0.00 950.00");
      await fill(driver, "#discount-amount", "200");
      await screenshot(driver, "admin-discount-en");
      await (await find(driver, "[role=dialog] button[type=submit]")).click();
      await textBecomes(driver, ".card.billing .alert-success", new RegExp(`^Saved: consultation ${id} now totals `));
      await textBecomes(driver, `${line} td.total`, /750[.,]00/);
      await screenshot(driver, "admin-billing-en");
      await setLanguage(driver, "nb");
      await textBecomes(driver, "#billing-title", "Fakturagrunnlag");
      await screenshot(driver, "admin-billing-nb");
      await setLanguage(driver, "en");

      const today = new Date();
      // Report periods are dates in the clinic's time zone.
      const iso = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Oslo" }).format(d);
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

      // The file is in the Downloads folder, and it has the followed consultation, completed.
      assert.ok(existsSync(expected), `${expected} exists`);
      const completed = String(id);
      const rows = xlsxRows(expected);
      assert.deepEqual(rows[0].slice(0, 3), ["Consultation", "State", "Created"]);
      const count = Number(await driver.executeScript(() => document.querySelector(".report-summary strong").textContent.match(/\d+/)[0]));
      // A row per consultation counted in the summary, then the sum rows (one per currency).
      const sums = rows.slice(1).filter((r) => r[0] === "Sum");
      assert.ok(sums.length >= 1, "the sheet ends with its sum rows");
      assert.deepEqual(rows.slice(-sums.length), sums, "the sum rows come last");
      assert.equal(rows.length - 1 - sums.length, count, "a row per consultation counted in the summary");
      const row = rows.find((r) => r[0] === completed);
      assert.ok(row, `consultation ${completed} is in the report`);
      const header = rows[0];
      const cell = (name) => row[header.indexOf(name)];
      assert.equal(cell("State"), "completed");
      assert.equal(cell("ICPC-2 code"), "R74");
      assert.equal(cell("Outcome"), "Referred GP", "the newest version is reported");
      assert.equal(cell("Policy number"), "4410029381");
      assert.deepEqual(
        ["Price", "Discount", "Total"].map((name) => Number(cell(name))),
        [950, 200, 750],
        "price, discount and total of the consultation's order",
      );

      await setLanguage(driver, "nb");
      await screenshot(driver, "admin-report-exported-nb");
      await driver.executeScript(() => [...document.querySelectorAll(".shell-nav .nav-item")].find((b) => b.textContent.trim() === "Samtykkestatus").click());
      await waitInPage(driver, "the waiting list", () => document.querySelectorAll("table[aria-labelledby=waiting-title] tbody button.row-link").length > 0);
      await screenshot(driver, "admin-consent-status-nb");
      await setLanguage(driver, "en");
      await screenshot(driver, "admin-consent-status-en");
    });
  });
});
