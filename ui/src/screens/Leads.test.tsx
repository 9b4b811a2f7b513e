import { fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type Lead, type Serviceability } from "../bindings";
import { OpenPatientCard } from "../components/PatientCardButton";
import { I18nProvider, type Language } from "../i18n";
import { Leads } from "./Leads";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

function lead(id: number, over: Partial<Lead> = {}): Lead {
  return {
    patient_person_id: id,
    patient_id: 500 + id,
    name: `Lead ${id}`,
    name_known: true,
    entry_point: "cold_call",
    came_in_at: "2026-12-06T09:00:00Z",
    last_call_at: "2026-12-06T08:55:00Z",
    last_call_seconds: 184,
    phone_masked: "+47*****001",
    date_of_birth: null,
    ...over,
  };
}

const failing: Serviceability = {
  passed: false,
  criteria: [
    { criterion: "age", passed: false, reason: "under_age", field: "date_of_birth" },
    { criterion: "coverage", passed: true, reason: "covered", field: "postcode" },
    { criterion: "channel", passed: false, reason: "not_offered", field: "channel" },
  ],
};

const passing: Serviceability = {
  passed: true,
  criteria: [
    { criterion: "age", passed: true, reason: "adult", field: "date_of_birth" },
    { criterion: "coverage", passed: true, reason: "covered", field: "postcode" },
    { criterion: "channel", passed: true, reason: "offered", field: "channel" },
  ],
};

const opened: number[] = [];

function renderLeads(language: Language = "en") {
  render(
    <I18nProvider initial={language}>
      <OpenPatientCard.Provider value={(id) => opened.push(id)}>
        <Leads />
      </OpenPatientCard.Provider>
    </I18nProvider>,
  );
}

async function openLead(name: string) {
  fireEvent.click(await screen.findByText(name));
  return screen.findByRole("complementary");
}

function type(label: string, value: string) {
  fireEvent.input(screen.getByLabelText(label), { target: { value } });
}

