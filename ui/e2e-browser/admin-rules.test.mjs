// The forms a clinic requires at onboarding, on the admin screen: the demo's two rules and their
// forms, requiring another form (none chosen is refused, a template without a published text by
// the backend), blocking or not, removing one, a new rule, and the same in Norwegian.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { DEMO, attributeBecomes, calls, eventually, launch, openConsole, serveUi, shot, signIn, sql, textBecomes } from "./support.mjs";

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
const knownRule = () => page.locator(".rule-item", { hasText: "Patients known elsewhere sign profile sharing" });

/** The admin's clinic (the rules are per clinic). */
const clinic = () => `(SELECT organization_id FROM staff WHERE login_role = '${DEMO.admin.login.replace(/'/g, "''")}')`;

/** The clinic's rules, as the list shows them (by position). */
const storedRules = () =>
  sql(`SELECT id, name FROM automation_rules WHERE organization_id = ${clinic()} ORDER BY position, id`);

/** The rule of the clinic named `name`. */
const ruleId = (name) => storedRules().find((r) => r.name === name).id;

/** The forms a rule requires, in order: [template key, blocking]. */
const storedForms = (id) =>
  sql(
    `SELECT t.key, a.blocking FROM automation_actions a JOIN form_templates t ON t.id = a.template_id
      WHERE a.rule_id = ${id} AND a.action = 'create_form' ORDER BY a.position, a.id`,
  ).map((f) => [f.key, f.blocking]);

const templateId = (key) => sql(`SELECT id FROM form_templates WHERE key = '${key}'`)[0].id;

async function required(rule) {
  return rule.locator(".rule-forms li").evaluateAll((items) =>
    items.map((li) => `${li.querySelector(".rule-form-title").textContent.trim()} ${li.querySelector("input").checked ? "blocking" : "not blocking"}`),
  );
}

describe("forms required at onboarding", () => {
  test("requires another form, makes one not blocking, removes one", async () => {
    await open("en");
    const names = await page.locator(".rule-item h3").allTextContents();
    assert.deepEqual(names.slice(0, 2), ["New patients sign privacy and profile sharing", "Patients known elsewhere sign profile sharing"]);
    assert.deepEqual(names, storedRules().map((r) => r.name), "the clinic's rules, by position");
    const newId = ruleId("New patients sign privacy and profile sharing");
    const knownForms = storedForms(ruleId("Patients known elsewhere sign profile sharing"));
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
    // The clinic's templates the rule does not require yet, by title (the demo's: Terms of Service).
    const offered = sql(
      `SELECT title FROM form_templates t WHERE (organization_id IS NULL OR organization_id = ${clinic()})
          AND NOT EXISTS (SELECT 1 FROM automation_actions a WHERE a.rule_id = ${newId} AND a.template_id = t.id)
        ORDER BY title, id`,
    ).map((t) => t.title);
    assert.ok(offered.includes("Terms of Service"));
    await eventually(async () => assert.deepEqual(await select.locator("option").allTextContents(), ["Choose a form template", ...offered]));
    await newRule().getByRole("button", { name: "Require form" }).click();
    await textBecomes(newRule().locator(".field-error"), "Choose the form to require.");
    await attributeBecomes(select, "aria-invalid", "true");
    assert.deepEqual(await calls(page, "rule_require_form"), []);

    // The terms, not blocking.
    await select.selectOption({ label: "Terms of Service" });
    await newRule().getByLabel("Blocking: signed before the first consultation").uncheck();
    await newRule().getByRole("button", { name: "Require form" }).click();
    await newRule().locator(".rule-forms li", { hasText: "Terms of Service" }).waitFor();
    assert.deepEqual(await calls(page, "rule_require_form"), [{ ruleId: newId, templateId: templateId("terms_of_service"), blocking: false }]);
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
    assert.deepEqual(storedForms(newId), [
      ["privacy_gdpr", false],
      ["terms_of_service", false],
    ]);
    assert.deepEqual(storedForms(ruleId("Patients known elsewhere sign profile sharing")), knownForms, "the other rule is unchanged");
    await newRule().scrollIntoViewIfNeeded();
    await shot(page, "admin-rules-changed-en");
  });

  test("a template without a published text is refused; a new rule for every patient", async () => {
    await open("en");
    const before = storedForms(ruleId("New patients sign privacy and profile sharing"));
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
    assert.deepEqual(storedForms(ruleId("New patients sign privacy and profile sharing")), before, "nothing added");
    await newRule().scrollIntoViewIfNeeded();
    await shot(page, "admin-rules-unpublished-en");

    await page.getByLabel("Name of the rule").fill("Everyone signs the terms");
    await page.getByLabel("Applies to").selectOption("everyone");
    await page.getByRole("button", { name: "Add rule" }).click();
    const every = page.locator(".rule-item", { hasText: "Everyone signs the terms" });
    await textBecomes(every, /Every onboarded patient/);
    await every.getByText("This rule requires no form.").waitFor();
    assert.deepEqual(sql(`SELECT person_is_new, active FROM automation_rules WHERE name = 'Everyone signs the terms'`), [
      { person_is_new: null, active: true },
    ]);
    assert.ok(await every.getByText("This rule requires no form.").isVisible());
    assert.deepEqual(await calls(page, "onboarding_rule_add"), [{ name: "Everyone signs the terms", appliesTo: "everyone" }]);
    await every.getByLabel("Require another form").selectOption({ label: "Terms of Service" });
    await every.getByRole("button", { name: "Require form" }).click();
    await every.locator(".rule-forms li", { hasText: "Terms of Service" }).waitFor();
    await eventually(async () => assert.equal(await every.locator(".rule-forms input").isChecked(), true, "blocking unless unticked"));
    assert.deepEqual(storedForms(ruleId("Everyone signs the terms")), [["terms_of_service", true]]);
    await every.scrollIntoViewIfNeeded();
    await shot(page, "admin-rules-new-en");
  });

  test("in Norwegian", async () => {
    await open("nb");
    assert.equal(await page.locator("#rules-title").textContent(), "Skjemaer som kreves ved registrering");
    assert.match(await newRule().locator(".template-facts").textContent(), /Pasienter som er nye hos Digimed · sender også velkomst-e-posten/);
    // The rule for patients known elsewhere (the other tests change the one for new patients).
    await knownRule().getByRole("button", { name: "Krev skjema" }).click();
    await textBecomes(knownRule().locator(".field-error"), "Velg skjemaet som skal kreves.");
    await knownRule().getByLabel("Blokkerende: Profile Sharing Consent").uncheck();
    await page.waitForFunction(() => document.querySelector(".sr-only[role=status]")?.textContent === "Profile Sharing Consent er ikke lenger blokkerende.");
    assert.deepEqual(storedForms(ruleId("Patients known elsewhere sign profile sharing")), [["profile_sharing", false]]);
    await page.getByRole("button", { name: "Legg til regel" }).click();
    await textBecomes(page.locator("#new-rule-name-error"), "Gi regelen et navn på høyst 200 tegn.");
    await page.locator("#rules-title").scrollIntoViewIfNeeded();
    await shot(page, "admin-rules-nb");
  });
});
