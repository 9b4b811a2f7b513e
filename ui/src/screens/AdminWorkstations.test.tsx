import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type Enrollment } from "../bindings";
import { I18nProvider } from "../i18n";
import { Workstations } from "./AdminWorkstations";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const enrollment = (id: number, label: string, extra: Partial<Enrollment> = {}): Enrollment => ({
  id,
  label,
  role: "secretary",
  domains: ["contact"],
  created_by: "Ina It",
  created_at: `2026-12-0${id}T09:00:00Z`,
  used_at: null,
  used_by: null,
  revoked_at: null,
  revoked_by: null,
  keys_rotated_at: null,
  ...extra,
});

beforeEach(() => {
  mocks.workstationsList.mockReset().mockResolvedValue({
    status: "ok",
    data: [enrollment(2, "Reception 2", { used_at: "2026-12-02T10:00:00Z", used_by: "Randi Resepsjon" }), enrollment(1, "Old laptop")],
  });
  mocks.workstationRevoke.mockReset();
  mocks.workstationEnroll.mockReset();
});

function renderPanel(language: "en" | "nb" = "en") {
  render(
    <I18nProvider initial={language}>
      <Workstations />
    </I18nProvider>,
  );
}

describe("Workstations", () => {
  it("shows the passphrase once, with where the bundle was saved", async () => {
    mocks.workstationEnroll.mockResolvedValueOnce({
      status: "ok",
      data: { enrollment: enrollment(3, "Reception 3"), file: "/home/ina/Downloads/digimed-enrollment-3-reception-3.age", passphrase: "abcde-fghij-kmnpq-rstuv-wxyz2-34567" },
    });
    renderPanel();
    await screen.findByText("Randi Resepsjon");
    fireEvent.input(screen.getByLabelText("Workstation name"), { target: { value: "Reception 3" } });
    fireEvent.change(screen.getByLabelText("Role of the people who will use it"), { target: { value: "doctor" } });
    fireEvent.click(screen.getByRole("button", { name: "Create enrollment bundle" }));
    await screen.findByText("abcde-fghij-kmnpq-rstuv-wxyz2-34567");
    expect(mocks.workstationEnroll).toHaveBeenCalledWith("Reception 3", "doctor");
    expect(screen.getByText(/digimed-enrollment-3-reception-3\.age/)).toBeTruthy();
    expect(screen.getByText("Reception 3")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "I have read it out" }));
    expect(screen.queryByText("abcde-fghij-kmnpq-rstuv-wxyz2-34567")).toBeNull();
  });

  it("names a missing label under its field", async () => {
    mocks.workstationEnroll.mockResolvedValueOnce({
      status: "error",
      error: { code: "invalid_input", field: "label", message: "Name the workstation, such as \"Reception 2\"." },
    });
    renderPanel();
    fireEvent.click(await screen.findByRole("button", { name: "Create enrollment bundle" }));
    await screen.findByText("Name the workstation, such as \"Reception 2\".");
    expect(screen.getByLabelText("Workstation name").getAttribute("aria-invalid")).toBe("true");
  });

  it("revokes only after the dialog says what happens, and then says the keys are not rotated yet", async () => {
    mocks.workstationRevoke.mockResolvedValueOnce({
      status: "ok",
      data: enrollment(2, "Reception 2", { used_at: "2026-12-02T10:00:00Z", used_by: "Randi Resepsjon", revoked_at: "2026-12-05T10:00:00Z", revoked_by: "Ina It" }),
    });
    renderPanel();
    fireEvent.click(await screen.findByRole("button", { name: "Revoke Reception 2" }));
    const dialog = await screen.findByRole("dialog", { name: "Revoke Reception 2?" });
    expect(dialog.textContent).toContain("can no longer be used");
    expect(dialog.textContent).toContain("digimed workstation rotate");
    expect(mocks.workstationRevoke).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole("button", { name: "Revoke workstation" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(mocks.workstationRevoke).toHaveBeenCalledWith(2);
    expect(screen.getByText(/The data keys are not rotated yet\./)).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Revoke Reception 2" })).toBeNull();
  });

  it("speaks bokmål", async () => {
    renderPanel("nb");
    await screen.findByText("Randi Resepsjon");
    expect(screen.getByRole("heading", { name: "Arbeidsstasjoner" })).toBeTruthy();
    expect(screen.getByText("Ikke brukt ennå")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Trekk tilbake Reception 2" })).toBeTruthy();
  });
});
