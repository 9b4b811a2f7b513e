// What the end-to-end run and the console benchmark share: the processes they start (Xvfb, a
// private D-Bus session with a keyring, `digimed serve`, tauri-driver, and through it the console
// itself) and stop again whatever happens, a throw-away database on the project's PostgreSQL,
// and WebDriver helpers for the real webview.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { inflateRawSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Builder, By, until } from "selenium-webdriver";

import { bin, checkout, freePort, log, onExit, sleep, startProcess, waitFor } from "./processes.mjs";

export { By, until };
export * from "./processes.mjs";
export * from "./database.mjs";

/** Where screenshots go (git-ignored); DIGIMED_E2E_ARTIFACTS overrides. */
export const artifacts = resolve(process.env.DIGIMED_E2E_ARTIFACTS ?? join(checkout, "tests/artifacts/e2e"));

// ---------------------------------------------------------------------------------------------
// The desktop: Xvfb, and a private D-Bus session bus with an unlocked throw-away keyring, all in
// a temporary HOME so nothing of the machine's own settings or secrets is read or written.

export async function startDesktop() {
  const home = mkdtempSync(join(tmpdir(), "digimed-e2e-home-"));
  onExit(() => rmSync(home, { recursive: true, force: true }));
  const env = {
    ...process.env,
    HOME: home,
    XDG_RUNTIME_DIR: home,
    XDG_DATA_HOME: join(home, "data"),
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_CACHE_HOME: join(home, "cache"),
  };
  for (const dir of [env.XDG_DATA_HOME, env.XDG_CONFIG_HOME, env.XDG_CACHE_HOME]) mkdirSync(dir, { recursive: true });
  // The user folders a desktop session has (xdg-user-dirs): the console saves reports in Downloads.
  writeFileSync(join(env.XDG_CONFIG_HOME, "user-dirs.dirs"), 'XDG_DOWNLOAD_DIR="$HOME/Downloads"\n');

  // Xvfb picks a free display itself and writes its number to fd 3.
  const xvfb = startProcess("Xvfb", "Xvfb", ["-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp"], {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
    env,
  });
  let display = "";
  xvfb.stdio[3].on("data", (d) => (display += d.toString()));
  await waitFor("Xvfb to report its display", () => /\d+\n/.test(display) || xvfb.exitCode !== null, 15_000);
  if (!/\d+\n/.test(display)) throw new Error(`Xvfb did not start: ${xvfb.output}`);
  env.DISPLAY = `:${display.trim()}`;

  const bus = startProcess("dbus-daemon", "dbus-daemon", ["--session", "--nofork", "--nopidfile", "--print-address=1"], { env });
  await waitFor("the D-Bus session bus", () => bus.output.includes("unix:") || bus.exitCode !== null, 10_000);
  const address = bus.output.split("\n").find((l) => l.startsWith("unix:"));
  if (!address) throw new Error(`dbus-daemon did not start: ${bus.output}`);
  env.DBUS_SESSION_BUS_ADDRESS = address.trim();

  const keyring = startProcess("gnome-keyring-daemon", "gnome-keyring-daemon", ["--foreground", "--unlock", "--components=secrets"], {
    stdio: ["pipe", "pipe", "pipe"],
    env,
  });
  keyring.stdin.end("throw-away");
  // The keyring owns its bus name once it is ready.
  await waitFor(
    "the keyring on the session bus",
    () =>
      spawnSync("dbus-send", ["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"], {
        env,
        encoding: "utf8",
      }).stdout?.includes("boolean true"),
    10_000,
    100,
  ).catch(() => log("no keyring on the bus; the console will say that passwords cannot be remembered"));
  log(`desktop ${env.DISPLAY}, private D-Bus session and keyring in ${home}`);
  return env;
}

// ---------------------------------------------------------------------------------------------
// `digimed serve` and the partner webhook.

export async function startService(url, keyFile, env) {
  const service = startProcess("digimed serve", bin.digimed, ["serve", "--listen", "127.0.0.1:0", "--no-webhook-worker"], {
    // The contact keys only: the service never holds the clinical keys.
    env: { ...env, DATABASE_URL: url, DIGIMED_KEY_FILE: keyFile, DIGIMED_CLINICAL_KEY_FILE: "" },
  });
  // It shuts down cleanly on Ctrl-C.
  service.stopSignal = "SIGINT";
  const address = await waitFor(
    "digimed serve to listen",
    () => {
      if (service.exitCode !== null) throw new Error(`digimed serve stopped: ${service.output}`);
      return service.output.match(/listening on (http:\/\/[\d.:]+)/)?.[1];
    },
    20_000,
  );
  log(`digimed serve at ${address}`);
  return address;
}

/** Posts a referral to the service's Pridok webhook, signed as Standard Webhooks prescribes. */
export async function postReferral(service, partner, referral) {
  const body = JSON.stringify(referral);
  const id = `msg_${randomBytes(8).toString("hex")}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const key = partner.secret.startsWith("whsec_") ? Buffer.from(partner.secret.slice(6), "base64") : Buffer.from(partner.secret, "utf8");
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  const response = await fetch(`${service}/v1/webhooks/pridok?partner=${encodeURIComponent(partner.name)}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": `v1,${signature}`,
    },
    body,
  });
  return { status: response.status, body: await response.json() };
}

