// The support agent's walk-in onboarding: each field's error next to the field with the onboarding contract's
// code, nothing sent while the form is incomplete, likely duplicates to acknowledge before
// creating, the result card with the forms the patient must sign, and booking the patient a
// consultation from it.

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
afterEach(async () => {
  if (page) {
    assert.deepEqual(page.problems, []);
    await page.context().close();
    page = null;
  }
});

async function open(language) {
  page = await openConsole(browser, ui.url, language);
  await signIn(page, "customer_support");
  await page.locator("#onboard-name").waitFor();
  return page;
}

async function submit() {
  await page.locator(".onboard-form button[type=submit]").click();
}

/**
 * Waits until the error under a field says `expected` (an earlier attempt's may still be shown),
 * and that the field points at it and is marked invalid.
 */
async function fieldErrorIs(field, expected) {
  await textBecomes(page.locator(`#onboard-${field}-error`), expected);
  await attributeBecomes(page.locator(`#onboard-${field}`), "aria-invalid", "true");
  await attributeBecomes(page.locator(`#onboard-${field}`), "aria-describedby", new RegExp(`onboard-${field}-error`));
}

/** How many org-patient links the database holds (what an onboarding writes). */
function patientCount() {
  return Number(sql("SELECT count(*) AS n FROM patients")[0].n);
}

