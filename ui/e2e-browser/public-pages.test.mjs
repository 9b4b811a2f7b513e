// The public pages of `digimed serve` (docs/public-pages.md) in Chromium: the review page, the
// preferences page and the consent-forms page, in bokmål and English, on a phone-sized screen too; a wrong, a reused and a
// replaced link give a clear page and write nothing (checked in the database). `digimed serve`
// runs as a service login of its own on a fresh demo database, as a clinic runs it.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, describe, test } from "node:test";

import { demoDatabase, digimed, psql, withDatabase } from "../../tests/e2e/database.mjs";
import { bin, onExit, shutdown, startProcess, waitFor } from "../../tests/e2e/processes.mjs";
import { eventually, launch, shot, textBecomes } from "./support.mjs";

let db;
let base;
let browser;
let context;

/** Rows of a query as the owner. */
function sql(query) {
  return JSON.parse(psql(db.url, `SELECT coalesce(json_agg(q), '[]') FROM (${query}) q`));
}

/** What a public page could write: the audit log, the reviews and the preferences, as text. */
function written() {
  return sql(`SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM audit_pending) AS audit,
                     (SELECT string_agg(format('%s|%s|%s|%s', consultation_id, rating, comment, submitted_at), ';' ORDER BY consultation_id)
                        FROM consultation_reviews) AS reviews,
                     (SELECT string_agg(format('%s|%s|%s|%s|%s', patient_person_id, token, email_allowed, sms_allowed, marketing_opt_out), ';' ORDER BY id)
                        FROM communication_preference_tokens) AS prefs`)[0];
}

const newToken = () => randomBytes(32).toString("base64url");

/** A review link for consultation `id`, as completing it creates one. */
function reviewToken(id) {
  const token = newToken();
  psql(db.url, `INSERT INTO consultation_reviews (consultation_id, token) VALUES (${Number(id)}, '${token}')`);
  return token;
}

/** `digimed serve` as a service login of its own (a member of digimed_service); returns its URL. */
async function startService() {
  const login = `svc_pages_${randomBytes(4).toString("hex")}`;
  const password = `Svc-${randomBytes(12).toString("hex")}`;
  digimed(db.url, ["api-token", "service-login", "--login", login], { input: `${password}\n` });
  onExit(() => psql(withDatabase(process.env.DATABASE_URL, "postgres"), `DROP ROLE IF EXISTS "${login}"`));
  const url = new URL(db.url);
  url.username = login;
  url.password = password;
  const service = startProcess("digimed serve", bin.digimed, ["serve", "--listen", "127.0.0.1:0", "--no-webhook-worker"], {
    env: { ...process.env, DATABASE_URL: url.toString(), DIGIMED_KEY_FILE: db.keyFile, DIGIMED_CLINICAL_KEY_FILE: "", DIGIMED_LOG: "info" },
  });
  service.stopSignal = "SIGINT";
  return waitFor(
    "digimed serve to listen",
    () => {
      if (service.exitCode !== null) throw new Error(`digimed serve stopped: ${service.output}`);
      return service.output.match(/listening on (http:\/\/[\d.:]+)/)?.[1];
    },
    20_000,
  );
}

before(async () => {
  const owner = process.env.DATABASE_URL;
  if (!owner) throw new Error("DATABASE_URL must name the test PostgreSQL server (make test sets it)");
  db = demoDatabase(owner);
  base = await startService();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await shutdown();
});
afterEach(async () => {
  await context?.close();
  context = null;
});

/** A page in a fresh browser context: a desktop window, or a phone's. */
async function open(path, { locale = "nb-NO", phone = false } = {}) {
  context = await browser.newContext({
    locale,
    viewport: phone ? { width: 390, height: 844 } : { width: 1024, height: 800 },
    deviceScaleFactor: 1,
    isMobile: phone,
    hasTouch: phone,
  });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => {
    // A Content-Security-Policy refusal shows up here: the pages must need nothing it refuses.
    // (A 404, 409 or 422 answer is itself logged as a failed load; that is the page working.)
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text());
  });
  const response = await page.goto(`${base}${path}`);
  page.problems = problems;
  page.firstStatus = response.status();
  return page;
}

/** The consultations with a doctor assigned (the demo's completed one first). */
function consultations() {
  return sql(`SELECT c.id, c.patient_person_id AS person, s.name AS doctor FROM consultations c
                JOIN staff s ON s.id = c.assigned_doctor_id
               ORDER BY (c.state = 'completed') DESC, c.id`);
}

