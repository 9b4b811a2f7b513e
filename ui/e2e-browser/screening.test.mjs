// The secretary's screening list: the demo's referrals awaiting a decision (nearest deadline
// first), a referral arriving live through the console's event (no polling), a call recorded,
// booked with or without a doctor (it leaves the list and appears in the queue), and declined
// only with a reason; in English and bokmål.

import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import {
  DEMO,
  calls,
  countBecomes,
  eventually,
  focusBecomes,
  launch,
  openConsole,
  receiveReferral,
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
beforeEach(async () => {
  page = await openConsole(browser, ui.url, "en");
  await signIn(page, "secretary");
  // The secretary's first screen.
  await textBecomes(page.locator("#screen-title"), "Screening");
  await rows().first().waitFor();
  // "Live updates on": the console follows the database's changes from here on.
  await page.locator(".live-dot").waitFor();
});
afterEach(async () => {
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

// The demo's referrals awaiting screening, the nearest deadline first: Astrid Holm's (received
// 45 hours ago, two calls), Per Gundersen's (4 hours ago, one call), Silje Bakke's (an hour ago).
const AWAITING = ["Astrid Holm", "Per Gundersen", "Silje Bakke"];

const rows = () => page.locator("table[role=grid] tbody tr[id]");
const row = (name) => page.locator("table[role=grid] tbody tr", { hasText: name });
const panel = () => page.locator(".screening-panel");

async function names() {
  return page.locator("table[role=grid] tbody tr[id] td:first-child").allTextContents();
}

async function waitForNames(expected) {
  await eventually(async () => assert.deepEqual(await names(), expected));
}

/** Opens the referral of `name` in the side panel, by clicking its row. */
async function openReferral(name) {
  await row(name).click();
  await textBecomes(page.locator("#panel-title"), name);
  await panel().locator(".referral-fields").waitFor();
}

/** The consultation booked from the referral of the person `name`, as the database holds it. */
function bookedFor(name) {
  return sql(
    `SELECT c.id, c.state, c.primary_channel, c.enabled_channels, s.name AS doctor,
            c.deadline_at = r.deadline_at AS deadline_from_referral
       FROM consultations c JOIN referrals r ON r.id = c.referral_id
       JOIN patient_persons pp ON pp.id = c.patient_person_id LEFT JOIN staff s ON s.id = c.assigned_doctor_id
      WHERE pp.name = '${name}'`,
  );
}

describe("the secretary's screening list", () => {
  test("lists the referrals awaiting screening, the nearest deadline first, with calls and supervisor", async () => {
    await waitForNames(AWAITING);
    await textBecomes(page.locator(".screen-head .muted"), "3 to screen");
    const astrid = (await row("Astrid Holm").locator("td").allTextContents()).map((s) => s.trim());
    assert.equal(astrid[1], "fjordtrygd");
    assert.match(astrid[3], /Deadline near$/);
    assert.deepEqual(astrid.slice(4), ["2, last: Left a voicemail", "Sara Lie"]);
    assert.equal((await row("Silje Bakke").locator("td").nth(4).textContent()).trim(), "Not called yet");
    // Booked referrals are in the queue, not here.
    assert.equal(await row("Jonas Myhre").count(), 0);
    await shot(page, "screening-list-en");
  });

  test("moves through the referrals with the keyboard and opens one: its fields, its call log, and the phone number to call", async () => {
    const grid = page.locator("table[role=grid]");
    await grid.focus();
    await page.keyboard.press("ArrowDown");
    await eventually(async () => assert.equal(await page.locator('tbody tr[aria-selected="true"] td:first-child').textContent(), "Astrid Holm"));
    await page.keyboard.press("End");
    await page.keyboard.press("ArrowUp");
    await page.keyboard.press("ArrowUp");
    await eventually(async () => assert.equal(await page.locator('tbody tr[aria-selected="true"] td:first-child').textContent(), "Astrid Holm"));
    await page.keyboard.press("Enter");
    await textBecomes(page.locator("#panel-title"), "Astrid Holm");
    // The referral as the partner sent it, without the national id or the phone number.
    await textBecomes(panel().locator(".referral-fields dt").first(), "Partner's reference");
    const fields = await panel().locator(".referral-fields dt").allTextContents();
    assert.deepEqual(fields, ["Partner's reference", "Sent", "Referral format", "First name", "Last name", "E-mail"]);
    await textBecomes(panel().locator(".referral-fields dd").nth(5), "astrid.holm@example.com");
    // The number to call, decrypted through the patient card's audited read, in the secretary's name.
    const [{ id: person }] = sql(`SELECT id FROM patient_persons WHERE name = 'Astrid Holm'`);
    const phone = page.locator("#screening-contact-phone a");
    await textBecomes(phone, /^\+47\d{8}$/);
    assert.equal(await phone.getAttribute("href"), `tel:${await phone.textContent()}`);
    await eventually(async () => {
      const reads = sql(
        `SELECT actor, changes -> 'fields' AS fields FROM audit_log
          WHERE action = 'READ' AND entity_type = 'patient_persons' AND entity_id = '${person}' ORDER BY id DESC LIMIT 1`,
      );
      assert.deepEqual(reads, [{ actor: DEMO.secretary.login, fields: ["phone", "national_id"] }]);
    });
    await countBecomes(page.locator("#screening-contact-card"), 1);
    // The call log, oldest first, with the voicemail's note.
    await countBecomes(page.locator("#screening-call-log li"), 2);
    await textBecomes(page.locator("#screening-call-log li").nth(1).locator(".history-note"), "Left a message asking her to call the clinic back.");
    await shot(page, "screening-panel-en");
  });

  test("a referral arrives live, is called and booked into the doctors' queue, and leaves the list", async () => {
    await eventually(async () =>
      assert.ok(await page.evaluate(() => window.__digimed.calls.some((c) => c.cmd === "watch_queue" && c.answered)), "the list is watched"),
    );
    const before = (await calls(page, "screening_list")).length;
    const id = receiveReferral("Line", "Danser");
    await row("Line Danser").waitFor({ timeout: 5000 });
    assert.equal((await calls(page, "screening_list")).length, before + 1, "one arrival, one reload, no polling");
    // Its deadline is two working days away: it comes last.
    await waitForNames([...AWAITING, "Line Danser"]);

    await openReferral("Line Danser");
    await textBecomes(panel().locator(".facts dd").first(), "fjordtrygd");
    await page.selectOption("#screen-outcome", "no_answer");
    await page.fill("#screen-note", "Try again after lunch");
    await panel().getByRole("button", { name: "Record" }).click();
    await textBecomes(panel().locator("[role=status]"), "Screening recorded.");
    await textBecomes(page.locator("#screening-call-log li .history-note"), "Try again after lunch");
    // The list follows: the call is counted and the secretary became the supervisor.
    await textBecomes(row("Line Danser").locator("td").nth(4), "1, last: No answer");
    await textBecomes(row("Line Danser").locator("td").nth(5), DEMO.secretary.name);

    await panel().getByRole("button", { name: "Create booking" }).click();
    const dialog = page.getByRole("dialog", { name: "Book a consultation for Line Danser" });
    await dialog.waitFor();
    await shot(page, "screening-booking-dialog-en");
    await dialog.getByRole("button", { name: "Book", exact: true }).click();
    const said = await textBecomes(page.locator(".screening-done span"), /^Booked: consultation \d+ is in the doctors' queue\.$/);
    await countBecomes(row("Line Danser"), 0, "the booked referral leaves the list");
    await waitForNames(AWAITING);
    const [booked] = bookedFor("Line Danser");
    assert.equal(said, `Booked: consultation ${booked.id} is in the doctors' queue.`);
    assert.deepEqual(
      { ...booked, id: undefined },
      { id: undefined, state: "ready_for_pickup", primary_channel: "video", enabled_channels: ["video", "chat"], doctor: null, deadline_from_referral: true },
    );
    assert.equal(sql(`SELECT count(*)::int AS n FROM referrals WHERE id = ${id}`)[0].n, 1);
    await shot(page, "screening-booked-en");

    // And it is in the queue.
    await page.locator(".shell-nav .nav-item", { hasText: "Consultation queue" }).click();
    await textBecomes(page.locator("table[role=grid] tbody tr", { hasText: "Line Danser" }).locator("td").nth(2), "Ready for pickup");
  });

  test("a referral booked with a doctor goes straight to that doctor", async () => {
    receiveReferral("Ole", "Brattli", [1972, 3, 9]);
    await openReferral("Ole Brattli");
    await panel().getByRole("button", { name: "Create booking" }).click();
    const dialog = page.getByRole("dialog", { name: "Book a consultation for Ole Brattli" });
    await dialog.getByLabel("Video").uncheck();
    await dialog.getByLabel("Phone").check();
    await dialog.getByLabel("Doctor").selectOption({ label: "Dr. Kari Dahl" });
    await dialog.getByRole("button", { name: "Book", exact: true }).click();
    await textBecomes(page.locator(".screening-done span"), /^Booked: consultation \d+ is assigned to Dr\. Kari Dahl\.$/);
    await countBecomes(row("Ole Brattli"), 0);
    const [booked] = bookedFor("Ole Brattli");
    assert.deepEqual([booked.state, booked.doctor, booked.primary_channel, booked.enabled_channels], ["pending_sp", "Dr. Kari Dahl", "chat", ["chat", "phone"]]);
  });

  test("declining needs a reason; declined, the referral leaves the list", async () => {
    receiveReferral("Kim", "Aune", [1990, 6, 1]);
    await openReferral("Kim Aune");
    await panel().getByRole("button", { name: "Decline" }).click();
    const dialog = page.getByRole("dialog", { name: "Decline the referral for Kim Aune" });
    await dialog.getByRole("button", { name: "Decline referral" }).click();
    await textBecomes(page.locator("#decline-reason-error"), "Give a reason for declining.");
    await focusBecomes(page, "decline-reason");
    assert.deepEqual(await calls(page, "referral_decline"), [], "nothing is sent without a reason");
    // Spaces only are no reason either.
    await page.fill("#decline-reason", "   ");
    await dialog.getByRole("button", { name: "Decline referral" }).click();
    await textBecomes(page.locator("#decline-reason-error"), "Give a reason for declining.");
    await shot(page, "screening-decline-en");
    await page.fill("#decline-reason", "Already seen by her GP; needs no help from us");
    await dialog.getByRole("button", { name: "Decline referral" }).click();
    await textBecomes(page.locator(".screening-done span"), /^Declined: referral #\d+ for Kim Aune has left the screening list\.$/);
    await countBecomes(row("Kim Aune"), 0);
    assert.deepEqual(
      sql(`SELECT r.decline_reason, s.name AS declined_by, (SELECT count(*)::int FROM consultations c WHERE c.referral_id = r.id) AS consultations
             FROM referrals r JOIN staff s ON s.id = r.declined_by_staff_id
             JOIN patient_persons pp ON pp.id = r.patient_person_id WHERE pp.name = 'Kim Aune'`),
      [{ decline_reason: "Already seen by her GP; needs no help from us", declined_by: DEMO.secretary.name, consultations: 0 }],
    );
    await waitForNames(AWAITING);
  });

  test("in Norwegian: the list, the panel and the dialogs in bokmål", async () => {
    await page.selectOption("#shell-language", "nb");
    await textBecomes(page.locator("#screen-title"), "Screening");
    await textBecomes(page.locator(".screen-head .muted"), "3 til screening");
    await textBecomes(row("Astrid Holm").locator("td").nth(4), "2, sist: Talepost");
    await shot(page, "screening-list-nb");
    await openReferral("Per Gundersen");
    await textBecomes(panel().locator(".referral-fields dt").first(), "Partnerens referanse");
    await textBecomes(page.locator("#screening-contact-phone a"), /^\+47\d{8}$/);
    await textBecomes(page.locator("#screening-contact-card"), "Pasientkort");
    await shot(page, "screening-panel-nb");
    await panel().getByRole("button", { name: "Book konsultasjon" }).click();
    const booking = page.getByRole("dialog", { name: "Book konsultasjon for Per Gundersen" });
    await textBecomes(booking.locator("#booking-doctor option").first(), "La den stå i legenes kø");
    await shot(page, "screening-booking-dialog-nb");
    await booking.getByRole("button", { name: "Avbryt" }).click();
    await panel().getByRole("button", { name: "Avslå" }).click();
    const decline = page.getByRole("dialog", { name: "Avslå henvisningen for Per Gundersen" });
    await decline.getByRole("button", { name: "Avslå henvisningen" }).click();
    await textBecomes(page.locator("#decline-reason-error"), "Oppgi en begrunnelse for å avslå.");
    await shot(page, "screening-decline-nb");
    await decline.getByRole("button", { name: "Avbryt" }).click();
    await decline.waitFor({ state: "detached" });
    assert.equal(sql("SELECT count(*)::int AS n FROM referrals WHERE declined_at IS NOT NULL AND decline_reason <> 'Already seen by her GP; needs no help from us'")[0].n, 0);
  });
});