describe("onboarding a walk-in patient", () => {
  test("each field's error is shown next to it with the contract's code, and nothing is sent until the form is complete", async () => {
    await open("en");
    const before = patientCount();
    // Clerk is not configured in the demo: the screen says where the login account goes.
    await textBecomes(page.locator(".screen .notice-info"), /local account directory/);

    await submit();
    await fieldErrorIs("name", "Name is required. (name_required)");
    await focusBecomes(page, "onboard-name"); // the field with the error gets the focus
    await shot(page, "onboard-error-name-en");

    await page.fill("#onboard-name", "Kari Nordmann");
    await countBecomes(page.locator("#onboard-name-error"), 0, "typing in the field clears its error");
    await submit();
    await fieldErrorIs("email", "E-mail is required. (email_required)");

    await page.fill("#onboard-email", "kari.nordmann@example");
    await submit();
    await fieldErrorIs("email", "This is not a valid e-mail address. (invalid_email_format)");

    await page.fill("#onboard-email", "kari.nordmann@example.com");
    await submit();
    await fieldErrorIs("phone", "Phone is required. (phone_required)");
    assert.equal(await page.locator("#onboard-name-error, #onboard-email-error").count(), 0, "one error at a time, in the contract's order");
    assert.equal((await calls(page, "onboard_walk_in")).length, 0, "nothing is sent while a field is missing or malformed");

    // A phone number the console cannot judge goes to the core, which refuses it under the field.
    await page.fill("#onboard-phone", "412 34");
    await submit();
    await fieldErrorIs("phone", "This is not a valid phone number. (invalid_phone_format)");
    assert.equal((await calls(page, "onboard_walk_in")).length, 1);
    assert.equal(patientCount(), before, "a refused onboarding writes nothing");
    await shot(page, "onboard-error-phone-en");

    // Corrected, it goes through: the result card lists the forms to sign.
    await page.fill("#onboard-phone", "412 34 599");
    await submit();
    await textBecomes(page.locator("#onboard-result-title"), "Kari Nordmann is onboarded");
    await textBecomes(page.locator(".onboard-result"), /A new login account was created\. Patient number \d+\./);
    await page.locator(".onboard-result .form-item").first().waitFor();
    await eventually(async () => {
      const forms = await page.locator(".onboard-result .form-item .form-title").allTextContents();
      assert.deepEqual(forms, ["Privacy Policy & GDPR Consent", "Profile Sharing Consent"]);
      const badges = await page.locator(".onboard-result .form-item .badge").allTextContents();
      assert.deepEqual(badges, ["Unsigned", "Unsigned"]);
    });
    await countBecomes(page.locator(".onboard-result .form-actions button", { hasText: "Record paper signature" }), 2);
    assert.deepEqual((await calls(page, "onboard_walk_in")).at(-1), {
      input: { name: "Kari Nordmann", email: "kari.nordmann@example.com", phone: "412 34 599" },
    });
    assert.equal(patientCount(), before + 1);
    await shot(page, "onboard-result-en");

    // "Onboard another patient" starts over with an empty form.
    await page.locator(".onboard-result button", { hasText: "Onboard another patient" }).click();
    await page.locator("#onboard-name").waitFor();
    await valueBecomes(page.locator("#onboard-name"), "");
  });

  test("likely duplicates must be acknowledged before a patient is created", async () => {
    await open("en");
    const before = patientCount();
    // A new e-mail address, but the phone number of the demo's Lars Nilsen.
    await page.fill("#onboard-name", "Lars Nielsen");
    await page.fill("#onboard-email", "lars.nielsen@example.org");
    await page.fill("#onboard-phone", "412 34 512");
    await page.locator(".candidates").waitFor();
    await textBecomes(page.locator("#candidates-title"), "Possibly already known");
    // The matches are looked up again as the fields change: wait for those of all three.
    await eventually(async () => {
      const candidates = (await page.locator(".candidates li").allTextContents()).map((s) => s.replace(/\s+/g, " ").trim());
      assert.deepEqual(candidates, ["Lars Nilsen matches on: phone"]);
    });

    await submit();
    const error = page.locator("#onboard-candidates-error");
    await textBecomes(error, "Check the possible matches first.");
    await focusBecomes(page, "onboard-confirm-new");
    assert.equal((await calls(page, "onboard_walk_in")).length, 0, "not sent before the matches are acknowledged");
    await shot(page, "onboard-candidates-en");

    await page.check("#onboard-confirm-new");
    await submit();
    await textBecomes(page.locator("#onboard-result-title"), "Lars Nielsen is onboarded");
    assert.equal(patientCount(), before + 1);
  });

  test("a patient already at the clinic is refused, and nothing is created", async () => {
    await open("en");
    const before = patientCount();
    await page.fill("#onboard-name", "Emma Johansen");
    await page.fill("#onboard-email", "Emma.Johansen@example.com");
    await page.fill("#onboard-phone", "+47 412 34 513");
    await page.locator(".candidates").waitFor();
    // The matches are looked up again as the fields change: wait for those of all three.
    await eventually(async () => {
      const candidates = (await page.locator(".candidates li").allTextContents()).map((s) => s.replace(/\s+/g, " ").trim());
      assert.deepEqual(candidates, ["Emma Johansen matches on: e-mail, phone"]);
    });
    // Changing a field takes the acknowledgement back.
    await page.check("#onboard-confirm-new");
    await page.fill("#onboard-phone", "+47 412 34 51");
    await eventually(async () => assert.equal(await page.isChecked("#onboard-confirm-new"), false));
    await page.fill("#onboard-phone", "+47 412 34 513");
    await page.check("#onboard-confirm-new");
    await submit();
    const alert = page.locator(".onboard-form .alert-error");
    await textBecomes(alert, /^Patient with this email already exists in this organization/);
    await textBecomes(alert, /Look the patient up in Consent status instead\./);
    assert.equal(patientCount(), before);
  });

  test("in Norwegian: labels, the field errors and the result card", async () => {
    await open("nb");
    assert.equal(await page.locator("#screen-title").textContent(), "Registrer pasient");
    assert.equal(await page.locator("label[for=onboard-name]").textContent(), "Fullt navn");
    await submit();
    await fieldErrorIs("name", "Navn må fylles ut. (name_required)");
    await page.fill("#onboard-name", "Ola Nordmann");
    await page.fill("#onboard-email", "ola.nordmann@");
    await submit();
    await fieldErrorIs("email", "Dette er ikke en gyldig e-postadresse. (invalid_email_format)");
    await shot(page, "onboard-error-email-nb");
    await page.fill("#onboard-email", "ola.nordmann@example.com");
    await page.fill("#onboard-phone", "98765432");
    await submit();
    await page.locator(".onboard-result .form-item").first().waitFor();
    await textBecomes(page.locator("#onboard-result-title"), "Ola Nordmann er registrert");
    await textBecomes(page.locator(".onboard-result h3"), /Skjemaer som skal signeres/);
    await eventually(async () =>
      assert.deepEqual(await page.locator(".onboard-result .form-item .badge").allTextContents(), ["Ikke signert", "Ikke signert"]),
    );
    await shot(page, "onboard-result-nb");
    await page.locator(".onboard-result button", { hasText: "Book konsultasjon" }).click();
    const dialog = page.getByRole("dialog", { name: "Book konsultasjon for Ola Nordmann" });
    await dialog.waitFor();
    await textBecomes(dialog.locator("label[for=booking-doctor]"), "Lege");
    await dialog.getByRole("option", { name: "Dr. Kari Dahl" }).waitFor({ state: "attached" });
    await shot(page, "onboard-booking-dialog-nb");
    await dialog.getByRole("button", { name: "Avbryt" }).click();
    await dialog.waitFor({ state: "detached" });
  });

  test("the patient just onboarded is booked from the result card, and the console says where the consultation went", async () => {
    await open("en");
    await page.fill("#onboard-name", "Jon Walker");
    await page.fill("#onboard-email", "jon.walker@example.com");
    await page.fill("#onboard-phone", "412 34 598");
    await submit();
    await textBecomes(page.locator("#onboard-result-title"), "Jon Walker is onboarded");
    await page.locator(".onboard-result button", { hasText: "Book a consultation" }).click();
    const dialog = page.getByRole("dialog", { name: "Book a consultation for Jon Walker" });
    await dialog.waitFor();
    await dialog.getByRole("option", { name: "Dr. Kari Dahl" }).waitFor({ state: "attached" });
    await shot(page, "onboard-booking-dialog-en");
    await dialog.getByLabel("Doctor").selectOption({ label: "Dr. Kari Dahl" });
    await dialog.getByLabel("Phone").check();
    await dialog.getByLabel("Primary channel").selectOption("phone");
    await dialog.getByRole("button", { name: "Book", exact: true }).click();
    const said = await textBecomes(page.locator(".onboard-booked"), /^Booked: consultation \d+ is assigned to Dr\. Kari Dahl\.$/);
    await dialog.waitFor({ state: "detached" });
    const id = Number(said.match(/consultation (\d+)/)[1]);
    assert.deepEqual(
      sql(`SELECT c.state, c.category, c.primary_channel, s.name AS doctor, pp.name AS patient FROM consultations c
             JOIN staff s ON s.id = c.assigned_doctor_id JOIN patient_persons pp ON pp.id = c.patient_person_id WHERE c.id = ${id}`),
      [{ state: "pending_sp", category: "direct", primary_channel: "phone", doctor: "Dr. Kari Dahl", patient: "Jon Walker" }],
    );
    await shot(page, "onboard-booked-en");
  });
});