describe("the review page", () => {
  test("in bokmål: the error next to the rating, then the rating recorded once; a reused link writes nothing", async () => {
    const [c] = consultations();
    const token = reviewToken(c.id);
    const firstName = c.doctor.replace(/^Dr\.\s*/, "").split(" ")[0];
    const page = await open(`/review/${token}`);
    assert.equal(page.firstStatus, 200);
    assert.equal(await page.getAttribute("html", "lang"), "nb");
    await textBecomes(page.locator("h1"), "Hvordan var konsultasjonen?");
    assert.match(await page.locator(".lead").textContent(), new RegExp(`^Konsultasjonen din med dr\\. ${firstName} den \\d+\\. \\w+ \\d{4}\\.$`));
    assert.equal(await page.locator("input[name=rating]").count(), 5);
    await shot(page, "public-review-form-nb");

    // A second tab with the same form, sent later.
    const other = await context.newPage();
    await other.goto(`${base}/review/${token}`);

    // No rating: the form again, the error next to the field, the comment kept; nothing written.
    const before = written();
    await page.fill("#comment", "Hyggelig lege, men bildet frøs.");
    await page.click("button[type=submit]");
    await textBecomes(page.locator("#rating-error"), "Velg en vurdering fra 1 til 5.");
    assert.equal(await page.locator("fieldset").first().getAttribute("aria-describedby"), "rating-error");
    assert.equal(await page.inputValue("#comment"), "Hyggelig lege, men bildet frøs.");
    assert.match(await page.title(), /^Feil: /);
    await shot(page, "public-review-error-nb");
    assert.deepEqual(written(), before);

    // Link from the summary to the field, then rate 4.
    await page.click(".error-summary a");
    await page.click("label[for=rating-4]");
    await page.click("button[type=submit]");
    await textBecomes(page.locator("h1"), "Takk for vurderingen!");
    await shot(page, "public-review-thanks-nb");
    const [row] = sql(`SELECT rating, comment, submitted_at IS NOT NULL AS submitted FROM consultation_reviews WHERE consultation_id = ${c.id}`);
    assert.deepEqual(row, { rating: 4, comment: "Hyggelig lege, men bildet frøs.", submitted: true });
    const [audit] = sql(`SELECT actor, acting_for FROM audit_log WHERE entity_type = 'consultation_reviews' AND action = 'UPDATE' AND entity_id = '${c.id}'`);
    assert.match(audit.actor, /^svc_pages_/);
    assert.equal(audit.acting_for, `review-link:${c.id}`);

    // The other tab's form, sent now: "already received", nothing written.
    const afterFirst = written();
    await other.click("label[for=rating-1]");
    await other.fill("#comment", "Endret mening");
    await other.click("button[type=submit]");
    await textBecomes(other.locator("h1"), "Vi har allerede tatt imot vurderingen din");
    await shot(other, "public-review-reused-nb");
    assert.deepEqual(written(), afterFirst);
    // And the link opened again says the same, with no form.
    await page.goto(`${base}/review/${token}`);
    await textBecomes(page.locator("h1"), "Vi har allerede tatt imot vurderingen din");
    assert.equal(await page.locator("form").count(), 0);
    assert.deepEqual(written(), afterFirst);
    assert.deepEqual(page.problems, []);
  });

  test("in English on a phone, and the language switch", async () => {
    const [, c] = consultations();
    const token = reviewToken(c.id);
    const page = await open(`/review/${token}`, { phone: true });
    // The switch: the patient's bokmål, then English.
    await textBecomes(page.locator("h1"), "Hvordan var konsultasjonen?");
    await page.click("a[hreflang=en]");
    await textBecomes(page.locator("h1"), "How was your consultation?");
    assert.equal(await page.getAttribute("html", "lang"), "en");
    assert.match(new URL(page.url()).search, /lang=en/);
    // Fits the phone: nothing wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await shot(page, "public-review-form-en-phone");
    // Too long a comment cannot be typed; a rating of 5 goes through.
    await page.fill("#comment", "x".repeat(2100));
    assert.equal((await page.inputValue("#comment")).length, 2000);
    await page.fill("#comment", "Quick and kind.");
    await page.click("label[for=rating-5]");
    await page.click("button[type=submit]");
    await textBecomes(page.locator("h1"), "Thank you for your rating!");
    await shot(page, "public-review-thanks-en-phone");
    const [row] = sql(`SELECT rating, comment FROM consultation_reviews WHERE consultation_id = ${c.id}`);
    assert.deepEqual(row, { rating: 5, comment: "Quick and kind." });
    assert.deepEqual(page.problems, []);
  });

  test("a wrong link is a clear page in the browser's language, and writes nothing", async () => {
    const before = written();
    const page = await open(`/review/${newToken()}`, { locale: "en-GB" });
    assert.equal(page.firstStatus, 404);
    await textBecomes(page.locator("h1"), "This link is not valid");
    assert.equal(await page.getAttribute("html", "lang"), "en");
    await shot(page, "public-review-invalid-en");
    await page.click("a[hreflang=nb]");
    await textBecomes(page.locator("h1"), "Denne lenken er ikke gyldig");
    await shot(page, "public-review-invalid-nb");
    assert.deepEqual(written(), before);
    assert.deepEqual(page.problems, []);
  });
});