/** A synthetic national id number (month + 80) for a birth date in 1900–1999; passes the checks. */
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

// ---------------------------------------------------------------------------------------------
// tauri-driver and WebDriver sessions on the real console.

function tauriDriverPath() {
  if (process.env.TAURI_DRIVER) return process.env.TAURI_DRIVER;
  // Where scripts/deps.sh installs it.
  const tools = process.env.DIGIMED_TOOLS ?? join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? "/root", ".cache"), "digimed-tools");
  const local = join(tools, "bin/tauri-driver");
  return existsSync(local) ? local : "tauri-driver";
}

let driverProcess = null;

/** What tauri-driver, WebKitWebDriver and the consoles they started wrote to stdout and stderr. */
export function driverOutput() {
  return driverProcess?.output ?? "";
}

/** Starts tauri-driver (which starts WebKitWebDriver) on free ports; returns its URL. */
export async function startDriver(env) {
  const port = await freePort();
  const nativePort = await freePort();
  const driver = startProcess("tauri-driver", tauriDriverPath(), ["--port", String(port), "--native-port", String(nativePort)], { env });
  driverProcess = driver;
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    "tauri-driver to answer",
    async () => {
      if (driver.exitCode !== null) throw new Error(`tauri-driver stopped: ${driver.output}`);
      try {
        const r = await fetch(`${url}/status`);
        return r.status < 500;
      } catch {
        return false;
      }
    },
    20_000,
    100,
  );
  log(`tauri-driver at ${url}`);
  return url;
}

/** Starts the console through WebDriver: a new session is a new console process. */
export async function openConsole(driverUrl) {
  if (!existsSync(bin.console)) throw new Error(`the console is not built: ${bin.console} (cargo build -p digimed-console)`);
  const driver = await new Builder()
    .usingServer(driverUrl)
    .withCapabilities({ browserName: "wry", "tauri:options": { application: bin.console } })
    .build();
  await driver.manage().setTimeouts({ implicit: 0, script: 30_000 });
  return driver;
}

export async function find(driver, css, timeoutMs = 20_000) {
  return driver.wait(until.elementLocated(By.css(css)), timeoutMs, `waiting for ${css}`);
}

export async function text(driver, css) {
  const element = await find(driver, css);
  return driver.executeScript((el) => el.textContent.trim(), element);
}

/**
 * Waits until the text (trimmed) of the first element `css` finds is `expected` (a string,
 * exactly) or matches it (a RegExp), and returns it. Right after a click or a key press the page
 * may still show the old text (an earlier error, a title not yet changed): `text` would read that.
 * Fails with what was expected and the last text seen.
 */
export async function textBecomes(driver, css, expected, { message = "", timeoutMs = 20_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await driver.executeScript((css) => document.querySelector(css)?.textContent.trim() ?? null, css);
    if (seen !== null && (expected instanceof RegExp ? expected.test(seen) : seen === expected)) return seen;
    if (Date.now() >= deadline) {
      const show = (v) => (v instanceof RegExp ? String(v) : JSON.stringify(v));
      throw new assert.AssertionError({
        message: `${message ? `${message}: ` : ""}${css}: expected ${show(expected)}, last seen ${seen === null ? "no such element" : show(seen)} (after ${timeoutMs} ms)`,
        actual: seen,
        expected,
        operator: expected instanceof RegExp ? "match" : "strictEqual",
      });
    }
    await sleep(50);
  }
}

/** Waits until `fn` (run in the page, with `args`) returns something truthy; returns it. */
export async function waitInPage(driver, what, fn, args = [], timeoutMs = 20_000) {
  return driver.wait(async () => driver.executeScript(`return (${fn})(...arguments)`, ...args), timeoutMs, `waiting for ${what}`);
}

/** Chooses an option of a <select> the way a person does, with the change event the UI listens to. */
export async function choose(driver, css, value) {
  await find(driver, css);
  await driver.executeScript(
    (css, value) => {
      const select = document.querySelector(css);
      select.value = value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    },
    css,
    value,
  );
}

/** Switches the console's language with its own switch, wherever it is shown. */
export async function setLanguage(driver, language) {
  const css = (await driver.findElements(By.css("#shell-language"))).length ? "#shell-language" : "#signin-language";
  await choose(driver, css, language);
  await waitInPage(driver, `the page in ${language}`, (l) => document.documentElement.lang === l, [language]);
}

const shotNumbers = new Map();

/**
 * Removes the screenshots an earlier run of `series` left (NN-name.png for the end-to-end run,
 * bench-NN-name.png for the benchmark), so the folder shows one run only.
 */
