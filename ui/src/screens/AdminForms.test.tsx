import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type Template } from "../bindings";
import { I18nProvider, translate } from "../i18n";
import { checkNewTemplate, checkVersionBody, FormTemplates, MAX_BODY_CHARS, NewTemplateForm } from "./AdminForms";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate("en", key, vars);

const KINDS = [
  { code: "analytics", label: "Analytics" },
  { code: "marketing", label: "Marketing" },
  { code: "profile_sharing", label: "Profile sharing" },
];

const privacy: Template = {
  id: 1,
  organization_id: null,
  key: "privacy_gdpr",
  title: "Privacy Policy & GDPR Consent",
  type: "disclaimer",
  consent_types: ["analytics", "marketing"],
  must_sign_before: "first_appointment",
  versions: [
    { id: 11, template_id: 1, version: 1, body: "First text.", sha256: "ab".repeat(32), published_at: "2026-10-01T09:00:00Z" },
    { id: 12, template_id: 1, version: 2, body: "Second text.", sha256: "cd".repeat(32), published_at: null },
  ],
};

beforeEach(() => {
  for (const m of Object.values(mocks)) m.mockReset();
  mocks.formTemplates.mockResolvedValue({ status: "ok", data: [privacy] });
  mocks.consentKinds.mockResolvedValue({ status: "ok", data: KINDS });
});

describe("checkNewTemplate", () => {
  const good = { key: "video_consent", title: "Video consent", form_type: "disclaimer", consent_types: [], must_sign_before: null };
  it("accepts a good template and an empty type", () => {
    expect(checkNewTemplate(good, t)).toBeNull();
    expect(checkNewTemplate({ ...good, form_type: "  " }, t)).toBeNull();
    expect(checkNewTemplate({ ...good, key: "  video_consent " }, t)).toBeNull();
  });
  it("names the first bad field", () => {
    expect(checkNewTemplate({ ...good, key: "Video" }, t)?.field).toBe("key");
    expect(checkNewTemplate({ ...good, key: "1st" }, t)?.field).toBe("key");
    expect(checkNewTemplate({ ...good, key: "" }, t)?.field).toBe("key");
    expect(checkNewTemplate({ ...good, title: "   " }, t)).toEqual({ code: "invalid_input", field: "title", message: "Give the form a title." });
    expect(checkNewTemplate({ ...good, title: "x".repeat(201) }, t)?.field).toBe("title");
    expect(checkNewTemplate({ ...good, form_type: "Dis claimer" }, t)?.field).toBe("form_type");
  });
});

describe("checkVersionBody", () => {
  it("refuses an empty or too long text", () => {
    expect(checkVersionBody("  \n ", t)?.message).toBe("Write the text the patient will read and sign.");
    expect(checkVersionBody("x".repeat(MAX_BODY_CHARS + 1), t)?.message).toBe(`The text may have at most ${MAX_BODY_CHARS} characters.`);
    expect(checkVersionBody("x".repeat(MAX_BODY_CHARS), t)).toBeNull();
  });
});

function renderForm(onCreated = vi.fn()) {
  render(
    <I18nProvider initial="en">
      <NewTemplateForm kinds={KINDS} onCreated={onCreated} />
    </I18nProvider>,
  );
  return onCreated;
}

describe("NewTemplateForm", () => {
  it("shows a bad key next to the field and sends nothing", async () => {
    renderForm();
    fireEvent.input(screen.getByLabelText("Title"), { target: { value: "Video consent" } });
    fireEvent.input(screen.getByLabelText("Key"), { target: { value: "Video Consent" } });
    fireEvent.click(screen.getByRole("button", { name: "Create template" }));
    const key = screen.getByLabelText("Key");
    await waitFor(() => expect(key.getAttribute("aria-invalid")).toBe("true"));
    expect(document.getElementById(key.getAttribute("aria-describedby") ?? "")?.textContent).toBe(
      "Use lower-case letters, digits and _, starting with a letter (e.g. privacy_policy).",
    );
    expect(document.activeElement).toBe(key);
    expect(mocks.formTemplateCreate).not.toHaveBeenCalled();
  });

  it("sends the checked consents and the deadline, and shows the backend's error by its field", async () => {
    mocks.formTemplateCreate.mockResolvedValue({
      status: "error",
      error: { code: "already_exists", message: "A template 'video_consent' already exists.", field: "key" },
    });
    const onCreated = renderForm();
    fireEvent.input(screen.getByLabelText("Title"), { target: { value: "Video consent" } });
    fireEvent.input(screen.getByLabelText("Key"), { target: { value: "video_consent" } });
    fireEvent.click(screen.getByLabelText("Marketing"));
    fireEvent.click(screen.getByLabelText("Must be signed before the first appointment"));
    fireEvent.click(screen.getByRole("button", { name: "Create template" }));
    await screen.findByText("A template 'video_consent' already exists.");
    expect(mocks.formTemplateCreate).toHaveBeenCalledWith({
      key: "video_consent",
      title: "Video consent",
      form_type: "disclaimer",
      consent_types: ["marketing"],
      must_sign_before: "first_appointment",
    });
    expect(screen.getByLabelText("Key").getAttribute("aria-invalid")).toBe("true");
    expect(onCreated).not.toHaveBeenCalled();
  });
});

describe("FormTemplates", () => {
  function renderAll() {
    render(
      <I18nProvider initial="en">
        <FormTemplates />
      </I18nProvider>,
    );
  }

  it("refuses an empty new version without sending it", async () => {
    renderAll();
    const save = await screen.findByRole("button", { name: "Save draft version" });
    fireEvent.click(save);
    const body = screen.getByLabelText("Text of the new version of Privacy Policy & GDPR Consent");
    await waitFor(() => expect(body.getAttribute("aria-invalid")).toBe("true"));
    expect(screen.getByText("Write the text the patient will read and sign.")).toBeTruthy();
    expect(mocks.formTemplateAddVersion).not.toHaveBeenCalled();
  });

  it("publishes only after the warning and says how many forms were superseded", async () => {
    mocks.formTemplatePublish.mockResolvedValue({
      status: "ok",
      data: { version: { ...privacy.versions[1]!, published_at: "2026-11-23T10:00:00Z" }, superseded: 4 },
    });
    renderAll();
    fireEvent.click(await screen.findByRole("button", { name: "Publish version 2" }));
    const dialog = await screen.findByRole("dialog");
    expect(dialog.textContent).toContain("Publishing supersedes the pending forms of older versions");
    expect(mocks.formTemplatePublish).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole("button", { name: "Publish" }));
    await screen.findByText(/Pending forms of older versions superseded: 4\./);
    expect(mocks.formTemplatePublish).toHaveBeenCalledWith(12);
    expect(screen.queryByRole("dialog")).toBeNull();
  });
});
