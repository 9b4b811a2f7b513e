import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type Consultation, type StaffSession } from "../bindings";
import { I18nProvider } from "../i18n";
import { aPatientCard } from "../test-commands";
import { editOf, PatientCard, valuesOf } from "./PatientCard";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

function session(role: StaffSession["role"]): StaffSession {
  return { staff_id: 7, login: "x@clinic.test", name: "Staff Person", email: "x@clinic.test", role, organization_id: 1 };
}

const card = aPatientCard;

function renderCard(role: StaffSession["role"]) {
  const onBack = vi.fn();
  render(
    <I18nProvider initial="en">
      <PatientCard personId={81} session={session(role)} onBack={onBack} />
    </I18nProvider>,
  );
  return onBack;
}

beforeEach(() => {
  for (const m of Object.values(mocks)) m.mockReset();
});

describe("editOf", () => {
  it("sends only what changed, lists without blank lines", () => {
    const before = valuesOf(card());
    expect(editOf(before, before)).toEqual({
      date_of_birth: null,
      blood_type: null,
      allergies: null,
      chronic_conditions: null,
      insurance_entries: null,
      emergency_contact_name: null,
      emergency_contact_phone: null,
    });
    const now = { ...before, blood_type: "", allergies: "Penicillin\n\nPollen\n", insurance: [{ insurer: "Tryg", policy_number: "12" }, { insurer: "", policy_number: "" }] };
    expect(editOf(before, now)).toMatchObject({
      blood_type: "",
      allergies: ["Penicillin", "Pollen"],
      insurance_entries: [{ insurer: "Tryg", policy_number: "12" }],
      date_of_birth: null,
    });
  });
});

describe("PatientCard", () => {
  it("shows a secretary the phone and the masked number, says the profile is withheld, and shows the number on request", async () => {
    mocks.patientCard.mockResolvedValueOnce({
      status: "ok",
      data: card({ profile: null, profile_withheld: "not_for_role", may_edit_profile: false }),
    });
    renderCard("secretary");
    await screen.findByText("+4791234567");
    expect(screen.getByText("******12345")).toBeTruthy();
    expect(screen.getByText("Not shown to your role.")).toBeTruthy();
    expect(screen.queryByText("Edit profile")).toBeNull();
    expect(mocks.patientCard).toHaveBeenLastCalledWith(81, false);

    mocks.patientCard.mockResolvedValueOnce({
      status: "ok",
      data: card({
        contact: { ...card().contact!, national_id: "03028012345", national_id_revealed: true },
        profile: null,
        profile_withheld: "not_for_role",
      }),
    });
    fireEvent.click(screen.getByRole("button", { name: "Show the whole national id number" }));
    await screen.findByText("03028012345");
    expect(mocks.patientCard).toHaveBeenLastCalledWith(81, true);
    expect(screen.queryByRole("button", { name: "Show the whole national id number" })).toBeNull();
  });

  it("never shows a profile that is not shared as an empty one", async () => {
    mocks.patientCard.mockResolvedValueOnce({
      status: "ok",
      data: card({ contact: null, contact_withheld: "not_shared", profile: null, profile_withheld: "not_shared", may_edit_profile: false }),
    });
    renderCard("customer_support");
    await screen.findAllByText(/Not shared with your clinic/);
    expect(screen.getAllByText(/Not shared with your clinic/)).toHaveLength(2);
    expect(screen.queryByText("None recorded")).toBeNull();
  });

  it("shows a field's error next to it, and Saved only once the edit is answered ok", async () => {
    mocks.patientCard.mockResolvedValue({ status: "ok", data: card() });
    renderCard("customer_support");
    fireEvent.click(await screen.findByRole("button", { name: "Edit profile" }));
    fireEvent.input(screen.getByLabelText("Date of birth"), { target: { value: "2999-01-01" } });
    mocks.patientProfileEdit.mockResolvedValueOnce({
      status: "error",
      error: { code: "invalid_input", field: "date_of_birth", message: "The date of birth is in the future." },
    });
    fireEvent.click(screen.getByRole("button", { name: "Save profile" }));
    await screen.findByText("The date of birth is in the future.");
    expect(mocks.patientProfileEdit).toHaveBeenLastCalledWith(81, expect.objectContaining({ date_of_birth: "2999-01-01", blood_type: null }));
    expect(screen.getByLabelText("Date of birth").getAttribute("aria-invalid")).toBe("true");
    expect(screen.queryByText("Profile saved.")).toBeNull();

    fireEvent.input(screen.getByLabelText("Date of birth"), { target: { value: "1980-02-04" } });
    let answer: (v: { status: "ok"; data: { person_id: number; changed: string[] } }) => void = () => undefined;
    mocks.patientProfileEdit.mockReturnValueOnce(new Promise((ok) => (answer = ok)));
    fireEvent.click(screen.getByRole("button", { name: "Save profile" }));
    await waitFor(() => expect(mocks.patientProfileEdit).toHaveBeenCalledTimes(2));
    expect(screen.queryByText("Profile saved.")).toBeNull();
    answer({ status: "ok", data: { person_id: 81, changed: ["date_of_birth"] } });
    await screen.findByText("Profile saved.");
    await waitFor(() => expect(mocks.patientCard).toHaveBeenCalledTimes(2));
  });

  it("offers booking to the roles that book, and opens a result only where the reader may read it", async () => {
    const consultation = (id: number, state: Consultation["state"]): Consultation => ({
      id,
      state,
      patient_person_id: 81,
      organization_id: 1,
      partner_id: null,
      referral_id: null,
      follow_up_of: null,
      entry_point: null,
      category: "direct",
      assigned_doctor_id: 7,
      primary_channel: "video",
      enabled_channels: ["video"],
      created_at: "2026-11-22T10:00:00Z",
      deadline_at: null,
      assigned_at: "2026-11-22T10:05:00Z",
      starts_at: "2026-11-22T10:10:00Z",
      ends_at: "2026-11-22T10:30:00Z",
      cancelled_at: null,
      cancel_reason: null,
      waiting_seconds: 600,
      treatment_seconds: 1200,
      deadline_status: "none",
      patient_name: "Kari Nordmann",
      partner_name: null,
      doctor_name: "Dr. Staff Person",
    });
    mocks.patientCard.mockResolvedValue({
      status: "ok",
      data: card({
        consultations: [
          { consultation: consultation(5, "completed"), result_filed: true, result_readable: true },
          { consultation: consultation(4, "completed"), result_filed: true, result_readable: false },
        ],
      }),
    });
    renderCard("doctor");
    await screen.findByText("#5");
    expect(screen.queryByRole("button", { name: "Book a consultation" })).toBeNull();
    const show = screen.getAllByRole("button", { name: "Show result" });
    expect(show).toHaveLength(1);
    expect(mocks.resultRead).not.toHaveBeenCalled();
    fireEvent.click(show[0]!);
    await waitFor(() => expect(mocks.resultRead).toHaveBeenCalledWith(5));
    expect(screen.getByRole("button", { name: "Hide result" }).getAttribute("aria-expanded")).toBe("true");
  });

  it("lets a secretary book a consultation from the card", async () => {
    mocks.patientCard.mockResolvedValue({ status: "ok", data: card() });
    renderCard("secretary");
    fireEvent.click(await screen.findByRole("button", { name: "Book a consultation" }));
    expect(await screen.findByRole("dialog")).toBeTruthy();
  });
});
