// Amounts as the console handles them: exact decimal strings from the core ("650.00"), typed
// amounts checked before they are sent, and compared in whole øre (bigint), never as floats.

import type { AppError } from "./errors";
import type { Translate } from "./i18n";

/** The øre of an amount the core sent ("650.00", "0"). */
export function cents(amount: string): bigint {
  const [whole = "0", fraction = ""] = amount.split(".");
  return BigInt(whole) * 100n + BigInt((fraction + "00").slice(0, 2));
}

/** The øre of an amount typed plainly ("650", "650.5", "650,50", "1 250,00"); null when it is written otherwise (the core then reads it). */
export function typedCents(text: string): bigint | null {
  const plain = text.replace(/[\s\u00a0\u202f]/g, "");
  const m = /^(\d+)(?:[.,](\d{1,2}))?$/.exec(plain);
  return m ? cents(`${m[1]}.${m[2] ?? "0"}`) : null;
}

/**
 * Checks an amount before it is sent, as the core does (which also reads grouped forms such as
 * "1,250.00" and has the last word): required, not negative, digits; not above `atMost` (an
 * amount of the core's, formatted as `atMostShown`) when given. The error names `field`.
 */
export function checkAmount(
  text: string,
  field: string,
  t: Translate,
  atMost?: { amount: string; shown: string },
): AppError | null {
  const invalid = (message: string): AppError => ({ code: "invalid_input", message, field });
  const plain = text.replace(/[\s\u00a0\u202f]/g, "");
  if (!plain) return invalid(t("money.amountRequired"));
  if (/^[-\u2212]/.test(plain)) return invalid(t("money.amountNegative"));
  if (!/^[\d.,]+$/.test(plain) || !/\d/.test(plain)) return invalid(t("money.amountFormat"));
  const typed = typedCents(plain);
  if (atMost && typed !== null && typed > cents(atMost.amount)) return invalid(t("money.aboveDiscountable", { price: atMost.shown }));
  return null;
}
