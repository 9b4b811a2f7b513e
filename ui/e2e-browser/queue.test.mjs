// The secretary's consultation queue: order by waiting time, filters, keyboard navigation, deadline
// badges, and a referral's consultation arriving live, once the referral is booked, through a
// `queue-changed` event without any reload or polling (a referral that only arrives waits in the
// screening list, not here).

import assert from "node:assert/strict";
import { after, before, beforeEach, afterEach, describe, test } from "node:test";
import {
  attributeBecomes,
  bookReferral,
  calls,
  cliAs,
  countBecomes,
  eventually,
  launch,
  openConsole,
  receiveReferral,
  serveUi,
  shot,
  signIn,
  textBecomes,
} from "./support.mjs";

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
  // A secretary starts on the screening list; the queue is the next screen.
  await page.locator(".shell-nav .nav-item", { hasText: "Consultation queue" }).click();
  await page.locator("#screen-title", { hasText: "Consultation queue" }).waitFor();
  await rows.first().waitFor();
  // "Live updates on": the console follows the database's changes from here on.
  await page.locator(".live-dot").waitFor();
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
    await textBecomes(page.locator(".screen-head .muted"), "7 open");
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
    await attributeBecomes(page.locator("th[aria-sort]"), "aria-sort", "ascending");
    await page.selectOption("#queue-sort", "longest");
    await waitForPatients(LONGEST_FIRST);
    await attributeBecomes(page.locator("th[aria-sort]"), "aria-sort", "descending");
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
    // An empty list is also what shows while the queue is read again: wait for the answer.
    await textBecomes(page.locator("table[role=grid] tbody td.muted"), "No open consultations match these filters.");
  });

  test("moves through the rows with the arrow keys, Home and End, and opens one with Enter", async () => {
    const grid = page.locator("table[role=grid]");
    await grid.focus();
    // Waits until the row `expected` is the one selected, and the grid names it as its active descendant.
    const selects = (expected, message) =>
      eventually(async () => {
        const id = await grid.getAttribute("aria-activedescendant");
        const marked = await page.locator('tbody tr[aria-selected="true"] td:first-child').allTextContents();
        assert.equal(marked.length, 1, "exactly one row is selected");
        assert.ok(id, "the grid names its active row");
        assert.deepEqual(await page.locator(`#${id} td:first-child`).allTextContents(), marked);
        assert.equal(marked[0], expected, message);
      });
    await page.keyboard.press("ArrowDown");
    await selects(LONGEST_FIRST[0]);
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    await selects(LONGEST_FIRST[2]);
    await page.keyboard.press("ArrowUp");
    await selects(LONGEST_FIRST[1]);
    await page.keyboard.press("End");
    await selects(LONGEST_FIRST.at(-1));
    await page.keyboard.press("ArrowDown");
    await selects(LONGEST_FIRST.at(-1), "the last row stays selected");
    await page.keyboard.press("Home");
    await selects(LONGEST_FIRST[0]);
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await textBecomes(page.locator("#panel-title"), LONGEST_FIRST[1]);
    await page.locator(".side-panel .facts").waitFor();
    await shot(page, "queue-panel-en");
  });

  test("a referral booked after screening is shown at once through the console's event, without polling", async () => {
    // The console listens for the database's queue changes once signed in.
    await eventually(async () =>
      assert.ok(await page.evaluate(() => window.__digimed.calls.some((c) => c.cmd === "watch_queue" && c.answered)), "the queue is watched"),
    );
    const before = (await calls(page, "queue_list")).length;
    // Nothing is polled: without an event, the queue is not read again.
    await page.waitForTimeout(1500);
    assert.equal((await calls(page, "queue_list")).length, before, "the queue is not polled");

    // The partner's referral arrives (as the webhook would receive it): it waits for screening, so
    // the queue has nothing new. A secretary books it: its consultation comes into the queue. The
    // other tests' queue is left as it was by cancelling it at the end.
    const referral = receiveReferral("Line", "Danser");
    const id = bookReferral(referral);
    let cancelled = false;
    try {
      await row("Line Danser").waitFor({ timeout: 5000 });
      // The referral's arrival came first and changed no consultation: one reload, the booking's.
      assert.equal((await calls(page, "queue_list")).length, before + 1, "one booking, one reload");
      // It has waited least of all, so it comes last.
      await eventually(async () => assert.deepEqual(await patients(), [...LONGEST_FIRST, "Line Danser"]));
      await textBecomes(page.locator(".screen-head .muted"), "8 open");
      await eventually(async () => {
        const cells = (await row("Line Danser").locator("td").allTextContents()).map((s) => s.trim());
        assert.deepEqual(cells.slice(0, 4), ["Line Danser", "fjordtrygd", "Ready for pickup", "Unassigned"]);
        assert.match(cells[4], /^0 mins?$/);
        assert.equal(cells[5], "On track");
      });
      await shot(page, "queue-live-referral-en");

      // A change made in another session (a secretary cancels it) reloads too, and shows what
      // the console returns.
      cliAs("secretary", ["consultation", "cancel", String(id), "--reason", "Sent to us by mistake"]);
      cancelled = true;
      await page.waitForFunction((n) => window.__digimed.calls.filter((c) => c.cmd === "queue_list").length === n, before + 2);
      await countBecomes(row("Line Danser"), 0, "the cancelled consultation leaves the queue");
      await textBecomes(page.locator(".screen-head .muted"), "7 open");
    } finally {
      if (!cancelled) cliAs("secretary", ["consultation", "cancel", String(id), "--reason", "Sent to us by mistake"]);
    }
  });

  test("the panel shows the call log of the referral a consultation was booked from", async () => {
    await row("Ingrid Solberg").click();
    await textBecomes(page.locator("#panel-title"), "Ingrid Solberg");
    await textBecomes(page.locator(".side-panel .history li strong"), "Reached the patient");
    await textBecomes(page.locator(".side-panel .history li .muted"), /Sara Lie$/);
    assert.equal(await page.locator("#screen-outcome").count(), 0, "calls are recorded on the screening screen");
  });

  test("in Norwegian, the queue shows bokmål labels and durations", async () => {
    await page.selectOption("#shell-language", "nb");
    await page.locator("#screen-title", { hasText: "Konsultasjonskø" }).waitFor();
    await textBecomes(page.locator(".screen-head .muted"), "7 åpne");
    await textBecomes(row("Jonas Myhre").locator("td").nth(4), /^2 d(ager|\.)?,? 21 t/);
    await shot(page, "queue-secretary-nb");
  });
});
