import { fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, events, type Consultation, type QueueEvent } from "../bindings";
import { I18nProvider } from "../i18n";
import { sortByWaiting } from "../queue/live";
import { QUEUE_PAGE, Queue } from "./Queue";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);
const listen = vi.mocked(events.queueChanged.listen);

const MINUTE = 60_000;

function consultation(id: number, over: Partial<Consultation>): Consultation {
  return {
    id,
    state: "ready_for_pickup",
    patient_person_id: 100 + id,
    organization_id: 1,
    partner_id: 1,
    referral_id: id,
    follow_up_of: null,
    category: "insurance",
    assigned_doctor_id: null,
    primary_channel: "video",
    enabled_channels: ["video", "chat"],
    created_at: new Date(Date.now() - 10 * MINUTE).toISOString(),
    deadline_at: null,
    assigned_at: null,
    starts_at: null,
    ends_at: null,
    cancelled_at: null,
    cancel_reason: null,
    waiting_seconds: 0,
    treatment_seconds: null,
    deadline_status: "on_track",
    patient_name: `Patient ${id}`,
    partner_name: "Pridok",
    doctor_name: null,
    entry_point: null,
    ...over,
  };
}

const ago = (minutes: number) => new Date(Date.now() - minutes * MINUTE).toISOString();

// Listed out of order on purpose: the screen orders by waiting time itself.
const rows = [
  consultation(1, { patient_name: "Short Wait", created_at: ago(5) }),
  consultation(2, { patient_name: "Long Wait", created_at: ago(3000), deadline_status: "breached" }),
  consultation(3, { patient_name: "Middle Wait", created_at: ago(600), deadline_status: "near" }),
];

function renderQueue() {
  render(
    <I18nProvider initial="en">
      <Queue />
    </I18nProvider>,
  );
}

function bodyNames() {
  const table = screen.getByRole("grid", { name: "Open consultations" });
  return within(table)
    .getAllByRole("row")
    .slice(1)
    .map((r) => r.querySelector("td")?.textContent);
}

beforeEach(() => {
  for (const m of Object.values(mocks)) m.mockReset();
  mocks.queueList.mockResolvedValue({ status: "ok", data: rows });
  mocks.doctors.mockResolvedValue({ status: "ok", data: [{ id: 9, name: "Dr. Dahl" }] });
  mocks.screenings.mockResolvedValue({ status: "ok", data: [] });
  listen.mockReset();
});

describe("sortByWaiting", () => {
  it("puts the longest waiting first, or last when asked", () => {
    const now = Date.now();
    expect(sortByWaiting(rows, now, "longest").map((c) => c.id)).toEqual([2, 3, 1]);
    expect(sortByWaiting(rows, now, "shortest").map((c) => c.id)).toEqual([1, 3, 2]);
  });

  it("uses the recorded waiting time once a consultation has started", () => {
    const now = Date.now();
    const started = consultation(4, { created_at: ago(10_000), starts_at: ago(9_999), waiting_seconds: 60 });
    expect(sortByWaiting([started, rows[0]!], now, "longest").map((c) => c.id)).toEqual([1, 4]);
    expect(sortByWaiting([started, rows[2]!], now, "longest").map((c) => c.id)).toEqual([3, 4]);
  });
});

