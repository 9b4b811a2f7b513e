import { fireEvent, render, screen } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type AppRole } from "../bindings";
import { I18nProvider } from "../i18n";
import { PreferenceLinkSection } from "./PreferenceLinkSection";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

beforeEach(() => {
  mocks.preferenceTokenRotate.mockReset().mockResolvedValue({ status: "ok", data: null });
});

function renderFor(role: AppRole) {
  return render(
    <I18nProvider initial="en">
      <PreferenceLinkSection personId={81} role={role} />
    </I18nProvider>,
  );
}

describe("PreferenceLinkSection", () => {
  it("asks once more, then issues the new link and says the old one stopped working", async () => {
    renderFor("customer_support");
    fireEvent.click(screen.getByRole("button", { name: "Issue a new preferences link" }));
    expect(mocks.preferenceTokenRotate).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole("button", { name: "Yes, stop the old link" }));
    expect((await screen.findByRole("status")).textContent).toBe("A new preferences link was issued. The old link no longer works.");
    expect(mocks.preferenceTokenRotate).toHaveBeenCalledWith(81);
  });

  it("shows a refusal as an alert", async () => {
    mocks.preferenceTokenRotate.mockResolvedValue({ status: "error", error: { code: "not_found", message: "This patient was not found.", field: "person_id" } });
    renderFor("admin");
    fireEvent.click(screen.getByRole("button", { name: "Issue a new preferences link" }));
    fireEvent.click(screen.getByRole("button", { name: "Yes, stop the old link" }));
    expect((await screen.findByRole("alert")).textContent).toBeTruthy();
  });

  it("is not offered to secretaries and doctors", () => {
    const { container } = renderFor("secretary");
    expect(container.textContent).toBe("");
    renderFor("doctor");
    expect(screen.queryByRole("button")).toBeNull();
  });
});