describe("Leads", () => {
  beforeEach(() => {
    for (const m of Object.values(mocks)) m.mockReset();
    opened.length = 0;
  });

  it("lists the leads with masked phones, and says when there are none", async () => {
    mocks.leadsList.mockResolvedValueOnce({ status: "ok", data: [lead(1, { name: "Kristin Hovland" }), lead(2, { name: "Unknown caller", name_known: false, last_call_at: null, phone_masked: null })] });
    renderLeads();
    const table = await screen.findByRole("grid", { name: "Leads without an account" });
    await within(table).findByText("Kristin Hovland");
    expect(within(table).getByText("+47*****001")).toBeTruthy();
    expect(within(table).getAllByText("Called the clinic")).toHaveLength(2);
    expect(within(table).getByText("No call recorded")).toBeTruthy();
    expect(screen.getByText("2 without an account")).toBeTruthy();
  });

  it("shows the empty state in bokmål", async () => {
    mocks.leadsList.mockResolvedValueOnce({ status: "ok", data: [] });
    renderLeads("nb");
    expect(await screen.findByText("Ingen interessenter: alle som har ringt, er allerede pasienter.")).toBeTruthy();
    expect(screen.getByRole("heading", { name: "Interessenter" })).toBeTruthy();
  });

  it("names a caller the call tracking knew no name for in the console's language, and asks for the name", async () => {
    mocks.leadsList.mockResolvedValue({ status: "ok", data: [lead(3, { name: "Unknown caller", name_known: false })] });
    renderLeads("nb");
    const panel = await openLead("Ukjent innringer");
    expect(within(panel).getByRole("heading", { name: "Ukjent innringer" })).toBeTruthy();
    expect(within(panel).getByLabelText<HTMLInputElement>("Fullt navn").value).toBe("");
  });

  it("shows a failed list read", async () => {
    mocks.leadsList.mockResolvedValueOnce({ status: "error", error: { code: "forbidden", message: "Your role (secretary) cannot see and convert leads; only support agents and administrators may." } });
    renderLeads();
    expect((await screen.findByRole("alert")).textContent).toContain("cannot see and convert leads");
  });

  it("checks a lead criterion by criterion, pre-filled with what is known", async () => {
    mocks.leadsList.mockResolvedValue({ status: "ok", data: [lead(7, { name: "Jonas Berg", date_of_birth: "2011-03-30" })] });
    mocks.leadCheck.mockResolvedValueOnce({ status: "ok", data: failing });
    renderLeads();
    const panel = await openLead("Jonas Berg");
    expect(within(panel).getByLabelText<HTMLInputElement>("Full name").value).toBe("Jonas Berg");
    expect(within(panel).getByLabelText<HTMLInputElement>("Date of birth").value).toBe("2011-03-30");
    type("Postcode", "0150");
    fireEvent.change(within(panel).getByLabelText("Consultations by"), { target: { value: "phone" } });
    fireEvent.click(within(panel).getByRole("button", { name: "Check" }));
    const result = await within(panel).findByText("The clinic cannot serve them");
    expect(mocks.leadCheck).toHaveBeenCalledWith({
      patient_person_id: 7,
      name: "Jonas Berg",
      email: null,
      date_of_birth: "2011-03-30",
      national_id: null,
      postcode: "0150",
      channel: "phone",
    });
    const check = result.closest("section")!;
    const item = (criterion: string) => check.querySelector(`[data-criterion="${criterion}"]`)!;
    expect(item("age").className).toBe("criterion-failed");
    expect(item("age").textContent).toContain("under 18; the clinic serves adults.");
    expect(item("coverage").className).toBe("criterion-passed");
    expect(item("channel").textContent).toContain("the clinic does not offer this channel.");
    // Changing a fact clears what was checked.
    type("Postcode", "0151");
    await waitFor(() => expect(within(panel).queryByText("The clinic cannot serve them")).toBeNull());
  });

  it("shows a refused conversion's criteria and a field's error under its field", async () => {
    mocks.leadsList.mockResolvedValue({ status: "ok", data: [lead(7, { name: "Jonas Berg" })] });
    mocks.leadConvert
      .mockResolvedValueOnce({ status: "error", error: { code: "invalid_input", field: "postcode", message: "A postcode has four digits." } })
      .mockResolvedValueOnce({
        status: "error",
        error: { code: "invalid_input", field: "date_of_birth", message: "The lead cannot be converted: age; channel.", details: { criteria: failing.criteria } } as never,
      });
    renderLeads("nb");
    const panel = await openLead("Jonas Berg");
    fireEvent.click(within(panel).getByRole("button", { name: "Gjør til pasient" }));
    expect((await within(panel).findByText("Et postnummer har fire siffer.")).id).toBe("lead-postcode-error");
    expect(within(panel).getByLabelText("Postnummer").getAttribute("aria-invalid")).toBe("true");
    fireEvent.click(within(panel).getByRole("button", { name: "Gjør til pasient" }));
    await within(panel).findByText("Klinikken kan ikke ta imot dem");
    expect(within(panel).getByText("under 18 år; klinikken tar imot voksne.")).toBeTruthy();
    expect(within(panel).queryByText("Et postnummer har fire siffer.")).toBeNull();
  });

  it("converts a lead and links to the new patient's card", async () => {
    mocks.leadsList
      .mockResolvedValueOnce({ status: "ok", data: [lead(7, { name: "Unknown caller", name_known: false })] })
      .mockResolvedValueOnce({ status: "ok", data: [] });
    let answer: (v: Awaited<ReturnType<typeof commands.leadConvert>>) => void = () => undefined;
    mocks.leadConvert.mockReturnValueOnce(new Promise((resolve) => (answer = resolve)));
    renderLeads();
    const panel = await openLead("Unknown caller");
    type("Full name", "Nora Lead");
    type("E-mail", "nora@example.com");
    type("Date of birth", "1985-06-01");
    type("Postcode", "5003");
    fireEvent.change(within(panel).getByLabelText("Consultations by"), { target: { value: "video" } });
    fireEvent.click(within(panel).getByRole("button", { name: "Convert to patient" }));
    // Busy while the conversion runs, and a second click sends nothing.
    const busy = await within(panel).findByRole("button", { name: "Converting…" });
    expect(busy.getAttribute("aria-disabled")).toBe("true");
    fireEvent.click(busy);
    expect(mocks.leadConvert).toHaveBeenCalledTimes(1);
    expect(mocks.leadConvert.mock.calls[0]![0]).toMatchObject({ name: "Nora Lead", email: "nora@example.com", channel: "video", postcode: "5003" });
    answer({ status: "ok", data: { patient_person_id: 7, patient_id: 507, user_id: 3, name: "Nora Lead", serviceability: passing } });
    expect((await screen.findByRole("status")).textContent).toContain("Nora Lead is now a patient (patient number 507).");
    await screen.findByText("No leads: every caller is a patient already.");
    expect(screen.queryByRole("complementary")).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: /Nora Lead/ }));
    expect(opened).toEqual([7]);
  });
});
