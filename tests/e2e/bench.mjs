// The console's cold start and memory with 10,000 open consultations (scripts/bench-console.sh).
//
// Seeds a scratch database the way `digimed bench queue` does (it is kept for this run and dropped
// afterwards), adds a secretary, and then, several times over: starts the built console through
// tauri-driver under Xvfb, signs the secretary in and measures from outside the app
//   - spawn → sign-in screen shown (the process's start time from /proc, the screen by WebDriver),
//   - sign-in submitted → first queue rows in the DOM (timed in the page around the click),
// and the proportional set size (PSS) of the app and every process below it (WebKitWebProcess,
// WebKitNetworkProcess) once the queue is shown. Figures are printed next to the targets.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  bin,
  clearScreenshots,
  consolePid,
  digimed,
  driverOutput,
  dropDatabase,
  find,
  log,
  onExit,
  openConsole,
  processAgeMs,
  processTree,
  psql,
  pssKb,
  screenshot,
  serverOf,
  setLanguage,
  shutdown,
  sleep,
  startDesktop,
  startDriver,
  waitFor,
  withDatabase,
} from "./lib.mjs";

const OPEN = Number(process.env.BENCH_OPEN ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TARGET_START_MS = 1000;
const TARGET_PSS_MB = 320;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function seed(ownerUrl) {
  log(`seeding ${OPEN} open consultations with \`digimed bench queue --keep\``);
  const r = spawnSync(
    bin.digimed,
    ["bench", "queue", "--historical", "0", "--open", String(OPEN), "--doctors", "1", "--picks", "1", "--listings", "1", "--keep"],
    { encoding: "utf8", env: { ...process.env, DATABASE_URL: ownerUrl } },
  );
  const name = r.stderr.match(/kept database (\S+)/)?.[1];
  if (name) {
    onExit(() => {
      const logins = psql(withDatabase(ownerUrl, name), "SELECT login_role FROM staff").split("\n").filter(Boolean);
      dropDatabase(ownerUrl, name, logins);
      log(`dropped database ${name} and its ${logins.length} logins`);
    });
  }
  if (r.status !== 0 || !name) throw new Error(`seeding failed: ${r.stderr.trim()}`);
  console.log(r.stdout.split("\n").find((l) => l.startsWith("seeded")) ?? "");
  const url = withDatabase(ownerUrl, name);
  const clinic = psql(url, "SELECT id FROM organizations WHERE kind = 'clinic' ORDER BY id LIMIT 1");
  const password = randomBytes(18).toString("base64url");
  const email = `console-${randomBytes(4).toString("hex")}@bench.digimed.test`;
  const added = digimed(url, ["staff", "add", "--email", email, "--name", "Bench Secretary", "--role", "secretary", "--org", clinic, "--password-stdin"], {
    input: password,
  });
  const login = added.match(/sign in as (\S+)/)?.[1] ?? email;
  const open = psql(url, "SELECT count(*) FROM consultations WHERE state IN ('ready_for_pickup', 'pending_sp', 'in_progress')");
  return { url, login, password, open: Number(open) };
}

/** One cold start: returns the timings and the memory of the console's processes. */
async function coldStart(driverUrl, secretary, run) {
  const driver = await openConsole(driverUrl);
  try {
    const pid = await waitFor("the console process", () => consolePid(), 20_000, 10);
    // Spawn → sign-in screen: polled from outside as fast as WebDriver answers.
    await waitFor(
      "the sign-in screen",
      async () => (await driver.executeScript(() => !!document.querySelector("#signin-username"))) === true,
      30_000,
      5,
    );
    const toSignIn = processAgeMs(pid);
    await setLanguage(driver, "en");
    await (await find(driver, "#signin-username")).sendKeys(secretary.login);
    await (await find(driver, "#signin-password")).sendKeys(secretary.password);
    // Sign-in → first queue rows, timed in the page from the click to the first rendered row.
    const { toQueue, submittedAt } = await driver.executeAsyncScript((done) => {
      const t0 = performance.now();
      const rendered = () => document.querySelector("table[role=grid] tbody tr[id]");
      const observer = new MutationObserver(() => {
        if (rendered()) {
          observer.disconnect();
          done({ toQueue: performance.now() - t0, submittedAt: t0 });
        }
      });
      observer.observe(document.body, { childList: true, subtree: true });
      document.querySelector("form button[type=submit]").click();
    });
    const rows = await driver.executeScript(() => document.querySelectorAll("table[role=grid] tbody tr[id]").length);
    const header = await driver.executeScript(() => document.querySelector(".screen-head .muted")?.textContent ?? "");
    // Where the time went: the page's own clock (navigation, the bundle, the console's User Timing
    // marks) placed on the process's clock, the spawn being the process's start time.
    const page = await driver.executeScript(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      return {
        origin: performance.timeOrigin,
        now: Date.now(),
        domContentLoaded: nav?.domContentLoadedEventEnd ?? null,
        resources: performance.getEntriesByType("resource").map((r) => ({ name: r.name.split("/").pop(), end: r.responseEnd, bytes: r.decodedBodySize })),
        marks: performance.getEntriesByType("mark").map((m) => ({ name: m.name.replace(/^digimed:/, ""), at: m.startTime })),
      };
    });
    const spawnEpoch = page.now - processAgeMs(pid);
    const originAfterSpawn = page.origin - spawnEpoch;
    // Memory once the queue is on screen and the webview has settled.
    await sleep(1500);
    const processes = processTree(pid).map((p) => ({ ...p, pssKb: pssKb(p.pid) }));
    if (run === 1) await screenshot(driver, `queue-${OPEN}-open`, { series: "bench" });
    // What the first queue page weighs over IPC: the same request the screen makes, asked again.
    const ipc = await driver.executeAsyncScript((done) => {
      const filter = { states: [], assigned_doctor_id: null, unassigned_only: false, partner_id: null, sort: "waiting_longest", limit: 100, offset: null };
      window.__TAURI_INTERNALS__.invoke("queue_list", { filter }).then(
        (page) => done({ rows: page.rows?.length ?? page.length, bytes: JSON.stringify(page).length }),
        (e) => done({ error: JSON.stringify(e) }),
      );
    });
    return { toSignIn, toQueue, submittedAt, rows, header, processes, page, originAfterSpawn, ipc };
  } finally {
    await driver.quit().catch(() => undefined);
    // The next run must be a cold start of a new process.
    await waitFor("the console to exit", () => consolePid() === null, 15_000, 50).catch(() => log("the console did not exit in time"));
  }
}

