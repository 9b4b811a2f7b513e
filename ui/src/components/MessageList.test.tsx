import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type PatientMessage } from "../bindings";
import { I18nProvider } from "../i18n";
import { MessageList } from "./MessageList";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const sent: PatientMessage = {
  id: 3,
  patient_person_id: 7,
  consultation_id: 42,
  kind: "join_link",
  purpose: "service",
  channel: "sms",
  language: "nb",
  state: "sent",
  reason: null,
  provider_id: "SM0123456789abcdef",
  attempts: 2,
  created_at: "2026-12-08T09:00:00Z",
  updated_at: "2026-12-08T09:00:05Z",
  sent_at: "2026-12-08T09:00:05Z",
};
const failed: PatientMessage = {
  ...sent,
  id: 4,
  channel: "email",
  state: "failed",
  provider_id: null,
  reason: "The mail server refused the message (550).",
  sent_at: null,
  attempts: 1,
};
const held: PatientMessage = {
  ...sent,
  id: 5,
  kind: "thank_you",
  channel: "email",
  state: "queued",
  provider_id: null,
  reason: "Not sent: e-mail is not configured (DIGIMED_SMTP_URL is not set).",
  sent_at: null,
  attempts: 0,
};
const suppressed: PatientMessage = {
  ...sent,
  id: 6,
  kind: "welcome",
  purpose: "marketing",
  channel: "email",
  state: "suppressed",
  provider_id: null,
  reason: "The patient came through an insurer partner: no marketing is sent to them.",
  sent_at: null,
  attempts: 0,
};

function renderList(props: { consultationId?: number; patientPersonId?: number; canResend?: boolean }, locale: "en" | "nb" = "en") {
  render(
    <I18nProvider initial={locale}>
      <MessageList {...props} />
    </I18nProvider>,
  );
}

describe("MessageList", () => {
  beforeEach(() => {
    for (const m of Object.values(mocks)) m.mockReset();
  });

  it("lists each message with its state and the provider's id or the reason, never its text", async () => {
    mocks.messagesList.mockResolvedValue({ status: "ok", data: [sent, failed, suppressed] });
    renderList({ patientPersonId: 7 });
    expect(await screen.findByText("SM0123456789abcdef")).toBeTruthy();
    expect(mocks.messagesList).toHaveBeenCalledWith(7, null);
    expect(screen.getAllByText("Join link")).toHaveLength(2);
    expect(screen.getByText("Sent")).toBeTruthy();
    expect(screen.getByText("Failed")).toBeTruthy();
    expect(screen.getByText("The mail server refused the message (550).")).toBeTruthy();
    expect(screen.getByText("Not sent (suppressed)")).toBeTruthy();
    expect(screen.getByText(/came through an insurer partner/)).toBeTruthy();
    expect(screen.getByText(/2 attempts/)).toBeTruthy();
    expect(screen.queryByText(/nothing is being sent/i)).toBeNull();
    expect(screen.queryByRole("button", { name: "Resend link" })).toBeNull();
  });

  it("says plainly that nothing is sent when the message service holds messages back", async () => {
    mocks.messagesList.mockResolvedValue({ status: "ok", data: [held] });
    renderList({ consultationId: 42 }, "nb");
    expect(await screen.findByText(/Meldinger til pasienter blir ikke sendt: e-mail is not configured/)).toBeTruthy();
    expect(screen.getByText("I kø")).toBeTruthy();
    expect(mocks.messagesList).toHaveBeenCalledWith(null, 42);
  });

  it("resends the join link and reads the list again", async () => {
    mocks.messagesList.mockResolvedValueOnce({ status: "ok", data: [failed] });
    mocks.messagesList.mockResolvedValue({ status: "ok", data: [{ ...sent, id: 9, state: "queued", provider_id: null, reason: null }, failed] });
    mocks.messageResendJoinLink.mockResolvedValue({ status: "ok", data: { ...sent, id: 9, state: "queued", provider_id: null } });
    renderList({ consultationId: 42, canResend: true });
    await screen.findByText("Failed");
    fireEvent.click(screen.getByRole("button", { name: "Resend link" }));
    await waitFor(() => expect(mocks.messageResendJoinLink).toHaveBeenCalledWith(42));
    expect(await screen.findByText("The join link is queued again.")).toBeTruthy();
    expect(await screen.findByText("Not sent yet: waiting for the message service.")).toBeTruthy();
  });

  it("shows a refusal to resend", async () => {
    mocks.messagesList.mockResolvedValue({ status: "ok", data: [] });
    mocks.messageResendJoinLink.mockResolvedValue({
      status: "error",
      error: { code: "invalid_state_transition", message: "The join link is sent while the consultation is in progress; this one is not." },
    });
    renderList({ consultationId: 42, canResend: true });
    expect(await screen.findByText("No messages.")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Resend link" }));
    expect(await screen.findByRole("alert")).toBeTruthy();
  });
});
