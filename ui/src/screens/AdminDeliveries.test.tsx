import { render, screen } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type CrmSync } from "../bindings";
import { I18nProvider } from "../i18n";
import { CrmSyncs } from "./AdminDeliveries";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const sync = (id: number, over: Partial<CrmSync>): CrmSync => ({
  id,
  event_type: "referral.received",
  kind: "contact",
  state: "pending",
  attempts: 0,
  last_status: null,
  last_error: null,
  next_attempt_at: "2026-12-07T10:00:00Z",
  synced_at: null,
  hubspot_contact_id: null,
  hubspot_task_id: null,
  ...over,
});

function renderSyncs(locale: "en" | "nb") {
  render(
    <I18nProvider initial={locale}>
      <CrmSyncs />
    </I18nProvider>,
  );
}

describe("CrmSyncs", () => {
  beforeEach(() => mocks.crmSyncs.mockReset());

  it("shows each sync's kind, state and reason", async () => {
    mocks.crmSyncs.mockResolvedValue({
      status: "ok",
      data: [
        sync(2, { kind: "concierge_task", state: "failed", attempts: 1, last_status: 401, last_error: "HubSpot refused the access token (INVALID_AUTHENTICATION)" }),
        sync(1, { event_type: "patient.onboarded", state: "synced", attempts: 1, synced_at: "2026-12-07T10:01:00Z", hubspot_contact_id: "1001" }),
      ],
    });
    renderSyncs("en");
    await screen.findByText("Concierge task");
    expect(screen.getByText("Failed")).toBeTruthy();
    expect(screen.getByText("HubSpot refused the access token (INVALID_AUTHENTICATION)")).toBeTruthy();
    expect(screen.getByText("Synced")).toBeTruthy();
    expect(screen.getByText("patient.onboarded")).toBeTruthy();
  });

  it("says when nothing has been sent, in Norwegian too", async () => {
    mocks.crmSyncs.mockResolvedValue({ status: "ok", data: [] });
    renderSyncs("nb");
    expect(await screen.findByText(/Ingenting er sendt til et CRM/)).toBeTruthy();
  });
});
