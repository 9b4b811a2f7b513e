import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands } from "../bindings";
import { I18nProvider } from "../i18n";
import { ResultForm } from "./ResultForm";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const CODES = [
  { code: "R74", title: "Upper respiratory infection acute", chapter: "R", component: "diagnosis" },
  { code: "R75", title: "Sinusitis acute/chronic", chapter: "R", component: "diagnosis" },
  { code: "R76", title: "Tonsillitis acute", chapter: "R", component: "diagnosis" },
];

function renderForm(onCompleted = vi.fn()) {
  render(
    <I18nProvider initial="en">
      <ResultForm consultationId={42} onCompleted={onCompleted} />
    </I18nProvider>,
  );
  return onCompleted;
}

function typeCode(text: string) {
  fireEvent.input(screen.getByLabelText("ICPC-2 code"), { target: { value: text } });
}

beforeEach(() => {
  mocks.icpc2Search.mockReset();
  mocks.completeWithResult.mockReset();
  mocks.icpc2Search.mockResolvedValue({ status: "ok", data: CODES });
});

describe("ICPC-2 type-ahead", () => {
  it("searches once typing pauses, and picks a code with the arrow keys and Enter", async () => {
    renderForm();
    typeCode("r");
    typeCode("re");
    typeCode("resp");
    const list = await screen.findByRole("listbox", { name: "ICPC-2 suggestions" });
    // Only the last text is searched: the earlier keystrokes were within the debounce.
    expect(mocks.icpc2Search).toHaveBeenCalledTimes(1);
    expect(mocks.icpc2Search).toHaveBeenCalledWith("resp");
    expect(list.querySelectorAll("[role=option]")).toHaveLength(3);

    const input = screen.getByLabelText<HTMLInputElement>("ICPC-2 code");
    expect(screen.getByRole("option", { name: /R74/ }).getAttribute("aria-selected")).toBe("true");
    fireEvent.keyDown(input, { key: "ArrowDown" });
    fireEvent.keyDown(input, { key: "ArrowDown" });
    expect(screen.getByRole("option", { name: /R76/ }).getAttribute("aria-selected")).toBe("true");
    expect(input.getAttribute("aria-activedescendant")).toBe("result-icpc2-list-2");
    fireEvent.keyDown(input, { key: "ArrowUp" });
    fireEvent.keyDown(input, { key: "Enter" });

    expect(input.value).toBe("R75");
    expect(screen.queryByRole("listbox")).toBeNull();
    expect(screen.getByText("R75 Sinusitis acute/chronic")).toBeTruthy();
  });

  it("closes the suggestions with Escape", async () => {
    renderForm();
    typeCode("tons");
    await screen.findByRole("listbox");
    fireEvent.keyDown(screen.getByLabelText("ICPC-2 code"), { key: "Escape" });
    expect(screen.queryByRole("listbox")).toBeNull();
  });
});

describe("ResultForm", () => {
  it("shows the core's error next to the ICPC-2 field", async () => {
    mocks.completeWithResult.mockResolvedValue({
      status: "error",
      error: { code: "invalid_input", field: "icpc2", message: "R75 is not an active ICPC-2 code." },
    });
    renderForm();
    typeCode("sin");
    await screen.findByRole("listbox");
    fireEvent.keyDown(screen.getByLabelText("ICPC-2 code"), { key: "ArrowDown" });
    fireEvent.keyDown(screen.getByLabelText("ICPC-2 code"), { key: "Enter" });
    fireEvent.change(screen.getByLabelText("Outcome"), { target: { value: "helped" } });
    fireEvent.input(screen.getByLabelText("Policy number"), { target: { value: "12345" } });
    fireEvent.click(screen.getByRole("button", { name: "Complete and file result" }));

    const message = await screen.findByText("R75 is not an active ICPC-2 code.");
    expect(mocks.completeWithResult).toHaveBeenCalledWith(42, {
      icpc2: "R75",
      outcome: "helped",
      notes: null,
      policy_number: "12345",
      patient_ssn: null,
      patient_job_description: null,
    });
    const input = screen.getByLabelText("ICPC-2 code");
    // The message belongs to the ICPC-2 field: inside its field, and named by it.
    expect(message.closest(".field")).toBe(input.closest(".field"));
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(input.getAttribute("aria-describedby")).toContain(message.id);
  });

  it("shows a national id error next to that field", async () => {
    mocks.completeWithResult.mockResolvedValue({
      status: "error",
      error: { code: "invalid_national_id", field: "patient_ssn", message: "The patient's national id is not valid." },
    });
    renderForm();
    typeCode("R74");
    await screen.findByRole("listbox");
    fireEvent.keyDown(screen.getByLabelText("ICPC-2 code"), { key: "Enter" });
    fireEvent.change(screen.getByLabelText("Outcome"), { target: { value: "referred_gp" } });
    fireEvent.input(screen.getByLabelText("Patient's national id (for a minor)"), { target: { value: "123" } });
    fireEvent.click(screen.getByRole("button", { name: "Complete and file result" }));
    const message = await screen.findByText("The patient's national id is not valid.");
    expect(message.closest(".field")).toBe(
      screen.getByLabelText("Patient's national id (for a minor)").closest(".field"),
    );
  });

  it("sends the patient's job description", async () => {
    mocks.completeWithResult.mockResolvedValue({ status: "error", error: { code: "internal", message: "stop here" } });
    renderForm();
    typeCode("R74");
    await screen.findByRole("listbox");
    fireEvent.keyDown(screen.getByLabelText("ICPC-2 code"), { key: "Enter" });
    fireEvent.change(screen.getByLabelText("Outcome"), { target: { value: "helped" } });
    fireEvent.input(screen.getByLabelText("Patient's job description"), { target: { value: "  Carpenter " } });
    fireEvent.click(screen.getByRole("button", { name: "Complete and file result" }));
    await screen.findByText("stop here");
    expect(mocks.completeWithResult).toHaveBeenCalledWith(42, expect.objectContaining({ patient_job_description: "Carpenter" }));
  });

  it("requires a chosen code before anything is sent", async () => {
    renderForm();
    fireEvent.click(screen.getByRole("button", { name: "Complete and file result" }));
    await waitFor(() => expect(screen.getByText("Required.")).toBeTruthy());
    expect(mocks.completeWithResult).not.toHaveBeenCalled();
  });

  it("offers the outcomes with translated labels", () => {
    renderForm();
    const options = Array.from(screen.getByLabelText<HTMLSelectElement>("Outcome").options).map((o) => o.text);
    expect(options).toEqual(["Choose an outcome", "Referred to GP", "Helped", "Unable to help"]);
  });
});
