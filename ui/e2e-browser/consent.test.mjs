// The consent-status view (support agent and admin): the patients waiting for blocking forms and
// the counts by form, a paper signature recorded only once confirmed (and tied to the hash of the
// text shown), and a consent withdrawn only with a reason.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, afterEach, before, describe, test } from "node:test";
import {
  DEMO,
  attributeBecomes,
  calls,
  cli,
  cliAs,
  countBecomes,
  eventually,
  launch,
  openConsole,
  serveUi,
  shot,
  signIn,
  sql,
  textBecomes,
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

const PROFILE_SHARING_TEXT =
  "I allow this clinic to see my health profile (date of birth, blood type, allergies, chronic conditions and insurance) that I registered with another clinic.";

async function open(language, role = "customer_support") {
  page = await openConsole(browser, ui.url, language);
  await signIn(page, role);
  await page.locator(".shell-nav .nav-item", { hasText: language === "nb" ? "Samtykkestatus" : "Consent status" }).click();
  await page.locator("table[aria-labelledby=waiting-title] tbody button.row-link").first().waitFor();
  return page;
}

async function waiting() {
  return page.locator("table[aria-labelledby=waiting-title] tbody tr").evaluateAll((rows) =>
    rows.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent.trim())),
  );
}

async function counts() {
  return page.locator("table[aria-labelledby=counts-title] tbody tr").evaluateAll((rows) =>
    rows.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent.trim())),
  );
}

async function openPatient(name) {
  await page.locator("button.row-link", { hasText: name }).click();
  await page.locator("#consent-panel-title", { hasText: name }).waitFor();
  await page.locator(".side-panel .form-item").first().waitFor();
  await page.locator(".side-panel .timeline li").first().waitFor();
}

/** The demo clinic's id (its staff's organization). */
function clinic() {
  return sql(`SELECT organization_id FROM staff WHERE login_role = '${DEMO.customer_support.login}'`)[0].organization_id;
}

/**
 * A walk-in patient of the test's own, onboarded at the demo clinic (with the forms its rules
 * require), who already signed the forms titled in `signed` on paper: what a test signs, so that the
 * demo's patients stay as they are for the other tests. Returns the forms by title.
 */
function walkIn(name, phone, signed = []) {
  const email = `${name.toLowerCase().replace(/\s+/g, ".")}@example.com`;
  const onboarded = JSON.parse(cli(["onboard", "--name", name, "--email", email, "--phone", phone, "--org", String(clinic()), "--json"]));
  const forms = Object.fromEntries(onboarded.data.required_forms.map((f) => [f.title, f.form_id]));
  for (const title of signed) sign(forms[title]);
  return forms;
}

/** Records a paper signature of form `id` as the demo's support agent (outside the page). */
function sign(id) {
  const [{ sha }] = sql(
    `SELECT encode(v.body_sha256, 'hex') AS sha FROM forms f JOIN form_template_versions v ON v.id = f.template_version_id WHERE f.id = ${id}`,
  );
  cliAs("customer_support", ["forms", "attest-signature", "--template-sha256", sha, String(id)]);
}

/** How many patients of the clinic wait for a blocking form, as the database says now. */
function waitingNow() {
  return Number(
    sql(`SELECT count(DISTINCT f.patient_id) AS n FROM forms f JOIN patients p ON p.id = f.patient_id
          WHERE p.organization_id = ${clinic()} AND f.status = 'pending' AND f.blocking`)[0].n,
  );
}

/** The clinic's forms counted by template and status, as the database says now (the other tests' patients count too). */
function countsNow() {
  return sql(
    `SELECT t.title,
            count(*) FILTER (WHERE f.status = 'pending') AS pending, count(*) FILTER (WHERE f.status = 'signed') AS signed,
            count(*) FILTER (WHERE f.status = 'declined') AS declined, count(*) FILTER (WHERE f.status = 'superseded') AS superseded
       FROM forms f JOIN patients p ON p.id = f.patient_id JOIN form_templates t ON t.id = f.template_id
      WHERE p.organization_id = ${clinic()} GROUP BY t.id, t.title ORDER BY t.title, t.id`,
  ).map((r) => [r.title, String(r.pending), String(r.signed), String(r.declined), String(r.superseded)]);
}

function form(title) {
  return page.locator(".side-panel .form-item", { hasText: title });
}

