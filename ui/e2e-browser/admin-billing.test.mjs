// Deal prices and billing on the admin screen: a partner's price set in the partner admin (and a
// booking made afterwards priced with it), the billing view's amounts and sum as the database
// holds them, a discount refused next to its field (by the console, and by the core) and then
// saved with its reason, and the same in Norwegian with amounts formatted for the locale.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { calls, cliAs, DEMO, eventually, focusBecomes, launch, openConsole, serveUi, shot, signIn, sql, textBecomes } from "./support.mjs";

let ui;
let browser;
let page;
before(async () => {
  ui = await serveUi();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ui?.stop();
});
afterEach(async () => {
  if (page) {
    assert.deepEqual(page.problems, []);
    await page.context().close();
    page = null;
  }
});

const LOCALE = { en: "en-GB", nb: "nb-NO" };

/** An amount as the database writes it ("1250.00"), as the console shows it in `language`. */
const money = (amount, currency, language) =>
  new Intl.NumberFormat(LOCALE[language], { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(amount);

async function open(language) {
  page = await openConsole(browser, ui.url, language);
  await signIn(page, "admin");
  await page.locator(".price-table tbody tr").first().waitFor();
  await page.locator(".billing-table tbody tr").first().waitFor();
  return page;
}

const pricesCard = () => page.locator(".deal-prices");
const billingCard = () => page.locator(".card.billing");
const row = (consultation) => billingCard().locator(`tr[data-consultation="${consultation}"]`);

/** The demo partner's deal prices as stored. */
const storedPrices = () =>
  sql(
    `SELECT pp.category, pp.unit_price::text AS price, pp.currency FROM partner_prices pp JOIN partners p ON p.id = pp.partner_id
      WHERE p.name = '${DEMO.partner.name}' ORDER BY pp.category`,
  );

/** A consultation's line as stored: price, discount, reason, total, currency. */
const storedLine = (consultation) =>
  sql(
    `SELECT li.unit_price::text AS price, li.discount::text AS discount, li.discount_reason AS reason, o.total::text AS total, o.currency
       FROM orders o JOIN line_items li ON li.order_id = o.id WHERE o.consultation_id = ${Number(consultation)}`,
  )[0];

/** The demo partner's sums over its orders, by the database. */
const storedSums = () =>
  sql(
    `SELECT o.currency, sum(li.quantity * li.unit_price)::text AS price, sum(li.discount)::text AS discount, sum(o.total)::text AS total,
            count(*) AS n
       FROM orders o JOIN line_items li ON li.order_id = o.id JOIN consultations c ON c.id = o.consultation_id
       JOIN partners p ON p.id = c.partner_id WHERE p.name = '${DEMO.partner.name}' GROUP BY o.currency`,
  );

/** A demo consultation of the partner that has a price and no discount yet. */
const undiscounted = () =>
  sql(
    `SELECT o.consultation_id AS id FROM orders o JOIN line_items li ON li.order_id = o.id
      WHERE li.discount = 0 AND li.unit_price > 0 ORDER BY o.consultation_id LIMIT 1`,
  )[0].id;

async function checkSum(language) {
  const [sum] = storedSums();
  const cells = billingCard().locator("tfoot tr.sum-row td.amount");
  await eventually(async () => {
    assert.deepEqual(await cells.allTextContents(), [sum.price, sum.discount, sum.total].map((v) => money(v, sum.currency, language)));
  });
}

describe("deal prices and billing on the admin screen", () => {
  test("an admin sets a deal price and gives a discount, refused first", async () => {
    await open("en");
    // The partner admin shows the deal prices as stored.
    const fjord = pricesCard().locator("tbody tr", { hasText: DEMO.partner.name });
    const before = storedPrices();
    assert.deepEqual(
      await fjord.locator("td").allTextContents(),
      ["insurance", "direct"].map((c) => before.find((p) => p.category === c)).map((p) => money(p.price, p.currency, "en")),
      "insurance, then direct",
    );
    await pricesCard().getByLabel("Price per consultation").fill("-1250");
    await pricesCard().getByRole("button", { name: "Set price" }).click();
    await textBecomes(page.locator("#price-amount-error"), "An amount cannot be negative.");
    await focusBecomes(page, "price-amount");
    assert.deepEqual(await calls(page, "partner_price_set"), []);
    await pricesCard().getByLabel("Price per consultation").fill("1250");
    await pricesCard().getByRole("button", { name: "Set price" }).click();
    await textBecomes(pricesCard().locator(".alert-success"), `${DEMO.partner.name}: new bookings (Insurance) cost ${money("1250.00", "NOK", "en")}.`);
    assert.deepEqual(storedPrices().find((p) => p.category === "insurance"), { category: "insurance", price: "1250.00", currency: "NOK" });
    await textBecomes(fjord.locator("td").first(), money("1250.00", "NOK", "en"));
    await pricesCard().scrollIntoViewIfNeeded();
    await shot(page, "admin-prices-en");

    // A booking made afterwards is priced with it.
    const [{ person, partner }] = sql(
      `SELECT c.patient_person_id AS person, c.partner_id AS partner FROM consultations c ORDER BY c.id LIMIT 1`,
    );
    const booked = JSON.parse(cliAs("secretary", ["consultation", "book", "--person", String(person), "--partner", String(partner), "--json"]));
    assert.equal(storedLine(booked.id).price, "1250.00");

    // The billing view lists it once read again, with the database's amounts and sum.
    await billingCard().getByRole("button", { name: "Show" }).click();
    await textBecomes(row(booked.id).locator("td.price"), money("1250.00", "NOK", "en"));
    await checkSum("en");

    // A discount above the price is refused by the console, one with three decimals by the core.
    await row(booked.id).getByRole("button", { name: `Give a discount on consultation ${booked.id}` }).click();
    const dialog = page.getByRole("dialog", { name: `Discount on consultation ${booked.id}` });
    await dialog.getByLabel("Discount", { exact: true }).fill("1300");
    await dialog.getByLabel("Reason").fill("The patient waited two days past the deadline");
    await dialog.getByRole("button", { name: "Save discount" }).click();
    await textBecomes(page.locator("#discount-amount-error"), `A discount cannot be larger than the price (${money("1250.00", "NOK", "en")}).`);
    assert.deepEqual(await calls(page, "order_discount_set"), []);
    await dialog.getByLabel("Discount", { exact: true }).fill("12.345");
    await dialog.getByRole("button", { name: "Save discount" }).click();
    await textBecomes(page.locator("#discount-amount-error"), "An amount has at most two decimals (øre).");
    await focusBecomes(page, "discount-amount");
    assert.equal(storedLine(booked.id).discount, "0.00", "nothing written");
    await shot(page, "admin-billing-discount-refused-en");

    await dialog.getByLabel("Discount", { exact: true }).fill("250");
    await dialog.getByRole("button", { name: "Save discount" }).click();
    await dialog.waitFor({ state: "detached" });
    const stored = storedLine(booked.id);
    assert.deepEqual(stored, {
      price: "1250.00",
      discount: "250.00",
      reason: "The patient waited two days past the deadline",
      total: "1000.00",
      currency: "NOK",
    });
    await textBecomes(billingCard().locator(".alert-success"), `Saved: consultation ${booked.id} now totals ${money(stored.total, "NOK", "en")}.`);
    await textBecomes(row(booked.id).locator("td.total"), money(stored.total, "NOK", "en"));
    await textBecomes(row(booked.id).locator("td.discount .note"), new RegExp(`^The patient waited two days past the deadline \\(${DEMO.admin.name}, `));
    await checkSum("en");
    await billingCard().scrollIntoViewIfNeeded();
    await shot(page, "admin-billing-en");
  });

  test("in Norwegian, with amounts as a Norwegian reads them", async () => {
    await open("nb");
    assert.equal(await page.locator("#billing-title").textContent(), "Fakturagrunnlag");
    const fjord = pricesCard().locator("tbody tr", { hasText: DEMO.partner.name });
    const insurance = storedPrices().find((p) => p.category === "insurance");
    await textBecomes(fjord.locator("td").first(), money(insurance.price, insurance.currency, "nb"));
    assert.match(money("1250.00", "NOK", "nb"), /^1\s250,00\skr$/, "Norwegian kroner: 1 250,00 kr");
    await pricesCard().scrollIntoViewIfNeeded();
    await shot(page, "admin-prices-nb");

    const id = undiscounted();
    const line = storedLine(id);
    await textBecomes(row(id).locator("td.price"), money(line.price, line.currency, "nb"));
    await checkSum("nb");
    await row(id).getByRole("button", { name: `Gi rabatt på konsultasjon ${id}` }).click();
    const dialog = page.getByRole("dialog", { name: `Rabatt på konsultasjon ${id}` });
    await dialog.getByLabel("Rabatt", { exact: true }).fill("-95");
    await dialog.getByRole("button", { name: "Lagre rabatt" }).click();
    await textBecomes(page.locator("#discount-amount-error"), "Et beløp kan ikke være negativt.");
    await dialog.getByLabel("Rabatt", { exact: true }).fill("95,50");
    await dialog.getByRole("button", { name: "Lagre rabatt" }).click();
    await textBecomes(page.locator("#discount-reason-error"), "Skriv hvorfor rabatten gis.");
    assert.deepEqual(await calls(page, "order_discount_set"), []);
    await shot(page, "admin-billing-discount-refused-nb");
    await dialog.getByLabel("Begrunnelse").fill("Videosamtalen falt ut to ganger");
    await dialog.getByRole("button", { name: "Lagre rabatt" }).click();
    await dialog.waitFor({ state: "detached" });
    const saved = storedLine(id);
    assert.equal(saved.discount, "95.50");
    await textBecomes(billingCard().locator(".alert-success"), `Lagret: konsultasjon ${id} koster nå ${money(saved.total, saved.currency, "nb")} totalt.`);
    await textBecomes(row(id).locator("td.total"), money(saved.total, saved.currency, "nb"));
    await checkSum("nb");
    await billingCard().scrollIntoViewIfNeeded();
    await shot(page, "admin-billing-nb");
  });
});
