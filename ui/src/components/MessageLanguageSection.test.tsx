import { fireEvent, render, screen } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type Language } from "../bindings";
import { I18nProvider } from "../i18n";
import { MessageLanguageSection } from "./MessageLanguageSection";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

beforeEach(() => {
  mocks.patientSetMessageLanguage.mockReset().mockResolvedValue({ status: "ok", data: true });
});

function renderWith(language: Language, maySet: boolean, ui: "en" | "nb" = "en", onChanged = vi.fn()) {
  render(
    <I18nProvider initial={ui}>
      <MessageLanguageSection personId={81} language={language} maySet={maySet} onChanged={onChanged} />
    </I18nProvider>,
  );
  return onChanged;
}

describe("MessageLanguageSection", () => {
  it("lets a support agent choose English and says it is saved", async () => {
    const onChanged = renderWith("nb", true);
    const select = screen.getByLabelText<HTMLSelectElement>("Language");
    expect(select.value).toBe("nb");
    fireEvent.change(select, { target: { value: "en" } });
    fireEvent.click(screen.getByRole("button", { name: "Save language" }));
    expect(await screen.findByRole("status")).toBeTruthy();
    expect(mocks.patientSetMessageLanguage).toHaveBeenCalledWith(81, "en");
    expect(onChanged).toHaveBeenCalled();
  });

  it("shows a refusal as an alert and reports no change", async () => {
    mocks.patientSetMessageLanguage.mockResolvedValue({
      status: "error",
      error: { code: "forbidden", message: "Your role may not choose the language of a patient's messages." },
    });
    const onChanged = renderWith("nb", true, "nb");
    fireEvent.click(screen.getByRole("button", { name: "Lagre språk" }));
    expect((await screen.findByRole("alert")).textContent).toBeTruthy();
    expect(onChanged).not.toHaveBeenCalled();
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("shows the language without a choice to other roles", () => {
    renderWith("en", false, "nb");
    expect(screen.getByText("engelsk")).toBeTruthy();
    expect(screen.queryByRole("combobox")).toBeNull();
    expect(screen.queryByRole("button")).toBeNull();
  });
});
