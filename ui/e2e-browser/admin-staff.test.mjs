// Deactivating and reactivating staff on the admin screen: the admin's own row has no button, a
// deactivated doctor can no longer sign in, and is let in again once reactivated; in Norwegian.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { DEMO, calls, launch, openConsole, serveUi, shot, signIn } from "./support.mjs";

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
  await page.locator(".staff-table tbody tr").first().waitFor();
  return page;
}

const row = (name) => page.locator(".staff-table tbody tr", { hasText: name });

async function signOut() {
  await page.locator(".shell-header button", { hasText: /Sign out|Logg ut/ }).click();
  await page.locator("#signin-username").waitFor();
}

describe("staff on the admin screen", () => {
  test("deactivates a doctor, who then cannot sign in, and reactivates them", async () => {
    await open("en");
    assert.equal(await row("Hanne Strand").locator("button").count(), 0, "no button to deactivate oneself");
    await row("Dr. Anders Moe").getByRole("button", { name: "Deactivate Dr. Anders Moe" }).click();
    await row("Dr. Anders Moe").getByText("Deactivated", { exact: true }).waitFor();
    assert.equal(await page.locator(".staff-table ~ [role=status], [aria-labelledby=staff-title] [role=status]").first().textContent(), "Dr. Anders Moe is deactivated and can no longer sign in.");
    assert.deepEqual(await calls(page, "staff_set_active"), [{ staffId: 2, active: false }]);
    await row("Dr. Anders Moe").scrollIntoViewIfNeeded();
    await shot(page, "admin-staff-deactivated-en");

    await signOut();
    await page.fill("#signin-server", DEMO.server);
    await page.fill("#signin-username", DEMO.doctor.login);
    await page.fill("#signin-password", DEMO.doctor.password);
    await page.locator("form button[type=submit]").click();
    await page.locator(".signin-card .alert-error").waitFor();
    assert.match(await page.locator(".signin-card .alert-error").textContent(), /Wrong username or password\./);

    await signIn(page, "admin");
    await row("Dr. Anders Moe").getByRole("button", { name: "Reactivate Dr. Anders Moe" }).click();
    await row("Dr. Anders Moe").getByText("Active", { exact: true }).waitFor();
    await signOut();
    await signIn(page, "doctor");
  });

  test("in Norwegian", async () => {
    await open("nb");
    await row("Sara Lie").getByRole("button", { name: "Deaktiver Sara Lie" }).click();
    await row("Sara Lie").getByText("Deaktivert", { exact: true }).waitFor();
    assert.ok(await row("Sara Lie").getByRole("button", { name: "Aktiver Sara Lie igjen" }).isVisible());
    await row("Sara Lie").scrollIntoViewIfNeeded();
    await shot(page, "admin-staff-nb");
  });
});
