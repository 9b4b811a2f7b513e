import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type ResultVersion } from "../bindings";
import { I18nProvider } from "../i18n";
import { ResultView } from "./ResultView";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const first: ResultVersion = {
  id: 10,
  consultation_id: 42,
  version: 1,
  author_staff_id: 2,
  author_name: "Dr. Anders Moe",
  amend_reason: null,
  icpc2: { code: "R74", title: "Upper respiratory infection acute", chapter: "R", component: "diagnosis" },
  outcome: "helped",
  patient_ssn: null,
  patient_is_minor: false,
  patient_job_description: "Carpenter",
  notes: "Rest and fluids.",
  policy_number: "4410029381",
  created_at: "2026-12-07T09:00:00Z",
};
const second: ResultVersion = {
  ...first,
  id: 11,
  version: 2,
  amend_reason: "Referred after the lab results",
  outcome: "referred_gp",
  created_at: "2026-12-07T10:00:00Z",
};

function renderView(amendable = true, language: "en" | "nb" = "en") {
  render(
    <I18nProvider initial={language}>
      <ResultView consultationId={42} amendable={amendable} />
    </I18nProvider>,
  );
}

beforeEach(() => {
  for (const m of Object.values(mocks)) m.mockReset();
});

describe("ResultView", () => {
  it("shows the latest version and lists every version with its author and reason", async () => {
    mocks.resultRead.mockResolvedValue({ status: "ok", data: [second, first] });
    renderView(false);
    expect(await screen.findByText("Referred to GP")).toBeTruthy();
    const latest = document.querySelector(".result-view > .result-facts");
    expect(latest?.textContent).toContain("Carpenter");
    expect(latest?.textContent).toContain("R74 Upper respiratory infection acute");
    const versions = Array.from(document.querySelectorAll(".result-version strong")).map((e) => e.textContent);
    expect(versions).toEqual([
      expect.stringMatching(/^Version 2: amended by Dr\. Anders Moe, /),
      expect.stringMatching(/^Version 1: filed by Dr\. Anders Moe, /),
    ]);
    expect(screen.getByText("Reason: Referred after the lab results")).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Amend result" })).toBeNull();
    expect(mocks.resultRead).toHaveBeenCalledWith(42);
  });

  it("says who may read a result it is refused", async () => {
    mocks.resultRead.mockResolvedValue({
      status: "error",
      error: { code: "forbidden", message: "Only the doctor who wrote this result may read it." },
    });
    renderView();
    expect(
      await screen.findByText(
        "Only the doctor who wrote this result, a doctor following the patient up and the clinic's administrators may read it.",
      ),
    ).toBeTruthy();
  });

  for (const [language, sentence] of [
    [
      "en",
      "Consultation results can only be read or written on a doctor's or admin's workstation that holds the clinical keys. This computer does not hold them.",
    ],
    [
      "nb",
      "Konsultasjonsresultater kan bare leses eller skrives på en arbeidsstasjon for lege eller administrator som har de kliniske nøklene. Denne datamaskinen har dem ikke.",
    ],
  ] as const) {
    it(`says in ${language} that results are read only where the clinical keys are`, async () => {
      mocks.resultRead.mockResolvedValue({
        status: "error",
        error: {
          code: "clinical_keys_unavailable",
          message:
            "Consultation results can only be read or written on a doctor's or admin's workstation that holds the clinical keys; this computer does not hold them.",
        },
      });
      renderView(true, language);
      const shown = await screen.findByText(sentence);
      expect(shown.getAttribute("role")).toBe("status");
      expect(document.querySelector(".result-facts")).toBeNull();
      expect(screen.queryByRole("button", { name: /Amend|Endre/ })).toBeNull();
    });
  }

  it("amends with a required reason, every field prefilled, and reads the versions again once saved", async () => {
    mocks.resultRead.mockResolvedValueOnce({ status: "ok", data: [first] });
    renderView();
    fireEvent.click(await screen.findByRole("button", { name: "Amend result" }));
    expect(screen.getByLabelText<HTMLInputElement>("Patient's job description").value).toBe("Carpenter");
    expect(screen.getByLabelText<HTMLInputElement>("ICPC-2 code").value).toBe("R74");
    expect(screen.getByText("R74 Upper respiratory infection acute", { selector: ".typeahead-chosen" })).toBeTruthy();

    // No reason: the form says so under the reason and sends nothing.
    fireEvent.click(screen.getByRole("button", { name: "Save amendment" }));
    const message = await screen.findByText("Say why you amend the result.");
    expect(message.closest(".field")).toBe(screen.getByLabelText("Reason for the amendment").closest(".field"));
    expect(mocks.resultAmend).not.toHaveBeenCalled();

    // The core's refusal of a field is shown under that field.
    mocks.resultAmend.mockResolvedValueOnce({
      status: "error",
      error: { code: "invalid_input", field: "patient_ssn", message: "The patient's own national id is recorded only for a minor." },
    });
    fireEvent.input(screen.getByLabelText("Reason for the amendment"), { target: { value: "Referred after the lab results" } });
    fireEvent.input(screen.getByLabelText("Patient's national id (for a minor)"), { target: { value: "01018512345" } });
    fireEvent.click(screen.getByRole("button", { name: "Save amendment" }));
    const ssnError = await screen.findByText("The patient's own national id is recorded only for a minor.");
    expect(ssnError.closest(".field")).toBe(screen.getByLabelText("Patient's national id (for a minor)").closest(".field"));

    mocks.resultAmend.mockResolvedValueOnce({ status: "ok", data: 2 });
    mocks.resultRead.mockResolvedValueOnce({ status: "ok", data: [second, first] });
    fireEvent.input(screen.getByLabelText("Patient's national id (for a minor)"), { target: { value: "" } });
    fireEvent.change(screen.getByLabelText("Outcome"), { target: { value: "referred_gp" } });
    fireEvent.click(screen.getByRole("button", { name: "Save amendment" }));
    expect(await screen.findByText("Amendment saved as version 2.")).toBeTruthy();
    expect(mocks.resultAmend).toHaveBeenLastCalledWith(42, {
      reason: "Referred after the lab results",
      icpc2: "R74",
      outcome: "referred_gp",
      notes: "Rest and fluids.",
      policy_number: "4410029381",
      patient_job_description: "Carpenter",
      patient_ssn: "",
    });
    await waitFor(() => expect(document.querySelectorAll(".result-version")).toHaveLength(2));
    expect(screen.queryByRole("button", { name: "Save amendment" })).toBeNull();
  });
});
