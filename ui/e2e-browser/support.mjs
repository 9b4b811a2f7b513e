// What the browser tests share: a database of their own with the demo data, the test bridge
// (src-tauri/examples/console_bridge.rs) serving the built UI and running the console's own
// commands on it, Debian's Chromium driven by playwright-core, and signing in as a demo staff
// member. Nothing answers a command but the real core.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

import { demoDatabase, digimed, psql, serverOf } from "../../tests/e2e/database.mjs";
import { bin, onExit, shutdown, startProcess, waitFor } from "../../tests/e2e/processes.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
export const checkout = resolve(here, "../..");
const dist = join(here, "dist");

/** Screenshots of the browser tests, beside the end-to-end run's (git-ignored). */
export const artifacts = resolve(checkout, "tests/artifacts/browser");

/**
 * The demo clinic's sign-ins, filled in by `serveUi` from the database it seeds: the server to
 * type on the sign-in screen, and per role the login, password and name.
 */
export const DEMO = { server: "", login_domain: "", partner: null, secretary: null, doctor: null, customer_support: null, admin: null };

/** The owner's URL of this test file's database (for reading what the console wrote). */
let databaseUrl = "";
/** The key file of this test file's database. */
let keyFile = "";
let clinicalKeyFile = "";

/**
 * A database of this test file's own with the demo data, and the test bridge serving the built UI
 * on 127.0.0.1; returns the UI's URL and a stop function (which also drops the database). The
 * console holds both key domains, as a doctor's or admin's workstation does; with
 * `clinicalKeys: false` it holds the contact keys only (a secretary's or support's computer).
 */
export async function serveUi({ clinicalKeys = true } = {}) {
  const owner = process.env.DATABASE_URL;
  if (!owner) throw new Error("DATABASE_URL must name the test PostgreSQL server (make test sets it)");
  const db = demoDatabase(owner);
  databaseUrl = db.url;
  keyFile = db.keyFile;
  clinicalKeyFile = db.clinicalKeyFile;
  DEMO.server = serverOf(db.url);
  DEMO.login_domain = db.staff.secretary.login.split("@")[1];
  DEMO.partner = db.partner;
  for (const [role, s] of Object.entries(db.staff)) DEMO[role] = { login: s.login, password: s.password, name: s.name };
  const { url, home } = await startBridge({
    DIGIMED_KEY_FILE: db.keyFile,
    // The console plays a doctor's and admin's workstation: it holds the clinical keys too.
    DIGIMED_CLINICAL_KEY_FILE: clinicalKeys ? db.clinicalKeyFile : "",
    DIGIMED_SERVER: DEMO.server,
  });
  return { url, home, stop: shutdown };
}

/**
 * A console bridge of its own (a home, a Downloads folder, no keyring) on this test file's
 * database, with `env` over the defaults: e.g. another key file for a workstation not enrolled
 * yet. Returns the UI's URL and its home folder; stopped with the others at the end.
 */
