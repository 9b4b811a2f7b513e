import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type StaffMember } from "../bindings";
import { I18nProvider } from "../i18n";
import { StaffList } from "./AdminStaff";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const member = (id: number, name: string, role: StaffMember["role"], active = true): StaffMember => ({
  id,
  login: `${name.toLowerCase().replace(/\W+/g, ".")}@demo.digimed.test`,
  email: `${name.toLowerCase().replace(/\W+/g, ".")}@demo.digimed.test`,
  name,
  role,
  organization_id: 1,
  active,
});
const STAFF = [member(1, "Sara Lie", "secretary"), member(2, "Anders Moe", "doctor", false), member(5, "Hanne Strand", "admin")];

beforeEach(() => {
  mocks.staffList.mockReset().mockResolvedValue({ status: "ok", data: STAFF });
  mocks.staffSetActive.mockReset();
});

function renderList() {
  render(
    <I18nProvider initial="en">
      <StaffList me={5} />
    </I18nProvider>,
  );
}

describe("StaffList", () => {
  it("offers no button for the signed-in admin, and names whom each button changes", async () => {
    renderList();
    await screen.findByText("Hanne Strand");
    expect(screen.getByRole("button", { name: "Deactivate Sara Lie" })).toBeTruthy();
    expect(screen.getByRole("button", { name: "Reactivate Anders Moe" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: /Hanne Strand/ })).toBeNull();
  });

  it("shows the change, and the backend's refusal as an alert", async () => {
    mocks.staffSetActive
      .mockResolvedValueOnce({ status: "ok", data: { ...STAFF[0]!, active: false } })
      .mockResolvedValueOnce({ status: "error", error: { code: "forbidden", message: "Only administrators may deactivate or reactivate staff, and only their own clinic's." } });
    renderList();
    fireEvent.click(await screen.findByRole("button", { name: "Deactivate Sara Lie" }));
    await screen.findByRole("button", { name: "Reactivate Sara Lie" });
    expect(mocks.staffSetActive).toHaveBeenCalledWith(1, false);
    expect(screen.getByRole("status").textContent).toBe("Sara Lie is deactivated and can no longer sign in.");
    fireEvent.click(screen.getByRole("button", { name: "Reactivate Anders Moe" }));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("Only administrators"));
    expect(mocks.staffSetActive).toHaveBeenLastCalledWith(2, true);
  });
});
