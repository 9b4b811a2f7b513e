import { describe, expect, it } from "vitest";
import { translate } from "./i18n";
import { cents, checkAmount, typedCents } from "./money";

const t = (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) => translate("en", key, vars);

describe("amounts", () => {
  it("counts øre exactly", () => {
    expect(cents("650.00")).toBe(65000n);
    expect(cents("0")).toBe(0n);
    expect(cents("999999999999.99")).toBe(99999999999999n);
    expect(typedCents("1 250,5")).toBe(125050n);
    expect(typedCents("0.10")).toBe(10n);
    expect(typedCents("1,250.00")).toBeNull();
  });

  it("names the field and says what is wrong", () => {
    expect(checkAmount("650,00", "amount", t)).toBeNull();
    expect(checkAmount("1,250.00", "amount", t)).toBeNull();
    expect(checkAmount(" ", "amount", t)?.message).toBe("Enter an amount, e.g. 650.00.");
    expect(checkAmount("-5", "amount", t)).toEqual({ code: "invalid_input", field: "amount", message: "An amount cannot be negative." });
    expect(checkAmount("5 kr", "amount", t)?.message).toBe("Write the amount in digits, e.g. 650.00.");
    const price = { amount: "650.00", shown: "NOK 650.00" };
    expect(checkAmount("650", "amount", t, price)).toBeNull();
    expect(checkAmount("650.01", "amount", t, price)?.message).toBe("A discount cannot be larger than the price (NOK 650.00).");
  });
});
