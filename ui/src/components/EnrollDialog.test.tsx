import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands } from "../bindings";
import { I18nProvider } from "../i18n";
import { EnrollDialog } from "./EnrollDialog";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const PREVIEW = {
  enrollment_id: 7,
  label: "Reception 2",
  server: "postgres://db.clinic.example:5432/digimed",
  role: "secretary" as const,
  domains: ["contact"],
  has_ca: true,
};
const SESSION = { staff_id: 4, login: "randi@clinic.example", name: "Randi Resepsjon", email: "randi@clinic.example", role: "secretary" as const, organization_id: 1 };

beforeEach(() => {
  mocks.enrollmentOpen.mockReset();
  mocks.enrollmentComplete.mockReset();
});

function renderDialog(language: "en" | "nb" = "en") {
  const onEnrolled = vi.fn();
  render(
    <I18nProvider initial={language}>
      <EnrollDialog onClose={() => {}} onEnrolled={onEnrolled} />
    </I18nProvider>,
  );
  return onEnrolled;
}

async function chooseBundle(text = "-----BEGIN AGE ENCRYPTED FILE-----\n...") {
  const file = new File([text], "digimed-enrollment-7-reception-2.age", { type: "text/plain" });
  fireEvent.change(screen.getByLabelText("Enrollment bundle"), { target: { files: [file] } });
  await screen.findByText("digimed-enrollment-7-reception-2.age");
}

describe("EnrollDialog", () => {
  it("opens the bundle, shows its server and role, then signs in", async () => {
    mocks.enrollmentOpen.mockResolvedValueOnce({ status: "ok", data: PREVIEW });
    mocks.enrollmentComplete.mockResolvedValueOnce({ status: "ok", data: SESSION });
    const onEnrolled = renderDialog();
    await chooseBundle();
    fireEvent.input(screen.getByLabelText("Passphrase"), { target: { value: "abcde-fghij-kmnpq-rstuv-wxyz2-34567" } });
    fireEvent.click(screen.getByRole("button", { name: "Open bundle" }));
    await screen.findByText("postgres://db.clinic.example:5432/digimed");
    await waitFor(() => expect(mocks.enrollmentOpen).toHaveBeenCalled());
    expect(mocks.enrollmentOpen.mock.calls[0]![1]).toBe("abcde-fghij-kmnpq-rstuv-wxyz2-34567");
    expect(screen.getByText("Secretary")).toBeTruthy();
    fireEvent.input(screen.getByLabelText("Username"), { target: { value: "randi@clinic.example" } });
    fireEvent.input(screen.getByLabelText("Password"), { target: { value: "her own password" } });
    fireEvent.click(screen.getByRole("button", { name: "Enroll and sign in" }));
    await waitFor(() => expect(onEnrolled).toHaveBeenCalledWith(SESSION));
    expect(mocks.enrollmentComplete).toHaveBeenCalledWith("randi@clinic.example", "her own password");
  });

  it("says a wrong passphrase in the chosen language, under the field", async () => {
    mocks.enrollmentOpen.mockResolvedValueOnce({
      status: "error",
      error: { code: "wrong_passphrase", field: "passphrase", message: "The passphrase does not open this bundle; check it and try again." },
    });
    renderDialog("nb");
    const file = new File(["x"], "pakke.age", { type: "text/plain" });
    fireEvent.change(screen.getByLabelText("Innrulleringspakke"), { target: { files: [file] } });
    await screen.findByText("pakke.age");
    fireEvent.click(screen.getByRole("button", { name: "Åpne pakken" }));
    await screen.findByText(/Passordfrasen åpner ikke denne pakken/);
    expect(screen.getByLabelText("Passordfrase").getAttribute("aria-invalid")).toBe("true");
  });

  it("goes back to choosing a bundle when the enrollment was used already", async () => {
    mocks.enrollmentOpen.mockResolvedValueOnce({ status: "ok", data: PREVIEW });
    mocks.enrollmentComplete.mockResolvedValueOnce({
      status: "error",
      error: { code: "enrollment_used", field: "bundle", message: "This enrollment bundle has already been used." },
    });
    renderDialog();
    await chooseBundle();
    fireEvent.click(screen.getByRole("button", { name: "Open bundle" }));
    fireEvent.click(await screen.findByRole("button", { name: "Enroll and sign in" }));
    await screen.findByText(/already been used on a workstation/);
    expect(screen.getByLabelText("Enrollment bundle")).toBeTruthy();
  });

  it("asks for the file before opening", async () => {
    renderDialog();
    fireEvent.click(screen.getByRole("button", { name: "Open bundle" }));
    await screen.findByText("Choose the bundle file first.");
    expect(mocks.enrollmentOpen).not.toHaveBeenCalled();
  });
});
