// Workstations: an admin makes an enrollment bundle on the admin screen and reads its passphrase;
// a second console, without data keys, enrolls with it from the sign-in screen (a wrong passphrase
// refused first, nothing saved), its user signs in, and the keys and server are saved; the admin
// then sees it used and revokes it after the confirmation. In English and Norwegian.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { DEMO, launch, openConsole, serveUi, shot, signIn, sql, startBridge, textBecomes } from "./support.mjs";

let ui;
let browser;
let page;
const scratch = mkdtempSync(join(tmpdir(), "digimed-new-workstation-"));
before(async () => {
  ui = await serveUi();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ui?.stop();
  rmSync(scratch, { recursive: true, force: true });
});
afterEach(async () => {
  if (page) {
    assert.deepEqual(page.problems, []);
    await page.context().close();
    page = null;
  }
});

// Opening a bundle runs age's scrypt, deliberately about a second of work, more on a busy machine.
const SCRYPT_MS = 30_000;

const card = () => page.locator(".card", { has: page.locator("#workstations-title") });

/** Makes an enrollment on the admin screen; returns the passphrase and the bundle's file. */
async function makeBundle(label, language) {
  page = await openConsole(browser, ui.url, language);
  await signIn(page, "admin");
  await card().waitFor();
  await page.fill("#workstation-new-label", label);
  await page.selectOption("#workstation-new-role", "secretary");
  await card().locator("button[type=submit]").click();
  const passphrase = (await page.getByTestId("workstation-passphrase").textContent()).trim();
  assert.match(passphrase, /^([a-z2-9]{5}-){5}[a-z2-9]{5}$/);
  await card().locator("tr", { hasText: label }).waitFor();
  const file = (await card().locator(".workstation-made p").first().textContent()).match(/(\/\S+\.age)/)[1];
  assert.ok(existsSync(file), `the bundle is saved at ${file}`);
  await card().scrollIntoViewIfNeeded();
  return { passphrase, file };
}

describe("workstations", () => {
  test("an admin makes a bundle; a new console enrolls with it and its user signs in", async () => {
    const { passphrase, file } = await makeBundle("Reception 2", "en");
    await shot(page, "workstations-panel-en");
    await page.context().close();
    page = null;

    const keyFile = join(scratch, "keys.json");
    const configDir = join(scratch, "config");
    const fresh = await startBridge({
      DIGIMED_KEY_FILE: keyFile,
      DIGIMED_CLINICAL_KEY_FILE: join(configDir, "clinical-keys.json"),
      DIGIMED_CONFIG_DIR: configDir,
      DIGIMED_SERVER: "",
    });
    page = await openConsole(browser, fresh.url, "en");
    await page.getByRole("button", { name: "Enroll this workstation" }).click();
    await page.setInputFiles("#enroll-bundle", file);
    await page.fill("#enroll-passphrase", "abcde-fghij-kmnpq-rstuv-wxyz2-34567");
    await page.getByRole("button", { name: "Open bundle" }).click();
    await textBecomes(page.locator("#enroll-passphrase-error"), /The passphrase does not open this bundle/, "the refusal under the passphrase", SCRYPT_MS);
    assert.equal(existsSync(keyFile), false, "nothing saved on a wrong passphrase");
    await shot(page, "enroll-wrong-passphrase-en");

    await page.fill("#enroll-passphrase", passphrase);
    await page.getByRole("button", { name: "Open bundle" }).click();
    await textBecomes(page.getByTestId("enroll-server"), /^postgres(ql)?:\/\/[^@]+$/, "the server it is for, without a user", SCRYPT_MS);
    await page.locator(".enroll-preview", { hasText: "Secretary" }).waitFor();
    await shot(page, "enroll-preview-en");
    assert.equal(existsSync(keyFile), false, "nothing saved before the sign-in");
    await page.fill("#enroll-username", DEMO.secretary.login);
    await page.fill("#enroll-password", DEMO.secretary.password);
    await page.getByRole("button", { name: "Enroll and sign in" }).click();
    await page.locator(".shell-nav").waitFor();
    assert.ok(existsSync(keyFile), "the keys are saved");
    assert.equal(JSON.parse(readFileSync(keyFile, "utf8")).current, 1);
    const settings = JSON.parse(readFileSync(join(configDir, "settings.json"), "utf8"));
    assert.match(settings.server, /^postgres/);
    assert.equal(settings.server.includes(DEMO.secretary.password), false);
    const used = sql("SELECT u.used_by, s.login_role FROM workstation_enrollment_uses u JOIN staff s ON s.id = u.used_by");
    assert.deepEqual(used.map((u) => u.login_role), [DEMO.secretary.login]);
  });

  test("in Norwegian: the enroll dialog, and revoking after the confirmation", async () => {
    const { passphrase, file } = await makeBundle("Resepsjon 3", "nb");
    await shot(page, "workstations-panel-nb");
    await card().getByRole("button", { name: "Trekk tilbake Resepsjon 3" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText(/kan ikke lenger brukes/).waitFor();
    await shot(page, "workstations-revoke-nb");
    await dialog.getByRole("button", { name: "Trekk tilbake arbeidsstasjonen" }).click();
    await textBecomes(card().locator("tr", { hasText: "Resepsjon 3" }).locator(".workstation-status"), /Datanøklene er ikke byttet ennå/, "the revoked row");
    await page.context().close();
    page = null;

    const other = mkdtempSync(join(scratch, "other-"));
    const fresh = await startBridge({ DIGIMED_KEY_FILE: join(other, "keys.json"), DIGIMED_CONFIG_DIR: other, DIGIMED_SERVER: "" });
    page = await openConsole(browser, fresh.url, "nb");
    await page.getByRole("button", { name: "Innrullere denne arbeidsstasjonen" }).click();
    await page.setInputFiles("#enroll-bundle", file);
    await page.fill("#enroll-passphrase", passphrase);
    await shot(page, "enroll-dialog-nb");
    await page.getByRole("button", { name: "Åpne pakken" }).click();
    await page.locator(".enroll-preview", { hasText: "Sekretær" }).waitFor();
    await shot(page, "enroll-preview-nb");
    await page.fill("#enroll-username", DEMO.secretary.login);
    await page.fill("#enroll-password", DEMO.secretary.password);
    await page.getByRole("button", { name: "Innrullere og logge inn" }).click();
    await textBecomes(page.locator("#enroll-bundle-error"), /Denne innrulleringen er trukket tilbake/, "the refusal of a revoked enrollment");
    await shot(page, "enroll-revoked-nb");
    assert.equal(existsSync(join(other, "keys.json")), false, "nothing saved for a revoked enrollment");
    assert.equal(existsSync(join(other, "settings.json")), false);
  });
});
