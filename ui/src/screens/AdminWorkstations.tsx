import { useEffect, useState } from "preact/hooks";
import { commands, type AppRole, type CreatedEnrollment, type Enrollment } from "../bindings";
import { Dialog } from "../components/Dialog";
import { ErrorAlert } from "../components/ErrorAlert";
import { StatusCell } from "../components/StatusCell";
import { FieldError } from "../components/FieldError";
import { describeError } from "../errors";
import { useI18n } from "../i18n";
import { formatDateTime } from "../i18n/format";
import { callCommand, useCommand } from "../useCommand";

const ROLES: readonly AppRole[] = ["secretary", "doctor", "customer_support", "admin"];

/** The clinic's enrolled workstations: make a one-time enrollment bundle, see which were used and by whom, revoke one. */
export function Workstations() {
  const { t, locale } = useI18n();
  const [list, setList] = useState<Enrollment[] | null>(null);
  const [revoking, setRevoking] = useState<Enrollment | null>(null);
  const [notice, setNotice] = useState("");
  const { error, setError } = useCommand();
  useEffect(() => {
    callCommand(commands.workstationsList(), { ok: setList, failed: setError });
  }, [setError]);

  const replace = (changed: Enrollment) =>
    setList((old) => {
      const rest = (old ?? []).filter((e) => e.id !== changed.id);
      return [changed, ...rest].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
    });

  function status(e: Enrollment): string {
    if (e.revoked_at) {
      const base = t("workstations.revokedOn", { when: formatDateTime(e.revoked_at, locale), who: e.revoked_by ?? t("workstations.owner") });
      return `${base} ${e.keys_rotated_at ? t("workstations.keysRotated") : t("workstations.keysNotRotated")}`;
    }
    return e.used_at ? t("workstations.active") : t("workstations.waiting");
  }

  return (
    <div class="card admin-wide" aria-labelledby="workstations-title">
      <h2 id="workstations-title">{t("workstations.title")}</h2>
      <p class="hint">{t("workstations.hint")}</p>
      <ErrorAlert error={error} />
      <p class="sr-only" role="status">
        {notice}
      </p>
      {list && list.length === 0 && <p class="muted">{t("workstations.none")}</p>}
      {list && list.length > 0 && (
        <table class="data-table workstations-table" aria-labelledby="workstations-title">
          <thead>
            <tr>
              <th scope="col">{t("workstations.label")}</th>
              <th scope="col">{t("workstations.role")}</th>
              <th scope="col">{t("workstations.created")}</th>
              <th scope="col">{t("workstations.used")}</th>
              <th scope="col">{t("workstations.status")}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((e) => (
              <tr key={e.id} class={e.revoked_at ? "retired" : ""}>
                <td>{e.label}</td>
                <td>{t(`role.${e.role}`)}</td>
                <td>
                  {formatDateTime(e.created_at, locale)}
                  <br />
                  <span class="muted">{e.created_by}</span>
                </td>
                <td>
                  {e.used_at ? (
                    <>
                      {formatDateTime(e.used_at, locale)}
                      <br />
                      <span class="muted">{e.used_by}</span>
                    </>
                  ) : (
                    t("workstations.notUsed")
                  )}
                </td>
                <StatusCell
                  statusClass="workstation-status"
                  status={status(e)}
                  action={
                    e.revoked_at
                      ? null
                      : {
                          label: t("workstations.revoke"),
                          fullLabel: t("workstations.revokeWho", { label: e.label }),
                          onClick: () => setRevoking(e),
                        }
                  }
                />
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <NewEnrollment onCreated={(made) => replace(made.enrollment)} />
      {revoking && (
        <RevokeDialog
          enrollment={revoking}
          onClose={() => setRevoking(null)}
          onRevoked={(changed) => {
            replace(changed);
            setRevoking(null);
            setNotice(t("workstations.revoked", { label: changed.label }));
          }}
        />
      )}
    </div>
  );
}

/** Confirms a revocation, saying what it does and what is left to do. */
function RevokeDialog(props: { enrollment: Enrollment; onClose: () => void; onRevoked: (e: Enrollment) => void }) {
  const { t } = useI18n();
  const { busy, error, run } = useCommand();
  return (
    <Dialog id="workstation-revoke" title={t("workstations.revokeTitle", { label: props.enrollment.label })} onClose={props.onClose}>
      <p>{t("workstations.revokeWhat")}</p>
      <p>{t("workstations.revokeRotate")}</p>
      <ErrorAlert error={error} />
      <div class="form-actions">
        <button type="button" class="button" onClick={props.onClose}>
          {t("common.cancel")}
        </button>
        <button
          type="button"
          class="button button-danger"
          aria-disabled={busy}
          onClick={() => !busy && run(commands.workstationRevoke(props.enrollment.id), { ok: props.onRevoked })}
        >
          {busy ? t("common.saving") : t("workstations.revokeConfirm")}
        </button>
      </div>
    </Dialog>
  );
}

/** Makes a one-time enrollment bundle and shows, once, the passphrase that opens it. */
function NewEnrollment(props: { onCreated: (made: CreatedEnrollment) => void }) {
  const { t } = useI18n();
  const [label, setLabel] = useState("");
  const [role, setRole] = useState<AppRole>("secretary");
  const [made, setMade] = useState<CreatedEnrollment | null>(null);
  const { busy, error, run, generalError } = useCommand();
  const labelError = error?.field === "label" ? describeError(error, t) : null;

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setMade(null);
    run(commands.workstationEnroll(label, role), {
      ok: (created) => {
        setLabel("");
        setMade(created);
        props.onCreated(created);
      },
      failed: (err) => {
        if (err.field === "label") document.getElementById("workstation-new-label")?.focus();
      },
    });
  }

  return (
    <form class="form workstation-form" onSubmit={submit} noValidate aria-labelledby="workstation-new-heading">
      <h3 id="workstation-new-heading">{t("workstations.new.title")}</h3>
      {made && (
        <div class="alert alert-success workstation-made" role="status">
          <p>{t("workstations.new.saved", { label: made.enrollment.label, file: made.file })}</p>
          <p>{t("workstations.new.passphraseIntro")}</p>
          <p class="passphrase" data-testid="workstation-passphrase">
            <code>{made.passphrase}</code>
          </p>
          <p class="hint">{t("workstations.new.passphraseOnce")}</p>
          <button type="button" class="button" onClick={() => setMade(null)}>
            {t("workstations.new.passphraseDone")}
          </button>
        </div>
      )}
      <div class={`field${labelError ? " has-error" : ""}`}>
        <label for="workstation-new-label">{t("workstations.new.label")}</label>
        <input
          id="workstation-new-label"
          autoComplete="off"
          value={label}
          onInput={(e) => setLabel(e.currentTarget.value)}
          aria-invalid={!!labelError}
          aria-describedby={labelError ? "workstation-new-label-error workstation-new-label-hint" : "workstation-new-label-hint"}
        />
        <p class="hint" id="workstation-new-label-hint">
          {t("workstations.new.labelHint")}
        </p>
        <FieldError id="workstation-new-label-error" message={labelError} />
      </div>
      <div class="field">
        <label for="workstation-new-role">{t("workstations.new.role")}</label>
        <select id="workstation-new-role" value={role} onChange={(e) => setRole(e.currentTarget.value as AppRole)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {t(`role.${r}`)}
            </option>
          ))}
        </select>
      </div>
      <ErrorAlert error={generalError(["label"])} />
      <button type="submit" class="button button-primary" aria-disabled={busy}>
        {busy ? t("common.saving") : t("workstations.new.submit")}
      </button>
    </form>
  );
}
