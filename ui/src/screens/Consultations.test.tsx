import { fireEvent, render, screen } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, events, type Consultation, type StaffSession } from "../bindings";
import { I18nProvider } from "../i18n";
import { Consultations } from "./Consultations";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);
const listen = vi.mocked(events.queueChanged.listen);

const doctor: StaffSession = {
  staff_id: 2,
  login: "anders",
  name: "Dr. Anders Moe",
  email: "anders@example.test",
  role: "doctor",
  organization_id: 1,
};

const picked: Consultation = {
  id: 8,
  state: "pending_sp",
  patient_person_id: 8,
  organization_id: 1,
  partner_id: 1,
  referral_id: 8,
  follow_up_of: null,
  category: "insurance",
  assigned_doctor_id: 2,
  primary_channel: "video",
  enabled_channels: ["video", "chat"],
  created_at: new Date(Date.now() - 3_600_000).toISOString(),
  deadline_at: null,
  assigned_at: new Date().toISOString(),
  starts_at: null,
  ends_at: null,
  cancelled_at: null,
  cancel_reason: null,
  waiting_seconds: 3600,
  treatment_seconds: null,
  deadline_status: "on_track",
  patient_name: "Jonas Myhre",
  partner_name: "fjordtrygd",
  doctor_name: "Dr. Anders Moe",
  entry_point: null,
};

beforeEach(() => {
  for (const m of Object.values(mocks)) m.mockReset();
  mocks.queueList.mockResolvedValue({ status: "ok", data: [] });
  listen.mockReset();
});

function renderScreen() {
  render(
    <I18nProvider initial="en">
      <Consultations session={doctor} />
    </I18nProvider>,
  );
}

describe("Consultations", () => {
  it("says so when there is nothing to pick", async () => {
    mocks.pickNext.mockResolvedValue({ status: "ok", data: null });
    renderScreen();
    fireEvent.click(screen.getByRole("button", { name: "Pick next" }));
    expect(await screen.findByText("No consultation is waiting for pickup.")).toBeTruthy();
  });

  it("opens the picked consultation, starts it and shows Join, the patient's links and the result form", async () => {
    mocks.pickNext.mockResolvedValue({ status: "ok", data: picked });
    mocks.consultationGet.mockResolvedValue({ status: "ok", data: picked });
    mocks.start.mockResolvedValue({
      status: "ok",
      data: {
        // State changes come back without the display names.
        consultation: { ...picked, state: "in_progress", starts_at: new Date().toISOString(), patient_name: null, partner_name: null, doctor_name: null },
        doctor_video_url: "https://meet.example.test/abc?jwt=doctor",
        doctor_chat_url: "https://meet.example.test/abc?jwt=doctor#config.startWithVideoMuted=true",
        patient_video_url: "https://meet.example.test/abc?jwt=patient",
        patient_chat_url: "https://meet.example.test/abc?jwt=patient#config.startWithVideoMuted=true",
        demo: false,
        patient_links_expire_at: "2026-12-08T18:00:00Z",
      },
    });
    renderScreen();
    fireEvent.click(screen.getByRole("button", { name: "Pick next" }));
    expect(await screen.findByRole("heading", { name: "Jonas Myhre", level: 1 })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Start consultation" }));
    expect(await screen.findByText("https://meet.example.test/abc?jwt=patient")).toBeTruthy();
    // The doctor joins through the console; their own link is never shown.
    expect(screen.getByRole("button", { name: "Join the meeting" })).toBeTruthy();
    expect(screen.queryByText(/jwt=doctor/)).toBeNull();
    expect(screen.getByRole("heading", { name: "Jonas Myhre", level: 1 })).toBeTruthy();
    expect(screen.getByLabelText("ICPC-2 code")).toBeTruthy();
    expect(mocks.start).toHaveBeenCalledWith(8);
    // The link is queued as a message; the screen does not claim it was sent.
    expect(screen.getByText(/The patient's link is queued as a message/)).toBeTruthy();
  });

  it("lists the consultations waiting for a doctor and picks the one chosen", async () => {
    const waiting: Consultation = { ...picked, id: 9, state: "ready_for_pickup", assigned_doctor_id: null, assigned_at: null, patient_name: "Line Danser", doctor_name: null };
    mocks.queueList.mockImplementation((filter) =>
      Promise.resolve({ status: "ok", data: filter.unassigned_only ? [waiting] : [] }),
    );
    mocks.pick.mockResolvedValue({ status: "ok", data: { ...waiting, state: "pending_sp", assigned_doctor_id: 2 } });
    mocks.consultationGet.mockResolvedValue({ status: "ok", data: { ...waiting, state: "pending_sp", assigned_doctor_id: 2 } });
    renderScreen();
    expect(await screen.findByRole("heading", { name: "Waiting for a doctor (1)" })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Pick the consultation of Line Danser" }));
    expect(await screen.findByRole("heading", { name: "Line Danser", level: 1 })).toBeTruthy();
    expect(mocks.pick).toHaveBeenCalledWith(9);
    expect(mocks.pickNext).not.toHaveBeenCalled();
  });

  it("shows why a chosen consultation could not be picked, and reads the waiting list again", async () => {
    mocks.queueList.mockImplementation((filter) =>
      Promise.resolve({ status: "ok", data: filter.unassigned_only ? [{ ...picked, id: 9, state: "ready_for_pickup", assigned_doctor_id: null }] : [] }),
    );
    mocks.pick.mockResolvedValue({ status: "error", error: { code: "invalid_state_transition", message: "The consultation is no longer waiting for pickup.", field: null } });
    renderScreen();
    fireEvent.click(await screen.findByRole("button", { name: "Pick the consultation of Jonas Myhre" }));
    expect(await screen.findByRole("alert")).toBeTruthy();
    expect(mocks.queueList.mock.calls.filter(([f]) => f.unassigned_only).length).toBeGreaterThanOrEqual(2);
    expect(screen.getByRole("heading", { name: "My consultations", level: 1 })).toBeTruthy();
  });
});
