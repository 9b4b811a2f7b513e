import { describe, expect, it } from "vitest";
import { describeError, toAppError } from "./errors";
import { translate } from "./i18n";
import type { Language } from "./i18n";

const t = (language: Language) => (key: Parameters<typeof translate>[1], vars?: Record<string, string | number>) =>
  translate(language, key, vars);

describe("describeError", () => {
  const state = {
    code: "invalid_state_transition" as const,
    message: "The consultation is in_progress; it cannot be cancelled.",
    field: null,
  };

  it("shows the core's specific message in English", () => {
    expect(describeError(state, t("en"))).toBe(state.message);
  });

  it("says it in Norwegian, without the core's English message, in bokmål", () => {
    const text = describeError(state, t("nb"));
    expect(text).toBe(translate("nb", "error.invalid_state_transition"));
    expect(text).not.toContain("cannot");
  });

  it("always translates wrong credentials and an unreachable database", () => {
    const e = { code: "unauthorized" as const, message: "password authentication failed", field: null };
    expect(describeError(e, t("en"))).toBe("Wrong username or password.");
    expect(describeError(e, t("nb"))).toBe("Feil brukernavn eller passord.");
  });

  it("says why the database server was refused at TLS in the chosen language, under the Server field", () => {
    const wrongCa = {
      code: "untrusted_database_certificate" as const,
      message:
        "The database server db.clinic.example presented a certificate that is not signed by a CA this computer trusts: give the clinic's CA certificate with sslrootcert, or ask IT for it.",
      field: "server",
    };
    expect(describeError(wrongCa, t("en"))).toBe(wrongCa.message);
    expect(describeError(wrongCa, t("nb"))).toBe(translate("nb", "error.untrusted_database_certificate"));
    const wrongName = { ...wrongCa, code: "database_certificate_name_mismatch" as const, message: "not made out to 10.0.0.5" };
    expect(describeError(wrongName, t("nb"))).toMatch(/ikke utstedt for vertsnavnet/);
    const refused = { ...wrongCa, code: "insecure_database_connection" as const, message: "Refusing to connect" };
    expect(describeError(refused, t("nb"))).toMatch(/sslmode=require/);
  });

  it("keeps a field's error as written, since it says what that field needs", () => {
    const e = { code: "invalid_input" as const, message: "Enter your password.", field: "password" };
    expect(describeError(e, t("en"))).toBe(e.message);
    expect(describeError(e, t("nb"))).toBe(e.message);
  });

  it("turns what is not the typed error into an internal one, shown in the chosen language", () => {
    const e = toAppError("command not allowed");
    expect(e.code).toBe("internal");
    expect(describeError(e, t("en"))).toBe("command not allowed");
    expect(describeError(e, t("nb"))).toBe(translate("nb", "error.internal"));
  });
});
