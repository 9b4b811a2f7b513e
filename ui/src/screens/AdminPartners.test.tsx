import { fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands } from "../bindings";
import { I18nProvider, translate } from "../i18n";
import { checkPartner, Partners } from "./AdminPartners";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate("en", key, vars);

beforeEach(() => {
  mocks.partners.mockReset().mockResolvedValue({ status: "ok", data: [{ id: 1, name: "fjordtrygd", book_on_arrival: false }] });
  mocks.partnerAdd.mockReset();
  mocks.partnerSetBookOnArrival.mockReset();
});

describe("checkPartner", () => {
  const good = { name: "nordvakt", deadline_working_days: 2, is_test_partner: false, secret: null, book_on_arrival: false };
  it("accepts a good partner, with a generated or an entered secret", () => {
    expect(checkPartner(good, t)).toBeNull();
    expect(checkPartner({ ...good, secret: "anything the core will check" }, t)).toBeNull();
  });
  it("names the first bad field", () => {
    expect(checkPartner({ ...good, name: "Nordvakt" }, t)?.field).toBe("name");
    expect(checkPartner({ ...good, name: "-x" }, t)?.field).toBe("name");
    expect(checkPartner({ ...good, deadline_working_days: 0 }, t)?.field).toBe("deadline_days");
    expect(checkPartner({ ...good, deadline_working_days: 61 }, t)?.field).toBe("deadline_days");
    expect(checkPartner({ ...good, deadline_working_days: 1.5 }, t)?.field).toBe("deadline_days");
    expect(checkPartner({ ...good, secret: "  " }, t)?.message).toBe("Enter the secret, or let the console generate one.");
  });
});

describe("Partners", () => {
  function renderPartners() {
    render(
      <I18nProvider initial="en">
        <Partners />
      </I18nProvider>,
    );
  }

  it("shows the generated secret once and forgets it when acknowledged", async () => {
    mocks.partnerAdd.mockResolvedValue({
      status: "ok",
      data: {
        partner: {
          id: 2,
          name: "nordvakt",
          organization_id: 12,
          clinic_id: 1,
          is_test_partner: false,
          deadline_working_days: 2,
          book_on_arrival: false,
        },
        secret: "whsec_dGhpcy1pcy1ub3QtYS1yZWFsLXNlY3JldC0xMjM0NTY=",
      },
    });
    renderPartners();
    fireEvent.input(await screen.findByLabelText("Name"), { target: { value: "nordvakt" } });
    fireEvent.click(screen.getByRole("button", { name: "Add partner" }));
    const secret = await screen.findByLabelText<HTMLInputElement>("Webhook secret of nordvakt");
    expect(secret.value).toBe("whsec_dGhpcy1pcy1ub3QtYS1yZWFsLXNlY3JldC0xMjM0NTY=");
    expect(secret.readOnly).toBe(true);
    expect(mocks.partnerAdd).toHaveBeenCalledWith({
      name: "nordvakt",
      deadline_working_days: 2,
      is_test_partner: false,
      secret: null,
      book_on_arrival: false,
    });
    fireEvent.click(screen.getByRole("button", { name: "I have passed it on" }));
    await waitFor(() => expect(screen.queryByLabelText("Webhook secret of nordvakt")).toBeNull());
  });

  it("switches a partner to booking on arrival, and shows it once the console saved it", async () => {
    let saved = false;
    mocks.partners.mockImplementation(() => Promise.resolve({ status: "ok", data: [{ id: 1, name: "fjordtrygd", book_on_arrival: saved }] }));
    mocks.partnerSetBookOnArrival.mockImplementation((id, on) => {
      saved = on;
      return Promise.resolve({ status: "ok", data: { id, name: "fjordtrygd", book_on_arrival: on } });
    });
    renderPartners();
    const box = await screen.findByLabelText<HTMLInputElement>("Book referrals from fjordtrygd on arrival");
    expect(box.checked).toBe(false);
    expect(screen.getByText("· Screened first")).toBeTruthy();
    fireEvent.click(box);
    expect(mocks.partnerSetBookOnArrival).toHaveBeenCalledWith(1, true);
    expect(await screen.findByText("fjordtrygd: referrals are now booked on arrival.")).toBeTruthy();
    await waitFor(() => expect(screen.getByLabelText<HTMLInputElement>("Book referrals from fjordtrygd on arrival").checked).toBe(true));
    expect(screen.getByText("· Booked on arrival")).toBeTruthy();
  });

  it("refuses a bad name without sending it", async () => {
    renderPartners();
    fireEvent.input(await screen.findByLabelText("Name"), { target: { value: "Nord Vakt" } });
    fireEvent.click(screen.getByRole("button", { name: "Add partner" }));
    const name = screen.getByLabelText("Name");
    await waitFor(() => expect(name.getAttribute("aria-invalid")).toBe("true"));
    expect(document.activeElement).toBe(name);
    expect(mocks.partnerAdd).not.toHaveBeenCalled();
  });
});
