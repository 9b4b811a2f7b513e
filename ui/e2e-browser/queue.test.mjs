// The secretary's referral queue: order by waiting time, filters, keyboard navigation, deadline
// badges, and a referral arriving live through a `queue-changed` event without any reload or polling.

import assert from "node:assert/strict";
import { after, before, beforeEach, afterEach, describe, test } from "node:test";
import { calls, launch, openConsole, serveUi, shot, signIn } from "./support.mjs";

let ui;
let browser;
let page;
before(async () => {
  ui = await serveUi();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ui?.stop();
});
beforeEach(async () => {
  page = await openConsole(browser, ui.url, "en");
  await signIn(page, "secretary");
  await rows.first().waitFor();
});
afterEach(async () => {
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

// The demo's open consultations, longest waiting first: received 69, 33, 24, 15 and 6 hours ago,
// Nora Vik's, whose clock stopped when it started two hours after it was received, and the walk-in
// Mari Eriksen's, booked directly an hour ago (no partner, no deadline).
const LONGEST_FIRST = ["Jonas Myhre", "Eirik Lunde", "Sofie Berntsen", "Magnus Haugen", "Ingrid Solberg", "Nora Vik", "Mari Eriksen"];

const rows = {
  first: () => page.locator("table[role=grid] tbody tr[id]").first(),
};

async function patients() {
  return page.locator("table[role=grid] tbody tr[id] td:first-child").allTextContents();
}

async function waitForPatients(expected) {
  await page.waitForFunction(
    (expected) =>
      JSON.stringify([...document.querySelectorAll("table[role=grid] tbody tr[id] td:first-child")].map((td) => td.textContent)) ===
      JSON.stringify(expected),
    expected,
    { timeout: 5000 },
  ).catch(() => undefined);
  assert.deepEqual(await patients(), expected);
}

function row(name) {
  return page.locator("table[role=grid] tbody tr", { hasText: name });
}

describe("the secretary's queue", () => {
  test("lists the open consultations, longest waiting first, with state, doctor and deadline", async () => {
    assert.deepEqual(await patients(), LONGEST_FIRST);
    assert.equal(await page.locator(".screen-head .muted").textContent(), "7 open");
    // Completed and cancelled consultations are not in the queue.
    assert.equal(await row("Henrik Aasen").count(), 0);
    assert.equal(await row("Thea Kristiansen").count(), 0);
    const jonas = (await row("Jonas Myhre").locator("td").allTextContents()).map((s) => s.trim());
    assert.deepEqual(jonas.slice(0, 4), ["Jonas Myhre", "fjordtrygd", "Ready for pickup", "Unassigned"]);
    assert.match(jonas[4], /^2 days?, 21 hrs?/);
    assert.equal(jonas[5], "Deadline breached");
    assert.equal((await row("Nora Vik").locator("td").nth(2).textContent()).trim(), "In progress");
    assert.equal((await row("Nora Vik").locator("td").nth(5).textContent()).trim(), "Deadline met");
    assert.equal((await row("Sofie Berntsen").locator("td").nth(5).textContent()).trim(), "On track");
    const mari = (await row("Mari Eriksen").locator("td").allTextContents()).map((s) => s.trim());
    assert.deepEqual(mari.slice(0, 4), ["Mari Eriksen", "—", "Assigned", "Dr. Kari Dahl"]);
    assert.equal(mari[5], "", "a direct booking has no contractual deadline");
    await shot(page, "queue-secretary-en");
  });

  test("sorts shortest waiting first on request, and back", async () => {
    await page.selectOption("#queue-sort", "shortest");
    await waitForPatients([...LONGEST_FIRST].reverse());
    assert.equal(await page.locator("th[aria-sort]").getAttribute("aria-sort"), "ascending");
    await page.selectOption("#queue-sort", "longest");
    await waitForPatients(LONGEST_FIRST);
    assert.equal(await page.locator("th[aria-sort]").getAttribute("aria-sort"), "descending");
  });

  test("filters by state and by doctor, asking the console for just those", async () => {
    await page.selectOption("#queue-state", "in_progress");
    await waitForPatients(["Nora Vik"]);
    let sent = (await calls(page, "queue_list")).at(-1).filter;
    assert.deepEqual(sent.states, ["in_progress"]);

    await page.selectOption("#queue-state", "");
    await page.selectOption("#queue-doctor", "unassigned");
    await waitForPatients(["Jonas Myhre", "Sofie Berntsen", "Magnus Haugen", "Ingrid Solberg"]);
    sent = (await calls(page, "queue_list")).at(-1).filter;
    assert.equal(sent.unassigned_only, true);
    assert.equal(sent.assigned_doctor_id, null);

    await page.selectOption("#queue-doctor", { label: "Dr. Kari Dahl" });
    await waitForPatients(["Eirik Lunde", "Mari Eriksen"]);
    sent = (await calls(page, "queue_list")).at(-1).filter;
    assert.equal(sent.assigned_doctor_id, 3);
    assert.equal(sent.unassigned_only, false);

    await page.selectOption("#queue-state", "ready_for_pickup");
    await waitForPatients([]);
    assert.equal(
      (await page.locator("table[role=grid] tbody td.muted").textContent()).trim(),
      "No open consultations match these filters.",
    );
  });

  test("moves through the rows with the arrow keys, Home and End, and opens one with Enter", async () => {
    const grid = page.locator("table[role=grid]");
    await grid.focus();
    const selected = async () => {
      const id = await grid.getAttribute("aria-activedescendant");
      const marked = await page.locator('tbody tr[aria-selected="true"] td:first-child').allTextContents();
      assert.equal(marked.length, 1, "exactly one row is selected");
      assert.equal(await page.locator(`#${id} td:first-child`).textContent(), marked[0]);
      return marked[0];
    };
    await page.keyboard.press("ArrowDown");
    assert.equal(await selected(), LONGEST_FIRST[0]);
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    assert.equal(await selected(), LONGEST_FIRST[2]);
    await page.keyboard.press("ArrowUp");
    assert.equal(await selected(), LONGEST_FIRST[1]);
    await page.keyboard.press("End");
    assert.equal(await selected(), LONGEST_FIRST.at(-1));
    await page.keyboard.press("ArrowDown");
    assert.equal(await selected(), LONGEST_FIRST.at(-1), "the last row stays selected");
    await page.keyboard.press("Home");
    assert.equal(await selected(), LONGEST_FIRST[0]);
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await page.locator("#panel-title").waitFor();
    assert.equal(await page.locator("#panel-title").textContent(), LONGEST_FIRST[1]);
    await page.locator(".side-panel .facts").waitFor();
    await shot(page, "queue-panel-en");
  });

  test("a referral arriving is shown at once through the console's event, without polling", async () => {
    const before = (await calls(page, "queue_list")).length;
    // Nothing is polled: without an event, the queue is not read again.
    await page.waitForTimeout(1500);
    assert.equal((await calls(page, "queue_list")).length, before, "the queue is not polled");

    await page.evaluate(() => window.__digimed.receiveReferral("Line Danser"));
    await row("Line Danser").waitFor({ timeout: 5000 });
    assert.equal((await calls(page, "queue_list")).length, before + 1, "one event, one reload");
    // It has waited least of all, so it comes last.
    assert.deepEqual(await patients(), [...LONGEST_FIRST, "Line Danser"]);
    assert.equal(await page.locator(".screen-head .muted").textContent(), "8 open");
    const cells = (await row("Line Danser").locator("td").allTextContents()).map((s) => s.trim());
    assert.deepEqual(cells.slice(0, 4), ["Line Danser", "fjordtrygd", "Ready for pickup", "Unassigned"]);
    assert.match(cells[4], /^0 mins?$/);
    assert.equal(cells[5], "On track");
    await shot(page, "queue-live-referral-en");

    // An event about another clinic's change reloads too, and shows what the console returns.
    await page.evaluate(() =>
      window.__digimed.emitQueueChanged({
        kind: "update",
        consultation_id: 1,
        organization_id: 1,
        state: "ready_for_pickup",
        assigned_doctor_id: null,
        updated_at: new Date().toISOString(),
      }),
    );
    await page.waitForFunction((n) => window.__digimed.calls.filter((c) => c.cmd === "queue_list").length === n, before + 2);
  });

  test("in Norwegian, the queue shows bokmål labels and durations", async () => {
    await page.selectOption("#shell-language", "nb");
    await page.locator("#screen-title", { hasText: "Henvisningskø" }).waitFor();
    assert.equal(await page.locator(".screen-head .muted").textContent(), "7 åpne");
    const waiting = (await row("Jonas Myhre").locator("td").nth(4).textContent()).trim();
    assert.match(waiting, /^2 d(ager|\.)?,? 21 t/);
    await shot(page, "queue-secretary-nb");
  });
});
