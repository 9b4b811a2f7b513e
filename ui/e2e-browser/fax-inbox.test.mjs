// The support agent's fax inbox on the real core, in English and bokmål: referral faxes filed as
// the fax provider's webhook files them (`digimed fax import`, the same core path), one fax's PDF
// drawn by pdf.js inside the console's content security policy, one draft completed into a
// patient and another discarded with a reason (refused first without one).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";

import { onExit } from "../../tests/e2e/processes.mjs";
import { DEMO, cli, countBecomes, eventually, launch, openConsole, serveUi, shot, signIn, sql, textBecomes } from "./support.mjs";

let ui;
let browser;
let page;
/** Per language, the two faxes filed for it: { complete, discard } inbox ids. */
const filed = {};

/** A small, valid one-page PDF with `lines` of text in Helvetica (a synthetic referral fax). */
function referralPdf(lines) {
  const text = `BT /F1 14 Tf 72 770 Td 20 TL ${lines.map((l) => `(${l.replace(/[()\\]/g, "\\$&")}) Tj T*`).join(" ")} ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
  ];
  let pdf = "%PDF-1.4\n";
  const offsets = objects.map((body, i) => {
    const at = pdf.length;
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return at;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) pdf += `${String(o).padStart(10, "0")} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return pdf;
}

before(async () => {
  ui = await serveUi();
  browser = await launch();
  const [{ organization_id: clinic }] = sql(
    `SELECT organization_id FROM staff WHERE login_role = '${DEMO.customer_support.login.replace(/'/g, "''")}'`,
  );
  const dir = mkdtempSync(join(tmpdir(), "digimed-faxes-"));
  onExit(() => rmSync(dir, { recursive: true, force: true }));
  for (const language of ["en", "nb"]) {
    filed[language] = {};
    for (const which of ["complete", "discard"]) {
      const file = join(dir, `${language}-${which}.pdf`);
      writeFileSync(file, referralPdf(["REFERRAL", `Patient: Fax Testperson ${language.toUpperCase()} ${which}`, "Reason: knee pain"]));
      const out = cli(["fax", "import", file, "--from", "+4722334455", "--org", String(clinic), "--fax-id", `browser-${language}-${which}`, "--pages", "1", "--json"]);
      filed[language][which] = JSON.parse(out).inbox_id;
    }
  }
});
after(async () => {
  await browser?.close();
  await ui?.stop();
});
afterEach(async () => {
  if (page) {
    assert.deepEqual(page.problems, []);
    await page.context().close();
    page = null;
  }
});

/** How many dark pixels the fax's first page canvas has (text drawn on the white page). */
function darkPixels() {
  return page.locator("canvas.pdf-page").first().evaluate((canvas) => {
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    let dark = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i] + data[i + 1] + data[i + 2] < 300) dark++;
    return dark;
  });
}

/** Opens fax `id` from the list and waits until pdf.js has drawn its page. */
async function openFax(id) {
  await page.locator(`tr[data-fax="${id}"] button`).click();
  await countBecomes(page.locator(".pdf-view canvas.pdf-page"), 1, "the fax's pages", 15_000);
  await eventually(async () => assert.ok((await darkPixels()) > 200, "the fax's page is drawn, not blank"), 15_000);
}

describe("the fax inbox", () => {
  for (const [language, text] of [
    [
      "en",
      {
        nav: "Fax inbox",
        name: "Eva Faxsen",
        completed: "Eva Faxsen is now a patient; the fax has left the inbox.",
        reasonRequired: "Write why the fax is discarded.",
        discarded: "The fax was discarded and has left the inbox.",
      },
    ],
    [
      "nb",
      {
        nav: "Faksinnboks",
        name: "Åse Faksdatter",
        completed: "Åse Faksdatter er nå pasient; faksen er ute av innboksen.",
        reasonRequired: "Skriv hvorfor faksen forkastes.",
        discarded: "Faksen ble forkastet og er ute av innboksen.",
      },
    ],
  ]) {
    test(`shows a fax's PDF, completes one draft and discards another (${language})`, async () => {
      const { complete, discard } = filed[language];
      page = await openConsole(browser, ui.url, language);
      await signIn(page, "customer_support");
      await page.locator(".shell-nav button", { hasText: text.nav }).click();
      await countBecomes(page.locator(`#fax-list tr[data-fax="${complete}"]`), 1);
      // The sender's number is masked in the list.
      await textBecomes(page.locator(`tr[data-fax="${complete}"] .fax-sender`), "+47 ••••• 455");

      await openFax(complete);
      await shot(page, `fax-inbox-${language}`);
      // The reading is recorded in the agent's name.
      const reads = sql(
        `SELECT actor, changes FROM audit_log WHERE action = 'READ' AND entity_type = 'inbound_faxes' AND entity_id = '${complete}' AND changes ? 'fields' AND changes->'fields' ? 'pdf'`,
      );
      assert.deepEqual(reads.map((r) => r.actor), [DEMO.customer_support.login]);

      await page.fill("#fax-name", text.name);
      await page.fill("#fax-phone", "91234567");
      await page.locator("#fax-complete button[type=submit]").click();
      await textBecomes(page.locator("#fax-done"), text.completed);
      await countBecomes(page.locator(`#fax-list tr[data-fax="${complete}"]`), 0);
      const [person] = sql(
        `SELECT pp.name, pp.status, f.state FROM inbound_faxes f JOIN patient_persons pp ON pp.id = f.patient_person_id WHERE f.id = ${complete}`,
      );
      assert.deepEqual(person, { name: text.name, status: "active", state: "completed" });

      await openFax(discard);
      await page.locator("#fax-discard button[type=submit]").click();
      await textBecomes(page.locator("#fax-reason-error"), text.reasonRequired);
      await shot(page, `fax-inbox-discard-refused-${language}`);
      await page.fill("#fax-reason", "Sent to the wrong clinic");
      await page.locator("#fax-discard button[type=submit]").click();
      await textBecomes(page.locator("#fax-done"), text.discarded);
      await countBecomes(page.locator(`#fax-list tr[data-fax="${discard}"]`), 0);
      const [kept] = sql(
        `SELECT f.state, f.discard_reason, pp.status FROM inbound_faxes f JOIN patient_persons pp ON pp.id = f.patient_person_id WHERE f.id = ${discard}`,
      );
      assert.deepEqual(kept, { state: "discarded", discard_reason: "Sent to the wrong clinic", status: "discarded" });
      await shot(page, `fax-inbox-done-${language}`);
    });
  }
});