describe("the preferences page", () => {
  test("in bokmål: no channel refused next to the field, then e-mail only and no marketing saved and audited", async () => {
    const [c] = consultations();
    const [{ token }] = sql(`SELECT token FROM communication_preference_tokens WHERE patient_person_id = ${c.person}`);
    const page = await open(`/preferences/${token}`);
    assert.equal(page.firstStatus, 200);
    await textBecomes(page.locator("h1"), "Hvordan vil du at vi kontakter deg?");
    assert.match(await page.locator("#channels-hint").textContent(), /Minst én må være valgt/);
    assert.ok(await page.isChecked("#email"));
    assert.ok(await page.isChecked("#sms"));
    await shot(page, "public-preferences-form-nb");

    const before = written();
    await page.uncheck("#email");
    await page.uncheck("#sms");
    await page.click("button[type=submit]");
    await textBecomes(page.locator("#channels-error"), "Velg e-post, SMS eller begge. Vi trenger minst én måte å nå deg på.");
    await shot(page, "public-preferences-no-channel-nb");
    assert.deepEqual(written(), before);

    await page.check("#email");
    await page.check("#marketing-no");
    await page.click("button[type=submit]");
    await textBecomes(page.locator(".notice"), "Valgene dine er lagret.");
    assert.ok(await page.isChecked("#email"));
    assert.ok(!(await page.isChecked("#sms")));
    assert.ok(await page.isChecked("#marketing-no"));
    await shot(page, "public-preferences-saved-nb");
    const [row] = sql(`SELECT email_allowed, sms_allowed, marketing_opt_out FROM communication_preference_tokens WHERE patient_person_id = ${c.person}`);
    assert.deepEqual(row, { email_allowed: true, sms_allowed: false, marketing_opt_out: true });
    const audit = await eventually(() => {
      const rows = sql(`SELECT actor, acting_for, changes::text AS changes FROM audit_log
                         WHERE entity_type = 'communication_preference_tokens' AND action = 'UPDATE' ORDER BY id DESC LIMIT 1`);
      assert.equal(rows.length, 1);
      return rows[0];
    });
    assert.match(audit.actor, /^svc_pages_/);
    assert.equal(audit.acting_for, `preference-link:${c.person}`);
    assert.ok(!audit.changes.includes(token));
    assert.deepEqual(page.problems, []);
  });

  test("in English on a phone; a replaced link stops working and writes nothing", async () => {
    const [, c] = consultations();
    const [{ token }] = sql(`SELECT token FROM communication_preference_tokens WHERE patient_person_id = ${c.person}`);
    const page = await open(`/preferences/${token}?lang=en`, { phone: true });
    await textBecomes(page.locator("h1"), "How would you like us to contact you?");
    await shot(page, "public-preferences-form-en-phone");
    await page.uncheck("#email");
    await page.check("#marketing-yes");
    await page.click("button[type=submit]");
    await textBecomes(page.locator(".notice"), "Your choices are saved.");
    await shot(page, "public-preferences-saved-en-phone");

    // A support agent issues a new link; the old one, opened or sent, is no longer valid.
    const support = db.staff.customer_support;
    const asSupport = new URL(db.url);
    asSupport.username = encodeURIComponent(support.login);
    asSupport.password = encodeURIComponent(support.password);
    digimed(asSupport.toString(), ["patient", "rotate-preference-token", String(c.person)], { env: { DIGIMED_KEY_FILE: db.keyFile } });
    const before = written();
    await page.uncheck("#sms");
    await page.check("#email");
    await page.click("button[type=submit]");
    await textBecomes(page.locator("h1"), "This link is not valid");
    await shot(page, "public-preferences-replaced-en-phone");
    assert.deepEqual(written(), before);
    await page.goto(`${base}/preferences/${token}`);
    await textBecomes(page.locator("h1"), "Denne lenken er ikke gyldig");
    const [{ token: fresh }] = sql(`SELECT token FROM communication_preference_tokens WHERE patient_person_id = ${c.person}`);
    assert.notEqual(fresh, token);
    await page.goto(`${base}/preferences/${fresh}?lang=en`);
    await textBecomes(page.locator("h1"), "How would you like us to contact you?");
    assert.deepEqual(page.problems, []);
  });
});

