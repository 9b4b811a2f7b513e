import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type Onboarded } from "../bindings";
import { I18nProvider } from "../i18n";
import { checkWalkIn, Onboard } from "./Onboard";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const onboarded: Onboarded = {
  user_id: 43,
  patient_person_id: 81,
  patient: {
    id: 100,
    patient_person_id: 81,
    profile_shared: false,
    organization_id: 1,
    created_at: "2026-11-22T10:00:00Z",
    updated_at: "2026-11-22T10:00:00Z",
  },
  person: { id: 81, user_id: 43, name: "Kari Nordmann" },
  user_created: true,
  organization_added: true,
  required_forms: [
    {
      form_id: 500,
      template_id: 42,
      title: "Privacy Policy & GDPR Consent",
      type: "disclaimer",
      status: "pending",
      must_sign_before: "first_appointment",
      consent_types: ["analytics", "marketing"],
    },
  ],
};

function renderOnboard() {
  render(
    <I18nProvider initial="en">
      <Onboard />
    </I18nProvider>,
  );
}

function fill(label: string, value: string) {
  fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

beforeEach(() => {
  for (const m of Object.values(mocks)) m.mockReset();
  mocks.accountDirectory.mockResolvedValue({ status: "ok", data: "local" });
  mocks.matchCandidates.mockResolvedValue({ status: "ok", data: [] });
  mocks.patientForms.mockResolvedValue({
    status: "ok",
    data: [
      {
        form_id: 500,
        patient_id: 100,
        template_id: 42,
        template_version: 1,
        title: "Privacy Policy & GDPR Consent",
        type: "disclaimer",
        status: "pending",
        blocking: true,
        must_sign_before: "first_appointment",
        consent_types: ["analytics", "marketing"],
        template_sha256: "ab".repeat(32),
        created_at: "2026-11-22T10:00:00Z",
        signed_at: null,
        signed_by: null,
        attested_by_staff_id: null,
        declined_at: null,
        superseded_by: null,
        consents: [],
      },
    ],
  });
});

describe("checkWalkIn", () => {
  it("names the first missing or malformed field with the contract's code", () => {
    expect(checkWalkIn({ name: " ", email: "a@b.no", phone: "1" })).toMatchObject({ field: "name", code: "name_required" });
    expect(checkWalkIn({ name: "A", email: "", phone: "1" })).toMatchObject({ field: "email", code: "email_required" });
    expect(checkWalkIn({ name: "A", email: "a@b", phone: "1" })).toMatchObject({ field: "email", code: "invalid_email_format" });
    expect(checkWalkIn({ name: "A", email: "a@b.no", phone: "" })).toMatchObject({ field: "phone", code: "phone_required" });
    expect(checkWalkIn({ name: "A", email: "a@b.no", phone: "91234567" })).toBeNull();
  });
});

describe("Onboard", () => {
  it("shows each error next to its field and sends nothing until the form is complete", async () => {
    renderOnboard();
    expect(await screen.findByText(/local account directory/)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Onboard patient" }));
    const name = screen.getByLabelText("Full name");
    expect(name.getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByText("Name is required. (name_required)")).toBeTruthy();
    expect(name.getAttribute("aria-describedby")).toContain("onboard-name-error");

    fill("Full name", "Kari Nordmann");
    fill("E-mail", "kari@");
    fireEvent.click(screen.getByRole("button", { name: "Onboard patient" }));
    expect(screen.getByText("This is not a valid e-mail address. (invalid_email_format)")).toBeTruthy();
    expect(mocks.onboardWalkIn).not.toHaveBeenCalled();
  });

  it("puts the core's field error under that field", async () => {
    mocks.onboardWalkIn.mockResolvedValue({
      status: "error",
      error: { code: "invalid_phone_format", message: "Phone number is not valid.", field: "phone" },
    });
    renderOnboard();
    fill("Full name", "Kari Nordmann");
    fill("E-mail", "kari@example.com");
    fill("Mobile phone", "12");
    fireEvent.click(screen.getByRole("button", { name: "Onboard patient" }));
    expect(await screen.findByText("This is not a valid phone number. (invalid_phone_format)")).toBeTruthy();
    expect(screen.getByLabelText("Mobile phone").getAttribute("aria-invalid")).toBe("true");
  });

  it("offers likely duplicates and asks for a check before creating", async () => {
    mocks.matchCandidates.mockResolvedValue({
      status: "ok",
      data: [{ patient_person_id: 81, name: "Kari Nordmann", reasons: ["email"] }],
    });
    mocks.onboardWalkIn.mockResolvedValue({ status: "ok", data: onboarded });
    renderOnboard();
    fill("Full name", "Kari Nordmann");
    fill("E-mail", "kari@example.com");
    fill("Mobile phone", "91234567");
    expect(await screen.findByText("Possibly already known", {}, { timeout: 2000 })).toBeTruthy();
    expect(screen.getByText(/matches on: e-mail/)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Onboard patient" }));
    expect(screen.getByText("Check the possible matches first.")).toBeTruthy();
    expect(mocks.onboardWalkIn).not.toHaveBeenCalled();

    fireEvent.click(screen.getByLabelText(/I have checked these/));
    fireEvent.click(screen.getByRole("button", { name: "Onboard patient" }));
    expect(await screen.findByRole("heading", { name: "Kari Nordmann is onboarded" })).toBeTruthy();
    expect(mocks.onboardWalkIn).toHaveBeenCalledWith({ name: "Kari Nordmann", email: "kari@example.com", phone: "91234567" });
    // The required forms, with the paper-signature action.
    await waitFor(() => expect(screen.getByText("Privacy Policy & GDPR Consent")).toBeTruthy());
    expect(screen.getByRole("button", { name: "Record paper signature" })).toBeTruthy();
  });

  it("books a consultation for the patient just onboarded and says what was saved", async () => {
    mocks.onboardWalkIn.mockResolvedValue({ status: "ok", data: { ...onboarded, required_forms: [] } });
    mocks.doctors.mockResolvedValue({ status: "ok", data: [{ id: 9, name: "Dr. Dahl" }] });
    mocks.partners.mockResolvedValue({ status: "ok", data: [] });
    mocks.consultationBook.mockResolvedValue({
      status: "ok",
      data: {
        id: 77,
        state: "pending_sp",
        patient_person_id: 81,
        organization_id: 1,
        partner_id: null,
        referral_id: null,
        follow_up_of: null,
        category: "direct",
        assigned_doctor_id: 9,
        primary_channel: "video",
        enabled_channels: ["video"],
        created_at: "2026-11-22T10:00:00Z",
        deadline_at: null,
        assigned_at: "2026-11-22T10:00:00Z",
        starts_at: null,
        ends_at: null,
        cancelled_at: null,
        cancel_reason: null,
        waiting_seconds: 0,
        treatment_seconds: null,
        deadline_status: "none",
        patient_name: "Kari Nordmann",
        partner_name: null,
        doctor_name: "Dr. Dahl",
        entry_point: null,
      },
    });
    renderOnboard();
    fill("Full name", "Kari Nordmann");
    fill("E-mail", "kari@example.com");
    fill("Mobile phone", "91234567");
    fireEvent.click(screen.getByRole("button", { name: "Onboard patient" }));
    fireEvent.click(await screen.findByRole("button", { name: "Book a consultation" }));
    const dialog = screen.getByRole("dialog", { name: "Book a consultation for Kari Nordmann" });
    fireEvent.click(screen.getByLabelText("Chat"));
    await waitFor(() => expect(screen.getByRole("option", { name: "Dr. Dahl" })).toBeTruthy());
    fireEvent.change(screen.getByLabelText("Doctor"), { target: { value: "9" } });
    fireEvent.click(screen.getByRole("button", { name: "Book" }));
    expect(await screen.findByText("Booked: consultation 77 is assigned to Dr. Dahl.")).toBeTruthy();
    expect(mocks.consultationBook).toHaveBeenCalledWith({
      patient_person_id: 81,
      partner_id: null,
      enabled_channels: ["video"],
      primary_channel: "video",
      doctor_id: 9,
    });
    expect(dialog.isConnected).toBe(false);
  });
});
