// The processes a test run starts (each in a process group of its own, stopped whatever
// happens), waiting for a state, and where the built binaries are. Shared by the end-to-end run of
// the console, its benchmark and the UI's browser tests.

import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const checkout = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(checkout, "target");
export const bin = {
  console: process.env.DIGIMED_CONSOLE_BIN ?? join(targetDir, "debug/digimed-console"),
  digimed: process.env.DIGIMED_BIN ?? join(targetDir, "debug/digimed"),
  // The console's commands over HTTP, for the UI's browser tests.
  bridge: process.env.DIGIMED_BRIDGE_BIN ?? join(targetDir, "debug/examples/console_bridge"),
};

/** Where screenshots go (git-ignored); DIGIMED_E2E_ARTIFACTS overrides. */
export function log(...parts) {
  process.stderr.write(`[e2e] ${parts.join(" ")}\n`);
}

// ---------------------------------------------------------------------------------------------
// Processes: every one is started in a process group of its own and that whole group is stopped
// on the way out — normal end, a failed assertion, an exception, Ctrl-C or SIGTERM.

const started = [];

export function startProcess(name, command, args, options = {}) {
  const child = spawn(command, args, {
    stdio: options.stdio ?? ["ignore", "pipe", "pipe"],
    env: options.env ?? process.env,
    detached: true,
  });
  child.label = name;
  child.output = "";
  const keep = (chunk) => {
    child.output += chunk.toString();
    if (child.output.length > 200_000) child.output = child.output.slice(-100_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.exited = new Promise((ok) => child.on("exit", (code, signal) => ok({ code, signal })));
  child.on("error", (e) => {
    child.output += `\n${e.message}`;
  });
  started.push(child);
  return child;
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops one started process and everything in its group: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(child, graceMs = 3000) {
  if (!child?.pid) return;
  const index = started.indexOf(child);
  if (index >= 0) started.splice(index, 1);
  try {
    process.kill(-child.pid, child.stopSignal ?? "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (groupAlive(child.pid) && Date.now() < deadline) await sleep(50);
  if (groupAlive(child.pid)) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Stops every process still running, newest first. */
export async function stopAll() {
  for (const child of [...started].reverse()) await stopProcess(child);
}

const cleanups = [];
/** Runs `fn` on the way out (after the processes are stopped), once. */
export function onExit(fn) {
  cleanups.push(fn);
}

export async function shutdown() {
  await stopAll();
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch (e) {
      log("cleanup failed:", e.message);
    }
  }
}

process.on("exit", () => {
  // Last resort when the run ends without `shutdown` (e.g. an uncaught error): no waiting here.
  for (const child of started) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    log(`${signal}: stopping everything`);
    shutdown().finally(() => process.exit(130));
  });
}

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

export async function waitFor(what, check, timeoutMs = 20_000, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

export function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: "utf8", ...options });
  if (r.error) throw new Error(`${command}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