describe("the consent-forms page", () => {
  /** A demo person with at least `min` pending forms, their token and the forms (id, title). */
  function personWithPendingForms(min) {
    const [{ person }] = sql(`SELECT p.patient_person_id AS person FROM forms f JOIN patients p ON p.id = f.patient_id
                               WHERE f.status = 'pending' GROUP BY 1 HAVING count(*) >= ${min} ORDER BY 1 LIMIT 1`);
    const [{ token }] = sql(`SELECT token FROM communication_preference_tokens WHERE patient_person_id = ${person}`);
    const forms = sql(`SELECT f.id, t.title FROM forms f JOIN patients p ON p.id = f.patient_id
                         JOIN form_templates t ON t.id = f.template_id
                        WHERE p.patient_person_id = ${person} AND f.status = 'pending' ORDER BY f.blocking DESC, f.id`);
    return { person, token, forms };
  }

  function formsState() {
    return sql(`SELECT (SELECT string_agg(format('%s|%s', id, status), ';' ORDER BY id) FROM forms) AS forms,
                       (SELECT count(*) FROM consents) AS consents`)[0];
  }

  test("in bokmål: the box must be ticked, then one form signed and one declined, audited for the link", async () => {
    const { person, token, forms } = personWithPendingForms(2);
    const [first, second] = forms;
    const page = await open(`/forms/${token}`);
    assert.equal(page.firstStatus, 200);
    await textBecomes(page.locator("h1"), "Skjemaene dine");
    assert.equal(await page.locator(`#form-${first.id}-title`).textContent(), first.title);
    await page.locator(`#form-${first.id} summary`).click();
    await page.locator(`#form-${first.id} .form-text`).waitFor();
    await shot(page, "public-forms-nb");

    // Sign without ticking the box: the error next to it, nothing written.
    const before = formsState();
    await page.locator(`#form-${first.id} button[value=sign]`).click();
    await textBecomes(page.locator(`#agree-${first.id}-error`), "Kryss av for at du har lest skjemaet og samtykker, eller avslå det.");
    assert.equal(await page.locator(`#agree-${first.id}`).getAttribute("aria-describedby"), `agree-${first.id}-error`);
    assert.match(await page.title(), /^Feil: /);
    await shot(page, "public-forms-error-nb");
    assert.deepEqual(formsState(), before);

    // Tick and sign.
    await page.locator(`label[for=agree-${first.id}]`).click();
    await page.locator(`#form-${first.id} button[value=sign]`).click();
    await textBecomes(page.locator(".notice"), `Signert: ${first.title}`);
    const [signed] = sql(`SELECT status, signed_by FROM forms WHERE id = ${first.id}`);
    assert.deepEqual(signed, { status: "signed", signed_by: "patient" });
    // The newest change of the form (the demo data's own set-up is older).
    const [audit] = sql(`SELECT actor, acting_for FROM audit_log WHERE entity_type = 'forms' AND action = 'UPDATE' AND entity_id = '${first.id}' ORDER BY id DESC LIMIT 1`);
    assert.match(audit.actor, /^svc_pages_/);
    assert.equal(audit.acting_for, `forms-link:${person}`);

    // Decline the other.
    await page.locator(`#form-${second.id} button[value=decline]`).click();
    await textBecomes(page.locator(".notice"), `Avslått: ${second.title}`);
    assert.equal(sql(`SELECT status FROM forms WHERE id = ${second.id}`)[0].status, "declined");
    await page.locator("#answered-title").scrollIntoViewIfNeeded();
    await shot(page, "public-forms-answered-nb");
    assert.deepEqual(page.problems, []);
  });

  test("in English on a phone", async () => {
    const { token, forms } = personWithPendingForms(1);
    const page = await open(`/forms/${token}?lang=en`, { phone: true });
    await textBecomes(page.locator("h1"), "Your forms");
    assert.equal(await page.locator(`#form-${forms[0].id}-title`).textContent(), forms[0].title);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await shot(page, "public-forms-en-phone");
    assert.deepEqual(page.problems, []);
  });
});
