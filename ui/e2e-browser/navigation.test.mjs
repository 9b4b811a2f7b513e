// Role-based navigation: each role sees its own screens and no other role's, in both languages,
// and signing out returns to the sign-in screen.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DEMO, countBecomes, eventually, launch, openConsole, serveUi, shot, signIn, textBecomes } from "./support.mjs";

let ui;
let browser;
before(async () => {
  ui = await serveUi();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ui?.stop();
});

// The screens only one role works in. (The database still decides what each role may do.)
const OWN = {
  secretary: { en: ["Consultation queue"], nb: ["Konsultasjonskø"], badge: { en: "Secretary", nb: "Sekretær" } },
  doctor: { en: ["My consultations"], nb: ["Mine konsultasjoner"], badge: { en: "Doctor", nb: "Lege" } },
  customer_support: { en: [], nb: [], badge: { en: "Support agent", nb: "Kundestøtte" } },
  admin: { en: ["Admin"], nb: ["Administrasjon"], badge: { en: "Administrator", nb: "Administrator" } },
};

// The screens some roles share, and whose they are.
const SHARED = [
  { en: "Onboard patient", nb: "Registrer pasient", roles: ["customer_support", "admin"] },
  { en: "Fax inbox", nb: "Faksinnboks", roles: ["customer_support", "admin"] },
  { en: "Leads", nb: "Interessenter", roles: ["customer_support", "admin"] },
];

async function navItems(page) {
  return (await page.locator(".shell-nav .nav-item").allTextContents()).map((s) => s.trim());
}

describe("navigation by role", () => {
  for (const language of ["en", "nb"]) {
    for (const role of Object.keys(OWN)) {
      test(`${role} (${language}) sees their own screens and no other role's`, async () => {
        const page = await openConsole(browser, ui.url, language);
        await signIn(page, role);
        const items = await navItems(page);
        for (const own of OWN[role][language]) assert.ok(items.includes(own), `${role} should see ${own} (has ${items})`);
        for (const shared of SHARED) {
          assert.equal(items.includes(shared[language]), shared.roles.includes(role), `${role} and ${shared[language]} (has ${items})`);
        }
        for (const [other, screens] of Object.entries(OWN)) {
          if (other === role) continue;
          for (const theirs of screens[language]) {
            assert.ok(!items.includes(theirs), `${role} must not see ${other}'s ${theirs}`);
          }
        }
        // The first screen is open, marked current, and its heading says which it is.
        const current = page.locator('.shell-nav [aria-current="page"]');
        await countBecomes(current, 1);
        await textBecomes(current, items[0]);
        await textBecomes(page.locator(".role-badge"), OWN[role].badge[language]);
        await textBecomes(page.locator(".shell-name"), DEMO[role].name);
        await shot(page, `nav-${role}-${language}`);
        assert.deepEqual(page.problems, []);
        await page.context().close();
      });
    }
  }

  test("every screen in the navigation opens from the keyboard", async () => {
    const page = await openConsole(browser, ui.url, "en");
    await signIn(page, "customer_support");
    const items = await navItems(page);
    assert.ok(items.length >= 2, "a support agent has more than one screen");
    for (const item of items.reverse()) {
      await page.locator(".shell-nav .nav-item", { hasText: item }).focus();
      await page.keyboard.press("Enter");
      await page.waitForFunction(
        (item) => document.querySelector('.shell-nav [aria-current="page"]')?.textContent?.trim() === item,
        item,
      );
      // Focus moves to the new screen's heading, as a page load would.
      await page.waitForFunction(() => document.activeElement?.id === "screen-title", null, { timeout: 2000 });
      // The heading may be the previous screen's element, focused already: wait for its new text.
      await textBecomes(page.locator("#screen-title"), item);
    }
    await page.context().close();
  });

  test("signing out closes the session and returns to the sign-in screen", async () => {
    const page = await openConsole(browser, ui.url, "en");
    await signIn(page, "doctor");
    await page.locator(".shell-user button", { hasText: "Sign out" }).click();
    await page.locator("#signin-username").waitFor();
    await countBecomes(page.locator(".shell-nav"), 0);
    await eventually(async () => {
      const signedOut = await page.evaluate(() => window.__digimed.calls.some((c) => c.cmd === "sign_out"));
      assert.ok(signedOut, "the UI told the console to close the session");
    });
    await page.context().close();
  });
});
