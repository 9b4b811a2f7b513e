import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands } from "../bindings";
import { I18nProvider } from "../i18n";
import { ResultForm } from "../screens/ResultForm";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

function renderForm() {
  render(
    <I18nProvider initial="en">
      <ResultForm consultationId={42} onCompleted={vi.fn()} />
    </I18nProvider>,
  );
}

beforeEach(() => {
  for (const m of Object.values(mocks)) m.mockReset();
  mocks.icpc2Search.mockResolvedValue({ status: "ok", data: [] });
  mocks.draftSave.mockResolvedValue({
    status: "ok",
    data: { kind: "consultation_result", subject_id: 42, created_at: "2026-11-22T10:00:00Z", updated_at: "2026-11-22T10:00:00Z" },
  });
  mocks.draftDiscard.mockResolvedValue({ status: "ok", data: true });
});

describe("drafts of a consultation result", () => {
  it("offers a kept draft back and fills the form with it", async () => {
    mocks.draftLoad.mockResolvedValue({
      status: "ok",
      data: {
        kind: "consultation_result",
        subject_id: 42,
        payload: { icpc2: "", outcome: "helped", notes: "Cough for a week.", policy: "123456", ssn: "" },
        updated_at: "2026-11-22T10:00:00Z",
      },
    });
    renderForm();
    expect(await screen.findByText(/An unfinished version of this form was kept/)).toBeTruthy();
    expect(mocks.draftLoad).toHaveBeenCalledWith("consultation_result", 42);
    fireEvent.click(screen.getByRole("button", { name: "Continue where you left off" }));
    expect(screen.getByLabelText<HTMLTextAreaElement>("Notes").value).toBe("Cough for a week.");
    expect(screen.getByLabelText<HTMLInputElement>("Policy number").value).toBe("123456");
    expect(screen.queryByText(/An unfinished version/)).toBeNull();
  });

  it("throws the kept draft away when asked", async () => {
    mocks.draftLoad.mockResolvedValue({
      status: "ok",
      data: { kind: "consultation_result", subject_id: 42, payload: { notes: "old" }, updated_at: "2026-11-22T10:00:00Z" },
    });
    renderForm();
    fireEvent.click(await screen.findByRole("button", { name: "Discard it" }));
    expect(mocks.draftDiscard).toHaveBeenCalledWith("consultation_result", 42);
    expect(screen.getByLabelText<HTMLTextAreaElement>("Notes").value).toBe("");
  });

  it("keeps what is typed once typing pauses, and nothing before anything is typed", async () => {
    mocks.draftLoad.mockResolvedValue({ status: "ok", data: null });
    renderForm();
    await waitFor(() => expect(mocks.draftLoad).toHaveBeenCalled());
    await new Promise((r) => setTimeout(r, 1200));
    expect(mocks.draftSave).not.toHaveBeenCalled();
    fireEvent.input(screen.getByLabelText("Notes"), { target: { value: "Sore throat" } });
    await waitFor(() => expect(mocks.draftSave).toHaveBeenCalledTimes(1), { timeout: 3000 });
    expect(mocks.draftSave).toHaveBeenCalledWith(
      "consultation_result",
      42,
      expect.objectContaining({ notes: "Sore throat", icpc2: "", outcome: "" }),
    );
  });
});
