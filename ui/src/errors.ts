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

// Codes whose meaning is fully fixed by the code itself, so the console always says them in the
// chosen language.
const ALWAYS_TRANSLATED: Partial<Record<ErrorCode, MessageKey>> = {
  unauthorized: "error.unauthorized",
  database_unavailable: "error.database_unavailable",
  clinical_keys_unavailable: "error.clinical_keys_unavailable",
};

// Codes with a general sentence in every language. The core's own message is more specific (it
// names the state, the form or the limit) but is written in English, so it is shown when the
// console speaks English, and the sentence is shown otherwise.
const GENERAL: Partial<Record<ErrorCode, MessageKey>> = {
  forbidden: "error.forbidden",
  not_found: "error.not_found",
  already_exists: "error.already_exists",
  patient_already_exists: "error.patient_already_exists",
  invalid_state_transition: "error.invalid_state_transition",
  forms_unsigned: "error.forms_unsigned",
  form_template_changed: "error.form_template_changed",
  clerk_api_error: "error.clerk_api_error",
  keys_unavailable: "error.keys_unavailable",
  configuration: "error.configuration",
  payload_too_large: "error.payload_too_large",
  invalid_input: "error.invalid_input",
  weak_password: "error.weak_password",
  internal: "error.internal",
};

// Why the database server was not connected to (the TLS rule, docs/operations.md). The error sits
// under the Server field; the core's message names the host and the mode but is in English, so it
// is shown when the console speaks English and a sentence of the chosen language otherwise.
const CONNECTION_SECURITY: Partial<Record<ErrorCode, MessageKey>> = {
  insecure_database_connection: "error.insecure_database_connection",
  database_tls_unavailable: "error.database_tls_unavailable",
  untrusted_database_certificate: "error.untrusted_database_certificate",
  database_certificate_name_mismatch: "error.database_certificate_name_mismatch",
};

// Refusals of a workstation enrollment bundle: fixed by the code, said in the chosen language.
const ENROLLMENT: Partial<Record<ErrorCode, MessageKey>> = {
  wrong_passphrase: "error.wrong_passphrase",
  bundle_tampered: "error.bundle_tampered",
  enrollment_used: "error.enrollment_used",
  enrollment_revoked: "error.enrollment_revoked",
};

/** The text to show a person for an error. */
export function describeError(error: AppError, t: Translate): string {
  const enrollment = ENROLLMENT[error.code];
  if (enrollment) return t(enrollment);
  const security = CONNECTION_SECURITY[error.code];
  if (security && t("error.showCoreMessages") !== "yes") return t(security);
  const always = error.field ? undefined : ALWAYS_TRANSLATED[error.code];
  if (always) return t(always);
  // A field's error sits under its field and says what the field needs; it is kept as written.
  const general = error.field ? undefined : GENERAL[error.code];
  if (general && t("error.showCoreMessages") !== "yes") return t(general);
  return error.message;
}

/**
 * For the few failures a person cannot be shown (the screen they concern is gone, or the work is a
 * background help): logs `reason` with the error, so it is never silently lost.
 */
export function logError(reason: string, error: unknown): void {
  const e = toAppError(error);
  console.error(`Digimed console: ${reason} (${e.code}: ${e.message})`);
}
