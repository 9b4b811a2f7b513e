import { fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type FaxDocument, type InboxFax } from "../bindings";
import { I18nProvider } from "../i18n";
import { FaxInbox } from "./FaxInbox";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
// pdf.js draws on a canvas, which jsdom has not; the browser test shows the real rendering.
vi.mock("../components/PdfView", () => ({
  PdfView: (props: { pdfBase64: string; label: string }) => <div data-testid="pdf" aria-label={props.label}>{props.pdfBase64}</div>,
}));
const mocks = vi.mocked(commands);

const FAXES: InboxFax[] = [
  { id: 7, patient_person_id: 70, draft_name: null, sender: "+47 ••••• 455", page_count: 2, received_at: "2026-12-06T10:00:00Z" },
  { id: 3, patient_person_id: 30, draft_name: null, sender: "+47 ••••• 011", page_count: null, received_at: "2026-12-05T09:00:00Z" },
];

const DOC: FaxDocument = {
  id: 7,
  patient_person_id: 70,
  draft_name: null,
  sender: "+47 ••••• 455",
  page_count: 2,
  received_at: "2026-12-06T10:00:00Z",
  state: "waiting",
  discard_reason: null,
  pdf_base64: "JVBERi0xLjQK",
};

beforeEach(() => {
  mocks.faxInbox.mockReset().mockResolvedValue({ status: "ok", data: FAXES });
  mocks.faxOpen.mockReset().mockResolvedValue({ status: "ok", data: DOC });
  mocks.faxComplete.mockReset();
  mocks.faxDiscard.mockReset();
});

function renderIn(language: "en" | "nb") {
  render(
    <I18nProvider initial={language}>
      <FaxInbox />
    </I18nProvider>,
  );
}

async function openFirst() {
  const table = await screen.findByRole("table");
  await waitFor(() => expect(within(table).getAllByRole("row")).toHaveLength(3));
  fireEvent.click(within(within(table).getAllByRole("row")[1]!).getByRole("button"));
  await screen.findByTestId("pdf");
}

describe("FaxInbox", () => {
  it("words a draft whose name nobody has read yet in the console's language", async () => {
    mocks.faxInbox.mockResolvedValue({ status: "ok", data: [FAXES[0]!, { ...FAXES[1]!, draft_name: "Kari Nordmann" }] });
    renderIn("nb");
    const table = await screen.findByRole("table");
    await waitFor(() => expect(within(table).getAllByRole("row")).toHaveLength(3));
    const rows = within(table).getAllByRole("row");
    expect(rows[1]!.textContent).toContain("Navnet er ikke lest fra faksen ennå");
    expect(rows[2]!.textContent).toContain("Kari Nordmann");
  });

  it("lists the faxes waiting with masked senders and shows the chosen fax's PDF", async () => {
    renderIn("en");
    expect(await screen.findByText("Faxes waiting (2)")).toBeTruthy();
    const rows = within(screen.getByRole("table")).getAllByRole("row");
    expect(rows[1]!.textContent).toContain("+47 ••••• 455");
    expect(rows[1]!.textContent).toContain("2");
    expect(rows[2]!.textContent).toContain("–");
    expect(rows[1]!.textContent).toContain("Name not yet read from the fax");
    await openFirst();
    expect(mocks.faxOpen).toHaveBeenCalledWith(7);
    expect(screen.getByTestId("pdf").textContent).toBe("JVBERi0xLjQK");
    expect(screen.getByText("Opening a fax is recorded in the audit log.")).toBeTruthy();
  });

  it("completes the draft with what was typed and shows field errors under their field", async () => {
    mocks.faxComplete
      .mockResolvedValueOnce({ status: "error", error: { code: "phone_required", message: "A phone number or a national id is required.", field: "phone" } })
      .mockResolvedValueOnce({ status: "ok", data: null });
    renderIn("nb");
    await openFirst();
    fireEvent.input(screen.getByLabelText("Fullt navn"), { target: { value: "Kari Faks" } });
    fireEvent.click(screen.getAllByRole("button", { name: "Fullfør som pasient" })[0]!);
    const error = await screen.findByText("Telefonnummer eller fødselsnummer må fylles ut.");
    expect(error.id).toBe("fax-phone-error");
    expect(screen.getByLabelText("Telefon").getAttribute("aria-invalid")).toBe("true");
    expect(mocks.faxComplete).toHaveBeenLastCalledWith(7, { name: "Kari Faks", phone: null, national_id: null });

    mocks.faxInbox.mockResolvedValue({ status: "ok", data: FAXES.slice(1) });
    fireEvent.input(screen.getByLabelText("Telefon"), { target: { value: " 91234567 " } });
    fireEvent.click(screen.getAllByRole("button", { name: "Fullfør som pasient" })[0]!);
    expect((await screen.findByRole("status")).textContent).toBe("Kari Faks er nå pasient; faksen er ute av innboksen.");
    expect(mocks.faxComplete).toHaveBeenLastCalledWith(7, { name: "Kari Faks", phone: "91234567", national_id: null });
    await waitFor(() => expect(within(screen.getByRole("table")).getAllByRole("row")).toHaveLength(2));
    expect(screen.queryByTestId("pdf")).toBeNull();
  });

  it("discards only with a reason, which the core requires", async () => {
    mocks.faxDiscard
      .mockResolvedValueOnce({ status: "error", error: { code: "invalid_input", message: "Write why the fax is discarded.", field: "reason" } })
      .mockResolvedValueOnce({ status: "ok", data: null });
    renderIn("en");
    await openFirst();
    fireEvent.click(screen.getByRole("button", { name: "Discard" }));
    expect((await screen.findByText("Write why the fax is discarded.")).id).toBe("fax-reason-error");
    fireEvent.input(screen.getByLabelText("Reason"), { target: { value: "Sent to the wrong clinic" } });
    fireEvent.click(screen.getByRole("button", { name: "Discard" }));
    expect((await screen.findByRole("status")).textContent).toBe("The fax was discarded and has left the inbox.");
    expect(mocks.faxDiscard).toHaveBeenLastCalledWith(7, "Sent to the wrong clinic");
  });

  it("says so when no fax is waiting", async () => {
    mocks.faxInbox.mockResolvedValue({ status: "ok", data: [] });
    renderIn("nb");
    expect(await screen.findByText("Ingen fakser venter.")).toBeTruthy();
  });
});
