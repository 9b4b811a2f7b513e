// What the browser tests share: the built UI (with the stand-in backend) served on loopback,
// Debian's Chromium driven by playwright-core, and signing in as a demo staff member.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = fileURLToPath(new URL(".", import.meta.url));
export const checkout = resolve(here, "../..");
const dist = join(here, "dist");

/** Screenshots of the browser tests, beside the end-to-end run's (git-ignored). */
export const artifacts = resolve(checkout, "tests/artifacts/browser");

/** The demo clinic's sign-ins (see harness/backend.ts). */
export const DEMO = {
  server: "postgres://db.digimed-oslo.example:5432/digimed",
  secretary: { login: "sara.lie@demo.digimed.test", password: "demo-secretary", name: "Sara Lie" },
  doctor: { login: "anders.moe@demo.digimed.test", password: "demo-doctor", name: "Dr. Anders Moe" },
  customer_support: { login: "ola.brekke@demo.digimed.test", password: "demo-customer_support", name: "Ola Brekke" },
  admin: { login: "hanne.strand@demo.digimed.test", password: "demo-admin", name: "Hanne Strand" },
};

/**
 * The ICPC-2 list, from the npm package pinned in data/package-lock.json (or DIGIMED_ICPC2_FILE),
 * as the Rust tests read it.
 */
function icpc2List() {
  const file = process.env.DIGIMED_ICPC2_FILE ?? resolve(checkout, "data/node_modules/@navikt/diagnosekoder/lib/ICPC2.json");
  if (!existsSync(file)) throw new Error(`the ICPC-2 list is needed at ${file} (scripts/deps.sh installs it; or set DIGIMED_ICPC2_FILE)`);
  return JSON.parse(readFileSync(file, "utf8"));
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };

/** Serves the built harness on 127.0.0.1 (a free port); returns its URL and a stop function. */
export async function serveUi() {
  if (!existsSync(join(dist, "index.html"))) {
    throw new Error("the UI harness is not built: run `npm run test:browser` (it builds e2e-browser/dist first)");
  }
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(dist, path === "/" ? "index.html" : path);
    if (!file.startsWith(dist) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, stop: () => new Promise((ok) => server.close(ok)) };
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
 * A fresh page on the console in `language` ("nb" or "en"), with the stand-in backend fed the
 * ICPC-2 list. Each page is a new browser context: nothing is remembered between tests.
 */
export async function openConsole(browser, url, language = "en") {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: language === "nb" ? "nb-NO" : "en-GB",
  });
  await context.addInitScript(
    ({ codes, language }) => {
      window.__DIGIMED_ICPC2__ = codes;
      localStorage.setItem("digimed.language", language);
    },
    { codes: icpc2List(), language },
  );
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

/** Every command the UI sent so far, from the stand-in backend's log. */
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
