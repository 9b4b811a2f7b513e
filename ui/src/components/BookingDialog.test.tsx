import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands } from "../bindings";
import { I18nProvider } from "../i18n";
import { BookingDialog, type BookingSubject } from "./BookingDialog";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

function renderDialog(subject: BookingSubject) {
  const onBooked = vi.fn();
  render(
    <I18nProvider initial="en">
      <BookingDialog subject={subject} onClose={() => undefined} onBooked={onBooked} />
    </I18nProvider>,
  );
  return onBooked;
}

beforeEach(() => {
  for (const m of Object.values(mocks)) m.mockReset();
  mocks.doctors.mockResolvedValue({ status: "ok", data: [{ id: 9, name: "Dr. Dahl" }] });
  mocks.partners.mockResolvedValue({ status: "ok", data: [{ id: 3, name: "fjordtrygd", book_on_arrival: false }] });
});

describe("BookingDialog", () => {
  it("needs a channel and keeps the primary channel among those chosen", async () => {
    renderDialog({ kind: "referral", referralId: 5, patientName: "Per Gundersen" });
    fireEvent.click(screen.getByLabelText("Video"));
    expect(screen.getByLabelText<HTMLSelectElement>("Primary channel").value).toBe("chat");
    fireEvent.click(screen.getByLabelText("Chat"));
    fireEvent.click(screen.getByRole("button", { name: "Book" }));
    expect(await screen.findByText("Choose at least one channel.")).toBeTruthy();
    expect(mocks.referralBook).not.toHaveBeenCalled();
    // A referral's partner is the referral's: no partner to choose.
    expect(screen.queryByLabelText("Paid by partner")).toBeNull();
    expect(mocks.partners).not.toHaveBeenCalled();
  });

  it("books a known patient for a partner, and shows the core's field error under its field", async () => {
    mocks.consultationBook.mockResolvedValue({
      status: "error",
      error: { code: "not_found", field: "partner_id", message: "That partner does not send referrals to your clinic." },
    });
    const onBooked = renderDialog({ kind: "patient", patientPersonId: 81, patientName: "Kari Nordmann" });
    await waitFor(() => expect(screen.getByRole("option", { name: "fjordtrygd" })).toBeTruthy());
    fireEvent.change(screen.getByLabelText("Paid by partner"), { target: { value: "3" } });
    fireEvent.click(screen.getByLabelText("Phone"));
    fireEvent.change(screen.getByLabelText("Primary channel"), { target: { value: "phone" } });
    fireEvent.click(screen.getByRole("button", { name: "Book" }));
    expect(await screen.findByText("That partner does not send referrals to your clinic.")).toBeTruthy();
    expect(screen.getByLabelText("Paid by partner").getAttribute("aria-invalid")).toBe("true");
    expect(mocks.consultationBook).toHaveBeenCalledWith({
      patient_person_id: 81,
      partner_id: 3,
      enabled_channels: ["video", "chat", "phone"],
      primary_channel: "phone",
      doctor_id: null,
    });
    expect(onBooked).not.toHaveBeenCalled();
  });
});
