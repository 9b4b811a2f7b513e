// The forms a clinic requires at onboarding, on the admin screen: the demo's two rules and their
// forms, requiring another form (none chosen is refused, a template without a published text by
// the backend), blocking or not, removing one, a new rule, and the same in Norwegian.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { attributeBecomes, calls, eventually, launch, openConsole, serveUi, shot, signIn, textBecomes } from "./support.mjs";

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
  await page.locator(".rule-item").first().waitFor();
  return page;
}

const newRule = () => page.locator(".rule-item", { hasText: "New patients sign privacy and profile sharing" });

async function required(rule) {
  return rule.locator(".rule-forms li").evaluateAll((items) =>
    items.map((li) => `${li.querySelector(".rule-form-title").textContent.trim()} ${li.querySelector("input").checked ? "blocking" : "not blocking"}`),
  );
}

describe("forms required at onboarding", () => {
  test("requires another form, makes one not blocking, removes one", async () => {
    await open("en");
    assert.deepEqual(await page.locator(".rule-item h3").allTextContents(), [
      "New patients sign privacy and profile sharing",
      "Patients known elsewhere sign profile sharing",
    ]);
    assert.match(await newRule().locator(".template-facts").textContent(), /Patients new to Digimed · also sends the welcome e-mail/);
    assert.deepEqual(await required(newRule()), [
      "Privacy Policy & GDPR Consent privacy_gdpr blocking",
      "Profile Sharing Consent profile_sharing blocking",
    ]);
    await page.locator("#rules-title").scrollIntoViewIfNeeded();
    await shot(page, "admin-rules-en");

    // Nothing chosen: refused next to the list, nothing sent.
    const select = newRule().getByLabel("Require another form");
    // The templates to choose from are a list of their own, read beside the rules.
    await eventually(async () => assert.deepEqual(await select.locator("option").allTextContents(), ["Choose a form template", "Terms of Service"]));
    await newRule().getByRole("button", { name: "Require form" }).click();
    await textBecomes(newRule().locator(".field-error"), "Choose the form to require.");
    await attributeBecomes(select, "aria-invalid", "true");
    assert.deepEqual(await calls(page, "rule_require_form"), []);

    // The terms, not blocking.
    await select.selectOption({ label: "Terms of Service" });
    await newRule().getByLabel("Blocking: signed before the first consultation").uncheck();
    await newRule().getByRole("button", { name: "Require form" }).click();
    await newRule().locator(".rule-forms li", { hasText: "Terms of Service" }).waitFor();
    assert.deepEqual(await calls(page, "rule_require_form"), [{ ruleId: 1, templateId: 3, blocking: false }]);
    await eventually(async () => assert.equal((await required(newRule())).at(-1), "Terms of Service terms_of_service not blocking"));
    await textBecomes(page.getByRole("status").filter({ hasText: "required" }), "Terms of Service is now required.");

    // Privacy no longer blocking, with the keyboard; profile sharing removed.
    await newRule().getByLabel("Blocking: Privacy Policy & GDPR Consent").focus();
    await page.keyboard.press("Space");
    await page.waitForFunction(() => document.querySelector(".sr-only[role=status]")?.textContent === "Privacy Policy & GDPR Consent is no longer blocking.");
    await newRule().getByRole("button", { name: "Remove Profile Sharing Consent from New patients sign privacy and profile sharing" }).click();
    await page.waitForFunction(() => document.querySelector(".sr-only[role=status]")?.textContent === "Profile Sharing Consent is no longer required.");
    await eventually(async () =>
      assert.deepEqual(await required(newRule()), [
        "Privacy Policy & GDPR Consent privacy_gdpr not blocking",
        "Terms of Service terms_of_service not blocking",
      ]),
    );
    const stored = await page.evaluate(() => window.__digimed.rules());
    assert.deepEqual(stored[0].forms.map((f) => [f.template_id, f.blocking]), [[1, false], [3, false]]);
    assert.deepEqual(stored[1].forms.map((f) => f.template_id), [2], "the other rule is unchanged");
    await newRule().scrollIntoViewIfNeeded();
    await shot(page, "admin-rules-changed-en");
  });

  test("a template without a published text is refused; a new rule for every patient", async () => {
    await open("en");
    // A template created a moment ago has no published text yet: the backend refuses it.
    const create = page.locator("form.new-template", { hasText: "New template" });
    await create.getByLabel("Title").fill("Video consultation consent");
    await create.getByLabel("Key").fill("video_consent");
    await create.getByRole("button", { name: "Create template" }).click();
    await page.locator(".template-item", { hasText: "video_consent" }).waitFor();
    const select = newRule().getByLabel("Require another form");
    await page.waitForFunction(() => [...document.querySelectorAll(".rule-item select option")].some((o) => o.textContent === "Video consultation consent"));
    await select.selectOption({ label: "Video consultation consent" });
    await newRule().getByRole("button", { name: "Require form" }).click();
    await textBecomes(
      newRule().locator(".field-error"),
      "'Video consultation consent' has no published version yet; publish its text first, or onboarding would skip it.",
    );
    await attributeBecomes(select, "aria-invalid", "true");
    assert.equal((await page.evaluate(() => window.__digimed.rules()))[0].forms.length, 2, "nothing added");
    await newRule().scrollIntoViewIfNeeded();
    await shot(page, "admin-rules-unpublished-en");

    await page.getByLabel("Name of the rule").fill("Everyone signs the terms");
    await page.getByLabel("Applies to").selectOption("everyone");
    await page.getByRole("button", { name: "Add rule" }).click();
    const every = page.locator(".rule-item", { hasText: "Everyone signs the terms" });
    await textBecomes(every, /Every onboarded patient/);
    await every.getByText("This rule requires no form.").waitFor();
    assert.ok(await every.getByText("This rule requires no form.").isVisible());
    assert.deepEqual(await calls(page, "onboarding_rule_add"), [{ name: "Everyone signs the terms", appliesTo: "everyone" }]);
    await every.getByLabel("Require another form").selectOption({ label: "Terms of Service" });
    await every.getByRole("button", { name: "Require form" }).click();
    await every.locator(".rule-forms li", { hasText: "Terms of Service" }).waitFor();
    await eventually(async () => assert.equal(await every.locator(".rule-forms input").isChecked(), true, "blocking unless unticked"));
    await every.scrollIntoViewIfNeeded();
    await shot(page, "admin-rules-new-en");
  });

  test("in Norwegian", async () => {
    await open("nb");
    assert.equal(await page.locator("#rules-title").textContent(), "Skjemaer som kreves ved registrering");
    assert.match(await newRule().locator(".template-facts").textContent(), /Pasienter som er nye hos Digimed · sender også velkomst-e-posten/);
    await newRule().getByRole("button", { name: "Krev skjema" }).click();
    await textBecomes(newRule().locator(".field-error"), "Velg skjemaet som skal kreves.");
    await newRule().getByLabel("Blokkerende: Profile Sharing Consent").uncheck();
    await page.waitForFunction(() => document.querySelector(".sr-only[role=status]")?.textContent === "Profile Sharing Consent er ikke lenger blokkerende.");
    await page.getByRole("button", { name: "Legg til regel" }).click();
    await textBecomes(page.locator("#new-rule-name-error"), "Gi regelen et navn på høyst 200 tegn.");
    await page.locator("#rules-title").scrollIntoViewIfNeeded();
    await shot(page, "admin-rules-nb");
  });
});
