// Sign-in to a database server whose certificate does not check out, or that would be reached
// unencrypted: the console's own sign-in command, on the real core, against a PostgreSQL cluster
// that speaks TLS (tests/e2e/tls-cluster.mjs). Each refusal sits under Server, in the chosen
// language, and shows neither the password nor the address typed (docs/operations.md).

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { tlsCluster } from "../../tests/e2e/tls-cluster.mjs";
import { DEMO, attributeBecomes, focusBecomes, launch, openConsole, serveUi, shot, textBecomes } from "./support.mjs";

let ui;
let browser;
let cluster;
before(async () => {
  ui = await serveUi();
  browser = await launch();
  cluster = await tlsCluster();
});
after(async () => {
  await browser?.close();
  await ui?.stop();
});

const PASSWORD = "Not-sent-anywhere-9";

async function submit(page, server) {
  await page.fill("#signin-server", server);
  await page.fill("#signin-username", DEMO.secretary.login);
  await page.fill("#signin-password", PASSWORD);
  await page.locator("form button[type=submit]").click();
}

/** Waits until Server shows `expected`, is marked invalid and has the focus; nothing else is blamed. */
async function serverErrorIs(page, expected, server) {
  const error = page.locator("#signin-server-error");
  await textBecomes(error, expected);
  await attributeBecomes(page.locator("#signin-server"), "aria-invalid", "true");
  await focusBecomes(page, "signin-server");
  assert.equal(await page.locator(".signin-card .alert-error").count(), 0, "one error, under Server");
  assert.equal(await page.locator(".shell-nav").count(), 0, "still signed out");
  const shown = await page.locator(".signin-card").innerText();
  assert.ok(!shown.includes(PASSWORD), "the password is not shown");
  const text = await error.innerText();
  assert.ok(!text.includes("postgres://") && !text.includes(server), `the address is not repeated: ${text}`);
}

describe("sign-in to a database whose TLS does not check out", () => {
  test("a certificate from another CA is reported under Server, in English and in bokmål", async () => {
    const server = `postgres://localhost:${cluster.port}/clinic?sslmode=verify-full&sslrootcert=${cluster.otherCa}`;
    const en = await openConsole(browser, ui.url, "en");
    await submit(en, server);
    await serverErrorIs(
      en,
      "The database server localhost presented a certificate that is not signed by a CA this computer trusts: give the clinic's CA certificate with sslrootcert, or ask IT for it.",
      server,
    );
    await shot(en, "signin-error-untrusted-ca-en");
    await en.context().close();

    const nb = await openConsole(browser, ui.url, "nb");
    await submit(nb, server);
    await serverErrorIs(nb, /^Databaseserverens sertifikat er ikke utstedt av en sertifikatutsteder denne datamaskinen stoler på/, server);
    await shot(nb, "signin-error-untrusted-ca-nb");
    await nb.context().close();
  });

  test("a certificate made out to another host name is reported under Server, in English and in bokmål", async () => {
    // The certificate names localhost; 127.0.0.1 reaches the same server by another name.
    const server = `postgres://127.0.0.1:${cluster.port}/clinic?sslmode=verify-full&sslrootcert=${cluster.ca}`;
    const en = await openConsole(browser, ui.url, "en");
    await submit(en, server);
    await serverErrorIs(
      en,
      "The database server's certificate is not made out to 127.0.0.1: connect by the host name its certificate names, or ask IT for a certificate for 127.0.0.1.",
      server,
    );
    await shot(en, "signin-error-certificate-name-en");
    await en.context().close();

    const nb = await openConsole(browser, ui.url, "nb");
    await submit(nb, server);
    await serverErrorIs(nb, /^Databaseserverens sertifikat er ikke utstedt for vertsnavnet i adressen\./, server);
    await shot(nb, "signin-error-certificate-name-nb");
    await nb.context().close();
  });

  test("a server on another computer asked for without encryption is refused before connecting", async () => {
    const server = "postgres://db.digimed-oslo.example:5432/digimed?sslmode=disable";
    const en = await openConsole(browser, ui.url, "en");
    await submit(en, server);
    await serverErrorIs(
      en,
      "Refusing to connect to the database server db.digimed-oslo.example without encryption (sslmode=disable): only a database on this computer may be reached unencrypted. Leave sslmode out to use verify-full, or write sslmode=require to encrypt without checking the server's certificate.",
      server,
    );
    await shot(en, "signin-error-unencrypted-en");
    await en.context().close();

    const nb = await openConsole(browser, ui.url, "nb");
    await submit(nb, server);
    await serverErrorIs(nb, /^Ikke tilkoblet: databaseserveren er på en annen datamaskin.*skriv sslmode=require/, server);
    await shot(nb, "signin-error-unencrypted-nb");
    await nb.context().close();
  });
});
