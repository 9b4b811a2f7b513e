// End-to-end: the built console (debug binary, UI embedded) in a real WebKit webview under Xvfb,
// driven through tauri-driver and WebKitWebDriver, signed in to a real PostgreSQL with the demo
// data, with `digimed serve` receiving a partner's signed referral. Each role signs in and works;
// every screen is saved as a screenshot (tests/artifacts/e2e/) in English and Norwegian.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  By,
  choose,
  demoDatabase,
  find,
  log,
  openConsole,
  postReferral,
  psql,
  screenshot,
  serverOf,
  setLanguage,
  shutdown,
  signIn,
  startDesktop,
  startDriver,
  startService,
  syntheticNationalId,
  text,
  waitInPage,
} from "./lib.mjs";

let db;
let service;
let driverUrl;
let consoleEnv;

before(async () => {
  const owner = process.env.DATABASE_URL;
  assert.ok(owner, "DATABASE_URL must name the PostgreSQL server (scripts/test.sh starts the project's own)");
  const desktop = await startDesktop();
  db = demoDatabase(owner);
  service = await startService(db.url, db.keyFile, desktop);
  // The console gets what `make run` gives it: the server without a user, demo mode, the keys.
  consoleEnv = {
    ...desktop,
    DIGIMED_SERVER: serverOf(db.url),
    DIGIMED_DEMO: "1",
    DIGIMED_KEY_FILE: db.keyFile,
  };
  delete consoleEnv.DATABASE_URL;
  driverUrl = await startDriver(consoleEnv);
});

after(async () => {
  await shutdown();
});

/** One console process for the duration of `fn`, closed afterwards even when `fn` fails. */
async function withConsole(fn) {
  const driver = await openConsole(driverUrl);
  try {
    await find(driver, "#signin-username", 30_000);
    await fn(driver);
  } finally {
    await driver.quit().catch((e) => log("closing the console:", e.message));
  }
}

async function queueRows(driver) {
  return driver.executeScript(() =>
    [...document.querySelectorAll("table[role=grid] tbody tr[id]")].map((tr) => tr.querySelector("td")?.textContent ?? ""),
  );
}

async function navItems(driver) {
  return driver.executeScript(() => [...document.querySelectorAll(".shell-nav .nav-item")].map((b) => b.textContent.trim()));
}

/** Opens each screen of the navigation in turn and saves a screenshot of it. */
async function screenshotEveryScreen(driver, prefix) {
  const items = await navItems(driver);
  for (const [i, item] of items.entries()) {
    const buttons = await driver.findElements(By.css(".shell-nav .nav-item"));
    await buttons[i].click();
    await waitInPage(driver, `${item} to open`, (t) => document.querySelector("#screen-title")?.textContent?.trim() !== undefined &&
      document.querySelector('.shell-nav [aria-current="page"]')?.textContent?.trim() === t, [item]);
    await screenshot(driver, `${prefix}-${item.toLowerCase().replace(/[^a-z0-9æøå]+/g, "-")}`);
  }
  return items;
}

