import { useEffect, useState } from "preact/hooks";
import { commands, type AuditEntry, type ChainReport } from "../bindings";
import { toAppError, type AppError } from "../errors";
import { formatDateTime } from "../i18n/format";
import { useI18n } from "../i18n";
import { callCommand } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";

/** The newest rows of the audit log, and a check of its hash chain. */
export function AuditLog() {
  const { t, locale } = useI18n();
  const [rows, setRows] = useState<AuditEntry[] | null>(null);
  const [report, setReport] = useState<ChainReport | null>(null);
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<AppError | null>(null);

  function load(before: number | null) {
    callCommand(commands.auditRecent(before), {
      ok: (page) => setRows((old) => (before === null ? page : [...(old ?? []), ...page])),
      failed: setError,
    });
  }
  useEffect(() => load(null), []);

  // Not `useCommand`: a check that succeeds leaves an earlier error of the list in place.
  function verify() {
    setChecking(true);
    commands
      .auditVerify()
      .then(
        (r) => (r.status === "ok" ? setReport(r.data) : setError(toAppError(r.error))),
        (e: unknown) => setError(toAppError(e)),
      )
      .finally(() => setChecking(false));
  }

  const last = rows && rows.length > 0 ? rows[rows.length - 1] : undefined;
  return (
    <div class="card admin-wide" aria-labelledby="audit-title">
      <div class="side-panel-head">
        <h2 id="audit-title">{t("audit.title")}</h2>
        <button type="button" class="button button-secondary" aria-disabled={checking} onClick={verify}>
          {checking ? t("audit.verifying") : t("audit.verify")}
        </button>
      </div>
      {report && (
        <p class={`alert ${report.first_broken_id ? "alert-error" : "alert-success"}`} role="status">
          {report.first_broken_id
            ? t("audit.broken", { id: report.first_broken_id, problem: report.problem ?? "" })
            : t("audit.intact", { rows: report.rows })}
        </p>
      )}
      <ErrorAlert error={error} />
      <table class="data-table audit-table" aria-labelledby="audit-title">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">{t("audit.when")}</th>
            <th scope="col">{t("audit.who")}</th>
            <th scope="col">{t("audit.action")}</th>
            <th scope="col">{t("audit.what")}</th>
          </tr>
        </thead>
        <tbody>
          {rows?.map((r) => (
            <tr key={r.id}>
              <td class="num">{r.id}</td>
              <td>{formatDateTime(r.occurred_at, locale)}</td>
              <td>
                {r.actor}
                {r.acting_for ? <span class="muted"> ({r.acting_for})</span> : null}
              </td>
              <td>{r.action}</td>
              <td>
                {r.entity_type} {r.entity_id}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {last && rows && rows.length % 50 === 0 && (
        <button type="button" class="button button-secondary" onClick={() => load(last.id)}>
          {t("audit.more")}
        </button>
      )}
    </div>
  );
}