describe("Queue", () => {
  it("shows the longest waiting page first and more on request", async () => {
    const many = Array.from({ length: QUEUE_PAGE }, (_, i) => consultation(100 + i, { patient_name: `Patient ${i}`, created_at: ago(10_000 - i) }));
    mocks.queueList.mockResolvedValue({ status: "ok", data: many });
    renderQueue();
    expect(await screen.findByText(`the ${QUEUE_PAGE} waiting longest`)).toBeTruthy();
    expect(mocks.queueList).toHaveBeenLastCalledWith(expect.objectContaining({ limit: QUEUE_PAGE, sort: "waiting_longest" }));
    fireEvent.click(screen.getByRole("button", { name: `Show ${QUEUE_PAGE} more` }));
    await waitFor(() => expect(mocks.queueList).toHaveBeenLastCalledWith(expect.objectContaining({ limit: 2 * QUEUE_PAGE })));
  });

  it("lists the longest waiting first and switches order", async () => {
    renderQueue();
    await waitFor(() => expect(bodyNames()).toEqual(["Long Wait", "Middle Wait", "Short Wait"]));
    fireEvent.change(screen.getByLabelText("Sort"), { target: { value: "shortest" } });
    await waitFor(() => expect(bodyNames()).toEqual(["Short Wait", "Middle Wait", "Long Wait"]));
    // The database orders the whole queue, so the page asked for is the shortest waiting one.
    expect(mocks.queueList).toHaveBeenLastCalledWith(expect.objectContaining({ sort: "waiting_shortest" }));
  });

  it("warns on a consultation in progress whose join link did not reach the patient", async () => {
    const started = consultation(4, { patient_name: "Link Failed", state: "in_progress", assigned_doctor_id: 9, starts_at: ago(2) });
    mocks.queueList.mockResolvedValue({ status: "ok", data: [...rows, started] });
    mocks.joinLinkWarnings.mockResolvedValue({
      status: "ok",
      data: [{ consultation_id: 4, state: "failed", reason: "The SMS provider refused the message (HTTP 400, error 21211)." }],
    });
    renderQueue();
    const row = (await screen.findByText("Link Failed")).closest("tr")!;
    const warning = await within(row).findByText("The join link did not reach the patient");
    expect(warning.getAttribute("title")).toBe("The SMS provider refused the message (HTTP 400, error 21211).");
    expect(mocks.joinLinkWarnings).toHaveBeenCalledWith([4]);
    const other = screen.getByText("Short Wait").closest("tr")!;
    expect(within(other).queryByText("The join link did not reach the patient")).toBeNull();
  });

  it("shows the waiting clock and the near and breached deadline badges", async () => {
    renderQueue();
    const longRow = (await screen.findByText("Long Wait")).closest("tr")!;
    expect(within(longRow).getByText("Deadline breached")).toBeTruthy();
    expect(within(longRow).getByText("2 days, 2 hrs")).toBeTruthy();
    const middleRow = screen.getByText("Middle Wait").closest("tr")!;
    expect(within(middleRow).getByText("Deadline near")).toBeTruthy();
    expect(within(middleRow).getByText("10 hrs")).toBeTruthy();
  });

  it("moves the selection with the arrow keys and opens it with Enter", async () => {
    renderQueue();
    await screen.findByText("Long Wait");
    const table = screen.getByRole("grid", { name: "Open consultations" });
    fireEvent.keyDown(table, { key: "ArrowDown" });
    fireEvent.keyDown(table, { key: "ArrowDown" });
    expect(screen.getByText("Middle Wait").closest("tr")!.getAttribute("aria-selected")).toBe("true");
    fireEvent.keyDown(table, { key: "Enter" });
    expect(await screen.findByRole("heading", { name: "Middle Wait" })).toBeTruthy();
    expect(mocks.screenings).toHaveBeenCalledWith(3);
  });

  it("says in the side panel how the patient came to the clinic", async () => {
    mocks.queueList.mockResolvedValue({
      status: "ok",
      data: [consultation(4, { patient_name: "Came By Phone", entry_point: "cold_call", partner_id: null, partner_name: null }), ...rows],
    });
    renderQueue();
    fireEvent.click(await screen.findByText("Came By Phone"));
    const panel = await screen.findByRole("complementary", { name: "Came By Phone" });
    expect(within(panel).getByText("Came through").nextElementSibling?.textContent).toBe("Called the clinic");
    fireEvent.click(within(panel).getByRole("button", { name: "Close" }));
    fireEvent.click(screen.getByText("Short Wait"));
    const other = await screen.findByRole("complementary", { name: "Short Wait" });
    // A consultation whose patient has no link to the clinic (not expected, but possible) says so.
    expect(within(other).getByText("Came through").nextElementSibling?.textContent).toBe("—");
  });

  it("asks for a reason before cancelling", async () => {
    renderQueue();
    fireEvent.click(await screen.findByText("Short Wait"));
    fireEvent.click(screen.getByRole("button", { name: "Cancel consultation" }));
    const dialog = screen.getByRole("dialog");
    fireEvent.click(within(dialog).getByRole("button", { name: "Cancel consultation" }));
    expect(within(dialog).getByText("Give a reason for cancelling.")).toBeTruthy();
  });

  it("re-reads the queue when a consultation changes, not when a referral waiting for screening does", async () => {
    renderQueue();
    await screen.findByText("Long Wait");
    // Live: the watcher and the listener are up, and the queue was read once more.
    await waitFor(() => expect(document.querySelector(".live-dot")).toBeTruthy());
    expect(listen).toHaveBeenCalled();
    const onChange = listen.mock.calls[0]![0] as (e: { payload: QueueEvent }) => void;
    const change = (over: Partial<QueueEvent>): { payload: QueueEvent } => ({
      payload: {
        kind: "insert",
        consultation_id: null,
        referral_id: null,
        organization_id: 1,
        state: null,
        assigned_doctor_id: null,
        updated_at: null,
        ...over,
      },
    });
    const before = mocks.queueList.mock.calls.length;
    onChange(change({ kind: "referral", referral_id: 7 }));
    onChange(change({ kind: "insert", consultation_id: 8, referral_id: 7, state: "ready_for_pickup" }));
    await waitFor(() => expect(mocks.queueList.mock.calls.length).toBe(before + 1));
  });

  it("shows the call log of the referral a consultation was booked from, without a form", async () => {
    mocks.screenings.mockResolvedValue({
      status: "ok",
      data: [
        {
          id: 1,
          referral_id: 3,
          consultation_id: null,
          staff_id: 4,
          staff_name: "Sara Lie",
          call_outcome: "reached",
          note: "Prefers video",
          created_at: ago(30),
        },
      ],
    });
    renderQueue();
    fireEvent.click(await screen.findByText("Middle Wait"));
    expect(await screen.findByText("Prefers video")).toBeTruthy();
    expect(screen.getByText("Reached the patient")).toBeTruthy();
    expect(screen.queryByLabelText("Call attempt")).toBeNull();
  });
});