describe("the console, end to end", () => {
  test("sign-in screen in both languages; a wrong password is refused by the database", async () => {
    await withConsole(async (driver) => {
      await setLanguage(driver, "nb");
      assert.equal(await text(driver, "#signin-title"), "Logg inn");
      const server = await driver.findElement(By.css("#signin-server")).getAttribute("value");
      assert.equal(server, serverOf(db.url), "the server the installation suggests is filled in");
      await screenshot(driver, "signin-nb");
      await setLanguage(driver, "en");
      assert.equal(await text(driver, "#signin-title"), "Sign in");
      await screenshot(driver, "signin-en");

      await signIn(driver, db.staff.secretary, { password: "not-the-password" });
      const alert = await text(driver, ".signin-card .alert-error");
      assert.match(alert, /Wrong username or password/);
      assert.equal((await driver.findElements(By.css(".shell-nav"))).length, 0);
      await screenshot(driver, "signin-wrong-password-en");

      await signIn(driver, { ...db.staff.secretary, login: "" });
      assert.equal(await text(driver, "#signin-username-error"), "Enter your username.");
      await screenshot(driver, "signin-missing-username-en");
    });
  });

  test("secretary: the queue, and a partner's referral arriving live without a reload", async () => {
    await withConsole(async (driver) => {
      await setLanguage(driver, "en");
      await signIn(driver, db.staff.secretary);
      await find(driver, "table[role=grid] tbody tr[id]");
      const nav = await navItems(driver);
      assert.ok(nav.includes("Referral queue") && !nav.includes("My consultations"), `secretary's screens: ${nav}`);
      assert.equal(await text(driver, ".shell-name"), "Sara Lie");
      const rows = await queueRows(driver);
      // The demo's open consultations (completed and cancelled ones are not in the queue).
      assert.deepEqual([...rows].sort(), ["Eirik Lunde", "Ingrid Solberg", "Jonas Myhre", "Magnus Haugen", "Nora Vik", "Sofie Berntsen"]);
      assert.equal(rows[0], "Jonas Myhre", "longest waiting first");
      await screenshot(driver, "secretary-queue-en");

      // Mark this page: a reload would lose the mark.
      await driver.executeScript(() => {
        window.__notReloaded = true;
      });
      const born = syntheticNationalId(1992, 5, 17);
      const receipt = await postReferral(service, db.partner, {
        JournalGuid: crypto.randomUUID(),
        PID: born,
        FormatId: "http://ehelse.no/xmlstds/henvisning/2017-11-30",
        MessageTimestamp: new Date().toISOString(),
        Firstname: "Line",
        Lastname: "Danser",
        Email: "line.danser@example.com",
        PhoneNumber: "+4741234599",
      });
      assert.equal(receipt.status, 201, JSON.stringify(receipt.body));
      await waitInPage(
        driver,
        "the new referral in the queue",
        () => [...document.querySelectorAll("table[role=grid] tbody tr[id] td:first-child")].some((td) => td.textContent === "Line Danser"),
        [],
        15_000,
      );
      assert.equal(await driver.executeScript(() => window.__notReloaded === true), true, "the page was not reloaded");
      const cells = await driver.executeScript(
        (id) => [...document.querySelectorAll(`#queue-row-${id} td`)].map((td) => td.textContent.trim()),
        receipt.body.consultation_id,
      );
      assert.deepEqual(cells.slice(0, 4), ["Line Danser", "fjordtrygd", "Ready for pickup", "Unassigned"]);
      assert.equal(await text(driver, ".screen-head .muted"), "7 open");
      await screenshot(driver, "secretary-queue-live-referral-en");

      // The screening panel of the new referral, opened from the keyboard.
      await driver.executeScript(() => document.querySelector("table[role=grid]").focus());
      await driver.actions().sendKeys("\uE010").perform(); // End: the newest is last
      await driver.actions().sendKeys("\uE007").perform(); // Enter
      assert.equal(await text(driver, "#panel-title"), "Line Danser");
      await find(driver, ".side-panel .facts");
      await screenshot(driver, "secretary-referral-panel-en");

      await setLanguage(driver, "nb");
      assert.equal(await text(driver, "#screen-title"), "Henvisningskø");
      assert.equal(await text(driver, ".screen-head .muted"), "7 åpne");
      await screenshot(driver, "secretary-queue-nb");
    });
  });

  test("doctor: pick next, start, complete with an ICPC-2 result chosen through the type-ahead", async () => {
    await withConsole(async (driver) => {
      await setLanguage(driver, "en");
      await signIn(driver, db.staff.doctor);
      await find(driver, ".data-table tbody tr");
      const nav = await navItems(driver);
      assert.ok(nav.includes("My consultations") && !nav.includes("Referral queue"), `doctor's screens: ${nav}`);
      await waitInPage(driver, "my consultations", () => document.querySelector(".data-table tbody td")?.textContent !== "Loading…");
      await screenshot(driver, "doctor-my-consultations-en");

      await (await find(driver, ".screen-head .button-primary")).click(); // Pick next
      await waitInPage(driver, "the picked consultation", () => document.querySelector(".workspace .badge-state"));
      const patient = await text(driver, "#screen-title");
      assert.equal(patient, "Jonas Myhre", "the longest-waiting referral is picked");
      const id = Number(
        psql(db.url, "SELECT c.id FROM consultations c JOIN patient_persons p ON p.id = c.patient_person_id WHERE p.name = 'Jonas Myhre'"),
      );
      assert.equal(psql(db.url, `SELECT state FROM consultations WHERE id = ${id}`), "pending_sp");
      assert.equal(await text(driver, ".workspace .badge-state"), "Assigned");
      await screenshot(driver, "doctor-picked-en");

      await (await find(driver, ".workspace .card .button-primary")).click(); // Start
      await find(driver, ".rooms");
      assert.match(await text(driver, ".rooms"), /https?:\/\//);
      await find(driver, ".result-form");
      assert.equal(psql(db.url, `SELECT state FROM consultations WHERE id = ${id}`), "in_progress");
      await screenshot(driver, "doctor-started-en");

      // Nothing chosen yet: the form says so next to the field, and nothing reaches the database.
      await (await find(driver, ".result-form button[type=submit]")).click();
      assert.equal(await text(driver, "#result-icpc2-error"), "Required.");

      const code = await find(driver, "#result-icpc2");
      await code.sendKeys("ovre luftvei");
      await waitInPage(driver, "ICPC-2 suggestions", () => document.querySelectorAll("#result-icpc2-list [role=option]").length > 0);
      const suggestions = await driver.executeScript(() =>
        [...document.querySelectorAll("#result-icpc2-list [role=option]")].map((o) => o.textContent),
      );
      assert.equal(suggestions[0], "R74 Akutt øvre luftveisinfeksjon");
      await screenshot(driver, "doctor-icpc2-typeahead-en");
      await code.sendKeys("\uE007"); // Enter chooses the highlighted suggestion
      assert.equal(await text(driver, ".typeahead-chosen"), "R74 Akutt øvre luftveisinfeksjon");
      await choose(driver, "#result-outcome", "helped");
      await (await find(driver, "#result-notes")).sendKeys("Sore throat for three days, no fever. Rest and fluids.");
      await (await find(driver, "#result-policy_number")).sendKeys("4410029381");
      await screenshot(driver, "doctor-result-form-en");
      await (await find(driver, ".result-form button[type=submit]")).click();
      await waitInPage(driver, "the completed notice", () => document.querySelector(".alert-info"));
      assert.equal(await text(driver, ".alert-info"), "Consultation completed and result filed.");
      await screenshot(driver, "doctor-completed-en");

      // The database has the consultation completed and one result version by this doctor (its
      // fields are encrypted; the core's own tests read them back).
      assert.equal(psql(db.url, `SELECT state FROM consultations WHERE id = ${id}`), "completed");
      assert.equal(
        psql(
          db.url,
          `SELECT count(*) || ' ' || string_agg(s.login_role, ',') FROM consultation_results r
             JOIN staff s ON s.id = r.author_staff_id WHERE r.consultation_id = ${id} AND r.version = 1`,
        ),
        `1 ${db.staff.doctor.login}`,
      );

      await setLanguage(driver, "nb");
      assert.equal(await text(driver, "#screen-title"), "Mine konsultasjoner");
      await screenshot(driver, "doctor-my-consultations-nb");
    });
  });

  for (const [role, expected] of [
    ["customer_support", { name: "Ola Brekke", own: "Onboard patient" }],
    ["admin", { name: "Hanne Strand", own: "Admin" }],
  ]) {
    test(`${role}: signs in and sees their own screens`, async () => {
      await withConsole(async (driver) => {
        await setLanguage(driver, "en");
        await signIn(driver, db.staff[role]);
        await find(driver, ".shell-nav");
        assert.equal(await text(driver, ".shell-name"), expected.name);
        const items = await screenshotEveryScreen(driver, `${role.replace("_", "-")}-en`);
        assert.ok(items.includes(expected.own), `${role} sees ${expected.own} (has ${items})`);
        assert.ok(!items.includes("Referral queue") && !items.includes("My consultations"), "no secretary or doctor screens");
        await setLanguage(driver, "nb");
        await screenshotEveryScreen(driver, `${role.replace("_", "-")}-nb`);
      });
    });
  }
});