export async function startBridge(env) {
  // A home of its own: the console saves reports in its Downloads folder.
  const home = mkdtempSync(join(tmpdir(), "digimed-browser-home-"));
  onExit(() => rmSync(home, { recursive: true, force: true }));
  mkdirSync(join(home, "config"), { recursive: true });
  writeFileSync(join(home, "config", "user-dirs.dirs"), 'XDG_DOWNLOAD_DIR="$HOME/Downloads"\n');
  const bridge = startProcess("console bridge", bin.bridge, ["--ui", dist], {
    env: {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, "config"),
      DATABASE_URL: "",
      DIGIMED_DEMO: "1",
      CLERK_SECRET_KEY: "",
      // No meeting service: rooms get demo links, whatever the machine's environment says.
      DIGIMED_JITSI_DOMAIN: "",
      DIGIMED_JITSI_APP_ID: "",
      DIGIMED_JITSI_SECRET: "",
      // No Secret Service, whatever the machine runs: a session bus that is not there (so no
      // X11 autolaunch of one either). "Remember me" then fails as on a desktop without a keyring.
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(home, "no-session-bus")}`,
      ...env,
    },
  });
  const url = await waitFor(
    "the console bridge to listen",
    () => {
      if (bridge.exitCode !== null) throw new Error(`the console bridge stopped: ${bridge.output}`);
      return bridge.output.match(/listening on (http:\/\/[\d.:]+)/)?.[1];
    },
    20_000,
  );
  return { url: `${url}/`, home };
}

/** Rows of a query on this test file's database, as the owner (what the console wrote). */
export function sql(query) {
  const out = psql(databaseUrl, `SELECT coalesce(json_agg(q), '[]') FROM (${query}) q`);
  return JSON.parse(out);
}

/** `digimed …` on this test file's database, as the owner. */
export function cli(args, options = {}) {
  return digimed(databaseUrl, args, {
    ...options,
    env: { DIGIMED_KEY_FILE: keyFile, DIGIMED_CLINICAL_KEY_FILE: clinicalKeyFile, ...(options.env ?? {}) },
  });
}

/** Makes the bridge hold `cmd`: its calls wait until `release(cmd)` (to see a busy state). */
export async function hold(uiUrl, cmd) {
  await fetch(new URL(`hold/${cmd}`, uiUrl), { method: "POST" });
}

export async function release(uiUrl, cmd) {
  await fetch(new URL(`release/${cmd}`, uiUrl), { method: "POST" });
}

/** The meeting links the console opened in the system browser (the bridge records them). */
export async function openedLinks(uiUrl) {
  return (await fetch(new URL("opened", uiUrl))).json();
}

/** Debian's Chromium, headless (no browser download: CHROMIUM_PATH or /usr/bin/chromium). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    // Root (CI, containers) cannot use Chromium's sandbox.
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
}

/**
 * A fresh page on the console in `language` ("nb" or "en"). Each page is a new browser context:
 * nothing is remembered between tests but what the database keeps.
 */
export async function openConsole(browser, url, language = "en") {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: language === "nb" ? "nb-NO" : "en-GB",
  });
  await context.addInitScript((language) => {
    localStorage.setItem("digimed.language", language);
  }, language);
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(url);
  await page.locator("#signin-username").waitFor();
  page.problems = problems;
  return page;
}

/** Signs in through the form as one of DEMO's staff members and waits for the signed-in frame. */
export async function signIn(page, role) {
  const who = DEMO[role];
  await page.fill("#signin-server", DEMO.server);
  await page.fill("#signin-username", who.login);
  await page.fill("#signin-password", who.password);
  await page.locator("form button[type=submit]").click();
  await page.locator(".shell-nav").waitFor();
}

/** Saves a screenshot under tests/artifacts/browser/ and returns its path. */
export async function shot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Every command the UI sent so far (the page keeps a log of them). */
export function calls(page, cmd) {
  return page.evaluate((cmd) => window.__digimed.calls.filter((c) => c.cmd === cmd).map((c) => c.args), cmd);
}

// ---------------------------------------------------------------------------------------------
// Waiting for the state a test asserts. What is on the page right after a click or a key press may
// still be the old state (an error from the previous attempt, a list before its reload, a status
// line not yet changed): these poll until the new state is there, and fail with the last one seen.

/** How long the waiting helpers wait for a state before they fail. */
export const WAIT_MS = 5000;

const pause = (ms) => new Promise((ok) => setTimeout(ok, ms));

/**
 * Runs `check` until it stops throwing an assertion error (any other error ends the wait at once),
 * for at most `timeoutMs`; then the last assertion error is thrown. Returns what `check` returns.
 * `check` reads the page without waiting itself (evaluate, count, allTextContents, evaluateAll).
 */
export async function eventually(check, timeoutMs = WAIT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (!(e instanceof assert.AssertionError) || Date.now() >= deadline) throw e;
    }
    await pause(50);
  }
}

const show = (v) => (v instanceof RegExp ? String(v) : JSON.stringify(v));

/** What every element `locator` finds has right now (its text, an attribute or its value), without waiting for any. */
function readEach(locator, kind, name) {
  return locator.evaluateAll(
    (els, [kind, name]) => els.map((el) => (kind === "text" ? el.textContent.trim() : kind === "value" ? el.value : el.getAttribute(name))),
    [kind, name],
  );
}

/**
 * Waits until the one element `locator` finds has `expected` (a string, exactly; a RegExp,
 * matched) as its text (trimmed), attribute `name` or value; returns what it has then.
 */
async function becomes(locator, kind, name, expected, what, timeoutMs) {
  return eventually(async () => {
    const found = await readEach(locator, kind, name);
    const seen = found.length === 1 ? found[0] : null;
    if (found.length !== 1 || !(expected instanceof RegExp ? expected.test(seen ?? "") : seen === expected)) {
      const last = found.length === 1 ? show(seen) : found.length === 0 ? "no such element" : `${found.length} elements`;
      throw new assert.AssertionError({
        message: `${what ?? locator}: expected ${show(expected)}, last seen ${last}`,
        actual: found.length === 1 ? seen : last,
        expected,
        operator: expected instanceof RegExp ? "match" : "strictEqual",
      });
    }
    return seen;
  }, timeoutMs);
}

/** Waits until the text of the one element `locator` finds, trimmed, is `expected` (string) or matches it (RegExp). */
export function textBecomes(locator, expected, what, timeoutMs = WAIT_MS) {
  return becomes(locator, "text", null, expected, what, timeoutMs);
}

/** Waits until the attribute `name` of the one element `locator` finds is `expected` (string or RegExp). */
export function attributeBecomes(locator, name, expected, what, timeoutMs = WAIT_MS) {
  return becomes(locator, "attribute", name, expected, what ?? `${name} of ${locator}`, timeoutMs);
}

/** Waits until the value of the one input `locator` finds is `expected` (string or RegExp); returns it. */
export function valueBecomes(locator, expected, what, timeoutMs = WAIT_MS) {
  return becomes(locator, "value", null, expected, what ?? `value of ${locator}`, timeoutMs);
}

/** Waits until `locator` finds exactly `expected` elements. */
export async function countBecomes(locator, expected, what, timeoutMs = WAIT_MS) {
  await eventually(async () => {
    const n = await locator.count();
    assert.equal(n, expected, `${what ?? `elements found by ${locator}`}: expected ${expected}, last seen ${n}`);
  }, timeoutMs);
}

/** Waits until the element with the focus has the id `id`. */
export async function focusBecomes(page, id, timeoutMs = WAIT_MS) {
  await eventually(async () => {
    const focused = await page.evaluate(() => document.activeElement?.id);
    assert.equal(focused, id, `the focus: expected on #${id}, last seen on ${focused ? `#${focused}` : "no element with an id"}`);
  }, timeoutMs);
}

