import { fireEvent, render, screen } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type Consultation, type MeetingLinks } from "../bindings";
import { I18nProvider, type Language } from "../i18n";
import { MeetingRoom } from "./MeetingRoom";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const consultation: Consultation = {
  id: 8,
  state: "in_progress",
  patient_person_id: 8,
  organization_id: 1,
  partner_id: 1,
  referral_id: 8,
  follow_up_of: null,
  category: "insurance",
  assigned_doctor_id: 2,
  primary_channel: "video",
  enabled_channels: ["video", "chat"],
  created_at: "2026-12-08T08:00:00Z",
  deadline_at: "2026-12-10T08:00:00Z",
  assigned_at: "2026-12-08T08:30:00Z",
  starts_at: "2026-12-08T09:00:00Z",
  ends_at: null,
  cancelled_at: null,
  cancel_reason: null,
  waiting_seconds: 3600,
  treatment_seconds: null,
  deadline_status: "met",
  patient_name: "Jonas Myhre",
  partner_name: null,
  doctor_name: null,
  entry_point: null,
};

const jitsiLinks: MeetingLinks = {
  doctor_video_url: "https://meet.clinic.test/0123abcd?jwt=doctor-token",
  doctor_chat_url: "https://meet.clinic.test/0123abcd?jwt=doctor-token#config.startWithVideoMuted=true",
  patient_video_url: "https://meet.clinic.test/0123abcd?jwt=patient-token",
  patient_chat_url: "https://meet.clinic.test/0123abcd?jwt=patient-token#config.startWithVideoMuted=true",
  demo: false,
  patient_links_expire_at: "2026-12-10T14:00:00Z",
};

const demoLinks: MeetingLinks = {
  doctor_video_url: "https://meet.digimed.test/0123abcd",
  doctor_chat_url: "https://meet.digimed.test/0123abcd#config.startWithVideoMuted=true",
  patient_video_url: "https://meet.digimed.test/0123abcd",
  patient_chat_url: "https://meet.digimed.test/0123abcd#config.startWithVideoMuted=true",
  demo: true,
  patient_links_expire_at: "2026-12-10T14:00:00Z",
};

beforeEach(() => {
  for (const m of Object.values(mocks)) m.mockReset();
});

function renderRoom(props: { c?: Consultation; mine?: boolean; started?: MeetingLinks | null; locale?: Language }) {
  return render(
    <I18nProvider initial={props.locale ?? "en"}>
      <MeetingRoom consultation={props.c ?? consultation} mine={props.mine ?? true} started={props.started ?? null} />
    </I18nProvider>,
  );
}

describe("MeetingRoom", () => {
  it("joins through the console and shows only the patient's links, marked as the patient's", async () => {
    mocks.meetingJoin.mockResolvedValue({ status: "ok", data: null });
    renderRoom({ started: jitsiLinks });
    expect(screen.getByRole("heading", { name: "Meeting room" })).toBeTruthy();
    expect(screen.getByRole("heading", { name: "The patient's links" })).toBeTruthy();
    expect(screen.getByLabelText("Patient's video link").textContent).toBe(jitsiLinks.patient_video_url);
    expect(screen.getByLabelText("Patient's chat link").textContent).toBe(jitsiLinks.patient_chat_url);
    expect(screen.queryByText(/doctor-token/)).toBeNull();
    expect(screen.queryByText(/Demo link/)).toBeNull();
    const join = screen.getByRole("button", { name: "Join the meeting" });
    expect(join.className).toContain("button-primary");
    fireEvent.click(join);
    expect(await screen.findByText("Opened in your browser.")).toBeTruthy();
    expect(mocks.meetingJoin).toHaveBeenCalledWith(8);
    // Chat is the room's own chat, and the screen says so.
    expect(screen.getByText(/the meeting room's own chat/)).toBeTruthy();
  });

  it("labels demo links as demo links", () => {
    renderRoom({ started: demoLinks });
    expect(screen.getByText("Demo link — no meeting service is set up")).toBeTruthy();
    expect(screen.getAllByText("Demo link")).toHaveLength(2);
  });

  it("reads the links again when a consultation in progress is reopened", async () => {
    mocks.meetingLinks.mockResolvedValue({ status: "ok", data: jitsiLinks });
    renderRoom({});
    expect(await screen.findByText(jitsiLinks.patient_video_url)).toBeTruthy();
    expect(mocks.meetingLinks).toHaveBeenCalledWith(8);
  });

  it("reads no links of another doctor's consultation", () => {
    renderRoom({ mine: false });
    expect(mocks.meetingLinks).not.toHaveBeenCalled();
    expect(screen.queryByRole("button", { name: "Join the meeting" })).toBeNull();
  });

  it("shows a wrongly set-up meeting service before the start, naming the setting", async () => {
    mocks.meetingStatus.mockResolvedValue({
      status: "ok",
      data: {
        provider: null,
        demo: false,
        problem: { code: "configuration", message: "DIGIMED_JITSI_SECRET is not set.", field: "DIGIMED_JITSI_SECRET" },
      },
    });
    renderRoom({ c: { ...consultation, state: "pending_sp", starts_at: null } });
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("DIGIMED_JITSI_SECRET");
    expect(alert.textContent).toContain("consultations cannot be started");
  });

  it("speaks bokmål", async () => {
    mocks.meetingJoin.mockResolvedValue({ status: "ok", data: null });
    renderRoom({ started: demoLinks, locale: "nb" });
    expect(screen.getByRole("heading", { name: "Møterom" })).toBeTruthy();
    expect(screen.getByText("Demolenke — ingen møtetjeneste er satt opp")).toBeTruthy();
    expect(screen.getByRole("heading", { name: "Pasientens lenker" })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Bli med i møtet" }));
    expect(await screen.findByText("Åpnet i nettleseren din.")).toBeTruthy();
  });
});
