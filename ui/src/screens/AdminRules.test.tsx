import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type OnboardingRule, type Template } from "../bindings";
import { I18nProvider, translate } from "../i18n";
import { checkRuleName, OnboardingRules } from "./AdminRules";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate("en", key, vars);

const template = (id: number, title: string): Template => ({
  id,
  organization_id: null,
  key: title.toLowerCase().replace(/\W+/g, "_"),
  title,
  type: "disclaimer",
  consent_types: [],
  must_sign_before: null,
  versions: [{ id: id * 10, template_id: id, version: 1, body: "Text.", sha256: "ab".repeat(32), published_at: "2026-10-01T09:00:00Z" }],
});
const TEMPLATES = [template(1, "Privacy Policy"), template(2, "Profile Sharing"), template(3, "Terms of Service")];

const rule: OnboardingRule = {
  id: 7,
  organization_id: 1,
  name: "New patients sign privacy and profile sharing",
  applies_to: "new_persons",
  position: 1,
  active: true,
  welcome_email: true,
  forms: [
    { action_id: 70, position: 1, template_id: 1, title: "Privacy Policy", key: "privacy_policy", blocking: true, published: true },
    { action_id: 71, position: 2, template_id: 2, title: "Profile Sharing", key: "profile_sharing", blocking: true, published: true },
  ],
};

beforeEach(() => {
  for (const m of Object.values(mocks)) m.mockReset();
  mocks.onboardingRules.mockResolvedValue({ status: "ok", data: [rule] });
  mocks.formTemplates.mockResolvedValue({ status: "ok", data: TEMPLATES });
});

function renderRules() {
  render(
    <I18nProvider initial="en">
      <OnboardingRules />
    </I18nProvider>,
  );
}

describe("checkRuleName", () => {
  it("wants a name of at most 200 characters", () => {
    expect(checkRuleName("  ", t)?.field).toBe("name");
    expect(checkRuleName("x".repeat(201), t)?.field).toBe("name");
    expect(checkRuleName(" Everyone signs the terms ", t)).toBeNull();
  });
});

describe("OnboardingRules", () => {
  it("offers only the templates the rule does not require yet, and asks for one before sending", async () => {
    renderRules();
    const select = await screen.findByLabelText<HTMLSelectElement>("Require another form");
    expect([...select.options].map((o) => o.textContent)).toEqual(["Choose a form template", "Terms of Service"]);
    fireEvent.click(screen.getByRole("button", { name: "Require form" }));
    await waitFor(() => expect(select.getAttribute("aria-invalid")).toBe("true"));
    expect(screen.getByText("Choose the form to require.")).toBeTruthy();
    expect(mocks.ruleRequireForm).not.toHaveBeenCalled();
  });

  it("requires a form (not blocking) and shows the backend's refusal by the field", async () => {
    mocks.ruleRequireForm.mockResolvedValueOnce({
      status: "error",
      error: { code: "invalid_input", message: "'Terms of Service' has no published version yet; publish its text first, or onboarding would skip it.", field: "template_id" },
    });
    renderRules();
    const select = await screen.findByLabelText("Require another form");
    fireEvent.change(select, { target: { value: "3" } });
    fireEvent.click(screen.getByLabelText("Blocking: signed before the first consultation"));
    fireEvent.click(screen.getByRole("button", { name: "Require form" }));
    await screen.findByText(/has no published version yet/);
    expect(mocks.ruleRequireForm).toHaveBeenCalledWith(7, 3, false);
    expect(select.getAttribute("aria-invalid")).toBe("true");
  });

  it("names each form's controls, and removes one", async () => {
    mocks.ruleFormRemove.mockResolvedValue({ status: "ok", data: { ...rule, forms: [rule.forms[0]!] } });
    renderRules();
    const blocking = await screen.findByLabelText<HTMLInputElement>("Blocking: Profile Sharing");
    expect(blocking.checked).toBe(true);
    fireEvent.click(screen.getByRole("button", { name: "Remove Profile Sharing from New patients sign privacy and profile sharing" }));
    await waitFor(() => expect(screen.queryByLabelText("Blocking: Profile Sharing")).toBeNull());
    expect(mocks.ruleFormRemove).toHaveBeenCalledWith(71);
    expect(screen.getByRole("status").textContent).toBe("Profile Sharing is no longer required.");
  });

  it("refuses an empty rule name without sending it", async () => {
    renderRules();
    fireEvent.click(await screen.findByRole("button", { name: "Add rule" }));
    const name = screen.getByLabelText("Name of the rule");
    await waitFor(() => expect(name.getAttribute("aria-invalid")).toBe("true"));
    expect(document.activeElement).toBe(name);
    expect(mocks.onboardingRuleAdd).not.toHaveBeenCalled();
  });

  it("adds the welcome e-mail to a rule and takes it away again", async () => {
    mocks.ruleSetWelcomeEmail.mockResolvedValueOnce({ status: "ok", data: { ...rule, welcome_email: false } });
    mocks.ruleSetWelcomeEmail.mockResolvedValueOnce({ status: "ok", data: rule });
    renderRules();
    const box = await screen.findByLabelText<HTMLInputElement>("Send the welcome e-mail");
    expect(box.checked).toBe(true);
    expect(screen.getByText(/Counts as marketing/)).toBeTruthy();
    fireEvent.click(box);
    await waitFor(() => expect(mocks.ruleSetWelcomeEmail).toHaveBeenCalledWith(7, false));
    await waitFor(() => expect(screen.getByLabelText<HTMLInputElement>("Send the welcome e-mail").checked).toBe(false));
    expect(await screen.findByText("The rule no longer sends the welcome e-mail.")).toBeTruthy();
    fireEvent.click(screen.getByLabelText("Send the welcome e-mail"));
    await waitFor(() => expect(mocks.ruleSetWelcomeEmail).toHaveBeenLastCalledWith(7, true));
  });
});
