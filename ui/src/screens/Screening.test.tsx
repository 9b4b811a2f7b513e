import { fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, events, type Consultation, type QueueEvent, type ReferralToScreen } from "../bindings";
import { I18nProvider } from "../i18n";
import { aPatientCard } from "../test-commands";
import { Screening } from "./Screening";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);
const listen = vi.mocked(events.queueChanged.listen);

const HOUR = 3_600_000;
const at = (hours: number) => new Date(Date.now() + hours * HOUR).toISOString();

function referral(id: number, over: Partial<ReferralToScreen>): ReferralToScreen {
  return {
    referral_id: id,
    patient_person_id: 100 + id,
    patient_name: `Patient ${id}`,
    partner_id: 1,
    partner_name: "fjordtrygd",
    received_at: at(-5),
    deadline_at: at(40),
    deadline_status: "on_track",
    call_attempts: 0,
    last_call_outcome: null,
    last_call_at: null,
    supervisor_staff_id: null,
    supervisor_name: null,
    ...over,
  };
}

// As the core orders them: the nearest deadline first.
const rows = [
  referral(1, { patient_name: "Astrid Holm", deadline_at: at(3), deadline_status: "near", call_attempts: 2, last_call_outcome: "voicemail", supervisor_name: "Sara Lie" }),
  referral(2, { patient_name: "Per Gundersen", call_attempts: 1, last_call_outcome: "no_answer" }),
  referral(3, { patient_name: "Silje Bakke" }),
];

function booked(over: Partial<Consultation>): Consultation {
  return {
    id: 55,
    state: "ready_for_pickup",
    patient_person_id: 102,
    organization_id: 1,
    partner_id: 1,
    referral_id: 2,
    follow_up_of: null,
    category: "insurance",
    assigned_doctor_id: null,
    primary_channel: "video",
    enabled_channels: ["video", "chat"],
    created_at: at(0),
    deadline_at: at(40),
    assigned_at: null,
    starts_at: null,
    ends_at: null,
    cancelled_at: null,
    cancel_reason: null,
    waiting_seconds: 0,
    treatment_seconds: null,
    deadline_status: "on_track",
    patient_name: "Per Gundersen",
    partner_name: "fjordtrygd",
    doctor_name: null,
    entry_point: null,
    ...over,
  };
}

/** Waits until the screen follows the database's changes (and has read the list once more). */
async function live() {
  await waitFor(() => expect(document.querySelector(".live-dot")).toBeTruthy());
}

function renderScreening() {
  render(
    <I18nProvider initial="en">
      <Screening />
    </I18nProvider>,
  );
}

function names() {
  const table = screen.getByRole("grid", { name: "Referrals awaiting screening" });
  return within(table)
    .getAllByRole("row")
    .slice(1)
    .map((r) => r.querySelector("td")?.textContent);
}

async function openPanel(name: string) {
  fireEvent.click(await screen.findByText(name));
  return screen.findByRole("heading", { name, level: 2 });
}

beforeEach(() => {
  for (const m of Object.values(mocks)) m.mockReset();
  mocks.screeningList.mockResolvedValue({ status: "ok", data: rows });
  mocks.doctors.mockResolvedValue({ status: "ok", data: [{ id: 9, name: "Dr. Dahl" }] });
  mocks.referralScreenings.mockResolvedValue({ status: "ok", data: [] });
  mocks.referralFields.mockResolvedValue({
    status: "ok",
    data: [
      { name: "JournalGuid", value: "240b54a7-8c2a-4c3c-80a4-0bc63e2c9493" },
      { name: "Urgency", value: '{"level":2}' },
    ],
  });
  listen.mockReset();
});