export function clearScreenshots(series = "") {
  if (!existsSync(artifacts)) return;
  const pattern = new RegExp(`^${series ? `${series}-` : ""}\\d{2,}-.+\\.png$`);
  for (const file of readdirSync(artifacts)) if (pattern.test(file)) rmSync(join(artifacts, file));
}

/**
 * Saves what the console shows as tests/artifacts/e2e/NN-name.png (or SERIES-NN-name.png, so
 * that the benchmark's screenshots do not take the end-to-end run's numbers) and prints the path.
 */
export async function screenshot(driver, name, { series = "" } = {}) {
  mkdirSync(artifacts, { recursive: true });
  // Let the last render and any transition settle.
  await driver.executeAsyncScript((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 150))));
  const n = (shotNumbers.get(series) ?? 0) + 1;
  shotNumbers.set(series, n);
  const path = join(artifacts, `${series ? `${series}-` : ""}${String(n).padStart(2, "0")}-${name}.png`);
  writeFileSync(path, await driver.takeScreenshot(), "base64");
  console.log(`screenshot: ${path}`);
  return path;
}

/** Types into an input the way the UI sees typing: the value set, then an input event. */
export async function fill(driver, css, value) {
  await find(driver, css);
  await driver.executeScript(
    (css, value) => {
      const input = document.querySelector(css);
      input.value = value;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    },
    css,
    value,
  );
}

// ---------------------------------------------------------------------------------------------
// Reading a workbook (.xlsx: a zip of XML parts) without a spreadsheet library.

/** The files of a zip archive, by name (stored or deflated entries, as workbooks use). */
export function unzip(path) {
  const zip = readFileSync(path);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error(`${path} is not a zip archive`);
  const entries = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const files = new Map();
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${path}: broken central directory`);
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    if (method !== 0 && method !== 8) throw new Error(`${path}: ${name} uses compression method ${method}`);
    files.set(name, method === 8 ? inflateRawSync(data) : data);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

const xmlText = (s) =>
  s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");

/** The rows of a workbook's `n`th sheet as arrays of cell texts (numbers as written in the file). */
export function xlsxRows(path, n = 1) {
  const files = unzip(path);
  const sheet = files.get(`xl/worksheets/sheet${n}.xml`)?.toString("utf8");
  if (!sheet) throw new Error(`${path} has no sheet ${n}`);
  const shared = [...(files.get("xl/sharedStrings.xml")?.toString("utf8") ?? "").matchAll(/<si>([\s\S]*?)<\/si>/g)].map((m) =>
    xmlText([...m[1].matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((t) => t[1]).join("")),
  );
  const column = (ref) => [...ref.replace(/\d+$/, "")].reduce((c, ch) => c * 26 + ch.charCodeAt(0) - 64, 0) - 1;
  return [...sheet.matchAll(/<row[^>]*>([\s\S]*?)<\/row>/g)].map((row) => {
    const cells = [];
    for (const c of row[1].matchAll(/<c r="([A-Z]+\d+)"([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const type = / t="(\w+)"/.exec(c[2])?.[1];
      const body = c[3] ?? "";
      const value = /<v>([\s\S]*?)<\/v>/.exec(body)?.[1];
      let text = "";
      if (type === "s") text = shared[Number(value)] ?? "";
      else if (type === "inlineStr") text = xmlText([...body.matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((t) => t[1]).join(""));
      else text = value === undefined ? "" : xmlText(value);
      cells[column(c[1])] = text;
    }
    return Array.from(cells, (v) => v ?? "");
  });
}

/** Fills the sign-in form and submits it. */
export async function signIn(driver, who, { password = who.password } = {}) {
  await find(driver, "#signin-username");
  for (const [css, value] of [["#signin-username", who.login], ["#signin-password", password]]) {
    const input = await find(driver, css);
    await input.clear();
    await driver.executeScript((el) => {
      el.value = "";
      el.dispatchEvent(new Event("input", { bubbles: true }));
    }, input);
    if (value) await input.sendKeys(value);
  }
  await (await find(driver, "form button[type=submit]")).click();
}

// ---------------------------------------------------------------------------------------------
// The console's processes, for the benchmark: the app and its WebKit children, by /proc.

function children(pid) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return out;
}

/** The pid of the running console (the one process whose executable is the built binary). */
export function consolePid() {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) === bin.console) return Number(entry);
    } catch {
      // Not ours to read, or gone.
    }
  }
  return null;
}

/** The app and every process below it, with their command names. */
export function processTree(pid) {
  const all = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift();
    let name = "?";
    try {
      name = readFileSync(`/proc/${p}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    all.push({ pid: p, name });
    queue.push(...children(p));
  }
  return all;
}

/** Proportional set size of a process in kB, from /proc/<pid>/smaps_rollup. */
export function pssKb(pid) {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return Number(rollup.match(/^Pss:\s+(\d+) kB/m)?.[1] ?? 0);
}

/** How long ago the process was spawned, in milliseconds (the kernel counts in 10 ms ticks). */
export function processAgeMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  const startTicks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  return uptime * 1000 - (startTicks * 1000) / clockTicks;
}

const clockTicks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;
