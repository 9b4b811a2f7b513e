// The administrator's form templates: the demo's templates and their versions, a new draft text
// (refused empty), publishing it behind a warning that pending forms are superseded (and how
// many were), a new template (a bad key refused next to the field, a duplicate by the backend),
// the keyboard through the dialog, and the same in Norwegian.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import {
  DEMO,
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
  await signIn(page, "admin");
  await page.locator(".template-item").first().waitFor();
  return page;
}

const privacy = () => page.locator(".template-item", { hasText: "Privacy Policy & GDPR Consent" });

/** The templates the admin's clinic sees, as the list shows them (by title): "title key". */
const storedTemplates = () =>
  sql(
    `SELECT title || ' ' || key AS t FROM form_templates
      WHERE organization_id IS NULL OR organization_id = (SELECT organization_id FROM staff WHERE login_role = '${DEMO.admin.login}')
      ORDER BY title, id`,
  ).map((r) => r.t);

/** The privacy template's newest version and how many of its forms are pending now (other tests publish versions too). */
function privacyNow() {
  const [t] = sql(
    `SELECT t.id, (SELECT max(version) FROM form_template_versions v WHERE v.template_id = t.id) AS newest,
            (SELECT count(*)::int FROM forms f WHERE f.template_id = t.id AND f.status = 'pending') AS pending
       FROM form_templates t WHERE t.key = 'privacy_gdpr'`,
  );
  return t;
}

/** Mari Eriksen's privacy forms, oldest first: "status vN". */
const mariPrivacyForms = () =>
  sql(
    `SELECT f.status || ' v' || v.version AS f FROM forms f
       JOIN form_template_versions v ON v.id = f.template_version_id
       JOIN form_templates t ON t.id = f.template_id
       JOIN patients p ON p.id = f.patient_id JOIN patient_persons pp ON pp.id = p.patient_person_id
      WHERE pp.name = 'Mari Eriksen' AND t.key = 'privacy_gdpr' ORDER BY f.id`,
  ).map((r) => r.f);

async function versions(item) {
  return item.locator(".version-table tbody tr").evaluateAll((rows) =>
    rows.map((r) => [...r.querySelectorAll("td")].map((td, i) => (i === 2 ? "" : td.textContent.trim())).filter(Boolean).join(" | ")),
  );
}

