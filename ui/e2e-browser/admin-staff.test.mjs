// Adding a staff member on the admin screen: each field's error under its field, then the new
// login signs in. Deactivating and reactivating staff on the admin screen: the admin's own row has no button, a
// deactivated doctor can no longer sign in, and is let in again once reactivated; in Norwegian.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { DEMO, attributeBecomes, calls, cli, launch, openConsole, serveUi, shot, signIn, sql, textBecomes, valueBecomes } from "./support.mjs";

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

/** The staff id of the demo's `role` and whether they are active, as the database says. */
function staffOf(role) {
  return sql(`SELECT id, active FROM staff WHERE login_role = '${DEMO[role].login}'`)[0];
}

/** Reactivates the demo's `role` if a test left them deactivated (as the owner, outside the page). */
function leaveActive(role) {
  const { id, active } = staffOf(role);
  if (!active) cli(["staff", "reactivate", String(id)]);
}

async function signOut() {
  await page.locator(".shell-header button", { hasText: /Sign out|Logg ut/ }).click();
  await page.locator("#signin-username").waitFor();
}

describe("staff on the admin screen", () => {
  test("deactivates a doctor, who then cannot sign in, and reactivates them", async () => {
    try {
      await open("en");
      assert.equal(await row("Hanne Strand").locator("button").count(), 0, "no button to deactivate oneself");
      await row("Dr. Anders Moe").getByRole("button", { name: "Deactivate Dr. Anders Moe" }).click();
      await row("Dr. Anders Moe").getByText("Deactivated", { exact: true }).waitFor();
      await textBecomes(
        page.locator(".staff-table ~ [role=status], [aria-labelledby=staff-title] [role=status]").first(),
        "Dr. Anders Moe is deactivated and can no longer sign in.",
      );
      assert.deepEqual(await calls(page, "staff_set_active"), [{ staffId: staffOf("doctor").id, active: false }]);
      await row("Dr. Anders Moe").scrollIntoViewIfNeeded();
      await shot(page, "admin-staff-deactivated-en");

      await signOut();
      await page.fill("#signin-server", DEMO.server);
      await page.fill("#signin-username", DEMO.doctor.login);
      await page.fill("#signin-password", DEMO.doctor.password);
      await page.locator("form button[type=submit]").click();
      await textBecomes(page.locator(".signin-card .alert-error"), /Wrong username or password\./);

      await signIn(page, "admin");
      await row("Dr. Anders Moe").getByRole("button", { name: "Reactivate Dr. Anders Moe" }).click();
      await row("Dr. Anders Moe").getByText("Active", { exact: true }).waitFor();
      await signOut();
      await signIn(page, "doctor");
    } finally {
      leaveActive("doctor");
    }
  });

  test("in Norwegian", async () => {
    try {
      await open("nb");
      await row("Sara Lie").getByRole("button", { name: "Deaktiver Sara Lie" }).click();
      await row("Sara Lie").getByText("Deaktivert", { exact: true }).waitFor();
      await row("Sara Lie").getByRole("button", { name: "Aktiver Sara Lie igjen" }).waitFor();
      assert.ok(await row("Sara Lie").getByRole("button", { name: "Aktiver Sara Lie igjen" }).isVisible());
      await row("Sara Lie").scrollIntoViewIfNeeded();
      await shot(page, "admin-staff-nb");
    } finally {
      // Sara Lie, the demo's secretary, signs in again for the other tests.
      leaveActive("secretary");
    }
  });

  test("adds a staff member: errors under their fields, then the new login signs in", async () => {
    await open("en");
    const form = page.locator(".staff-form");
    // The error under field `f` once it says `expected` (an earlier attempt's may still be shown), the field marked invalid and pointing at it.
    const errorIs = async (f, expected) => {
      await textBecomes(page.locator(`#staff-new-${f}-error`), expected);
      await attributeBecomes(page.locator(`#staff-new-${f}`), "aria-invalid", "true");
      await attributeBecomes(page.locator(`#staff-new-${f}`), "aria-describedby", new RegExp(`staff-new-${f}-error`));
    };
    await page.fill("#staff-new-email", "not an address");
    await page.fill("#staff-new-name", "Siv Nordby");
    await page.selectOption("#staff-new-role", "secretary");
    await page.fill("#staff-new-password", "Fjord-Morning-42");
    await form.getByRole("button", { name: "Add staff member" }).click();
    await errorIs("email", "This is not a valid e-mail address.");
    await page.waitForFunction(() => document.activeElement?.id === "staff-new-email");

    await page.fill("#staff-new-email", DEMO.doctor.login);
    await form.getByRole("button", { name: "Add staff member" }).click();
    await errorIs("email", "A login with this e-mail address already exists on this database server.");

    await page.fill("#staff-new-email", `siv.nordby@${DEMO.login_domain}`);
    await page.fill("#staff-new-password", "short");
    await form.getByRole("button", { name: "Add staff member" }).click();
    await errorIs("password", "The password must have at least 12 characters.");
    await form.scrollIntoViewIfNeeded();
    await shot(page, "admin-staff-add-error-en");

    await page.fill("#staff-new-password", "Fjord-Morning-42");
    await form.getByRole("button", { name: "Add staff member" }).click();
    await textBecomes(form.locator(".alert-success"), `Siv Nordby is added and signs in as siv.nordby@${DEMO.login_domain}.`);
    await valueBecomes(page.locator("#staff-new-password"), "", "the password is not left in the form");
    await row("Siv Nordby").getByText("Secretary").waitFor();
    const sent = await calls(page, "staff_add");
    assert.deepEqual(sent.at(-1), {
      input: { email: `siv.nordby@${DEMO.login_domain}`, name: "Siv Nordby", role: "secretary", password: "Fjord-Morning-42" },
    });
    await shot(page, "admin-staff-added-en");

    await signOut();
    await page.fill("#signin-server", DEMO.server);
    await page.fill("#signin-username", `siv.nordby@${DEMO.login_domain}`);
    await page.fill("#signin-password", "Fjord-Morning-42");
    await page.locator("form button[type=submit]").click();
    await page.locator(".shell-nav").waitFor();
    await textBecomes(page.locator(".role-badge"), /Secretary/);
  });

  test("the add form in Norwegian", async () => {
    await open("nb");
    const form = page.locator(".staff-form");
    await form.scrollIntoViewIfNeeded();
    assert.equal(await page.locator("label[for=staff-new-password]").textContent(), "Første passord");
    await form.getByRole("button", { name: "Legg til ansatt" }).click();
    await textBecomes(page.locator("#staff-new-email-error"), "E-post må fylles ut.");
    await shot(page, "admin-staff-add-nb");
  });
});
