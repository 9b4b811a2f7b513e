import { describe, expect, it } from "vitest";
import { formatDateTime, formatDuration, formatMoney, formatShortDateTime, lastMonthInClinic } from "./format";

const HOUR = 3600;

describe("formatDuration", () => {
  it("writes hours and minutes in bokmål", () => {
    expect(formatDuration(2 * HOUR + 5 * 60, "nb-NO")).toBe("2 t, 5 min");
    expect(formatDuration(2 * HOUR + 5 * 60, "nb-NO", "long")).toBe("2 timer og 5 minutter");
  });

  it("writes hours and minutes in English", () => {
    expect(formatDuration(2 * HOUR + 5 * 60, "en-GB")).toBe("2 hrs, 5 mins");
    expect(formatDuration(2 * HOUR + 5 * 60, "en-GB", "long")).toBe("2 hours and 5 minutes");
  });

  it("counts days, drops empty units and rounds down to the minute", () => {
    expect(formatDuration(26 * HOUR + 59, "en-GB", "long")).toBe("1 day and 2 hours");
    expect(formatDuration(45, "nb-NO")).toBe("0 min");
    expect(formatDuration(-90 * 60, "en-GB")).toBe("−1 hr, 30 mins");
  });

  it("refuses a duration that is not a number", () => {
    expect(() => formatDuration(Number.NaN, "nb-NO")).toThrow(RangeError);
  });
});

describe("formatDateTime", () => {
  it("follows the locale's date order and 24-hour clock", () => {
    const at = new Date("2026-11-22T13:05:00Z");
    expect(formatDateTime(at, "nb-NO", "Europe/Oslo")).toBe("22. nov. 2026, 14:05");
    expect(formatDateTime(at, "en-GB", "Europe/Oslo")).toBe("22 Nov 2026, 14:05");
  });
});

describe("formatMoney", () => {
  it("formats exact decimal strings per locale, without floating point", () => {
    expect(formatMoney("1250.00", "NOK", "nb-NO")).toBe("1\u00a0250,00\u00a0kr");
    expect(formatMoney("1250.00", "NOK", "en-GB")).toBe("NOK\u00a01,250.00");
    // Beyond what a double holds exactly: the digits are kept.
    expect(formatMoney("9007199254740993.01", "NOK", "en-GB")).toBe("NOK\u00a09,007,199,254,740,993.01");
    expect(formatMoney("0.10", "EUR", "nb-NO")).toBe("0,10\u00a0€");
  });
});

describe("formatShortDateTime", () => {
  it("leaves out this year, and names another", () => {
    const at = new Date("2026-11-22T13:05:00Z");
    const now = new Date("2026-12-01T08:00:00Z");
    const nb = formatShortDateTime(at, "nb-NO", now, "Europe/Oslo");
    expect(nb).toMatch(/^22\. nov\.?,? 14:05$/);
    expect(formatShortDateTime(at, "en-GB", now, "Europe/Oslo")).toBe("22 Nov, 14:05");
    expect(formatShortDateTime(at, "en-GB", new Date("2027-01-02T08:00:00Z"), "Europe/Oslo")).toBe("22 Nov 2026, 14:05");
  });
});

describe("lastMonthInClinic", () => {
  it("counts today in the clinic's time zone, also when it is already tomorrow there", () => {
    expect(lastMonthInClinic(new Date("2026-12-06T22:30:00Z"))).toEqual({ from: "2026-11-06", to: "2026-12-06" });
    expect(lastMonthInClinic(new Date("2026-12-06T23:30:00Z"))).toEqual({ from: "2026-11-07", to: "2026-12-07" });
  });

  it("goes back to the last day of a shorter month", () => {
    expect(lastMonthInClinic(new Date("2026-03-31T10:00:00Z"))).toEqual({ from: "2026-02-28", to: "2026-03-31" });
    expect(lastMonthInClinic(new Date("2026-01-15T10:00:00Z"))).toEqual({ from: "2025-12-15", to: "2026-01-15" });
  });
});
