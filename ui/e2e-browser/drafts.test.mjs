// Drafts: a half-filled onboarding form and an unfinished consultation result are kept as the
// staff member types, offered back when the form is opened again, restored or thrown away on
// request, and gone once the work is saved.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { calls, countBecomes, eventually, launch, openConsole, serveUi, shot, signIn, valueBecomes } from "./support.mjs";

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

async function nav(text) {
  await page.locator(".shell-nav .nav-item", { hasText: text }).click();
}

/** Waits until the stand-in backend has been asked to keep `count` drafts. */
async function savedDrafts(count) {
  await page.waitForFunction((n) => window.__digimed.calls.filter((c) => c.cmd === "draft_save").length >= n, count, {
    timeout: 10000,
  });
  return calls(page, "draft_save");
}

/**
 * Waits until the stand-in backend has answered `count` requests for a kept draft, and the answer
 * is rendered: until then no offer can be shown, and typing is not kept yet.
 */
async function draftsLoaded(count) {
  await page.waitForFunction((n) => window.__digimed.calls.filter((c) => c.cmd === "draft_load" && c.answered).length >= n, count, {
    timeout: 10000,
  });
  await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
}

const offer = () => page.locator(".draft-offer");

describe("drafts", () => {
  for (const language of ["en", "nb"]) {
    const words =
      language === "en"
        ? { onboard: "Onboard", consent: "Consent status", restore: "Continue where you left off", discard: "Discard it" }
        : { onboard: "Registrer", consent: "Samtykkestatus", restore: "Fortsett der du slapp", discard: "Forkast den" };

    test(`a half-filled onboarding form is kept and offered back (${language})`, async () => {
      page = await openConsole(browser, ui.url, language);
      await signIn(page, "customer_support");
      await page.locator("#onboard-name").waitFor();
      await draftsLoaded(1);
      assert.equal(await offer().count(), 0, "nothing to offer before anything was typed");
      await page.fill("#onboard-name", "Kristin Walk-In");
      await page.fill("#onboard-email", "kristin.walkin@example.com");
      const saved = await savedDrafts(1);
      assert.deepEqual(saved.at(-1).kind, "onboarding");
      assert.equal(saved.at(-1).payload.name, "Kristin Walk-In");

      // Away and back, as after a crash or a lost connection: the form is empty and the draft is offered.
      await nav(words.consent);
      await nav(words.onboard);
      await offer().waitFor();
      await valueBecomes(page.locator("#onboard-name"), "");
      await shot(page, `draft-offer-onboarding-${language}`);
      await offer().getByRole("button", { name: words.restore }).click();
      await countBecomes(offer(), 0);
      await valueBecomes(page.locator("#onboard-name"), "Kristin Walk-In");
      await valueBecomes(page.locator("#onboard-email"), "kristin.walkin@example.com");

      // Thrown away on request: not offered again.
      await nav(words.consent);
      await nav(words.onboard);
      await offer().waitFor();
      await offer().getByRole("button", { name: words.discard }).click();
      await eventually(async () => assert.deepEqual(await calls(page, "draft_discard"), [{ kind: "onboarding", subjectId: 0 }]));
      await nav(words.consent);
      await nav(words.onboard);
      await page.locator("#onboard-name").waitFor();
      await draftsLoaded(4);
      assert.equal(await offer().count(), 0);
    });
  }

  test("a doctor's unfinished result is kept per consultation and offered back", async () => {
    page = await openConsole(browser, ui.url, "en");
    await signIn(page, "doctor");
    const row = () => page.locator(".data-table tbody tr", { hasText: "Nora Vik" });
    await row().waitFor();
    await row().locator("button", { hasText: "Open" }).click();
    await page.locator(".result-form").waitFor();
    await draftsLoaded(1);
    await page.fill("#result-notes", "Cough for a week; lungs clear. Follow up if fever.");
    const saved = await savedDrafts(1);
    assert.equal(saved.at(-1).kind, "consultation_result");
    const consultation = saved.at(-1).subjectId;
    assert.ok(consultation > 0, "kept under the consultation's id");

    await page.getByRole("button", { name: "Back to my consultations" }).click();
    await row().locator("button", { hasText: "Open" }).click();
    await offer().waitFor();
    await shot(page, "draft-offer-result-en");
    await offer().getByRole("button", { name: "Continue where you left off" }).click();
    await valueBecomes(page.locator("#result-notes"), "Cough for a week; lungs clear. Follow up if fever.");
  });
});
