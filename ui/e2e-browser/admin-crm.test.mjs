// The admin's view of the CRM syncs (HubSpot contacts and concierge tasks) beside the webhook
// deliveries: each sync's event, kind, state and reason, in both languages. The syncs are written
// as the service's CRM worker leaves them (docs/crm.md).

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, afterEach, before, describe, test } from "node:test";

import { psql } from "../../tests/e2e/database.mjs";
import { DEMO, launch, openConsole, serveUi, shot, signIn, sql } from "./support.mjs";

let ui;
let browser;
let page;

/** The demo database, as its owner. */
function ownerUrl() {
  const owner = new URL(DEMO.server);
  owner.username = new URL(process.env.DATABASE_URL).username;
  return owner.toString();
}

before(async () => {
  ui = await serveUi();
  browser = await launch();
  const [admin] = sql(`SELECT organization_id FROM staff WHERE login_role = '${DEMO.admin.login}'`);
  const org = admin.organization_id;
  const [person] = sql(`SELECT patient_person_id FROM patients WHERE organization_id = ${org} ORDER BY id LIMIT 1`);
  const pid = person.patient_person_id;
  const event = (type) => {
    const id = randomUUID();
    psql(
      ownerUrl(),
      `INSERT INTO outbox (event_id, event_type, organization_id, payload, crm_considered_at)
       VALUES ('${id}', '${type}', ${org}, '{"patient_person_id": ${pid}}', now())`,
    );
    return sql(`SELECT id FROM outbox WHERE event_id = '${id}'`)[0].id;
  };
  const onboarded = event("patient.onboarded");
  const referred = event("referral.received");
  psql(
    ownerUrl(),
    `INSERT INTO crm_syncs (outbox_id, organization_id, kind, patient_person_id, state, attempts, hubspot_contact_id, synced_at)
       VALUES (${onboarded}, ${org}, 'contact', ${pid}, 'synced', 1, '1001', now()),
              (${referred}, ${org}, 'contact', ${pid}, 'synced', 2, '1001', now());
     INSERT INTO crm_syncs (outbox_id, organization_id, kind, patient_person_id, state, attempts, last_status, last_error, hubspot_contact_id)
       VALUES (${referred}, ${org}, 'concierge_task', ${pid}, 'failed', 1, 401,
               'HubSpot refused the access token (INVALID_AUTHENTICATION)', '1001')`,
  );
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

const card = () => page.locator(".card[aria-labelledby=crm-title]");

describe("CRM syncs on the admin screen", () => {
  for (const [language, texts] of [
    ["en", { title: "CRM syncs (HubSpot)", task: "Concierge task", failed: "Failed", synced: "Synced" }],
    ["nb", { title: "CRM-synkronisering (HubSpot)", task: "Oppgave til concierge", failed: "Mislyktes", synced: "Synkronisert" }],
  ]) {
    test(`shows each sync's kind, state and reason (${language})`, async () => {
      page = await openConsole(browser, ui.url, language);
      await signIn(page, "admin");
      const rows = card().locator("tbody tr");
      await rows.nth(2).waitFor();
      assert.equal(await card().locator("h2").textContent(), texts.title);
      assert.equal(await rows.count(), 3);
      const task = rows.first();
      assert.match(await task.textContent(), new RegExp(`referral\\.received.*${texts.task}.*${texts.failed}`));
      assert.match(await task.textContent(), /HubSpot refused the access token \(INVALID_AUTHENTICATION\)/);
      assert.match(await rows.nth(2).textContent(), new RegExp(`patient\\.onboarded.*${texts.synced}`));
      await card().scrollIntoViewIfNeeded();
      await shot(page, `admin-crm-syncs-${language}`);
    });
  }
});