async function timeline() {
  return page.locator(".side-panel .timeline li").evaluateAll((items) => items.map((li) => li.querySelector("span")?.textContent.trim()));
}

describe("consent status", () => {
  test("lists the patients waiting for blocking forms, oldest first, and the counts by form", async () => {
    await open("en");
    await textBecomes(page.locator("#waiting-title"), "Patients waiting for forms (2)");
    const rows = await waiting();
    assert.deepEqual(
      rows.map((r) => r.slice(0, 2)),
      [
        ["Lars Nilsen", "Profile Sharing Consent"],
        ["Mari Eriksen", "Privacy Policy & GDPR Consent, Profile Sharing Consent"],
      ],
    );
    assert.match(rows[0][2], /^8 days?/, "Lars has waited eight days");
    assert.equal(rows[0][3], "—", "Lars has no booking");
    assert.match(rows[1][3], /^Assigned, booked /, "Mari's booking waits for her forms");
    // The counts are a list of their own, read beside the waiting patients. (The demo has, of its
    // three walk-ins, Privacy 1 pending and 2 signed, Profile Sharing 2 pending and 1 signed; the
    // other tests' patients count too: what the database says.)
    await eventually(async () => assert.deepEqual(await counts(), countsNow()));
    await shot(page, "consent-status-en");
  });

  test("a paper signature needs the confirmation; once recorded the patient leaves the waiting list", async () => {
    // A patient of this test's own who, like the demo's Lars Nilsen, signed the privacy form and waits for profile sharing.
    const forms = walkIn("Kari Holm", "+47 412 36 001", ["Privacy Policy & GDPR Consent"]);
    await open("en");
    await openPatient("Kari Holm");
    const waitingBefore = waitingNow();
    const countsBefore = countsNow();
    await textBecomes(page.locator("#waiting-title"), `Patients waiting for forms (${waitingBefore})`);
    const othersWaiting = (await waiting()).map((r) => r[0]).filter((name) => name !== "Kari Holm");
    await textBecomes(form("Profile Sharing Consent").locator(".badge"), "Unsigned");
    await textBecomes(form("Privacy Policy & GDPR Consent").locator(".badge"), "Signed");
    await shot(page, "consent-patient-panel-en");

    await form("Profile Sharing Consent").locator("button", { hasText: "Record paper signature" }).click();
    const dialog = page.locator("[role=dialog]");
    await dialog.locator(".form-text").waitFor();
    await textBecomes(page.locator("#sign-dialog-title"), "Paper signature: Profile Sharing Consent");
    await textBecomes(dialog.locator(".form-text"), PROFILE_SHARING_TEXT, "the text the patient signs is shown");

    // Without the confirmation nothing is sent.
    await dialog.locator("button[type=submit]").click();
    await textBecomes(page.locator("#sign-confirm-error"), "Confirm that the patient signed this text.");
    assert.equal((await calls(page, "form_attest_signature")).length, 0);
    await shot(page, "consent-sign-dialog-en");

    await page.check("#sign-confirm");
    await dialog.locator("button[type=submit]").click();
    await textBecomes(page.locator(".side-panel .alert-success"), "Signature recorded; the form's consents are granted.");
    await countBecomes(page.locator("[role=dialog]"), 0);
    // The signature names the text shown, by its SHA-256.
    const [sent] = await calls(page, "form_attest_signature");
    assert.equal(sent.templateSha256, createHash("sha256").update(PROFILE_SHARING_TEXT).digest("hex"));

    await page.locator("#waiting-title", { hasText: `(${waitingBefore - 1})` }).waitFor();
    await eventually(async () => assert.deepEqual((await waiting()).map((r) => r[0]), othersWaiting));
    // One Profile Sharing form less pending, one more signed.
    const countsAfter = countsBefore.map((r) =>
      r[0] === "Profile Sharing Consent" ? [r[0], String(Number(r[1]) - 1), String(Number(r[2]) + 1), r[3], r[4]] : r,
    );
    await eventually(async () => assert.deepEqual(await counts(), countsAfter));
    await form("Profile Sharing Consent").locator(".badge", { hasText: "Signed" }).waitFor();
    await textBecomes(form("Profile Sharing Consent"), /Signed on paper, attested by staff/);
    await page.locator(".side-panel .timeline li", { hasText: "Profile Sharing Consent: signed" }).waitFor();
    await eventually(async () => {
      const history = await timeline();
      assert.ok(history.some((t) => /^Consent granted: (Profile sharing|profile_sharing)$/.test(t)), `history: ${history}`);
    });
    const [signed] = sql(
      `SELECT status, signed_by, encode(signed_template_sha256, 'hex') AS sha FROM forms WHERE id = ${forms["Profile Sharing Consent"]}`,
    );
    assert.deepEqual(signed, { status: "signed", signed_by: "staff_attested", sha: sent.templateSha256 });
    await shot(page, "consent-signed-en");
  });

  test("withdrawing a consent needs a reason, and the history shows it", async () => {
    await open("en");
    await openPatient("Lars Nilsen");
    const marketing = page.locator(".side-panel .consent-list li", { hasText: "Marketing" });
    await marketing.locator("button", { hasText: "Withdraw" }).click();
    await textBecomes(page.locator("#withdraw-dialog-title"), "Withdraw consent: Marketing");

    await page.locator("[role=dialog] button[type=submit]").click();
    await textBecomes(page.locator("#withdraw-reason-error"), "Say why the consent is withdrawn.");
    await attributeBecomes(page.locator("#withdraw-reason"), "aria-invalid", "true");
    // Only spaces is no reason either. (The error stays from the first attempt, in the same words:
    // what shows the spaces were refused is that nothing is sent.)
    await page.fill("#withdraw-reason", "   ");
    await page.locator("[role=dialog] button[type=submit]").click();
    await textBecomes(page.locator("#withdraw-reason-error"), "Say why the consent is withdrawn.");
    assert.equal((await calls(page, "consent_withdraw")).length, 0);
    await shot(page, "consent-withdraw-dialog-en");

    await page.fill("#withdraw-reason", "No longer wants newsletters");
    await page.locator("[role=dialog] button[type=submit]").click();
    await page.locator(".side-panel .alert-success", { hasText: "The consent is withdrawn and takes effect now." }).waitFor();
    await textBecomes(marketing, /withdrawn .* — No longer wants newsletters/);
    await countBecomes(marketing.locator("button"), 0, "a withdrawn consent cannot be withdrawn again");
    await page.locator(".side-panel .timeline li", { hasText: "No longer wants newsletters" }).waitFor();
    const [sent] = await calls(page, "consent_withdraw");
    assert.equal(sent.reason, "No longer wants newsletters");
    await shot(page, "consent-withdrawn-en");
  });

  test("the admin sees the same view; in Norwegian", async () => {
    // A patient of this test's own who, like the demo's Mari Eriksen, has signed neither form.
    const forms = walkIn("Mona Aas", "+47 412 36 002");
    try {
      const waitingBefore = waitingNow();
      await open("nb", "admin");
      await textBecomes(page.locator("#waiting-title"), `Pasienter som mangler signatur (${waitingBefore})`);
      await openPatient("Mona Aas");
      await eventually(async () =>
        assert.deepEqual(await page.locator(".side-panel .form-item .badge").allTextContents(), ["Ikke signert", "Ikke signert"]),
      );
      await countBecomes(page.locator(".side-panel .form-actions button", { hasText: "Registrer papirsignatur" }), 2);
      await shot(page, "consent-status-nb");
      await form("Privacy Policy & GDPR Consent").locator("button", { hasText: "Registrer papirsignatur" }).click();
      await page.locator("[role=dialog] .form-text").waitFor();
      await page.locator("[role=dialog] button[type=submit]").click();
      await textBecomes(page.locator("#sign-confirm-error"), "Bekreft at pasienten signerte denne teksten.");
      await shot(page, "consent-sign-dialog-nb");
      // Signing one of her two forms leaves her waiting for the other.
      await page.check("#sign-confirm");
      await page.locator("[role=dialog] button[type=submit]").click();
      await page.locator(".side-panel .alert-success").waitFor();
      await page.locator("#waiting-title", { hasText: `(${waitingBefore})` }).waitFor();
      await page.waitForFunction(() =>
        [...document.querySelectorAll("table[aria-labelledby=waiting-title] tbody tr")].some(
          (tr) => tr.textContent.includes("Mona Aas") && !tr.textContent.includes("Privacy"),
        ),
      );
    } finally {
      // She signs the other too, leaving the waiting list to the demo's patients.
      for (const id of Object.values(forms)) {
        if (sql(`SELECT status FROM forms WHERE id = ${id}`)[0].status === "pending") sign(id);
      }
    }
  });
});