// ---------------------------------------------------------------------------------------------
// Changing the database as a staff member would, outside the page (another session's change).

/**
 * `digimed …` on this test file's database signed in as a staff member (for what only staff may
 * do): `who` is one of DEMO's roles, or a {login, password} of a staff member a test added.
 */
export function cliAs(who, args, options = {}) {
  if (typeof who === "string") who = DEMO[who];
  const url = new URL(databaseUrl);
  url.username = encodeURIComponent(who.login);
  url.password = encodeURIComponent(who.password);
  return cli(args, { ...options, env: { DATABASE_URL: url.toString(), ...(options.env ?? {}) } });
}

/** A synthetic national id number (month + 80) for a birth date in 1900–1999; passes the checks (as tests/e2e/lib.mjs's). */
export function syntheticNationalId(year, month, day) {
  const two = (n) => String(n).padStart(2, "0");
  for (let individual = 100; individual < 500; individual++) {
    const d = [...`${two(day)}${two(month + 80)}${two(year % 100)}${String(individual).padStart(3, "0")}`].map(Number);
    const check = (w) => {
      const r = 11 - (w.reduce((s, x, i) => s + x * d[i], 0) % 11);
      return r === 11 ? 0 : r;
    };
    const k1 = check([3, 7, 6, 1, 8, 9, 4, 5, 2]);
    if (k1 === 10) continue;
    d.push(k1);
    const k2 = check([5, 4, 3, 2, 7, 6, 5, 4, 3, 2]);
    if (k2 === 10) continue;
    d.push(k2);
    return d.join("");
  }
  throw new Error("no synthetic national id for that date");
}