describe("form templates on the admin screen", () => {
  test("writes a new version, publishes it after the warning, and says how many forms were superseded", async () => {
    await open("en");
    const titles = await page.locator(".template-item h3").allTextContents();
    assert.deepEqual(titles.filter((t) => / (privacy_gdpr|profile_sharing|terms_of_service)$/.test(t)), [
      "Privacy Policy & GDPR Consent privacy_gdpr",
      "Profile Sharing Consent profile_sharing",
      "Terms of Service terms_of_service",
    ]);
    assert.deepEqual(titles, storedTemplates(), "the templates of the database, by title");
    assert.match(await privacy().locator(".template-facts").textContent(), /Shared by the clinics · grants Analytics, Marketing · sign before the first appointment/);
    // The version in use is the newest (another test may have published one after the demo's).
    const { newest, pending } = privacyNow();
    const next = newest + 1;
    // In the demo, Mari Eriksen's privacy form is still pending; Lars and Emma have signed theirs.
    const mariBefore = mariPrivacyForms();
    assert.equal(mariBefore.at(-1), `pending v${newest}`);
    assert.equal((await versions(privacy())).at(-1).split(" | ")[1].startsWith("Published, in use"), true);
    await shot(page, "admin-templates-en");

    // The text of a version can be read; a new one is written as a draft, never empty.
    await privacy().locator(".version-table summary").first().click();
    await textBecomes(privacy().locator(".version-body").first(), /^We process your personal data/);
    await privacy().locator(".new-version summary").click();
    const body = privacy().getByLabel("Text of the new version of Privacy Policy & GDPR Consent");
    await privacy().getByRole("button", { name: "Save draft version" }).click();
    const bodyError = privacy().locator(".new-version .field-error");
    await textBecomes(bodyError, "Write the text the patient will read and sign.");
    await attributeBecomes(body, "aria-invalid", "true");
    await eventually(async () => assert.equal(await page.evaluate(() => document.activeElement?.tagName), "TEXTAREA"));
    assert.deepEqual(await calls(page, "form_template_add_version"), [], "nothing was sent");

    await body.fill("We process your personal data to provide care.\nYou may withdraw any consent in the app.");
    await privacy().getByRole("button", { name: "Save draft version" }).click();
    await privacy().getByText(`Draft version ${next} saved. Publish it when it is ready.`).waitFor();
    await countBecomes(bodyError, 0);
    await valueBecomes(body, "");
    // The list of versions is read again after the save.
    await eventually(async () => {
      const drafted = await versions(privacy());
      assert.equal(drafted.length, next);
      assert.equal(drafted[next - 1], `${next} | Draft | Publish version ${next}`);
    });
    await shot(page, "admin-templates-draft-en");

    // Publishing warns first; Escape leaves without publishing and gives the focus back.
    const publish = privacy().getByRole("button", { name: `Publish version ${next}` });
    await publish.click();
    const dialog = page.getByRole("dialog", { name: `Publish version ${next} of Privacy Policy & GDPR Consent?` });
    await dialog.waitFor();
    await textBecomes(dialog, /Publishing supersedes the pending forms of older versions/);
    await shot(page, "admin-templates-publish-en");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    // The focus returns to the button that opened it.
    await page.waitForFunction((name) => document.activeElement?.textContent === name, `Publish version ${next}`, { timeout: 5000 });
    assert.deepEqual(await calls(page, "form_template_publish"), []);

    // With the keyboard: Enter opens the dialog, the focus is on Publish, Enter publishes.
    await page.keyboard.press("Enter");
    await dialog.waitFor();
    // The dialog moves the focus to its Publish button as it opens.
    await page.waitForFunction(() => document.activeElement?.textContent === "Publish", null, { timeout: 5000 });
    await page.keyboard.press("Enter");
    const done = page.locator("#templates-published");
    await textBecomes(
      done,
      `Version ${next} of Privacy Policy & GDPR Consent is published. Pending forms of older versions superseded: ${pending}.`,
    );
    await eventually(async () => {
      const rows = await versions(privacy());
      assert.match(rows[next - 2], new RegExp(`^${newest} \\| Published, replaced`));
      assert.match(rows[next - 1], new RegExp(`^${next} \\| Published, in use`));
    });
    assert.deepEqual(mariPrivacyForms(), [...mariBefore.slice(0, -1), `superseded v${newest}`, `pending v${next}`]);
    await shot(page, "admin-templates-published-en");
  });

  test("creates a template: a bad key is refused next to it, a taken key by the backend", async () => {
    await open("en");
    const form = page.locator("form.new-template");
    await form.getByLabel("Title").fill("Video consultation consent");
    await form.getByLabel("Key").fill("Video Consent");
    await form.getByRole("button", { name: "Create template" }).click();
    await textBecomes(page.locator("#new-template-key-error"), "Use lower-case letters, digits and _, starting with a letter (e.g. privacy_policy).");
    await focusBecomes(page, "new-template-key");
    assert.deepEqual(await calls(page, "form_template_create"), []);

    await form.getByLabel("Key").fill("video_consent");
    await form.getByLabel("Analytics").check();
    await form.getByLabel("Must be signed before the first appointment").check();
    await form.getByRole("button", { name: "Create template" }).click();
    await form.getByText("Video consultation consent is created. Write its text as a first version.").waitFor();
    assert.deepEqual(await calls(page, "form_template_create"), [
      {
        template: {
          key: "video_consent",
          title: "Video consultation consent",
          form_type: "disclaimer",
          consent_types: ["analytics"],
          must_sign_before: "first_appointment",
        },
      },
    ]);
    const item = page.locator(".template-item", { hasText: "video_consent" });
    await textBecomes(item, /This clinic's · grants Analytics · sign before the first appointment/);
    await item.getByText("No text yet: write a first version below.").waitFor();
    assert.ok(await item.getByText("No text yet: write a first version below.").isVisible());
    await valueBecomes(form.getByLabel("Key"), "", "the form is empty again");

    await form.getByLabel("Title").fill("Another video consent");
    await form.getByLabel("Key").fill("video_consent");
    await form.getByRole("button", { name: "Create template" }).click();
    await textBecomes(page.locator("#new-template-key-error"), "A template 'video_consent' already exists.");
    assert.deepEqual(sql("SELECT title FROM form_templates WHERE key = 'video_consent'"), [{ title: "Video consultation consent" }], "nothing more was added");
    assert.deepEqual(await page.locator(".template-item h3").allTextContents(), storedTemplates());
    await shot(page, "admin-templates-new-en");
  });

  test("in Norwegian", async () => {
    await open("nb");
    assert.equal(await page.locator("#templates-title").textContent(), "Skjemamaler");
    const { newest, pending } = privacyNow();
    const next = newest + 1;
    await privacy().locator(".new-version summary").click();
    await privacy().getByLabel("Tekst i ny versjon av Privacy Policy & GDPR Consent").fill("Vi behandler personopplysningene dine for å gi deg helsehjelp.");
    await privacy().getByRole("button", { name: "Lagre utkast" }).click();
    await privacy().getByText(`Utkast til versjon ${next} er lagret. Publiser det når det er klart.`).waitFor();
    await privacy().getByRole("button", { name: `Publiser versjon ${next}` }).click();
    const dialog = page.getByRole("dialog", { name: `Publisere versjon ${next} av Privacy Policy & GDPR Consent?` });
    await dialog.waitFor();
    await textBecomes(dialog, /Publisering erstatter ventende skjemaer av eldre versjoner/);
    await shot(page, "admin-templates-publish-nb");
    await dialog.getByRole("button", { name: "Publiser", exact: true }).click();
    await textBecomes(
      page.locator("#templates-published"),
      `Versjon ${next} av Privacy Policy & GDPR Consent er publisert. Ventende skjemaer av eldre versjoner erstattet: ${pending}.`,
    );
    // An empty form: the first field in order, Title, is named first.
    await page.locator("form.new-template").getByRole("button", { name: "Opprett mal" }).click();
    await textBecomes(page.locator("#new-template-title-error"), "Gi skjemaet en tittel.");
    await focusBecomes(page, "new-template-title");
    await page.locator("form.new-template").getByLabel("Tittel").fill("Samtykke til video");
    await page.locator("form.new-template").getByRole("button", { name: "Opprett mal" }).click();
    await textBecomes(page.locator("#new-template-key-error"), "Bruk små bokstaver, sifre og _, og begynn med en bokstav (f.eks. privacy_policy).");
    await shot(page, "admin-templates-nb");
  });
});
