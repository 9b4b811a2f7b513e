// The patient card: the secretary opens it from the queue's side panel (the phone shown, the
// national id masked until asked for, each read in the audit log in the secretary's name, the
// health profile not theirs) and goes back to the panel; the support agent edits the profile,
// a bad field refused next to it with nothing written, then saved; the doctor opens it from the
// workspace; an admin onboards a walk-in through the console and opens the new patient's card.

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

const TEXT = {
  en: {
    withheldRole: "Not shown to your role.",
    maskedHint: /Only the last five digits are shown/,
    revealedHint: /Shown in full/,
    saved: "Profile saved.",
    dateError: "The date of birth is in the future.",
    onboardNav: "Onboard patient",
    consultationsNav: "My consultations",
    queueNav: "Consultation queue",
  },
  nb: {
    withheldRole: "Vises ikke for din rolle.",
    maskedHint: /Bare de fem siste sifrene vises/,
    revealedHint: /Vises i sin helhet/,
    saved: "Profilen er lagret.",
    dateError: "Denne datoen kan ikke være en fødselsdato.",
    onboardNav: "Registrer pasient",
    consultationsNav: "Mine konsultasjoner",
    queueNav: "Konsultasjonskø",
  },
};

/** The READ entries of a person's contact fields: actor and whether the whole national id was shown. */
function contactReads(personId) {
  return sql(
    `SELECT actor, (changes ->> 'national_id_revealed')::boolean AS revealed, changes -> 'fields' AS fields
       FROM audit_log WHERE action = 'READ' AND entity_type = 'patient_persons' AND entity_id = '${personId}' ORDER BY id`,
  );
}

function personNamed(name) {
  return sql(`SELECT id FROM patient_persons WHERE name = '${name}'`)[0].id;
}

/** Onboards a walk-in from the Onboard screen (already open) and opens their card from the result. */
async function onboardAndOpenCard(name, email, phone) {
  await page.fill("#onboard-name", name);
  await page.fill("#onboard-email", email);
  await page.fill("#onboard-phone", phone);
  await page.locator(".onboard-form button[type=submit]").click();
  await page.locator("#onboard-result-title").waitFor();
  await page.locator("#onboard-patient-card").click();
  await textBecomes(page.locator("#card-title"), name);
}

