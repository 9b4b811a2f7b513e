// A throw-away database with the demo data for a test run, and the `digimed` tool and psql on it.

import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { bin, checkout, log, onExit, run } from "./processes.mjs";

// ---------------------------------------------------------------------------------------------
// The database: a database of its own on the server DATABASE_URL names (the project's private
// cluster when scripts/test.sh started it), dropped again with its staff logins at the end.

const pgbin = (() => {
  const dirs = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").sort((a, b) => Number(a) - Number(b)) : [];
  const last = dirs.at(-1);
  return last ? `/usr/lib/postgresql/${last}/bin` : "";
})();

/** `url` with another database name. */
export function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The server address the sign-in screen suggests: the URL without any user or password. */
export function serverOf(url) {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  return u.toString();
}

export function psql(url, sql) {
  return run(join(pgbin, "psql"), [url, "-X", "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql]).trim();
}

const quoteIdent = (s) => `"${s.replace(/"/g, '""')}"`;

/** Drops a database and the given login roles (cluster-wide), ignoring what is already gone. */
export function dropDatabase(ownerUrl, name, logins = []) {
  const admin = withDatabase(ownerUrl, "postgres");
  psql(admin, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  for (const login of logins) psql(admin, `DROP ROLE IF EXISTS ${quoteIdent(login)}`);
}

/** `digimed …` on the database `url` names; returns standard output. */
export function digimed(url, args, { input, env = {} } = {}) {
  return run(bin.digimed, args, { env: { ...process.env, DATABASE_URL: url, ...env }, input });
}

/**
 * A fresh demo database: migrated, the keys of both domains in key files (contact and clinical,
 * docs/operations.md "Key domains"), the ICPC-2 list imported and the demo seeded (its results
 * under the clinical keys) with logins of its own domain. Returns its URL, key files and the
 * demo's sign-ins.
 */
export function demoDatabase(ownerUrl) {
  const suffix = randomBytes(4).toString("hex");
  const name = `digimed_e2e_${suffix}`;
  const work = mkdtempSync(join(tmpdir(), "digimed-e2e-keys-"));
  const keyFile = join(work, "keys.json");
  const clinicalKeyFile = join(work, "clinical-keys.json");
  const env = { DIGIMED_KEY_FILE: keyFile, DIGIMED_CLINICAL_KEY_FILE: clinicalKeyFile };
  psql(withDatabase(ownerUrl, "postgres"), `CREATE DATABASE ${quoteIdent(name)}`);
  const url = withDatabase(ownerUrl, name);
  let logins = [];
  onExit(() => {
    // Every staff login of the database, also those the tests added.
    let all = logins;
    try {
      all = [...new Set([...logins, ...psql(url, "SELECT login_role FROM staff").split("\n").filter(Boolean)])];
    } catch {
      // The database is already gone; drop the logins known.
    }
    logins = all;
    dropDatabase(ownerUrl, name, logins);
    rmSync(work, { recursive: true, force: true });
    log(`dropped database ${name} and its ${logins.length} logins`);
  });
  digimed(url, ["db", "migrate"], { env });
  digimed(url, ["keys", "init"], { env });
  digimed(url, ["keys", "init", "--domain", "clinical"], { env });
  const icpc2 = process.env.DIGIMED_ICPC2_FILE ?? resolve(checkout, "data/node_modules/@navikt/diagnosekoder/lib/ICPC2.json");
  if (!existsSync(icpc2)) throw new Error(`the ICPC-2 list is needed at ${icpc2} (scripts/deps.sh installs it; or set DIGIMED_ICPC2_FILE)`);
  digimed(url, ["icpc2", "import", icpc2], { env });
  const seeded = JSON.parse(digimed(url, ["db", "seed-demo", "--login-domain", `e2e-${suffix}.digimed.test`, "--json"], { env }));
  logins = seeded.staff.map((s) => s.login);
  // The first staff member of each role (the demo has two doctors).
  const staff = Object.fromEntries([...seeded.staff].reverse().map((s) => [s.role, s]));
  log(`database ${name}: demo seeded (${logins.length} staff logins)`);
  return { name, url, keyFile, clinicalKeyFile, staff, partner: seeded.partner };
}