/**
 * Makes a referral of the demo partner arrive for a new person `firstname lastname` (born on
 * `born`, [year, month, day] in 1900–1999), as `digimed referral import` receives it; returns the
 * referral's id. It waits in the screening list (the demo partner does not book on arrival).
 */
export function receiveReferral(firstname, lastname, born = [1985, 4, 12]) {
  const dir = mkdtempSync(join(tmpdir(), "digimed-referral-"));
  try {
    const file = join(dir, "referral.json");
    const local = `${firstname}.${lastname}`.toLowerCase();
    writeFileSync(
      file,
      JSON.stringify({
        JournalGuid: globalThis.crypto.randomUUID(),
        PID: syntheticNationalId(...born),
        FormatId: "http://ehelse.no/xmlstds/henvisning/2017-11-30",
        MessageTimestamp: new Date().toISOString(),
        Firstname: firstname,
        Lastname: lastname,
        Email: `${local}@example.com`,
        PhoneNumber: `+479${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`,
      }),
    );
    const receipt = JSON.parse(cli(["referral", "import", file, "--partner", DEMO.partner.name, "--json"]));
    return receipt.referral_id;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Books referral `id` as the demo secretary would after screening it (`digimed consultation book
 * --referral`, with `args` such as ["--doctor", "3"]); returns the id of its consultation.
 */
export function bookReferral(id, args = []) {
  return JSON.parse(cliAs("secretary", ["consultation", "book", "--referral", String(id), "--json", ...args])).id;
}

/**
 * `digimed serve` on this test file's database (the partner webhook; no outgoing-webhook worker),
 * stopped with the other processes; returns its URL.
 */
export async function startWebhookService() {
  const service = startProcess("digimed serve", bin.digimed, ["serve", "--listen", "127.0.0.1:0", "--no-webhook-worker"], {
    // The contact keys only: the service never holds the clinical keys.
    env: { ...process.env, DATABASE_URL: databaseUrl, DIGIMED_KEY_FILE: keyFile, DIGIMED_CLINICAL_KEY_FILE: "" },
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

/**
 * A doctor of the demo clinic of the test's own, with a consultation of a new referral from
 * `patient` (first and last name), booked and started: what the doctor files a result for, leaving the demo
 * doctor's consultations and the queue's order to the other tests. Returns the doctor's sign-in
 * and the consultation's id.
 */
export function doctorWithConsultation(doctorName, local, patient) {
  const [{ organization_id: clinic }] = sql(`SELECT organization_id FROM staff WHERE login_role = '${DEMO.doctor.login}'`);
  const doctor = { login: `${local}@${DEMO.login_domain}`, password: "Harbour-Light-5521", name: doctorName };
  cli(["staff", "add", "--email", doctor.login, "--name", doctorName, "--role", "doctor", "--org", String(clinic), "--password-stdin"], {
    input: `${doctor.password}\n`,
  });
  const id = bookReferral(receiveReferral(...patient));
  cliAs(doctor, ["consultation", "pick", "--id", String(id)]);
  cliAs(doctor, ["consultation", "start", String(id)]);
  return { doctor, id };
}
