// The console's Debian package (DIGIMED_DEB, made by scripts/package.sh): unpacked into a clean
// root of its own (dpkg -x; nothing on the machine changes), its control data declares the
// runtime dependencies, and every shared library the console and the tool load comes from a
// declared dependency (or one of theirs); the desktop entry passes desktop-file-validate and names
// the installed program and icon; the installed `digimed` runs; the installed console starts
// under Xvfb (through tauri-driver and WebKitWebDriver, on a private D-Bus session with a keyring)
// and shows its sign-in screen, saved as tests/artifacts/e2e/package-NN-*.png.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Builder } from "selenium-webdriver";

import { clearScreenshots, find, log, onExit, run, screenshot, setLanguage, shutdown, startDesktop, startDriver, textBecomes } from "./lib.mjs";

const deb = process.env.DIGIMED_DEB;
let root;
let control;

/** A field of the package's control data, e.g. "Depends", as a list of relations. */
function relations(field) {
  return (control[field] ?? "")
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
}

/** The package names a relation list allows (alternatives included, versions dropped). */
function names(list) {
  return list.flatMap((r) => r.split("|").map((a) => a.trim().split(/[\s(]/)[0]));
}

before(() => {
  assert.ok(deb && existsSync(deb), `DIGIMED_DEB must name the built package (scripts/package.sh --debug prints it); got ${deb}`);
  root = mkdtempSync(join(tmpdir(), "digimed-package-root-"));
  onExit(() => rmSync(root, { recursive: true, force: true }));
  run("dpkg-deb", ["-x", deb, root]);
  control = {};
  let last = null;
  for (const line of run("dpkg-deb", ["-f", deb]).split("\n")) {
    if (/^\s/.test(line) && last) control[last] += `\n${line}`;
    else if (line.includes(":")) {
      last = line.slice(0, line.indexOf(":"));
      control[last] = line.slice(line.indexOf(":") + 1).trim();
    }
  }
  log(`package ${control.Package} ${control.Version}, unpacked into ${root}`);
});

after(async () => {
  await shutdown();
});

describe("the Debian package", () => {
  test("declares its runtime dependencies, and every library the programs load comes from them", () => {
    assert.equal(control.Package, "digimed-console");
    assert.equal(control.Architecture, "amd64");
    const depends = names(relations("Depends"));
    for (const needed of ["libwebkit2gtk-4.1-0", "libgtk-3-0", "ca-certificates"]) assert.ok(depends.includes(needed), `Depends lacks ${needed}: ${control.Depends}`);
    assert.ok(names(relations("Recommends")).includes("gnome-keyring"), `a Secret Service provider is recommended: ${control.Recommends}`);
    // Every declared dependency exists in Debian (installed here, so `make test` could run).
    for (const name of depends) {
      const status = spawnSync("dpkg-query", ["-W", "-f=${Status}", name], { encoding: "utf8" }).stdout;
      assert.match(status, /install ok installed/, `the declared dependency ${name} is not a Debian package installed here`);
    }
    // What the declared dependencies bring, with everything they depend on.
    const closure = new Set(
      run("apt-cache", ["depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", ...depends])
        .split("\n")
        .map((l) => l.trim().replace(/^(Pre)?Depends:\s*/, "").replace(/^<|>$/g, ""))
        .filter((l) => l && !l.includes(" ")),
    );
    for (const program of ["usr/bin/digimed-console", "usr/bin/digimed"]) {
      const libraries = run("ldd", [join(root, program)]);
      assert.doesNotMatch(libraries, /not found/, `${program} needs a library that is not installed:\n${libraries}`);
      for (const [, path] of libraries.matchAll(/=>\s+(\/\S+)/g)) {
        // dpkg knows a library by the path its package installed it at: /usr/lib or /lib (merged).
        const candidates = [path, path.replace(/^\/usr\/lib\//, "/lib/"), path.replace(/^\/lib\//, "/usr/lib/")];
        const owner = candidates.map((p) => spawnSync("dpkg", ["-S", p], { encoding: "utf8" })).find((r) => r.status === 0);
        const found = owner?.stdout.split(":")[0].trim();
        assert.ok(found, `no Debian package owns ${path}, which ${program} loads`);
        assert.ok(closure.has(found), `${program} loads ${path} from ${found}, which no declared dependency brings (Depends: ${control.Depends})`);
      }
    }
  });

  test("installs the console, the digimed tool, the desktop entry, the icons and the service's files", () => {
    for (const file of [
      "usr/bin/digimed-console",
      "usr/bin/digimed",
      "usr/share/doc/digimed-console/operations.md",
      "usr/share/doc/digimed-console/examples/digimed-serve.service",
      "usr/share/doc/digimed-console/examples/serve.env.example",
    ]) {
      assert.ok(existsSync(join(root, file)), `the package lacks /${file}`);
    }
    for (const program of ["usr/bin/digimed-console", "usr/bin/digimed"]) accessSync(join(root, program), constants.X_OK);
    const version = run(join(root, "usr/bin/digimed"), ["--version"]).trim();
    assert.match(version, /^digimed \d+\.\d+\.\d+$/);
    assert.ok(control.Version.startsWith(version.split(" ")[1]), `the package's version ${control.Version} is the tool's ${version}`);
  });

  test("its desktop entry is valid, in both languages, and names the installed program and icon", () => {
    // One entry, named after the product by the bundler.
    const entries = readdirSync(join(root, "usr/share/applications")).filter((f) => f.endsWith(".desktop"));
    assert.deepEqual(entries, ["Digimed Console.desktop"]);
    const file = join(root, "usr/share/applications", entries[0]);
    const check = spawnSync("desktop-file-validate", [file], { encoding: "utf8" });
    assert.equal(check.status, 0, `desktop-file-validate: ${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), "", "desktop-file-validate has remarks");
    const entry = Object.fromEntries(
      readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    assert.equal(entry.Name, "Digimed Console");
    assert.equal(entry.Type, "Application");
    assert.ok(entry.Comment, "a comment");
    assert.ok(entry["Comment[nb]"], "a comment in bokmål");
    assert.match(entry.Categories, /(^|;)MedicalSoftware;/);
    assert.ok(existsSync(join(root, "usr/bin", entry.Exec.split(" ")[0])), `Exec=${entry.Exec} is installed in /usr/bin`);
    const icons = join(root, "usr/share/icons/hicolor");
    const sizes = readdirSync(icons).filter((size) => existsSync(join(icons, size, "apps", `${entry.Icon}.png`)));
    assert.ok(sizes.length >= 2, `Icon=${entry.Icon} is installed in sizes ${sizes}`);
  });

  test("the installed console starts and shows the sign-in screen", async () => {
    clearScreenshots("package");
    const desktop = await startDesktop();
    // A workstation as installed: no demo, no database named, no key file.
    const env = { ...desktop };
    for (const name of ["DATABASE_URL", "DIGIMED_SERVER", "DIGIMED_DEMO", "DIGIMED_KEY_FILE"]) delete env[name];
    const driverUrl = await startDriver(env);
    const application = join(root, "usr/bin/digimed-console");
    const driver = await new Builder()
      .usingServer(driverUrl)
      .withCapabilities({ browserName: "wry", "tauri:options": { application } })
      .build();
    try {
      await find(driver, "#signin-username", 30_000);
      await setLanguage(driver, "en");
      await textBecomes(driver, "#signin-title", "Sign in");
      assert.equal(await driver.getTitle(), "Digimed Console");
      const server = await (await find(driver, "#signin-server")).getAttribute("value");
      assert.equal(server, "", "no server is filled in on a fresh workstation");
      await screenshot(driver, "signin-en", { series: "package" });
      await setLanguage(driver, "nb");
      await textBecomes(driver, "#signin-title", "Logg inn");
      await screenshot(driver, "signin-nb", { series: "package" });
      // The console that answered is the unpacked one.
      const pids = spawnSync("pgrep", ["-f", application], { encoding: "utf8" }).stdout.trim();
      assert.ok(pids, `no process runs ${application}`);
    } finally {
      await driver.quit().catch((e) => log("closing the console:", e.message));
    }
  });
});
