import type { Error as AppError, ErrorCode } from "./bindings";
import type { MessageKey, Translate } from "./i18n";

export type { AppError, ErrorCode };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** True for the typed error every command returns. */
export function isAppError(value: unknown): value is AppError {
  return isRecord(value) && typeof value.code === "string" && typeof value.message === "string";
}

/**
 * Commands reject with the core's typed error. Tauri itself can also reject (a badly formed
 * call, a denied permission) with a plain string, and a broken bridge throws a JavaScript
 * Error; both are shown as unexpected errors rather than lost.
 */
export function toAppError(value: unknown): AppError {
  if (isAppError(value)) return value;
  const message =
    typeof value === "string" ? value : value instanceof Error ? value.message : JSON.stringify(value);
  return { code: "internal", message };
}

// Codes whose meaning is fully fixed by the code itself, so the console can say it in the
// chosen language. Every other error, and any error about a particular field, shows the core's
// own message, which is more specific.
const TRANSLATED: Partial<Record<ErrorCode, MessageKey>> = {
  unauthorized: "error.unauthorized",
  database_unavailable: "error.database_unavailable",
};

/** The text to show a person for an error. */
export function describeError(error: AppError, t: Translate): string {
  const key = error.field ? undefined : TRANSLATED[error.code];
  return key ? t(key) : error.message;
}
