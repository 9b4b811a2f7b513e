import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { commands, type StaffMember } from "../bindings";
import { FieldError } from "../components/FieldError";
import type { ErrorCode } from "../errors";
import { useI18n, type MessageKey } from "../i18n";
import { callCommand, useCommand } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";
import { StatusCell } from "../components/StatusCell";

/** The clinic's staff and their roles; admins deactivate and reactivate them (never themselves). */
export function StaffList(props: { me: number | null }) {
  const { t } = useI18n();
  const [staff, setStaff] = useState<StaffMember[] | null>(null);
  const { error, setError, run } = useCommand();
  const [notice, setNotice] = useState("");
  useEffect(() => {
    callCommand(commands.staffList(), { ok: setStaff, failed: setError });
  }, [setError]);

  function toggle(s: StaffMember) {
    run(commands.staffSetActive(s.id, !s.active), {
      ok: (changed) => {
        setStaff((old) => (old ?? []).map((x) => (x.id === changed.id ? changed : x)));
        setNotice(t(changed.active ? "staff.reactivated" : "staff.deactivated", { name: changed.name }));
      },
    });
  }

  return (
    <div class="card" aria-labelledby="staff-title">
      <h2 id="staff-title">{t("staff.title")}</h2>
      <ErrorAlert error={error} />
      <p class="sr-only" role="status">
        {notice}
      </p>
      <table class="data-table staff-table" aria-labelledby="staff-title">
        <thead>
          <tr>
            <th scope="col">{t("staff.name")}</th>
            <th scope="col">{t("staff.role")}</th>
            <th scope="col">{t("staff.status")}</th>
          </tr>
        </thead>
        <tbody>
          {staff?.map((s) => (
            <tr key={s.id} class={s.active ? "" : "retired"}>
              <td>
                {s.name}
                <br />
                <span class="muted">{s.login}</span>
              </td>
              <td>{t(`role.${s.role}`)}</td>
              <StatusCell
                statusClass="staff-status"
                status={s.active ? t("staff.active") : t("staff.inactive")}
                action={
                  s.id === props.me
                    ? null
                    : {
                        label: s.active ? t("staff.deactivate") : t("staff.reactivate"),
                        fullLabel: t(s.active ? "staff.deactivateWho" : "staff.reactivateWho", { name: s.name }),
                        onClick: () => toggle(s),
                      }
                }
              />
            </tr>
          ))}
        </tbody>
      </table>
      <p class="hint">{t("staff.hint")}</p>
      <AddStaff onAdded={(m) => setStaff((old) => [...(old ?? []), m])} />
    </div>
  );
}

const STAFF_FIELDS = ["email", "name", "role", "password"] as const;
type StaffField = (typeof STAFF_FIELDS)[number];

/** Adds a staff member, with their own login, to the administrator's clinic. */
function AddStaff(props: { onAdded: (m: StaffMember) => void }) {
  const { t } = useI18n();
  const empty: Record<StaffField, string> = { email: "", name: "", role: "doctor", password: "" };
  const [values, setValues] = useState(empty);
  const { busy, error, run, generalError } = useCommand();
  const [added, setAdded] = useState<StaffMember | null>(null);

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setAdded(null);
    run(commands.staffAdd(values), {
      ok: (member) => {
        setValues(empty);
        setAdded(member);
        props.onAdded(member);
      },
      failed: (err) => {
        if (err.field) document.getElementById(`staff-new-${err.field}`)?.focus();
      },
    });
  }

  // The name and address errors are those of the onboarding form, said in the chosen language.
  const SAID: Partial<Record<ErrorCode, MessageKey>> = {
    name_required: "onboard.error.name_required",
    invalid_name: "onboard.error.invalid_name",
    name_too_long: "onboard.error.name_too_long",
    email_required: "onboard.error.email_required",
    invalid_email_format: "onboard.error.invalid_email_format",
  };
  const fieldError = (f: StaffField) => {
    if (error?.field !== f) return null;
    const key = SAID[error.code];
    return key ? t(key) : error.message;
  };
  const general = generalError(STAFF_FIELDS);
  const field = (f: StaffField, input: JSX.Element, hint?: string) => (
    <div class={`field${fieldError(f) ? " has-error" : ""}`} key={f}>
      <label for={`staff-new-${f}`}>{t(`staff.new.${f}` as "staff.new.email")}</label>
      {input}
      {hint && (
        <p class="hint" id={`staff-new-${f}-hint`}>
          {hint}
        </p>
      )}
      <FieldError id={`staff-new-${f}-error`} message={fieldError(f)} />
    </div>
  );
  const described = (f: StaffField, hint?: boolean) =>
    [fieldError(f) ? `staff-new-${f}-error` : "", hint ? `staff-new-${f}-hint` : ""].filter(Boolean).join(" ") || undefined;
  const set = (f: StaffField) => (e: Event) => setValues((v) => ({ ...v, [f]: (e.target as HTMLInputElement).value }));

  return (
    <form class="form staff-form" onSubmit={submit} noValidate aria-labelledby="staff-new-heading">
      <h3 id="staff-new-heading">{t("staff.new.title")}</h3>
      {added && (
        <div class="alert alert-success" role="status">
          {t("staff.new.added", { name: added.name, login: added.login })}
        </div>
      )}
      {field(
        "email",
        <input id="staff-new-email" type="email" autoComplete="off" value={values.email} onInput={set("email")}
          aria-invalid={!!fieldError("email")} aria-describedby={described("email", true)} />,
        t("staff.new.emailHint"),
      )}
      {field(
        "name",
        <input id="staff-new-name" autoComplete="off" value={values.name} onInput={set("name")}
          aria-invalid={!!fieldError("name")} aria-describedby={described("name")} />,
      )}
      {field(
        "role",
        <select id="staff-new-role" value={values.role} onChange={set("role")} aria-invalid={!!fieldError("role")} aria-describedby={described("role")}>
          {(["secretary", "doctor", "customer_support", "admin"] as const).map((r) => (
            <option key={r} value={r}>
              {t(`role.${r}`)}
            </option>
          ))}
        </select>,
      )}
      {field(
        "password",
        <input id="staff-new-password" type="password" autoComplete="new-password" value={values.password} onInput={set("password")}
          aria-invalid={!!fieldError("password")} aria-describedby={described("password", true)} />,
        t("staff.new.passwordHint"),
      )}
      <ErrorAlert error={general} />
      <button type="submit" class="button button-primary" aria-disabled={busy}>
        {busy ? t("common.saving") : t("staff.new.submit")}
      </button>
    </form>
  );
}
