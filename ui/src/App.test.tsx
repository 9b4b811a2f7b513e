import { fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type AppStatus, type StaffSession } from "./bindings";
import { App } from "./App";
import { I18nProvider } from "./i18n";

vi.mock("./bindings", () => import("./test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const status: AppStatus = { default_server: "postgres://db/clinic", demo: false, clerk: "configured", version: "0.1.0" };
const support: StaffSession = {
  staff_id: 3,
  login: "ola",
  name: "Ola Hansen",
  email: "ola@example.test",
  role: "customer_support",
  organization_id: 1,
};

beforeEach(() => {
  mocks.appStatus.mockResolvedValue(status);
  mocks.rememberedPassword.mockResolvedValue({ status: "ok", data: false });
  mocks.accountDirectory.mockResolvedValue({ status: "ok", data: "clerk" });
  mocks.matchCandidates.mockResolvedValue({ status: "ok", data: [] });
  mocks.consentStatus.mockResolvedValue({
    status: "ok",
    data: { organization_id: 1, generated_at: "2026-11-22T10:00:00Z", patients_waiting: [], by_form: [] },
  });
  mocks.signIn.mockResolvedValue({ status: "ok", data: support });
  mocks.signOut.mockResolvedValue({ status: "ok", data: null });
});

describe("App", () => {
  it("shows the signed-in staff member, only their role's screens, and signs out", async () => {
    render(
      <I18nProvider initial="en">
        <App />
      </I18nProvider>,
    );
    fireEvent.input(await screen.findByLabelText("Username"), { target: { value: "ola" } });
    fireEvent.input(screen.getByLabelText("Password"), { target: { value: "pw" } });
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByText("Ola Hansen")).toBeTruthy();
    expect(screen.getByText("Support agent")).toBeTruthy();
    const nav = screen.getByRole("navigation", { name: "Screens" });
    expect(within(nav).getAllByRole("button").map((b) => b.textContent)).toEqual([
      "Onboard patient",
      "Fax inbox",
      "Leads",
      "Consent status",
    ]);
    expect(screen.getByRole("heading", { level: 1, name: "Onboard patient" })).toBeTruthy();
    // No notices when Clerk is configured and the data is real.
    expect(screen.queryByText(/Clerk is not configured/)).toBeNull();

    fireEvent.click(within(nav).getByRole("button", { name: "Consent status" }));
    expect(screen.getByRole("heading", { level: 1, name: "Consent status" })).toBeTruthy();

    fireEvent.click(screen.getByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(screen.getByRole("button", { name: "Sign in" })).toBeTruthy());
    expect(mocks.signOut).toHaveBeenCalledTimes(1);
  });
});
