// The consent-status view (support agent and admin): the patients waiting for blocking forms and
// the counts by form, a paper signature recorded only once confirmed (and tied to the hash of the
// text shown), and a consent withdrawn only with a reason.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, afterEach, before, describe, test } from "node:test";
import { attributeBecomes, calls, countBecomes, eventually, launch, openConsole, serveUi, shot, signIn, textBecomes } from "./support.mjs";

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
    // The counts are a list of their own, read beside the waiting patients.
    await eventually(async () =>
      assert.deepEqual(await counts(), [
        ["Privacy Policy & GDPR Consent", "1", "2", "0", "0"],
        ["Profile Sharing Consent", "2", "1", "0", "0"],
      ]),
    );
    await shot(page, "consent-status-en");
  });

  test("a paper signature needs the confirmation; once recorded the patient leaves the waiting list", async () => {
    await open("en");
    await openPatient("Lars Nilsen");
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

    await page.locator("#waiting-title", { hasText: "(1)" }).waitFor();
    await eventually(async () => assert.deepEqual((await waiting()).map((r) => r[0]), ["Mari Eriksen"]));
    await eventually(async () =>
      assert.deepEqual(await counts(), [
        ["Privacy Policy & GDPR Consent", "1", "2", "0", "0"],
        ["Profile Sharing Consent", "1", "2", "0", "0"],
      ]),
    );
    await form("Profile Sharing Consent").locator(".badge", { hasText: "Signed" }).waitFor();
    await textBecomes(form("Profile Sharing Consent"), /Signed on paper, attested by staff/);
    await page.locator(".side-panel .timeline li", { hasText: "Profile Sharing Consent: signed" }).waitFor();
    await eventually(async () => {
      const history = await timeline();
      assert.ok(history.some((t) => /^Consent granted: (Profile sharing|profile_sharing)$/.test(t)), `history: ${history}`);
    });
    const forms = await page.evaluate(() => window.__digimed.forms(window.__digimed.patients().find((p) => p.name === "Lars Nilsen").id));
    const signed = forms.find((f) => f.title === "Profile Sharing Consent");
    assert.equal(signed.signed_by, "staff_attested");
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
    await open("nb", "admin");
    await textBecomes(page.locator("#waiting-title"), "Pasienter som mangler signatur (2)");
    await openPatient("Mari Eriksen");
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
    await page.locator("#waiting-title", { hasText: "(2)" }).waitFor();
    await page.waitForFunction(() =>
      [...document.querySelectorAll("table[aria-labelledby=waiting-title] tbody tr")].some(
        (tr) => tr.textContent.includes("Mari Eriksen") && !tr.textContent.includes("Privacy"),
      ),
    );
  });
});