describe("the patient card", () => {
  for (const language of ["en", "nb"]) {
    test(`the secretary opens it from the queue, sees the phone, shows the national id, and goes back (${language})`, async () => {
      const t = TEXT[language];
      page = await openConsole(browser, ui.url, language);
      await signIn(page, "secretary");
      // A secretary starts on the screening list; the queue is the next screen.
      await page.locator(".shell-nav .nav-item", { hasText: t.queueNav }).click();
      const person = personNamed("Jonas Myhre");
      const before = contactReads(person).length;
      await page.locator("table[role=grid] tbody tr", { hasText: "Jonas Myhre" }).click();
      await textBecomes(page.locator("#panel-title"), "Jonas Myhre");
      await page.locator("#queue-patient-card").click();

      await textBecomes(page.locator("#card-title"), "Jonas Myhre");
      await focusBecomes(page, "card-title");
      await textBecomes(page.locator("#card-phone"), "+4741234508");
      await textBecomes(page.locator("#card-national-id"), /^\*{6}\d{5}$/);
      await textBecomes(page.locator("#card-national-id-hint"), t.maskedHint);
      await textBecomes(page.locator("#card-profile-withheld"), t.withheldRole);
      await countBecomes(page.locator("#card-edit-profile"), 0, "a secretary does not edit the profile");
      await countBecomes(page.locator("[id^=card-consultation-]"), 1);
      await eventually(async () => {
        const reads = contactReads(person).slice(before);
        assert.equal(reads.length, 1, "the card's read of the phone and national id is recorded");
        assert.deepEqual(reads[0], { actor: DEMO.secretary.login, revealed: false, fields: ["phone", "national_id"] });
      });
      await shot(page, `card-secretary-${language}`);

      const masked = await page.locator("#card-national-id").textContent();
      await page.locator("#card-reveal").click();
      await textBecomes(page.locator("#card-national-id"), /^\d{11}$/);
      const full = await page.locator("#card-national-id").textContent();
      assert.equal(full.slice(6), masked.slice(6), "the same number, in full");
      await textBecomes(page.locator("#card-national-id-hint"), t.revealedHint);
      await countBecomes(page.locator("#card-reveal"), 0);
      await eventually(async () => {
        const reads = contactReads(person).slice(before);
        assert.equal(reads.length, 2);
        assert.deepEqual(reads[1], { actor: DEMO.secretary.login, revealed: true, fields: ["phone", "national_id"] });
      });
      assert.deepEqual((await calls(page, "patient_card")).map((c) => c.revealNationalId), [false, true]);
      await shot(page, `card-secretary-revealed-${language}`);

      // Back where the card was opened: the queue with the same panel open, the focus on the button.
      await page.locator("#card-back").click();
      await countBecomes(page.locator("#card-title"), 0);
      await textBecomes(page.locator("#panel-title"), "Jonas Myhre");
      await focusBecomes(page, "queue-patient-card");
    });

    test(`the support agent edits the profile: a bad field next to it and nothing written, then saved (${language})`, async () => {
      const t = TEXT[language];
      page = await openConsole(browser, ui.url, language);
      await signIn(page, "customer_support");
      await page.locator("#onboard-name").waitFor();
      const name = language === "nb" ? "Sigrid Profil" : "Emma Profile";
      await onboardAndOpenCard(name, `${name.toLowerCase().replace(" ", ".")}@example.com`, language === "nb" ? "412 34 611" : "412 34 612");
      const person = personNamed(name);
      await textBecomes(page.locator("#card-blood-type"), language === "nb" ? "Ikke registrert" : "None recorded");
      await page.locator("#card-edit-profile").click();
      await focusBecomes(page, "profile-date_of_birth");

      await page.fill("#profile-date_of_birth", "2999-01-01");
      await page.selectOption("#profile-blood_type", "A+");
      await page.locator("#profile-save").click();
      await textBecomes(page.locator("#profile-date_of_birth-error"), t.dateError);
      await attributeBecomes(page.locator("#profile-date_of_birth"), "aria-invalid", "true");
      await focusBecomes(page, "profile-date_of_birth");
      await countBecomes(page.locator(".patient-card .alert-success"), 0, "nothing is said to be saved");
      const unchanged = sql(`SELECT date_of_birth, blood_type FROM patient_persons WHERE id = ${person}`)[0];
      assert.deepEqual(unchanged, { date_of_birth: null, blood_type: null }, "a refused edit writes nothing");
      await shot(page, `card-edit-error-${language}`);

      await page.fill("#profile-date_of_birth", "1980-02-03");
      await page.fill("#profile-allergies", "Penicillin\nPollen");
      await page.fill("#profile-chronic_conditions", "Astma");
      await page.locator("#profile-add-insurance").click();
      await page.fill("#profile-insurer-0", "Gjensidige");
      await page.fill("#profile-policy-0", "1234 5678");
      await page.fill("#profile-emergency_contact_name", "Ola Nordmann");
      await page.fill("#profile-emergency_contact_phone", "412 34 699");
      await page.locator("#profile-save").click();
      await textBecomes(page.locator(".patient-card .alert-success"), t.saved);
      await textBecomes(page.locator("#card-blood-type"), "A+");
      await eventually(async () => {
        assert.deepEqual(await page.locator("#card-allergies li").allTextContents(), ["Penicillin", "Pollen"]);
        assert.deepEqual(await page.locator("#card-insurance li").allTextContents(), ["Gjensidige · 12345678"]);
      });
      await textBecomes(page.locator("#card-emergency-contact"), "Ola Nordmann, +4741234699");
      const stored = sql(
        `SELECT date_of_birth, blood_type, allergies, chronic_conditions, emergency_contact_name,
                emergency_contact_phone_encrypted IS NOT NULL AS has_phone
           FROM patient_persons WHERE id = ${person}`,
      )[0];
      assert.deepEqual(stored, {
        date_of_birth: "1980-02-03",
        blood_type: "A+",
        allergies: ["Penicillin", "Pollen"],
        chronic_conditions: ["Astma"],
        emergency_contact_name: "Ola Nordmann",
        has_phone: true,
      });
      const update = sql(
        `SELECT actor, changes -> 'emergency_contact_phone_encrypted' ->> 'to' AS phone FROM audit_log
          WHERE action = 'UPDATE' AND entity_type = 'patient_persons' AND entity_id = '${person}'`,
      );
      assert.deepEqual(update, [{ actor: DEMO.customer_support.login, phone: "[redacted]" }]);
      await shot(page, `card-edit-saved-${language}`);
    });
  }

  test("the doctor opens the card of a patient they treat from the workspace", async () => {
    page = await openConsole(browser, ui.url, "en");
    await signIn(page, "doctor");
    await page.locator("table tbody tr", { hasText: "Nora Vik" }).locator("button").click();
    await page.locator("#workspace-patient-card").click();
    await textBecomes(page.locator("#card-title"), "Nora Vik");
    await page.locator("#card-blood-type").waitFor();
    await page.locator("#card-edit-profile").waitFor();
    await shot(page, "card-doctor-en");
    await page.locator("#card-consultations-title").evaluate((el) => el.scrollIntoView({ block: "start" }));
    await shot(page, "card-doctor-consultations-en");
    await page.locator("#card-back").click();
    await focusBecomes(page, "workspace-patient-card");
  });

  test("the support agent opens it from consent status; another screen in the navigation closes it", async () => {
    page = await openConsole(browser, ui.url, "en");
    await signIn(page, "customer_support");
    await page.locator(".shell-nav .nav-item", { hasText: "Consent status" }).click();
    const first = page.locator("table[aria-labelledby=waiting-title] tbody button.row-link").first();
    await first.waitFor();
    const name = (await first.textContent()).trim();
    await first.click();
    await textBecomes(page.locator("#consent-panel-title"), name);
    await page.locator("#consent-patient-card").click();
    await textBecomes(page.locator("#card-title"), name);
    await page.locator("#card-blood-type").waitFor();
    await shot(page, "card-support-from-consent-en");

    await page.locator(".shell-nav .nav-item", { hasText: TEXT.en.onboardNav }).click();
    await countBecomes(page.locator("#card-title"), 0);
    await textBecomes(page.locator("#screen-title"), TEXT.en.onboardNav);
    await focusBecomes(page, "screen-title");
    await page.locator(".shell-nav .nav-item", { hasText: "Consent status" }).click();
    await textBecomes(page.locator("#screen-title"), "Consent status");
    assert.equal(await page.locator("#card-title").count(), 0, "the card stays closed");
  });

  test("an admin onboards a walk-in through the console and opens the new patient's card", async () => {
    page = await openConsole(browser, ui.url, "en");
    await signIn(page, "admin");
    await page.locator(".shell-nav .nav-item", { hasText: TEXT.en.onboardNav }).click();
    await page.locator("#onboard-name").waitFor();
    await onboardAndOpenCard("Aksel Admin", "aksel.admin@example.com", "412 34 613");
    const [link] = sql(
      `SELECT p.entry_point, p.organization_id = s.organization_id AS own_clinic FROM patients p
         JOIN patient_persons pp ON pp.id = p.patient_person_id, staff s
        WHERE pp.name = 'Aksel Admin' AND s.login_role = '${DEMO.admin.login}'`,
    );
    assert.deepEqual(link, { entry_point: "walk_in", own_clinic: true });
    await textBecomes(page.locator("#card-phone"), "+4741234613");
    assert.equal((await calls(page, "onboard_walk_in")).length, 1);
    await shot(page, "card-admin-onboarded-en");
  });
});