describe("Screening", () => {
  it("lists the referrals as the core orders them, with deadline, calls and supervisor", async () => {
    renderScreening();
    await waitFor(() => expect(names()).toEqual(["Astrid Holm", "Per Gundersen", "Silje Bakke"]));
    expect(screen.getByText("3 to screen")).toBeTruthy();
    const astrid = screen.getByText("Astrid Holm").closest("tr")!;
    expect(within(astrid).getByText("Deadline near")).toBeTruthy();
    expect(within(astrid).getByText("2, last: Left a voicemail")).toBeTruthy();
    expect(within(astrid).getByText("Sara Lie")).toBeTruthy();
    expect(within(screen.getByText("Silje Bakke").closest("tr")!).getByText("Not called yet")).toBeTruthy();
  });

  it("opens a referral from the keyboard, with its fields, its call log and the phone number to call", async () => {
    mocks.patientCard.mockResolvedValue({ status: "ok", data: aPatientCard({ person_id: 102, name: "Per Gundersen", contact: { ...aPatientCard().contact!, phone: "+4790011122" } }) });
    renderScreening();
    await screen.findByText("Astrid Holm");
    const grid = screen.getByRole("grid", { name: "Referrals awaiting screening" });
    fireEvent.keyDown(grid, { key: "ArrowDown" });
    fireEvent.keyDown(grid, { key: "ArrowDown" });
    fireEvent.keyDown(grid, { key: "Enter" });
    expect(await screen.findByRole("heading", { name: "Per Gundersen", level: 2 })).toBeTruthy();
    expect(mocks.referralFields).toHaveBeenCalledWith(2);
    expect(mocks.referralScreenings).toHaveBeenCalledWith(2);
    expect(await screen.findByText("Partner's reference")).toBeTruthy();
    expect(screen.getByText('{"level":2}')).toBeTruthy();
    // The number to call, read through the (audited) patient card, never revealing the national id.
    const phone = await screen.findByRole("link", { name: "+4790011122" });
    expect(phone.getAttribute("href")).toBe("tel:+4790011122");
    expect(mocks.patientCard).toHaveBeenCalledWith(102, false);
  });

  it("names a therapist's referral fields in the console's language", async () => {
    mocks.referralFields.mockResolvedValue({
      status: "ok",
      data: [
        { name: "therapist_reference", value: "TR-1001" },
        { name: "therapist_name", value: "Kari Terapeut" },
        { name: "reason", value: "Sleep problems for three months" },
      ],
    });
    renderScreening();
    await openPanel("Per Gundersen");
    const terms = async () => (await screen.findAllByRole("term")).map((dt) => dt.textContent);
    await waitFor(async () => expect(await terms()).toEqual(expect.arrayContaining(["Therapist's reference", "Therapist", "Reason for referral"])));
    expect(screen.getByText("Sleep problems for three months")).toBeTruthy();
    expect(screen.queryByText("therapist_name")).toBeNull();
  });

  it("records a call and reads the call log again", async () => {
    mocks.referralScreen.mockResolvedValue({
      status: "ok",
      data: { id: 1, referral_id: 2, consultation_id: null, staff_id: 4, staff_name: "Sara Lie", call_outcome: "no_answer", note: null, created_at: at(0) },
    });
    renderScreening();
    await openPanel("Per Gundersen");
    fireEvent.change(screen.getByLabelText("Call attempt"), { target: { value: "no_answer" } });
    fireEvent.click(screen.getByRole("button", { name: "Record" }));
    expect(await screen.findByText("Screening recorded.")).toBeTruthy();
    expect(mocks.referralScreen).toHaveBeenCalledWith(2, "no_answer", null);
    expect(mocks.referralScreenings).toHaveBeenCalledTimes(2);
  });

  it("books a referral with a doctor and says exactly what was saved", async () => {
    mocks.referralBook.mockResolvedValue({
      status: "ok",
      data: booked({ state: "pending_sp", assigned_doctor_id: 9, doctor_name: "Dr. Dahl" }),
    });
    renderScreening();
    await live();
    const reads = mocks.screeningList.mock.calls.length;
    await openPanel("Per Gundersen");
    fireEvent.click(screen.getByRole("button", { name: "Create booking" }));
    const dialog = screen.getByRole("dialog", { name: "Book a consultation for Per Gundersen" });
    fireEvent.change(within(dialog).getByLabelText("Doctor"), { target: { value: "9" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Book" }));
    expect(await screen.findByText("Booked: consultation 55 is assigned to Dr. Dahl.")).toBeTruthy();
    expect(mocks.referralBook).toHaveBeenCalledWith(2, { enabled_channels: ["video", "chat"], primary_channel: "video", doctor_id: 9 });
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(mocks.screeningList).toHaveBeenCalledTimes(reads + 1);
  });

  it("books into the doctors' queue, and shows a refusal in the dialog", async () => {
    mocks.referralBook
      .mockResolvedValueOnce({
        status: "error",
        error: { code: "already_exists", field: "referral_id", message: "This referral is already booked." },
      })
      .mockResolvedValueOnce({ status: "ok", data: booked({}) });
    renderScreening();
    await openPanel("Per Gundersen");
    fireEvent.click(screen.getByRole("button", { name: "Create booking" }));
    const dialog = screen.getByRole("dialog");
    fireEvent.click(within(dialog).getByRole("button", { name: "Book" }));
    expect(await within(dialog).findByText("This referral is already booked.")).toBeTruthy();
    fireEvent.click(within(dialog).getByRole("button", { name: "Book" }));
    expect(await screen.findByText("Booked: consultation 55 is in the doctors' queue.")).toBeTruthy();
  });

  it("declines only with a reason", async () => {
    mocks.referralDecline.mockResolvedValue({
      status: "ok",
      data: { referral_id: 2, declined_at: at(0), declined_by_staff_id: 4 },
    });
    renderScreening();
    await openPanel("Per Gundersen");
    fireEvent.click(screen.getByRole("button", { name: "Decline" }));
    const dialog = screen.getByRole("dialog", { name: "Decline the referral for Per Gundersen" });
    fireEvent.click(within(dialog).getByRole("button", { name: "Decline referral" }));
    expect(within(dialog).getByText("Give a reason for declining.")).toBeTruthy();
    expect(mocks.referralDecline).not.toHaveBeenCalled();
    fireEvent.input(within(dialog).getByLabelText("Reason"), { target: { value: "Could not be reached" } });
    fireEvent.click(within(dialog).getByRole("button", { name: "Decline referral" }));
    expect(await screen.findByText("Declined: referral #2 for Per Gundersen has left the screening list.")).toBeTruthy();
    expect(mocks.referralDecline).toHaveBeenCalledWith(2, "Could not be reached");
  });

  it("re-reads the list when a referral arrives or is decided, not when a consultation is picked", async () => {
    renderScreening();
    await screen.findByText("Astrid Holm");
    await live();
    const onChange = listen.mock.calls[0]![0] as (e: { payload: QueueEvent }) => void;
    const change = (over: Partial<QueueEvent>): { payload: QueueEvent } => ({
      payload: {
        kind: "referral",
        consultation_id: null,
        referral_id: 4,
        organization_id: 1,
        state: null,
        assigned_doctor_id: null,
        updated_at: null,
        ...over,
      },
    });
    const before = mocks.screeningList.mock.calls.length;
    onChange(change({ kind: "update", consultation_id: 8, referral_id: 1, state: "pending_sp" }));
    onChange(change({}));
    await waitFor(() => expect(mocks.screeningList.mock.calls.length).toBe(before + 1));
  });

  it("reads the list once more when it becomes live, so a referral that arrived meanwhile is shown", async () => {
    // The first read is answered before the referral of Line Danser arrives; the watcher starts after.
    mocks.screeningList
      .mockResolvedValueOnce({ status: "ok", data: rows })
      .mockResolvedValue({ status: "ok", data: [...rows, referral(4, { patient_name: "Line Danser" })] });
    renderScreening();
    await screen.findByText("Astrid Holm");
    await live();
    expect(await screen.findByText("Line Danser")).toBeTruthy();
    expect(mocks.screeningList).toHaveBeenCalledTimes(2);
  });
});
