// Locale-aware formatting for dates, times and durations, built on Intl only.

export type DateInput = Date | string | number;

function toDate(value: DateInput): Date {
  return value instanceof Date ? value : new Date(value);
}

/** "22. nov. 2026, 14:05" (nb-NO) / "22 Nov 2026, 14:05" (en-GB). */
export function formatDateTime(value: DateInput, locale: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone }).format(
    toDate(value),
  );
}

/**
 * "22. nov., 14:05" (nb-NO) / "22 Nov, 14:05" (en-GB): a date and time for a list, with the year
 * only when it is not this year's.
 */
export function formatShortDateTime(value: DateInput, locale: string, now: DateInput = Date.now(), timeZone?: string): string {
  const date = toDate(value);
  const year = new Intl.DateTimeFormat(locale, { year: "numeric", timeZone });
  const sameYear = year.format(date) === year.format(toDate(now));
  return new Intl.DateTimeFormat(locale, {
    day: "numeric",
    month: "short",
    year: sameYear ? undefined : "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone,
  }).format(date);
}

/** "22. nov. 2026" (nb-NO) / "22 Nov 2026" (en-GB). */
export function formatDate(value: DateInput, locale: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone }).format(toDate(value));
}

/** "14:05" in both languages. */
export function formatTime(value: DateInput, locale: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(locale, { timeStyle: "short", timeZone }).format(toDate(value));
}

export type DurationStyle = "short" | "long";

const UNITS = [
  ["day", 86_400],
  ["hour", 3_600],
  ["minute", 60],
] as const;

/**
 * A duration given in seconds, to the minute: "2 t, 5 min" / "2 hrs, 5 mins" (short) or
 * "2 timer og 5 minutter" / "2 hours and 5 minutes" (long). Under a minute reads "0 min".
 * Negative durations are shown with a leading minus sign.
 */
export function formatDuration(seconds: number, locale: string, style: DurationStyle = "short"): string {
  if (!Number.isFinite(seconds)) throw new RangeError("duration must be a finite number of seconds");
  const sign = seconds < 0 ? "−" : "";
  let rest = Math.floor(Math.abs(seconds) / 60) * 60;
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) parts.push(formatUnit(count, unit, locale, style));
  }
  if (parts.length === 0) parts.push(formatUnit(0, "minute", locale, style));
  const list = new Intl.ListFormat(locale, { type: style === "long" ? "conjunction" : "unit", style: style === "long" ? "long" : "short" });
  return sign + list.format(parts);
}

function formatUnit(count: number, unit: string, locale: string, style: DurationStyle): string {
  return new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: style }).format(count);
}

/**
 * An exact amount, as the core sends it ("1250.00"), in its currency: "1 250,00 kr" (nb-NO) /
 * "NOK 1,250.00" (en-GB). Intl formats the decimal string itself, never a floating-point number.
 */
export function formatMoney(amount: string, currency: string, locale: string): string {
  return new Intl.NumberFormat(locale, { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(
    amount as Intl.StringNumericLiteral,
  );
}

/** The clinic's time zone: the insurer report and billing periods are dates in it. */
export const CLINIC_TIME_ZONE = "Europe/Oslo";

/** A period's default: from the same day a month ago to today, as dates (YYYY-MM-DD) in the clinic's time zone. */
export function lastMonthInClinic(now: Date = new Date()): { from: string; to: string } {
  // The calendar date in the clinic's zone, from its parts (a locale's own date format varies).
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: CLINIC_TIME_ZONE, year: "numeric", month: "numeric", day: "numeric" }).formatToParts(now);
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  const [y, m, d] = [part("year"), part("month"), part("day")];
  // The same day of the previous month, or its last day when it is shorter.
  const lastOfPrevious = new Date(Date.UTC(y, m - 1, 0));
  const back = new Date(Date.UTC(y, m - 2, Math.min(d, lastOfPrevious.getUTCDate())));
  const iso = (date: Date) => date.toISOString().slice(0, 10);
  return { from: iso(back), to: iso(new Date(Date.UTC(y, m - 1, d))) };
}
