import { fireEvent, render, screen, waitFor, within } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type Billing, type BillingLine } from "../bindings";
import { I18nProvider } from "../i18n";
import { BillingView } from "./AdminBilling";
import { DealPrices } from "./AdminPrices";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const line = (over: Partial<BillingLine>): BillingLine => ({
  consultation_id: 41,
  created_at: "2026-11-20T09:00:00Z",
  state: "completed",
  category: "insurance",
  patient: "Kari Nordmann",
  order_id: 7,
  price: "1250.00",
  discount: "0.00",
  total: "1250.00",
  currency: "NOK",
  no_deal_price: false,
  discount_reason: null,
  discount_set_by: null,
  discount_set_at: null,
  ...over,
});

const billing = (lines: BillingLine[], total: string): Billing => ({
  partner_id: 1,
  partner: "fjordtrygd",
  from: "2026-11-01",
  to: "2026-11-30",
  lines,
  sums: [{ currency: "NOK", consultations: lines.length, price: "1250.00", discount: "0.00", total }],
});

beforeEach(() => {
  mocks.partners.mockReset().mockResolvedValue({ status: "ok", data: [{ id: 1, name: "fjordtrygd", book_on_arrival: false }] });
  mocks.billing.mockReset().mockResolvedValue({
    status: "ok",
    data: billing([line({}), line({ consultation_id: 42, order_id: 8, price: "0.00", total: "0.00", no_deal_price: true })], "1250.00"),
  });
  mocks.orderDiscountSet.mockReset();
  mocks.partnerPrices.mockReset();
  mocks.partnerPriceSet.mockReset();
});

function renderIn(language: "en" | "nb", children: preact.ComponentChildren) {
  render(<I18nProvider initial={language}>{children}</I18nProvider>);
}

describe("BillingView", () => {
  it("lists the amounts per locale with the sum, and says when there was no deal price", async () => {
    renderIn("nb", <BillingView />);
    const row = await screen.findByText("41");
    const tr = row.closest("tr") as HTMLElement;
    expect(within(tr).getAllByText("1 250,00 kr")).toHaveLength(2);
    expect(screen.getByText("Ingen avtalepris satt")).toBeTruthy();
    expect(screen.getByText("Sum for 2 konsultasjoner")).toBeTruthy();
    // Nothing to discount on a consultation priced at 0.
    expect(screen.queryByRole("button", { name: "Gi rabatt på konsultasjon 42" })).toBeNull();
  });

  it("refuses a discount above the price without sending it, then saves a good one", async () => {
    mocks.orderDiscountSet.mockResolvedValue({
      status: "ok",
      data: line({ discount: "250.00", total: "1000.00", discount_reason: "Waited", discount_set_by: "Hanne Strand", discount_set_at: "2026-11-21T10:00:00Z" }),
    });
    renderIn("en", <BillingView />);
    fireEvent.click(await screen.findByRole("button", { name: "Give a discount on consultation 41" }));
    const amount = await screen.findByLabelText("Discount");
    fireEvent.input(amount, { target: { value: "1250,01" } });
    fireEvent.input(screen.getByLabelText("Reason"), { target: { value: "Waited" } });
    fireEvent.click(screen.getByRole("button", { name: "Save discount" }));
    await waitFor(() => expect(amount.getAttribute("aria-invalid")).toBe("true"));
    expect(screen.getByText("A discount cannot be larger than the price (NOK 1,250.00).")).toBeTruthy();
    expect(mocks.orderDiscountSet).not.toHaveBeenCalled();

    fireEvent.input(amount, { target: { value: "250" } });
    fireEvent.click(screen.getByRole("button", { name: "Save discount" }));
    await screen.findByText("Saved: consultation 41 now totals NOK 1,000.00.");
    expect(mocks.orderDiscountSet).toHaveBeenCalledWith(41, "250", "Waited");
    expect(mocks.billing).toHaveBeenCalledTimes(2);
  });

  it("needs a reason", async () => {
    renderIn("nb", <BillingView />);
    fireEvent.click(await screen.findByRole("button", { name: "Gi rabatt på konsultasjon 41" }));
    fireEvent.input(await screen.findByLabelText("Rabatt"), { target: { value: "100" } });
    fireEvent.click(screen.getByRole("button", { name: "Lagre rabatt" }));
    expect(await screen.findByText("Skriv hvorfor rabatten gis.")).toBeTruthy();
    expect(mocks.orderDiscountSet).not.toHaveBeenCalled();
  });
});

describe("DealPrices", () => {
  it("shows each partner's prices and sets one", async () => {
    const deals = (price: string | null) => ({
      status: "ok" as const,
      data: [
        {
          partner_id: 1,
          partner: "fjordtrygd",
          prices: price
            ? [{ partner_id: 1, category: "insurance", unit_price: price, currency: "NOK", set_by: "Hanne Strand", set_at: "2026-11-21T10:00:00Z" }]
            : [],
        },
      ],
    });
    mocks.partnerPrices.mockResolvedValueOnce(deals(null)).mockResolvedValue(deals("650.00"));
    mocks.partnerPriceSet.mockResolvedValue({
      status: "ok",
      data: { partner_id: 1, category: "insurance", unit_price: "650.00", currency: "NOK", set_by: "Hanne Strand", set_at: "2026-11-21T10:00:00Z" },
    });
    renderIn("nb", <DealPrices partners={[{ id: 1, name: "fjordtrygd", book_on_arrival: false }]} />);
    expect((await screen.findAllByText("Ingen avtalepris satt")).length).toBe(2);
    fireEvent.input(screen.getByLabelText("Pris per konsultasjon"), { target: { value: "-650" } });
    fireEvent.click(screen.getByRole("button", { name: "Sett pris" }));
    expect(await screen.findByText("Et beløp kan ikke være negativt.")).toBeTruthy();
    expect(mocks.partnerPriceSet).not.toHaveBeenCalled();
    fireEvent.input(screen.getByLabelText("Pris per konsultasjon"), { target: { value: "650" } });
    fireEvent.click(screen.getByRole("button", { name: "Sett pris" }));
    await screen.findByText("fjordtrygd: nye bestillinger (Forsikring) koster 650,00 kr.");
    expect(mocks.partnerPriceSet).toHaveBeenCalledWith(1, "insurance", "650", "NOK");
    await waitFor(() => expect(screen.getAllByText("Ingen avtalepris satt")).toHaveLength(1));
  });
});