async function main() {
  const owner = process.env.DATABASE_URL;
  if (!owner) throw new Error("DATABASE_URL must name the PostgreSQL server (scripts/bench-console.sh starts the project's own)");
  clearScreenshots("bench");
  const desktop = await startDesktop();
  const secretary = await seed(owner);
  // The console logs how long it waited on the database and the keyring (see src-tauri/src/timing.rs).
  const env = { ...desktop, DIGIMED_SERVER: serverOf(secretary.url), RUST_LOG: "info,digimed_console::timing=debug" };
  delete env.DATABASE_URL;
  const driverUrl = await startDriver(env);

  const results = [];
  for (let run = 1; run <= RUNS; run++) {
    const r = await coldStart(driverUrl, secretary, run);
    const pssMb = r.processes.reduce((s, p) => s + p.pssKb, 0) / 1024;
    results.push({ ...r, pssMb });
    console.log(
      `run ${run}: spawn → sign-in screen ${r.toSignIn.toFixed(0)} ms, sign-in → queue rows ${r.toQueue.toFixed(0)} ms, ` +
        `PSS ${pssMb.toFixed(0)} MB (${r.processes.map((p) => `${p.name} ${(p.pssKb / 1024).toFixed(0)}`).join(", ")})`,
    );
  }

  const last = results.at(-1);
  const toSignIn = median(results.map((r) => r.toSignIn));
  const toQueue = median(results.map((r) => r.toQueue));
  const cold = median(results.map((r) => r.toSignIn + r.toQueue));
  const pss = median(results.map((r) => r.pssMb));
  const mark = (ok) => (ok ? "ok" : "ABOVE TARGET");
  console.log("");
  console.log(`console cold start and memory, ${secretary.open} open consultations (${last.header}, ${last.rows} rows rendered), median of ${RUNS} runs:`);
  console.log(`  spawn → sign-in screen shown          ${toSignIn.toFixed(0).padStart(6)} ms`);
  console.log(`  sign-in submitted → queue rows shown  ${toQueue.toFixed(0).padStart(6)} ms`);
  console.log(`  cold start to an interactive queue    ${cold.toFixed(0).padStart(6)} ms   (target < ${TARGET_START_MS} ms) ${mark(cold < TARGET_START_MS)}`);
  console.log(`  PSS, app + WebKit processes           ${pss.toFixed(0).padStart(6)} MB   (target < ${TARGET_PSS_MB} MB) ${mark(pss < TARGET_PSS_MB)}`);
  for (const p of last.processes) console.log(`      ${p.name.padEnd(22)} ${(p.pssKb / 1024).toFixed(1).padStart(7)} MB`);
  console.log("  (cold start leaves out the time spent typing the username and password)");
  console.log("");
  console.log(`where the time went (run ${results.length}):`);
  const { page, originAfterSpawn, submittedAt, ipc } = last;
  const afterSpawn = (t) => (t === null || t === undefined ? "      -" : (originAfterSpawn + t).toFixed(0).padStart(6));
  const afterSubmit = (t) => (t === undefined ? "      -" : `+${(t - submittedAt).toFixed(0).padStart(5)}`);
  const markAt = (name) => page.marks.find((m) => m.name === name)?.at;
  console.log(`  spawn → page load starts              ${originAfterSpawn.toFixed(0).padStart(6)} ms`);
  for (const r of page.resources) console.log(`  ${`${r.name} loaded (${(r.bytes / 1024).toFixed(0)} kB)`.padEnd(37)} ${afterSpawn(r.end)} ms`);
  console.log(`  DOMContentLoaded                      ${afterSpawn(page.domContentLoaded)} ms`);
  console.log(`  entry module runs                     ${afterSpawn(markAt("script"))} ms`);
  console.log(`  installation status known             ${afterSpawn(markAt("status"))} ms`);
  console.log(`  sign-in form shown                    ${afterSpawn(markAt("signin"))} ms`);
  console.log(`  sign-in command answered              ${afterSubmit(markAt("signed-in"))} ms after submit`);
  console.log(`  first queue page arrived              ${afterSubmit(markAt("queue-data"))} ms after submit`);
  console.log(`  queue rows on screen                  ${afterSubmit(markAt("queue-rows"))} ms after submit`);
  console.log(`  first queue page over IPC             ${ipc.error ? ipc.error : `${ipc.rows} rows, ${(ipc.bytes / 1024).toFixed(0)} kB of JSON`}`);
  // The console's own timings of the last run (milliseconds since its main() began).
  // eslint-disable-next-line no-control-regex
  const all = driverOutput().split("\n").filter((l) => l.includes("digimed_console::timing")).map((l) => l.replace(/\x1b\[[0-9;]*m/g, "").replace(/^.*digimed_console::timing: /, ""));
  const lastStart = all.findLastIndex((l) => l.startsWith("main "));
  const timings = lastStart < 0 ? [] : all.slice(lastStart);
  if (timings.length) {
    console.log("  the console's own timings (ms since main):");
    for (const l of timings) console.log(`      ${l}`);
  }
}

main()
  .catch((e) => {
    console.error(`error: ${e.message}`);
    process.exitCode = 1;
  })
  .finally(() => shutdown());
